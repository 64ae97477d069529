"""Self-reenactment on the validation identities: `copy`, `warp` and the model, one shot and eight shots.

The protocol is ../shared/eval/PROTOCOL.md, implemented by `core.evaluation` (which reproduces the reference
implementation's `copy` and `warp` figures exactly). The videos are the validation split of
../shared/media (`core.training.split`: identities never used in meta-training). For T = 1 and
T = 8 reference frames it prints the table, appends it with the command, date and machine to
benchmarks/RESULTS.md, and writes a contact sheet per T under out/ (it shows real people: never commit it).

`copy` and `warp` use only the first reference frame, which is frame 0 for every T: their T=8 rows repeat
the T=1 rows by construction. The model is fine-tuned on all T references.

Usage: python benchmarks/evaluate.py [--person-prior PATH] [--methods copy,warp,model] [--frames 16]
                                     [--shots 1,8] [--media DIR] [--device auto] [--workers 2] [--no-record]
"""
from __future__ import annotations

import argparse
import datetime
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from core.__main__ import project_package  # noqa: E402  (the project folder as `talking_heads`)

project_package()

from benchmarks.report import describe  # noqa: E402
from talking_heads.app.output import TqdmProgress  # noqa: E402
from talking_heads.core.evaluation.methods import parse_methods  # noqa: E402
from talking_heads.core.evaluation.report import format_table, write_contact_sheet  # noqa: E402
from talking_heads.core.evaluation.score import evaluate  # noqa: E402
from talking_heads.core.errors import UserError  # noqa: E402
from talking_heads.core.presets import DEFAULT_PRESET, PRESET_NAMES, preset_named  # noqa: E402
from talking_heads.core.training import split  # noqa: E402


def machine(device: str | None) -> str:
    text = describe()
    if device is not None:
        import torch

        if device != "cpu" and torch.cuda.is_available():
            text += f", {torch.cuda.get_device_name()}"
    return text


def run(args) -> int:
    shots = [int(t) for t in args.shots.split(",")]
    _, videos = split.split_videos(args.media)
    if not videos:
        raise UserError(f"no validation videos in {args.media}: give the media folder with --media")
    out = ROOT / "out"
    sections = []
    for t in shots:
        fit_bar = TqdmProgress("fine-tune")

        def fitting(done, total, message):
            fit_bar(done, total, message)
            if done == total:
                fit_bar.close()

        methods = parse_methods(args.methods, args.person_prior, preset_named(args.preset), args.device, fitting)
        bar = TqdmProgress(f"T={t}")
        started = time.time()
        try:
            results = evaluate(videos, methods, t, args.frames, contact_sheet=True, workers=args.workers,
                                          progress=bar)
        finally:
            bar.close()
            fit_bar.close()
        seconds = time.time() - started
        sheet = out / f"evaluate_T{t}.png"
        write_contact_sheet(sheet, results)
        scored = [r for r in results if r.error is None]
        notes = [f"- {r.video}: {n}" for r in results for n in r.notes + ([f"not scored: {r.error}"] if r.error else [])]
        summary = format_table(results)
        per_video = format_table(results, per_video=True).split("\n\n", 1)[1]
        print(f"\nT={t}: {len(scored)} of {len(results)} videos, {args.frames} test frames each, {seconds:.0f} s")
        print(summary)
        print("\n".join(notes))
        print(f"contact sheet: {sheet}")
        sections.append(f"### T = {t} ({len(scored)} videos, {seconds:.0f} s)\n\n{summary}\n\n"
                        + ("\n".join(notes) + "\n\n" if notes else "")
                        + f"<details><summary>per video</summary>\n\n{per_video}\n\n</details>\n")
    if not args.no_record:
        record(args, videos, sections)
    return 0


def record(args, videos: list[Path], sections: list[str]) -> None:
    results = ROOT / "benchmarks" / "RESULTS.md"
    if not results.exists():
        results.write_text("# Benchmark results\n\nEach script in benchmarks/ appends its section here.\n")
    model = "model" in args.methods.split(",")
    identities = ", ".join(sorted(split.VALIDATION_IDENTITIES))
    text = (f"\n## Self-reenactment on the validation identities ({datetime.date.today().isoformat()})\n\n"
            f"Command: `python benchmarks/evaluate.py {' '.join(sys.argv[1:])}`  \n"
            f"Machine: {machine(args.device if model else None)}  \n"
            f"Data: {len(videos)} validation videos of ../shared/media ({identities}), {args.frames} test frames "
            "each. Protocol: ../shared/eval/PROTOCOL.md (256 crop; L1, PSNR, SSIM; AKD and ID by dlib; AKD miss = "
            "share of frames where dlib found no face on the generated or the real crop). "
            + (f"Model: prior {args.person_prior or 'default (models/prior)'}, preset {args.preset}. " if model else "")
            + "`copy` and `warp` see only frame 0 for every T.\n\n" + "\n".join(sections))
    with results.open("a", encoding="utf-8") as f:
        f.write(text)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--media", type=Path, default=ROOT.parent / "shared" / "media")
    parser.add_argument("--methods", default="copy,warp,model", help="comma-separated: copy, warp, model, dir:PATH")
    parser.add_argument("--person-prior", metavar="PATH", help="the prior the model is fine-tuned from")
    parser.add_argument("--preset", default=DEFAULT_PRESET.name, choices=PRESET_NAMES,
                        help=f"fine-tuning preset (default {DEFAULT_PRESET.name})")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--shots", default="1,8", help="comma-separated reference counts (default 1,8)")
    parser.add_argument("--frames", type=int, default=16, help="test frames per video (default 16)")
    parser.add_argument("--workers", type=int, default=min(2, os.cpu_count() or 1), help="dlib processes")
    parser.add_argument("--no-record", action="store_true", help="do not append to benchmarks/RESULTS.md")
    args = parser.parse_args()
    try:
        return run(args)
    except UserError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
