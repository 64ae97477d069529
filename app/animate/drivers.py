"""What drives an animation: a video (tracked), a landmark track, expression curves or a sound (lip-synced),
each read into a `Driver`: landmarks on the reference face, cached in the output folder."""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ...core.errors import UserError
from ..output import bar
from .workspace import Workspace, cache_key, digest

AUDIO_SUFFIXES = (".wav", ".mp3", ".flac", ".ogg", ".oga", ".opus", ".m4a", ".aac", ".aif", ".aiff", ".wma")
KINDS = ("video", "track", "curves", "audio")
DEFAULT_AUDIO_FPS = 25.0


def driver_kind(path: str | os.PathLike) -> str:
    """What the driver is: video, track, curves or audio; a UserError for a missing file or another kind."""
    from ...core.lipsync.curves import FORMAT as CURVES_FORMAT
    from ...core.track.track_file import FORMAT as TRACK_FORMAT
    from ...core.video import VIDEO_SUFFIXES, streams

    path = Path(path)
    if not path.is_file():
        raise UserError(f"{path}: no such driver file; give a video, a track or expression-curve JSON, or a sound file")
    remedy = ("give a video, a landmark track (`python -m core track`), expression curves (`python -m core "
              "lipsync`) or a sound file")
    with open(path, "rb") as f:
        head = f.read(4096)
    if path.suffix.lower() == ".json" or head.lstrip()[:1] == b"{":
        from ...core.text_file import parse_json, read_text

        data = parse_json(read_text(path, "driver file", remedy), str(path), remedy)
        kind = {TRACK_FORMAT: "track", CURVES_FORMAT: "curves"}.get(data.get("format") if isinstance(data, dict) else None)
        if kind is None:
            raise UserError(f"{path} is JSON but neither a landmark track nor expression curves; {remedy}")
        return kind
    has_video, has_audio = streams(path)
    if has_video and path.suffix.lower() not in AUDIO_SUFFIXES:   # an MP3's cover art is not a video
        return "video"
    if has_audio:
        return "audio"
    if path.suffix.lower() in VIDEO_SUFFIXES:
        raise UserError(f"{path} is not a video this program can read; convert it to MP4 (H.264)")
    raise UserError(f"{path} is a driver of unknown kind; {remedy}")


@dataclass
class Driver:
    """The driver as a track in the reference photo's pixels, and what it came from."""

    kind: str
    track: object                               # core.track.track_file.Track, in the photo's pixels
    sound: Path | None = None                   # the sound for the MP4, if any
    sound_offset: float = 0.0
    notes: list[str] = field(default_factory=list)
    files: dict[str, object] = field(default_factory=dict)     # cache name -> (key, text) to write in DIR
    reused: list[str] = field(default_factory=list)             # cache names found in DIR and used


def cached_step(workspace: Workspace, driver: Driver, name: str, key: str, kind, label: str, compute):
    """A step's result (a `kind`: Track or ExpressionCurves) from the workspace if it was made from `key`,
    else computed with a progress bar called `label` and queued in `driver.files` to be written. A computed
    result is returned as a rerun will read it back: the same, to the bit."""
    cached = workspace.cached(name, key)
    if cached is not None:
        driver.reused.append(name)
        return kind.load(cached)
    progress = bar(label)
    try:
        result = compute(progress)
    finally:
        close_bar(progress)
    text = result.to_json()
    driver.files[name] = (key, text)
    return kind.from_dict(json.loads(text))


def video_driver(path: Path, workspace: Workspace, reference: np.ndarray, size, mode: str, neutral: int | None,
                  backend: str, stride: int) -> Driver:
    from ...core.track.extract import extract_track
    from ...core.track.retarget import retarget_track
    from ...core.track.track_file import Track
    from ...core.video import audio_offset, streams

    driver = Driver("video", None)
    key = cache_key("driver_track", digest(path), backend, stride)
    raw = cached_step(workspace, driver, "driver_track", key, Track, "landmarks",
                       lambda progress: extract_track(path, progress=progress, stride=stride, backend=backend))
    driver.notes.append(f"track: {path.name}, {len(raw)} frames at {raw.fps:g} fps, "
                        f"{int(raw.filled.sum())} without a face (filled)")
    driver.track = retarget_track(raw, reference, size, mode, neutral)
    if streams(path)[1]:
        driver.sound, driver.sound_offset = path, audio_offset(path)
    return driver


def track_driver(path: Path, reference: np.ndarray, size, mode: str, neutral: int | None) -> Driver:
    from ...core.track.retarget import retarget_track
    from ...core.track.track_file import Track

    raw = Track.load(path)
    driver = Driver("track", retarget_track(raw, reference, size, mode, neutral))
    driver.notes.append(f"track: {path.name}, {len(raw)} frames at {raw.fps:g} fps")
    return driver


def curves_track(curves, path: Path, reference: np.ndarray, size, driver: Driver):
    from ...core.track.expression import expression_track

    track, skipped = expression_track(reference, size, list(curves.keys), curves.weights, curves.fps, path.name)
    driver.notes.append(f"expressions: {path.name}, {curves.frame_count} frames at {curves.fps:g} fps, "
                        f"{len(curves.keys) - len(skipped)} of {len(curves.keys)} keys on the rig"
                        + (f" (no shape for {', '.join(skipped)})" if skipped else ""))
    return track


def curves_driver(path: Path, reference: np.ndarray, size) -> Driver:
    from ...core.lipsync.curves import ExpressionCurves
    from ...core.video import streams

    curves = ExpressionCurves.load(path)
    driver = Driver("curves", None)
    driver.track = curves_track(curves, path, reference, size, driver)
    beside = path.parent / curves.source if curves.source else None
    if beside is not None and beside.is_file() and beside.resolve() != path.resolve() and streams(beside)[1]:
        driver.sound = beside            # the recording the curves were made from, where it still lies
    return driver


def audio_driver(path: Path, workspace: Workspace, reference: np.ndarray, size, fps: float | None) -> Driver:
    from ...core.lipsync.curves import ExpressionCurves
    from ...core.lipsync.sync import lipsync

    fps = fps or DEFAULT_AUDIO_FPS
    driver = Driver("audio", None, sound=path)
    key = cache_key("curves", digest(path), fps)
    curves = cached_step(workspace, driver, "curves", key, ExpressionCurves, "lipsync",
                          lambda progress: lipsync(path, fps=fps, progress=progress))
    driver.track = curves_track(curves, path, reference, size, driver)
    return driver


def close_bar(progress) -> None:
    if progress is not None:
        progress.close()
