"""Photos and a driver to frames and an MP4 with sound, in one call (`python -m core animate PHOTO... --driver
DRIVER --out DIR`, app/commands/animate.py).

The driver is a video (its face is tracked), a landmark track (JSON, `python -m core track`), an
expression-curve file (JSON, `python -m core lipsync`: its ARKit weights move the photo's face through the
rig's expression model, `core.face.expressions`) or a sound file (lip-synced into curves first). The steps:

1. **detect**: the 68 landmarks of each photo. The first photo is the reference: frames have its size and
   framing.
2. **track**: the driver as landmarks (a video is tracked; a phone's rotation tag is applied).
3. **retarget**: a video's or track's motion onto the reference face (`--retarget relative`, the default,
   keeps the photo's face shape; `absolute` keeps the driver's). Curves move the photo's own face.
4. **fine-tune**: the person model, kept in DIR and reused while the photos, their landmarks, the preset and
   the prior are the same.
5. **generate**: `app.generate.generate`, which renders only the frames that are missing.
6. **video**: DIR/animation.mp4 with the driver's sound (a video's own, the sound file, or `--audio`),
   encoded again only when the frames or the sound changed.

So a second run with the same inputs fine-tunes nothing and renders nothing, and a run that was stopped
carries on where it stopped. Every input is read and the driver tracked before anything is written: bad
input is a one-line error that leaves DIR as it was. DIR belongs to this command: `animate.json` in it
records what it wrote and from what (the keys of the cached steps), and a folder that holds other files is
refused.
"""
from __future__ import annotations

import hashlib
import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..core.errors import UserError
from ..core.presets import DEFAULT_PRESET, Preset
from ..core.progress import Progress
from .output import bar, info

MANIFEST = "animate.json"
FORMAT = "neural-talking-heads/animate"
VERSION = 1
FILES = {"person": "person.safetensors", "driver_track": "driver_track.json", "curves": "curves.json",
         "track": "track.json", "frames": "frames", "video": "animation.mp4"}
FRAME_NAME = "frame_"
AUDIO_SUFFIXES = (".wav", ".mp3", ".flac", ".ogg", ".oga", ".opus", ".m4a", ".aac", ".aif", ".aiff", ".wma")
KINDS = ("video", "track", "curves", "audio")
DEFAULT_AUDIO_FPS = 25.0


# --- inputs ------------------------------------------------------------------------------------------------

def digest(path: str | os.PathLike) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _key(*parts) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


def driver_kind(path: str | os.PathLike) -> str:
    """What the driver is: video, track, curves or audio; a UserError for a missing file or another kind."""
    from ..core.lipsync.curves import FORMAT as CURVES_FORMAT
    from ..core.track.track_file import FORMAT as TRACK_FORMAT
    from ..core.video import VIDEO_SUFFIXES, streams

    path = Path(path)
    if not path.is_file():
        raise UserError(f"{path}: no such driver file; give a video, a track or expression-curve JSON, or a sound file")
    remedy = ("give a video, a landmark track (`python -m core track`), expression curves (`python -m core "
              "lipsync`) or a sound file")
    with open(path, "rb") as f:
        head = f.read(4096)
    if path.suffix.lower() == ".json" or head.lstrip()[:1] == b"{":
        from ..core.text_file import parse_json, read_text

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


# --- the output folder -------------------------------------------------------------------------------------

