"""What a command shows: info lines, its result, and progress bars.

The command line (`app.cli`) sets how a command talks (`configure`): with `--quiet` there are no progress
bars and no info lines; when a command writes its JSON to standard output (`--json -`), info lines go to
standard error so that standard output holds the JSON alone. Progress bars appear only on a terminal (tqdm's
`disable=None`): a log file or a pipe gets none.
"""
from __future__ import annotations

import sys
from typing import TextIO

_quiet = False
_data_on_stdout = False
_stdout: TextIO | None = None   # standard output as the command found it (--quiet silences sys.stdout)


def configure(quiet: bool = False, data_on_stdout: bool = False, stdout: TextIO | None = None) -> None:
    """Set by the command line for one command: `quiet` silences bars and info lines; `data_on_stdout`
    (the command writes its JSON to standard output) sends info lines to standard error; `stdout` is where
    `write_data` writes (standard output as it was before --quiet silenced it)."""
    global _quiet, _data_on_stdout, _stdout
    _quiet, _data_on_stdout, _stdout = bool(quiet), bool(data_on_stdout), stdout


def info(message: str) -> None:
    """An info line for the user: standard output, or standard error where standard output holds data;
    nothing with --quiet."""
    if not _quiet:
        print(message, file=sys.stderr if _data_on_stdout else sys.stdout, flush=True)


def write_data(text: str) -> None:
    """A command's result on standard output (its JSON with `--json -`, or a table), ending in a newline;
    --quiet keeps it."""
    stream = _stdout or sys.stdout
    stream.write(text if text.endswith("\n") else text + "\n")
    stream.flush()


def bar(desc: str = "") -> "TqdmProgress | None":
    """A progress bar for a command line stage, or None with --quiet (`core.progress.report` takes None)."""
    return None if _quiet else TqdmProgress(desc)


class TqdmProgress:
    """A `core.progress.Progress` that drives one tqdm bar per message stage. It draws only on a terminal,
    and never with --quiet."""

    def __init__(self, desc: str = ""):
        self.desc = desc
        self.bar = None
        self.stage = None

    def __call__(self, done: int, total: int, message: str = "") -> None:
        from tqdm import tqdm

        stage = message.split(":")[0] if message else self.desc
        if self.bar is None or stage != self.stage or total != self.bar.total:
            self.close()
            self.bar = tqdm(total=total, desc=stage or self.desc, unit="step", leave=True,
                            disable=True if _quiet else None)   # None: draw only where stderr is a terminal
            self.stage = stage
        self.bar.n = done
        self.bar.refresh()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None
