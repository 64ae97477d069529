"""The mouth and eye painters trained on one GPU machine, side by side, and a table of their held-out scores.

  python benchmarks/train_painters.py lists MEDIA DATA           (here: the people's lists, into DATA)
  python3 benchmarks/train_painters.py train DATA --minutes 8 --out OUT   (on the GPU machine)

Each painter is trained twice (core/training/split.py's groups):
- on the training people alone, held out against the choice people: its scores choose the painters'
  settings, on people it never saw;
- on the training and the choice people: the painter that ships (its held-out figure is on people it saw,
  for watching the run only; the test people judge it, through ../shared/eval).
The four runs share the GPU (each painter is small). Each run's best weights (float16, under 16 MB) are
copied to OUT/<region>_<people>.safetensors, its log beside them, and the table is printed.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
REGIONS = ("mouth", "eyes")
PEOPLE = {"training": "training_videos.txt", "all": "all_videos.txt"}
HELD_OUT = "choice_videos.txt"


def write_lists(media: Path, data: Path) -> None:
    sys.path.insert(0, str(ROOT))
    from core.__main__ import project_package

    project_package()
    from talking_heads.core.training.split import split_media

    groups = split_media(media)
    have = {p.name for p in data.glob("*.mp4")}
    named = lambda videos: [p.name for p in videos if p.name in have]
    choice = named([v for fold in groups.choice for v in fold])
    lists = {PEOPLE["training"]: named(groups.training), PEOPLE["all"]: named(groups.training) + choice,
             HELD_OUT: choice}
    for name, videos in lists.items():
        (data / name).write_text("\n".join(videos) + "\n")
        print(f"{name}: {len(videos)} videos")


def train(data: Path, minutes: float, out: Path, regions: list[str], resume: Path | None) -> None:
    out.mkdir(parents=True, exist_ok=True)
    runs = {}
    for region in regions:
        for people, listing in PEOPLE.items():
            folder = Path("runs") / f"{region}_{people}"
            if resume is not None:      # a run's weights brought back before, continued (fresh Adam moments)
                (ROOT / folder).mkdir(parents=True, exist_ok=True)
                shutil.copy(resume / f"{region}_{people}" / "painter.safetensors", ROOT / folder)
            log = open(out / f"{region}_{people}.log", "w")
            cmd = [sys.executable, "-m", "core", f"train-{region}", str(data), "--videos", str(data / listing),
                   "--val", str(data / HELD_OUT), "--out", str(folder), "--minutes", str(minutes)]
            runs[region, people] = (subprocess.Popen(cmd, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT), folder)
    started = time.time()
    for (region, people), (process, folder) in runs.items():
        process.wait()
    print(f"{len(runs)} runs in {time.time() - started:.0f} s")
    print("| painter | trained on | steps | held-out L1 of the warp | best held-out L1 (step) | against the warp |")
    print("| --- | --- | --- | --- | --- | --- |")
    for (region, people), (process, folder) in runs.items():
        scores = ROOT / folder / "held_out.json"
        if process.returncode or not scores.is_file():
            print(f"| {region} | {people} | failed ({process.returncode}): see {region}_{people}.log | | | |")
            continue
        best = json.loads(scores.read_text())
        steps = re.findall(r"step (\d+) ", (out / f"{region}_{people}.log").read_text())
        steps = steps[-1] if steps else ""
        print(f"| {region} | {people} | {steps} | {best['warp']:.4f} | {best['painter']:.4f} ({best['step']}) | "
              f"{100 * (best['painter'] / best['warp'] - 1):+.1f} % |")
        shutil.copy(ROOT / folder / "best.safetensors", out / f"{region}_{people}.safetensors")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="what", required=True)
    lists = sub.add_parser("lists")
    lists.add_argument("media")
    lists.add_argument("data")
    run = sub.add_parser("train")
    run.add_argument("data")
    run.add_argument("--minutes", type=float, default=8.0)
    run.add_argument("--out", default=os.environ.get("OUT", "out/painters"))
    run.add_argument("--regions", nargs="+", default=list(REGIONS), choices=REGIONS)
    run.add_argument("--resume", help="folder of <region>_<people>/painter.safetensors to continue from")
    args = ap.parse_args()
    if args.what == "lists":
        write_lists(Path(args.media), Path(args.data))
    else:
        train(Path(args.data).resolve(), args.minutes, Path(args.out), args.regions,
              Path(args.resume).resolve() if args.resume else None)


if __name__ == "__main__":
    main()
