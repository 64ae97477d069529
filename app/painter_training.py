"""What `train-mouth` and `train-eyes` share: a painter's training (core/training/painter.py) from the
command line, the same arguments for either region."""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from ..core.errors import UserError
from ..core.training.config import PAINTER_CONFIGS
from .output import TqdmProgress, info


def add_arguments(p: argparse.ArgumentParser, region: str) -> None:
    config = PAINTER_CONFIGS[region]
    p.add_argument("data", help="folder of talking-head videos (as `meta-train` takes them)")
    p.add_argument("--videos", required=True, help="text file listing the training videos (names in DATA)")
    p.add_argument("--val", required=True, help="text file listing the held-out videos (names in DATA)")
    p.add_argument("--out", default=f"out/{region}", help="checkpoint folder (resumed if it holds one)")
    p.add_argument("--minutes", type=float, default=0.0, help="stop after this long, checkpointing first")
    p.add_argument("--steps", type=int, default=config.steps, help=f"optimisation steps (default {config.steps})")
    p.add_argument("--config", help=f"JSON file of {config.__name__} fields to override")
    p.add_argument("--device", default="auto", help="auto, cpu or cuda")


def listed_videos(listing: str, base: Path) -> list[Path]:
    """The videos of `base` a text file names, one a line; UserError for a missing file or video."""
    if not Path(listing).is_file():
        raise UserError(f"{listing} does not exist: give a text file naming one video of {base} per line")
    videos = [base / line.strip() for line in Path(listing).read_text().splitlines() if line.strip()]
    missing = [v.name for v in videos if not v.is_file()]
    if missing or not videos:
        raise UserError(f"{listing} names {'no videos' if not videos else 'videos not in ' + str(base)}"
                        f"{': ' + ', '.join(missing[:3]) if missing else ''}: fix the list or the folder")
    return videos


def run(args: argparse.Namespace, region: str) -> int:
    from ..core.training.data import find_videos
    from ..core.training.painter import BEST, train

    cfg = PAINTER_CONFIGS[region](steps=args.steps, minutes=args.minutes)
    if args.config:
        cfg = cfg.replace(**json.loads(Path(args.config).read_text()))
    base = Path(args.data)
    find_videos(base)   # a clear error for a folder without videos
    best = train(region, args.data, args.out, cfg, listed_videos(args.videos, base), listed_videos(args.val, base),
                 args.device, TqdmProgress(f"{region} painter"), log=info)
    info(f"best: step {best.get('step')}, held-out {region} L1 {best.get('painter', 0):.4f} "
         f"(warp {best.get('warp', 0):.4f}); weights: {Path(args.out) / BEST}")
    return 0
