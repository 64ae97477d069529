"""Choosing the renderer's settings by cross-validation over people: a candidate must lose on no fold.

  python benchmarks/fullres_choices.py WORK --videos V... [--settings NAME...] [--out ROWS.jsonl]
  python benchmarks/fullres_choices.py WORK --out ROWS.jsonl [--settings NAME...]    # the table of earlier rows

For each video, ../shared/eval/fullres.py's own choice of frames and its own scores, with the model's frames
rendered in-process by `NativeRenderer` under each candidate setting (below, `SETTINGS`: painter files,
renderer options, rules' constants), written without provenance (the watermark is the same for every
candidate; the judgement, fullres.py through `generate`, carries it). Person files are fine-tuned once into
WORK, as fullres.py does (`--work WORK` there reuses them).

The videos' people must be choice people (`core.training.split`): the test people are refused, so that no
choice ever looks at them. Each video is put in its person's fold; the table gives, per setting and fold, the
mean scores and each against the warp's on the same videos; then, per score, on how many folds each candidate
is better than the first setting (the shipped one), the same (a rule that changes nothing on a fold's videos)
or worse.
"""
from __future__ import annotations

import argparse
import csv
import functools
import hashlib
import importlib
import json
import os
import shutil
import sys
from pathlib import Path

import cv2
import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from core.__main__ import project_package  # noqa: E402  (this checkout as the package talking_heads)

project_package()
from talking_heads.core.model.native import NativeRenderer  # noqa: E402
from talking_heads.core.model.painter import load_painter  # noqa: E402
from talking_heads.core.model.person import load_person  # noqa: E402
from talking_heads.core.training import split  # noqa: E402

# name -> NativeRenderer keyword arguments (`mouth`, `eyes`: a painter file, "{painters}/" for the --painters
# folder, benchmarks/train_painters.py's output; "person" for the person file's own; None for none); the first
# is the one shipped, the others are candidates; "rules": {"module.NAME": value} sets a rule's constant in
# talking_heads.core.model for that setting's frames
SETTINGS = {
    "shipped": {},
    "eyes": {"eyes": "{painters}/eyes_training.safetensors"},
    "eyes+mouth": {"eyes": "{painters}/eyes_training.safetensors", "mouth": "{painters}/mouth_training.safetensors"},
}
# The rules measured on 2026-12-08 and not adopted (benchmarks/RESULTS.md h) set constants that exist at commits
# 5724c02 and e2f0429 only, e.g. {"rules": {"mouth.ALPHA_SCALE": 0.75}}, {"rules": {"generator.NECK": True}} or
# {"rules": {"painter.CORRECTION_BLUR": 2.0}}.
KEYS = ("l1", "sharp", "id", "eyes", "mouth")


def load_fullres(eval_dir: Path):
    sys.path.insert(0, str(eval_dir))
    import fullres

    return fullres


def memoised(fn):
    """fn(rgb, *args) remembered by the image's bytes: every candidate scores the same frames."""
    cache = {}

    @functools.wraps(fn)
    def wrapper(rgb, *args):
        key = (hashlib.md5(np.ascontiguousarray(rgb).tobytes()).digest(), args)
        if key not in cache:
            cache[key] = fn(rgb, *args)
        return cache[key]
    return wrapper


def render_in_process(person_path: str, track_path: str, out_dir: str, options: dict, painters: str) -> None:
    """What `generate` writes, rendered by NativeRenderer with `options`, without provenance."""
    person = load_person(person_path)
    options = dict(options)
    rules = options.pop("rules", {})
    saved = {}
    for name, value in rules.items():
        module, attr = name.split(".")
        module = importlib.import_module(f"talking_heads.core.model.{module}")
        saved[module, attr] = getattr(module, attr)
        setattr(module, attr, value)
    try:
        write_frames(person, track_path, out_dir, options, painters)
    finally:
        for (module, attr), value in saved.items():
            setattr(module, attr, value)


def write_frames(person, track_path: str, out_dir: str, options: dict, painters: str) -> None:
    from talking_heads.core.landmarks.align import paste_box

    for region in ("mouth", "eyes"):
        choice = options.pop(region, "person")
        options[region] = getattr(person, region) if choice == "person" else (
            None if choice is None else load_painter(choice.format(painters=painters), region)[0])
    renderer = NativeRenderer(person.renderer(), person.image, person.image_points, person.box, **options).eval()
    frames = json.load(open(track_path))["frames"]
    points = np.array([f["points"] for f in frames], np.float32)[..., :2]
    x0, y0, _ = person.native_box
    # the folder is emptied first: `generate`'s record of a job there would otherwise make a later fullres.py
    # run in the same WORK take these frames (no watermark, another setting) for its own and score them
    shutil.rmtree(out_dir, ignore_errors=True)
    os.makedirs(out_dir)
    with torch.no_grad():
        for start in range(0, len(points), 4):
            boxes = renderer(torch.as_tensor(points[start:start + 4])).clamp(0, 1)
            for k, box in enumerate((boxes * 255 + 0.5).byte().permute(0, 2, 3, 1).numpy()):
                frame = paste_box(person.image, box, x0, y0)
                cv2.imwrite(os.path.join(out_dir, f"frame_{start + k:04d}.png"), cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))


def identities(media: Path) -> dict[str, str]:
    with open(media / "MANIFEST.tsv", newline="", encoding="utf-8") as f:
        return {Path(r["file"]).name: r["identity"] for r in csv.DictReader(f, delimiter="\t")}


