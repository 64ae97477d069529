"""Flipbook atlases for game VFX: every frame of a sequence in one texture, plus a JSON sidecar.

**Order.** Frame k sits in row k // columns, column k % columns: left to right, top to bottom from the top
left, the order of Unreal's SubUV and Unity's Texture Sheet Animation. Both engines cut the texture into
rows x columns equal cells, so the cells tile the atlas exactly; cells past the last frame are transparent
black.

**Padding.** A texture sampled at a lower mipmap level averages neighbouring cells; each frame is therefore
surrounded by `padding` pixels that repeat its own edge (edge extension), so a frame bleeds only into copies
of itself.

**Power of two.** Some engines and compressors want power-of-two textures. Then the atlas side is the next
power of two and the grid is made of powers of two too (so that cells stay whole pixels): the frames keep
their size and sit centred in cells that are larger than frame + 2 x padding, the extra border edge-extended
as well.

The sidecar (`ATLAS.json` next to `ATLAS.png`) records rows, columns, frame and cell sizes, where a frame
sits in its cell, the padding, frame count and fps, and the provenance fields; the atlas itself carries the
watermark, metadata, XMP and (with a signer) Content Credentials like every image the project writes (a
single cell cut out of it carries none of them).
"""
from __future__ import annotations

import json
import math
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from ..core.atomic import write_atomic
from ..core.errors import UserError
from ..core.progress import Progress, report
from . import provenance
from .sequence import write_frame

MAX_SIDE = 16384            # the largest texture most GPUs accept


