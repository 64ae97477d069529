"""`python -m core demo` (`make demo`): the whole pipeline on scikit-image's astronaut portrait (`app.demo`)."""
from __future__ import annotations

import argparse
from pathlib import Path

from .options import add_preset_argument, chosen_preset


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--out", default="out/demo", help="output folder (default out/demo)")
    add_preset_argument(p, "fine-tuning preset")


def run(args: argparse.Namespace) -> int:
    from ..demo import run_demo

    return run_demo(Path(args.out).resolve(), chosen_preset(args))
