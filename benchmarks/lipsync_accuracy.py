"""Lip-sync accuracy: the jawOpen curve from a clip's audio against the mouth opening of its own frames.

For every clip of ../shared/media/videos whose MANIFEST.tsv `info` says "audio": the clip's audio goes
through `core.lipsync` at the video's frame rate, no transcript, with each recogniser (phone decoding, the
default, and English word recognition); the real mouth opening is
the inner-lip gap of the clip's landmarks (mean of 61-67, 62-66, 63-65) over the eye span (36-45). Score:
Pearson r at the best lag within +-2 frames. Baseline, by the same rule: the audio's log loudness per frame
(RMS dB over one frame), smoothed over 5 frames. Targets: mean r >= 0.5 and >= baseline + 0.15.

Landmarks come from the per-clip caches in .device_data/landmarks/<stem>.npz (`frames`, `points`, `found`)
where present, else from `core.landmarks.track.extract_track` (slow; unsmoothed, cached there as well).
Also times 10 s of audio to keyframes (target < 5 s).

Usage: python benchmarks/lipsync_accuracy.py [--media DIR] [--landmarks DIR] [--clips N] [--no-record]
"""
from __future__ import annotations

import argparse
import datetime
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))
from core.__main__ import project_package  # noqa: E402  (the project folder as `talking_heads`)

project_package()

from report import RESULTS, append, describe  # noqa: E402

from talking_heads.core.lipsync.audio import load_audio  # noqa: E402
from talking_heads.core.lipsync.loudness import log_loudness  # noqa: E402
from talking_heads.core.lipsync.sync import lipsync  # noqa: E402

MAX_LAG = 2
MODES = ("phones", "words")
DATE = "2026-12-01"


def clips_with_audio(media: Path) -> list[Path]:
    rows = (line.split("\t") for line in (media / "MANIFEST.tsv").read_text().splitlines()[1:])
    return [media / r[0] for r in rows if len(r) > 3 and r[0].startswith("videos/") and "no-audio" not in r[3]
            and "audio" in r[3].split() and (media / r[0]).is_file()]


def video_timing(path: Path) -> tuple[float, float]:
    """(frames per second, seconds from the audio's start to the video's first frame)."""
    import av

    with av.open(str(path)) as c:
        v, a = c.streams.video[0], c.streams.audio[0]
        fps = float(v.average_rate or v.guessed_rate)
        start = lambda s: float(s.start_time * s.time_base) if s.start_time is not None else 0.0  # noqa: E731
        return fps, start(v) - start(a)


