"""Issue 26's judgement on the test people: fullres.py and motion.py, the targets, and the worst frames.

  .venv/bin/python benchmarks/judgement.py --work out/judgement [--videos V...] [--media ../shared/media]
                                           [--project DIR] [--again] [--sheet-only]

The videos are the test people's clips (`core.training.split`: people no choice looked at) unless `--videos`
names others. For each, ../shared/eval/fullres.py's own `evaluate` (imported in-process, its `run_project`
untouched: frames come from the real `finetune` and `generate`, watermark included; methods warp and model,
T=1, preset fast, 8 frames), then motion.py's `evaluate` (window 40, the same WORK: person files reused).
Landmarks and face descriptors are remembered by the frame's bytes and kept per video in WORK/<stem>/, with
the frames fullres.py and motion.py chose and their landmarks, so nothing is detected twice and the sheet
detects nothing. A video whose results are in WORK is not run again (`--again` runs it again). `--project`
names another checkout (with its .venv) to make the frames, e.g. a clean worktree of a commit.

Writes WORK/judgement.md (per-video table, means per method, the issue's targets with a "met" column, the
command) and prints it; then WORK/worst_frames.png: for each target not met (or the two closest to failing),
the up to 4 frames of all videos where the model does worst against the warp on that metric, real | warp |
model over the protocol's native box, eyes and mouths with a 3x inset. `--sheet-only` redraws the sheet from
the stored results. The sheet shows real people: it stays in out/ (ignored), never committed.
"""
from __future__ import annotations

import argparse
import datetime
import hashlib
import json
import os
import shlex
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from core.__main__ import project_package  # noqa: E402  (the project folder as `talking_heads`)

project_package()

from talking_heads.core.atomic import atomic_path, write_atomic, write_json  # noqa: E402
from talking_heads.core.frame_names import frame_name  # noqa: E402
from talking_heads.core.images import write_png  # noqa: E402
from talking_heads.core.training.split import split_media  # noqa: E402

FRAMES, PRESET, WINDOW, METHODS = 8, "fast", 40, ["warp", "model"]
FULLRES_KEYS = ("l1", "psnr", "ssim", "sharp", "id", "eyes", "mouth", "rest")
MOTION_KEYS = ("turn_l1", "turn_id", "te", "jitter")
PANEL = 320          # pixels of each real / warp / model panel on the sheet
INSET = 3.0          # the eyes' and mouth's zoom against the panel


def progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# --- fullres.py and motion.py in-process -------------------------------------------------------------------

def load_protocol(eval_dir: Path):
    """fullres.py and motion.py as modules (motion.py imports fullres.py's helpers from the same folder)."""
    sys.path.insert(0, str(eval_dir))
    import fullres
    import motion

    return fullres, motion


class FrameMemo:
    """fn(rgb, *args) remembered by the frame's bytes; the entries a video used are kept in an .npz of plain
    arrays (digest, args, values with NaN for "no face") so that a later run, or motion.py after
    fullres.py, detects nothing again."""

    def __init__(self, fn, shape: tuple[int, ...]):
        self.fn, self.shape, self.known, self.used = fn, shape, {}, set()

    def __call__(self, rgb, *args):
        key = (hashlib.md5(np.ascontiguousarray(rgb).tobytes()).hexdigest(), *args)
        if key not in self.known:
            self.known[key] = self.fn(rgb, *args)
        self.used.add(key)
        return self.known[key]

    def load(self, path: Path) -> None:
        self.used = set()
        if path.is_file():
            with np.load(path) as f:
                for digest, args, value in zip(f["digest"], f["args"], f["value"]):
                    key = (str(digest), *(int(a) for a in args if a >= 0))
                    self.known[key] = None if np.isnan(value).all() else value.astype(np.float64)

    def save(self, path: Path) -> None:
        keys = sorted(self.used)
        value = np.full((len(keys), *self.shape), np.nan)
        for n, key in enumerate(keys):
            if self.known[key] is not None:
                value[n] = self.known[key]
        args = np.full((len(keys), 1), -1, np.int64)     # landmarks' upsample; -1: not given
        for n, key in enumerate(keys):
            args[n, :len(key) - 1] = key[1:]
        with atomic_path(path) as tmp, open(tmp, "xb") as f:
            np.savez(f, digest=np.array([k[0] for k in keys]), args=args, value=value)


