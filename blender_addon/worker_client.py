"""The add-on's side of the worker (`python -m core worker`, app/worker.py; the messages: app/protocol.py).

A `WorkerProcess` starts a child Python, sends it one job and collects its events on a
reader thread, so Blender's main thread only ever polls (a modal operator's timer) or waits (scripts and
background mode). It guarantees three things:

- **An answer.** Every run ends with exactly one final event: the worker's own `result`, `error` or
  `cancelled`, or, when the process died without one (crashed, killed, out of memory), an `error` built
  here from its exit status and the last line it wrote to stderr. Never a hang.
- **No orphans.** Cancelling sends `cancel` and closes stdin, then kills the process if it has not ended
  within `CANCEL_SECONDS`; `stop_all` (add-on unregistered, Blender exiting) kills every live worker. The
  worker itself also exits when its parent goes away.
- **A clean environment.** The child gets PYTHONPATH = the extension's folder (which holds `core/`, whose
  launcher runs the package), and none of Blender's Python variables.

No bpy here: this module is plain Python, so it can be tested without Blender.
"""
from __future__ import annotations

import atexit
import collections
import os
import queue
import subprocess
import sys
import threading
import time

from ..app import protocol

CANCEL_SECONDS = 10.0  # the worker stops at its next progress step; a step may take a few seconds
REAP_SECONDS = 1.0  # how long the main thread waits for a worker to exit after its final event
STDERR_LINES = 200

_running: set["WorkerProcess"] = set()
_running_lock = threading.Lock()


class WorkerError(Exception):
    """The worker reported an error or died; the message is one line for the user."""


class WorkerCancelled(Exception):
    """The work was cancelled; what it finished before stays valid."""


