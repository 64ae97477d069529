"""MP4 previews: H.264, yuv420p, at the scene's frame rate, encoded by FFmpeg's libx264 through PyAV; with
sound (AAC) when an audio file is given.

yuv420p halves the colour resolution, so H.264 needs even frame sizes: an odd width or height gets one
more column or row repeating the edge (nothing is cropped). Every frame is watermarked before encoding (the
mark lives in the luminance at low frequencies, which H.264 keeps at the quality used here), the container
carries the provenance statement as its comment and description, and the file gets the XMP packet
(`xmp.embed_mp4`) and, with a `signer`, a C2PA manifest: both after the container is closed and before the
rename, so the manifest's hash covers the finished file. The file is written under a temporary name and
renamed when complete.

**Sound.** `audio` is a sound file or a video whose first audio track is used (decoded by
`core.video.read_audio`). It is encoded as AAC (mono or stereo; more channels are mixed down to stereo, and
a sample rate AAC lacks is resampled to 48 kHz) in step with the frames: `audio_offset` is the time in the
sound, in seconds from its first sample, where frame 0 sits (negative: silence before the sound starts).
The track is cut or padded with silence to the video's length, frame count / fps.
"""
from __future__ import annotations

import errno
import os
from fractions import Fraction
from pathlib import Path
from typing import Iterable, Iterator

import numpy as np

from ..core.atomic import atomic_path
from ..core.errors import UserError
from ..core.progress import Progress, report
from ..core.video import count_frames, read_audio, read_frames
from . import provenance, xmp

CRF = 16                 # x264 quality: visually lossless; 23 is FFmpeg's default
SMALL_CRF, SMALL_SIDE = 12, 256
# x264 drops faint residuals from predicted frames (DCT decimation, dead zones); that would drop the
# watermark wherever the picture moves. The film-grain tuning keeps them: with it, every frame of moving
# 256 x 256 and 512 x 512 test clips kept the mark (score >= 8.5; 2.8 without), at about 5 KB a 256 x 256
# frame. Frames under 256 pixels hold the mark in fewer pixels and get CRF 12 (score >= 8.8 at 128 x 128).
X264_OPTIONS = {"preset": "medium", "tune": "grain"}
AUDIO_CODEC = "aac"
AUDIO_BIT_RATE = 96_000              # per channel: transparent for speech and music at AAC-LC
AUDIO_FALLBACK_RATE = 48_000         # for a sample rate the AAC encoder does not take
AUDIO_FRAME = 1024                   # samples per AAC-LC frame
LAYOUTS = {1: "mono", 2: "stereo", 3: "2.1", 4: "quad", 5: "5.0", 6: "5.1", 7: "6.1", 8: "7.1"}


def frame_rate(fps: float) -> Fraction:
    """`fps` as an exact rational (29.97 -> 2997/100, 30000/1001 stays 30000/1001)."""
    if not fps > 0 or fps > 1000:
        raise UserError(f"the frame rate must be between 0 and 1000 fps, not {fps}")
    return Fraction(fps).limit_denominator(1001)


def _even(rgb: np.ndarray) -> np.ndarray:
    h, w = rgb.shape[:2]
    if h % 2 == 0 and w % 2 == 0:
        return rgb
    return np.pad(rgb, ((0, h % 2), (0, w % 2), (0, 0)), mode="edge")


