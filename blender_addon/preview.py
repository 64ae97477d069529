"""Live preview: while the artist scrubs the timeline, the current frame as the person model renders it.

The person model's ONNX export (Export panel, or `python -m core export onnx`) runs in Blender's own Python
with onnxruntime, bundled as a wheel. What its file holds (input, output, `paste_at`) is
export/onnx_contract.py's; export/onnx_model.py imports torch, which Blender's Python does not have, so the
session is opened here.

A `frame_change_post` handler evaluates the rig at the new frame, renders it and pastes the box into the
reference's pixels, shown on the image plane or in the image editors. Renders are throttled: at most one
every `MIN_INTERVAL` seconds; a frame change inside that interval is rendered by a one-shot timer, so the
frame the artist stops on is always the one shown. Errors never escape a handler: the last one is shown in
the Preview panel.
"""
from __future__ import annotations

import contextlib
import os
import sys
import time

import numpy as np

import bpy
from bpy.app.handlers import persistent

from ..core.errors import UserError, one_line
from ..core.landmarks.align import paste_box
from ..export.onnx_contract import INPUT, OUTPUT, read_paste_at, signature_problem
from . import driver, materials, properties
from .properties import is_rig

MIN_INTERVAL = 0.1


class _State:
    paused = False
    session = None
    session_key = None  # (path, modification time)
    paste_at = None
    last_render = 0.0
    pending = False
    error: str | None = None
    import_error: str | None = None  # onnxruntime's import error ("" once it imported; None: not tried)


def unavailable_reason() -> str | None:
    """Why the live preview cannot run in this Blender (one line that says what to do), or None."""
    if _State.import_error is None:
        try:
            import onnxruntime  # noqa: F401
            _State.import_error = ""
        except ImportError as e:
            _State.import_error = one_line(str(e)) or type(e).__name__
    if not _State.import_error:
        return None
    python = ".".join(map(str, sys.version_info[:2]))
    bundled = bundled_onnxruntime_pythons()
    carried = (f"this zip carries it for Python {', '.join(bundled)} only" if bundled
               else "this zip carries no wheels")
    return (f"No live preview: onnxruntime does not load in this Blender's Python {python} ({carried}). "
            f"Install the extension zip made for your platform (Generate works without it).")


def bundled_onnxruntime_pythons() -> list[str]:
    """The Python versions ("3.11", ...) whose onnxruntime wheel the installed extension's manifest lists."""
    import tomllib

    manifest = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "blender_manifest.toml")
    try:
        with open(manifest, "rb") as f:
            wheels = tomllib.load(f).get("wheels", [])
    except (OSError, tomllib.TOMLDecodeError):
        return []
    tags = {w.rsplit("/", 1)[-1].split("-")[2] for w in wheels if os.path.basename(w).startswith("onnxruntime-")}
    return sorted((f"{t[2]}.{t[3:]}" for t in tags if t.startswith("cp") and len(t) > 3),
                  key=lambda v: tuple(map(int, v.split("."))))


def last_error() -> str | None:
    """Why the last preview render failed (one line), or None."""
    return _State.error


def set_enabled(enabled: bool) -> None:
    handlers = bpy.app.handlers.frame_change_post
    if enabled and on_frame_change not in handlers:
        handlers.append(on_frame_change)
    elif not enabled:
        if on_frame_change in handlers:
            handlers.remove(on_frame_change)
        for scene in bpy.data.scenes:
            if is_rig(scene.talking_heads.rig) and scene.talking_heads.rig.talking_heads.image_plane is not None:
                _restore_plane(scene.talking_heads.rig)


@persistent
def on_frame_change(scene, depsgraph=None):
    settings = getattr(scene, "talking_heads", None)
    if _State.paused or settings is None or not settings.preview or not is_rig(settings.rig):
        return
    if time.monotonic() - _State.last_render < MIN_INTERVAL:
        if not _State.pending:
            _State.pending = True
            bpy.app.timers.register(_render_latest, first_interval=MIN_INTERVAL)
        return
    render_preview(scene, depsgraph or bpy.context.evaluated_depsgraph_get())


@contextlib.contextmanager
def paused():
    """No previews while the add-on steps through frames itself (evaluating the rig for Generate)."""
    _State.paused = True
    try:
        yield
    finally:
        _State.paused = False


def _render_latest():
    _State.pending = False
    scene = bpy.context.scene
    if scene is not None and scene.talking_heads.preview and is_rig(scene.talking_heads.rig):
        render_preview(scene, bpy.context.evaluated_depsgraph_get())
    return None  # one shot


