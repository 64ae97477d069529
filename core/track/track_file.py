"""Landmark track files: the format, version 1, and `Track`, which reads, validates and writes it.

It needs only numpy and json, so the Blender add-on uses it as it is (`core.track` extracts tracks
from video and retargets them).

Track file format, version 1
----------------------------
A UTF-8 JSON object (docs/TRACK_FORMAT.md says the same, with an example)::

    {
     "format": "neural-talking-heads/landmark-track",
     "version": 1,
     "space": "pixels",
     "image_size": [W, H],
     "fps": 25.0,
     "stride": 1,
     "source": "driving.mp4",
     "dims": 2,
     "frames": [
      {"frame": 0, "filled": false, "points": [[x, y], ... 68 points]},
      ...
     ]
    }

- `format`, `version`: exactly these; a reader refuses other formats and other versions.
- `space`: "pixels": x to the right, y down, in pixels of the source frame (`image_size` = [width, height]),
  0-based with pixel centres at integers (dlib's convention). With `dims` 3 each point is [x, y, z], z the
  depth in the same pixel scale, positive away from the camera, relative to the mean depth of the 68 points.
- `fps`: frames per second of the track itself (the source's rate divided by `stride`).
- `stride`: how many source frames one track frame stands for; `frame` numbers are source frame numbers,
  strictly increasing by exactly `stride` (no gaps, no duplicates: a frame without a face is still listed).
- `source`: the file name the track was extracted from, or null.
- `frames[i].points`: 68 points in iBUG 300-W order. `filled` is true where no face was found and the points
  were interpolated between the nearest frames that had one (or copied from the nearest, at either end).
- Every coordinate is finite and within one image size of the frame (points far outside mean the track does
  not belong to this image size).
"""
from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field

import numpy as np

from ..atomic import write_atomic
from ..errors import UserError
from ..text_file import parse_json, read_text

FORMAT = "neural-talking-heads/landmark-track"
VERSION = 1
SPACE = "pixels"
N_POINTS = 68


@dataclass
class Track:
    """`points` (N, 68, 2 or 3) float32 in the source frame's pixels; `frames` (N,) source frame numbers;
    `filled` (N,) bool, true where the points were interpolated; `image_size` (width, height)."""

    points: np.ndarray
    frames: np.ndarray
    filled: np.ndarray
    fps: float
    image_size: tuple[int, int]
    stride: int = 1
    source: str | None = None
    extraction: dict = field(default_factory=dict, compare=False)  # how it was made (not saved)

    def __post_init__(self):
        self.points = np.asarray(self.points, dtype=np.float32)
        self.frames = np.asarray(self.frames, dtype=np.int64)
        self.filled = np.asarray(self.filled, dtype=bool)
        problem = _problem(self.points, self.frames, self.filled, self.fps, self.image_size, self.stride)
        if problem:
            raise ValueError(problem)

    def __len__(self) -> int:
        return len(self.frames)

    def save(self, path: str | os.PathLike) -> None:
        """Write the track (atomically: a temporary file renamed into place)."""
        write_atomic(path, self.to_json())

    def to_json(self) -> str:
        """The track file's text (the same bytes for the same track: resuming keys on it)."""
        header = {"format": FORMAT, "version": VERSION, "space": SPACE,
                  "image_size": [int(v) for v in self.image_size], "fps": float(self.fps),
                  "stride": int(self.stride), "source": self.source, "dims": int(self.points.shape[2])}
        lines = [json.dumps({"frame": int(f), "filled": bool(m),
                             "points": np.round(p.astype(np.float64), 3).tolist()}, separators=(",", ":"))
                 for f, m, p in zip(self.frames, self.filled, self.points)]
        head = json.dumps(header, indent=1)[:-2]  # drop the closing "\n}" to append the frames
        return head + ',\n "frames": [\n  ' + ",\n  ".join(lines) + "\n ]\n}\n"

    @classmethod
    def load(cls, path: str | os.PathLike) -> "Track":
        """Read and validate a track file; any problem is a UserError naming the file and what is wrong."""
        text = read_text(path, "track file", "give a track written by `python -m core track`")
        return cls.from_dict(parse_json(text, str(path), "re-extract the track"), str(path))

    @classmethod
    def from_dict(cls, data, name: str = "track") -> "Track":
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise UserError(f"{name} is not a landmark track (no \"format\": \"{FORMAT}\"); "
                            "give a file written by `python -m core track`")
        version = data.get("version")
        if version != VERSION:
            newer = _is_number(version) and version > VERSION
            raise UserError(f"{name} is track format version {version!r}; this program reads version {VERSION}"
                            + ("; update the program" if newer else "; re-extract the track"))
        if data.get("space") != SPACE:
            raise UserError(f"{name}: \"space\" must be \"{SPACE}\"; re-extract the track")
        size = data.get("image_size")
        if not (isinstance(size, list) and len(size) == 2 and all(_is_int(v) and 0 < v < 1 << 20 for v in size)):
            raise UserError(f"{name}: \"image_size\" must be [width, height] in pixels; re-extract the track")
        fps, stride, dims = data.get("fps"), data.get("stride"), data.get("dims")
        if not (_is_number(fps) and 0 < fps < 10000):
            raise UserError(f"{name}: \"fps\" must be a positive number; re-extract the track")
        if not (_is_int(stride) and 1 <= stride < 1 << 20):
            raise UserError(f"{name}: \"stride\" must be a positive whole number; re-extract the track")
        if not _is_int(dims) or dims not in (2, 3):
            raise UserError(f"{name}: \"dims\" must be 2 or 3; re-extract the track")
        source = data.get("source")
        if source is not None and not isinstance(source, str):
            raise UserError(f"{name}: \"source\" must be a file name or null; re-extract the track")
        frames = data.get("frames")
        if not isinstance(frames, list) or not frames:
            raise UserError(f"{name} has no frames; re-extract the track")
        numbers, filled, points = [], [], []
        for i, entry in enumerate(frames):
            if not isinstance(entry, dict) or not _is_int(entry.get("frame")) or \
                    not 0 <= entry["frame"] < 1 << 40 or not isinstance(entry.get("filled"), bool):
                raise UserError(f"{name}: entry {i} of \"frames\" needs a \"frame\" number (0 or more), a "
                                "true/false \"filled\" and \"points\"; re-extract the track")
            numbers.append(entry["frame"])
            filled.append(entry["filled"])
            points.append(_point_array(entry.get("points"), dims, name, entry["frame"]))
        problem = _problem(np.stack(points), numbers, np.array(filled), float(fps), tuple(size), stride)
        if problem:
            raise UserError(f"{name}: {problem}; re-extract the track")
        return cls(np.stack(points), np.array(numbers, dtype=np.int64), np.array(filled), float(fps),
                   (int(size[0]), int(size[1])), int(stride), source)


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value) -> bool:
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return False
    try:
        return math.isfinite(value)
    except OverflowError:  # an integer too large for a float
        return False


