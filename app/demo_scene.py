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


def _syllables(t: float, length: float) -> float:
    """A talking jaw at time t (s): syllables of varying height, closed at the start and the end."""
    envelope = min(1.0, t / 0.3, (length - t) / 0.3)
    return max(0.0, envelope * (0.55 + 0.3 * math.sin(2.1 * t)) * abs(math.sin(math.pi * 3.2 * t)))


def keyframe_performance(rig, frames: range, fps: int) -> None:
    """Talking (jaw and lips), two blinks and a small head turn, keyed on the rig's controls."""
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
    turns = ((frames[0], 0.0), (frames[0] + int(1.2 * fps), 8.0), (frames[0] + int(2.4 * fps), -5.0),
             (frames[-1], 0.0))
    for frame, degrees in turns:
        rig.rotation_euler = base
        rig.rotation_euler.rotate_axis("Z", math.radians(degrees))
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


def save() -> None:
    bpy.ops.wm.save_mainfile()


def frames_folder(rig, blend: Path) -> Path:
    return blend.parent / "talking_heads" / bpy.path.clean_name(rig.name)
