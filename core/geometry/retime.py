"""Retiming: one rule for how many frames a take has at another frame rate, and what each of them shows.

A take of `n` frames at `fps` lasts `n / fps` seconds: each frame is shown for 1/fps. At a scene's rate it
becomes as many frames as it takes to show every moment of it (`frame_count`: the last frame starts before
the take ends), frame k showing the take at k / scene_fps seconds, interpolated linearly between the take's
own frames and held at its last (`resample`). Driving videos' tracks, expression curves (lip sync), Live Link
takes and the rig's keys all go through here, so the same take lands on the same scene frames whatever it
came from. numpy only: the add-on imports it.
"""
from __future__ import annotations

import math

import numpy as np

from ..errors import UserError

TOLERANCE = 1e-9  # a duration that is a whole number of frames up to rounding is that many frames


def check_rate(fps: float, what: str = "frame rate") -> float:
    fps = float(fps)
    if not (math.isfinite(fps) and 0 < fps <= 1000):
        raise UserError(f"the {what} must be above 0 and at most 1000 frames a second, got {fps:g}")
    return fps


def frame_count(duration: float, fps: float) -> int:
    """Frames at `fps` that show `duration` seconds, every moment of it (at least one)."""
    return max(1, math.ceil(float(duration) * check_rate(fps) - TOLERANCE))


def retimed_count(frames: int, fps: float, target_fps: float) -> int:
    """How many frames at `target_fps` a take of `frames` frames at `fps` becomes (4 at 30 fps: 8 at 60)."""
    return frame_count(frames / check_rate(fps), target_fps)


def sample_times(frames: int, fps: float, target_fps: float) -> np.ndarray:
    """Where each frame at `target_fps` falls in the take, in seconds from its first frame."""
    return np.arange(retimed_count(frames, fps, target_fps)) / check_rate(target_fps)


def take_duration(fps: float, times: np.ndarray) -> float:
    """A take's duration from its frames' own times (seconds from the first): its last frame lasts 1/fps too."""
    return float(times[-1]) + 1.0 / check_rate(fps)


def resample(values: np.ndarray, fps: float, target_fps: float, times: np.ndarray | None = None) -> np.ndarray:
    """`values` (frames, ...) of a take at `fps` at `target_fps`, linearly in time, held at the ends. `times`
    (seconds, increasing) gives the take's own frame times where they are not regular (a capture's
    timecodes). The same array comes back when the rates agree and the times are regular."""
    values = np.asarray(values)
    count = len(values)
    if count == 0:
        raise UserError("the take has no frames")
    if times is None:
        if abs(check_rate(fps) - check_rate(target_fps)) < TOLERANCE:
            return values
        source, wanted = np.arange(count) / fps, sample_times(count, fps, target_fps)
    else:
        source = np.asarray(times, dtype=np.float64)
        wanted = np.arange(frame_count(take_duration(fps, source), target_fps)) / check_rate(target_fps)
    flat = values.reshape(count, -1).astype(np.float64)
    out = np.stack([np.interp(wanted, source, flat[:, j]) for j in range(flat.shape[1])], axis=1)
    return out.reshape(len(wanted), *values.shape[1:]).astype(values.dtype if values.dtype.kind == "f" else np.float64)


def nearest_frames(frames: int, fps: float, target_fps: float) -> np.ndarray:
    """For flags that cannot be interpolated (a frame filled in, not seen): the take's frame nearest each
    frame at `target_fps`."""
    index = np.rint(sample_times(frames, fps, target_fps) * check_rate(fps)).astype(int)
    return np.clip(index, 0, frames - 1)
