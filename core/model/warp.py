"""Piecewise-affine warping of the reference onto the driver's landmarks, as a batched torch operation.

The 68 landmarks plus 8 fixed points on the crop border are joined by one fixed triangulation (a Delaunay
triangulation of a mean face). For every output pixel we find the driver triangle that contains it and map
it through the matching reference triangle: that is the `warp` baseline of the evaluation protocol, made
differentiable, batched and exportable to ONNX (only matmul, min/argmax, gather and grid_sample).

The sampling grid is computed at a coarser resolution and upsampled: the map is linear inside each
triangle, so this changes it only along triangle edges, and it keeps the cost independent of image size.
"""
from __future__ import annotations

import functools

import numpy as np
import torch
import torch.nn.functional as F

from ..landmarks.groups import (BROWS, CHIN, INNER_LIP_PAIRS, INNER_LIPS, JAW, LEFT_EYE, LEFT_LIDS, MOUTH,
                               OUTER_EYE_CORNERS, RIGHT_EYE, RIGHT_LIDS)
from .mean_face import MEAN_FACE_CROP


def border_points(size: int) -> np.ndarray:
    """The 8 fixed points on the crop border (corners and edge midpoints), as the protocol's warp uses."""
    s, h = size - 1, size / 2
    return np.array([[0, 0], [h, 0], [s, 0], [s, h], [s, s], [h, s], [0, s], [0, h]], np.float32)


def _triangulation() -> np.ndarray:
    """Delaunay triangles over the mean face (crop of 256) and the border points: (T, 3) vertex indices."""
    from scipy.spatial import Delaunay

    points = np.vstack([MEAN_FACE_CROP, border_points(256)])
    return Delaunay(points).simplices.astype(np.int64)


TRIANGLES = _triangulation()
IN_FACE = (TRIANGLES < 68).all(1)    # triangles between landmarks only: together, the face's hull
IN_MOUTH = np.isin(TRIANGLES, INNER_LIPS).all(1)   # between inner-lip points: the mouth's opening
IN_EYES = np.isin(TRIANGLES, RIGHT_EYE).all(1) | np.isin(TRIANGLES, LEFT_EYE).all(1)   # one eye's opening
IN_LIPS = np.isin(TRIANGLES, MOUTH).all(1) & ~IN_MOUTH    # between the outer and the inner lips


@functools.lru_cache(maxsize=32)
def _constants(device: torch.device, dtype: torch.dtype, size: int) -> tuple[torch.Tensor, ...]:
    """The triangulation, its face and mouth triangles and the border points on the device, made once: no
    host copies inside a CUDA graph."""
    triangles = torch.as_tensor(TRIANGLES, device=device)
    face_triangles = torch.as_tensor(TRIANGLES[IN_FACE], device=device)
    mouth_triangles = torch.as_tensor(TRIANGLES[IN_MOUTH], device=device)
    eye_triangles = torch.as_tensor(TRIANGLES[IN_EYES], device=device)
    border = torch.as_tensor(border_points(size), dtype=dtype, device=device)
    lip_triangles = torch.as_tensor(TRIANGLES[IN_LIPS], device=device)
    return triangles, face_triangles, mouth_triangles, border, eye_triangles, lip_triangles


def with_border(points: torch.Tensor, size: int) -> torch.Tensor:
    """(B, 68, 2) crop pixels -> (B, 76, 2) with the border points appended."""
    border = _constants(points.device, points.dtype, size)[3]
    return torch.cat([points, border.expand(points.shape[0], -1, -1)], dim=1)