def _point_array(value, dims: int, name: str, frame) -> np.ndarray:
    try:
        array = np.array(value)
    except (ValueError, TypeError, OverflowError):
        array = None
    if array is None or array.dtype.kind not in "iuf" or array.shape != (N_POINTS, dims):
        raise UserError(f"{name}: frame {frame} must hold {N_POINTS} points of {dims} numbers each; "
                        "re-extract the track")
    with np.errstate(over="ignore"):
        return array.astype(np.float64)


def _problem(points: np.ndarray, frames, filled: np.ndarray, fps: float, image_size, stride: int) -> str | None:
    """What is wrong with a track's contents (None if nothing): shapes, values, frame numbering."""
    frames = np.asarray(frames)
    n = len(frames)
    if points.ndim != 3 or points.shape[1:] not in ((N_POINTS, 2), (N_POINTS, 3)) or len(points) != n or \
            filled.shape != (n,) or n == 0:
        return f"expected N frames of {N_POINTS} points with 2 or 3 coordinates, got points {points.shape}, " \
               f"{n} frame numbers and {filled.shape} filled flags"
    if not (np.isfinite(fps) and fps > 0) or stride < 1:
        return "fps and stride must be positive"
    finite = np.isfinite(points).all(axis=(1, 2))
    if not finite.all():
        return f"frame {frames[np.argmin(finite)]} has a coordinate that is not a finite number"
    width, height = image_size
    span = np.array([width, height], dtype=np.float64)
    xy = points[..., :2].astype(np.float64)
    outside = ((xy < -span) | (xy > 2 * span)).any(axis=(1, 2))
    if outside.any():
        return f"frame {frames[np.argmax(outside)]} has points far outside the {width}x{height} image " \
               "(the track does not belong to this image size)"
    steps = np.diff(frames)
    if (steps == 0).any():
        return f"frame {frames[1:][steps == 0][0]} appears twice"
    if (steps != stride).any():
        k = int(np.argmax(steps != stride))
        return (f"frames jump from {frames[k]} to {frames[k + 1]} (with a stride of {stride}, frame numbers must "
                f"rise by {stride} each, with none missing)")
    return None