def memoise(fullres, motion) -> tuple[FrameMemo, FrameMemo]:
    """One memo of landmarks and one of descriptors, shared by fullres.py and motion.py (each imported
    selfreenact's functions under its own name). Both scripts discard landmarks' second value (dlib's shape):
    the memo gives None there. selfreenact's own `descriptor` still detects with dlib's shape; it is
    remembered whole."""
    detect, describe = fullres.landmarks, fullres.descriptor
    marks = FrameMemo(lambda rgb, upsample=1: detect(rgb, upsample)[0], (68, 2))
    descriptors = FrameMemo(describe, (128,))

    def landmarks(rgb, upsample=1):
        return marks(rgb, upsample), None

    for module in (fullres, motion):
        module.landmarks, module.descriptor = landmarks, descriptors
    return marks, descriptors


def returning_locals(fn, *args):
    """fn(*args), and fn's local variables as it returns. fullres.py and motion.py keep their choice of frames
    (kept drivers, blinks, open mouths, turns, the window) in `evaluate`'s locals: reading them there keeps
    that choice in one place instead of a second copy of it here."""
    code, seen = fn.__code__, {}

    def local(frame, event, arg):
        if event == "return":
            seen.update(frame.f_locals)
        return local

    previous = sys.gettrace()
    sys.settrace(lambda frame, event, arg: local if frame.f_code is code else None)
    try:
        result = fn(*args)
    finally:
        sys.settrace(previous)
    return result, seen


def points(p) -> list | None:
    return None if p is None else np.asarray(p, np.float64).tolist()


def run_fullres(fullres, video: Path, project: Path, work: Path) -> dict:
    results, v = returning_locals(fullres.evaluate, str(video), str(project), FRAMES, str(work), METHODS, PRESET)
    if "keep" not in v:          # it returned before choosing frames (no face in the reference)
        return {"results": results, "frames": None}
    return {"results": results, "frames": {
        "read": [int(i) for i in v["all_idx"]], "keep": [int(k) for k in v["keep"]],
        "scored": [int(k) for k in v["scored"]], "blinks": sorted(int(k) for k in v["blink_frames"]),
        "open_mouths": sorted(int(k) for k in v["mouth_frames"]), "box": [int(x) for x in v["nb"]],
        "drivers": [points(p) for p in v["drv"]], "reference": points(v["ref_pts"]),
        "rest": points(v["ref_pts"] if v.get("rest_pts") is None else v["rest_pts"])}}


def run_motion(motion, video: Path, project: Path, work: Path) -> dict:
    results, v = returning_locals(motion.evaluate, str(video), str(project), str(work), WINDOW, PRESET)
    if "drivers" not in v:       # no face in the reference, or the project's track lacks the window
        return {"results": results, "frames": None}
    return {"results": results, "frames": {
        "turns": [[float(deg), int(i)] for deg, i, _ in v["turns"]], "window": [int(i) for i in v["win"]],
        "drivers": [points(p) for p in v["drivers"]], "box": [int(x) for x in v["nb"]],
        "reference": points(v["ref_pts"])}}


def judge(fullres, motion, marks: FrameMemo, descriptors: FrameMemo, videos: list[Path], project: Path,
          work: Path, again: bool) -> dict[str, dict]:
    """{stem: {"fullres": stored, "motion": stored}} for every video, run where WORK lacks it."""
    judged = {}
    for n, video in enumerate(videos):
        stem = video.stem
        folder = work / stem
        folder.mkdir(parents=True, exist_ok=True)
        marks.load(folder / "landmarks.npz")
        descriptors.load(folder / "descriptors.npz")
        judged[stem] = {}
        for step, run in (("fullres", run_fullres), ("motion", run_motion)):
            path = folder / f"judgement_{step}.json"
            if path.is_file() and not again:
                judged[stem][step] = json.loads(path.read_text())
                continue
            progress(f"[{n + 1}/{len(videos)}] {stem}: {step}.py")
            start = time.time()
            module = fullres if step == "fullres" else motion
            try:
                stored = run(module, video, project, work)
            except Exception as e:  # a failing video is reported, as fullres.py's own main does; not stored
                judged[stem][step] = {"results": [{"video": video.name, "error": str(e)}], "frames": None}
                progress(f"  failed: {e}")
                continue
            write_json(path, stored)
            judged[stem][step] = stored
            progress(f"  {time.time() - start:.0f} s")
        marks.save(folder / "landmarks.npz")
        descriptors.save(folder / "descriptors.npz")
    return judged


