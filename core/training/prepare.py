"""Talking-head videos cut down to their faces, so that a training set travels to a GPU machine compactly.

A GPU run carries at most 64 MiB, and the clips we train on run up to 1920x1080 with the face a fraction of
the frame. For each video this tracks the 68 landmarks of every frame once (the native-pixel track is kept
as a cache beside the output, for evaluation and lip-sync benchmarks), cuts one fixed square around every
position the head takes (the protocol crop, 2.0x the landmark box, grown by the episode jitter), keeps an
evenly spread subset of the frames, scales the square to at most `max_side` pixels (never up: the detail a
high-resolution clip has is kept up to that size) and re-encodes it as H.264. The landmarks of the kept
frames, in the cut's pixels, go into the same cache format `data.VideoSet` reads.
"""
from __future__ import annotations

import json
import os
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Callable

import numpy as np

from ..atomic import atomic_path
from ..errors import UserError
from ..landmarks.align import cut_box
from ..video import VideoReader
from .data import cache_path, find_videos, save_cache

MARGIN = 1.15        # room for the episodes' 5 % scale and shift jitter around the union of protocol crops


def _native_track(video: Path, cache_dir: Path):
    """(frame numbers, (N, 68, 2) points, (N,) found) in the video's own pixels, computed once."""
    from .data import landmark_cache

    return landmark_cache(video, cache_dir)


def _square(points: np.ndarray, found: np.ndarray) -> tuple[int, int, int]:
    """One square (x, y, side) in native pixels holding the protocol crop of every frame with a face."""
    pts = points[found]
    lo, hi = pts.min(1), pts.max(1)                                  # (N, 2) per-frame landmark boxes
    centre, side = (lo + hi) / 2, 2.0 * (hi - lo).max(1)
    x0 = (centre[:, 0] - side / 2).min()
    y0 = (centre[:, 1] - side / 2).min()
    x1 = (centre[:, 0] + side / 2).max()
    y1 = (centre[:, 1] + side / 2).max()
    big = round(max(x1 - x0, y1 - y0) * MARGIN)
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    return int(round(cx - big / 2)), int(round(cy - big / 2)), int(big)   # whole pixels: one resampling


def prepare_video(video: Path, out: Path, landmarks: Path, max_side: int = 512, max_frames: int = 240,
                  crf: int = 23) -> dict:
    import av

    numbers, points, found = _native_track(video, landmarks)
    if found.sum() < 2:
        raise UserError(f"{video.name}: fewer than two frames with a face")
    x, y, side = _square(points, found)
    size = int(min(max_side, round(side))) // 16 * 16
    keep = numbers[found]
    keep = keep[np.unique(np.linspace(0, len(keep) - 1, min(max_frames, len(keep))).round().astype(int))]
    wanted = set(int(n) for n in keep)
    scale = size / side
    target = out / f"{video.stem}.mp4"
    written = []
    # Encoded here with PyAV, not through export.video: these are training data, not outputs (no
    # provenance marks, which would teach the model the watermark), and core imports nothing above it.
    with atomic_path(target) as tmp, VideoReader(video) as source:
        container = av.open(str(tmp), "w", format="mp4")
        stream = container.add_stream("libx264", rate=25)
        stream.width = stream.height = size
        stream.pix_fmt = "yuv420p"
        stream.options = {"crf": str(crf), "preset": "medium"}
        try:
            for frame in source.frames(sorted(wanted)):
                cut = _shrink(frame.rgb, x, y, side, size)
                for packet in stream.encode(av.VideoFrame.from_ndarray(cut, format="rgb24")):
                    container.mux(packet)
                written.append(frame.index)
            for packet in stream.encode():
                container.mux(packet)
        finally:
            container.close()
    lookup = {int(n): i for i, n in enumerate(numbers)}
    # cut pixel centre u covers native pixels x + (u + 0.5) / scale - 0.5 (area averaging)
    cut_points = (points[[lookup[n] for n in written]] - np.array([x, y], np.float32) + 0.5) * scale - 0.5
    path = cache_path(target)
    path.parent.mkdir(parents=True, exist_ok=True)
    save_cache(path, np.arange(len(written)), cut_points, np.ones(len(written), bool))
    return {"video": video.name, "box": [x, y, side], "size": size, "frames": len(written),
            "source_frames": len(numbers), "bytes": target.stat().st_size}


def _shrink(rgb: np.ndarray, x0: int, y0: int, s: int, size: int) -> np.ndarray:
    """The square cut out (edges repeated beyond the frame) and shrunk by area averaging: a bilinear warp
    would alias the fine detail the high-resolution clips are kept for."""
    import cv2

    return cv2.resize(cut_box(rgb, x0, y0, s), (size, size), interpolation=cv2.INTER_AREA)


def prepare(source: str | os.PathLike, out: str | os.PathLike, landmarks: str | os.PathLike | None = None,
            max_side: int = 512, max_frames: int = 240, crf: int = 23, workers: int = 2,
            on_video: Callable[[Path, dict | UserError], None] | None = None) -> list[dict]:
    """Every video of `source` cut down into `out` (`prepare_video`), `workers` at a time; returns what
    each prepared video holds. A video that cannot be prepared is skipped: `on_video` is told each one's
    outcome (what it holds, or the UserError that skipped it) as it comes."""
    videos = find_videos(source)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    landmarks = Path(landmarks) if landmarks else out.parent / "landmarks"
    done = []
    with ProcessPoolExecutor(workers) as pool:
        jobs = {pool.submit(prepare_video, v, out, landmarks, max_side, max_frames, crf): v for v in videos}
        for job, video in jobs.items():
            try:
                done.append(job.result())
                outcome = done[-1]
            except UserError as e:
                outcome = e
            if on_video is not None:
                on_video(video, outcome)
    (out / "prepared.json").write_text(json.dumps(done, indent=1))
    return done
