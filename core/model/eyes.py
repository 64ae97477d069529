"""Eye painter: blinks, squints and wide eyes painted at the eyes' own crop and scale.

The generator closes a lid in its 256 crop of twice the face, where an eye is about 30 pixels wide; at a
photo's own resolution that lid is upsampled into a smear, and the warp alone squeezes the photo's open eye
into a slit. The eye painter (a `painter.Painter`, as the mouth's) paints each eye again in a square crop of
EXTENT x the eye's corner-to-corner width, centred on its six points, at CROP pixels. The left eye's crop
is mirrored, so that one painter learns one eye (the right one: the image's left) and paints both; the two
crops of a frame are batched together (frame-major: frame 0's right then its left eye). Its inputs are the
photo warped onto the driver's landmarks at the crop's own pixels, the photo's own eye, the driver's eye
opening and lids as masks and the photo's, and the amount of change. It is trained apart from the
generator (training/painter.py), on pairs of frames of one video, and holds nothing of a person.

Rules, not learned: it paints only as far as the driver's eye is more closed or wider open than the
photo's (`change`), so at the photo's own landmarks the frame is the photo; over the opening and the lids
its paint replaces the frame, elsewhere in the crop it is added as the change it makes (`painter.layers`).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from ..landmarks.groups import LEFT_EYE, LEFT_LIDS, MIRRORED, RIGHT_EYE, RIGHT_LIDS
from . import painter as painters
from .painter import CROP, Painter, crop_pixels, layers, paste, sample, to_crop, warped_crops
from .warp import eye_openings, pair_gap

REGION = "eyes"
EXTENT = 1.6    # crop side / the eye's corner-to-corner width: the evaluation's box (1.3x) and a margin
INPUTS = 11     # warped crop 3, the photo's own eye 3, driver's opening and lids 2, the photo's 2, change 1
# The lids: within this share of the eye's width of its outline (over and under a closed eye's line, the
# lids and lashes; an open eye's upper lid up to its crease), the edge soft over SOFT crop pixels.
LIDS = 0.2
SOFT = 4.0
# The gate, on each eye's lid gap relative to the photo's (the warp's own lids are right, and sharper, for
# small changes and under landmark jitter, which moves a lid gap by about a tenth). Closing: zero up to
# CLOSING[0] closed, one from CLOSING[1] on (the evaluation's blinks, under half the video's median opening,
# are painted in full). Widening: zero up to WIDENING[0] wider, one from WIDENING[1] on (the whites above and
# below the iris the photo does not show). Starting points, to be chosen by the identity folds.
CLOSING = (0.2, 0.4)
WIDENING = (0.15, 0.35)


def eye_boxes(points: torch.Tensor) -> torch.Tensor:
    """(B * 2, 3) boxes (x, y, side), frame-major (right eye, left eye), around the eyes of landmarks
    (B, 68, 2), in their pixels; (x, y) is the top-left pixel centre, as `landmarks.align` frames crops."""
    boxes = []
    for eye in (RIGHT_EYE, LEFT_EYE):
        corners = points[:, eye]
        lo, hi = corners.amin(1), corners.amax(1)
        side = EXTENT * (points[:, eye[0]] - points[:, eye[3]]).norm(dim=-1, keepdim=True)
        # the crop's pixel centres (x to x + side * (CROP - 1) / CROP) symmetric about the eye's centre, so
        # that a mirrored left eye lies in its crop as a right eye does in its own
        boxes.append(torch.cat([(lo + hi) / 2 - side * (CROP - 1) / (2 * CROP), side], 1))
    return torch.stack(boxes, 1).reshape(-1, 3)


def mirror_left(crops: torch.Tensor) -> torch.Tensor:
    """(B * 2, C, S, S) frame-major eye crops with each left eye's flipped left to right (its own inverse)."""
    pairs = crops.reshape(-1, 2, *crops.shape[1:])
    return torch.cat([pairs[:, :1], pairs[:, 1:].flip(-1)], 1).reshape(crops.shape)


def crop_points(points: torch.Tensor, box: torch.Tensor) -> torch.Tensor:
    """Landmarks (B, 68, 2) in the image's pixels -> (B * 2, 68, 2) in the pixels of each eye's crop, the
    left eye's mirrored (x to CROP - 1 - x, points renumbered as their mirror images): its six points are
    36-41, as a right eye's."""
    pairs = to_crop(points[:, None].expand(-1, 2, -1, -1).reshape(-1, 68, 2), box, CROP).reshape(-1, 2, 68, 2)
    left = pairs[:, 1, MIRRORED] * torch.tensor([-1.0, 1.0], dtype=points.dtype, device=points.device)
    left = left + torch.tensor([CROP - 1.0, 0.0], dtype=points.dtype, device=points.device)
    return torch.stack([pairs[:, 0], left], 1).reshape(-1, 68, 2)


