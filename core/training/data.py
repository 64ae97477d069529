"""Talking-head videos as meta-learning episodes.

Every video's landmarks are detected once and cached beside the data (`<data>/.landmarks/<stem>.npz`, plain
arrays, no pickle). Frames are decoded once and held in memory as uint8 (on the GPU when training there);
each episode crops K reference frames and one target frame of the same video with one protocol crop
(2.0 x the landmark box of the first reference), on the fly, so that the crop moves with the head as it
does when a user picks a reference.
"""
from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from ..atomic import atomic_path
from ..errors import UserError
from ..progress import Progress, report
from ..video import VIDEO_SUFFIXES, read_frames

CACHE_VERSION = 1


def find_videos(data: str | os.PathLike) -> list[Path]:
    data = Path(data)
    if data.is_file():
        return [data]
    videos = sorted(p for p in data.iterdir() if p.suffix.lower() in VIDEO_SUFFIXES) if data.is_dir() else []
    if not videos:
        raise UserError(f"no videos ({', '.join(VIDEO_SUFFIXES)}) found in {data}: give a folder of talking-head videos")
    return videos


def cache_path(video: Path, cache_dir: Path | None = None) -> Path:
    return (cache_dir or video.parent / ".landmarks") / f"{video.stem}.npz"


def landmark_cache(video: Path, cache_dir: Path | None = None, progress: Progress | None = None):
    """(frame numbers, (N, 68, 2) points, (N,) found) for every frame of the video, computed once."""
    path = cache_path(video, cache_dir)
    if path.exists():
        with np.load(path, allow_pickle=False) as z:
            if int(z["version"]) == CACHE_VERSION:
                return z["frames"], z["points"].astype(np.float32), z["found"]
    from ..track.extract import extract_track

    track = extract_track(str(video), progress=progress)
    frames = np.asarray(track.frames, np.int64)
    points = np.asarray(track.points, np.float32)[..., :2]
    found = ~np.asarray(track.filled, bool)
    path.parent.mkdir(parents=True, exist_ok=True)
    save_cache(path, frames, points, found)
    return frames, points, found


def save_cache(path: Path, frames: np.ndarray, points: np.ndarray, found: np.ndarray) -> None:
    """A landmark cache: plain arrays (no pickle), points as float16 (a hundredth of a pixel is plenty)."""
    with atomic_path(path) as tmp, open(tmp, "xb") as f:
        np.savez_compressed(f, version=CACHE_VERSION, frames=frames, points=points.astype(np.float16), found=found)


def decode(video: Path) -> np.ndarray:
    """(N, H, W, 3) uint8: every frame of the video, upright."""
    frames = read_frames(video)
    if not frames:
        raise UserError(f"could not decode any frame of {video}: check the file plays")
    return np.stack([frames[i] for i in sorted(frames)])


