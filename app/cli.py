"""`python -m core <command>` (launched by core/__main__.py): one sub-command per stage of the pipeline.

Each command lives in the module that does the work; that module defines `add_arguments(parser)` and
`run(args) -> int`. Only the chosen command's module is imported, so `--help` stays fast.

Conventions every command keeps (tests/test_cli.py checks them):
- `python -m core --version` prints the version; every option has help text.
- `--quiet` (added here to every command that has none of its own, but export's and the worker's): no progress
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

# command -> (module in this package, one-line help). Explicit on purpose: a newcomer finds every command here.
COMMANDS = {
    "animate": ("app.animate", "photo(s) + a driving video, track, expression curves or audio -> frames and MP4"),
    "demo": ("app.demo", "run the whole pipeline on the built-in astronaut portrait"),
    "detect": ("core.landmarks.detect", "detect the 68 facial landmarks in an image"),
    "track": ("core.landmarks.track", "extract a smoothed landmark track from a driving video"),
    "retarget": ("core.landmarks.track", "move a photo's face the way a landmark track moves"),
    "lipsync": ("core.lipsync.command", "expression curves (ARKit mouth weights) from the speech in a sound file"),
    "finetune": ("core.training.finetune", "fine-tune a person model on one or a few photos"),
    "generate": ("app.generate", "render frames of a person model from a landmark track"),
    "export": ("export.cli", "export frames or a person model (sequence, flipbook, video, onnx)"),
    "verify": ("export.signals", "read a file's provenance: Content Credentials, XMP and the watermark"),
    "evaluate": ("core.evaluation.cli", "self-reenactment evaluation on talking-head videos"),
    "prepare-data": ("core.training.prepare", "cut training videos down to their faces, to travel"),
    "meta-train": ("core.training.meta", "meta-learn the prior on a folder of talking-head videos"),
    "train-mouth": ("core.training.mouth", "train the mouth painter on a folder of talking-head videos"),
    "worker": ("app.worker", "JSON-lines worker used by the Blender add-on"),
}
# A module that holds several commands names the function pair of each (default: add_arguments / run).
ENTRY_POINTS = {"retarget": ("add_retarget_arguments", "run_retarget")}
# Commands that write their JSON to sys.stdout themselves rather than through core.progress.write_data: with
# `--out -` their standard output is left alone. (lipsync: until it calls write_data.)
OWN_STDOUT = {"lipsync"}
PACKAGE = __package__.rpartition(".")[0]   # the project package: talking_heads, or bl_ext.<repo>.talking_heads

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT, EXIT_CANCELLED = 0, 1, 2, 130
EPILOG = ("exit status: 0 done, 1 failed, 2 bad input (one line on stderr, nothing written), "
          "130 cancelled. `python -m core COMMAND --help` for each command.")


def command_module(command: str):
    return importlib.import_module(f"{PACKAGE}.{COMMANDS[command][0]}")


def _entry(command: str, which: int):
    names = ENTRY_POINTS.get(command, ("add_arguments", "run"))
    return getattr(command_module(command), names[which])


def _has_option(parser: argparse.ArgumentParser, option: str) -> bool:
    return any(option in action.option_strings for action in parser._actions)


def takes_common_arguments(command: str) -> bool:
    """Every command but export's (whose module keeps its own conventions) and the add-on's worker (whose
    standard output is its protocol)."""
    return not COMMANDS[command][0].startswith("export.") and command != "worker"


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
            _entry(name, 0)(p)
            if takes_common_arguments(name):
                add_common_arguments(p)
    return parser


def writes_json_to_stdout(args: argparse.Namespace) -> bool:
    return any(str(getattr(args, option, None)) == "-" for option in ("json", "out"))


def _one_line_warning(message, category, filename, lineno, file=None, line=None):
    print(f"warning: {message}", file=file or sys.stderr)


def main(argv: list[str] | None = None) -> int:
    import warnings

    from ..core import progress
    from ..core.errors import Cancelled, UserError, one_line

    warnings.showwarning = _one_line_warning   # notes for users, not source lines

    argv = list(sys.argv[1:] if argv is None else argv)
    command = next((a for a in argv if not a.startswith("-")), None)
    parser = build_parser(command if command in COMMANDS else None)
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return EXIT_BAD_INPUT
    quiet, data_on_stdout = bool(getattr(args, "quiet", False)), writes_json_to_stdout(args)
    progress.configure(quiet=quiet, data_on_stdout=data_on_stdout, stdout=sys.stdout)
    try:
        with contextlib.ExitStack() as stack:
            # What a command prints is info; its result goes through core.progress.write_data, to standard output
            # as it was. So --quiet drops the prints, and with `--json -` they go to standard error, where they
            # cannot break the JSON (a library's line included).
            if args.command in OWN_STDOUT and data_on_stdout:
                pass
            elif data_on_stdout:
                stack.enter_context(contextlib.redirect_stdout(sys.stderr))
            elif quiet:
                stack.enter_context(contextlib.redirect_stdout(stack.enter_context(open(os.devnull, "w"))))
            return int(_entry(args.command, 1)(args) or 0)
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
        progress.configure()
