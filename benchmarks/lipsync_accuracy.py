"""Lip-sync accuracy: the jawOpen curve from a clip's audio against the mouth opening of its own frames.

For every clip of ../shared/media/videos whose MANIFEST.tsv `info` says "audio": the clip's audio goes
through `core.lipsync` at the video's frame rate, no transcript. Curves scored:

- **rules, phones** / **rules, words**: the rule-based jawOpen (phone openness x loudness) from phone
  decoding (the old default) or English word recognition;
- **learned**: what `python -m core lipsync` writes now (`--jaw learned`, phone decoding for the shapes):
  jawOpen from `core.lipsync.openness`, the shipped weights (`core/lipsync/jaw_model.npz`), which were fitted
  on the clips of the training identities only (the identity split of `core.training.split`; the model
  file names the clips it was fitted on, and the table marks them);
- **learned, leave-one-identity-out**: each clip scored by a model fitted the same way on every other
  identity's clips (all clips then count as unseen; a check on the held-out figure, not what ships).

The real mouth opening is the inner-lip gap of the clip's landmarks (mean of 61-67, 62-66, 63-65) over the
eye span (36-45). Score: Pearson r at the best lag within +-2 frames. Baseline, by the same rule: the audio's
log loudness per frame (RMS dB over one frame), smoothed over 5 frames. Targets: mean r >= 0.5 and >=
baseline + 0.15; quoted on the clips of the held-out identities.

Landmarks come from the per-clip caches in .device_data/landmarks/<stem>.npz (`frames`, `points`, `found`)
where present, else from `core.track.extract.extract_track` (slow; unsmoothed, cached there as well).
Also times 10 s of audio to keyframes (target < 5 s).

`--fit` first fits the shipped weights again (on the training identities' clips) and writes
core/lipsync/jaw_model.npz.

Usage: python benchmarks/lipsync_accuracy.py [--fit] [--media DIR] [--landmarks DIR] [--clips N] [--no-record]
"""
from __future__ import annotations

import argparse
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

from talking_heads.core.lipsync import openness  # noqa: E402
from talking_heads.core.lipsync.audio import load_audio  # noqa: E402
from talking_heads.core.lipsync.loudness import log_loudness  # noqa: E402
from talking_heads.core.lipsync.phonemes import recognise  # noqa: E402
from talking_heads.core.lipsync.sync import lipsync  # noqa: E402
from talking_heads.core.lipsync.visemes import RATE, expression_weights, jaw_features, resample  # noqa: E402
from talking_heads.core.training.split import VALIDATION_IDENTITIES  # noqa: E402

MAX_LAG = 2
DATE = "2026-12-01"
COLUMNS = ("rules_phones", "rules_words", "learned", "loio", "baseline")
TITLES = {"rules_phones": "rules, phones", "rules_words": "rules, words", "learned": "**learned**",
          "loio": "learned, leave-one-identity-out", "baseline": "baseline"}


def clips_with_audio(media: Path) -> list[tuple[Path, str]]:
    """(video, identity) of the manifest's videos with sound."""
    rows = (line.split("\t") for line in (media / "MANIFEST.tsv").read_text().splitlines()[1:])
    return [(media / r[0], r[1]) for r in rows if len(r) > 3 and r[0].startswith("videos/")
            and "no-audio" not in r[3] and "audio" in r[3].split() and (media / r[0]).is_file()]


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
    from talking_heads.core.track.extract import extract_track

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