def summary(rows: list[dict]) -> dict:
    out = {}
    for key in KEYS:
        values = [r[key] for r in rows if r.get(key) is not None]
        if key == "sharp":
            values = [min(v, 1.0) for v in values]     # as fullres.py's sharp_capped
        out[key] = float(np.mean(values)) if values else None
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("work", help="folder for person files and frames (fullres.py's --work layout)")
    ap.add_argument("--videos", nargs="+", help="choice people's videos (without them: the table of --out)")
    ap.add_argument("--settings", nargs="+", default=list(SETTINGS),
                    help=f"to evaluate: of {', '.join(SETTINGS)}; for a table: any in --out's rows")
    ap.add_argument("--media", default=str(ROOT.parent / "shared" / "media"))
    ap.add_argument("--frames", type=int, default=8)
    ap.add_argument("--painters", default="out/painters", help="train_painters.py's output folder")
    ap.add_argument("--out", help="JSON lines of every row, appended; the table is of all its rows")
    args = ap.parse_args()
    if args.videos:
        rows = evaluate_settings(args)
        if args.out:
            rows = [json.loads(line) for line in open(args.out)]
    elif args.out:
        rows = [json.loads(line) for line in open(args.out)]
    else:
        raise SystemExit("give --videos to evaluate, or --out with earlier rows for their table")
    report(rows, args.settings)


def evaluate_settings(args) -> list[dict]:
    """fullres.py's rows for every video under every setting (the warp's with the first)."""
    unknown = [name for name in args.settings if name not in SETTINGS]
    if unknown:
        raise SystemExit(f"no setting {', '.join(unknown)}: choose from {', '.join(SETTINGS)}")
    torch.set_num_threads(max(1, (os.cpu_count() or 2) // 2))
    media = Path(args.media)
    who = identities(media)
    fold_of = {}
    for video in args.videos:
        identity = who.get(Path(video).name)
        if identity in split.TEST_IDENTITIES:
            raise SystemExit(f"{Path(video).name} shows a test person: choose on choice people only")
        if identity not in split.VALIDATION_IDENTITIES | split.NEW_CHOICE_IDENTITIES:
            raise SystemExit(f"{Path(video).name} shows a training person ({identity}): not a held-out choice")
        fold_of[Path(video).name] = split.choice_fold(identity)

    fullres = load_fullres(media.parent / "eval")
    fullres.landmarks = memoised(fullres.landmarks)
    fullres.descriptor = memoised(fullres.descriptor)
    original = fullres.run_project
    current = {}

    def run_project(project, cmd, log):
        if cmd[0] == "generate":
            render_in_process(cmd[1], cmd[2], cmd[cmd.index("--out") + 1], current["options"], args.painters)
        elif cmd[0] == "detect" and os.path.exists(cmd[cmd.index("--json") + 1]):
            return
        else:
            original(project, cmd, log)
    fullres.run_project = run_project

    rows = []
    for n, name in enumerate(args.settings):
        current["options"] = SETTINGS[name]
        for video in args.videos:
            methods = ["warp", "model"] if n == 0 else ["model"]
            for r in fullres.evaluate(video, str(ROOT), args.frames, os.path.abspath(args.work), methods, "fast"):
                r.update(setting=name if r.get("method") == "model" else "warp", fold=fold_of[Path(video).name])
                rows.append(r)
                print(json.dumps(r), flush=True)
                if args.out:
                    with open(args.out, "a") as f:
                        f.write(json.dumps(r) + "\n")
    return rows


def report(rows: list[dict], settings: list[str]) -> None:
    """Per setting and fold, the mean scores and each against the warp's on the same videos; then each
    candidate against the first setting fold by fold: better, the same (it changed nothing there) or worse."""
    rows = list({(r["video"], r.get("setting")): r for r in rows}.values())     # a run again replaces its rows
    # the videos every setting (and the warp) was scored on: means over the same videos
    common = set.intersection(*({r["video"] for r in rows if r.get("setting") == name}
                                for name in ["warp"] + list(settings)))
    rows = [r for r in rows if r["video"] in common]
    folds = sorted({r["fold"] for r in rows})
    names = ["warp"] + list(settings)
    print("\n| setting | fold | videos | " + " | ".join(KEYS) + " | " + " | ".join(f"{k} / warp" for k in KEYS) + " |")
    print("|" + " --- |" * (3 + 2 * len(KEYS)))
    table = {}
    for name in names:
        for fold in folds + ["all"]:
            picked = [r for r in rows if r.get("setting") == name and (fold == "all" or r["fold"] == fold)]
            warp = summary([r for r in rows if r.get("setting") == "warp" and (fold == "all" or r["fold"] == fold)])
            s = table[name, fold] = summary(picked)
            cells = [f"{s[k]:.4f}" if s[k] is not None else "" for k in KEYS]
            ratio = [f"{s[k] / warp[k]:.3f}" if s[k] is not None and warp[k] else "" for k in KEYS]
            print(f"| {name} | {fold} | {len(picked)} | " + " | ".join(cells) + " | " + " | ".join(ratio) + " |")
    shipped = settings[0]
    print("\nAgainst the first setting, fold by fold (sharp up, the rest down): better / the same / worse")
    for name in settings[1:]:
        verdict = []
        for key in KEYS:
            counts = {"better": 0, "same": 0, "worse": 0}
            for f in folds:
                new, old = table[name, f][key], table[shipped, f][key]
                if new is None or old is None:
                    continue
                gain = (new - old) if key == "sharp" else (old - new)
                counts["same" if abs(gain) < 1e-6 else "better" if gain > 0 else "worse"] += 1
            verdict.append(f"{key} {counts['better']}/{counts['same']}/{counts['worse']}")
        print(f"  {name}: " + ", ".join(verdict))


if __name__ == "__main__":
    main()
