"""The 3D head: the sample head, Head from Photo's placement, the mesh file the fit reads, the frames wired into
the head's materials, the head pose keyed from the rig, the glTF export, bad input."""
import json
import math
import struct
from pathlib import Path

import bpy
import numpy as np
import pytest
from PIL import Image

from talking_heads.core.face.rest_pose import FACE_EDGES


def one_line_error(call) -> str:
    with pytest.raises(RuntimeError) as caught:
        call()
    message = str(caught.value).strip()
    assert message.startswith("Error: ") and "\n" not in message and "Traceback" not in message
    return message


def camera_and_plane(rig):
    camera = bpy.context.scene.camera
    return np.array(camera.matrix_world.normalized()), np.array(rig.talking_heads.image_plane.matrix_world)


def world_vertices(obj) -> np.ndarray:
    co = np.array([tuple(v.co) for v in obj.data.vertices])
    matrix = np.array(obj.matrix_world)
    return co @ matrix[:3, :3].T + matrix[:3, 3]


def photo_mesh(module, points: np.ndarray, focal: float, size=(512, 512)):
    """A Head from Photo-like mesh: the 68 landmarks lifted at depths around 1 in the photo camera's OpenCV
    frame, triangles between the rig's edges and the nose tip, UVs the photo's pixels."""
    Mesh = module("core.head.mesh").Mesh
    w, h = size
    centre = np.array([w / 2 - 0.5, h / 2 - 0.5])
    z = 1.0 + 0.05 * np.cos(np.arange(68))
    vertices = np.column_stack([(points - centre) * z[:, None] / focal, z])
    triangles = np.array([(a, b, 30) for a, b in FACE_EDGES if 30 not in (a, b)], dtype=np.int32)
    uv = np.column_stack([(points[:, 0] + 0.5) / w, 1 - (points[:, 1] + 0.5) / h]).astype(np.float32)
    return Mesh(vertices=vertices, triangles=triangles, uvs=uv[triangles], materials=np.zeros(len(triangles), np.int32),
                material_names=("photo",), uv_map="UVMap", uv_maps=("UVMap",))


def rotation_between(a: np.ndarray, b: np.ndarray) -> tuple[float, np.ndarray]:
    """The angle (degrees) and axis of the rotation taking frame a to frame b (b = R a)."""
    r = b @ a.T
    angle = math.degrees(math.acos(np.clip((np.trace(r) - 1) / 2, -1, 1)))
    axis = np.array([r[2, 1] - r[1, 2], r[0, 2] - r[2, 0], r[1, 0] - r[0, 1]])
    return angle, axis / np.linalg.norm(axis)


def test_sample_head_is_added_facing_the_camera_over_the_rig(quick_rig, module):
    rig, _ = quick_rig
    assert bpy.ops.talking_heads.add_sample_head() == {'FINISHED'}
    head = rig.talking_heads.head
    assert len(head.data.vertices) == 26719
    keys = head.data.shape_keys.key_blocks
    assert "jawOpen" in keys and "eyeBlink_L" in keys and keys[0].name == "Basis"
    assert [layer.name for layer in head.data.uv_layers] == ["UVMap"]
    assert "M_Face" in [m.name for m in head.data.materials]
    uvs = np.empty(len(head.data.loops) * 2, np.float32)
    head.data.uv_layers[0].data.foreach_get("uv", uvs)
    assert uvs.min() >= -1e-3 and uvs.max() > 1  # the face in the unit tile, the rest in tiles beyond
    # Its landmark vertices lie over the rig's: the jaw as wide, the centres together, the face towards the camera.
    landmarks = head[module("blender_addon.head_objects").LANDMARK_VERTICES_PROPERTY]
    ours = world_vertices(head)[list(landmarks)]
    matrix = np.array(rig.matrix_world)
    rig_world = np.array([tuple(v.co) for v in rig.data.vertices]) @ matrix[:3, :3].T + matrix[:3, 3]
    assert np.linalg.norm(ours[0] - ours[16]) == pytest.approx(np.linalg.norm(rig_world[0] - rig_world[16]), rel=1e-4)
    np.testing.assert_allclose(ours.mean(axis=0), rig_world.mean(axis=0), atol=1e-4)
    camera = bpy.context.scene.camera.matrix_world.translation
    assert np.linalg.norm(ours[30] - camera) < np.linalg.norm(ours[0] - camera)   # the nose nearer than the ear


