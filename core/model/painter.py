"""Painters: what the mouth painter (mouth.py) and the eye painter (eyes.py) share.

A painter is a small U-Net that paints one region of a frame again at the region's own crop and scale, where
the generator's paint (made in its 256 crop of twice the face and upsampled) would be a smear. A region
module says where its crops lie, what the painter is given and where its paint replaces the frame; here are
the crops' pixels and sampling, the warp's map carried to a crop's own pixels (the photo resampled once),
the network, the rules every painter keeps (its weights fade to zero towards the crop's edges, so its paint
joins the frame without a seam, and only `amount` of it is used), laying the paint into the frame, and the
painter's file.

Crops are frame-major: a region with k crops a frame (the eyes: two) has the k crops of frame 0 first.
"""
from __future__ import annotations

import functools

import torch
import torch.nn as nn
import torch.nn.functional as F

from .warp import warp_map

CROP = 128      # a painter's working size
LATTICE = 32    # the lattice the warp's map is computed on, over the crop
FADE = 0.1      # the share of the side, at each edge, over which the paint fades out
FACE = 256      # the side of the face crop the warp's map is computed in (its border points pin the background)


def crop_pixels(box: torch.Tensor, size: int = CROP) -> torch.Tensor:
    """(B, size * size, 2): where the pixel centres of each box's crop lie in the image, row by row; boxes
    (B, 3) are (x, y, side), (x, y) the top-left pixel centre, as `landmarks.align` frames crops."""
    axis = torch.arange(size, device=box.device, dtype=box.dtype) / size
    gy, gx = torch.meshgrid(axis, axis, indexing="ij")
    unit = torch.stack([gx, gy], -1).reshape(1, -1, 2)
    return box[:, None, :2] + unit * box[:, None, 2:]


def sample(image: torch.Tensor, pixels: torch.Tensor, size: int = CROP) -> torch.Tensor:
    """image (1 or B, C, H, W) at pixels (B * k, size * size, 2) of it, the k crops of each image together
    -> (B * k, C, size, size), bilinear, edges repeated."""
    h, w = image.shape[-2:]
    n, c = image.shape[0], image.shape[1]
    scale = torch.tensor([2 / (w - 1), 2 / (h - 1)], device=pixels.device, dtype=pixels.dtype)
    grid = (pixels * scale - 1).reshape(n, -1, size, 2)             # each image's crops stacked in rows
    out = F.grid_sample(image, grid, mode="bilinear", padding_mode="border", align_corners=True)
    return out.reshape(n, c, -1, size, size).transpose(1, 2).reshape(-1, c, size, size)


def to_crop(points: torch.Tensor, box: torch.Tensor, size: int = CROP) -> torch.Tensor:
    """Landmarks (B, 68, 2) in the image's pixels -> in the pixels of each box's crop."""
    return (points - box[:, None, :2]) * (size / box[:, None, 2:])


def warped_crops(image: torch.Tensor, image_points: torch.Tensor, drv_points: torch.Tensor,
                 face_box: torch.Tensor, box: torch.Tensor) -> torch.Tensor:
    """(B * k, 3, CROP, CROP): `image` (1 or B, 3, H, W) warped from its landmarks image_points (B, 68, 2)
    onto drv_points (B, 68, 2), at the pixels of boxes (B * k, 3); face_box (B, 3) is the face crop whose
    border pins the warp.

    The warp's map is made in a face crop of FACE (where its triangulation is defined), on a lattice of
    LATTICE over each crop's pixels and upsampled: the map is linear inside each triangle, so this changes
    it only along triangle edges, at a sixteenth of the cost (it was half the mouth painter's time on the
    CPU). The image is sampled through it once."""
    n = drv_points.shape[0]
    scale = (FACE / face_box[:, 2])[:, None, None]
    to_face = lambda p: (p - face_box[:, None, :2]) * scale
    corners = box.clone()
    corners[:, 2:] = box[:, 2:] * (CROP - 1) / CROP / (LATTICE - 1) * LATTICE   # first to last crop pixel
    at = to_face(crop_pixels(corners, LATTICE).reshape(n, -1, 2))
    source = warp_map(to_face(image_points), to_face(drv_points), FACE, torch.cat([at, torch.ones_like(at[..., :1])], -1))
    source = source.reshape(-1, LATTICE, LATTICE, 2).permute(0, 3, 1, 2)
    source = F.interpolate(source, size=(CROP, CROP), mode="bilinear", align_corners=True)
    source = source.permute(0, 2, 3, 1).reshape(n, -1, 2) / scale + face_box[:, None, :2]
    return sample(image, source.reshape(-1, CROP * CROP, 2))


