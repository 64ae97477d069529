"""Long operators: the work runs in a worker process; Blender shows its progress and stays responsive.

An operator that mixes in `WorkerJob` describes its work as a request (`job_request`, checked on Blender's
side first, so bad input is reported before a process starts) and applies the answer (`job_finished`).

- **EXEC** (scripts, background mode): the operator waits for the worker and returns when the work is done.
- **INVOKE** (a button): the operator goes modal. A timer polls the worker; the window manager's progress
  bar and the status bar show the stage, the percentage and an estimate of the time left; Esc cancels.
  Every other event passes through, so Blender stays usable while the worker computes.

One job runs at a time. A worker that crashes or is killed becomes an error report; a cancel keeps what
the worker finished (`job_cancelled` may use it).

**Online access.** Every request carries Blender's "Allow Online Access" (`bpy.app.online_access`); the
worker downloads nothing when it is off (`core.online`).

**Undo.** Operators that change scene data declare {'UNDO'} (never 'REGISTER' with it: Blender's redo panel
would run the whole job again). Blender pushes the undo step when the operator finishes, in EXEC when it
returns and modally when `modal` returns FINISHED: `job_finished` writes the scene data in that last tick, so
the step holds all of it. While the job runs, Ctrl+Z and Ctrl+Shift+Z are swallowed (with a note): undoing
scene data under a running job would leave it writing into a state the artist has left.
"""
from __future__ import annotations

import sys
import time

import bpy

from ..app import protocol
from ..core.errors import UserError
from . import preferences
from .worker_client import WorkerCancelled, WorkerError, WorkerProcess, worker_command, worker_environment

TIMER_SECONDS = 0.1
BACKGROUND_PRINT_SECONDS = 2.0


def start_worker(context, request: protocol.Job) -> WorkerProcess:
    request.online = bool(bpy.app.online_access)
    root = preferences.extension_root()
    python = preferences.worker_python(context)
    return WorkerProcess(worker_command(python), request, env=worker_environment(root), cwd=root)


class ProgressClock:
    """Estimates the time left of the current stage (a progress message's text before its first ':')."""

    def __init__(self):
        self.stage, self.stage_started = None, time.monotonic()

    def update(self, done: int, total: int, message: str) -> tuple[float, float | None]:
        stage = message.split(":")[0]
        if stage != self.stage:
            self.stage, self.stage_started = stage, time.monotonic()
        fraction = min(max(done / total, 0.0), 1.0) if total > 0 else 0.0
        elapsed = time.monotonic() - self.stage_started
        left = elapsed * (1 - fraction) / fraction if fraction > 0.01 and elapsed > 1.0 else None
        return fraction, left


def describe_time(seconds: float | None) -> str:
    if seconds is None:
        return "estimating time left"
    if seconds < 60:
        return f"about {max(1, round(seconds))} s left"
    return f"about {round(seconds / 60)} min left"


class _ActiveJob:
    """The one job running modally: what unregistering the add-on must clean up."""

    worker: WorkerProcess | None = None
    window_manager = None
    workspace = None
    timer = None

    @classmethod
    def clear_ui(cls) -> None:
        if cls.timer is not None and cls.window_manager is not None:
            cls.window_manager.event_timer_remove(cls.timer)
            cls.window_manager.progress_end()
        if cls.workspace is not None:
            cls.workspace.status_text_set(None)
        cls.worker = cls.window_manager = cls.workspace = cls.timer = None


def stop_active_job() -> None:
    if _ActiveJob.worker is not None:
        _ActiveJob.worker.kill()
    _ActiveJob.clear_ui()


def job_running() -> bool:
    return _ActiveJob.worker is not None


def is_undo_key(event) -> bool:
    """Ctrl+Z / Ctrl+Shift+Z (Cmd on macOS), as pressed: Blender's undo and redo."""
    return (event.type == 'Z' and event.value == 'PRESS'
            and bool(getattr(event, "ctrl", False) or getattr(event, "oskey", False)))


