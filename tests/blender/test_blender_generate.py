"""The whole path an artist takes: a rig from the astronaut photo, jawOpen keyed over ten frames,
fine-tune, generate; the frames play on the plane, the mouth opens, and the .blend keeps it all."""
from pathlib import Path

import bpy
import numpy as np
import pytest

FRAMES = range(1, 11)


def inner_lip_gap(detect, path: Path, backend: str) -> float:
    points = detect(path, backend)
    return float(np.linalg.norm(points[66] - points[62]))


def frames_node(rig):
    return rig.talking_heads.image_plane.active_material.node_tree.nodes["Talking Heads frames"]


@pytest.mark.slow
def test_keyed_jaw_generates_an_opening_mouth(rigged, tmp_path, detect_in_worker):
    scene = bpy.context.scene
    rig = rigged
    scene.frame_start, scene.frame_end = FRAMES[0], FRAMES[-1]
    jaw = rig.data.shape_keys.key_blocks["jawOpen"]
    jaw.value = 0.0
    jaw.keyframe_insert("value", frame=FRAMES[0])
    jaw.value = 1.0
    jaw.keyframe_insert("value", frame=FRAMES[-1])
    scene.talking_heads.finetune_steps = 1  # the test checks the plumbing, not the likeness

    assert bpy.ops.talking_heads.finetune() == {'FINISHED'}
    assert rig.talking_heads.person_model.startswith("//talking_heads/")
    assert bpy.ops.talking_heads.generate() == {'FINISHED'}

    folder = Path(bpy.data.filepath).parent / "talking_heads" / bpy.path.clean_name(rig.name)
    frames = [folder / f"frame_{n:04d}.png" for n in FRAMES]
    assert all(f.is_file() for f in frames)
    image = rig.talking_heads.frames
    assert image.source == 'SEQUENCE' and image.filepath.startswith("//talking_heads/")
    user = frames_node(rig).image_user
    assert frames_node(rig).image == image
    assert (user.frame_start, user.frame_duration, user.frame_offset) == (FRAMES[0], len(FRAMES), FRAMES[0] - 1)
    assert user.use_auto_refresh
    backend = rig.talking_heads.landmark_backend
    first, last = (inner_lip_gap(detect_in_worker, frame, backend) for frame in (frames[0], frames[-1]))
    assert last > first + 3.0, (first, last)

    assert bpy.ops.talking_heads.export_video() == {'FINISHED'}
    assert (folder / f"{bpy.path.clean_name(rig.name)}.mp4").stat().st_size > 0

    # The live preview with the person model's real ONNX export: scrubbing shows the model's frame.
    assert bpy.ops.talking_heads.export_onnx() == {'FINISHED'}
    assert scene.talking_heads.preview_model == "//" + str((folder / "person.onnx").relative_to(
        Path(bpy.data.filepath).parent))
    scene.talking_heads.preview = True
    scene.frame_set(FRAMES[-1])
    preview = bpy.data.images[f"{rig.name} preview"]
    assert tuple(preview.size) == tuple(rig.talking_heads.reference.size)
    scene.talking_heads.preview = False

    blend = bpy.data.filepath
    bpy.ops.wm.save_mainfile()
    bpy.ops.wm.read_homefile(use_factory_startup=True)
    bpy.ops.wm.open_mainfile(filepath=blend)
    rig = bpy.context.scene.talking_heads.rig
    assert rig is not None and len(rig.data.vertices) == 68
    assert rig.talking_heads.image_plane is not None and rig.talking_heads.reference is not None
    assert rig.talking_heads.frames.source == 'SEQUENCE'
    user = frames_node(rig).image_user
    assert (user.frame_start, user.frame_duration, user.frame_offset) == (FRAMES[0], len(FRAMES), FRAMES[0] - 1)
    assert rig.data.shape_keys.animation_data.action is not None
    bpy.context.scene.frame_set(FRAMES[-1])
    assert rig.data.shape_keys.key_blocks["jawOpen"].value == 1.0