def render_preview(scene, depsgraph) -> bpy.types.Image | None:
    """Render the rig's current pose and show it; returns the preview image (None after an error)."""
    _State.last_render = time.monotonic()
    rig = scene.talking_heads.rig
    try:
        pixels = driver.current_pixels(scene, depsgraph, rig)
        if not np.all(np.isfinite(pixels)):
            raise UserError("a rig vertex is behind the camera or off the image plane")
        session = _session(bpy.path.abspath(scene.talking_heads.preview_model))
        box = session.run([OUTPUT], {INPUT: pixels[None].astype(np.float32)})[0][0]
        frame = paste_box(_reference_pixels(rig), np.transpose(box, (1, 2, 0)), *_State.paste_at)
        image = _show(scene, rig, frame)
    except UserError as e:
        _State.error = f"Preview: {e}"
        return None
    except Exception as e:  # noqa: BLE001  (onnxruntime's own errors; a handler must not raise)
        _State.error = f"Preview failed: {type(e).__name__}: {one_line(str(e))}"
        return None
    _State.error = None
    return image


def _session(path: str):
    if not path or not os.path.isfile(path):
        raise UserError("no preview model: press Export ONNX Model in the Export panel")
    key = (path, os.path.getmtime(path))
    if _State.session_key != key:
        import onnxruntime

        options = onnxruntime.SessionOptions()
        options.log_severity_level = 3
        session = onnxruntime.InferenceSession(path, options, providers=["CPUExecutionProvider"])
        problem = signature_problem(session.get_inputs(), session.get_outputs())
        if problem:
            raise UserError(f"{os.path.basename(path)} is not a person model's export ({problem}); export it "
                            f"again from the Export panel")
        corner = read_paste_at(session.get_modelmeta().custom_metadata_map, os.path.basename(path))
        _State.session, _State.session_key, _State.paste_at = session, key, corner
    return _State.session


def _reference_pixels(rig) -> np.ndarray:
    """The reference image, (H, W, 3) float in [0, 1] sRGB, top row first."""
    image = rig.talking_heads.reference
    width, height = image.size
    rgba = np.empty(width * height * 4, dtype=np.float32)
    image.pixels.foreach_get(rgba)
    return rgba.reshape(height, width, 4)[::-1, :, :3]


def _show(scene, rig, frame: np.ndarray) -> bpy.types.Image:
    height, width = frame.shape[:2]
    name = f"{rig.name} preview"
    image = bpy.data.images.get(name)
    if image is None or tuple(image.size) != (width, height):
        if image is not None:
            bpy.data.images.remove(image)
        image = bpy.data.images.new(name, width, height, alpha=False)
    rgba = np.ones((height, width, 4), dtype=np.float32)
    rgba[..., :3] = np.clip(frame[::-1], 0.0, 1.0)
    image.pixels.foreach_set(rgba.ravel())
    image.update()
    if scene.talking_heads.preview_target == 'PLANE':
        nodes = rig.talking_heads.image_plane.active_material.node_tree.nodes
        nodes[materials.FRAMES_NODE].image = image
        nodes[materials.MIX_NODE].inputs[0].default_value = 1.0
    else:
        for window in bpy.context.window_manager.windows:
            for area in window.screen.areas:
                if area.type == 'IMAGE_EDITOR':
                    area.spaces.active.image = image
    return image


def _restore_plane(rig) -> None:
    """Give the plane back its generated frames (or the reference) when the preview stops."""
    try:
        nodes = rig.talking_heads.image_plane.active_material.node_tree.nodes
        nodes[materials.FRAMES_NODE].image = rig.talking_heads.frames
        materials.show_generated(rig)
    except (AttributeError, KeyError, UserError):
        pass  # the plane or its material was changed by hand: nothing of ours to restore


def register() -> None:
    properties.preview_switch = set_enabled
    bpy.app.handlers.load_post.append(_on_load)
    bpy.app.timers.register(_sync_handler, first_interval=0.0)  # bpy.data is off limits while registering


def unregister() -> None:
    properties.preview_switch = None
    if _on_load in bpy.app.handlers.load_post:
        bpy.app.handlers.load_post.remove(_on_load)
    if bpy.app.timers.is_registered(_sync_handler):
        bpy.app.timers.unregister(_sync_handler)
    handlers = bpy.app.handlers.frame_change_post
    if on_frame_change in handlers:
        handlers.remove(on_frame_change)
    _State.session = _State.session_key = None


@persistent
def _on_load(_filepath=None):
    _sync_handler()


def _sync_handler():
    """Run the frame handler exactly when a scene has the preview on (a .blend saved with it on)."""
    enabled = any(getattr(s, "talking_heads", None) is not None and s.talking_heads.preview
                  for s in bpy.data.scenes)
    handlers = bpy.app.handlers.frame_change_post
    if enabled and on_frame_change not in handlers:
        handlers.append(on_frame_change)
    elif not enabled and on_frame_change in handlers:
        handlers.remove(on_frame_change)
    return None


CLASSES = ()