class Workspace:
    """DIR and its manifest. Reading it writes nothing; `claim` creates the folder and marks it ours."""

    def __init__(self, out: str | os.PathLike):
        self.out = Path(out)
        self.manifest = {"format": FORMAT, "version": VERSION, "cache": {}}
        if self.out.exists() and not self.out.is_dir():
            raise UserError(f"{self.out} is a file; give a folder for --out")
        if not self.out.is_dir():
            return
        path = self.out / MANIFEST
        names = [p.name for p in self.out.iterdir() if not _temporary(p.name)]
        if path.is_file():
            try:
                data = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                data = None
            if not isinstance(data, dict) or data.get("format") != FORMAT or not isinstance(data.get("cache"), dict):
                raise UserError(f"{path} is not this command's record; choose an empty folder for --out")
            self.manifest = data
        ours = {MANIFEST, *FILES.values(), *self.manifest.get("also", [])}
        foreign = sorted(n for n in names if n not in ours) if path.is_file() else names
        if foreign:
            raise UserError(f"{self.out} holds {foreign[0]}" + (f" and {len(foreign) - 1} more" if len(foreign) > 1 else "")
                            + " that `animate` did not write; choose an empty folder for --out or move "
                            + ("it" if len(foreign) == 1 else "them") + " away")

    def path(self, name: str) -> Path:
        return self.out / FILES[name]

    def cached(self, name: str, key: str) -> Path | None:
        """The file of a cached step if it was made from `key` and is still as written."""
        entry = self.manifest["cache"].get(name)
        path = self.path(name)
        if isinstance(entry, dict) and entry.get("key") == key and path.is_file() and digest(path) == entry.get("sha256"):
            return path
        return None

    def value(self, name: str, key: str):
        """A value cached in the manifest itself (no file) if it was made from `key`."""
        entry = self.manifest["cache"].get(name)
        return entry.get("value") if isinstance(entry, dict) and entry.get("key") == key else None

    def claim(self) -> None:
        try:
            self.out.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise UserError(f"cannot create {self.out}: {e.strerror}; choose a folder you can write to") from None
        self.save()

    def record(self, name: str, key: str, value=None) -> None:
        entry = {"key": key}
        if value is not None:
            entry["value"] = value
        elif self.path(name).is_file():
            entry["sha256"] = digest(self.path(name))
        self.manifest["cache"][name] = entry
        self.save()

    def write_text(self, name: str, text: str) -> bool:
        """Write a step's file unless it already holds exactly `text` (a file's bytes key the resume)."""
        from ..core.atomic import write_atomic

        path = self.path(name)
        if path.is_file() and path.read_bytes() == text.encode("utf-8"):
            return False
        write_atomic(path, text)
        return True

    def drop_stale_frames(self, numbers: list[int]) -> None:
        """Remove the frames an earlier run of this command rendered that the current track no longer has (a
        shorter driver), so that the folder holds this animation only; remember the current ones."""
        from ..core.frame_names import frame_name

        current = set(numbers)
        for n in set(self.manifest.get("frames", [])) - current:
            (self.path("frames") / frame_name(FRAME_NAME, int(n))).unlink(missing_ok=True)
        self.manifest["frames"] = sorted(current)
        self.save()

    def save(self) -> None:
        from ..core.atomic import write_json

        write_json(self.out / MANIFEST, self.manifest)


def record_as_ours(out: Path, written: Path) -> None:
    """A file written into DIR at the user's request (`--json DIR/NAME`) is this command's too: recorded, so
    that the next run does not take it for someone else's."""
    from ..core.atomic import write_json

    if written.resolve().parent == out.resolve():
        manifest = out / MANIFEST
        data = json.loads(manifest.read_text(encoding="utf-8"))
        if written.name not in data.setdefault("also", []):
            data["also"].append(written.name)
            write_json(manifest, data)


def _temporary(name: str) -> bool:
    """A temporary file a killed write may leave (core.atomic's `.<name>.<random>.tmp`, `<name>.tmp`)."""
    return name.endswith(".tmp")


# --- the steps ---------------------------------------------------------------------------------------------

def _photos(paths: list[str], workspace: Workspace, backend: str) -> tuple[list[np.ndarray], list[np.ndarray], list[dict]]:
    """Each photo, its landmarks (cached in the manifest by the photo's bytes and the backend asked for)."""
    from ..core.images import load_image
    from ..core.landmarks.detect import detect_landmarks

    if not paths:
        raise UserError("give at least one photo of the face")
    images, points, found = [], [], []
    for path in paths:
        image = load_image(path)                  # a missing or broken photo fails here, before any work
        if not image.flags.writeable:             # Pillow's arrays are read-only; torch warns about those
            image = image.copy()
        sha = digest(path)
        key = _key("landmarks", sha, backend)
        cached = workspace.value(f"landmarks:{sha}", key)
        if cached is None:
            detection = detect_landmarks(image, backend=backend)
            cached = {"backend": detection.backend, "faces": detection.faces_found,
                      "points": np.round(detection.points.astype(np.float64), 3).tolist()}
        images.append(image)
        points.append(np.asarray(cached["points"], np.float32))
        found.append(dict(cached, sha256=sha, key=key, path=str(path)))
    return images, points, found


def _cached_step(workspace: Workspace, driver: Driver, name: str, key: str, kind, label: str, compute):
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
        _close(progress)
    text = result.to_json()
    driver.files[name] = (key, text)
    return kind.from_dict(json.loads(text))


def _video_driver(path: Path, workspace: Workspace, reference: np.ndarray, size, mode: str, neutral: int | None,
                  backend: str, stride: int) -> Driver:
    from ..core.track.extract import extract_track
    from ..core.track.retarget import retarget_track
    from ..core.track.track_file import Track
    from ..core.video import audio_offset, streams

    driver = Driver("video", None)
    key = _key("driver_track", digest(path), backend, stride)
    raw = _cached_step(workspace, driver, "driver_track", key, Track, "landmarks",
                       lambda progress: extract_track(path, progress=progress, stride=stride, backend=backend))
    driver.notes.append(f"track: {path.name}, {len(raw)} frames at {raw.fps:g} fps, "
                        f"{int(raw.filled.sum())} without a face (filled)")
    driver.track = retarget_track(raw, reference, size, mode, neutral)
    if streams(path)[1]:
        driver.sound, driver.sound_offset = path, audio_offset(path)
    return driver


