"""`python -m core finetune IMAGE... --out PERSON.safetensors`: a person model from one or a few photos."""
from __future__ import annotations

import argparse
import time

from ..output import bar, info
from .options import add_preset_argument, chosen_preset


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("images", nargs="+", help="one or more photos of the same face")
    p.add_argument("--out", required=True, help="person model file to write (.safetensors)")
    add_preset_argument(p, "how long to fine-tune", describe=True)
    p.add_argument("--steps", type=int, help="override the preset's number of steps")
    p.add_argument("--prior", help="meta-learned checkpoint folder (default: the one shipped in models/prior)")
    p.add_argument("--mouth", help="mouth painter file (default: the one shipped in models/mouth; none: without)")
    p.add_argument("--eyes", help="eye painter file (default: the one in models/eyes, where there is one; none: "
                                  "without)")
    p.add_argument("--device", default="auto", help="auto, cpu or cuda")


def run(args: argparse.Namespace) -> int:
    from ...core.training.finetune import finetune

    started = time.time()
    progress = bar("fine-tune")
    try:
        path = finetune(args.images, args.out, chosen_preset(args), args.device, progress, args.prior, args.steps,
                        args.mouth, args.eyes)
    finally:
        if progress is not None:
            progress.close()
    info(f"person model: {path} ({time.time() - started:.1f} s)")
    return 0