def crop(image: torch.Tensor, points: torch.Tensor, box: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The eye crops (B * 2, 3, S, S) of images (1 or B, 3, H, W) at boxes (B * 2, 3) (`eye_boxes`), the left
    eyes mirrored, and the landmarks (B, 68, 2) in each crop's pixels (`crop_points`)."""
    return mirror_left(sample(image, crop_pixels(box))), crop_points(points, box)


def lid_gaps(points: torch.Tensor) -> torch.Tensor:
    """(B, 2): how far each eye's lids (right, left) of landmarks (B, 68, 2) are apart, in eye-corner spans."""
    return torch.stack([pair_gap(points, RIGHT_LIDS), pair_gap(points, LEFT_LIDS)], -1)


def change(drv_points: torch.Tensor, ref_points: torch.Tensor) -> torch.Tensor:
    """(B * 2, 1, 1, 1) in [0, 1], frame-major: how far each of the driver's eyes is more closed, or wider
    open, than the photo's, relative to the photo's lid gap (CLOSING, WIDENING)."""
    ratio = lid_gaps(drv_points) / lid_gaps(ref_points).clamp_min(1e-3)
    ramp = lambda x, edges: ((x - edges[0]) / (edges[1] - edges[0])).clamp(0, 1)
    amount = torch.maximum(ramp(1 - ratio, CLOSING), ramp(ratio - 1, WIDENING))
    return amount.reshape(-1, 1, 1, 1)


def opening_and_lids(points: torch.Tensor) -> torch.Tensor:
    """(B, 2, S, S): one inside the eye's opening, and one over the opening and the lids (within LIDS eye
    widths of the eye's outline, the edge soft over a few pixels), of landmarks in a crop's pixels
    (`crop_points`). Not the opening widened: a closed eye's opening is a line the triangle fill misses."""
    eye = points[:, RIGHT_EYE]                                               # (B, 6, 2): the crop's eye
    start, edge = eye[:, :, None], eye[:, [1, 2, 3, 4, 5, 0]][:, :, None] - eye[:, :, None]   # (B, 6, 1, 2)
    # on the half-resolution lattice and upsampled (its edge is soft anyway): a quarter of the cost
    lattice = CROP // 2
    axis = torch.arange(lattice, device=points.device, dtype=points.dtype) * ((CROP - 1) / (lattice - 1))
    gy, gx = torch.meshgrid(axis, axis, indexing="ij")
    pixels = torch.stack([gx, gy], -1).reshape(1, 1, -1, 2)                 # (1, 1, P, 2)
    along = (((pixels - start) * edge).sum(-1, keepdim=True) / edge.square().sum(-1, keepdim=True).clamp_min(1e-6))
    distance = (pixels - start - along.clamp(0, 1) * edge).norm(dim=-1).amin(1)      # (B, P): to the outline
    band = ((LIDS * CROP / EXTENT - distance) / SOFT + 0.5).clamp(0, 1).reshape(-1, 1, lattice, lattice)
    band = F.interpolate(band, size=(CROP, CROP), mode="bilinear", align_corners=True)
    opening = eye_openings(points, CROP)
    return torch.cat([opening, torch.maximum(opening, band)], 1)


def prepare(image: torch.Tensor, image_points: torch.Tensor, drv_points: torch.Tensor,
            face_box: torch.Tensor) -> dict:
    """The painter's inputs for the eye crops of B frames (B * 2 crops, frame-major, left eyes mirrored).

    image: (1 or B, 3, H, W) in [0, 1], the photo (or a training source frame); image_points (1 or B, 68, 2)
    its landmarks and drv_points (B, 68, 2) the drivers', in its pixels; face_box (1 or B, 3) the face crop
    (x, y, side) whose border pins the warp. Returns `box` (B * 2, 3) in the image's pixels, `warped`
    (B * 2, 3, S, S), `eyes` (B * 2, 2, S, S) (the driver's opening and lids), `amount` (B * 2, 1, 1, 1)
    (`change`) and `inputs` (B * 2, INPUTS, S, S)."""
    n = drv_points.shape[0]
    image_points = image_points.expand(n, -1, -1)
    face_box = face_box.expand(n, -1)
    box = eye_boxes(drv_points)
    warped = mirror_left(warped_crops(image, image_points, drv_points, face_box, box))
    own, own_points = crop(image, image_points, eye_boxes(image_points))
    eyes = opening_and_lids(crop_points(drv_points, box))
    own_eyes = opening_and_lids(own_points)
    amount = change(drv_points, image_points)
    inputs = torch.cat([warped * 2 - 1, own * 2 - 1, eyes, own_eyes, amount.expand(-1, 1, CROP, CROP)], 1)
    return {"box": box, "warped": warped, "eyes": eyes, "amount": amount, "inputs": inputs}


def paint(painter: Painter, prepared: dict) -> dict:
    """`painter.paint` of `prepare`'s crops, the paint laid in whole over the driver's eye opening and lids
    (`opening_and_lids`: the outline widened, soft), elsewhere as a correction."""
    return painters.paint(painter, prepared, prepared["eyes"][:, 1:2])


def repaint(painter: Painter, frame: torch.Tensor, image: torch.Tensor, image_points: torch.Tensor,
            drv_points: torch.Tensor, face_box: torch.Tensor) -> torch.Tensor:
    """frame (B, 3, N, N) with its eyes painted again: `prepare`, `paint` and `paste` in one, for frames in
    the pixels of `image` (the photo, its landmarks and face crop as `prepare` takes them)."""
    painted = paint(painter, prepare(image, image_points, drv_points, face_box))
    laid = mirror_left(layers(painted)).reshape(-1, 2, 7, CROP, CROP)
    box = painted["box"].reshape(-1, 2, 3)
    for eye in range(2):
        frame = paste(frame, box[:, eye], laid[:, eye])
    return frame