class Case:
    """One clip: its audio, both recognisers' phones, and the landmark frames' times and mouth opening."""

    def __init__(self, path: Path, identity: str, cache: Path):
        self.stem, self.identity = path.stem, identity
        self.fps, offset = video_timing(path)
        frames, points, found = landmarks(path, cache)
        self.audio = load_audio(path)
        self.silent = not np.any(self.audio.samples)
        if self.silent:
            return
        self.streams = {mode: recognise(self.audio, None, None, mode) for mode in openness.STREAMS}
        self.times = frames / self.fps + offset                  # each landmark frame's moment in the audio
        inside = (self.times >= 0) & (self.times <= self.audio.duration)
        self.valid = found & inside & np.isfinite(points).all(axis=(1, 2))
        self.real = mouth_opening(points)

    def at_frames(self, curve: np.ndarray) -> np.ndarray:
        """A curve at the rate fps (frame i at i / fps of the audio), read at the landmark frames' times."""
        return np.interp(self.times, np.arange(len(curve)) / self.fps, curve)

    def jaw(self, mode: str, model: openness.JawModel | None = None) -> np.ndarray:
        """jawOpen at the landmark frames: rule-based from `mode`'s phones, or learned with `model`."""
        if model is None:
            weights = expression_weights(self.streams[mode], self.audio, self.fps)
        else:
            weights = expression_weights(self.streams[mode], self.audio, self.fps, jaw_streams=self.streams,
                                         jaw_model=model)
        return self.at_frames(weights[:, 0].astype(np.float64))

    def baseline(self) -> np.ndarray:
        count = int(np.ceil(self.audio.duration * self.fps - 1e-9))
        loud = log_loudness(self.audio.samples, self.audio.rate, self.fps, count)
        return self.at_frames(np.convolve(np.pad(loud, 2, mode="edge"), np.ones(5) / 5, mode="valid"))

    def training_clip(self) -> openness.Clip:
        """The learned jaw's features at the landmark frames, and the mouth opening, to fit on."""
        grid_count = int(np.ceil(self.audio.duration * RATE)) + 1
        x, gate = jaw_features(self.audio, self.streams, grid_count)
        count = int(np.ceil(self.audio.duration * self.fps - 1e-9))
        frames = resample(np.concatenate([x, gate[:, None]], axis=1), RATE, self.fps, count)
        at = np.stack([self.at_frames(frames[:, j]) for j in range(frames.shape[1])], axis=1)
        return openness.Clip(at[:, :-1], at[:, -1], self.real, self.valid, self.jaw("phones"))

    def score(self, curve: np.ndarray) -> tuple[float, int]:
        return openness.best_lag(curve, self.real, self.valid, MAX_LAG)


def fit_note(cases: list[Case]) -> str:
    frames = sum(int(c.valid.sum()) for c in cases)
    return (f"fitted {DATE} by benchmarks/lipsync_accuracy.py --fit on {len(cases)} clips ({frames} frames with "
            f"landmarks) of the training identities of ../shared/media/videos (all identities but "
            f"core.training.split.VALIDATION_IDENTITIES): their audio, and the mouth opening of their landmarks")


