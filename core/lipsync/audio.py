"""Audio loading: a WAV, an MP3 or the audio track of a video, as mono 16 kHz float32 in [-1, 1].

PyAV decodes and resamples (`av.AudioResampler`), so anything FFmpeg reads works: WAV, MP3, FLAC, OGG, M4A,
and the first audio stream of MP4, MOV or MKV files. Bad input is refused with one `UserError` line: a file
that is not audio, one without an audio stream, no samples (0 s), longer than `MAX_SECONDS`, or a sample rate
that cannot be read.

Why not `core.video.read_audio` (the project's other audio reader): it decodes the whole track at its own rate
and channel layout, in one go, then returns. Lip sync needs what it does not do: refusing an hours-long file
from its declared length *before* decoding it and stopping a stream without a declared length at
`MAX_SECONDS` (read_audio would hold an hour of 48 kHz stereo, 1.4 GB, in memory first), progress and Esc
while decoding, mono 16 kHz out of FFmpeg's resampler, and the one-line messages of an audio file (read_audio
says "no such video file", and cannot tell a WAV of an unreadable sample rate from a damaged file). When
read_audio gains `rate`, `mono`, `max_seconds` and `progress` arguments this module can call it.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import UserError, one_line
from ..progress import Progress, report

RATE = 16000                 # what PocketSphinx's English model was trained on
MAX_SECONDS = 30 * 60        # longer files are refused: split them into takes
MIN_RATE, MAX_RATE = 4000, 768000


@dataclass(frozen=True)
class Audio:
    """`samples` (N,) float32 mono in [-1, 1] at `rate` Hz; `source` is the file's name."""

    samples: np.ndarray
    rate: int
    source: str

    @property
    def duration(self) -> float:
        return len(self.samples) / self.rate


def load_audio(path: str | os.PathLike, progress: Progress | None = None,
               max_seconds: float = MAX_SECONDS) -> Audio:
    """Decode the first audio stream of `path` to mono `RATE` Hz float32."""
    import av

    path = Path(path)
    if not path.is_file():
        raise UserError(f"{path}: no such audio file; check the path")
    try:
        container = av.open(str(path))
    except (av.error.FFmpegError, UnicodeDecodeError, ValueError) as e:
        rate = _wav_header_rate(path)
        if rate is not None and not MIN_RATE <= rate <= MAX_RATE:
            raise UserError(f"{path.name} has a sample rate that cannot be read ({rate} Hz); convert it to a "
                            f"16 or 44.1 kHz WAV") from e
        raise UserError(f"{path.name} is not an audio or video file this program can read "
                        f"({one_line(e)}); convert it to WAV or MP3") from e
    try:
        if not container.streams.audio:
            raise UserError(f"{path.name} has no audio stream; use a WAV or MP3 file, or a video with sound")
        stream = container.streams.audio[0]
        rate = stream.codec_context.sample_rate or stream.rate or 0
        if not MIN_RATE <= rate <= MAX_RATE:
            raise UserError(f"{path.name} has a sample rate that cannot be read ({rate} Hz); convert it to a "
                            f"16 or 44.1 kHz WAV")
        expected = _declared_seconds(container, stream)
        if expected is not None and expected > max_seconds:
            raise UserError(f"{path.name} is {expected / 60:.0f} minutes long, more than the "
                            f"{max_seconds / 60:.0f} allowed; split it into shorter takes")
        samples = _decode(container, stream, path.name, expected, max_seconds, progress)
    finally:
        container.close()
    if len(samples) == 0:
        raise UserError(f"{path.name} holds no audio samples (0 s); use a file with sound in it")
    return Audio(samples, RATE, path.name)


def _wav_header_rate(path: Path) -> int | None:
    """The sample rate a RIFF/WAVE file's `fmt ` chunk declares, or None if it is not one."""
    try:
        with open(path, "rb") as f:
            head = f.read(4096)
    except OSError:
        return None
    if head[:4] != b"RIFF" or head[8:12] != b"WAVE":
        return None
    at = head.find(b"fmt ", 12)
    if at < 0 or len(head) < at + 16:
        return None
    return int.from_bytes(head[at + 12:at + 16], "little")


def _declared_seconds(container, stream) -> float | None:
    if stream.duration is not None and stream.time_base is not None:
        return float(stream.duration * stream.time_base)
    if container.duration is not None:
        return container.duration / 1_000_000   # av.time_base
    return None


def _decode(container, stream, name: str, expected: float | None, max_seconds: float,
            progress: Progress | None) -> np.ndarray:
    import av

    resampler = av.AudioResampler(format="flt", layout="mono", rate=RATE)
    limit = int(max_seconds * RATE)
    total = max(1, int((expected or 0) * RATE))
    chunks: list[np.ndarray] = []
    count, reported = 0, 0

    def take(frames) -> None:
        nonlocal count
        for frame in frames:
            block = frame.to_ndarray().reshape(-1).astype(np.float32, copy=False)
            chunks.append(block)
            count += len(block)

    try:
        for frame in container.decode(stream):
            take(resampler.resample(frame))
            if count > limit:
                raise UserError(f"{name} is longer than the {max_seconds / 60:.0f} minutes allowed; split it "
                                f"into shorter takes")
            if count - reported >= RATE:   # about once per second of audio
                reported = count
                report(progress, min(count, total), max(total, count), "audio: decoding")
        take(resampler.resample(None))
    except av.error.FFmpegError as e:
        raise UserError(f"{name}: its audio cannot be decoded ({one_line(e)}); convert it to WAV or "
                        f"MP3") from e
    report(progress, count, max(count, 1), "audio: decoding")
    if not chunks:
        return np.zeros(0, dtype=np.float32)
    samples = np.concatenate(chunks)
    return np.clip(np.nan_to_num(samples), -1.0, 1.0)