def _track_driver(path: Path, reference: np.ndarray, size, mode: str, neutral: int | None) -> Driver:
    from ..core.track.retarget import retarget_track
    from ..core.track.track_file import Track

    raw = Track.load(path)
    driver = Driver("track", retarget_track(raw, reference, size, mode, neutral))
    driver.notes.append(f"track: {path.name}, {len(raw)} frames at {raw.fps:g} fps")
    return driver


def _curves_track(curves, path: Path, reference: np.ndarray, size, driver: Driver):
    from ..core.track.expression import expression_track

    track, skipped = expression_track(reference, size, list(curves.keys), curves.weights, curves.fps, path.name)
    driver.notes.append(f"expressions: {path.name}, {curves.frame_count} frames at {curves.fps:g} fps, "
                        f"{len(curves.keys) - len(skipped)} of {len(curves.keys)} keys on the rig"
                        + (f" (no shape for {', '.join(skipped)})" if skipped else ""))
    return track


def _curves_driver(path: Path, reference: np.ndarray, size) -> Driver:
    from ..core.lipsync.curves import ExpressionCurves
    from ..core.video import streams

    curves = ExpressionCurves.load(path)
    driver = Driver("curves", None)
    driver.track = _curves_track(curves, path, reference, size, driver)
    beside = path.parent / curves.source if curves.source else None
    if beside is not None and beside.is_file() and beside.resolve() != path.resolve() and streams(beside)[1]:
        driver.sound = beside            # the recording the curves were made from, where it still lies
    return driver


def _audio_driver(path: Path, workspace: Workspace, reference: np.ndarray, size, fps: float | None) -> Driver:
    from ..core.lipsync.curves import ExpressionCurves
    from ..core.lipsync.sync import lipsync

    fps = fps or DEFAULT_AUDIO_FPS
    driver = Driver("audio", None, sound=path)
    key = _key("curves", digest(path), fps)
    curves = _cached_step(workspace, driver, "curves", key, ExpressionCurves, "lipsync",
                          lambda progress: lipsync(path, fps=fps, progress=progress))
    driver.track = _curves_track(curves, path, reference, size, driver)
    return driver


def _prior_key(prior: str | None) -> list:
    """What identifies the prior a person is fine-tuned from: its folder and its files' sizes and times."""
    from ..core.training.finetune import DEFAULT_PRIOR

    folder = Path(prior) if prior else DEFAULT_PRIOR
    files = sorted(folder.rglob("*")) if folder.is_dir() else []
    return [str(folder.resolve()), [(str(p.relative_to(folder)), p.stat().st_size, p.stat().st_mtime_ns)
                                    for p in files if p.is_file()]]


def _close(progress) -> None:
    if progress is not None:
        progress.close()


class _Counting:
    """A progress callback that remembers the largest total it was told (generate: the frames to render)."""

    def __init__(self, inner: Progress | None):
        self.inner, self.total = inner, 0

    def __call__(self, done: int, total: int, message: str = "") -> None:
        self.total = max(self.total, total)
        if self.inner is not None:
            self.inner(done, total, message)


# --- the command -------------------------------------------------------------------------------------------