def _invert3(m: torch.Tensor) -> torch.Tensor:
    """Inverse of (..., 3, 3) matrices by the adjugate: closed form, so it exports to ONNX."""
    a, b, c = m[..., 0, 0], m[..., 0, 1], m[..., 0, 2]
    d, e, f = m[..., 1, 0], m[..., 1, 1], m[..., 1, 2]
    g, h, i = m[..., 2, 0], m[..., 2, 1], m[..., 2, 2]
    co = torch.stack([
        torch.stack([e * i - f * h, c * h - b * i, b * f - c * e], -1),
        torch.stack([f * g - d * i, a * i - c * g, c * d - a * f], -1),
        torch.stack([d * h - e * g, b * g - a * h, a * e - b * d], -1),
    ], -2)
    det = a * co[..., 0, 0] + b * co[..., 1, 0] + c * co[..., 2, 0]
    # Degenerate (collapsed) triangles get a tiny area instead of an infinite inverse.
    det = torch.where(det.abs() < 1e-6, torch.full_like(det, 1e-6), det)
    return co / det[..., None, None]


def _pixels(grid_size: int, size: int, like: torch.Tensor) -> torch.Tensor:
    """(grid_size^2, 3) homogeneous pixel coordinates of a grid_size x grid_size lattice over the crop."""
    axis = torch.arange(grid_size, device=like.device, dtype=like.dtype) * ((size - 1) / (grid_size - 1))
    gy, gx = torch.meshgrid(axis, axis, indexing="ij")
    return torch.stack([gx, gy, torch.ones_like(gx)], -1).reshape(-1, 3)


def warp_map(ref_points: torch.Tensor, drv_points: torch.Tensor, size: int, pixels: torch.Tensor) -> torch.Tensor:
    """Where each given driver pixel comes from in the reference: the piecewise-affine map itself.

    ref_points, drv_points: (B, 68, 2) in the pixels of a crop of `size` (whose border points pin the
    background); pixels: (P, 3) or (B, P, 3) homogeneous driver pixels. Returns (B, P, 2) reference pixels."""
    tri = _constants(drv_points.device, drv_points.dtype, size)[0]
    ref = with_border(ref_points, size)[:, tri]                      # (B, T, 3, 2)
    drv = with_border(drv_points, size)[:, tri]
    ones = torch.ones_like(drv[..., :1])
    drv_h = torch.cat([drv, ones], -1).transpose(-1, -2)             # (B, T, 3, 3): columns are vertices
    to_bary = _invert3(drv_h)                                         # driver xy1 -> barycentric
    affine = ref.transpose(-1, -2) @ to_bary                          # (B, T, 2, 3): driver xy1 -> ref xy
    pix = pixels if pixels.dim() == 3 else pixels[None]               # (B or 1, P, 3)

    # A matmul, not an einsum: onnxruntime's CPU Einsum took a fifth of a frame's time.
    bary = to_bary @ pix.transpose(-1, -2)[:, None]                   # (B, T, 3, P)
    inside = bary.min(dim=2).values                                   # >= 0 inside the triangle
    best = inside.argmax(dim=1)                                       # (B, P): the containing triangle
    index = best[:, :, None, None].expand(-1, -1, 2, 3)
    chosen = torch.gather(affine, 1, index)                           # (B, P, 2, 3)
    return (chosen @ pix[:, :, :, None]).squeeze(-1)                  # (B, P, 2) reference pixels


def warp_grid(ref_points: torch.Tensor, drv_points: torch.Tensor, size: int, grid_size: int = 64) -> torch.Tensor:
    """Sampling grid for `F.grid_sample` that moves the reference's landmarks onto the driver's.

    ref_points, drv_points: (B, 68, 2) in crop pixels. Returns (B, size, size, 2) in [-1, 1] (x, y).
    """
    src = warp_map(ref_points, drv_points, size, _pixels(grid_size, size, drv_points))
    grid = src.reshape(-1, grid_size, grid_size, 2).permute(0, 3, 1, 2)
    if grid_size != size:
        grid = F.interpolate(grid, size=(size, size), mode="bilinear", align_corners=True)
    # Pixel centres at 0..size-1 map to -1..1 with align_corners=True.
    return (grid.permute(0, 2, 3, 1) / (size - 1)) * 2 - 1


