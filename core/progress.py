"""Progress reporting: the callbacks long functions take. The command line draws them as tqdm bars
(`app.output`), the worker sends them as JSON lines, the tests record them.

Long functions take `progress: Progress | None`. They call `progress(done, total, message)`; the callback
may raise `core.errors.Cancelled` to stop the work between two steps. Long work that has more to say as it
goes (a training run's losses) also takes `log: Log | None`, called with one line at a time.
"""
from __future__ import annotations

from typing import Callable, Optional

Progress = Callable[[int, int, str], None]
Log = Callable[[str], None]


def report(progress: Optional[Progress], done: int, total: int, message: str = "") -> None:
    if progress is not None:
        progress(done, total, message)


def note(log: Optional[Log], line: str) -> None:
    if log is not None:
        log(line)