def test_photo_head_covers_the_photo_through_the_scene_camera(quick_rig, module):
    rig, points = quick_rig
    head_ops = module("blender_addon.operators.head")
    focal = head_ops.photo_focal(bpy.context, rig)
    head = head_ops.build_photo_head(bpy.context, rig, photo_mesh(module, points, focal))
    camera_module = module("core.geometry.camera")
    camera, _ = camera_and_plane(rig)
    pixels = camera_module.project_to_pixels(world_vertices(head), camera_module.Camera(camera),
                                             module("blender_addon.rig_objects").plane_model(rig))
    np.testing.assert_allclose(pixels, points, atol=1e-3)
    assert head.talking_heads.head_from_photo and rig.talking_heads.head == head
    nodes = head.active_material.node_tree.nodes
    frames = nodes[module("blender_addon.materials").HEAD_FRAMES_NODE]
    assert frames.image == rig.talking_heads.reference
    head.talking_heads.head_unlit = True
    assert nodes[module("blender_addon.materials").HEAD_UNLIT_NODE].inputs["Fac"].default_value == 1.0
    # Pressed again: one head, in the old one's place.
    head_ops.build_photo_head(bpy.context, rig, photo_mesh(module, points, focal))
    assert sum(1 for o in bpy.data.objects if o.talking_heads.head_from_photo) == 1


def test_photo_heads_sides_fade_to_a_plain_colour_by_the_photo_weight(quick_rig, module):
    """The built head carries the photo's weight per vertex: 1 where the landmarks are, about 0 where the
    surface faces away from the camera; its material mixes the photo over a plain colour by it."""
    rig, points = quick_rig
    head_ops = module("blender_addon.operators.head")
    materials = module("blender_addon.materials")
    from_photo = module("core.head.from_photo")
    focal = head_ops.photo_focal(bpy.context, rig)
    mesh = from_photo.head_from_photo(points, (512, 512), focal)
    head = head_ops.build_photo_head(bpy.context, rig, mesh)
    attribute = head.data.attributes[materials.PHOTO_WEIGHT_ATTRIBUTE]
    assert attribute.domain == 'POINT' and attribute.data_type == 'FLOAT'
    weights = np.empty(len(head.data.vertices), np.float32)
    attribute.data.foreach_get("value", weights)
    # the face vertex nearest each landmark, in the photo's camera
    face = np.unique(mesh.triangles[mesh.materials == 0])
    projected = mesh.vertices[face] @ from_photo.camera_matrix(focal, (512, 512)).T
    pixels = projected[:, :2] / projected[:, 2:]
    nearest = face[np.linalg.norm(pixels[None] - points[:, None], axis=2).argmin(axis=1)]
    assert weights[nearest].min() == 1.0
    normals = np.array([tuple(v.normal) for v in head.data.vertices]) @ np.array(head.matrix_world.to_3x3()).T
    camera = np.array(bpy.context.scene.camera.matrix_world.translation)
    away = np.einsum("ij,ij->i", normals, camera - world_vertices(head)) < 0
    assert away.sum() > 100 and weights[away].max() < 0.1
    nodes = head.active_material.node_tree.nodes
    fade = nodes[materials.HEAD_FADE_NODE]
    assert fade.inputs["Factor"].links[0].from_node == nodes[materials.HEAD_WEIGHT_NODE]
    assert nodes[materials.HEAD_WEIGHT_NODE].attribute_name == materials.PHOTO_WEIGHT_ATTRIBUTE
    assert next(s for s in fade.inputs if s.name == "B" and s.type == 'RGBA').links[0].from_node == \
        nodes[materials.HEAD_FRAMES_NODE]
    plain = next(s for s in fade.inputs if s.name == "A" and s.type == 'RGBA')
    assert not plain.links and 0 < min(plain.default_value[:3]) and max(plain.default_value[:3]) < 1
    shader = next(n for n in nodes if n.type == 'BSDF_PRINCIPLED')
    assert shader.inputs["Base Color"].links[0].from_node == fade


