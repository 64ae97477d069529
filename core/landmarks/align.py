"""The canonical crop the model works on, its inverse, and the whole-pixel box frames are rendered in.

The crop is the evaluation protocol's (shared/eval/PROTOCOL.md), computed exactly as its reference
implementation does so that every figure the project reports is measured on the same pixels: a square of
side 2.0 x the larger side of the landmarks' bounding box, centred on that box, resized to `size` (256, or
512) with `cv2.warpAffine` (INTER_AREA, BORDER_REPLICATE). Crop pixel (u, v) shows image point
(x + u * side / size, y + v * side / size): pixel centres stay at integers on both sides.

A crop box is `(x, y, side)`: the image coordinates of the crop's top-left pixel centre and its side.
Every function also takes a general 2x3 image -> crop matrix in place of a box, which is what
`aligned_crop_matrix` gives: the same framing, rotated so that the eye line is horizontal (optional; the
model and the evaluation use the axis-aligned box).
"""
from __future__ import annotations

import numpy as np

from .groups import LEFT_EYE, RIGHT_EYE

CROP_SCALE = 2.0  # crop side / larger side of the landmarks' bounding box
DEFAULT_SIZE = 256

CropBox = tuple[float, float, float]


def crop_box(points: np.ndarray, scale: float = CROP_SCALE) -> CropBox:
    """(x, y, side) of the canonical crop around landmarks (68, 2)."""
    p = np.asarray(points, dtype=np.float64)[:, :2]
    x0, y0 = p.min(axis=0)
    x1, y1 = p.max(axis=0)
    side = scale * max(x1 - x0, y1 - y0)
    if not side > 0:
        raise ValueError("the landmarks have no extent; cannot place a crop around them")
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    return float(cx - side / 2), float(cy - side / 2), float(side)


def crop_matrix(box, size: int = DEFAULT_SIZE) -> np.ndarray:
    """The 2x3 affine matrix taking image coordinates to crop coordinates (a 2x3 matrix passes through)."""
    if _is_matrix(box):
        return np.asarray(box, dtype=np.float64)
    x, y, side = box
    s = size / side
    return np.array([[s, 0.0, -x * s], [0.0, s, -y * s]])


def aligned_crop_matrix(points: np.ndarray, size: int = DEFAULT_SIZE, scale: float = CROP_SCALE) -> np.ndarray:
    """A similarity crop: rotated so the eye line (the eyes' centres) is horizontal, then
    framed like the canonical crop (2.0 x the larger side of the rotated landmarks' box, centred on it)."""
    p = np.asarray(points, dtype=np.float64)[:, :2]
    dx, dy = p[LEFT_EYE].mean(axis=0) - p[RIGHT_EYE].mean(axis=0)
    angle = np.arctan2(dy, dx)
    c, s = np.cos(-angle), np.sin(-angle)
    rotation = np.array([[c, -s], [s, c]])
    x, y, side = crop_box(p @ rotation.T, scale)
    k = size / side
    return np.hstack([k * rotation, [[-x * k], [-y * k]]])


def to_crop(points: np.ndarray, box, size: int = DEFAULT_SIZE) -> np.ndarray:
    """Image coordinates (..., 2) -> crop coordinates, float32."""
    m = crop_matrix(box, size)
    p = np.asarray(points, dtype=np.float64)
    return (p[..., :2] @ m[:, :2].T + m[:, 2]).astype(np.float32)


def from_crop(points: np.ndarray, box, size: int = DEFAULT_SIZE) -> np.ndarray:
    """Crop coordinates (..., 2) -> image coordinates, float32."""
    inverse = _invert(crop_matrix(box, size))
    p = np.asarray(points, dtype=np.float64)
    return (p[..., :2] @ inverse[:, :2].T + inverse[:, 2]).astype(np.float32)


def crop_image(image: np.ndarray, box, size: int = DEFAULT_SIZE) -> np.ndarray:
    """The crop (size x size, same dtype and channels), edges replicated where it leaves the image."""
    import cv2

    return cv2.warpAffine(image, crop_matrix(box, size), (size, size), flags=cv2.INTER_AREA,
                          borderMode=cv2.BORDER_REPLICATE)


def native_box(box: CropBox) -> tuple[int, int, int]:
    """A crop box snapped to whole image pixels: (x0, y0, side) of the square the frames are rendered in
    at the photo's own resolution (core/model/native.py), so that the photo is never resampled to paste."""
    x, y, side = box
    return int(round(x)), int(round(y)), int(round(side))


def cut_box(image: np.ndarray, x0: int, y0: int, side: int) -> np.ndarray:
    """The square (x0, y0, side) of an H x W x C image, its edge pixels repeated where it leaves the image."""
    h, w = image.shape[:2]
    pad = max(0, -x0, -y0, x0 + side - w, y0 + side - h)
    padded = np.pad(image, ((pad, pad), (pad, pad), (0, 0)), mode="edge") if pad else image
    return np.ascontiguousarray(padded[y0 + pad:y0 + pad + side, x0 + pad:x0 + pad + side])


def paste_box(image: np.ndarray, region: np.ndarray, x0: int, y0: int) -> np.ndarray:
    """`image` with the square `region` (side x side x C, rendered for `native_box`) put back at whole pixels
    (x0, y0); what lies outside the image is dropped. Numpy only: the add-on's live preview uses it too."""
    out = image.copy()
    h, w = image.shape[:2]
    side = region.shape[0]
    ax, ay, bx, by = max(0, x0), max(0, y0), min(w, x0 + side), min(h, y0 + side)
    if bx > ax and by > ay:
        out[ay:by, ax:bx] = region[ay - y0:by - y0, ax - x0:bx - x0]
    return out


def feather_mask(size: int, feather: float = 0.08) -> np.ndarray:
    """(size, size) float32: 1 in the middle, a smooth step down to 0 at the border over `feather` x size."""
    width = max(feather * size, 1.0)
    centres = np.arange(size, dtype=np.float32)
    edge = np.minimum(centres + 0.5, size - 0.5 - centres)  # distance of each pixel centre to the border
    t = np.clip(edge / width, 0.0, 1.0)
    ramp = t * t * (3 - 2 * t)
    return np.minimum(ramp[:, None], ramp[None, :]).astype(np.float32)


def _is_matrix(box) -> bool:
    return isinstance(box, np.ndarray) and box.shape == (2, 3)


def _invert(m: np.ndarray) -> np.ndarray:
    full = np.vstack([m, [0.0, 0.0, 1.0]])
    return np.linalg.inv(full)[:2]
