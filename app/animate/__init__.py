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

import time
from pathlib import Path

import numpy as np

from ...core.errors import UserError
from ...core.presets import DEFAULT_PRESET, Preset
from ...core.progress import Progress
from ..output import bar, info
from .drivers import audio_driver, close_bar, curves_driver, driver_kind, track_driver, video_driver
from .workspace import FRAME_NAME, Workspace, cache_key, digest, record_as_ours

__all__ = ["animate", "FRAME_NAME", "record_as_ours"]


def _photos(paths: list[str], workspace: Workspace, backend: str) -> tuple[list[np.ndarray], list[np.ndarray], list[dict]]:
    """Each photo, its landmarks (cached in the manifest by the photo's bytes and the backend asked for)."""
    from ...core.images import load_image
    from ...core.landmarks.detect import detect_landmarks

    if not paths:
        raise UserError("give at least one photo of the face")
    images, points, found = [], [], []
    for path in paths:
        image = load_image(path)                  # a missing or broken photo fails here, before any work
        if not image.flags.writeable:             # Pillow's arrays are read-only; torch warns about those
            image = image.copy()
        sha = digest(path)
        key = cache_key("landmarks", sha, backend)
        cached = workspace.value(f"landmarks:{sha}", key)
        if cached is None:
            detection = detect_landmarks(image, backend=backend)
            cached = {"backend": detection.backend, "faces": detection.faces_found,
                      "points": np.round(detection.points.astype(np.float64), 3).tolist()}
        images.append(image)
        points.append(np.asarray(cached["points"], np.float32))
        found.append(dict(cached, sha256=sha, key=key, path=str(path)))
    return images, points, found


def _prior_key(prior: str | None) -> list:
    """What identifies the prior a person is fine-tuned from: its folder and its files' sizes and times."""
    from ...core.training.finetune import DEFAULT_PRIOR

    folder = Path(prior) if prior else DEFAULT_PRIOR
    files = sorted(folder.rglob("*")) if folder.is_dir() else []
    return [str(folder.resolve()), [(str(p.relative_to(folder)), p.stat().st_size, p.stat().st_mtime_ns)
                                    for p in files if p.is_file()]]


class _Counting:
    """A progress callback that remembers the largest total it was told (generate: the frames to render)."""

    def __init__(self, inner: Progress | None):
        self.inner, self.total = inner, 0

    def __call__(self, done: int, total: int, message: str = "") -> None:
        self.total = max(self.total, total)
        if self.inner is not None:
            self.inner(done, total, message)


def animate(photos: list[str], driver_path: str, out: str, *, preset: Preset = DEFAULT_PRESET, retarget: str | None = None,
            fps: float | None = None, audio: str | None = None, no_audio: bool = False, backend: str = "auto",
            stride: int = 1, neutral: int | None = None, prior: str | None = None, device: str = "auto") -> dict:
    """Run every step (see the module's docstring); returns where everything is, and what was reused."""
    from ...core import __version__
    from ...core.track.resample import resample

    if retarget not in (None, "relative", "absolute"):
        raise UserError(f"unknown retargeting mode {retarget!r}; use relative or absolute")
    if fps is not None and not (np.isfinite(fps) and 0 < fps <= 1000):
        raise UserError(f"--fps must be above 0 and at most 1000, got {fps:g}")
    if stride < 1:
        raise UserError("--stride must be 1 or more")
    if audio is not None and not no_audio:
        from ...core.video import streams

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
        driver = video_driver(path, workspace, reference, size, mode, neutral, backend, stride)
    elif kind == "track":
        driver = track_driver(path, reference, size, mode, neutral)
    elif kind == "curves":
        driver = curves_driver(path, reference, size)
    else:
        driver = audio_driver(path, workspace, reference, size, fps)
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

    person_key = cache_key("person", __version__, [f["sha256"] for f in found], [f["points"] for f in found], preset.name,
                      _prior_key(prior))
    person_path = workspace.cached("person", person_key)
    person_reused = person_path is not None
    if person_reused:
        info(f"fine-tune: reusing {workspace.path('person')} (same photos and preset)")
    else:
        from ...core.training.finetune import fit_person

        person_path = workspace.path("person")
        tuning = time.time()
        progress = bar("fine-tune")
        try:
            person = fit_person(images, points, preset, device, prior, progress)
        finally:
            close_bar(progress)
        person.save(person_path)
        workspace.record("person", person_key)
        info(f"fine-tune: {person_path} ({preset.name} preset, {time.time() - tuning:.1f} s)")

    from ..generate import generate

    counting = _Counting(bar("generate"))
    try:
        frames = generate(str(person_path), str(track_path), str(workspace.path("frames")), name=FRAME_NAME,
                          device=device, progress=counting)
    finally:
        close_bar(counting.inner)
    info(f"generate: {len(frames)} frames in {workspace.path('frames')}"
         + (f" ({counting.total} rendered now)" if counting.total else " (all there already)"))
    workspace.drop_stale_frames([int(n) for n in driver.track.frames])

    video_path = workspace.path("video")
    sound = driver.sound
    video_key = cache_key("video", digest(person_path), digest(track_path), driver.track.fps,
                     None if sound is None else [digest(sound), driver.sound_offset])
    video_reused = workspace.cached("video", video_key) is not None
    if video_reused:
        info(f"video: {video_path} is up to date")
    else:
        from ...export.video import sequence_frames, write_video

        progress = bar("video")
        try:
            write_video(video_path, sequence_frames(frames), driver.track.fps, overwrite=True, total=len(frames),
                        progress=progress, audio=None if sound is None else str(sound),
                        audio_offset=driver.sound_offset)
        finally:
            close_bar(progress)
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