def test_mesh_file_round_trips(scene, module, tmp_path):
    bpy.ops.mesh.primitive_uv_sphere_add(segments=12, ring_count=6)
    sphere = bpy.context.object
    sphere.data.materials.append(bpy.data.materials.new("skin"))
    path = module("blender_addon.head_objects").write_mesh_file(sphere, str(tmp_path / "head.npz"))
    mesh = module("core.head.mesh").load_mesh(path)
    data = sphere.data
    data.calc_loop_triangles()
    assert len(mesh.vertices) == len(data.vertices) and len(mesh.triangles) == len(data.loop_triangles)
    np.testing.assert_allclose(mesh.vertices, [tuple(v.co) for v in data.vertices], atol=1e-6)
    uv = data.uv_layers.active.data
    expected = np.array([[tuple(uv[i].uv) for i in t.loops] for t in data.loop_triangles])
    np.testing.assert_allclose(mesh.uvs, expected, atol=1e-6)
    assert mesh.uv_map == "UVMap" and tuple(mesh.material_names) == ("skin",)


def test_frames_go_over_the_materials_own_base_colour_once(scene, module, tmp_path):
    materials = module("blender_addon.materials")
    for n in (1, 2):
        Image.fromarray(np.full((8, 8, 4), 100, np.uint8)).save(tmp_path / f"head_{n:04d}.png")
    image = materials.load_sequence(str(tmp_path / "head_0001.png"), "uv frames", alpha=True)
    material = bpy.data.materials.new("skin")
    nodes, links = module("blender_addon.compat").shader_nodes(material)
    shader = next(n for n in nodes if n.type == 'BSDF_PRINCIPLED')
    painted = nodes.new("ShaderNodeRGB")
    links.new(painted.outputs[0], shader.inputs["Base Color"])
    count = len(nodes)
    for _ in range(2):  # again: the same nodes, nothing of the artist's lost
        materials.wire_head_frames(material, image, "UVMap", first=1, count=2)
    assert len(nodes) == count + 3
    mix = nodes[materials.HEAD_MIX_NODE]
    assert shader.inputs["Base Color"].links[0].from_node == mix
    assert next(s for s in mix.inputs if s.name == "A" and s.type == 'RGBA').links[0].from_node == painted
    frames = nodes[materials.HEAD_FRAMES_NODE]
    assert frames.extension == 'CLIP' and frames.image == image and mix.inputs["Factor"].links[0].from_node == frames
    assert frames.inputs["Vector"].links[0].from_node.uv_map == "UVMap"
    # A material with a plain colour keeps it as the mix's A.
    plain = bpy.data.materials.new("plain")
    plain_nodes, _ = module("blender_addon.compat").shader_nodes(plain)
    next(n for n in plain_nodes if n.type == 'BSDF_PRINCIPLED').inputs["Base Color"].default_value = (1, 0, 0, 1)
    materials.wire_head_frames(plain, image, "UVMap", first=1, count=2)
    a = next(s for s in plain_nodes[materials.HEAD_MIX_NODE].inputs if s.name == "A" and s.type == 'RGBA')
    assert tuple(a.default_value) == (1, 0, 0, 1)


def test_the_gltf_still_is_the_uv_frame_laid_over_the_materials_own_colour(scene, module, tmp_path):
    """glTF holds one image as Base Color: where the photo does not show (alpha 0) it is the material's own
    colour (a value, or an image texture on the fitted UV map), not the frame's fill."""
    materials = module("blender_addon.materials")
    compat = module("blender_addon.compat")
    uv_frame = np.zeros((8, 8, 4), np.uint8)
    uv_frame[:, :4] = (255, 0, 0, 255)                 # the left half: the photo, opaque; the right: nothing
    uv_frame[:, 4:, :3] = 90                            # the bake's fill under transparent texels
    Image.fromarray(uv_frame).save(tmp_path / "head_0001.png")
    frames = materials.load_sequence(str(tmp_path / "head_0001.png"), "uv frames", alpha=True)
    Image.fromarray(np.full((4, 4, 3), (0, 200, 0), np.uint8)).save(tmp_path / "albedo.png")
    albedo = bpy.data.images.load(str(tmp_path / "albedo.png"))

    def still_of(base) -> np.ndarray:
        material = bpy.data.materials.new("skin")
        nodes, links = compat.shader_nodes(material)
        shader = next(n for n in nodes if n.type == 'BSDF_PRINCIPLED')
        if isinstance(base, tuple):
            shader.inputs["Base Color"].default_value = base
        else:
            texture = nodes.new("ShaderNodeTexImage")
            texture.image = base
            links.new(texture.outputs["Color"], shader.inputs["Base Color"])
        materials.wire_head_frames(material, frames, "UVMap", first=1, count=1)
        still = bpy.data.images.load(str(tmp_path / "head_0001.png"), check_existing=False)
        composite = materials.show_still_for_export(material, still, "UVMap")
        assert nodes[materials.HEAD_FRAMES_NODE].image == composite
        return np.array(composite.pixels[:]).reshape(8, 8, 4)[::-1, :, :3]

    laid = still_of((0.2140, 0.0, 1.0, 1.0))            # linear 0.214 is sRGB 0.5
    assert np.allclose(laid[:, :4], (1, 0, 0), atol=1e-3)
    assert np.allclose(laid[:, 4:], (0.5, 0, 1), atol=3e-3)
    laid = still_of(albedo)
    assert np.allclose(laid[:, :4], (1, 0, 0), atol=1e-3)
    assert np.allclose(laid[:, 4:], (0, 200 / 255, 0), atol=3e-3)