@dataclass(frozen=True)
class AtlasLayout:
    rows: int
    columns: int
    frame_count: int
    frame_width: int
    frame_height: int
    cell_width: int
    cell_height: int
    frame_x: int            # where a frame's first pixel sits inside its cell
    frame_y: int
    padding: int
    width: int
    height: int
    power_of_two: bool
    fps: float | None

    def cell(self, k: int) -> tuple[int, int]:
        """Top-left pixel (x, y) of cell k."""
        return (k % self.columns) * self.cell_width, (k // self.columns) * self.cell_height

    def frame_box(self, k: int) -> tuple[int, int, int, int]:
        """(x, y, width, height) of frame k's own pixels in the atlas."""
        x, y = self.cell(k)
        return x + self.frame_x, y + self.frame_y, self.frame_width, self.frame_height


def _next_power_of_two(n: int) -> int:
    return 1 << max(0, math.ceil(math.log2(n)))


def plan_atlas(frame_count: int, frame_size: tuple[int, int], *, columns: int | None = None, padding: int = 2,
               power_of_two: bool = False, fps: float | None = None) -> AtlasLayout:
    """The grid for `frame_count` frames of `frame_size` = (height, width)."""
    if frame_count < 1:
        raise UserError("a flipbook needs at least one frame")
    if padding < 0:
        raise UserError(f"--padding must be 0 or more pixels, not {padding}")
    if columns is not None and columns < 1:
        raise UserError(f"--columns must be 1 or more, not {columns}")
    if fps is not None and not fps > 0:
        raise UserError(f"--fps must be positive, not {fps}")
    fh, fw = frame_size
    if power_of_two and columns is not None and columns & (columns - 1):
        raise UserError(f"with a power-of-two atlas the columns must be a power of two (1, 2, 4, 8, ...), "
                        f"not {columns}")
    columns = min(columns or math.ceil(math.sqrt(frame_count)), frame_count)
    if power_of_two:
        columns = _next_power_of_two(columns)
        rows = _next_power_of_two(math.ceil(frame_count / columns))
        width = _next_power_of_two(columns * (fw + 2 * padding))
        height = _next_power_of_two(rows * (fh + 2 * padding))
        cell_w, cell_h = width // columns, height // rows
    else:
        rows = math.ceil(frame_count / columns)
        cell_w, cell_h = fw + 2 * padding, fh + 2 * padding
        width, height = columns * cell_w, rows * cell_h
    if max(width, height) > MAX_SIDE:
        raise UserError(f"the atlas would be {width}x{height} pixels, more than {MAX_SIDE} (most GPUs' limit); "
                        f"use fewer frames or a smaller --scale")
    return AtlasLayout(rows, columns, frame_count, fw, fh, cell_w, cell_h, (cell_w - fw) // 2, (cell_h - fh) // 2,
                       padding, width, height, power_of_two, fps)


def build_atlas(frames: Sequence[np.ndarray], *, columns: int | None = None, padding: int = 2,
                power_of_two: bool = False, fps: float | None = None,
                progress: Progress | None = None) -> tuple[np.ndarray, AtlasLayout]:
    """Place `frames` (all the same size and dtype, H x W x 3 or x 4) in a grid; returns (atlas, layout)."""
    if len(frames) == 0:
        raise UserError("a flipbook needs at least one frame")
    first = np.asarray(frames[0])
    for k, frame in enumerate(frames):
        if frame.shape != first.shape or frame.dtype != first.dtype:
            raise UserError(f"frame {k} is {frame.shape} {frame.dtype}, frame 0 {first.shape} {first.dtype}; "
                            f"all frames of a flipbook must have the same size and format")
    if first.ndim != 3 or first.shape[2] not in (3, 4):
        raise UserError(f"flipbook frames must be H x W x 3 (or x 4) images, not {first.shape}")
    layout = plan_atlas(len(frames), first.shape[:2], columns=columns, padding=padding,
                        power_of_two=power_of_two, fps=fps)
    atlas = np.zeros((layout.height, layout.width, first.shape[2]), first.dtype)
    left, top = layout.frame_x, layout.frame_y
    right, bottom = layout.cell_width - left - layout.frame_width, layout.cell_height - top - layout.frame_height
    for k, frame in enumerate(frames):
        x, y = layout.cell(k)
        atlas[y:y + layout.cell_height, x:x + layout.cell_width] = np.pad(
            frame, ((top, bottom), (left, right), (0, 0)), mode="edge")
        report(progress, k + 1, len(frames), "flipbook: placing frames")
    return atlas, layout


def sidecar(layout: AtlasLayout, image_name: str, frame_numbers: Sequence[int] | None = None) -> dict:
    """The JSON sidecar's content."""
    fields = provenance.metadata()
    return {
        "image": image_name,
        **asdict(layout),
        "order": "row-major from the top-left cell (Unreal SubUV, Unity Texture Sheet Animation)",
        "frame_numbers": list(map(int, frame_numbers)) if frame_numbers is not None else None,
        "software": fields["Software"],
        "description": fields["Description"],
    }


def write_flipbook(frames: Sequence[np.ndarray], path: str | os.PathLike, *, columns: int | None = None,
                   padding: int = 2, power_of_two: bool = False, fps: float | None = None,
                   frame_numbers: Sequence[int] | None = None, bit_depth: int | None = None,
                   overwrite: bool = False, progress: Progress | None = None, signer=None) -> tuple[Path, Path]:
    """Write the atlas (PNG or EXR, watermarked, with XMP; a PNG signed by `signer`, a
    `content_credentials.Signer`, if given) and its JSON sidecar; returns both paths."""
    path = Path(path)
    json_path = path.with_suffix(".json")
    if not overwrite:
        for p in (path, json_path):
            if p.exists():
                raise UserError(f"{p} already exists; choose another --out or allow overwriting")
    atlas, layout = build_atlas(frames, columns=columns, padding=padding, power_of_two=power_of_two, fps=fps,
                                progress=progress)
    alpha = atlas[..., 3] if atlas.shape[2] == 4 else None
    write_frame(path, atlas[..., :3], alpha=alpha, bit_depth=bit_depth, overwrite=True, signer=signer)
    text = json.dumps(sidecar(layout, path.name, frame_numbers), indent=2) + "\n"
    write_atomic(json_path, text.encode("utf-8"))
    return path, json_path


def scale_frames(frames: Sequence[np.ndarray], scale: float) -> list[np.ndarray]:
    """Resize every frame by `scale` (area averaging when shrinking)."""
    import cv2

    if not scale > 0:
        raise UserError(f"--scale must be positive, not {scale}")
    if scale == 1:
        return list(frames)
    h, w = frames[0].shape[:2]
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC
    return [cv2.resize(f, size, interpolation=interpolation) for f in frames]
