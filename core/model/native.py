"""Frames at the photo's own resolution: the network works at its size, the photo's pixels stay at theirs.

The generator composes each pixel from the warped reference, the unwarped reference and new colours
(generator.py). Two of the three are the photo itself, and the warp is analytic. So instead of upscaling
the network's 256 crop, the renderer carries the warp's map to every pixel of the photo's own face box and
samples the full-resolution photo through it once; only what the network adds (its per-pixel weights and
new colours) is upsampled. The photo is resampled exactly once (chaining a cut, a warp and a paste-back at
fractional offsets blurs it again): the native box is the model's crop box snapped to whole pixels, so the
unwarped source is the photo's own pixels, and at the photo's own landmarks the frame is the photo.

The mouth, where the network's paint is upsampled most, is painted again by the mouth painter (mouth.py)
at its own crop, from the photo sampled there through the same warp; its colours are laid over the frame.
The eyes are painted the same way by the eye painter (eyes.py), where the person file holds one.
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from ..landmarks.align import cut_box, feather_mask, native_box
from . import eyes as eye_region, mouth as mouth_region
from .painter import Painter
from .warp import head_region, warp_grid

FEATHER = 0.08   # the outer share of the box over which what the network changes fades out to the warp


def repaint(frame: torch.Tensor, painters: tuple, image: torch.Tensor, image_points: torch.Tensor,
            drv_points: torch.Tensor, face_box: torch.Tensor) -> torch.Tensor:
    """frame (B, 3, N, N) in the pixels of `image` with its regions painted again by `painters` (the mouth's,
    the eyes'; None where a person has none), the mouth first."""
    for painter, region in zip(painters, (mouth_region, eye_region)):
        if painter is not None:
            frame = region.repaint(painter, frame, image, image_points, drv_points, face_box)
    return frame


def lattice_size(side: int) -> int:
    """The coarse lattice the warp's inside tests run on: about 8 photo pixels a cell, 64 to 128 cells."""
    return int(max(64, min(128, side // 8)))


class NativeRenderer(nn.Module):
    """landmarks (B, 68, 2) in photo pixels -> (B, 3, N, N) in [0, 1]: the photo's face box at its own
    scale, N the box side in photo pixels; `align.paste_box` puts it in at `native_box(box)`'s corner.

    Towards the box's edges what the network changes fades out to the warp, whose border points pin the
    box's edge to the photo: the frame joins the photo without a seam, and a head that moves close to the
    edge is still moved there. (Fading into the photo instead showed the photo's own face, where it was,
    through a head near the edge: a ghost, and on held-out clips with large head movements most of the
    mouth's error: benchmarks/RESULTS.md, 2026-12-01 c.) A head that leaves the box folds the warp's mesh
    over its border points, and then the box's edge shows as a hard line; the photo's box is all a frame
    can move the head within."""

    def __init__(self, crop_renderer: nn.Module, photo: np.ndarray, photo_points: np.ndarray,
                 box: tuple[float, float, float], mouth: Painter | None = None, eyes: Painter | None = None):
        super().__init__()
        self.crop_renderer = crop_renderer
        self.mouth = mouth
        self.eyes = eyes
        self.x0, self.y0, self.side = native_box(box)
        self.grid_size = lattice_size(self.side)
        region = cut_box(photo, self.x0, self.y0, self.side)                       # (N, N, 3) uint8
        # uint8 keeps an exported model small; the photo's box of a 4096 photo is over 2000 pixels a side
        self.register_buffer("photo", torch.from_numpy(region).permute(2, 0, 1)[None].contiguous())
        origin = np.array([self.x0, self.y0], np.float32)
        points = np.asarray(photo_points, np.float32) - origin                     # in the box's pixels
        self.register_buffer("photo_points", torch.from_numpy(points)[None])
        self.register_buffer("origin", torch.from_numpy(origin))
        self.register_buffer("feather", torch.from_numpy(feather_mask(self.side, FEATHER))[None, None])
        # the face crop whose border pins the warp, in the box's pixels: the box itself
        self.register_buffer("face_box", torch.tensor([[0.0, 0.0, float(self.side)]]))

    def forward(self, landmarks: torch.Tensor) -> torch.Tensor:
        parts = self.crop_renderer.parts(landmarks)
        n = landmarks.shape[0]
        photo = self.photo.float().expand(n, -1, -1, -1) / 255
        drv = landmarks - self.origin
        grid = warp_grid(self.photo_points.expand(n, -1, -1), drv, self.side, self.grid_size)
        warped = F.grid_sample(photo, grid, mode="bilinear", padding_mode="border", align_corners=True)
        size = (self.side, self.side)
        weights = F.interpolate(parts["weights"], size=size, mode="bilinear", align_corners=False)
        colour = F.interpolate(parts["colour"], size=size, mode="bilinear", align_corners=False)
        image = weights[:, 0:1] * warped + weights[:, 1:2] * photo + weights[:, 2:3] * colour
        image = repaint(image, (self.mouth, self.eyes), photo[:1], self.photo_points, drv, self.face_box)
        # The mouth painter adds a change to the warp, which can leave [0, 1] (to -0.25 on a wide-open mouth):
        # what no written frame holds, so the ONNX export's `image` never holds it either.
        return (self.feather * image + (1 - self.feather) * warped).clamp(0, 1)

    def matte(self, landmarks: torch.Tensor) -> torch.Tensor:
        """(B, 1, N, N) in [0, 1]: the driver's head (face, forehead, hair, ears: the region the generator
        keeps the photo's background off), its edge soft, for compositing the head over something else."""
        crop = self.crop_renderer
        head = head_region((landmarks - crop.origin) * crop.scale, crop.size)
        return F.interpolate(head, size=(self.side, self.side), mode="bilinear", align_corners=False)
