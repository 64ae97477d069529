"""`python -m core train-eyes DATA --videos T --val V`: trains the eye painter on pairs of frames of those
videos (resumable)."""
from __future__ import annotations

import argparse

from .. import painter_training


def add_arguments(p: argparse.ArgumentParser) -> None:
    painter_training.add_arguments(p, "eyes")


def run(args: argparse.Namespace) -> int:
    return painter_training.run(args, "eyes")
