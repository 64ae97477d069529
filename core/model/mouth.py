"""Mouth painter M: the mouth's inside, its teeth and lips, painted from a tight crop at the mouth's scale.

The generator paints an opening mouth in its 256 crop of twice the face, where a mouth is about 45 pixels
wide; at a photo's own resolution (mouths of 100 to 200 pixels) that paint is upsampled into a smear. M
works on a square crop of EXTENT x the outer lips' extent around the driver's mouth, at CROP pixels. Its
inputs are the photo warped onto the driver's landmarks (the warp's map carried to the crop's own pixels,
so the photo is resampled once), the photo's own mouth, and the lips and the opening of both as masks; it
returns new colours and how much of them to use, as the generator does. It is trained apart from the
generator (training/mouth.py), on pairs of frames of one video, and it holds nothing of a person: there is
nothing to fine-tune.

Two rules, not learned: M paints only as far as the driver's lips are further apart or closer together
than the photo's (`change`), so at the photo's own landmarks the frame is the photo; and its weights fade
to zero towards the crop's edges, so its paint joins the frame without a seam.
"""
from __future__ import annotations

import functools

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..landmarks.groups import OUTER_LIPS
from .warp import lips_and_opening, mouth_gap, warp_map

CROP = 128      # the painter's working size
LATTICE = 32    # the lattice the warp's map is computed on, over the crop
EXTENT = 1.7    # crop side / the outer lips' larger extent: the evaluation's box (1.3x) and a margin
FADE = 0.1      # the share of the side, at each edge, over which the paint fades out
FACE = 256      # the side of the face crop the warp's map is computed in (its border points pin the background)
INPUTS = 11     # warped crop 3, the photo's own mouth 3, driver's lips and opening 2, the photo's 2, change 1


def mouth_box(points: torch.Tensor) -> torch.Tensor:
    """(B, 3) boxes (x, y, side) around the outer lips of landmarks (B, 68, 2), in their pixels; (x, y) is the
    top-left pixel centre, as `landmarks.align` frames crops."""
    lips = points[:, OUTER_LIPS]
    lo, hi = lips.amin(1), lips.amax(1)
    side = EXTENT * (hi - lo).amax(-1, keepdim=True)
    return torch.cat([(lo + hi) / 2 - side / 2, side], 1)


def crop_pixels(box: torch.Tensor, size: int = CROP) -> torch.Tensor:
    """(B, size * size, 2): where the pixel centres of each box's crop lie in the image, row by row."""
    axis = torch.arange(size, device=box.device, dtype=box.dtype) / size
    gy, gx = torch.meshgrid(axis, axis, indexing="ij")
    unit = torch.stack([gx, gy], -1).reshape(1, -1, 2)
    return box[:, None, :2] + unit * box[:, None, 2:]


def sample(image: torch.Tensor, pixels: torch.Tensor, size: int = CROP) -> torch.Tensor:
    """image (1 or B, C, H, W) at pixels (B, size * size, 2) of it -> (B, C, size, size), bilinear, edges
    repeated."""
    h, w = image.shape[-2:]
    scale = torch.tensor([2 / (w - 1), 2 / (h - 1)], device=pixels.device, dtype=pixels.dtype)
    grid = (pixels * scale - 1).reshape(-1, size, size, 2)
    return F.grid_sample(image.expand(grid.shape[0], -1, -1, -1), grid, mode="bilinear", padding_mode="border",
                         align_corners=True)


def to_crop(points: torch.Tensor, box: torch.Tensor, size: int = CROP) -> torch.Tensor:
    """Landmarks (B, 68, 2) in the image's pixels -> in the pixels of each box's crop."""
    return (points - box[:, None, :2]) * (size / box[:, None, 2:])


def change(drv_points: torch.Tensor, ref_points: torch.Tensor) -> torch.Tensor:
    """(B, 1, 1, 1) in [0, 1]: how far the driver's lips are further apart or closer together than the
    photo's. Zero up to 0.05 eye spans (the photo's own lips and teeth, moved by the warp, are still right
    and sharper: at the photo's own landmarks the frame is the photo), one from 0.1 on. (The shipped painter
    was trained from 0.01 to 0.06; from 0.05 it scored better on the held-out open mouths and kept more of
    the frames' sharpness: benchmarks/RESULTS.md, 2026-12-01 c.)"""
    moved = (mouth_gap(drv_points) - mouth_gap(ref_points)).abs()
    return ((moved - 0.05) / 0.05).clamp(0, 1)[:, None, None, None]


