"""The Blender half of `python -m core demo`, run in the bpy module (background mode).

It installs the extension from the zip `make extension` builds, builds the landmark rig with the add-on's
own operator, keyframes a short performance on its controls, and runs the add-on's fine-tune and generate
operators, exactly as a script in Blender would: it drives Blender from outside and imports no module of
the add-on. `app.demo` times the stages and writes the previews.
"""
from __future__ import annotations

import math
import subprocess
import sys
import tempfile
from pathlib import Path

import bpy
from mathutils import Vector

ROOT = Path(__file__).resolve().parents[1]
MODULE = "bl_ext.user_default.talking_heads"


class DemoError(Exception):
    """The extension did not install or an operator did not finish."""


def install_extension(worker_python: str) -> None:
    """Build the extension zip (without the bundled wheels), install and enable it, and point its worker at
    `worker_python`."""
    dist = Path(tempfile.mkdtemp(prefix="talking-heads-dist-"))
    subprocess.run([sys.executable, "-m", "blender_addon.build", "--out", str(dist), "--no-wheels"],
                   cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    zip_path = next(dist.glob("talking_heads-*.zip"))
    result = bpy.ops.extensions.package_install_files(filepath=str(zip_path), repo="user_default",
                                                      enable_on_install=True, overwrite=True)
    if result != {'FINISHED'}:
        raise DemoError("the extension did not install into Blender; run `make test` to see why")
    prefs = bpy.context.preferences
    prefs.use_preferences_save = False
    prefs.addons[MODULE].preferences.python_path = worker_python


def head_turns(frames: range, fps: int) -> tuple[tuple[int, float], ...]:
    """The head turn (frame, degrees): the mesh carries it on the Head from Photo head."""
    return ((frames[0], 0.0), (frames[0] + int(1.2 * fps), 25.0), (frames[0] + int(2.4 * fps), -25.0),
            (frames[-1], 0.0))


def _syllables(t: float, length: float) -> float:
    """A talking jaw at time t (s): syllables of varying height, closed at the start and the end."""
    envelope = min(1.0, t / 0.3, (length - t) / 0.3)
    return max(0.0, envelope * (0.55 + 0.3 * math.sin(2.1 * t)) * abs(math.sin(math.pi * 3.2 * t)))


def keyframe_performance(rig, frames: range, fps: int) -> None:
    """Talking (jaw and lips), two blinks and a head turn, keyed on the rig's controls."""
    keys = rig.data.shape_keys.key_blocks
    length = (frames[-1] - frames[0]) / fps
    for frame in frames:
        t = (frame - frames[0]) / fps
        keys["jawOpen"].value = 0.6 * _syllables(t, length)
        keys["jawOpen"].keyframe_insert("value", frame=frame)
        keys["mouthPucker"].value = 0.5 * max(0.0, math.sin(t * 2.3 * math.pi))
        keys["mouthPucker"].keyframe_insert("value", frame=frame)
    for blink in (frames[0] + int(0.9 * fps), frames[0] + int(2.2 * fps)):
        for offset, value in ((-2, 0.0), (0, 1.0), (2, 0.0)):
            for side in ("eyeBlinkLeft", "eyeBlinkRight"):
                keys[side].value = value
                keys[side].keyframe_insert("value", frame=blink + offset)
    base = rig.rotation_euler.copy()
    for frame, degrees in head_turns(frames, fps):
        rig.rotation_euler = base
        rig.rotation_euler.rotate_axis("Y", math.radians(degrees))     # the rig's Y turns the head
        rig.keyframe_insert("rotation_euler", frame=frame)
    rig.rotation_euler = base


def build_scene(reference: Path, blend: Path, frames: range, fps: int, preset: str, worker_python: str):
    """Factory scene, extension installed, saved as `blend` (frames go beside it), rig built and keyed."""
    bpy.ops.wm.read_homefile(use_factory_startup=True)
    install_extension(worker_python)
    scene = bpy.context.scene
    scene.render.fps = fps
    scene.frame_start, scene.frame_end = frames[0], frames[-1]
    bpy.data.objects.remove(bpy.data.objects["Cube"])
    bpy.ops.wm.save_as_mainfile(filepath=str(blend))
    run_operator(bpy.ops.talking_heads.build_rig, filepath=str(reference))
    rig = scene.talking_heads.rig
    keyframe_performance(rig, frames, fps)
    scene.talking_heads.finetune_preset = preset
    return rig


def run_operator(operator, **kwargs) -> None:
    if operator(**kwargs) != {'FINISHED'}:
        raise DemoError(f"{operator.idname_py()} did not finish; its report above says why")


def finetune() -> None:
    run_operator(bpy.ops.talking_heads.finetune)


def generate() -> None:
    run_operator(bpy.ops.talking_heads.generate)


def add_photo_head() -> None:
    """Head from Photo: the frames generated after it play on a head built from the photo, which carries the
    rig's turn (the frames keep the photo's pose)."""
    run_operator(bpy.ops.talking_heads.head_from_photo)


def render_head(frames: list[int], out: Path) -> list[Path]:
    """Cycles renders of the scene camera's view at `frames`, cropped to the head (the image plane hidden)."""
    from bpy_extras.object_utils import world_to_camera_view

    scene = bpy.context.scene
    rig = scene.talking_heads.rig
    plane = rig.talking_heads.image_plane
    head = rig.talking_heads.head
    corners = [world_to_camera_view(scene, scene.camera, head.matrix_world @ Vector(c)) for c in head.bound_box]
    margin = 0.15 * (max(c.y for c in corners) - min(c.y for c in corners))
    scene.render.border_min_x = max(0.0, min(c.x for c in corners) - margin)
    scene.render.border_max_x = min(1.0, max(c.x for c in corners) + margin)
    scene.render.border_min_y = max(0.0, min(c.y for c in corners) - margin)
    scene.render.border_max_y = min(1.0, max(c.y for c in corners) + margin)
    scene.render.use_border = scene.render.use_crop_to_border = True
    hidden = [o for o in (rig, plane) if not o.hide_render]
    for obj in hidden:
        obj.hide_render = True
    scene.render.engine = 'CYCLES'
    scene.cycles.samples = 16
    scene.cycles.use_denoising = False
    scene.render.resolution_percentage = 100
    paths = []
    try:
        for frame in frames:
            scene.frame_set(frame)
            scene.render.filepath = str(out / f"head_{frame:04d}.png")
            bpy.ops.render.render(write_still=True)
            paths.append(Path(scene.render.filepath))
    finally:
        for obj in hidden:
            obj.hide_render = False
        scene.render.use_border = scene.render.use_crop_to_border = False
    return paths


def save() -> None:
    bpy.ops.wm.save_mainfile()


def frames_folder(rig, blend: Path) -> Path:
    return blend.parent / "talking_heads" / bpy.path.clean_name(rig.name)