def test_a_turn_of_the_rig_turns_the_head_and_leaves_the_landmarks_at_rest(quick_rig, module):
    rig, points = quick_rig
    scene = bpy.context.scene
    head_ops = module("blender_addon.operators.head")
    head = head_ops.build_photo_head(bpy.context, rig, photo_mesh(module, points, head_ops.photo_focal(bpy.context, rig)))
    driver = module("blender_addon.driver")
    frames = range(1, 3)
    rest_pixels = driver.rig_pixels(bpy.context, rig, frames)
    rig.rotation_euler = (0, 0, 0)
    rig.keyframe_insert("rotation_euler", frame=1)
    rig.rotation_euler = (0, math.radians(20), 0)   # the Rig panel's Turn
    rig.keyframe_insert("rotation_euler", frame=2)
    turned_pixels = driver.rig_pixels(bpy.context, rig, frames)
    assert np.abs(turned_pixels[1] - rest_pixels[1]).max() > 5   # the flat rig would turn the face
    pixels, rotations, _ = driver.head_pose(bpy.context, rig, frames)
    np.testing.assert_allclose(pixels, rest_pixels, atol=1e-3)   # the frames stay at the photo's pose
    rest_rotation = np.array(head.matrix_world.to_3x3().normalized())
    module("blender_addon.operators.generate").key_head_rotation(head, np.array(frames), rotations)
    scene.frame_set(1)
    np.testing.assert_allclose(np.array(head.matrix_world.to_3x3().normalized()), rest_rotation, atol=1e-5)
    scene.frame_set(2)
    angle, axis = rotation_between(rest_rotation, np.array(head.matrix_world.to_3x3().normalized()))
    camera_up = np.array(scene.camera.matrix_world.to_3x3().normalized())[:, 1]
    assert angle == pytest.approx(20, abs=1e-3)
    np.testing.assert_allclose(axis, camera_up, atol=1e-5)   # the same way as the rig turns (about its up)


def key_values(block, frames, values) -> None:
    for frame, value in zip(frames, values):
        block.value = value
        block.keyframe_insert("value", frame=frame)


