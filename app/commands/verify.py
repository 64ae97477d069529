"""`python -m core verify FILE...`: the three provenance signals of each file (`export.signals`).

Prints three lines per file (or, with `--json -`, the list of dicts on stdout; `--json OUT.json` writes it to
a file besides the lines) and exits with 0 when every file passes (`export.signals.passes`), 1 otherwise.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from ...core.errors import UserError
from ..output import write_data


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from ...export.provenance import THRESHOLD

    parser.description = (
        "Read the three provenance signals of images (PNG, EXR, JPEG, ...) and videos: the C2PA manifest "
        "(valid, tampered or absent), the XMP digital source type and the watermark (unmarked images score "
        f"about 0 +- 1; found means score >= {THRESHOLD:g}). Prints one line per signal: "
        "PATH, SIGNAL, STATE, DETAIL. Exits with 0 when every file shows a synthetic signal and none is "
        "tampered, 1 otherwise.")
    parser.add_argument("paths", nargs="+", metavar="FILE", help="image or video files")
    parser.add_argument("--json", metavar="OUT", help="write the signals as JSON, a list with one object per "
                        "file; '-' prints it on stdout instead of the lines")


def run(args: argparse.Namespace) -> int:
    from ...core.atomic import write_atomic
    from ...export.signals import file_signals, format_lines, passes

    paths = [Path(p) for p in args.paths]
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        raise UserError(f"no such file: {', '.join(missing)}; check the paths")
    results = []
    for path in paths:
        results.append(file_signals(path))
        if args.json != "-":
            write_data("\n".join(format_lines(results[-1])))
    if args.json == "-":
        write_data(json.dumps(results, indent=1))
    elif args.json:
        write_atomic(args.json, json.dumps(results, indent=1) + "\n")
    return 0 if all(passes(r) for r in results) else 1