def _as_rgb8(frame: np.ndarray) -> np.ndarray:
    frame = np.asarray(frame)
    if frame.ndim != 3 or frame.shape[2] not in (3, 4):
        raise UserError(f"video frames must be H x W x 3 RGB images, not {frame.shape}")
    frame = frame[..., :3]
    if frame.dtype == np.uint8:
        return frame
    if frame.dtype == np.uint16:
        return ((frame.astype(np.uint32) + 128) // 257).astype(np.uint8)
    if np.issubdtype(frame.dtype, np.floating):
        return np.rint(np.clip(frame, 0.0, 1.0) * 255).astype(np.uint8)
    raise UserError(f"video frames must be uint8, uint16 or float in [0, 1], not {frame.dtype}")


def write_video(path: str | os.PathLike, frames: Iterable[np.ndarray], fps: float, *, crf: int | None = None,
                watermark: bool = True, overwrite: bool = False, total: int | None = None,
                progress: Progress | None = None, audio: str | os.PathLike | None = None,
                audio_offset: float = 0.0, signer=None) -> Path:
    """Encode `frames` (sRGB images of one size) to an MP4 at `fps`; returns the path.

    `crf`: x264's quality (lower is better); by default 16, or 12 for frames under 256 pixels. `audio`: a
    sound file or a video whose sound to use, `audio_offset` the time in it where frame 0 sits (see the
    module docstring). `signer` (`content_credentials.Signer`): sign the finished file."""
    import av

    path = Path(path)
    if path.suffix.lower() != ".mp4":
        raise UserError(f"{path}: the video is written as MP4; give a name ending in .mp4")
    if not overwrite and path.exists():
        raise UserError(f"{path} already exists; choose another --out or allow overwriting")
    if not path.parent.is_dir():
        raise UserError(f"{path.parent} is not a folder; create it or choose another --out")
    rate = frame_rate(fps)
    sound = Sound(audio, audio_offset) if audio is not None else None   # a bad sound file fails before encoding
    count = 0
    with atomic_path(path) as tmp:
        try:
            with av.open(str(tmp), mode="w", format="mp4") as container:
                container.metadata["comment"] = provenance.STATEMENT
                container.metadata["description"] = provenance.STATEMENT
                stream = track = None
                for frame in frames:
                    rgb = _even(_as_rgb8(frame))
                    if stream is None:
                        stream = container.add_stream("libx264", rate=rate)
                        stream.height, stream.width = rgb.shape[:2]
                        stream.pix_fmt = "yuv420p"
                        size = rgb.shape
                        quality = crf if crf is not None else SMALL_CRF if min(size[:2]) < SMALL_SIDE else CRF
                        stream.options = {"crf": str(quality), **X264_OPTIONS}
                        track = sound.track(container) if sound else None
                    elif rgb.shape != size:
                        raise UserError(f"frame {count} is {rgb.shape[1]}x{rgb.shape[0]}, the first "
                                        f"{size[1]}x{size[0]}; all frames of a video must have the same size")
                    if watermark:
                        rgb = provenance.mark(rgb)
                    container.mux(stream.encode(av.VideoFrame.from_ndarray(rgb, format="rgb24")))
                    count += 1
                    if track:
                        track.encode_until(count / rate, final=False)   # interleaved with the pictures
                    report(progress, count, total or count, "video: encoding")
                if stream is None:
                    raise UserError("no frames to encode; check the frames folder")
                container.mux(stream.encode(None))
                if track:
                    track.encode_until(count / rate, final=True)
        except OSError as e:       # PyAV's errors are OSErrors and carry FFmpeg's errno: disk errors are ours
            if e.errno in (errno.ENOSPC, errno.EACCES, errno.EPERM, errno.EROFS, errno.EDQUOT):
                raise
            raise UserError(f"FFmpeg could not write {path}: {e}; check the frames and the disk") from None
        xmp.embed_mp4(tmp)                                   # XMP first: the manifest's hash covers it
        if signer is not None:
            signer.sign_file(tmp, title=path.name, media_type="video/mp4")
    return path


class Sound:
    """An audio file's samples made ready for AAC: float32 `(channels, n)`, mono or stereo, at a rate AAC
    takes; `offset` seconds in it is where the video starts."""

    def __init__(self, source: str | os.PathLike, offset: float = 0.0):
        if not np.isfinite(offset):
            raise UserError(f"the audio offset must be a number of seconds, not {offset}")
        samples, rate = read_audio(source)
        if samples.shape[0] > 2 or rate not in _aac_rates():
            samples, rate = _resampled(samples, rate, min(samples.shape[0], 2),
                                       rate if rate in _aac_rates() else AUDIO_FALLBACK_RATE)
        self.samples, self.rate, self.start = samples, rate, round(offset * rate)

    def window(self, begin: int, end: int) -> np.ndarray:
        """Samples `begin` to `end` of the video's sound track (its sample 0 is at frame 0): the sound
        where it has them, silence elsewhere."""
        out = np.zeros((self.samples.shape[0], end - begin), np.float32)
        lo, hi = max(begin + self.start, 0), min(end + self.start, self.samples.shape[1])
        if hi > lo:
            out[:, lo - begin - self.start:hi - begin - self.start] = self.samples[:, lo:hi]
        return out

    def track(self, container) -> "_AudioTrack":
        return _AudioTrack(container, self)


class _AudioTrack:
    """The AAC stream of one MP4, encoded in 1024-sample frames as the pictures advance."""

    def __init__(self, container, sound: Sound):
        self.container, self.sound, self.done = container, sound, 0
        layout = LAYOUTS[sound.samples.shape[0]]
        self.stream = container.add_stream(AUDIO_CODEC, rate=sound.rate, layout=layout)
        self.stream.bit_rate = AUDIO_BIT_RATE * sound.samples.shape[0]
        self.layout = layout

    def encode_until(self, seconds: float, *, final: bool) -> None:
        """Encode the sound up to `seconds` of video time: whole frames only, or (`final`) everything up to
        exactly that time, then flush the encoder."""
        import av

        end = round(seconds * self.sound.rate)
        while self.done < end and (final or end - self.done >= AUDIO_FRAME):
            n = min(AUDIO_FRAME, end - self.done)
            frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(self.sound.window(self.done, self.done + n)),
                                               format="fltp", layout=self.layout)
            frame.sample_rate, frame.pts, frame.time_base = self.sound.rate, self.done, Fraction(1, self.sound.rate)
            self.container.mux(self.stream.encode(frame))
            self.done += n
        if final:
            self.container.mux(self.stream.encode(None))