class WorkerJob:
    """Mixin for `bpy.types.Operator`s whose work runs in the worker."""

    job_title = "Working"

    def job_request(self, context) -> protocol.Job:
        raise NotImplementedError

    def job_finished(self, context, result: protocol.JobResult) -> None:
        raise NotImplementedError

    def job_cancelled(self, context) -> None:
        """Called after a cancel; the default keeps nothing."""

    def job_process(self, context, request: protocol.Job) -> WorkerProcess:
        """The process that does the work: the worker, unless the operator runs something else."""
        return start_worker(context, request)

    def job_event(self, context, event: protocol.Event) -> None:
        """Called with each event as it arrives."""

    # --- EXEC: run to completion ------------------------------------------------------------------------------
    def execute(self, context):
        def outcome():
            worker = self.job_process(context, self.job_request(context))
            return worker.wait(on_event=lambda e: self._print_event(context, e))

        return self._conclude(context, outcome)

    def _conclude(self, context, outcome) -> set[str]:
        """Apply the job's result (`outcome()` gives it), or report why there is none."""
        try:
            self.job_finished(context, outcome())
        except (UserError, WorkerError) as e:
            self.report({'ERROR'}, str(e))
            return {'CANCELLED'}
        except WorkerCancelled:
            self.job_cancelled(context)
            self.report({'WARNING'}, f"{self.job_title}: cancelled")
            return {'CANCELLED'}
        return {'FINISHED'}

    def _print_event(self, context, event: protocol.Event) -> None:
        self.job_event(context, event)
        if isinstance(event, protocol.Warning):
            self.report({'WARNING'}, event.message)
        elif isinstance(event, protocol.Progress):
            now = time.monotonic()
            if now - getattr(self, "_printed", 0.0) >= BACKGROUND_PRINT_SECONDS:
                self._printed = now
                total = max(event.total, 1)
                print(f"Talking Heads: {event.message} ({100 * event.done // total}%)", file=sys.stderr)

    # --- INVOKE: modal, with progress and Esc -----------------------------------------------------------------
    def invoke(self, context, event):
        if bpy.app.background or context.window is None:
            return self.execute(context)
        return self.start_modal(context)

    def start_modal(self, context):
        if job_running():
            self.report({'ERROR'}, "another Talking Heads job is running; wait for it or press Esc to cancel it")
            return {'CANCELLED'}
        try:
            worker = self.job_process(context, self.job_request(context))
        except (UserError, WorkerError) as e:
            self.report({'ERROR'}, str(e))
            return {'CANCELLED'}
        wm = context.window_manager
        _ActiveJob.worker, _ActiveJob.window_manager, _ActiveJob.workspace = worker, wm, context.workspace
        _ActiveJob.timer = wm.event_timer_add(TIMER_SECONDS, window=context.window)
        wm.progress_begin(0.0, 1.0)
        self._clock = ProgressClock()
        self._show(context, f"{self.job_title}: starting")
        wm.modal_handler_add(self)
        return {'RUNNING_MODAL'}

    def modal(self, context, event):
        worker = _ActiveJob.worker
        if worker is None:  # stopped from outside (the add-on was disabled)
            return {'CANCELLED'}
        if event.type == 'ESC' and event.value == 'PRESS':
            worker.cancel()
            self._show(context, f"{self.job_title}: cancelling...")
            return {'RUNNING_MODAL'}
        if is_undo_key(event):
            self.report({'WARNING'}, f"{self.job_title} is running: undo once it has finished (Esc cancels it)")
            return {'RUNNING_MODAL'}
        if event.type != 'TIMER' or event.timer is not _ActiveJob.timer:
            return {'PASS_THROUGH'}
        for e in worker.poll():
            self.job_event(context, e)
            if isinstance(e, protocol.Progress):
                fraction, left = self._clock.update(e.done, e.total, e.message)
                context.window_manager.progress_update(fraction)
                self._show(context, f"{e.message}  {100 * fraction:.0f}%, {describe_time(left)} (Esc to cancel)")
            elif isinstance(e, protocol.Warning):
                self.report({'WARNING'}, e.message)
        if not worker.finished:
            return {'PASS_THROUGH'}
        _ActiveJob.clear_ui()
        return self._conclude(context, worker.result)

    def _show(self, context, text: str) -> None:
        context.workspace.status_text_set(f"Talking Heads · {text}")
