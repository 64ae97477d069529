"""The protocol: which frames are references and tests, what each video gives to score (a case) and what
scoring it gives back (a result, which the scoring fills and the report reads)."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

import numpy as np

from ..video import count_frames, read_frames
from .judge import the_judge

SIZE = 256                      # the protocol's crop, in pixels
METRICS = ("l1", "psnr", "ssim", "akd", "id", "akd_miss")


def reference_indices(frame_count: int, shots: int) -> list[int]:
    """T=1: frame 0. T>1: T frames spread evenly over the first half (numpy rounding, as the protocol)."""
    if shots == 1:
        return [0]
    return np.linspace(0, frame_count // 2 - 1, shots).round().astype(int).tolist()


def test_indices(frame_count: int, frames: int) -> list[int]:
    """N frames spread evenly over the second half."""
    return np.linspace(frame_count // 2, frame_count - 1, frames).round().astype(int).tolist()


class Unscorable(Exception):
    """A video the protocol cannot score (too short, no face where one is needed); the others go on."""


@dataclass
class VideoCase:
    """What the protocol takes from one video: the references and the test frames' drivers and crops.

    `keys[j]` numbers test frame j among all N test frames, so that k stays the same when frames where dlib
    finds no face are skipped (file names of dumped crops use it).
    """

    stem: str
    references: list[np.ndarray]          # full frames
    reference_points: list[np.ndarray]    # (68, 2) each, in the frames' pixels
    box: tuple[float, float, float]       # the crop, from the first reference
    keys: list[int]
    drivers: list[np.ndarray]             # (68, 2) each, in the frames' pixels
    reals: list[np.ndarray]               # the real test frames' crops
    notes: list[str] = field(default_factory=list)


@dataclass
class VideoResult:
    """One video's scores: {method: {metric: mean over its test frames}}, or why it could not be scored."""

    video: str
    frames: int = 0
    scores: dict[str, dict[str, Optional[float]]] = field(default_factory=dict)
    error: Optional[str] = None
    notes: list[str] = field(default_factory=list)
    sheet: Optional[np.ndarray] = None  # this video's rows of the contact sheet


def load_case(path: Path, shots: int, frames: int) -> VideoCase:
    """Select, decode and landmark the frames of one video; Unscorable says why it cannot be used."""
    from ..landmarks.align import crop_box, crop_image

    count = count_frames(path)
    if count < 2:
        raise Unscorable(f"{count} frame(s): too short to split into reference and test halves")
    ref_idx, test_idx = reference_indices(count, shots), test_indices(count, frames)
    images = read_frames(path, ref_idx + test_idx)
    if len(images) < len(set(ref_idx + test_idx)):
        raise Unscorable("frames stopped decoding before the end: re-encode the video")
    found = {i: the_judge().landmarks(images[i]) for i in sorted(images)}
    if found[ref_idx[0]] is None:
        raise Unscorable("no face in the first reference frame")
    notes = []
    references = [i for i in ref_idx if found[i] is not None]
    if len(references) < len(ref_idx):
        notes.append(f"no face in {len(ref_idx) - len(references)} of {len(ref_idx)} reference frames: left out")
    keys = [k for k, i in enumerate(test_idx) if found[i] is not None]
    if not keys:
        raise Unscorable("no face in any test frame")
    if len(keys) < len(test_idx):
        notes.append(f"no face in {len(test_idx) - len(keys)} of {len(test_idx)} test frames: skipped")
    box = crop_box(found[ref_idx[0]])
    return VideoCase(path.stem, [images[i] for i in references], [found[i] for i in references], box, keys,
                     [found[test_idx[k]] for k in keys], [crop_image(images[test_idx[k]], box, SIZE) for k in keys],
                     notes)