# --- the tables --------------------------------------------------------------------------------------------

def rows_of(judged: dict, step: str, method: str) -> list[dict]:
    return [r for j in judged.values() for r in j.get(step, {}).get("results", []) if r.get("method") == method]


def summary(judged: dict, method: str) -> dict:
    """Means over videos as fullres.py's and motion.py's SUMMARY lines (sharp capped at 1 per video)."""
    out = {}
    for step, keys in (("fullres", FULLRES_KEYS), ("motion", MOTION_KEYS)):
        rows = rows_of(judged, step, method)
        for key in keys:
            values = [r[key] for r in rows if r.get(key) is not None]
            out[key] = float(np.mean(values)) if values else None
            if key == "sharp":
                out["sharp_capped"] = float(np.mean([min(v, 1.0) for v in values])) if values else None
            if key == "rest":
                out["rest_min"] = float(min(values)) if values else None
    out["videos"] = len(rows_of(judged, "fullres", method))
    return out


def cell(value, form: str, count=None) -> str:
    text = "" if value is None else format(value, form)
    return text if count is None else f"{text} ({count})"


def targets(warp: dict, model: dict) -> list[dict]:
    """The issue's Done-when, each with its margin: how far inside (> 0) or outside (< 0) the target, relative."""
    def ratio(key, limit, wording, strict=False, rise=False):
        w, m = warp.get(key), model.get(key)
        if w is None or m is None or w == 0:
            return {"name": wording, "measured": "no frames", "met": None, "margin": None}
        r = m / w
        margin = (r / limit - 1) if rise else (1 - r / limit)
        met = margin > 0 if strict else margin >= 0
        return {"name": wording, "key": key, "margin": margin, "met": met,
                "measured": f"{m:.4f} / {w:.4f} = {r:.3f}"}

    rest = model.get("rest_min")
    out = [ratio("sharp_capped", 0.95, "sharpness (capped) >= 0.95 of the warp's", rise=True),
           {"name": "rest frame >= 40 dB (minimum over videos)", "key": "rest_min",
            "measured": "no frames" if rest is None else f"{rest:.1f} dB",
            "met": None if rest is None else rest >= 40, "margin": None if rest is None else rest / 40 - 1},
           ratio("eyes", 0.85, "eyes on blink frames >= 15 % below the warp's L1"),
           ratio("mouth", 0.85, "mouth on open frames >= 15 % below the warp's L1"),
           ratio("l1", 1.0, "L1 better than the warp's", strict=True),
           ratio("id", 1.0, "ID better than the warp's", strict=True),
           ratio("turn_l1", 1.0, "motion: turn-frame L1 no worse than the warp's"),
           ratio("te", 1.0, "motion: temporal error tE no worse than the warp's")]
    return out


