"""Live preview: while the artist scrubs the timeline, the current frame as the person model renders it.

The person model's ONNX export (Export panel, or `python -m core export onnx`) runs in Blender's own Python
with onnxruntime, bundled as a wheel. Its graph is export/onnx_model.py's: input `landmarks` (batch, 68, 2)
reference pixels, output `image` (batch, 3, S, S), the model's square crop in [0, 1] sRGB; its metadata
`crop_box` ("x,y,side") says where that crop lies in the reference. (export/onnx_model.py itself imports the
absolute `core` package, which Blender's Python does not have, so the session is opened here.)

A `frame_change_post` handler evaluates the rig at the new frame, renders it and pastes the crop into the
reference's pixels, shown on the image plane or in the image editors. Renders are throttled: at most one
every `MIN_INTERVAL` seconds; a frame change inside that interval is rendered by a one-shot timer, so the
frame the artist stops on is always the one shown. Errors never escape a handler: the last one is shown in
the Preview panel.
"""
from __future__ import annotations

import contextlib
import os
import time

import numpy as np

import bpy
from bpy.app.handlers import persistent

from ..core.errors import UserError
from . import driver, materials
from .properties import is_rig

MIN_INTERVAL = 0.1
FEATHER = 0.08  # the blend border, as a fraction of the crop's side (as core.landmarks.align pastes back)


class _State:
    paused = False
    session = None
    session_key = None  # (path, modification time)
    crop_box = None
    last_render = 0.0
    pending = False
    error: str | None = None


def unavailable_reason() -> str | None:
    """Why the live preview cannot run here (one line), or None."""
    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        return "onnxruntime is not available here: no live preview on this platform"
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
        crop = session.run(["image"], {"landmarks": pixels[None].astype(np.float32)})[0][0]
        frame = paste_crop(_reference_pixels(rig), np.transpose(crop, (1, 2, 0)), _State.crop_box)
        image = _show(scene, rig, frame)
    except UserError as e:
        _State.error = f"Preview: {e}"
        return None
    except Exception as e:  # noqa: BLE001  (onnxruntime's own errors; a handler must not raise)
        _State.error = f"Preview failed: {type(e).__name__}: {(str(e).strip().splitlines() or [''])[0]}"
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
        box = session.get_modelmeta().custom_metadata_map.get("crop_box")
        if box is None or len(box.split(",")) != 3:
            raise UserError(f"{os.path.basename(path)} has no crop box; export it again from the Export panel")
        _State.session, _State.session_key = session, key
        _State.crop_box = tuple(float(v) for v in box.split(","))
    return _State.session


def _reference_pixels(rig) -> np.ndarray:
    """The reference image, (H, W, 3) float in [0, 1] sRGB, top row first."""
    image = rig.talking_heads.reference
    width, height = image.size
    rgba = np.empty(width * height * 4, dtype=np.float32)
    image.pixels.foreach_get(rgba)
    return rgba.reshape(height, width, 4)[::-1, :, :3]


def paste_crop(reference: np.ndarray, crop: np.ndarray, box: tuple[float, float, float]) -> np.ndarray:
    """`reference` (H, W, 3) with `crop` (S, S, 3) pasted where crop box (x, y, side) lies, bilinearly
    resampled and blended in over a feathered border. Crop pixel (u, v) shows reference point
    (x + u * side / S, y + v * side / S)."""
    x, y, side = box
    size = crop.shape[0]
    height, width = reference.shape[:2]
    x0, y0 = max(int(np.floor(x)) - 1, 0), max(int(np.floor(y)) - 1, 0)
    x1, y1 = min(int(np.ceil(x + side)) + 2, width), min(int(np.ceil(y + side)) + 2, height)
    out = reference.copy()
    if x1 <= x0 or y1 <= y0:
        return out
    u = (np.arange(x0, x1) - x) * size / side
    v = (np.arange(y0, y1) - y) * size / side
    sampled = _bilinear(crop, v, u)
    mask = _bilinear(np.pad(_feather_mask(size), 1)[..., None], v + 1, u + 1)  # zero outside the crop
    region = out[y0:y1, x0:x1]
    out[y0:y1, x0:x1] = region + mask * (sampled - region)
    return out


def _feather_mask(size: int) -> np.ndarray:
    """(size, size): 1 inside, a smooth step down to 0 over the outer FEATHER of the side at the border."""
    centres = np.arange(size, dtype=np.float64)
    t = np.clip(np.minimum(centres + 0.5, size - 0.5 - centres) / max(FEATHER * size, 1.0), 0.0, 1.0)
    ramp = t * t * (3 - 2 * t)
    return np.minimum(ramp[:, None], ramp[None, :])


def _bilinear(image: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    size = image.shape[0]
    r = np.clip(rows, 0, size - 1)
    c = np.clip(cols, 0, size - 1)
    r0, c0 = np.floor(r).astype(int), np.floor(c).astype(int)
    r1, c1 = np.minimum(r0 + 1, size - 1), np.minimum(c0 + 1, size - 1)
    wr, wc = (r - r0)[:, None, None], (c - c0)[None, :, None]
    top = image[r0][:, c0] * (1 - wc) + image[r0][:, c1] * wc
    bottom = image[r1][:, c0] * (1 - wc) + image[r1][:, c1] * wc
    return top * (1 - wr) + bottom * wr


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
    bpy.app.handlers.load_post.append(_on_load)
    bpy.app.timers.register(_sync_handler, first_interval=0.0)  # bpy.data is off limits while registering


def unregister() -> None:
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
