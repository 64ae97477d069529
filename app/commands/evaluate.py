"""`python -m core evaluate VIDEO...`: the self-reenactment protocol on videos, a table, a contact sheet and
JSON scores (`core.evaluation`)."""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from ...core.errors import UserError
from ..output import bar, info, write_data
from .options import add_preset_argument, check_json_folder, chosen_preset

ROOT = Path(__file__).resolve().parents[2]


def _outside_benchmarks(path: Path) -> Path:
    """Sheets and crops of real people must never land in the committed benchmarks/ folder."""
    if path.resolve().is_relative_to(ROOT / "benchmarks"):
        raise UserError(f"{path} is inside benchmarks/, which is committed: write images of people under out/")
    return path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("videos", nargs="+", metavar="VIDEO", help="talking-head videos (one person, static camera)")
    parser.add_argument("--shots", type=int, default=1, metavar="T", help="reference frames per video (default 1)")
    parser.add_argument("--frames", type=int, default=16, metavar="N", help="test frames per video (default 16)")
    parser.add_argument("--methods", default="copy,warp,model",
                        help="comma-separated: copy, warp, model, dir:PATH (default copy,warp,model)")
    parser.add_argument("--person-prior", metavar="PATH", help="the prior the model method fine-tunes from")
    add_preset_argument(parser, "fine-tuning preset of the model method")
    parser.add_argument("--device", default="auto", help="device of the model method: auto, cpu, cuda (default auto)")
    parser.add_argument("--dump", type=Path, metavar="DIR",
                        help="write the last method's crops as DIR/<video stem>/gen_%%04d.png and the real ones as real_%%04d.png")
    parser.add_argument("--contact-sheet", type=Path, metavar="PNG", default=ROOT / "out" / "evaluation_sheet.png",
                        help="rows = test frames, columns = real | each method but copy (default out/evaluation_sheet.png)")
    parser.add_argument("--json", metavar="OUT",
                        help="write per-video and summary scores as JSON to this file (- for standard output)")
    parser.add_argument("--workers", type=int, default=min(2, os.cpu_count() or 1),
                        help="processes running dlib (default: up to 2; 0 runs it in this process)")
    parser.add_argument("--verbose", action="store_true", help="also print one row per video and method")


def run(args: argparse.Namespace) -> int:
    from ...core.atomic import write_json
    from ...core.evaluation.methods import parse_methods
    from ...core.evaluation.protocol import SIZE
    from ...core.evaluation.report import format_table, summarize, write_contact_sheet
    from ...core.evaluation.score import evaluate

    fit_bar = bar("fine-tune")

    def fitting(done: int, total: int, message: str) -> None:
        if fit_bar is None:
            return
        fit_bar(done, total, message)
        if done == total:
            fit_bar.close()  # the next video's fine-tuning starts a bar of its own

    methods = parse_methods(args.methods, args.person_prior, chosen_preset(args), args.device, fitting)
    dump = _outside_benchmarks(args.dump) if args.dump else None
    sheet = _outside_benchmarks(args.contact_sheet)
    check_json_folder(args.json)
    progress = bar("evaluate")
    try:
        results = evaluate(args.videos, methods, args.shots, args.frames, dump=dump, contact_sheet=True,
                           workers=args.workers, progress=progress)
    finally:
        for open_bar in (progress, fit_bar):
            if open_bar is not None:
                open_bar.close()
    for r in results:
        for note in r.notes + ([f"not scored: {r.error}"] if r.error else []):
            print(f"{r.video}: {note}", file=sys.stderr)
    if all(r.error is not None for r in results):
        raise UserError("no video could be scored: see the reasons above")
    info(f"Self-reenactment, T={args.shots}, N={args.frames}, {sum(r.error is None for r in results)} videos")
    info(format_table(results, per_video=args.verbose))
    write_contact_sheet(sheet, results)
    info(f"contact sheet: {sheet}")
    if args.json:
        scores = {
            "protocol": {"shots": args.shots, "frames": args.frames, "crop": SIZE},
            "summary": summarize(results),
            "videos": [{"video": r.video, "frames": r.frames, "error": r.error, "notes": r.notes, "scores": r.scores}
                       for r in results],
        }
        if args.json == "-":
            write_data(json.dumps(scores, indent=1, allow_nan=False))
        else:
            write_json(args.json, scores)
    return 0
