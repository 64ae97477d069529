"""The landmark rig in Blender: built in front of the camera, it matches the reference exactly at rest; its
expressions, head turns and single vertices move it; the camera sees it through `world_to_camera_view`."""
import os

import bpy
import numpy as np
import pytest
from bpy_extras.object_utils import world_to_camera_view
from mathutils import Vector

REQUIRED_KEYS = {"jawOpen", "mouthSmileLeft", "mouthSmileRight", "mouthPucker", "eyeBlinkLeft", "eyeBlinkRight",
                 "browInnerUp", "browDownLeft", "browDownRight"}


def pixels_now(module, rig) -> np.ndarray:
    frame = bpy.context.scene.frame_current
    return module("blender_addon.driver").rig_pixels(bpy.context, rig, range(frame, frame + 1))[0]


def test_rig_built_from_a_photo_matches_its_landmarks(rigged, module, detect_in_worker):
    rig = rigged
    assert len(rig.data.vertices) == 68
    edges = {tuple(sorted(e.vertices)) for e in rig.data.edges}
    assert edges == {tuple(sorted(e)) for e in module("core.face.rest_pose").FACE_EDGES}
    assert REQUIRED_KEYS <= set(rig.data.shape_keys.key_blocks.keys())
    assert rig.talking_heads.image_plane is not None and rig.talking_heads.reference is not None
    # At rest, vertex i lands on landmark i of the photo, as the detector finds it again.
    photo = bpy.path.abspath(rig.talking_heads.source_photo)
    expected = detect_in_worker(photo, rig.talking_heads.landmark_backend)
    assert np.abs(pixels_now(module, rig) - expected).max() < 0.01


def test_projection_agrees_with_world_to_camera_view(quick_rig, module):
    """A vertex and the point of the reference it drives are one and the same to the camera."""
    rig, points = quick_rig
    scene = bpy.context.scene
    camera = scene.camera
    pixels = pixels_now(module, rig)
    assert np.abs(pixels - points).max() < 1e-3
    plane = module("blender_addon.rig_objects").plane_model(rig)
    on_plane = plane.world_from_pixels(pixels)
    for i in (0, 8, 30, 36, 48, 66):
        vertex = rig.matrix_world @ rig.data.vertices[i].co
        seen = world_to_camera_view(scene, camera, vertex)
        target = world_to_camera_view(scene, camera, Vector(on_plane[i]))
        assert (seen.xy - target.xy).length < 1e-5
        assert 0 < seen.z < target.z  # in front of the camera, in front of the plane


@pytest.mark.parametrize("name, moved, still, direction", [
    ("jawOpen", [8, 57, 66], [27, 30, 36, 45], (0, 1)),          # down
    ("eyeBlinkLeft", [43, 44], [37, 38, 8], (0, 1)),             # the subject's left = image right
    ("eyeBlinkRight", [37, 38], [43, 44, 8], (0, 1)),
    ("mouthSmileLeft", [54], [48, 8, 30], (1, -1)),              # out (image right) and up
    ("mouthSmileRight", [48], [54, 8, 30], (-1, -1)),
    ("browInnerUp", [21, 22], [17, 26, 36], (0, -1)),            # up
    ("browDownLeft", [24], [19, 8], (0, 1)),
    ("browDownRight", [19], [24, 8], (0, 1)),
])
def test_expressions_move_this_faces_points(quick_rig, module, name, moved, still, direction):
    rig, points = quick_rig
    rig.data.shape_keys.key_blocks[name].value = 1.0
    motion = pixels_now(module, rig) - points
    eye_distance = np.linalg.norm(points[45] - points[36])
    for i in moved:
        along = motion[i] @ np.array(direction, dtype=float) / np.linalg.norm(direction)
        assert along > 0.02 * eye_distance, (name, i, motion[i])
    assert np.abs(motion[still]).max() < 1e-3


def test_pucker_narrows_the_mouth(quick_rig, module):
    rig, points = quick_rig
    rig.data.shape_keys.key_blocks["mouthPucker"].value = 1.0
    after = pixels_now(module, rig)
    assert np.linalg.norm(after[54] - after[48]) < 0.8 * np.linalg.norm(points[54] - points[48])


def test_expressions_scale_with_the_face(scene, module):
    """The same expression opens a face twice the size twice as far."""
    from talking_heads.core.model.mean_face import MEAN_FACE_CROP

    rig = module("core.face.expressions")
    small = np.column_stack([MEAN_FACE_CROP[:, 0], -MEAN_FACE_CROP[:, 1], np.zeros(68)])  # y up
    drop_small = rig.expression_deltas(small)["jawOpen"][8, 1]
    drop_large = rig.expression_deltas(2 * small)["jawOpen"][8, 1]
    assert drop_small < 0 and drop_large == pytest.approx(2 * drop_small)


