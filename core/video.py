"""Reading videos, the one way the project decodes them: PyAV (FFmpeg).

Frames come out upright and as RGB uint8 whatever the file holds: the rotation of the display matrix (phones
record portrait video as rotated landscape) is applied, any pixel format (yuv420p, yuv444p 10 bit, gray,
...) is converted to rgb24, and each frame carries its own timestamp, so variable frame rate videos keep
their timing. `read_audio` gives the sound track as float samples with its rate.

Where PyAV is missing (the GPU training machine has only OpenCV), frames are read through OpenCV instead,
which rotates and converts them the same way; it cannot read audio.

`streams` says what a file holds (video, sound), `audio_offset` where the first picture sits in the sound.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Sequence

import numpy as np

from .errors import UserError

VIDEO_SUFFIXES = (".mp4", ".mov", ".m4v", ".avi", ".mkv", ".webm")
DEFAULT_FPS = 25.0   # for a container that states no usable frame rate


@dataclass(frozen=True)
class Frame:
    index: int          # in decoding order, from 0
    time: float         # seconds from the start of the stream
    rgb: np.ndarray     # H x W x 3 uint8, upright


def _usable(fps) -> float:
    fps = float(fps or 0)
    return fps if np.isfinite(fps) and 0 < fps < 1000 else DEFAULT_FPS


def _upright(rgb: np.ndarray, rotation: int) -> np.ndarray:
    """`rotation`: the display matrix's counterclockwise angle in degrees, as FFmpeg applies it."""
    turns = round(rotation / 90) % 4
    return np.ascontiguousarray(np.rot90(rgb, turns)) if turns else rgb


def _checked(path: str | os.PathLike) -> Path:
    path = Path(path)
    if not path.is_file():
        raise UserError(f"{path}: no such video file; check the path")
    return path


class VideoReader:
    """`with VideoReader(path) as video:` `video.fps`, `video.frame_count` (the container's figure, often
    wrong: 0 where unknown) and `video.frames()`, the frames in order."""

    def __init__(self, path: str | os.PathLike):
        self.path = _checked(path)
        try:
            import av
        except ImportError:
            av = None
        self._av = av
        if av is not None:
            try:
                self._container = av.open(str(self.path))
                stream = self._container.streams.video[0]
            except (OSError, IndexError, av.FFmpegError):
                raise UserError(f"{self.path} is not a video this program can read; convert it to MP4 (H.264)") from None
            stream.thread_type = "AUTO"
            self._stream = stream
            self.fps = _usable(stream.average_rate or stream.guessed_rate)
            self.frame_count = int(stream.frames or 0)
        else:
            import cv2

            self._capture = cv2.VideoCapture(str(self.path))
            if not self._capture.isOpened():
                raise UserError(f"{self.path} is not a video this program can read; convert it to MP4 (H.264)")
            # OpenCV's own turning is off by default in some builds and on in others: turn it off, read the
            # tag (clockwise degrees) and turn the frames here, as the PyAV path does
            self._capture.set(getattr(cv2, "CAP_PROP_ORIENTATION_AUTO", -1), 0)
            self._cv2_rotation = -int(self._capture.get(getattr(cv2, "CAP_PROP_ORIENTATION_META", -1)) or 0)
            self.fps = _usable(self._capture.get(cv2.CAP_PROP_FPS))
            self.frame_count = max(0, int(self._capture.get(cv2.CAP_PROP_FRAME_COUNT)))

    def frames(self, wanted: Sequence[int] | None = None) -> Iterator[Frame]:
        """Every frame, or only those at the `wanted` indices (the others are decoded but not converted,
        and decoding stops after the last one wanted)."""
        wanted = None if wanted is None else set(wanted)
        last = None if wanted is None else max(wanted, default=-1)
        for index, (time, convert) in enumerate(self.decoded()):
            if last is not None and index > last:
                return
            if wanted is None or index in wanted:
                yield Frame(index, time, convert())

    def decoded(self) -> Iterator[tuple[float, callable]]:
        """(timestamp, a function that converts the frame to upright RGB) for every frame that decodes."""
        return self._av_frames() if self._av is not None else self._cv2_frames()

    def _av_frames(self):
        av = self._av
        try:
            for frame in self._container.decode(self._stream):
                time = float(frame.time) if frame.time is not None else 0.0
                yield time, lambda f=frame: _upright(f.to_ndarray(format="rgb24"), f.rotation)
        except (OSError, av.FFmpegError):
            return   # a damaged tail: the frames before it stand

    def _cv2_frames(self):
        import cv2

        while self._capture.grab():
            time = self._capture.get(cv2.CAP_PROP_POS_MSEC) / 1000.0
            yield time, lambda: _upright(cv2.cvtColor(self._capture.retrieve()[1], cv2.COLOR_BGR2RGB),
                                         self._cv2_rotation)

    def close(self) -> None:
        if self._av is not None:
            self._container.close()
        else:
            self._capture.release()

    def __enter__(self) -> "VideoReader":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def count_frames(path: str | os.PathLike) -> int:
    """Frames that decode, counted by decoding (none is converted): container metadata is often wrong."""
    with VideoReader(path) as video:
        return sum(1 for _ in video.decoded())


def read_frames(path: str | os.PathLike, indices: Sequence[int] | None = None,
                limit: int | None = None) -> dict[int, np.ndarray]:
    """Frame index -> RGB of the frames at `indices` (all by default, at most `limit`)."""
    with VideoReader(path) as video:
        frames = {}
        for frame in video.frames(indices):
            frames[frame.index] = frame.rgb
            if limit is not None and len(frames) >= limit:
                break
        return frames


def read_audio(path: str | os.PathLike) -> tuple[np.ndarray, int]:
    """The first audio track as float32 samples `(channels, n)` in [-1, 1] and its sample rate."""
    path = _checked(path)
    try:
        import av
    except ImportError:
        raise UserError("reading audio needs PyAV: pip install av") from None
    try:
        with av.open(str(path)) as container:
            if not container.streams.audio:
                raise UserError(f"{path} has no audio track")
            stream = container.streams.audio[0]
            resampler = av.AudioResampler(format="fltp", layout=stream.layout.name, rate=stream.rate)
            chunks = []
            for frame in container.decode(stream):
                chunks += [f.to_ndarray() for f in resampler.resample(frame)]
            chunks += [f.to_ndarray() for f in resampler.resample(None)]
            rate = stream.rate
    except (OSError, av.FFmpegError) as e:
        raise UserError(f"{path} is not a file FFmpeg can read ({e}); check the file") from None
    if not chunks:
        raise UserError(f"{path}: its audio track holds no samples")
    return np.concatenate(chunks, axis=1).astype(np.float32), int(rate)


def streams(path: str | os.PathLike) -> tuple[bool, bool]:
    """(has a video track, has a sound track); (False, False) for a file FFmpeg cannot open."""
    path = _checked(path)
    import av

    try:
        with av.open(str(path)) as container:
            return bool(container.streams.video), bool(container.streams.audio)
    except (OSError, av.FFmpegError, ValueError):
        return False, False


def audio_offset(path: str | os.PathLike) -> float:
    """Seconds from the first sample of the file's sound track to the moment its first picture is shown
    (`export.video.write_video`'s `audio_offset` for the file's own sound); 0 where either is unknown."""
    import av

    try:
        with av.open(str(_checked(path))) as container:
            video, audio = container.streams.video[0], container.streams.audio[0]
            if video.start_time is None or audio.start_time is None:
                return 0.0
            return float(video.start_time * video.time_base - audio.start_time * audio.time_base)
    except (OSError, IndexError, av.FFmpegError):
        return 0.0