def _aac_rates() -> tuple[int, ...]:
    import av

    return tuple(av.codec.Codec(AUDIO_CODEC, "w").audio_rates or (AUDIO_FALLBACK_RATE,))


def _resampled(samples: np.ndarray, rate: int, channels: int, target: int) -> tuple[np.ndarray, int]:
    """FFmpeg's resampler: mix down to `channels` (1 or 2) and convert to `target` Hz."""
    import av

    source = LAYOUTS.get(samples.shape[0])
    if source is None:
        raise UserError(f"the sound has {samples.shape[0]} channels; give a file with at most 8")
    resampler = av.AudioResampler(format="fltp", layout=LAYOUTS[channels], rate=target)
    out = []
    for at in range(0, samples.shape[1], 1 << 16):
        frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(samples[:, at:at + (1 << 16)]), format="fltp",
                                           layout=source)
        frame.sample_rate = rate
        out += [f.to_ndarray() for f in resampler.resample(frame)]
    out += [f.to_ndarray() for f in resampler.resample(None)]
    return np.concatenate(out, axis=1).astype(np.float32), target


def sequence_frames(paths: Iterable[str | os.PathLike]) -> Iterator[np.ndarray]:
    """Each frame file as float sRGB RGB for `write_video`; alpha is composited over black, as Blender shows
    it (MP4 has no alpha)."""
    from .sequence import read_srgb

    for path in paths:
        pixels = read_srgb(path)
        yield pixels[..., :3] * pixels[..., 3:] if pixels.shape[2] == 4 else pixels


def read_video(path: str | os.PathLike, limit: int | None = None) -> list[np.ndarray]:
    """Decode up to `limit` frames (all by default) as uint8 RGB arrays, through `core.video`."""
    frames = list(read_frames(path, limit=limit).values())
    if not frames:
        raise UserError(f"{path} holds no video frames")
    return frames


def video_info(path: str | os.PathLike) -> dict:
    """Frame count, frame rate, size and container tags of a video file (the encoder's settings, as written),
    and its sound track's codec, rate, channels and duration in seconds ("audio": None without one)."""
    import av

    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        info = {"frames": count_frames(path), "fps": stream.average_rate, "width": stream.codec_context.width,
                "height": stream.codec_context.height, "codec": stream.codec_context.name,
                "pix_fmt": stream.codec_context.pix_fmt, "metadata": dict(container.metadata), "audio": None}
        if container.streams.audio:
            sound = container.streams.audio[0]
            duration = float(sound.duration * sound.time_base) if sound.duration is not None else None
            info["audio"] = {"codec": sound.codec_context.name, "rate": sound.rate,
                             "channels": sound.codec_context.channels, "duration": duration}
        return info