def test_turning_the_head_shows_depth(quick_rig, module):
    """A turn moves the nose across the face (it is nearer the camera than the jaw's ends)."""
    rig, points = quick_rig
    rig.rotation_euler[1] = np.radians(20)
    after = pixels_now(module, rig)

    def nose_offset(p):
        return (p[30, 0] - (p[0, 0] + p[16, 0]) / 2) / np.linalg.norm(p[16] - p[0])

    assert abs(nose_offset(after) - nose_offset(points)) > 0.05


def test_moving_the_camera_changes_the_driver(quick_rig, module):
    rig, points = quick_rig
    bpy.context.scene.camera.location.x += 0.3
    after = pixels_now(module, rig)
    assert np.abs(after - points).max() > 1.0
    assert np.all(np.isfinite(after))


def test_single_vertices_can_be_keyframed(quick_rig, module):
    rig, points = quick_rig
    scene = bpy.context.scene
    bpy.context.view_layer.objects.active = rig
    rig.select_set(True)
    vertices = rig.data.shape_keys.key_blocks["Vertices"]
    rig.active_shape_key_index = list(rig.data.shape_keys.key_blocks).index(vertices)
    for v in rig.data.vertices:
        v.select = v.index == 8
    scene.frame_set(1)
    assert bpy.ops.talking_heads.keyframe_vertices() == {'FINISHED'}
    scene.frame_set(20)
    vertices.data[8].co.y -= 0.05  # as if moved in Edit Mode at frame 20
    assert bpy.ops.talking_heads.keyframe_vertices() == {'FINISHED'}
    scene.frame_set(1)
    start = pixels_now(module, rig)
    scene.frame_set(20)
    end = pixels_now(module, rig)
    assert end[8, 1] - start[8, 1] > 1.0  # the chin went down the picture
    assert np.abs(np.delete(end - start, 8, axis=0)).max() < 1e-3


def test_imported_track_becomes_keyframes_on_the_rig(quick_rig, module, tmp_path):
    """A track (here: the reference with the jaw dropping) lands on the rig frame by frame."""
    rig, points = quick_rig
    scene = bpy.context.scene
    track = np.repeat(points[None], 6, axis=0)
    for t in range(6):
        track[t, 5:12, 1] += 2.0 * t  # the chin and the jaw below the mouth go down
    path = tmp_path / "driver.json"
    module("blender_addon.track_file").write_track(str(path), track, range(6), scene.render.fps, (512, 512))
    assert bpy.ops.talking_heads.import_track(filepath=str(path), mode="absolute", frame_start=3) == {'FINISHED'}
    got = module("blender_addon.driver").rig_pixels(bpy.context, rig, range(3, 9))
    assert np.abs(got - track).max() < 0.05
    assert scene.frame_end >= 8


def test_a_driving_video_is_tracked_in_the_worker(quick_rig, module, tmp_path, astronaut):
    """A video: the worker extracts and retargets its landmarks; the rig follows them frame by frame."""
    import av

    rig, points = quick_rig
    scene = bpy.context.scene
    video = tmp_path / "driver.mp4"
    with av.open(str(video), mode="w") as container:
        stream = container.add_stream("mpeg4", rate=scene.render.fps)
        stream.width, stream.height, stream.pix_fmt = 512, 512, "yuv420p"
        for _ in range(5):
            container.mux(stream.encode(av.VideoFrame.from_ndarray(astronaut, format="rgb24")))
        container.mux(stream.encode(None))
    assert bpy.ops.talking_heads.import_track(filepath=str(video), frame_start=1) == {'FINISHED'}
    written = os.path.join(bpy.app.tempdir, "imported_track.json")  # an unsaved .blend: Blender's temp folder
    retargeted, fps = module("blender_addon.track_file").read_track(written)
    assert retargeted.shape == (5, 68, 2) and fps == scene.render.fps
    got = module("blender_addon.driver").rig_pixels(bpy.context, rig, range(1, 6))
    assert np.abs(got - retargeted).max() < 0.05
    fcurves = module("blender_addon.compat").fcurves_of(rig.data.shape_keys)
    assert len(fcurves) == 2 * 68 and all(len(f.keyframe_points) == 5 for f in fcurves)


def test_tracks_are_resampled_to_the_scenes_frame_rate(module):
    resample = module("core.geometry.retime").resample
    track = np.zeros((26, 68, 2))
    track[:, :, 0] = np.arange(26)[:, None]  # x moves one pixel per frame at 25 fps: 26 frames, 1.04 s
    at_50 = resample(track, 25.0, 50.0)      # the last frame lasts 1/25 s: two frames at 50
    assert len(at_50) == 52 and at_50[-1, 0, 0] == at_50[-2, 0, 0] == 25 and at_50[1, 0, 0] == 0.5
    at_10 = resample(track, 25.0, 10.0)
    assert len(at_10) == 11 and np.allclose(at_10[:, 0, 0], np.arange(11) * 2.5)
    assert resample(track, 25.0, 25.0) is track
