"""`python -m core prepare-data SOURCE --out DIR`: training videos cut down to their faces, to travel."""
from __future__ import annotations

import argparse
import json

from ...core.errors import UserError
from ..output import info


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("source", help="folder of talking-head videos")
    p.add_argument("--out", required=True, help="folder for the cut videos (their landmarks go in OUT/.landmarks)")
    p.add_argument("--landmarks", help="folder for the native-pixel landmark caches (default: OUT/../landmarks)")
    p.add_argument("--max-side", type=int, default=512, help="largest side of a cut, in pixels (never scaled up)")
    p.add_argument("--max-frames", type=int, default=240, help="frames kept per video, evenly spread")
    p.add_argument("--crf", type=int, default=23, help="H.264 quality (lower: better and larger)")
    p.add_argument("--workers", type=int, default=2, help="videos prepared at once")


def run(args: argparse.Namespace) -> int:
    from ...core.training.prepare import prepare

    def said(video, outcome) -> None:
        info(f"skipped {video.name}: {outcome}" if isinstance(outcome, UserError) else json.dumps(outcome))

    done = prepare(args.source, args.out, args.landmarks, args.max_side, args.max_frames, args.crf, args.workers,
                   on_video=said)
    total = sum(d["bytes"] for d in done)
    info(f"{len(done)} videos, {sum(d['frames'] for d in done)} frames, {total / 2**20:.1f} MiB in {args.out}")
    return 0