@functools.lru_cache(maxsize=8)
def window(size: int, device: torch.device, dtype: torch.dtype) -> torch.Tensor:
    """(1, 1, size, size): one over the crop, falling smoothly to zero over its outer FADE at each edge."""
    u = torch.arange(size, device=device, dtype=dtype) / (size - 1)
    edge = (torch.minimum(u, 1 - u) / FADE).clamp(0, 1)
    edge = edge * edge * (3 - 2 * edge)
    return (edge[:, None] * edge[None, :])[None, None]


class Residual(nn.Module):
    def __init__(self, channels: int):
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=1)
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1)

    def forward(self, x):
        return x + self.conv2(F.leaky_relu(self.conv1(F.leaky_relu(x, 0.2)), 0.2))


class Painter(nn.Module):
    """A U-Net over a crop's inputs (B, inputs, CROP, CROP) -> new colours (B, 3, ...) in [0, 1] and the
    logit of their weight (B, 1, ...)."""

    def __init__(self, inputs: int, channels=(16, 32, 64, 128, 256), res_blocks: int = 2):
        super().__init__()
        c = channels
        self.channels, self.res_blocks = tuple(channels), res_blocks
        self.stem = nn.Conv2d(inputs, c[0], 3, padding=1)
        self.down = nn.ModuleList(nn.Conv2d(a, b, 4, stride=2, padding=1) for a, b in zip(c[:-1], c[1:]))
        self.res = nn.ModuleList(Residual(c[-1]) for _ in range(res_blocks))
        self.up = nn.ModuleList(nn.Conv2d(c[i + 1] + c[i], c[i], 3, padding=1) for i in reversed(range(len(c) - 1)))
        self.head = nn.Conv2d(c[0], 4, 3, padding=1)
        nn.init.zeros_(self.head.weight)
        nn.init.zeros_(self.head.bias)
        with torch.no_grad():
            self.head.bias[3] = -2.0     # start close to the warp

    @property
    def inputs(self) -> int:
        return self.stem.in_channels

    def shape(self) -> dict:
        """What a file stores to build the painter again (`painter_from`; the inputs are the stem's)."""
        return {"channels": list(self.channels), "res_blocks": self.res_blocks}

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.stem(x)
        skips = [h]
        for conv in self.down:
            h = conv(F.leaky_relu(h, 0.2))
            skips.append(h)
        for block in self.res:
            h = block(h)
        for conv, skip in zip(self.up, reversed(skips[:-1])):
            h = F.interpolate(F.leaky_relu(h, 0.2), scale_factor=2.0, mode="nearest")
            h = conv(torch.cat([h, skip], 1))
        out = self.head(F.leaky_relu(h, 0.2))
        return torch.sigmoid(out[:, :3]), out[:, 3:4]


def paint(painter: Painter, prepared: dict, repainted: torch.Tensor) -> dict:
    """A region's prepared crops (`inputs`, `warped`, `amount`) with the painter's `colour` (B, 3, S, S) and
    `alpha` (B, 1, S, S), the rules applied, `image`, the crop they compose with the warp, and `repainted`
    (B, 1, S, S), where `paste` lays the colours in whole (elsewhere it corrects)."""
    colour, logit = painter(prepared["inputs"])
    alpha = torch.sigmoid(logit) * window(CROP, logit.device, logit.dtype) * prepared["amount"]
    return {**prepared, "colour": colour, "alpha": alpha, "repainted": repainted,
            "image": (1 - alpha) * prepared["warped"] + alpha * colour}


