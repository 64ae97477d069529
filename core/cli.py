"""`python -m core <command>`: one sub-command per stage of the pipeline.

Each command lives in the module that does the work; that module defines `add_arguments(parser)` and
`run(args) -> int`. Only the chosen command's module is imported, so `--help` stays fast.
"""
from __future__ import annotations

import argparse
import importlib
import sys

# command -> (module, one-line help). Explicit on purpose: a newcomer finds every command here.
COMMANDS = {
    "demo": ("core.demo", "run the whole pipeline on the built-in astronaut portrait"),
    "detect": ("core.landmarks.detect", "detect the 68 facial landmarks in an image"),
    "track": ("core.landmarks.track", "extract a smoothed landmark track from a driving video"),
    "finetune": ("core.training.finetune", "fine-tune a person model on one or a few photos"),
    "generate": ("core.inference", "render frames of a person model from a landmark track"),
    "export": ("export.cli", "export frames or a person model (sequence, flipbook, video, onnx)"),
    "verify": ("export.provenance", "check an image for the synthetic-image watermark"),
    "evaluate": ("core.evaluation", "self-reenactment evaluation on talking-head videos"),
    "meta-train": ("core.training.meta", "meta-learn the prior on a folder of talking-head videos"),
    "worker": ("core.worker", "JSON-lines worker used by the Blender add-on"),
}


def build_parser(command: str | None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m core", description="Neural Talking Heads")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (module, help_text) in COMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        if name == command:
            importlib.import_module(module).add_arguments(p)
    return parser


def _one_line_warning(message, category, filename, lineno, file=None, line=None):
    print(f"warning: {message}", file=file or sys.stderr)


def main(argv: list[str] | None = None) -> int:
    import warnings

    from core.errors import Cancelled, UserError

    warnings.showwarning = _one_line_warning   # notes for users, not source lines

    argv = list(sys.argv[1:] if argv is None else argv)
    command = next((a for a in argv if not a.startswith("-")), None)
    parser = build_parser(command if command in COMMANDS else None)
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    try:
        return int(importlib.import_module(COMMANDS[args.command][0]).run(args) or 0)
    except UserError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except Cancelled:
        print("cancelled", file=sys.stderr)
        return 130
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
