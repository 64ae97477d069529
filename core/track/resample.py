"""A track at another frame rate."""
from __future__ import annotations

import numpy as np

from ..geometry import retime
from .track_file import Track


def resample(track: Track, fps: float) -> Track:
    """The track at another frame rate by the one retiming rule (core/geometry/retime.py): points interpolated
    linearly in time, frames numbered from 0 by 1, the same duration."""
    points = retime.resample(track.points, track.fps, fps)
    if points is track.points:
        return track
    filled = track.filled[retime.nearest_frames(len(track), track.fps, fps)]
    return Track(points.astype(np.float32), np.arange(len(points)), filled, float(fps), track.image_size, 1,
                 track.source)
