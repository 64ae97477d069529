"""Mouth painter: the mouth's inside, its teeth and lips, painted from a tight crop at the mouth's scale.

The generator paints an opening mouth in its 256 crop of twice the face, where a mouth is about 45 pixels
wide; at a photo's own resolution (mouths of 100 to 200 pixels) that paint is upsampled into a smear. The
mouth painter (a `painter.Painter`) works on a square crop of EXTENT x the outer lips' extent around the
driver's mouth, at CROP pixels. Its inputs are the photo warped onto the driver's landmarks (the warp's map
carried to the crop's own pixels, so the photo is resampled once), the photo's own mouth, and the lips and
the opening of both as masks; it returns new colours and how much of them to use, as the generator does. It
is trained apart from the generator (training/painter.py), on pairs of frames of one video, and it holds
nothing of a person: there is nothing to fine-tune.

Two rules, not learned: it paints only as far as the driver's lips are further apart or closer together
than the photo's (`change`), so at the photo's own landmarks the frame is the photo; and its weights fade
to zero towards the crop's edges (painter.py), so its paint joins the frame without a seam.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from ..landmarks.groups import OUTER_LIPS
from . import painter as painters
from .painter import CROP, Painter, crop_pixels, layers, paste, sample, to_crop, warped_crops
from .warp import lips_and_opening, mouth_gap

REGION = "mouth"
EXTENT = 1.7    # crop side / the outer lips' larger extent: the evaluation's box (1.3x) and a margin
INPUTS = 11     # warped crop 3, the photo's own mouth 3, driver's lips and opening 2, the photo's 2, change 1


def mouth_box(points: torch.Tensor) -> torch.Tensor:
    """(B, 3) boxes (x, y, side) around the outer lips of landmarks (B, 68, 2), in their pixels; (x, y) is the
    top-left pixel centre, as `landmarks.align` frames crops."""
    lips = points[:, OUTER_LIPS]
    lo, hi = lips.amin(1), lips.amax(1)
    side = EXTENT * (hi - lo).amax(-1, keepdim=True)
    return torch.cat([(lo + hi) / 2 - side / 2, side], 1)


def change(drv_points: torch.Tensor, ref_points: torch.Tensor) -> torch.Tensor:
    """(B, 1, 1, 1) in [0, 1]: how far the driver's lips are further apart or closer together than the
    photo's. Zero up to 0.05 eye spans (the photo's own lips and teeth, moved by the warp, are still right
    and sharper: at the photo's own landmarks the frame is the photo), one from 0.1 on. (The shipped painter
    was trained from 0.01 to 0.06; from 0.05 it scored better on the held-out open mouths and kept more of
    the frames' sharpness: benchmarks/RESULTS.md, 2026-12-01 c.)"""
    moved = (mouth_gap(drv_points) - mouth_gap(ref_points)).abs()
    return ((moved - 0.05) / 0.05).clamp(0, 1)[:, None, None, None]


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
    warped = warped_crops(image, image_points, drv_points, face_box, box)
    own_box = mouth_box(image_points)
    own = sample(image, crop_pixels(own_box))
    mouth = lips_and_opening(to_crop(drv_points, box), CROP)
    own_mouth = lips_and_opening(to_crop(image_points, own_box), CROP)
    amount = change(drv_points, image_points)
    inputs = torch.cat([warped * 2 - 1, own * 2 - 1, mouth, own_mouth, amount.expand(-1, 1, CROP, CROP)], 1)
    return {"box": box, "warped": warped, "mouth": mouth, "amount": amount, "inputs": inputs}


def crop(image: torch.Tensor, points: torch.Tensor, box: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The mouth crops (B, 3, S, S) of images (B, 3, H, W) at `prepare`'s boxes, and their landmarks
    (B, 68, 2) in the crops' pixels (training's targets)."""
    return sample(image, crop_pixels(box)), to_crop(points, box)


def paint(painter: Painter, prepared: dict) -> dict:
    """`painter.paint` of `prepare`'s crops, the paint laid in whole over the driver's lips and opening,
    widened a little, soft (elsewhere it corrects)."""
    mouth = prepared["mouth"].amax(1, keepdim=True)                                   # lips or opening
    repainted = F.avg_pool2d(F.max_pool2d(mouth, 5, 1, 2), 5, 1, 2, count_include_pad=False)
    return painters.paint(painter, prepared, repainted)


def repaint(painter: Painter, frame: torch.Tensor, image: torch.Tensor, image_points: torch.Tensor,
            drv_points: torch.Tensor, face_box: torch.Tensor) -> torch.Tensor:
    """frame (B, 3, N, N) with its mouths painted again: `prepare`, `paint` and `paste` in one, for frames in
    the pixels of `image` (the photo, its landmarks and face crop as `prepare` takes them)."""
    painted = paint(painter, prepare(image, image_points, drv_points, face_box))
    return paste(frame, painted["box"], layers(painted))