@functools.lru_cache(maxsize=8)
def _window(size: int, device: torch.device, dtype: torch.dtype) -> torch.Tensor:
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


class MouthPainter(nn.Module):
    """A U-Net over the mouth crop's inputs (B, INPUTS, CROP, CROP) -> new colours (B, 3, ...) in [0, 1] and
    the logit of their weight (B, 1, ...)."""

    def __init__(self, channels=(16, 32, 64, 128, 256), res_blocks: int = 2):
        super().__init__()
        c = channels
        self.channels, self.res_blocks = tuple(channels), res_blocks
        self.stem = nn.Conv2d(INPUTS, c[0], 3, padding=1)
        self.down = nn.ModuleList(nn.Conv2d(a, b, 4, stride=2, padding=1) for a, b in zip(c[:-1], c[1:]))
        self.res = nn.ModuleList(Residual(c[-1]) for _ in range(res_blocks))
        self.up = nn.ModuleList(nn.Conv2d(c[i + 1] + c[i], c[i], 3, padding=1) for i in reversed(range(len(c) - 1)))
        self.head = nn.Conv2d(c[0], 4, 3, padding=1)
        nn.init.zeros_(self.head.weight)
        nn.init.zeros_(self.head.bias)
        with torch.no_grad():
            self.head.bias[3] = -2.0     # start close to the warp

    def shape(self) -> dict:
        """What a file stores to build the painter again (`painter_from`)."""
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


def prepare(image: torch.Tensor, image_points: torch.Tensor, drv_points: torch.Tensor,
            face_box: torch.Tensor) -> dict:
    """The painter's inputs for the mouth crops of B frames.

    image: (1 or B, 3, H, W) in [0, 1], the photo (or a training source frame); image_points (1 or B, 68, 2)
    its landmarks and drv_points (B, 68, 2) the drivers', in its pixels; face_box (1 or B, 3) the face crop
    (x, y, side) whose border pins the warp. Returns `box` (B, 3) in the image's pixels, `warped` (B, 3, S,
    S), `mouth` (B, 2, S, S) (the driver's lips and opening), `amount` (B, 1, 1, 1) (`change`) and `inputs`
    (B, INPUTS, S, S)."""
    n = drv_points.shape[0]
    image_points = image_points.expand(n, -1, -1)
    face_box = face_box.expand(n, -1)
    box = mouth_box(drv_points)

    # The warp's map in a face crop of FACE (where its triangulation is defined), on a lattice of LATTICE
    # over the crop's pixels and upsampled: the map is linear inside each triangle, so this changes it only
    # along triangle edges, at a sixteenth of the cost (it was half the painter's time on the CPU).
    scale = (FACE / face_box[:, 2])[:, None, None]
    to_face = lambda p: (p - face_box[:, None, :2]) * scale
    corners = box.clone()
    corners[:, 2:] = box[:, 2:] * (CROP - 1) / CROP / (LATTICE - 1) * LATTICE   # first to last crop pixel
    at = to_face(crop_pixels(corners, LATTICE))
    source = warp_map(to_face(image_points), to_face(drv_points), FACE, torch.cat([at, torch.ones_like(at[..., :1])], -1))
    source = source.reshape(-1, LATTICE, LATTICE, 2).permute(0, 3, 1, 2)
    source = F.interpolate(source, size=(CROP, CROP), mode="bilinear", align_corners=True)
    warped = sample(image, source.permute(0, 2, 3, 1).reshape(-1, CROP * CROP, 2) / scale + face_box[:, None, :2])

    own_box = mouth_box(image_points)
    own = sample(image, crop_pixels(own_box))
    mouth = lips_and_opening(to_crop(drv_points, box), CROP)
    own_mouth = lips_and_opening(to_crop(image_points, own_box), CROP)
    amount = change(drv_points, image_points)
    inputs = torch.cat([warped * 2 - 1, own * 2 - 1, mouth, own_mouth, amount.expand(-1, 1, CROP, CROP)], 1)
    return {"box": box, "warped": warped, "mouth": mouth, "amount": amount, "inputs": inputs}