class VideoSet:
    """Frames (uint8, on `device`) and landmarks of a list of videos; `episode()` draws a training batch."""

    def __init__(self, videos: list[Path], device="cpu", cache_dir: Path | None = None,
                 progress: Progress | None = None, max_frames: int | None = None):
        self.names, self.frames, self.points, self.hard = [], [], [], []
        for i, video in enumerate(videos):
            report(progress, i, len(videos), f"landmarks: {video.name}")
            landmark_cache(video, cache_dir)
        report(progress, len(videos), len(videos), "landmarks")
        with ThreadPoolExecutor(max(1, min(8, os.cpu_count() or 1))) as pool:
            decoded = list(pool.map(decode, videos))
        for video, rgb in zip(videos, decoded):
            numbers, points, found = landmark_cache(video, cache_dir)
            keep = found & (numbers < len(rgb))
            numbers, points = numbers[keep], points[keep]
            if max_frames:
                numbers, points = numbers[:max_frames], points[:max_frames]
            if len(numbers) < 2:
                continue
            self.names.append(video.name)
            self.frames.append(torch.from_numpy(rgb[numbers]).permute(0, 3, 1, 2).contiguous().to(device))
            self.points.append(torch.from_numpy(points).to(device))
            self.hard.append(torch.from_numpy(np.flatnonzero(hard_frames(points))).to(device))
        if not self.frames:
            raise UserError("no video had at least two frames with a detected face: check the data folder")
        self.device = device

    def __len__(self) -> int:
        return len(self.frames)

    def episode(self, batch: int, shots: int, size: int, generator: torch.Generator | None = None,
                jitter: float = 0.05, hard_targets: float = 0.0) -> dict:
        """K=shots reference frames and one target frame per sample, all cropped with the first reference's
        protocol crop (randomly scaled and shifted by up to `jitter`). A share `hard_targets` of the targets
        is drawn from the video's blinks and wide-open mouths, which are rare in talking-head video."""
        rand = lambda *s: torch.rand(*s, generator=generator)
        videos = torch.randint(len(self.frames), (batch,), generator=generator)
        images, points = [], []
        for v in videos.tolist():
            n = len(self.frames[v])
            pick = torch.randperm(n, generator=generator)[: shots + 1] if n > shots else torch.randint(n, (shots + 1,), generator=generator)
            hard = self.hard[v]
            if len(hard) and rand(()).item() < hard_targets:
                pick[-1] = hard[torch.randint(len(hard), (), generator=generator)].cpu()
            pts = self.points[v][pick.to(self.device)]
            lo, hi = pts[0].min(0).values, pts[0].max(0).values
            side = 2.0 * (hi - lo).max() * (1 + jitter * (2 * rand(()) - 1)).item()
            centre = (lo + hi) / 2 + side * jitter * (2 * rand(2) - 1).to(self.device)
            box = torch.stack([centre[0] - side / 2, centre[1] - side / 2, side])
            frames = self.frames[v][pick.to(self.device)].float() / 255
            images.append(crop(frames, box, size))
            points.append((pts - box[:2]) * size / box[2])
        images, points = torch.stack(images), torch.stack(points)     # (B, K+1, 3, S, S), (B, K+1, 68, 2)
        return {"references": images[:, :shots], "ref_points": points[:, :shots],
                "target": images[:, shots], "target_points": points[:, shots], "video": videos.to(self.device)}


def hard_frames(points: np.ndarray) -> np.ndarray:
    """(N,) True on frames (N, 68, 2) with a blink (eyes open under half the video's median) or a wide-open
    mouth (inner lips more than 0.15 eye spans apart): the evaluation's blink and open-mouth frames."""
    def gap(top, bottom):
        return np.linalg.norm(points[:, top].mean(1) - points[:, bottom].mean(1), axis=-1)

    span = np.linalg.norm(points[:, 36] - points[:, 45], axis=-1).clip(1e-3)
    eyes = (gap([37, 38], [41, 40]) + gap([43, 44], [47, 46])) / 2
    mouth = gap([61, 62, 63], [67, 66, 65]) / span
    return (eyes < 0.5 * np.median(eyes)) | (mouth > 0.15)


def crop(frames: torch.Tensor, box: torch.Tensor, size: int) -> torch.Tensor:
    """The protocol crop (x, y, side) of (N, 3, H, W) frames to (N, 3, size, size), bilinear, edges repeated."""
    n, _, h, w = frames.shape
    x, y, side = box[0], box[1], box[2]
    scale = side / size
    # crop pixel u samples image pixel x + u * scale; normalise both with align_corners=True
    theta = torch.zeros(n, 2, 3, device=frames.device, dtype=frames.dtype)
    theta[:, 0, 0] = scale * (size - 1) / (w - 1)
    theta[:, 0, 2] = 2 * (x + scale * (size - 1) / 2) / (w - 1) - 1
    theta[:, 1, 1] = scale * (size - 1) / (h - 1)
    theta[:, 1, 2] = 2 * (y + scale * (size - 1) / 2) / (h - 1) - 1
    grid = F.affine_grid(theta, (n, 3, size, size), align_corners=True)
    return F.grid_sample(frames, grid, mode="bilinear", padding_mode="border", align_corners=True)