def warp_image(image: torch.Tensor, ref_points: torch.Tensor, drv_points: torch.Tensor,
               grid_size: int = 64) -> torch.Tensor:
    """Warp reference crops (B, 3, S, S) from their landmarks onto the driver's."""
    grid = warp_grid(ref_points, drv_points, image.shape[-1], grid_size)
    return F.grid_sample(image, grid, mode="bilinear", padding_mode="border", align_corners=True)


def _fill(points: torch.Tensor, triangles: torch.Tensor, size: int, grid_size: int, grow: int = 0,
          soften: bool = False) -> torch.Tensor:
    """(B, 1, size, size): one inside the union of the given triangles of the landmarks (B, 68, 2), zero
    outside, widened by `grow` cells of the grid_size lattice the inside test runs on, and upsampled (so its
    edge is a few pixels soft). Widening on the lattice, row and column apart, costs a small fraction of a
    max-pool at full size (that took a third of a frame's time on the CPU). Widening that way squares the
    region's corners; `soften` rounds them and its edge (a rectangle of new colours shows at full size)."""
    corners = points[:, triangles]                                                  # (B, T, 3, 2)
    to_bary = _invert3(torch.cat([corners, torch.ones_like(corners[..., :1])], -1).transpose(-1, -2))
    inside = (to_bary @ _pixels(grid_size, size, points).T).amin(2).amax(1)           # (B, P)
    filled = (inside >= 0).to(points.dtype).reshape(-1, 1, grid_size, grid_size)
    if grow:
        filled = F.max_pool2d(filled, (2 * grow + 1, 1), (1, 1), (grow, 0))
        filled = F.max_pool2d(filled, (1, 2 * grow + 1), (1, 1), (0, grow))
    if soften:
        filled = F.avg_pool2d(filled, 3, 1, 1, count_include_pad=False)
    return F.interpolate(filled, size=(size, size), mode="bilinear", align_corners=True)


def face_hull(points: torch.Tensor, size: int, grid_size: int = 64, grow: int = 0) -> torch.Tensor:
    """(B, 1, size, size): one inside the hull of the landmarks (B, 68, 2), zero outside, edge soft; widened
    by `grow` cells of a grid_size lattice over the crop."""
    return _fill(points, _constants(points.device, points.dtype, size)[1], size, grid_size, grow)