def paint(painter: MouthPainter, prepared: dict) -> dict:
    """`prepare`'s dict with the painter's `colour` (B, 3, S, S) and `alpha` (B, 1, S, S), rules applied,
    `image`, the crop they compose with the warp, and `repainted` (B, 1, S, S): the driver's lips and
    opening, widened a little, soft, where `paste` lays the colours in whole (elsewhere it corrects)."""
    colour, logit = painter(prepared["inputs"])
    alpha = torch.sigmoid(logit) * _window(CROP, logit.device, logit.dtype) * prepared["amount"]
    mouth = prepared["mouth"].amax(1, keepdim=True)                                   # lips or opening
    repainted = F.avg_pool2d(F.max_pool2d(mouth, 5, 1, 2), 5, 1, 2, count_include_pad=False)
    return {**prepared, "colour": colour, "alpha": alpha, "repainted": repainted,
            "image": (1 - alpha) * prepared["warped"] + alpha * colour}


def paste(frame: torch.Tensor, painted: dict) -> torch.Tensor:
    """frame (B, 3, N, N) with each crop's paint (`paint`; its box in the frame's pixels) laid over it, the
    crop resampled once to the frame's pixels.

    Over the lips and the opening the paint replaces the frame (the warp stretches the photo's lips and
    teeth, wrong at every scale, as a mouth opens). Over the skin around them it is added as the change it
    makes to the warp at the crop's scale, so the colours and shading it corrects move while the frame's
    finer detail (the photo's own, at its resolution: the crop is coarser) stays. At the crop's own scale
    the two are the same."""
    size = frame.shape[-1]
    box, colour, alpha, repainted = painted["box"], painted["colour"], painted["alpha"], painted["repainted"]
    crop = colour.shape[-1]
    replace = alpha * repainted
    correction = alpha * (1 - repainted) * (colour - painted["warped"])
    # premultiplied, so that colours do not bleed in where the weight falls off
    layers = torch.cat([colour * replace, replace, correction], 1)                    # (B, 7, S, S)
    # Bilinear resampling as two matrices of hat weights (rows, then columns), zero off the crop: frame pixel
    # X lies at crop pixel (X - x) * crop / side. The same as grid_sample, but onnxruntime's CPU GridSample
    # took 32 ms a frame for this, the two matmuls 5 (benchmarks/RESULTS.md, 2026-12-01 c).
    axis = torch.arange(size, device=frame.device, dtype=frame.dtype)
    pixel = torch.arange(crop, device=frame.device, dtype=frame.dtype)
    per = crop / box[:, 2:3]
    hat = lambda at: (1 - (at[:, :, None] - pixel[None, None, :]).abs()).clamp_min(0)  # (B, N, S)
    rows, cols = hat((axis[None] - box[:, 1:2]) * per), hat((axis[None] - box[:, 0:1]) * per)
    laid = rows[:, None] @ layers @ cols[:, None].transpose(-1, -2)                    # (B, 7, N, N)
    return frame * (1 - laid[:, 3:4]) + laid[:, :3] + laid[:, 4:7]


def repaint(painter: MouthPainter, frame: torch.Tensor, image: torch.Tensor, image_points: torch.Tensor,
            drv_points: torch.Tensor, face_box: torch.Tensor) -> torch.Tensor:
    """frame (B, 3, N, N) with its mouths painted again: `prepare`, `paint` and `paste` in one, for frames in
    the pixels of `image` (the photo, its landmarks and face crop as `prepare` takes them)."""
    return paste(frame, paint(painter, prepare(image, image_points, drv_points, face_box)))


# ---------------------------------------------------------------------------------------------------- files
PAINTER = "talking-heads-mouth-painter"
PAINTER_VERSION = 1


def save_painter(path, painter: MouthPainter, header: dict, half: bool = True) -> None:
    """The painter's weights (float16 to ship, float32 to resume) with its shape and `header` (training)."""
    from .files import save_tensors

    state = {k: v.half() if half and v.is_floating_point() else v for k, v in painter.state_dict().items()}
    save_tensors(path, state, {"format": PAINTER, "version": PAINTER_VERSION, **painter.shape(), **header})


def painter_from(state: dict, header: dict) -> MouthPainter:
    """The painter of a state dict and the `MouthPainter.shape` a header holds."""
    painter = MouthPainter(tuple(header["channels"]), int(header["res_blocks"]))
    painter.load_state_dict({k: v.float() for k, v in state.items()})
    return painter.eval()


def load_painter(path) -> tuple[MouthPainter, dict]:
    """(painter, header) of a file written by `save_painter`; anything else is refused with a clear error."""
    from ..errors import UserError
    from .files import load_tensors

    state, header = load_tensors(path, PAINTER, PAINTER_VERSION)
    try:
        return painter_from(state, header), header
    except (KeyError, RuntimeError, TypeError, ValueError):
        raise UserError(f"{path} is a damaged mouth painter file: train it again or restore it") from None
