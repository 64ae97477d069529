"""The rig's animation as a landmark track and back, through the project's track file
(`core.track.track_file`, which the worker reads as well)."""
from __future__ import annotations

import numpy as np

from ..core.errors import UserError
from ..core.track.track_file import Track


def write_track(path: str, points: np.ndarray, frames, fps: float, image_size: tuple[int, int],
                source: str | None = None) -> None:
    """Write `points` (N, 68, 2) reference pixels for frame numbers `frames` (N,), atomically."""
    points = np.asarray(points, dtype=np.float64)
    frames = [int(f) for f in frames]
    if points.ndim != 3 or points.shape[1:] != (68, 2) or len(frames) != len(points) or not len(frames):
        raise UserError("a track needs 68 points per frame and at least one frame")
    if frames[0] < 0:
        raise UserError(f"frame {frames[0]} is negative; track frames start at 0: move the scene's range")
    if any(b - a != 1 for a, b in zip(frames, frames[1:])):
        raise UserError("track frames must follow each other one by one")
    try:   # rounded as the file stores them first, so that the float32 Track keeps the very same values
        track = Track(np.round(points, 3), frames, np.zeros(len(frames), bool), fps, tuple(image_size), 1, source)
    except ValueError as e:
        raise UserError(f"the rig's animation is not a valid track ({e}); bring the rig back over the photo") from None
    track.save(path)


def read_track(path: str) -> tuple[np.ndarray, float]:
    """The points (N, 68, 2) and frame rate of a track file."""
    track = Track.load(path)
    return track.points[..., :2].astype(np.float64), float(track.fps)