def test_the_heads_blink_keys_play_the_rigs_blinks_and_the_frames_keep_the_lids_open(quick_rig, module):
    rig, _ = quick_rig
    scene = bpy.context.scene
    generate = module("blender_addon.operators.generate")
    driver = module("blender_addon.driver")
    assert bpy.ops.talking_heads.add_sample_head() == {'FINISHED'}
    head = rig.talking_heads.head
    assert module("blender_addon.head_objects").blink_keys(head) == {"eyeBlinkLeft": "eyeBlink_L",
                                                                     "eyeBlinkRight": "eyeBlink_R"}
    # The same eye: the head's eyeBlink_L closes the subject's left eye (landmarks 42-47), as the rig's eyeBlinkLeft.
    head_keys = head.data.shape_keys.key_blocks
    landmarks = list(head[module("blender_addon.head_objects").LANDMARK_VERTICES_PROPERTY])
    closed = np.array([tuple(head_keys["eyeBlink_L"].data[landmarks[i]].co) for i in (37, 38, 43, 44)])
    opened = np.array([tuple(head_keys["Basis"].data[landmarks[i]].co) for i in (37, 38, 43, 44)])
    moved = np.linalg.norm(closed - opened, axis=1)
    assert moved[2:].min() > 10 * moved[:2].max()

    keys = rig.data.shape_keys.key_blocks
    frames = range(1, 4)
    key_values(keys["jawOpen"], frames, (0.0, 1.0, 0.5))
    no_blink, _, none = generate.driving_pixels(bpy.context, rig, head, frames)
    assert none == {"eyeBlink_L": pytest.approx([0, 0, 0]), "eyeBlink_R": pytest.approx([0, 0, 0])}
    key_values(keys["eyeBlinkLeft"], frames, (0.0, 1.0, 0.25))
    key_values(keys["eyeBlinkRight"], frames, (0.0, 0.5, 1.0))
    blinked, _, _ = driver.head_pose(bpy.context, rig, frames)
    lids = np.abs(blinked[1] - no_blink[1])[:, 1]
    assert lids[[43, 44]].min() > 2 and lids[[37, 38]].min() > 1   # the rig's blinks move its lids ...
    pixels, _, values = generate.driving_pixels(bpy.context, rig, head, frames)
    np.testing.assert_allclose(pixels, no_blink, atol=1e-3)          # ... not in the frames' track
    assert pixels[1, 57, 1] - pixels[0, 57, 1] > 3                   # where jawOpen still opens the mouth
    assert values == {"eyeBlink_L": pytest.approx([0, 1, 0.25]), "eyeBlink_R": pytest.approx([0, 0.5, 1])}
    assert not keys["eyeBlinkLeft"].mute and not keys["eyeBlinkRight"].mute

    generate.key_head_blinks(head, np.array(frames), values)
    for i, frame in enumerate(frames):
        scene.frame_set(frame)
        assert head_keys["eyeBlink_L"].value == pytest.approx(values["eyeBlink_L"][i], abs=1e-6)
        assert head_keys["eyeBlink_R"].value == pytest.approx(values["eyeBlink_R"][i], abs=1e-6)
        assert head_keys["jawOpen"].value == 0   # the mouth stays the frames'

    # A blink the artist muted on the rig stays muted, and closes nothing on the head.
    keys["eyeBlinkRight"].mute = True
    _, _, values = generate.driving_pixels(bpy.context, rig, head, frames)
    assert keys["eyeBlinkRight"].mute and not keys["eyeBlinkLeft"].mute
    assert values["eyeBlink_R"] == pytest.approx([0, 0, 0])
    keys["eyeBlinkRight"].mute = False

    # A head without blink keys: the lids blink in the frames, as before.
    for name in ("eyeBlink_L", "eyeBlink_R"):
        head.shape_key_remove(head_keys[name])
    pixels, _, values = generate.driving_pixels(bpy.context, rig, head, frames)
    assert values == {}
    np.testing.assert_allclose(pixels, blinked, atol=1e-3)


def test_a_head_without_uvs_is_refused_in_one_line(quick_rig, tmp_path):
    rig, _ = quick_rig
    bpy.ops.wm.save_as_mainfile(filepath=str(tmp_path / "scene.blend"))
    cube = bpy.data.objects["Cube"]
    cube.data.uv_layers.remove(cube.data.uv_layers[0])
    rig.talking_heads.head = cube
    assert "no UV map" in one_line_error(lambda: bpy.ops.talking_heads.fit_head())
    assert not cube.talking_heads.head_fit and not (tmp_path / "talking_heads" / "test_rig" / "head_mesh.npz").exists()


def test_the_head_exports_as_gltf_marked_synthetic_and_the_scene_is_unchanged(quick_rig, module, tmp_path):
    rig, points = quick_rig
    head_ops = module("blender_addon.operators.head")
    materials = module("blender_addon.materials")
    head = head_ops.build_photo_head(bpy.context, rig, photo_mesh(module, points, head_ops.photo_focal(bpy.context, rig)))
    for n in (1, 2):
        Image.fromarray(np.full((16, 16, 3), 60 * n, np.uint8)).save(tmp_path / f"frame_{n:04d}.png")
    frames = materials.load_sequence(str(tmp_path / "frame_0001.png"), "frames")
    materials.play_on_photo_head(head, frames, first=1, count=2)
    before = (len(bpy.data.objects), len(bpy.data.meshes), len(bpy.data.materials), len(bpy.data.images))
    path = tmp_path / "head.glb"
    assert bpy.ops.talking_heads.export_head_gltf(filepath=str(path)) == {'FINISHED'}
    assert (len(bpy.data.objects), len(bpy.data.meshes), len(bpy.data.materials), len(bpy.data.images)) == before
    data = path.read_bytes()
    length, kind = struct.unpack_from("<I4s", data, 12)
    document = json.loads(data[20:20 + length])
    node = next(n for n in document["nodes"] if "mesh" in n)
    assert "Synthetic" in node["extras"]["talking_heads_provenance"]["Description"]
    assert len(document["images"]) == 1
    assert head.active_material.node_tree.nodes[materials.HEAD_FRAMES_NODE].image == frames


