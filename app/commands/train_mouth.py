"""`python -m core train-mouth DATA --videos T --val V`: trains the mouth painter on pairs of frames of those
videos (resumable)."""
from __future__ import annotations

import argparse

from .. import painter_training


def add_arguments(p: argparse.ArgumentParser) -> None:
    painter_training.add_arguments(p, "mouth")


def run(args: argparse.Namespace) -> int:
    return painter_training.run(args, "mouth")
