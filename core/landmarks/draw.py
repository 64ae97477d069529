"""The driver image: 68 landmarks drawn as coloured polylines on black, as a batched torch operation.

Zakharov et al. (2019) feed the generator a rasterised landmark image. The parts and colours follow the
authors' released code (shrubb/latent-pose-reenactment, dataloaders/common/voxceleb.py, `SampleLoader`):
jaw white; right brow red, left brow green; nose bridge and nose base blue; right eye magenta and left eye
cyan (closed); outer lips yellow (closed); lines 3 pixels wide at 256. Their drawing leaves out the inner
lips; we add them (closed, orange) because the inner lip contour is what tells an open mouth from a closed
one. Colours are RGB.

The drawing is a distance field, not a scan conversion: for every pixel, the distance to the nearest
segment of a part, turned into coverage by a 1-pixel linear ramp at the line's edge (anti-aliasing);
parts are composited by a per-channel maximum (where two parts cross, each channel keeps the brighter).
Only elementwise arithmetic, clamps and min/max reductions: it runs batched on the GPU, is differentiable
in the points, and exports to ONNX (opset 17). Memory: B x (segments of one part, at most 16) x H x W
floats at a time. On the CPU each part is computed only over the window its lines can reach (its speed:
benchmarks/RESULTS.md).
"""
from __future__ import annotations

import functools

import torch

from .groups import INNER_LIPS, JAW, LEFT_BROW, LEFT_EYE, NOSE_BASE, NOSE_BRIDGE, OUTER_LIPS, RIGHT_BROW, RIGHT_EYE

# (points of the polyline, closed, RGB colour in [0, 1])
PARTS = (
    (tuple(JAW), False, (1.0, 1.0, 1.0)),
    (tuple(RIGHT_BROW), False, (1.0, 0.0, 0.0)),  # image left
    (tuple(LEFT_BROW), False, (0.0, 1.0, 0.0)),
    (tuple(NOSE_BRIDGE), False, (0.0, 0.0, 1.0)),
    (tuple(NOSE_BASE), False, (0.0, 0.0, 1.0)),
    (tuple(RIGHT_EYE), True, (1.0, 0.0, 1.0)),
    (tuple(LEFT_EYE), True, (0.0, 1.0, 1.0)),
    (tuple(OUTER_LIPS), True, (1.0, 1.0, 0.0)),
    (tuple(INNER_LIPS), True, (1.0, 0.5, 0.0)),  # not in the authors' drawing
)

REFERENCE_SIZE = 256
# The authors draw with cv2.polylines(thickness=2), which lays down lines 3 pixels wide at 256.
REFERENCE_WIDTH = 3.0


@functools.lru_cache(maxsize=64)
def _colour(colour: tuple, device: torch.device, dtype: torch.dtype) -> torch.Tensor:
    """A part's colour on the device, made once (no host-to-device copy per call, e.g. in a CUDA graph)."""
    return torch.tensor(colour, device=device, dtype=dtype).view(1, 3, 1, 1)


def draw_landmarks(points: torch.Tensor, size: int, thickness: float | None = None) -> torch.Tensor:
    """Landmark drawings (B, 3, size, size) float in [0, 1] of points (B, 68, 2) given in the drawing's
    pixel coordinates (x, y; pixel centres at integers). `thickness`: line width in pixels (default 3 per
    256 pixels of `size`, the width of the authors' drawings)."""
    if points.dim() != 3 or points.shape[1] != 68 or points.shape[2] < 2:
        raise ValueError(f"expected points of shape (B, 68, 2), got {tuple(points.shape)}")
    if thickness is None:
        thickness = REFERENCE_WIDTH * size / REFERENCE_SIZE
    points = points[..., :2].float()
    grid = torch.arange(size, device=points.device, dtype=points.dtype)
    edge = thickness / 2 + 0.5  # coverage 1 up to half a pixel inside the line's edge, 0 half a pixel outside
    # On a CPU only the window each part can reach is computed (an eye covers 1% of the drawing). On a GPU
    # the whole drawing is cheaper than the host round trips that windows need, and an exported graph
    # cannot hold data-dependent sizes: both compute every pixel.
    windowed = points.device.type == "cpu" and not (torch.jit.is_tracing() or torch.onnx.is_in_onnx_export())
    image = points.new_zeros(points.shape[0], 3, size, size)
    for part, closed, colour in PARTS:
        # Parts are runs of consecutive points: slices, not index lists, which would be copied from the host
        # on every call (and cannot be inside a CUDA graph).
        run = points[:, part[0]:part[-1] + 1]
        a, b = (run, run.roll(-1, 1)) if closed else (run[:, :-1], run[:, 1:])  # segment ends (B, S, 2)
        x0, x1, y0, y1 = _window(run, edge, size) if windowed else (0, size, 0, size)
        if x0 >= x1 or y0 >= y1:
            continue
        length = (b - a).norm(dim=-1).clamp(min=1e-6)  # (B, S)
        ux, uy = ((b - a) / length.unsqueeze(-1)).unbind(-1)  # the segments' unit directions
        apx = grid[x0:x1].view(1, 1, 1, -1) - a[..., 0, None, None]  # (B, S, 1, w)
        apy = grid[y0:y1].view(1, 1, -1, 1) - a[..., 1, None, None]  # (B, S, h, 1)
        along = apx * ux[..., None, None] + apy * uy[..., None, None]  # (B, S, h, w)
        across = apy * ux[..., None, None] - apx * uy[..., None, None]
        beyond = along - torch.minimum(along.clamp(min=0.0), length[..., None, None])  # past either end
        distance2 = (across * across + beyond * beyond).amin(dim=1, keepdim=True)  # nearest segment (B, 1, h, w)
        coverage = (edge - torch.sqrt(distance2 + 1e-12)).clamp(0.0, 1.0)
        if windowed:
            coverage = torch.nn.functional.pad(coverage, (x0, size - x1, y0, size - y1))
        rgb = _colour(colour, points.device, points.dtype)
        image = torch.maximum(image, coverage * rgb)
    return image


def _window(part_points: torch.Tensor, edge: float, size: int) -> tuple[int, int, int, int]:
    """Pixel bounds [x0, x1) x [y0, y1) of the drawing that a part's lines can touch, over the batch."""
    low = torch.floor(part_points.amin(dim=(0, 1)) - edge).clamp(0, size)
    high = torch.ceil(part_points.amax(dim=(0, 1)) + edge + 1).clamp(0, size)
    (x0, y0), (x1, y1) = low.int().tolist(), high.int().tolist()
    return x0, x1, y0, y1
