"""MP4 previews: H.264, yuv420p, at the scene's frame rate, encoded by FFmpeg's libx264 through PyAV.

yuv420p halves the colour resolution, so H.264 needs even frame sizes: an odd width or height gets one
more column or row repeating the edge (nothing is cropped). Every frame is watermarked before encoding (the
mark lives in the luminance at low frequencies, which H.264 keeps at the quality used here), and the
container carries the provenance statement as its comment and description. The file is written under a
temporary name and renamed when complete.
"""
from __future__ import annotations

import errno
import os
from fractions import Fraction
from pathlib import Path
from typing import Iterable

import numpy as np

from core.errors import UserError
from core.progress import Progress, report
from export import provenance
from export.sequence import _remove_quietly, _write_error, temporary_path

CRF = 16                 # x264 quality: visually lossless; 23 is FFmpeg's default
SMALL_CRF, SMALL_SIDE = 12, 256
# x264 drops faint residuals from predicted frames (DCT decimation, dead zones); that would drop the
# watermark wherever the picture moves. The film-grain tuning keeps them: with it, every frame of moving
# 256 x 256 and 512 x 512 test clips kept the mark (score >= 8.5; 2.8 without), at about 5 KB a 256 x 256
# frame. Frames under 256 pixels hold the mark in fewer pixels and get CRF 12 (score >= 8.8 at 128 x 128).
X264_OPTIONS = {"preset": "medium", "tune": "grain"}


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
                progress: Progress | None = None) -> Path:
    """Encode `frames` (sRGB images of one size) to an MP4 at `fps`; returns the path.

    `crf`: x264's quality (lower is better); by default 16, or 12 for frames under 256 pixels."""
    import av

    path = Path(path)
    if path.suffix.lower() != ".mp4":
        raise UserError(f"{path}: the video is written as MP4; give a name ending in .mp4")
    if not overwrite and path.exists():
        raise UserError(f"{path} already exists; choose another --out or allow overwriting")
    if not path.parent.is_dir():
        raise UserError(f"{path.parent} is not a folder; create it or choose another --out")
    rate = frame_rate(fps)
    tmp = temporary_path(path).with_suffix(".mp4")
    count = 0
    try:
        with av.open(str(tmp), mode="w", format="mp4") as container:
            container.metadata["comment"] = provenance.STATEMENT
            container.metadata["description"] = provenance.STATEMENT
            stream = None
            for frame in frames:
                rgb = _even(_as_rgb8(frame))
                if stream is None:
                    stream = container.add_stream("libx264", rate=rate)
                    stream.height, stream.width = rgb.shape[:2]
                    stream.pix_fmt = "yuv420p"
                    size = rgb.shape
                    quality = crf if crf is not None else SMALL_CRF if min(size[:2]) < SMALL_SIDE else CRF
                    stream.options = {"crf": str(quality), **X264_OPTIONS}
                elif rgb.shape != size:
                    raise UserError(f"frame {count} is {rgb.shape[1]}x{rgb.shape[0]}, the first "
                                    f"{size[1]}x{size[0]}; all frames of a video must have the same size")
                if watermark:
                    rgb = provenance.mark(rgb)
                container.mux(stream.encode(av.VideoFrame.from_ndarray(rgb, format="rgb24")))
                count += 1
                report(progress, count, total or count, "video: encoding")
            if stream is None:
                raise UserError("no frames to encode; check the frames folder")
            container.mux(stream.encode(None))
        os.replace(tmp, path)
    except OSError as e:           # PyAV's errors are OSErrors and carry FFmpeg's errno
        _remove_quietly(tmp)
        if e.errno in (errno.ENOSPC, errno.EACCES, errno.EPERM, errno.EROFS, errno.EDQUOT):
            raise _write_error(e, path) from None
        raise UserError(f"FFmpeg could not write {path}: {e}; check the frames and the disk") from None
    except BaseException:
        _remove_quietly(tmp)
        raise
    return path


def read_video(path: str | os.PathLike, limit: int | None = None) -> list[np.ndarray]:
    """Decode up to `limit` frames (all by default) as uint8 RGB arrays."""
    import av

    path = Path(path)
    frames = []
    try:
        with av.open(str(path)) as container:
            for frame in container.decode(video=0):
                frames.append(frame.to_ndarray(format="rgb24"))
                if limit is not None and len(frames) >= limit:
                    break
    except (OSError, av.FFmpegError) as e:
        raise UserError(f"{path} is not a video FFmpeg can read ({e}); check the file") from None
    if not frames:
        raise UserError(f"{path} holds no video frames")
    return frames


def video_info(path: str | os.PathLike) -> dict:
    """Frame count, frame rate, size and container tags of a video file."""
    import av

    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        count = sum(1 for _ in container.decode(video=0))
        return {"frames": count, "fps": stream.average_rate, "width": stream.codec_context.width,
                "height": stream.codec_context.height, "codec": stream.codec_context.name,
                "pix_fmt": stream.codec_context.pix_fmt, "metadata": dict(container.metadata)}