def speed(clip: Path, seconds: float = 10.0, repeats: int = 3, **options) -> tuple[float, float]:
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
            lipsync(wav, fps=25.0, **options)
            times.append(time.perf_counter() - started)
    return float(np.median(times)), len(samples) / audio.rate


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--media", type=Path, default=ROOT.parent / "shared" / "media")
    parser.add_argument("--landmarks", type=Path, default=ROOT / ".device_data" / "landmarks")
    parser.add_argument("--clips", type=int, default=0, help="only the first N clips (0: all)")
    parser.add_argument("--fit", action="store_true", help="fit core/lipsync/jaw_model.npz again first")
    parser.add_argument("--no-record", action="store_true", help="do not append to benchmarks/RESULTS.md")
    args = parser.parse_args()
    clips = clips_with_audio(args.media)
    if args.clips:
        clips = clips[: args.clips]
    if not clips:
        print(f"no clips with audio in {args.media}", file=sys.stderr)
        return 2
    cases, silent = [], []
    for path, identity in clips:
        try:
            case = Case(path, identity, args.landmarks)
        except Exception as e:  # noqa: BLE001  (one bad clip is reported, the others still count)
            print(f"  {path.name}: skipped ({type(e).__name__}: {e})", file=sys.stderr)
            continue
        (silent.append(case.stem) if case.silent else cases.append(case))
    print(f"  {len(cases)} clips with speech, phones recognised", file=sys.stderr)
    training = {c.stem: c.training_clip() for c in cases}
    if args.fit:
        fitted = [c for c in cases if c.identity not in VALIDATION_IDENTITIES]
        model = openness.fit([training[c.stem] for c in fitted], note=fit_note(fitted),
                             names=[c.stem for c in fitted])
        model.save(openness.MODEL_FILE)
        print(f"  wrote {openness.MODEL_FILE} (fitted on {len(fitted)} clips)", file=sys.stderr)
    model = openness.JawModel.load(openness.MODEL_FILE)
    rows = []
    for case in cases:
        others = [c for c in cases if c.identity != case.identity]
        loio = openness.fit([training[c.stem] for c in others])
        row = {"clip": case.stem, "identity": case.identity, "frames": int(case.valid.sum()), "fps": case.fps,
               "split": "fit" if case.stem in model.fitted_on else "held-out",
               "rules_phones": case.score(case.jaw("phones")), "rules_words": case.score(case.jaw("words")),
               "learned": case.score(case.jaw("phones", model)), "loio": case.score(case.jaw("phones", loio)),
               "baseline": case.score(case.baseline())}
        rows.append(row)
        print(f"  {row['clip']} ({row['split']}): " + ", ".join(f"{c} {row[c][0]:.3f}" for c in COLUMNS),
              file=sys.stderr)
    lines = ["| clip | split | frames | fps | " + " | ".join(f"r {TITLES[c]} (lag)" for c in COLUMNS) + " |",
             "|---|---|---|---|" + "---|" * len(COLUMNS)]
    for row in rows:
        cells = " | ".join(f"{row[c][0]:.3f} ({row[c][1]:+d})" for c in COLUMNS)
        lines.append(f"| {row['clip']} | {row['split']} | {row['frames']} | {row['fps']:.2f} | {cells} |")
    groups = {"held-out identities": [r for r in rows if r["split"] == "held-out"],
              "training identities (the learned model's own clips)": [r for r in rows if r["split"] == "fit"],
              "all": rows}
    means = {}
    for name, group in groups.items():
        if not group:
            continue
        means[name] = {c: float(np.mean([r[c][0] for r in group])) for c in COLUMNS}
        lines.append(f"| **mean, {name}** ({len(group)} clips) | | | | "
                     + " | ".join(f"**{means[name][c]:.3f}**" for c in COLUMNS) + " |")
    elapsed = {"learned": speed(clips[0][0]), "rules": speed(clips[0][0], jaw="rules")}

    def verdict(group: str, column: str) -> str:
        m = means[group]
        ok = m[column] >= 0.5 and m[column] >= m["baseline"] + 0.15
        return (f"{m[column]:.3f} against baseline {m['baseline']:.3f} ({m[column] - m['baseline']:+.3f}): "
                f"**{'met' if ok else 'not met'}**")

    held = "held-out identities"
    summary = []
    if held in means:
        summary.append(f"Held-out identities ({len(groups[held])} clips, the figure to quote): learned "
                       f"{verdict(held, 'learned')}; rules, phones {means[held]['rules_phones']:.3f}; rules, words "
                       f"{means[held]['rules_words']:.3f}.")
    summary.append(f"All {len(rows)} clips: learned, leave-one-identity-out {verdict('all', 'loio')}; the shipped "
                   f"model {means['all']['learned']:.3f} (includes its own {len(groups[list(groups)[1]])} clips); "
                   f"rules, phones {means['all']['rules_phones']:.3f}; rules, words "
                   f"{means['all']['rules_words']:.3f}. Targets: mean >= 0.5 and >= baseline + 0.15.")
    summary.append(f"Silent audio tracks, left out: {', '.join(silent) or 'none'}. Speed, "
                   f"{elapsed['learned'][1]:.1f} s of audio to keyframes (median of 3, target < 5 s): learned "
                   f"(both recognisers) {elapsed['learned'][0]:.2f} s, rules (phone decoding only) "
                   f"{elapsed['rules'][0]:.2f} s.")
    table = "\n".join(lines)
    print(table)
    print("\n\n".join(summary))
    if not args.no_record:
        command = "python benchmarks/lipsync_accuracy.py" + (" --fit" if args.fit else "") + \
                  (f" --clips {args.clips}" if args.clips else "")
        append([f"## Lip sync: the learned jawOpen vs the mouth opening of the frames ({DATE})", "",
                f"Command: `{command}`  ", f"Machine: {describe()}  ",
                "Data: the clips of ../shared/media/videos with audio, no transcript, curves at each video's "
                "frame rate. Split: the identities of core.training.split.VALIDATION_IDENTITIES are held out; "
                "the learned jaw (core/lipsync/jaw_model.npz) was fitted on the clips marked `fit` (the "
                "training identities) and never saw the `held-out` ones. Real opening: inner-lip gap (61-67, "
                "62-66, 63-65) / eye span (36-45) from .device_data/landmarks. Pearson r at the best lag within "
                "+-2 frames; baseline: log loudness per frame smoothed over 5 frames, same rule. The leave-one-"
                "identity-out column scores every clip with a model fitted on all other identities.", "",
                table, "", *"\n\n".join(summary).split("\n")], RESULTS)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