def layers(painted: dict) -> torch.Tensor:
    """(B, 7, S, S): what `paste` lays into the frame from `paint`'s crops: the colours where they replace
    the frame and their weight (premultiplied, so that colours do not bleed in where the weight falls off),
    and elsewhere the change they make to the warp.

    Where `repainted` the paint replaces the frame (the warp stretches the photo's own lips, teeth or lids,
    wrong at every scale, as they move). Elsewhere it is added as the change it makes to the warp at the
    crop's scale, so the colours and shading it corrects move while the frame's finer detail (the photo's
    own, at its resolution: the crop is coarser) stays. At the crop's own scale the two are the same."""
    colour, alpha, repainted = painted["colour"], painted["alpha"], painted["repainted"]
    replace = alpha * repainted
    correction = alpha * (1 - repainted) * (colour - painted["warped"])
    return torch.cat([colour * replace, replace, correction], 1)


def paste(frame: torch.Tensor, box: torch.Tensor, laid: torch.Tensor) -> torch.Tensor:
    """frame (B, 3, N, N) with one crop's `layers` (B, 7, S, S) each laid over it at its box (B, 3) in the
    frame's pixels, the crop resampled once to the frame's pixels."""
    size, crop = frame.shape[-1], laid.shape[-1]
    # Bilinear resampling as two matrices of hat weights (rows, then columns), zero off the crop: frame pixel
    # X lies at crop pixel (X - x) * crop / side. The same as grid_sample, but onnxruntime's CPU GridSample
    # took 32 ms a frame for this, the two matmuls 5 (benchmarks/RESULTS.md, 2026-12-01 c).
    axis = torch.arange(size, device=frame.device, dtype=frame.dtype)
    pixel = torch.arange(crop, device=frame.device, dtype=frame.dtype)
    per = crop / box[:, 2:3]
    hat = lambda at: (1 - (at[:, :, None] - pixel[None, None, :]).abs()).clamp_min(0)  # (B, N, S)
    rows, cols = hat((axis[None] - box[:, 1:2]) * per), hat((axis[None] - box[:, 0:1]) * per)
    laid = rows[:, None] @ laid @ cols[:, None].transpose(-1, -2)                       # (B, 7, N, N)
    return frame * (1 - laid[:, 3:4]) + laid[:, :3] + laid[:, 4:7]


# ---------------------------------------------------------------------------------------------------- files
PAINTER_VERSION = 1


def file_format(region: str) -> str:
    """The format name of a painter file of `region` ("mouth", "eyes"): one region's painter is refused where
    another's is asked for."""
    return f"talking-heads-{region}-painter"


def save_painter(path, painter: Painter, region: str, header: dict, half: bool = True) -> None:
    """The painter's weights (float16 to ship, float32 to resume) with its shape and `header` (training)."""
    from .files import save_tensors

    state = {k: v.half() if half and v.is_floating_point() else v for k, v in painter.state_dict().items()}
    save_tensors(path, state, {"format": file_format(region), "version": PAINTER_VERSION, **painter.shape(),
                               **header})


def painter_from(state: dict, header: dict) -> Painter:
    """The painter of a state dict and the `Painter.shape` a header holds."""
    painter = Painter(state["stem.weight"].shape[1], tuple(header["channels"]), int(header["res_blocks"]))
    painter.load_state_dict({k: v.float() for k, v in state.items()})
    return painter.eval()


def load_painter(path, region: str) -> tuple[Painter, dict]:
    """(painter, header) of a file of `region` written by `save_painter`; anything else is refused with a
    clear error."""
    from ..errors import UserError
    from .files import load_tensors

    state, header = load_tensors(path, file_format(region), PAINTER_VERSION)
    try:
        return painter_from(state, header), header
    except (KeyError, RuntimeError, TypeError, ValueError):
        raise UserError(f"{path} is a damaged {region} painter file: train it again or restore it") from None