def mouth_opening(points: torch.Tensor, size: int, grow: int = 0, soften: bool = False) -> torch.Tensor:
    """(B, 1, size, size): one inside the inner lips, zero outside (nothing for a closed mouth), widened by
    `grow` cells of the half-resolution lattice it is tested on (an opening can be a few pixels tall)."""
    return _fill(points, _constants(points.device, points.dtype, size)[2], size, size // 2, grow, soften)


def lips_and_opening(points: torch.Tensor, size: int) -> torch.Tensor:
    """(B, 2, size, size): one on the lips, and one inside the inner lips, tested at every pixel (a mouth
    crop at its own scale: its lips are tens of pixels wide)."""
    constants = _constants(points.device, points.dtype, size)
    return torch.cat([_fill(points, constants[5], size, size), _fill(points, constants[2], size, size)], 1)


def eye_openings(points: torch.Tensor, size: int, grow: int = 0) -> torch.Tensor:
    """(B, 1, size, size): one inside both eyes' lids, widened by `grow` cells of the half-resolution lattice
    it is tested on, edge soft. A closed eye's opening is a line: widened, it covers the lids over it."""
    return _fill(points, _constants(points.device, points.dtype, size)[4], size, size // 2, grow, soften=True)


def pair_gap(points: torch.Tensor, pairs) -> torch.Tensor:
    """(B,): the mean distance of point pairs (upper, lower) of landmarks (B, 68, 2), in eye-corner spans."""
    upper, lower = points[:, [a for a, _ in pairs]], points[:, [b for _, b in pairs]]
    span = (points[:, OUTER_EYE_CORNERS[0]] - points[:, OUTER_EYE_CORNERS[1]]).norm(dim=-1)
    return (upper - lower).norm(dim=-1).mean(1) / span.clamp_min(1e-3)


def mouth_gap(points: torch.Tensor) -> torch.Tensor:
    """(B,): how far the inner lips (B, 68, 2) are apart, in eye-corner spans."""
    return pair_gap(points, INNER_LIP_PAIRS)


def eye_closure(drv_points: torch.Tensor, ref_points: torch.Tensor) -> torch.Tensor:
    """(B, 1, 1, 1) in [0, 1]: how far the driver's eyes are closed beyond the reference's. Zero up to half
    closed, one from 70 % closed on. Short of half closed (a glance down, a smile) the photo's own lids,
    moved by the warp, are right, and sharper than lids painted at the network's size. (From 15 % closed,
    as the prior was trained, the held-out identities lost identity on ordinary frames and scored worse on
    blinks too: benchmarks/RESULTS.md, 2026-12-01 b.)"""
    lids = RIGHT_LIDS + LEFT_LIDS
    closure = 1 - pair_gap(drv_points, lids) / pair_gap(ref_points, lids).clamp_min(1e-3)
    return ((closure - 0.5) / 0.2).clamp(0, 1)[:, None, None, None]


def mouth_widening(drv_points: torch.Tensor, ref_points: torch.Tensor) -> torch.Tensor:
    """(B, 1, 1, 1) in [0, 1]: how far the driver's lips are apart beyond the reference's. Zero up to 0.05
    eye spans further (a little further, the warp's stretched lips and teeth are still right), one from
    0.15 on: by then the photo has no inside to show. (From 0.02 to 0.1, as the prior was trained, the
    held-out identities' open mouths scored worse: benchmarks/RESULTS.md, 2026-12-01 b.)"""
    wider = mouth_gap(drv_points) - mouth_gap(ref_points)
    return ((wider - 0.05) / 0.1).clamp(0, 1)[:, None, None, None]


def head_region(points: torch.Tensor, size: int, grid_size: int = 64) -> torch.Tensor:
    """(B, 1, size, size): one over the whole head of the landmarks (B, 68, 2), zero well away from it.

    The 68 landmarks stop at the brows, but forehead, hair and ears move with the face. The head is taken
    as the landmarks' hull, widened by a few pixels, together with an ellipse standing on the chin: up to
    about one face height (chin to brows) above the brows, 1.3 face widths wide, turned with the face.
    Its edge is soft over about a tenth of the ellipse."""
    hull = face_hull(points, size, grid_size, grow=max(1, grid_size // 64))   # about 4 pixels at 256
    chin, brows = points[:, CHIN], points[:, BROWS].mean(1)                           # (B, 2)
    height = (brows - chin).norm(dim=-1, keepdim=True).clamp_min(1e-3)                 # (B, 1)
    width = (points[:, JAW[-1]] - points[:, JAW[0]]).norm(dim=-1, keepdim=True).clamp_min(1e-3)
    up = (brows - chin) / height                                                       # (B, 2)
    centre = chin + up * 0.9 * height
    axis = torch.arange(size, device=points.device, dtype=points.dtype)
    dx = axis[None, None, :] - centre[:, 0, None, None]                                # (B, 1, S)
    dy = axis[None, :, None] - centre[:, 1, None, None]                                # (B, S, 1)
    along = dx * up[:, 0, None, None] + dy * up[:, 1, None, None]                      # (B, S, S)
    across = dx * up[:, 1, None, None] - dy * up[:, 0, None, None]
    radius = ((along / (1.05 * height[..., None])) ** 2 + (across / (0.65 * width[..., None])) ** 2).sqrt()
    ellipse = ((1.1 - radius) / 0.2).clamp(0, 1)[:, None]                             # one inside r < 0.9
    return torch.maximum(hull, ellipse)
