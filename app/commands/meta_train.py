"""`python -m core meta-train DATA`: meta-learns the prior on a folder of talking-head videos (resumable;
`torchrun` for several GPUs)."""
from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

from ...core.training.config import TrainConfig
from ..output import TqdmProgress, info


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("data", help="folder of talking-head videos (or one video)")
    p.add_argument("--out", default="out/prior", help="checkpoint folder (resumed if it exists)")
    p.add_argument("--steps", type=int, default=TrainConfig.steps, help=f"optimisation steps (default {TrainConfig.steps})")
    p.add_argument("--minutes", type=float, default=0.0, help="stop after this long, checkpointing first")
    p.add_argument("--batch", type=int, default=TrainConfig.batch, help=f"episodes per step (default {TrainConfig.batch})")
    p.add_argument("--shots", type=int, default=TrainConfig.shots, help="K frames per episode")
    p.add_argument("--device", default="auto", help="auto, cpu or cuda")
    p.add_argument("--videos", help="text file listing the videos to use (default: all in DATA)")
    p.add_argument("--training-identities", action="store_true",
                   help="only the videos of identities the evaluation does not hold out (DATA's MANIFEST.tsv)")
    p.add_argument("--no-resume", action="store_true", help="start afresh even if --out has a checkpoint")
    p.add_argument("--compact", action="store_true", help="final checkpoint in float16 without optimizer state")
    p.add_argument("--config", help="JSON file of TrainConfig fields to override")
    p.add_argument("--init", help="checkpoint folder to start a new run from (e.g. models/prior)")


def run(args: argparse.Namespace) -> int:
    from ...core.training.meta import train
    from ...core.training.split import split_videos

    cfg = TrainConfig(steps=args.steps, minutes=args.minutes, batch=args.batch, shots=args.shots)
    if args.config:
        cfg = cfg.replace(**json.loads(Path(args.config).read_text()))
    videos = None
    if args.videos:
        base = Path(args.data)
        videos = [base / line.strip() for line in Path(args.videos).read_text().splitlines() if line.strip()]
    elif args.training_identities:
        videos, _ = split_videos(args.data)
    bar = TqdmProgress("meta-train") if int(os.environ.get("RANK", "0")) == 0 else None   # torchrun's first rank
    folder, _ = train(args.data, args.out, cfg, args.device, not args.no_resume, videos, bar, args.compact,
                      args.init, log=info)
    if folder:
        info(f"checkpoint: {folder}")
    return 0