def markdown(judged: dict, command: str, project: Path) -> str:
    head = ("| video | box px | method | L1 | PSNR | SSIM | sharp | ID | eyes (blinks) | mouth (open) | rest dB "
            "| turn L1 (frames) | turn ID | tE | jitter |")
    lines = ["# Judgement (issue 26): fullres.py and motion.py", "",
             f"`{command}`", "",
             f"{datetime.date.today().isoformat()}, commit {commit(project)}; T=1, preset {PRESET}, {FRAMES} frames, "
             f"methods {','.join(METHODS)}, motion window {WINDOW}; frames by the project's `finetune` and "
             f"`generate` (watermark included).", "", head, "|" + " --- |" * (head.count("|") - 1)]
    errors = []
    for stem, j in judged.items():
        motion_rows = {r.get("method"): r for r in j.get("motion", {}).get("results", [])}
        errors += [f"- {stem} ({step}.py): {r['error']}" for step in ("fullres", "motion")
                   for r in j.get(step, {}).get("results", []) if "error" in r]
        for r in j.get("fullres", {}).get("results", []):
            if "error" in r:
                continue
            m = motion_rows.get(r["method"], {})
            turns = len(m.get("turn_deg") or []) if m else None
            lines.append(" | ".join([
                f"| {stem}", str(r["native"]), r["method"], cell(r["l1"], ".4f"), cell(r["psnr"], ".2f"),
                cell(r["ssim"], ".3f"), cell(r["sharp"], ".2f"), cell(r["id"], ".3f"),
                cell(r["eyes"], ".4f", r["blinks"]), cell(r["mouth"], ".4f", r["open_mouths"]),
                cell(r.get("rest"), ".1f"), cell(m.get("turn_l1"), ".4f", turns), cell(m.get("turn_id"), ".3f"),
                cell(m.get("te"), ".4f"), cell(m.get("jitter"), ".3f")]) + " |")
    sums = {method: summary(judged, method) for method in METHODS}
    lines += ["", "Means over videos, as fullres.py's and motion.py's SUMMARY (sharp capped at 1 per video):", "",
              "| method | videos | L1 | PSNR | SSIM | sharp (capped) | ID | eyes | mouth | rest dB (min) "
              "| turn L1 | turn ID | tE | jitter |", "|" + " --- |" * 14]
    for method, s in sums.items():
        lines.append(" | ".join([
            f"| {method}", str(s["videos"]), cell(s["l1"], ".4f"), cell(s["psnr"], ".2f"), cell(s["ssim"], ".3f"),
            cell(s["sharp_capped"], ".3f"), cell(s["id"], ".3f"), cell(s["eyes"], ".4f"), cell(s["mouth"], ".4f"),
            cell(s["rest_min"], ".1f"), cell(s["turn_l1"], ".4f"), cell(s["turn_id"], ".3f"), cell(s["te"], ".4f"),
            cell(s["jitter"], ".3f")]) + " |")
    lines += ["", "Against the issue's targets (model / warp):", "", "| target | measured | met |",
              "| --- | --- | --- |"]
    for t in targets(sums["warp"], sums["model"]):
        met = "n/a" if t["met"] is None else "yes" if t["met"] else "**no**"
        lines.append(f"| {t['name']} | {t['measured']} | {met} |")
    if errors:
        lines += ["", "Not scored:", ""] + errors
    return "\n".join(lines) + "\n"


def commit(project: Path) -> str:
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=project, capture_output=True, text=True,
                              check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=project,
                               capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head + (" (with uncommitted changes)" if dirty else "")


# --- the worst frames --------------------------------------------------------------------------------------

# a target of the table -> the per-frame score the sheet ranks by
SCORED_BY = {"sharp_capped": "sharp", "rest_min": "rest", "eyes": "eyes", "mouth": "mouth", "l1": "l1", "id": "id",
             "turn_l1": "turn", "te": "te"}


def sheet_targets(table: list[dict]) -> list[dict]:
    """The targets not met, most missed first; if all are met, the two closest to failing."""
    scored = [t for t in table if t["met"] is not None]
    failed = sorted((t for t in scored if not t["met"]), key=lambda t: t["margin"])
    return failed or sorted(scored, key=lambda t: t["margin"])[:2]


class Worst:
    """The up to 4 rows of each metric where the model does worst against the warp, drawn as they come."""

    def __init__(self, keys):
        self.rows = {key: [] for key in keys}

    def wants(self, key: str) -> bool:
        return key in self.rows

    def offer(self, key: str, badness: float, crops, region, title: str, values: str) -> None:
        rows = self.rows[key]
        if len(rows) == 4 and badness <= rows[-1][0]:
            return
        rows.append((badness, sheet_row(crops, region, title, values)))
        rows.sort(key=lambda r: -r[0])
        del rows[4:]