def test_export_without_frames_is_one_line(quick_rig, module, tmp_path):
    rig, points = quick_rig
    head_ops = module("blender_addon.operators.head")
    head_ops.build_photo_head(bpy.context, rig, photo_mesh(module, points, head_ops.photo_focal(bpy.context, rig)))
    message = one_line_error(lambda: bpy.ops.talking_heads.export_head_gltf(filepath=str(tmp_path / "h.glb")))
    assert "Generate" in message and not (tmp_path / "h.glb").exists()


@pytest.mark.slow
def test_fit_then_generate_bakes_onto_the_sample_head(rigged, module):
    """The artist's path: the sample head, Fit to Head, pins, Fit again, Generate with a turn keyed: the UV
    frames are written and wired into the face's material (not the eyes'), the head turns, the glTF exports."""
    rig = rigged
    scene = bpy.context.scene
    materials = module("blender_addon.materials")
    assert bpy.ops.talking_heads.add_sample_head() == {'FINISHED'}
    head = rig.talking_heads.head
    rig.talking_heads.head_uv_size = '1024'
    assert bpy.ops.talking_heads.fit_head() == {'FINISHED'}
    assert head.talking_heads.head_fit.endswith("head_fit.npz") and head.talking_heads.head_uv_map == "UVMap"
    assert rig.talking_heads.head_overlay is not None and rig.talking_heads.head_overlay.size[0] > 0
    rotation = np.array(head.talking_heads.head_camera).reshape(3, 3)
    np.testing.assert_allclose(rotation @ rotation.T, np.eye(3), atol=1e-5)
    assert bpy.ops.talking_heads.head_pins() == {'FINISHED'}
    pins = rig.talking_heads.head_pins
    assert len(pins.data.vertices) == 68
    fitted = list(head[module("blender_addon.head_objects").LANDMARK_VERTICES_PROPERTY])
    assert module("blender_addon.head_objects").pinned_vertices(bpy.context, head, pins) == fitted
    assert bpy.ops.talking_heads.fit_head() == {'FINISHED'}   # again, from the pins

    scene.frame_start, scene.frame_end = 1, 2
    rig.rotation_euler = (0, 0, 0)
    rig.keyframe_insert("rotation_euler", frame=1)
    rig.rotation_euler = (0, math.radians(10), 0)
    rig.keyframe_insert("rotation_euler", frame=2)
    key_values(rig.data.shape_keys.key_blocks["eyeBlinkLeft"], (1, 2), (0.0, 1.0))
    scene.talking_heads.finetune_steps = 1  # the plumbing, not the likeness
    assert bpy.ops.talking_heads.finetune() == {'FINISHED'}
    assert bpy.ops.talking_heads.generate() == {'FINISHED'}
    folder = Path(bpy.data.filepath).parent / "talking_heads" / bpy.path.clean_name(rig.name)
    assert (folder / "head_0001.png").is_file() and (folder / "head_0002.png").is_file()
    face = bpy.data.materials["M_Face"].node_tree.nodes
    assert materials.HEAD_MIX_NODE in face and face[materials.HEAD_FRAMES_NODE].image.source == 'SEQUENCE'
    assert materials.HEAD_MIX_NODE not in bpy.data.materials["M_IrisLeft"].node_tree.nodes
    scene.frame_set(1)
    rest = np.array(head.matrix_world.to_3x3().normalized())
    scene.frame_set(2)
    angle, _ = rotation_between(rest, np.array(head.matrix_world.to_3x3().normalized()))
    assert angle == pytest.approx(10, abs=0.01)
    assert head.data.shape_keys.key_blocks["eyeBlink_L"].value == pytest.approx(1)   # the blink in geometry
    assert bpy.ops.talking_heads.export_head_gltf() == {'FINISHED'}
    assert (folder / f"{bpy.path.clean_name(head.name)}.glb").stat().st_size > 0
