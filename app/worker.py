"""`python -m core worker`: the process the Blender add-on runs its long work in.

Blender's own Python has no torch, so the add-on starts this worker with a Python that has (chosen in the
add-on's preferences) and talks to it in JSON lines, the messages of `app.protocol`:

- **The request** is the first line on stdin: one job (app/worker_jobs.py declares them; each one's `run`
  does its work).
- **Events** are lines on stdout: progress while working, warnings for anything the user should know, then
  exactly one result, error (a one-line message, as UserError has it) or cancelled. The exit status is 0, 2
  or 130 accordingly (1 for an internal error).
- **Cancelling**: a `cancel` line on stdin, or stdin closing, stops the work at its next progress step;
  whatever was finished before (written frames) stays valid.

Libraries print (tqdm, notes, warnings from native code): the worker keeps the real stdout for events only
and points file descriptor 1 at stderr, so nothing else can end up in the event stream.

**Online access**: every job says whether the network may be used (Blender's "Allow Online Access"); the
worker sets `core.online` from it before the work starts, so no weights are downloaded when it is off.
For tests, TALKING_HEADS_SOCKET_GUARD=FILE makes every attempt to resolve a name or open a connection fail
and appends a line naming it to FILE (`install_socket_guard`).

A worker must never outlive Blender. Stdin closes when the parent dies (the add-on holds the only write end),
and a watchdog also notices when the parent's process id changes (POSIX: the orphan is re-parented); either
way the work is cancelled and, if it has not stopped within `GRACE_SECONDS`, the process exits.
"""
from __future__ import annotations

import argparse
import os
import sys
import threading
import time
import traceback
import warnings

from ..core import online
from ..core.errors import Cancelled, UserError, one_line
from . import protocol, worker_jobs  # noqa: F401  (worker_jobs: defining the jobs registers them)

GRACE_SECONDS = 5.0
PROGRESS_INTERVAL = 0.1  # at most ten progress events a second; the first and the last always go out


class Channel:
    """The event stream: the process's original stdout, written one JSON line at a time."""

    def __init__(self):
        sys.stdout.flush()
        self._out = os.fdopen(os.dup(1), "w", encoding="utf-8", buffering=1)
        os.dup2(2, 1)  # anything else printed goes to stderr
        sys.stdout = sys.stderr
        self._lock = threading.Lock()

    def send(self, event: protocol.Event) -> None:
        line = event.to_json()
        with self._lock:
            try:
                self._out.write(line + "\n")
                self._out.flush()
            except (BrokenPipeError, ValueError):
                pass  # the add-on has gone; the watchdog ends the process


class CancelWatch:
    """Sets `requested` on a `cancel` line, on stdin closing or when the parent process goes away, and
    ends the process if the work does not stop within `GRACE_SECONDS` after that."""

    def __init__(self, stdin, parent_pid: int | None):
        self.requested = threading.Event()
        self.finished = threading.Event()
        self._parent = parent_pid
        threading.Thread(target=self._read, args=(stdin,), daemon=True).start()
        if parent_pid is not None and os.name == "posix":
            threading.Thread(target=self._watch_parent, daemon=True).start()

    def _read(self, stdin) -> None:
        for line in stdin:
            if line.strip() == "cancel":
                break
        self._cancel()

    def _watch_parent(self) -> None:
        while not self.finished.wait(1.0):
            if os.getppid() != self._parent:
                self._cancel()
                return

    def _cancel(self) -> None:
        if self.finished.is_set():
            return
        self.requested.set()
        if not self.finished.wait(GRACE_SECONDS):
            os._exit(130)


class ProgressEvents:
    """A `core.progress.Progress` that sends throttled progress events and raises Cancelled on request."""

    def __init__(self, channel: Channel, cancel: CancelWatch):
        self.channel, self.cancel = channel, cancel
        self._last = 0.0

    def __call__(self, done: int, total: int, message: str = "") -> None:
        if self.cancel.requested.is_set():
            raise Cancelled()
        now = time.monotonic()
        if done in (0, total) or now - self._last >= PROGRESS_INTERVAL:
            self._last = now
            self.channel.send(protocol.Progress(done=int(done), total=int(total), message=str(message)))


def _forward(channel: Channel, warning: warnings.WarningMessage) -> None:
    """Our own warnings (several faces found, a downscaled photo) go to the user; libraries' to stderr."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    package = os.path.relpath(os.path.abspath(warning.filename), root).split(os.sep)[0]
    if package in ("app", "core", "export"):
        channel.send(protocol.Warning(message=one_line(str(warning.message))))
    else:
        warnings.showwarning(warning.message, warning.category, warning.filename, warning.lineno)


def install_socket_guard(record: str) -> None:
    """Make this process unable to reach the network: resolving a name or connecting raises OSError, and
    each attempt appends one line to `record` (the tests' proof that a job made none)."""
    import socket

    def refuse(what: str, target) -> OSError:
        with open(record, "a", encoding="utf-8") as f:
            f.write(f"{what} {target!r}\n")
        return OSError(f"network access is blocked in this worker ({what} {target!r})")

    def getaddrinfo(host, *args, **kwargs):
        raise refuse("getaddrinfo", host)

    def create_connection(address, *args, **kwargs):
        raise refuse("create_connection", address)

    class GuardedSocket(socket.socket):
        def connect(self, address):
            if self.family in (socket.AF_INET, socket.AF_INET6):
                raise refuse("connect", address)
            return super().connect(address)

        def connect_ex(self, address):
            if self.family in (socket.AF_INET, socket.AF_INET6):
                raise refuse("connect_ex", address)
            return super().connect_ex(address)

    socket.getaddrinfo = getaddrinfo
    socket.create_connection = create_connection
    socket.socket = GuardedSocket


# --- command line ---------------------------------------------------------------------------------------------

def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--parent-pid", type=int, default=None,
                        help="exit when this process (the add-on's Blender) is no longer the parent")


def run(args: argparse.Namespace) -> int:
    if os.environ.get("TALKING_HEADS_SOCKET_GUARD"):
        install_socket_guard(os.environ["TALKING_HEADS_SOCKET_GUARD"])
    channel = Channel()
    request_line = sys.stdin.readline()
    cancel = CancelWatch(sys.stdin, args.parent_pid)
    try:
        return _serve(channel, cancel, request_line)
    finally:
        cancel.finished.set()


def _serve(channel: Channel, cancel: CancelWatch, request_line: str) -> int:
    try:
        request = protocol.Job.from_json(request_line)
    except protocol.ProtocolError as e:
        channel.send(protocol.Error(message=f"the worker got {e}; update the add-on and the worker together"))
        return 2
    online.allow_network(request.online)
    progress = ProgressEvents(channel, cancel)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            result = request.run(progress)
        for warning in caught:
            _forward(channel, warning)
    except UserError as e:
        channel.send(protocol.Error(message=str(e)))
        return 2
    except Cancelled:
        channel.send(protocol.Cancelled())
        return 130
    except Exception as e:  # noqa: BLE001  (anything else is a bug: report it, keep the traceback on stderr)
        traceback.print_exc()
        channel.send(protocol.Error(message=f"internal error in the worker ({type(e).__name__}: {one_line(str(e))}); "
                                            f"the console shows the details"))
        return 1
    channel.send(protocol.result_event(result))
    return 0
