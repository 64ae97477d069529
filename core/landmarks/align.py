"""The canonical crop the model works on, its inverse, and pasting a generated crop back into the photo.

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
    """A similarity crop: rotated so the eye line (centres of points 36-41 and 42-47) is horizontal, then
    framed like the canonical crop (2.0 x the larger side of the rotated landmarks' box, centred on it)."""
    p = np.asarray(points, dtype=np.float64)[:, :2]
    dx, dy = p[42:48].mean(axis=0) - p[36:42].mean(axis=0)
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


def paste_back(full_image: np.ndarray, crop_rgb: np.ndarray, box, feather: float = 0.08) -> np.ndarray:
    """The full image with a (generated) crop pasted back where it was taken from.

    The crop is warped back at the image's own resolution and blended through a mask that is 1 inside and
    falls smoothly to 0 over the outer `feather` fraction of the crop's side, so no seam shows where the
    generated pixels meet the photo's. Only the region the crop covers is touched. uint8 H x W x 3 in and out.
    """
    import cv2

    size = crop_rgb.shape[0]
    if crop_rgb.shape[:2] != (size, size):
        raise ValueError("the crop must be square")
    h, w = full_image.shape[:2]
    to_crop_m = crop_matrix(box, size)
    inverse = _invert(to_crop_m)
    corners = np.array([[0, 0], [size - 1, 0], [0, size - 1], [size - 1, size - 1]], dtype=np.float64)
    corners = corners @ inverse[:, :2].T + inverse[:, 2]
    x0, y0 = np.maximum(np.floor(corners.min(axis=0)).astype(int) - 1, 0)
    x1, y1 = np.minimum(np.ceil(corners.max(axis=0)).astype(int) + 2, [w, h])
    out = full_image.copy()
    if x1 <= x0 or y1 <= y0:
        return out
    # Image -> crop for the region's pixels: the region's origin moves to (x0, y0).
    region_m = to_crop_m.copy()
    region_m[:, 2] += to_crop_m[:, :2] @ [x0, y0]
    region_size = (int(x1 - x0), int(y1 - y0))
    flags = cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP
    pixels = cv2.warpAffine(crop_rgb.astype(np.float32), region_m, region_size, flags=flags,
                            borderMode=cv2.BORDER_REPLICATE)
    mask = cv2.warpAffine(feather_mask(size, feather), region_m, region_size, flags=flags,
                          borderMode=cv2.BORDER_CONSTANT, borderValue=0.0)[..., None]
    under = out[y0:y1, x0:x1].astype(np.float32)
    out[y0:y1, x0:x1] = np.clip(np.rint(under + mask * (pixels - under)), 0, 255).astype(np.uint8)
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
