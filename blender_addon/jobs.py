"""Long operators: the work runs in a worker process; Blender shows its progress and stays responsive.

An operator that mixes in `WorkerJob` describes its work as a request (`job_request`, checked on Blender's
side first, so bad input is reported before a process starts) and applies the answer (`job_finished`).

- **EXEC** (scripts, background mode): the operator waits for the worker and returns when the work is done.
- **INVOKE** (a button): the operator goes modal. A window timer polls the worker; Blender's own progress bar
  (`UILayout.progress`) shows the stage, the percentage and one estimate of the time left, in the status bar
  and at the top of the sidebar tab, beside a Cancel button; Esc cancels too. Every other event passes
  through, so Blender stays usable while the worker computes.

One job runs at a time. A worker that crashes or is killed becomes an error report; a cancel keeps what
the worker finished (`job_cancelled` may use it). Whatever ends a job (its result, an error, Esc, a bug in
the add-on's own code, opening another .blend) leaves the add-on ready for the next one.

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
import traceback

import bpy
from bpy.app.handlers import persistent

from ..app import protocol
from ..core.errors import UserError, one_line
from . import preferences
from .worker_client import WorkerCancelled, WorkerError, WorkerProcess, worker_command, worker_environment

TIMER_SECONDS = 0.1
STATUS_BAR_SECONDS = 1.0
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


class ActiveJob:
    """The one job running modally: what the progress bars draw, what Cancel and unregistering stop."""

    worker: WorkerProcess | None = None
    window_manager = None
    timer = None
    title = ""
    fraction = 0.0
    stage = ""        # the worker's latest progress message ("fine-tune: step 30, loss 0.0411")
    left: float | None = None
    cancelling = False

    @classmethod
    def begin(cls, worker: WorkerProcess, window_manager, window, title: str) -> None:
        cls.worker, cls.window_manager, cls.title = worker, window_manager, title
        cls.timer = window_manager.event_timer_add(TIMER_SECONDS, window=window)
        cls.fraction, cls.stage, cls.left, cls.cancelling = 0.0, "starting the worker", None, False
        redraw()

    @classmethod
    def clear(cls) -> None:
        if cls.timer is not None and cls.window_manager is not None:
            cls.window_manager.event_timer_remove(cls.timer)
        cls.worker = cls.window_manager = cls.timer = None
        cls.title, cls.stage, cls.left, cls.fraction, cls.cancelling = "", "", None, 0.0, False
        redraw()

    @classmethod
    def cancel(cls) -> None:
        if cls.worker is not None and not cls.cancelling:
            cls.worker.cancel()
            cls.cancelling = True
            redraw()

    @classmethod
    def summary(cls) -> str:
        """One line: the job, its percentage and one estimate of the time left."""
        if cls.cancelling:
            return f"{cls.title}: cancelling"
        return f"{cls.title} {100 * cls.fraction:.0f}%, {describe_time(cls.left)}"


def stop_active_job() -> None:
    if ActiveJob.worker is not None:
        ActiveJob.worker.kill()
    ActiveJob.clear()


def job_running() -> bool:
    return ActiveJob.worker is not None


def redraw() -> None:
    """Ask the areas that show a job's progress to draw again: the status bar and the 3D viewports. A panel
    that changed height moves the panels below it only on the draw after, so a second one follows (else the
    sidebar showed the progress box over the next panel's header until the mouse moved)."""
    _tag_progress_areas()
    if not bpy.app.timers.is_registered(_tag_progress_areas):
        bpy.app.timers.register(_tag_progress_areas, first_interval=0.2)


def _tag_progress_areas() -> None:
    wm = getattr(bpy.context, "window_manager", None)
    for window in (wm.windows if wm is not None else ()):
        for area in window.screen.areas:
            if area.type == 'VIEW_3D':
                area.tag_redraw()
    _tag_status_bar()
    return None  # as a timer: once


def _tag_status_bar() -> None:
    """The status bar is a window's global area, outside `screen.areas`: Python reaches its redraw only by
    setting the status text. Clearing it (what the header then draws) also clears another tool's hints, so it
    happens at most once a second."""
    now = time.monotonic()
    if now - _tag_status_bar.last < STATUS_BAR_SECONDS:
        return
    _tag_status_bar.last = now
    wm = getattr(bpy.context, "window_manager", None)
    for window in (wm.windows if wm is not None else ()):
        with bpy.context.temp_override(window=window):  # it clears the status text of the context's window
            window.workspace.status_text_set(None)


_tag_status_bar.last = 0.0


def draw_progress(layout) -> None:
    """Blender's progress bar with the job's summary (the sidebar and the status bar draw it)."""
    layout.progress(factor=ActiveJob.fraction, type='BAR', text=ActiveJob.summary())


def _draw_status_bar(self, context) -> None:
    if job_running():
        row = self.layout.row()
        bar = row.row()
        bar.ui_units_x = 14  # the summary's longest ("Fine-tune 100%, estimating time left") in full
        draw_progress(bar)
        row.label(text=f"{ActiveJob.stage}  (Esc cancels)" if ActiveJob.stage else "Esc cancels")


_warned: set[str] = set()


def warn_once(operator, message: str) -> None:
    """A worker's warning, reported the first time this Blender session hears it (each job starts a fresh
    worker, which would say "online access is off: ..." again on every job)."""
    if message not in _warned:
        _warned.add(message)
        operator.report({'WARNING'}, message)


def is_undo_key(event) -> bool:
    """Ctrl+Z / Ctrl+Shift+Z (Cmd on macOS), as pressed: Blender's undo and redo."""
    return event.type == 'Z' and event.value == 'PRESS' and bool(event.ctrl or event.oskey)


def internal_error(title: str, error: Exception) -> str:
    """The one-line report of a bug in the add-on's own code (its traceback goes to the system console)."""
    traceback.print_exc()
    return f"{title} stopped by an internal error ({type(error).__name__}: {one_line(str(error))}); the " \
           f"system console has the details: please report them"


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
            try:
                self.job_cancelled(context)
            except Exception as e:  # noqa: BLE001  (a bug while keeping partial work: still a clean end)
                self.report({'ERROR'}, internal_error(self.job_title, e))
                return {'CANCELLED'}
            self.report({'WARNING'}, f"{self.job_title}: cancelled")
            return {'CANCELLED'}
        except Exception as e:  # noqa: BLE001  (the add-on's own bug: one line, and the next job can run)
            self.report({'ERROR'}, internal_error(self.job_title, e))
            return {'CANCELLED'}
        return {'FINISHED'}

    def _print_event(self, context, event: protocol.Event) -> None:
        self.job_event(context, event)
        if isinstance(event, protocol.Warning):
            warn_once(self, event.message)
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
            self.report({'ERROR'}, f"{ActiveJob.title} is running: wait for it, or cancel it (Esc, or Cancel in "
                                   f"the Talking Heads tab)")
            return {'CANCELLED'}
        try:
            worker = self.job_process(context, self.job_request(context))
        except (UserError, WorkerError) as e:
            self.report({'ERROR'}, str(e))
            return {'CANCELLED'}
        except Exception as e:  # noqa: BLE001
            self.report({'ERROR'}, internal_error(self.job_title, e))
            return {'CANCELLED'}
        self._clock = ProgressClock()
        ActiveJob.begin(worker, context.window_manager, context.window, self.job_title)
        context.window_manager.modal_handler_add(self)
        return {'RUNNING_MODAL'}

    def modal(self, context, event):
        worker = ActiveJob.worker
        if worker is None:  # stopped from outside (the add-on was disabled, another .blend was opened)
            return {'CANCELLED'}
        try:
            return self._step(context, event, worker)
        except Exception as e:  # noqa: BLE001  (a bug here must not leave a job that never ends)
            stop_active_job()
            self.report({'ERROR'}, internal_error(self.job_title, e))
            return {'CANCELLED'}

    def _step(self, context, event, worker: WorkerProcess) -> set[str]:
        if event.type == 'ESC' and event.value == 'PRESS':
            ActiveJob.cancel()
            return {'RUNNING_MODAL'}
        if is_undo_key(event):
            self.report({'WARNING'}, f"{self.job_title} is running: undo once it has finished (Esc cancels it)")
            return {'RUNNING_MODAL'}
        if event.type != 'TIMER':  # Event says which kind, not which timer: any tick polls (a cheap no-op)
            return {'PASS_THROUGH'}
        for e in worker.poll():
            self.job_event(context, e)
            if isinstance(e, protocol.Progress):
                ActiveJob.fraction, ActiveJob.left = self._clock.update(e.done, e.total, e.message)
                ActiveJob.stage = e.message
                redraw()
            elif isinstance(e, protocol.Warning):
                warn_once(self, e.message)
        if not worker.finished:
            return {'PASS_THROUGH'}
        ActiveJob.clear()
        return self._conclude(context, worker.result)


class TALKINGHEADS_OT_cancel_job(bpy.types.Operator):
    """Cancel the running Talking Heads job (what it finished is kept)"""

    bl_idname = "talking_heads.cancel_job"
    bl_label = "Cancel"
    bl_options = {'INTERNAL'}

    @classmethod
    def poll(cls, context):
        return job_running() and not ActiveJob.cancelling

    def execute(self, context):
        ActiveJob.cancel()
        return {'FINISHED'}


@persistent
def _stop_on_load(*_args):
    """Opening another .blend ends every modal operator: end the job with it, or it would block the next."""
    stop_active_job()


CLASSES = (TALKINGHEADS_OT_cancel_job,)


def register() -> None:
    bpy.types.STATUSBAR_HT_header.append(_draw_status_bar)
    bpy.app.handlers.load_pre.append(_stop_on_load)


def unregister() -> None:
    stop_active_job()
    if bpy.app.timers.is_registered(_tag_progress_areas):
        bpy.app.timers.unregister(_tag_progress_areas)
    if _stop_on_load in bpy.app.handlers.load_pre:
        bpy.app.handlers.load_pre.remove(_stop_on_load)
    bpy.types.STATUSBAR_HT_header.remove(_draw_status_bar)
