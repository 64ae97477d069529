"""A frame at the photo's pose, sampled once into the mesh's UV space through the fit's texel map.

Each texel shows the photo pixel `fit.texel_pixels` names, read from the frame by bilinear interpolation
(cv2.remap: resampling once, from the frame straight to UV, keeps it as sharp as the frame). Its alpha is
`fit.weight` (times the frame's own alpha, where it has one); texels off the baked surface, and texels
whose pixel lies off the frame, are transparent. Their colour is the frame's mean colour, not black: a
texture filtered or mip-mapped across an island's edge then bleeds a neutral tone, not a dark fringe, and the
watermark, which adds a few levels of luminance everywhere, is not clipped at black there (clipping costs
`export.provenance.mark` a second pass).

`Baker(fit)` prepares a fit once for many frames: only the bounding box of the texels with weight > 0 is
sampled, through fixed-point maps (OpenCV's own 1/32-pixel interpolation table, faster than float maps),
with every weightless texel pointed off the frame so that the border, not a mask, blanks it. A frame costs
four OpenCV passes over contiguous RGBA (add alpha, remap, weight, border): 15 to 20 ms at 2048 x 2048,
against 75 to 90 ms when numpy wrote the colour and alpha into the channels of the result one by one.
"""
from __future__ import annotations

import os
from dataclasses import MISSING, fields
from pathlib import Path

import numpy as np

from ..errors import UserError
from .fit import HeadFit

OFF_FRAME = -64.0      # where weightless texels sample: off the frame, so BORDER_CONSTANT blanks them


class Baker:
    """`Baker(fit)(frame) -> (S, S, 4) uint8`: frames of the photo's size baked to the fit's UV map."""

    def __init__(self, fit: HeadFit):
        import cv2

        self.size = int(fit.size)
        self.image_size = tuple(int(v) for v in fit.image_size)
        weight = np.nan_to_num(np.asarray(fit.weight, np.float32), nan=0.0)
        pixels = np.asarray(fit.texel_pixels, np.float32)
        if weight.shape != (self.size, self.size) or pixels.shape != (self.size, self.size, 2):
            raise UserError(f"the head fit's maps are {pixels.shape[:2]} and {weight.shape}, not its size "
                            f"{self.size}; fit the head again")
        live = (weight > 0) & np.isfinite(pixels).all(axis=2)
        rows, cols = np.flatnonzero(live.any(axis=1)), np.flatnonzero(live.any(axis=0))
        if rows.size == 0:
            raise UserError("the head fit bakes no texel (its weight is 0 everywhere); fit the head again")
        self.box = (slice(rows[0], rows[-1] + 1), slice(cols[0], cols[-1] + 1))
        window = np.where(live[self.box][..., None], pixels[self.box], np.float32(OFF_FRAME))
        self.maps = cv2.convertMaps(window, None, cv2.CV_16SC2)
        # Sampled as RGBA (an RGB frame with alpha 255), the border's alpha 0: a texel's alpha is then how much
        # of its bilinear footprint lies on the frame, times the frame's own alpha; the weight multiplies it.
        weight255 = np.rint(np.clip(weight[self.box], 0, 1) * 255).astype(np.uint8)
        self.scale = cv2.merge([np.full_like(weight255, 255)] * 3 + [weight255])
        (top, bottom), (left, right) = ((s.start, self.size - s.stop) for s in self.box)
        self.margins = (int(top), int(bottom), int(left), int(right))

    def __call__(self, frame: np.ndarray) -> np.ndarray:
        frame = np.asarray(frame)
        w, h = self.image_size
        if frame.dtype != np.uint8 or frame.ndim != 3 or frame.shape[2] not in (3, 4) or frame.shape[:2] != (h, w):
            raise UserError(f"a frame to bake must be {w}x{h} uint8 RGB or RGBA (the fitted photo's size), "
                            f"not {frame.shape} {frame.dtype}")
        import cv2

        frame = np.ascontiguousarray(frame)
        clear = [round(v) for v in cv2.mean(frame)[:3]] + [0]
        rgba = frame if frame.shape[2] == 4 else cv2.cvtColor(frame, cv2.COLOR_RGB2RGBA)
        sampled = cv2.remap(rgba, self.maps[0], self.maps[1], cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT,
                            borderValue=clear)
        sampled = cv2.multiply(sampled, self.scale, scale=1 / 255)          # colour x 255 / 255, alpha x weight
        return cv2.copyMakeBorder(sampled, *self.margins, cv2.BORDER_CONSTANT, value=clear)


def bake_frame(frame: np.ndarray, fit: HeadFit) -> np.ndarray:
    """One frame (H, W, 3 or 4 uint8 at the photo's size, `fit.image_size`) -> (S, S, 4) uint8 in UV space.
    For many frames, make one `Baker(fit)` and call it per frame."""
    return Baker(fit)(frame)


def load_fit(path: str | os.PathLike) -> HeadFit:
    """A fit file: an .npz holding HeadFit's fields by name (lists of strings as string arrays)."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"{path}: no such head fit; fit the head first (Fit to Head, `python -m core fit-head`)")
    try:
        with np.load(path, allow_pickle=False) as data:
            stored = {k: data[k] for k in data.files}
    except (OSError, ValueError, EOFError) as e:
        raise UserError(f"{path} is not a readable head fit ({e}); fit the head again") from None
    required = [f.name for f in fields(HeadFit) if f.default is MISSING and f.default_factory is MISSING]
    missing = [n for n in required if n not in stored]
    if missing:
        raise UserError(f"{path} is not a head fit (it lacks {', '.join(missing)}); fit the head again")
    values = {f.name: stored[f.name] for f in fields(HeadFit) if f.name in stored}
    values["size"], values["focal"] = int(values["size"]), float(values["focal"])
    values["image_size"] = tuple(int(v) for v in values["image_size"])
    if "landmark_source" in values:
        values["landmark_source"] = str(values["landmark_source"])
    if "warnings" in values:
        values["warnings"] = [str(v) for v in np.atleast_1d(values["warnings"])]
    return HeadFit(**values)
