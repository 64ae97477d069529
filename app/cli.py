"""`python -m core <command>` (launched by core/__main__.py): one sub-command per stage of the pipeline.

Each command is one module of `app.commands`, which defines `add_arguments(parser)` and `run(args) -> int`:
it parses, calls the library and prints what it returns. Only the chosen command's module is imported, so
`--help` stays fast.

Conventions every command keeps (tests/test_cli.py checks them):
- `python -m core --version` prints the version; every option has help text.
- `--quiet` (added here to every command that has none of its own, but those in `OWN_CONVENTIONS`): no progress
  bars, no info lines; a command's result (a table, its JSON) stays. Progress bars appear only on a terminal;
  warnings and errors always show.
- `--json -` (or `--out -` where the command's output is itself the JSON file) writes the JSON to standard
  output and the info lines to standard error.
- Exit status: 0 done, 1 failed (the work could not be done, or a check such as `verify` found nothing),
  2 bad input (a one-line `error:` on standard error, nothing written), 130 cancelled or interrupted.
"""
from __future__ import annotations

import argparse
import contextlib
import importlib
import os
import sys

# command -> (its module in app.commands, one-line help). Explicit on purpose: a newcomer finds every command here.
COMMANDS = {
    "animate": ("animate", "photo(s) + a driving video, track, expression curves or audio -> frames and MP4"),
    "demo": ("demo", "run the whole pipeline on the built-in astronaut portrait"),
    "detect": ("detect", "detect the 68 facial landmarks in an image"),
    "track": ("track", "extract a smoothed landmark track from a driving video"),
    "retarget": ("retarget", "move a photo's face the way a landmark track moves"),
    "lipsync": ("lipsync", "expression curves (ARKit mouth weights) from the speech in a sound file"),
    "finetune": ("finetune", "fine-tune a person model on one or a few photos"),
    "generate": ("generate", "render frames of a person model from a landmark track"),
    "head-from-photo": ("head_from_photo", "a head mesh built from a photo, its UVs the photo's own pixels"),
    "fit-head": ("fit_head", "where a photo's face lies on a UV-mapped head mesh (for baking frames onto it)"),
    "export": ("export", "export frames or a person model (sequence, flipbook, video, onnx)"),
    "verify": ("verify", "read a file's provenance: Content Credentials, XMP and the watermark"),
    "evaluate": ("evaluate", "self-reenactment evaluation on talking-head videos"),
    "prepare-data": ("prepare_data", "cut training videos down to their faces, to travel"),
    "meta-train": ("meta_train", "meta-learn the prior on a folder of talking-head videos"),
    "train-mouth": ("train_mouth", "train the mouth painter on a folder of talking-head videos"),
    "train-eyes": ("train_eyes", "train the eye painter on a folder of talking-head videos"),
    "worker": ("worker", "JSON-lines worker used by the Blender add-on"),
}
# Commands without the shared options: export's and verify's keep their own conventions, and the worker's
# standard output is its protocol.
OWN_CONVENTIONS = {"export", "verify", "worker"}

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT, EXIT_CANCELLED = 0, 1, 2, 130
EPILOG = ("exit status: 0 done, 1 failed, 2 bad input (one line on stderr, nothing written), "
          "130 cancelled. `python -m core COMMAND --help` for each command.")


def command_module(command: str):
    """The module of `command` (imported now): its `add_arguments(parser)` and `run(args) -> int`."""
    return importlib.import_module(f".commands.{COMMANDS[command][0]}", __package__)


def _has_option(parser: argparse.ArgumentParser, option: str) -> bool:
    return any(option in action.option_strings for action in parser._actions)


def takes_common_arguments(command: str) -> bool:
    return command not in OWN_CONVENTIONS


def add_common_arguments(parser: argparse.ArgumentParser) -> None:
    """The options every command shares, where its module did not define them itself."""
    if not _has_option(parser, "--quiet"):
        flags = ["--quiet"] + ([] if _has_option(parser, "-q") else ["-q"])
        parser.add_argument(*flags, action="store_true",
                            help="no progress bars and no info lines (warnings and errors still show)")


def build_parser(command: str | None) -> argparse.ArgumentParser:
    from ..core import __version__

    parser = argparse.ArgumentParser(prog="python -m core", description="Neural Talking Heads", epilog=EPILOG)
    parser.add_argument("--version", action="version", version=f"Neural Talking Heads {__version__}",
                        help="print the version and exit")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (_, help_text) in COMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text, epilog=EPILOG)
        if name == command:
            command_module(name).add_arguments(p)
            if takes_common_arguments(name):
                add_common_arguments(p)
    return parser


def writes_json_to_stdout(args: argparse.Namespace) -> bool:
    return any(str(getattr(args, option, None)) == "-" for option in ("json", "out"))


def _one_line_warning(message, category, filename, lineno, file=None, line=None):
    print(f"warning: {message}", file=file or sys.stderr)


def main(argv: list[str] | None = None) -> int:
    import warnings

    from ..core.errors import Cancelled, UserError, one_line
    from . import output

    warnings.showwarning = _one_line_warning   # notes for users, not source lines

    argv = list(sys.argv[1:] if argv is None else argv)
    command = next((a for a in argv if not a.startswith("-")), None)
    parser = build_parser(command if command in COMMANDS else None)
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return EXIT_BAD_INPUT
    quiet, data_on_stdout = bool(getattr(args, "quiet", False)), writes_json_to_stdout(args)
    output.configure(quiet=quiet, data_on_stdout=data_on_stdout, stdout=sys.stdout)
    try:
        with contextlib.ExitStack() as stack:
            # What a command prints is info; its result goes through app.output.write_data, to standard output
            # as it was. So --quiet drops the prints, and with `--json -` they go to standard error, where they
            # cannot break the JSON (a library's line included).
            if data_on_stdout:
                stack.enter_context(contextlib.redirect_stdout(sys.stderr))
            elif quiet:
                stack.enter_context(contextlib.redirect_stdout(stack.enter_context(open(os.devnull, "w"))))
            return int(command_module(args.command).run(args) or 0)
    except UserError as e:
        print(f"error: {one_line(e)}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except Cancelled:
        print("cancelled", file=sys.stderr)
        return EXIT_CANCELLED
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return EXIT_CANCELLED
    except (OSError, MemoryError) as e:   # the machine, not the input: a disk, a device, memory
        message = (getattr(e, "strerror", None) or one_line(e)) if isinstance(e, OSError) else "out of memory"
        where = getattr(e, "filename", None)
        print(f"error: {f'{where}: ' if where else ''}{message}", file=sys.stderr)
        return EXIT_FAILED
    finally:
        output.configure()
