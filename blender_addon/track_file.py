"""Landmark track files (docs/TRACK_FORMAT.md, version 1) read and written with the standard library.

`core.landmarks.track` is the reference implementation, but it imports through the absolute `core` package,
which Blender's Python does not have on its path; the add-on reads and writes the same format here. The
worker reads every track the add-on writes with `core.landmarks.track.Track.load`, which validates it.
"""
from __future__ import annotations

import json
import os

import numpy as np

from ..core.errors import UserError

FORMAT = "neural-talking-heads/landmark-track"
VERSION = 1


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
    data = {"format": FORMAT, "version": VERSION, "space": "pixels", "image_size": [int(v) for v in image_size],
            "fps": float(fps), "stride": 1, "source": source, "dims": 2,
            "frames": [{"frame": f, "filled": False, "points": np.round(p, 3).tolist()}
                       for f, p in zip(frames, points)]}
    tmp = f"{path}.{os.getpid()}.tmp"
    try:
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(data, f, separators=(",", ":"), allow_nan=False)
        os.replace(tmp, path)
    except OSError as e:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise UserError(f"cannot write {path} ({e.strerror}); check the folder's permissions and free space") from e


def read_track(path: str) -> tuple[np.ndarray, float]:
    """The points (N, 68, 2) and frame rate of a version-1 track file."""
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except (OSError, ValueError) as e:
        raise UserError(f"cannot read the track {path} ({e}); extract it again") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT or data.get("version") != VERSION:
        raise UserError(f"{path} is not a version {VERSION} landmark track; extract it again")
    try:
        points = np.array([entry["points"] for entry in data["frames"]], dtype=np.float64)[..., :2]
        fps = float(data["fps"])
    except (KeyError, TypeError, ValueError):
        raise UserError(f"{path} is a damaged landmark track; extract it again") from None
    if points.ndim != 3 or points.shape[1:] != (68, 2) or not len(points):
        raise UserError(f"{path} does not hold 68 points per frame; extract it again")
    return points, fps


def resample(points: np.ndarray, fps: float, scene_fps: float) -> np.ndarray:
    """Linearly resample a track at `fps` to `scene_fps`; the last frame is kept."""
    if abs(fps - scene_fps) < 1e-6 or len(points) == 1:
        return points
    duration = (len(points) - 1) / fps
    times = np.arange(int(np.floor(duration * scene_fps + 1e-6)) + 1) / scene_fps
    position = times * fps
    lower = np.minimum(np.floor(position).astype(int), len(points) - 1)
    upper = np.minimum(lower + 1, len(points) - 1)
    weight = (position - lower)[:, None, None]
    return points[lower] * (1 - weight) + points[upper] * weight