def text_bar(lines: list[str], width: int, colour=(255, 255, 255)) -> np.ndarray:
    bar = np.full((8 + 20 * len(lines), width, 3), 32, np.uint8)
    for n, line in enumerate(lines):
        cv2.putText(bar, line, (6, 20 + 20 * n), cv2.FONT_HERSHEY_SIMPLEX, 0.5, colour, 1, cv2.LINE_AA)
    return bar


def sheet_row(crops, region, title: str, values: str) -> np.ndarray:
    """real | warp | model over the native box, each PANEL wide, and under each the region at 3x the panel's
    scale (less where it would not fit: the zoom is in the label)."""
    side = crops[0].shape[0]
    panels = []
    for name, crop in zip(("real", "warp", "model"), crops):
        panel = cv2.resize(crop, (PANEL, PANEL), interpolation=cv2.INTER_AREA)
        cv2.putText(panel, name, (6, 18), cv2.FONT_HERSHEY_SIMPLEX, 0.55, (255, 255, 0), 1, cv2.LINE_AA)
        panels.append(panel)
    zoom = None
    if region is not None:
        part = [crop[region] for crop in crops]
        h, w = part[0].shape[:2]
        scale = min(INSET * PANEL / side, PANEL / w, PANEL / 2 / h)
        zoom = scale * side / PANEL
        size = (max(1, round(w * scale)), max(1, round(h * scale)))
        for n, p in enumerate(part):
            canvas = np.zeros((PANEL // 2, PANEL, 3), np.uint8)
            big = cv2.resize(p, size, interpolation=cv2.INTER_CUBIC if scale > 1 else cv2.INTER_AREA)
            y, x = (PANEL // 2 - size[1]) // 2, (PANEL - size[0]) // 2
            canvas[y:y + size[1], x:x + size[0]] = big
            panels[n] = np.vstack([panels[n], canvas])
    title += f" ({side} px box" + (f", inset {zoom:.1f}x)" if zoom else ")")
    return np.vstack([text_bar([title, values], 3 * PANEL), np.hstack(panels)])


def union(a: tuple[slice, slice], b: tuple[slice, slice]) -> tuple[slice, slice]:
    return tuple(slice(min(p.start, q.start), max(p.stop, q.stop)) for p, q in zip(a, b))


def rgb_file(path: Path) -> np.ndarray:
    image = cv2.imread(str(path))
    if image is None:
        raise FileNotFoundError(f"{path} is missing: run without --sheet-only (or with --again) to make it")
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def fullres_worst(fr, video: Path, folder: Path, f: dict, worst: Worst) -> None:
    """fullres.py's per-frame scores, with its own helpers, on its stored frames."""
    x0, y0, _ = nb = tuple(f["box"])
    kept = f["keep"]
    real, _ = fr.read_frames(str(video), [0] + [f["read"][k] for k in kept])
    ref_c = fr.cut(real[0], nb)
    ref_pc = np.array(f["reference"]) - [x0, y0]
    stem = video.stem
    if worst.wants("rest"):
        model = fr.cut(rgb_file(folder / "gen" / frame_name("frame_", 0)), nb).astype(np.float64) / 255
        db = 10 * np.log10(1 / max(((model - ref_c / 255.0) ** 2).mean(), 1e-10))
        rest_warp = fr.pa_warp_native(ref_c, ref_pc, np.array(f["rest"]) - [x0, y0])
        worst.offer("rest", -db, (ref_c, rest_warp, (model * 255).round().astype(np.uint8)), None,
                    f"{stem}, rest frame (the photo's own landmarks)", f"rest PSNR {db:.1f} dB")
    for j, k in enumerate(kept):
        wanted = [key for key, frames in (("sharp", f["scored"]), ("l1", f["scored"]), ("id", f["scored"]),
                                          ("eyes", f["blinks"]), ("mouth", f["open_mouths"]))
                  if k in frames and worst.wants(key)]
        if not wanted:
            continue
        index = f["read"][k]
        real_c = fr.cut(real[index], nb)
        dp = np.array(f["drivers"][k]) - [x0, y0]
        warp_c = fr.pa_warp_native(ref_c, ref_pc, dp)
        model_c = fr.cut(rgb_file(folder / "gen" / frame_name("frame_", j + 1)), nb)
        crops = (real_c, warp_c, model_c)
        title = f"{stem}, frame {index}"
        err = {name: np.abs(c.astype(np.float64) - real_c) / 255 for name, c in (("warp", warp_c), ("model", model_c))}
        if "sharp" in wanted:
            face = fr.hull_mask(dp, real_c.shape, scale=1.1)
            base = max(fr.lap_var(real_c, face), 1e-6)
            ratio = {name: min(fr.lap_var(c, face) / base, 1.0) for name, c in (("warp", warp_c), ("model", model_c))}
            rel = ratio["model"] / max(ratio["warp"], 1e-6)
            worst.offer("sharp", -rel, crops, None, title,
                        f"sharp (capped) model {ratio['model']:.2f}, warp {ratio['warp']:.2f}: {rel:.2f} of the warp's")
        if "l1" in wanted:
            m, w = err["model"].mean(), err["warp"].mean()
            worst.offer("l1", m - w, crops, None, title, f"L1 model {m:.4f}, warp {w:.4f} ({m / w - 1:+.0%})")
        if "id" in wanted:
            dr, dw, dm = fr.descriptor(real_c), fr.descriptor(warp_c), fr.descriptor(model_c)
            if dr is not None and dw is not None and dm is not None:
                m, w = float(np.linalg.norm(dm - dr)), float(np.linalg.norm(dw - dr))
                worst.offer("id", m - w, crops, None, title, f"ID model {m:.3f}, warp {w:.3f}")
        if "eyes" in wanted:
            boxes = [fr.region(dp[i:i + 6], 1.3, 0.6) for i in (36, 42)]
            m, w = (float(np.mean([e[b].mean() for b in boxes])) for e in (err["model"], err["warp"]))
            worst.offer("eyes", m - w, crops, union(*boxes), title + " (blink)",
                        f"eyes L1 model {m:.4f}, warp {w:.4f} ({m / w - 1:+.0%})")
        if "mouth" in wanted:
            box = fr.region(dp[48:68], 1.3, None)
            m, w = err["model"][box].mean(), err["warp"][box].mean()
            worst.offer("mouth", m - w, crops, box, title + " (open mouth)",
                        f"mouth L1 model {m:.4f}, warp {w:.4f} ({m / w - 1:+.0%})")


def motion_worst(fr, video: Path, folder: Path, f: dict, worst: Worst) -> None:
    """motion.py's turn frames and its window, scored per frame as motion.py scores them."""
    x0, y0, _ = nb = tuple(f["box"])
    turns = f["turns"] if worst.wants("turn") else []
    window = f["window"] if worst.wants("te") else []
    if not turns and not window:
        return
    real, _ = fr.read_frames(str(video), [0] + [i for _, i in turns] + window)
    ref_c = fr.cut(real[0], nb)
    ref_pc = np.array(f["reference"]) - [x0, y0]

    def crops(j: int, index: int):
        drv = np.array(f["drivers"][j]) - [x0, y0]
        return (fr.cut(real[index], nb), fr.pa_warp_native(ref_c, ref_pc, drv),
                fr.cut(rgb_file(folder / "motion_gen" / frame_name("frame_", j)), nb))

    for j, (deg, index) in enumerate(turns):
        c = crops(j, index)
        m, w = (np.abs(x.astype(np.float64) - c[0]).mean() / 255 for x in (c[2], c[1]))
        worst.offer("turn", m - w, c, None, f"{video.stem}, frame {index} (turned {deg:.1f} deg)",
                    f"turn L1 model {m:.4f}, warp {w:.4f} ({m / w - 1:+.0%})")
    if window:
        start = len(f["turns"])
        frames = [crops(start + t, index) for t, index in enumerate(window)]
        for t in range(1, len(window)):
            dr = frames[t][0].astype(np.float64) - frames[t - 1][0]
            w, m = (np.abs(frames[t][n].astype(np.float64) - frames[t - 1][n] - dr).mean() / 255 for n in (1, 2))
            worst.offer("te", m - w, frames[t], None, f"{video.stem}, frame {window[t]} (window)",
                        f"temporal error from frame {window[t - 1]}: model {m:.4f}, warp {w:.4f}")


def write_sheet(fullres, descriptors: FrameMemo, judged: dict, videos: list[Path], work: Path) -> Path | None:
    sums = {method: summary(judged, method) for method in METHODS}
    chosen = sheet_targets(targets(sums["warp"], sums["model"]))
    worst = Worst([SCORED_BY[t["key"]] for t in chosen])
    for video in videos:
        j, folder = judged.get(video.stem, {}), work / video.stem
        descriptors.load(folder / "descriptors.npz")
        for step, score in (("fullres", fullres_worst), ("motion", motion_worst)):
            frames = j.get(step, {}).get("frames")
            if frames:
                progress(f"sheet: {video.stem}, {step}.py's frames")
                score(fullres, video, folder, frames, worst)
    parts = []
    for t in chosen:
        rows = worst.rows[SCORED_BY[t["key"]]]
        verdict = "met" if t["met"] else "NOT met"
        parts.append(text_bar([f"{t['name']}: {t['measured']} ({verdict}); worst frames: {len(rows)}"],
                              3 * PANEL, (0, 255, 255)))
        parts += [row for _, row in rows]
    if not parts:
        return None
    return write_png(work / "worst_frames.png", np.vstack(parts))


# --- the command -------------------------------------------------------------------------------------------

def stored(videos: list[Path], work: Path) -> dict[str, dict]:
    judged = {}
    for video in videos:
        steps = {step: json.loads(p.read_text()) for step in ("fullres", "motion")
                 if (p := work / video.stem / f"judgement_{step}.json").is_file()}
        if steps:
            judged[video.stem] = steps
        else:
            progress(f"{video.stem}: no stored results in {work}")
    return judged


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--work", required=True, help="folder for person files, frames and results (fullres.py's layout)")
    ap.add_argument("--videos", nargs="+", type=Path, help="videos to judge (default: the test people's clips)")
    ap.add_argument("--media", type=Path, default=ROOT.parent / "shared" / "media",
                    help="the media folder (MANIFEST.tsv); ../eval beside it holds fullres.py and motion.py")
    ap.add_argument("--project", type=Path, default=ROOT,
                    help="the checkout whose `python -m core` makes the frames (with its .venv; default: this one)")
    ap.add_argument("--again", action="store_true", help="run videos whose results are already in WORK")
    ap.add_argument("--sheet-only", action="store_true", help="only redraw worst_frames.png from stored results")
    args = ap.parse_args()
    work = Path(args.work).resolve()
    eval_dir = args.media.resolve().parent / "eval"
    if not (eval_dir / "fullres.py").is_file() or not (eval_dir / "motion.py").is_file():
        raise SystemExit(f"fullres.py and motion.py not found in {eval_dir}: give --media beside ../eval")
    videos = [v.resolve() for v in args.videos] if args.videos else split_media(args.media).test
    missing = [str(v) for v in videos if not v.is_file()]
    if missing:
        raise SystemExit(f"no such video: {', '.join(missing)}")
    if len({v.stem for v in videos}) < len(videos):
        raise SystemExit("two videos share a name: WORK keeps one folder per video name")
    work.mkdir(parents=True, exist_ok=True)
    fullres, motion = load_protocol(eval_dir)
    marks, descriptors = memoise(fullres, motion)
    if args.sheet_only:
        judged = stored(videos, work)
    else:
        judged = judge(fullres, motion, marks, descriptors, videos, args.project.resolve(), work, args.again)
        command = shlex.join([os.path.relpath(sys.executable) if sys.executable.startswith(os.getcwd())
                              else sys.executable, *sys.argv])
        text = markdown(judged, command, args.project.resolve())
        write_atomic(work / "judgement.md", text)
        print(text, flush=True)
    sheet = write_sheet(fullres, descriptors, judged, videos, work)
    progress(f"wrote {sheet}" if sheet else "no frames for the sheet")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