def animate(photos: list[str], driver_path: str, out: str, *, preset: Preset = DEFAULT_PRESET, retarget: str | None = None,
            fps: float | None = None, audio: str | None = None, no_audio: bool = False, backend: str = "auto",
            stride: int = 1, neutral: int | None = None, prior: str | None = None, device: str = "auto") -> dict:
    """Run every step (see the module's docstring); returns where everything is, and what was reused."""
    from ..core import __version__
    from ..core.track.resample import resample

    if retarget not in (None, "relative", "absolute"):
        raise UserError(f"unknown retargeting mode {retarget!r}; use relative or absolute")
    if fps is not None and not (np.isfinite(fps) and 0 < fps <= 1000):
        raise UserError(f"--fps must be above 0 and at most 1000, got {fps:g}")
    if stride < 1:
        raise UserError("--stride must be 1 or more")
    if audio is not None and not no_audio:
        from ..core.video import streams

        if not Path(audio).is_file():
            raise UserError(f"{audio}: no such sound file; check the --audio path")
        if not streams(audio)[1]:
            raise UserError(f"{audio} has no sound track; give a WAV, an MP3 or a video with sound for --audio")
    if prior is not None and not Path(prior).is_dir():
        raise UserError(f"{prior}: no such prior folder; give a folder written by `python -m core meta-train`")
    for photo in photos:
        if not Path(photo).is_file():
            raise UserError(f"{photo}: no such photo; check the path")
    kind = driver_kind(driver_path)
    workspace = Workspace(out)
    started = time.time()

    # 1-3: read and track everything; nothing is written yet
    images, points, found = _photos(photos, workspace, backend)
    reference, size = points[0], (images[0].shape[1], images[0].shape[0])
    info(f"detect: {len(photos)} photo(s), {found[0]['backend']} landmarks; reference {Path(photos[0]).name} "
         f"({size[0]}x{size[1]})")
    mode = retarget or "relative"
    path = Path(driver_path)
    if kind == "video":
        driver = _video_driver(path, workspace, reference, size, mode, neutral, backend, stride)
    elif kind == "track":
        driver = _track_driver(path, reference, size, mode, neutral)
    elif kind == "curves":
        driver = _curves_driver(path, reference, size)
    else:
        driver = _audio_driver(path, workspace, reference, size, fps)
    if kind in ("curves", "audio") and retarget is not None:
        driver.notes.append(f"--retarget {retarget} applies to video and track drivers; the curves move the "
                            "photo's own face")
    if fps is not None and kind != "audio":
        driver.track = resample(driver.track, fps)
    if no_audio:
        driver.sound = None
    elif audio is not None:
        driver.sound, driver.sound_offset = Path(audio), 0.0
    for note in driver.notes:
        info(note)
    if kind in ("video", "track"):
        info(f"retarget: {mode}, onto {Path(photos[0]).name}")

    # 4-6: write
    workspace.claim()
    for name, (key, text) in driver.files.items():
        workspace.write_text(name, text)
        workspace.record(name, key)
    for entry in found:
        workspace.record(f"landmarks:{entry['sha256']}", entry["key"],
                         {k: entry[k] for k in ("backend", "faces", "points")})
    track_path = workspace.path("track")
    workspace.write_text("track", driver.track.to_json())

    person_key = _key("person", __version__, [f["sha256"] for f in found], [f["points"] for f in found], preset.name,
                      _prior_key(prior))
    person_path = workspace.cached("person", person_key)
    person_reused = person_path is not None
    if person_reused:
        info(f"fine-tune: reusing {workspace.path('person')} (same photos and preset)")
    else:
        from ..core.training.finetune import fit_person

        person_path = workspace.path("person")
        tuning = time.time()
        progress = bar("fine-tune")
        try:
            person = fit_person(images, points, preset, device, prior, progress)
        finally:
            _close(progress)
        person.save(person_path)
        workspace.record("person", person_key)
        info(f"fine-tune: {person_path} ({preset.name} preset, {time.time() - tuning:.1f} s)")

    from .generate import generate

    counting = _Counting(bar("generate"))
    try:
        frames = generate(str(person_path), str(track_path), str(workspace.path("frames")), name=FRAME_NAME,
                          device=device, progress=counting)
    finally:
        _close(counting.inner)
    info(f"generate: {len(frames)} frames in {workspace.path('frames')}"
         + (f" ({counting.total} rendered now)" if counting.total else " (all there already)"))
    workspace.drop_stale_frames([int(n) for n in driver.track.frames])

    video_path = workspace.path("video")
    sound = driver.sound
    video_key = _key("video", digest(person_path), digest(track_path), driver.track.fps,
                     None if sound is None else [digest(sound), driver.sound_offset])
    video_reused = workspace.cached("video", video_key) is not None
    if video_reused:
        info(f"video: {video_path} is up to date")
    else:
        from ..export.video import sequence_frames, write_video

        progress = bar("video")
        try:
            write_video(video_path, sequence_frames(frames), driver.track.fps, overwrite=True, total=len(frames),
                        progress=progress, audio=None if sound is None else str(sound),
                        audio_offset=driver.sound_offset)
        finally:
            _close(progress)
        workspace.record("video", video_key)
        info(f"video: {video_path} ({len(frames) / driver.track.fps:.1f} s at {driver.track.fps:g} fps, "
             + (f"sound from {sound.name})" if sound is not None else "no sound)"))

    result = {
        "photos": [str(p) for p in photos], "driver": str(path), "driver_kind": kind,
        "retarget": mode if kind in ("video", "track") else None,
        "person": str(person_path), "person_reused": person_reused,
        "driver_track": str(workspace.path("driver_track")) if kind == "video" else None,
        "curves": str(workspace.path("curves")) if kind == "audio" else None,
        "track": str(track_path), "frames_folder": str(workspace.path("frames")), "frames": len(frames),
        "frames_rendered": counting.total, "video": str(video_path), "video_reused": video_reused,
        "sound": None if sound is None else str(sound), "fps": driver.track.fps,
        "seconds": round(time.time() - started, 2),
    }
    workspace.manifest["last_run"] = {k: v for k, v in result.items() if k != "seconds"}
    workspace.save()
    return result