def worker_environment(pythonpath: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONHOME", "PYTHONPATH", "PYTHONSTARTUP", "PYTHONEXECUTABLE", "PYTHONNOUSERSITE")}
    env.update(PYTHONPATH=pythonpath, PYTHONUNBUFFERED="1", PYTHONIOENCODING="utf-8")
    return env


def worker_command(python: str) -> list[str]:
    return [python, "-m", "core", "worker", "--parent-pid", str(os.getpid())]


class WorkerProcess:
    """One child process speaking the worker protocol; `request` is sent as its first line, and its result is
    read as the request's `Result`."""

    def __init__(self, command: list[str], request: protocol.Job, env: dict[str, str] | None = None,
                 cwd: str | None = None):
        self.outcome: protocol.Event | None = None
        self._result_type = type(request).Result
        self._events: queue.Queue = queue.Queue()
        self._stderr = collections.deque(maxlen=STDERR_LINES)
        self._cancel_sent: float | None = None
        try:
            self.process = subprocess.Popen(
                command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd=cwd,
                text=True, encoding="utf-8", errors="replace", bufsize=1,
                creationflags=getattr(subprocess, "CREATE_NO_WINDOW", 0))
        except OSError as e:
            raise WorkerError(f"cannot start {command[0]} ({e.strerror or e}); check the Python path in the "
                              f"add-on's preferences") from None
        with _running_lock:
            _running.add(self)
        threading.Thread(target=self._read_events, daemon=True).start()
        threading.Thread(target=self._read_stderr, daemon=True).start()
        try:
            self.process.stdin.write(request.to_json() + "\n")
            self.process.stdin.flush()
        except OSError:
            pass  # it died at once; the missing final event becomes the error

    # --- reading ---------------------------------------------------------------------------------------------
    def _read_events(self) -> None:
        for line in self.process.stdout:
            try:
                self._events.put(protocol.Event.from_json(line))
            except protocol.ProtocolError:
                continue
        self._events.put(None)  # end of stream

    def _read_stderr(self) -> None:
        """Kept for the error message of a crash, and echoed to Blender's console (tracebacks, notes)."""
        for line in self.process.stderr:
            self._stderr.append(line.rstrip("\n"))
            sys.stderr.write(f"[talking heads worker] {line}")
    @property
    def finished(self) -> bool:
        return self.outcome is not None

    def poll(self) -> list[protocol.Event]:
        """The events that arrived since the last call (never blocks); sets `outcome` at the end."""
        events = []
        while not self.finished:
            try:
                event = self._events.get_nowait()
            except queue.Empty:
                break
            self._take(event, events)
        self._enforce_cancel()
        return events

    def wait(self, on_event=None) -> protocol.JobResult:
        """Block until the worker ends; `on_event(event)` sees each event. Returns the result's fields or
        raises WorkerError / WorkerCancelled."""
        while not self.finished:
            try:
                event = self._events.get(timeout=0.5)
            except queue.Empty:
                self._enforce_cancel()
                continue
            taken = []
            self._take(event, taken)
            for e in taken:
                if on_event is not None:
                    on_event(e)
        return self.result()

    def result(self) -> protocol.JobResult:
        """The final outcome as a value (the job's result) or an exception."""
        if isinstance(self.outcome, protocol.Result):
            try:
                return protocol.build(self._result_type, self.outcome.fields, "result")
            except protocol.ProtocolError as e:
                raise WorkerError(f"the worker sent {e}; update the add-on and the worker together") from None
        if isinstance(self.outcome, protocol.Cancelled):
            raise WorkerCancelled()
        raise WorkerError(self.outcome.message or "the worker failed without a message")

    def _take(self, event: protocol.Event | None, events: list) -> None:
        if event is None:
            self._ended_without_answer()
            return
        events.append(event)
        if event.FINAL:
            self.outcome = event
            self._close()

    def _ended_without_answer(self) -> None:
        try:
            code = self.process.wait(timeout=CANCEL_SECONDS)
        except subprocess.TimeoutExpired:
            self.process.kill()
            code = self.process.wait()
        if self._cancel_sent is not None:
            self.outcome = protocol.Cancelled()
        else:
            last = next((line for line in reversed(self._stderr) if line.strip()), "")
            how = f"was killed (signal {-code})" if code < 0 else f"exited with status {code}"
            self.outcome = protocol.Error(f"the worker {how} without finishing" + (f": {last.strip()}" if last else ""))
        self._close()

    # --- stopping --------------------------------------------------------------------------------------------
    def cancel(self) -> None:
        """Ask the worker to stop at its next step; it is killed if it has not within CANCEL_SECONDS."""
        if self.finished or self._cancel_sent is not None:
            return
        self._cancel_sent = time.monotonic()
        try:
            self.process.stdin.write("cancel\n")
            self.process.stdin.close()
        except (OSError, ValueError):
            pass

    def _enforce_cancel(self) -> None:
        if self._cancel_sent is not None and time.monotonic() - self._cancel_sent > CANCEL_SECONDS:
            self.kill()

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()

    def _close(self) -> None:
        """The run is over: reap the process (it exits right after its final event) and forget it."""
        try:
            self.process.stdin.close()
        except (OSError, ValueError):
            pass
        try:
            self.process.wait(timeout=REAP_SECONDS)
        except subprocess.TimeoutExpired:
            # still tearing down after its last word: reap it off the main thread, killing it if it lingers
            threading.Thread(target=self._reap, daemon=True).start()
            return
        with _running_lock:
            _running.discard(self)

    def _reap(self) -> None:
        try:
            self.process.wait(timeout=CANCEL_SECONDS)
        except subprocess.TimeoutExpired:
            self.kill()
        with _running_lock:
            _running.discard(self)


def running() -> list[WorkerProcess]:
    with _running_lock:
        return list(_running)


def stop_all() -> None:
    """Kill every live worker (the add-on is being disabled, or Blender is exiting)."""
    for worker in running():
        worker.kill()
        with _running_lock:
            _running.discard(worker)


atexit.register(stop_all)
