"""Extraction: the landmarks of a driving video as a track.

`extract_track` decodes the video (`core.video`), detects landmarks frame after frame with
`core.landmarks.detect.LandmarkDetector` (which re-uses the face box between detector runs), fills frames
without a face and smooths the points over time (`core.track.smooth`).
"""
from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np

from ..errors import UserError
from ..progress import Progress, report
from ..video import VideoReader
from .smooth import fill_gaps, one_euro_smooth
from .track_file import N_POINTS, Track


def extract_track(video_path: str | os.PathLike, progress: Progress | None = None, stride: int = 1,
                  backend: str = "auto", smooth: bool = True, with_3d: bool = False,
                  redetect_every: int = 10) -> Track:
    """Landmarks of every `stride`-th frame of a video: tracked, gap-filled and (by default) smoothed."""
    from ..landmarks.detect import LandmarkDetector

    if stride < 1:
        raise UserError("--stride must be 1 or more")
    path = Path(video_path)
    with VideoReader(path) as video:
        detector = LandmarkDetector(backend, redetect_every=redetect_every, with_3d=with_3d)
        if with_3d and not detector.model.gives_3d:
            raise UserError(f"3D landmarks need the FAN backend; the {detector.model.name} backend gives 2D only")
        source_fps = video.fps
        total = max(1, -(-video.frame_count // stride))
        found: list[np.ndarray | None] = []
        size = None
        started = time.perf_counter()
        for index, (_, convert) in enumerate(video.decoded()):
            if index % stride:
                continue
            rgb = convert()
            size = (rgb.shape[1], rgb.shape[0])
            detection = detector(rgb)
            found.append(None if detection is None else (detection.points3d if with_3d else detection.points))
            report(progress, len(found), max(total, len(found)), f"landmarks: frame {index}")
    elapsed = time.perf_counter() - started
    if not found:
        raise UserError(f"no frames could be decoded from {path}; convert it to MP4 (H.264)")
    filled = np.array([p is None for p in found])
    if filled.all():
        raise UserError(f"no face found in any frame of {path}; use a video with a clearly visible face")
    dims = 3 if with_3d else 2
    points = fill_gaps(np.stack([np.full((N_POINTS, dims), np.nan) if p is None else p for p in found]))
    fps = source_fps / stride
    if smooth:
        points = one_euro_smooth(points, fps)
    return Track(points, np.arange(len(found)) * stride, filled, fps, size, stride, path.name,
                 extraction={"seconds": elapsed, "seconds_per_frame": elapsed / len(found),
                             "detector_runs": detector.detector_runs, "backend": detector.model.name})
