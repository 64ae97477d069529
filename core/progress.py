"""Progress reporting shared by the command line (tqdm), the worker (JSON lines) and the tests.

Long functions take `progress: Progress | None`. They call `progress(done, total, message)`; the callback
may raise `core.errors.Cancelled` to stop the work between two steps.
"""
from __future__ import annotations

from typing import Callable, Optional

Progress = Callable[[int, int, str], None]


def report(progress: Optional[Progress], done: int, total: int, message: str = "") -> None:
    if progress is not None:
        progress(done, total, message)


class TqdmProgress:
    """A `Progress` that drives one tqdm bar per message stage (command line use)."""

    def __init__(self, desc: str = ""):
        self.desc = desc
        self.bar = None
        self.stage = None

    def __call__(self, done: int, total: int, message: str = "") -> None:
        from tqdm import tqdm

        stage = message.split(":")[0] if message else self.desc
        if self.bar is None or stage != self.stage or total != self.bar.total:
            self.close()
            self.bar = tqdm(total=total, desc=stage or self.desc, unit="step", leave=True)
            self.stage = stage
        self.bar.n = done
        self.bar.refresh()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None