def landmarks(path: Path, cache: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(frames (N,), points (N, 68, 2), found (N,)) of the clip's frames."""
    file = cache / f"{path.stem}.npz"
    if file.is_file():
        data = np.load(file)
        return data["frames"], data["points"].astype(np.float64), data["found"].astype(bool)
    from talking_heads.core.landmarks.track import extract_track

    print(f"  {path.name}: no cached landmarks, extracting (slow)", file=sys.stderr)
    track = extract_track(path, smooth=False)
    frames, points, found = track.frames, track.points[..., :2], ~np.asarray(track.filled, dtype=bool)
    cache.mkdir(parents=True, exist_ok=True)
    np.savez(file, version=1, frames=frames, points=points.astype(np.float16), found=found)
    return frames, points.astype(np.float64), found


def mouth_opening(points: np.ndarray) -> np.ndarray:
    gap = np.mean([np.linalg.norm(points[:, a] - points[:, b], axis=-1) for a, b in ((61, 67), (62, 66), (63, 65))],
                  axis=0)
    return gap / np.maximum(np.linalg.norm(points[:, 36] - points[:, 45], axis=-1), 1e-6)


def best_lag_r(x: np.ndarray, y: np.ndarray, valid: np.ndarray, max_lag: int = MAX_LAG) -> tuple[float, int]:
    """Highest Pearson r of x[n] against y[n + lag] over |lag| <= max_lag (valid frames only)."""
    best = (-1.0, 0)
    n = len(x)
    for lag in range(-max_lag, max_lag + 1):
        i = np.arange(max(0, -lag), min(n, n - lag))
        keep = valid[i] & valid[i + lag]
        a, b = x[i][keep], y[i + lag][keep]
        if len(a) < 10 or a.std() == 0 or b.std() == 0:
            continue
        r = float(np.corrcoef(a, b)[0, 1])
        if r > best[0]:
            best = (r, lag)
    return best


def evaluate(path: Path, cache: Path) -> dict:
    fps, offset = video_timing(path)
    frames, points, found = landmarks(path, cache)
    audio = load_audio(path)
    if not np.any(audio.samples):
        return {"clip": path.stem, "silent": True}
    jaws = {mode: lipsync(path, fps=fps, recogniser=mode).curve("jawOpen").astype(np.float64) for mode in MODES}
    jaw = jaws["phones"]
    times = frames / fps + offset                  # each landmark frame's moment in the audio
    audio_index = np.arange(len(jaw)) / fps
    loud = log_loudness(audio.samples, audio.rate, fps, len(jaw))
    loud = np.convolve(np.pad(loud, 2, mode="edge"), np.ones(5) / 5, mode="valid")
    baseline = np.interp(times, audio_index, loud)
    inside = (times >= 0) & (times <= audio.duration)
    valid = found & inside & np.isfinite(points).all(axis=(1, 2))
    real = mouth_opening(points)
    row = {"clip": path.stem, "frames": int(valid.sum()), "fps": fps, "seconds": audio.duration}
    for mode, curve in jaws.items():
        row[mode] = best_lag_r(np.interp(times, audio_index, curve), real, valid)
    row["baseline"] = best_lag_r(baseline, real, valid)
    return row


def speed(clip: Path, seconds: float = 10.0, repeats: int = 3, recogniser: str = "phones"
          ) -> tuple[float, float]:
    """Median wall time of `lipsync` on `seconds` of `clip`'s audio written as a 16 kHz WAV (and its length)."""
    import wave

    audio = load_audio(clip)
    samples = audio.samples[: int(seconds * audio.rate)]
    with tempfile.TemporaryDirectory() as folder:
        wav = Path(folder) / "ten_seconds.wav"
        with wave.open(str(wav), "wb") as w:
            w.setnchannels(1)
            w.setsampwidth(2)
            w.setframerate(audio.rate)
            w.writeframes((np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes())
        times = []
        for _ in range(repeats):
            started = time.perf_counter()
            lipsync(wav, fps=25.0, recogniser=recogniser)
            times.append(time.perf_counter() - started)
    return float(np.median(times)), len(samples) / audio.rate


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--media", type=Path, default=ROOT.parent / "shared" / "media")
    parser.add_argument("--landmarks", type=Path, default=ROOT / ".device_data" / "landmarks")
    parser.add_argument("--clips", type=int, default=0, help="only the first N clips (0: all)")
    parser.add_argument("--no-record", action="store_true", help="do not append to benchmarks/RESULTS.md")
    args = parser.parse_args()
    clips = clips_with_audio(args.media)
    if args.clips:
        clips = clips[: args.clips]
    if not clips:
        print(f"no clips with audio in {args.media}", file=sys.stderr)
        return 2
    rows, silent = [], []
    for clip in clips:
        try:
            row = evaluate(clip, args.landmarks)
        except Exception as e:  # noqa: BLE001  (one bad clip is reported, the others still count)
            print(f"  {clip.name}: skipped ({type(e).__name__}: {e})", file=sys.stderr)
            continue
        if row.get("silent"):
            silent.append(row["clip"])
            continue
        rows.append(row)
        print(f"  {row['clip']}: r phones {row['phones'][0]:.3f}, words {row['words'][0]:.3f}, baseline "
              f"{row['baseline'][0]:.3f}", file=sys.stderr)
    cols = (*MODES, "baseline")
    lines = ["| clip | frames | fps | r jawOpen, phones (lag) | r jawOpen, words (lag) | r baseline (lag) |",
             "|---|---|---|---|---|---|"]
    for row in rows:
        cells = " | ".join(f"{row[c][0]:.3f} ({row[c][1]:+d})" for c in cols)
        lines.append(f"| {row['clip']} | {row['frames']} | {row['fps']:.2f} | {cells} |")
    means = {c: float(np.mean([r[c][0] for r in rows])) for c in cols}
    lines.append(f"| **mean** ({len(rows)} clips) | | | **{means['phones']:.3f}** | **{means['words']:.3f}** | "
                 f"{means['baseline']:.3f} |")
    elapsed = {mode: speed(clips[0], recogniser=mode) for mode in MODES}
    base = means["baseline"]
    verdicts = {m: "met" if means[m] >= 0.5 and means[m] >= base + 0.15 else "not met" for m in MODES}
    summary = (f"Mean r: phones {means['phones']:.3f}, words {means['words']:.3f}, baseline {base:.3f} "
               f"(differences {means['phones'] - base:+.3f}, {means['words'] - base:+.3f}); targets mean >= 0.5 "
               f"and >= baseline + 0.15: phones **{verdicts['phones']}**, words **{verdicts['words']}**. "
               f"Silent audio tracks, left out: {', '.join(silent) or 'none'}. Speed, "
               f"{elapsed['phones'][1]:.1f} s of audio to keyframes (median of 3, target < 5 s): phones "
               f"{elapsed['phones'][0]:.2f} s, words {elapsed['words'][0]:.2f} s.")
    table = "\n".join(lines)
    print(table)
    print(summary)
    if not args.no_record:
        command = "python benchmarks/lipsync_accuracy.py" + (f" --clips {args.clips}" if args.clips else "")
        append([f"## Lip sync: jawOpen from audio vs the mouth opening of the frames ({DATE})", "",
                f"Command: `{command}`  ", f"Machine: {describe()}  ",
                "Data: the clips of ../shared/media/videos with audio; phone decoding (no transcript), curves at "
                "each video's frame rate. Real opening: inner-lip gap (61-67, 62-66, 63-65) / eye span (36-45) "
                "from .device_data/landmarks. Pearson r at the best lag within +-2 frames; baseline: log "
                "loudness per frame smoothed over 5 frames, same rule.", "", table, "", summary], RESULTS)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
