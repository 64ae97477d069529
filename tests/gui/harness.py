"""Drive a real Blender window from the script Blender runs (`blender --python SCRIPT`), as an artist would.

tests/gui/run.sh starts Blender on a private X server. A --python script runs before the window exists,
and whatever it does afterwards must happen between turns of Blender's event loop, or the window never draws
and a modal operator never gets an event: `play(steps())` runs a generator a step at a time from
`bpy.app.timers`. The generator yields `until(predicate, what, seconds)` to wait for a state and is resumed
once the predicate holds, or gets `Failure` thrown in at the deadline (so the failure points at its step).
Any exception ends Blender with exit code 1 and its traceback in the log; the generator's end, with 0.

What an artist does and sees, here:
- a button press: `invoke(idname)`, the operator called with INVOKE_DEFAULT in the 3D viewport's sidebar;
- a key press: `press("Escape")`, a real X key event (xdotool) with the pointer over the viewport;
- a file browser: `choose_file(path)` fills in the one an operator opened and accepts it;
- the reports (status bar, Info editor): `Reports.new()`, read through the Info editor;
- the screen: `Screenshots.take(name)`, the whole X screen (ImageMagick's `import`).
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import traceback

import bpy

T0 = time.monotonic()
POLL_SECONDS = 0.05


class Failure(AssertionError):
    """A check of the suite that did not hold."""


def log(*parts) -> None:
    print(f"[gui {time.monotonic() - T0:6.1f}s]", *parts, flush=True)


def check(condition, message: str) -> None:
    if not condition:
        raise Failure(message)


def finish(code: int) -> None:
    """End Blender now with exit code `code` (Blender's own quit exits with 0, and may ask to save first)."""
    log("exit code", code)
    sys.stdout.flush()
    sys.stderr.flush()
    shutil.rmtree(bpy.app.tempdir, ignore_errors=True)
    os._exit(code)


class until:
    """Yielded by a step: resume it once `predicate()` is true; Failure after `seconds`."""

    def __init__(self, predicate, what: str, seconds: float = 60.0):
        self.predicate, self.what, self.seconds = predicate, what, seconds


def play(steps) -> None:
    """Run the generator `steps` between turns of Blender's event loop (see the module's description). Its
    timers are persistent: opening a file would remove the others."""

    def advance(throw: Exception | None = None) -> None:
        try:
            wait = steps.throw(throw) if throw is not None else next(steps)
            if not isinstance(wait, until):
                raise TypeError(f"a step yielded {wait!r}; yield until(...)")
        except StopIteration:
            finish(0)
        except Exception:  # noqa: BLE001  (whatever fails, Blender must end, with the reason in the log)
            log("FAILED\n" + traceback.format_exc())
            if play.failure_screenshot:
                subprocess.run(["import", "-window", "root", play.failure_screenshot])
            finish(1)
        deadline = time.monotonic() + wait.seconds

        def poll():
            try:
                done = wait.predicate()
            except Exception:  # noqa: BLE001
                log(f"FAILED while waiting for {wait.what}\n" + traceback.format_exc())
                finish(1)
            if done:
                advance()
            elif time.monotonic() > deadline:
                advance(Failure(f"waited {wait.seconds:.0f} s in vain for {wait.what}"))
            else:
                return POLL_SECONDS
            return None

        bpy.app.timers.register(poll, first_interval=0.0, persistent=True)

    bpy.app.timers.register(lambda: advance(), first_interval=0.0, persistent=True)


play.failure_screenshot = ""  # where to save the screen as it was when a step failed


# --- the window ---------------------------------------------------------------------------------------------

def main_window():
    return bpy.context.window_manager.windows[0]


def area_of(kind: str, window=None):
    window = window or main_window()
    return next(a for a in window.screen.areas if a.type == kind)


def region_of(area, kind: str):
    return next(r for r in area.regions if r.type == kind)


def sidebar_context() -> dict:
    """The context of a button in the 3D viewport's sidebar."""
    area = area_of('VIEW_3D')
    return dict(window=main_window(), area=area, region=region_of(area, 'UI'))


class _Draws:
    """How often the 3D viewport has drawn. A redraw draws every tagged region of the window in one pass, so
    once the viewport drew after `tag_redraw()`, so did the sidebar and every other area (regions of other
    kinds call no Python draw handlers)."""

    count = 0


def _count_draw():
    _Draws.count += 1


bpy.types.SpaceView3D.draw_handler_add(_count_draw, (), 'WINDOW', 'POST_PIXEL')


def draw_count() -> int:
    return _Draws.count


def tag_redraw() -> None:
    for window in bpy.context.window_manager.windows:
        for area in window.screen.areas:
            area.tag_redraw()


def redrawn(what: str = "the window to draw") -> until:
    """Resume after two redraws of every area (a panel that changed size lays out again in the next)."""
    passes = [_Draws.count]
    tag_redraw()

    def drawn_twice() -> bool:
        if _Draws.count > passes[-1]:
            passes.append(_Draws.count)
            tag_redraw()
        return len(passes) > 2

    return until(drawn_twice, what, 30)


def invoke(idname: str, **properties) -> tuple[set[str], str]:
    """Press an operator's button in the sidebar: INVOKE_DEFAULT in the sidebar's context. Returns its result
    and the error it reported at once (called from Python, Blender turns that report into an exception;
    pressed, the status bar would show it), or ''."""
    module, name = idname.split(".")
    operator = getattr(getattr(bpy.ops, module), name)
    with bpy.context.temp_override(**sidebar_context()):
        try:
            result, error = operator('INVOKE_DEFAULT', **properties), ""
        except RuntimeError as e:
            result, error = {'CANCELLED'}, str(e)
    log("pressed", idname, properties or "", "->", sorted(result), error)
    return result, error


def _xdotool(*arguments: str) -> None:
    subprocess.run(["xdotool", *arguments], check=True)


def _point_at(region, from_top: int | None = None) -> None:
    """Move the pointer to the middle of `region` (of the main window), or `from_top` pixels below its top."""
    window = main_window()
    x = window.x + region.x + region.width // 2
    y = region.y + (region.height // 2 if from_top is None else region.height - from_top)
    # Blender counts a region's y from the window's bottom, X from the screen's top.
    _xdotool("mousemove", str(x), str(window.y + window.height - y))  # X keeps the order: no need to wait


def press(keys: str) -> None:
    """A real key press (xdotool's key names: "Escape", "ctrl+z") with the pointer over the 3D viewport: Blender
    gets it as an artist's, through the window's handlers (a modal operator's first, then the keymaps)."""
    _point_at(region_of(area_of('VIEW_3D'), 'WINDOW'))
    _xdotool("key", keys)
    log("pressed key", keys)


def scroll_sidebar(down: bool) -> None:
    """Scroll the sidebar to its end (or back to its top) with the mouse wheel, as an artist reaches the last
    steps' panels; the pointer then goes back over the viewport (no tooltip in the screenshots)."""
    # Over the first panel: the sidebar overlaps the viewport, and a wheel over its empty part zooms the view.
    _point_at(region_of(area_of('VIEW_3D'), 'UI'), from_top=int(40 * bpy.context.preferences.system.ui_scale))
    _xdotool("click", "--repeat", "60", "--delay", "10", "5" if down else "4")
    _point_at(region_of(area_of('VIEW_3D'), 'WINDOW'))


def file_browser():
    """The (area, window) of the file browser that is open, or None."""
    for window in bpy.context.window_manager.windows:
        for area in window.screen.areas:
            if area.type == 'FILE_BROWSER':
                return area, window
    return None


def choose_file(path: str):
    """In the file browser an operator opened: go to `path`'s folder, pick `path` and accept (the browser's
    blue button). A generator: `yield from choose_file(path)`."""
    yield until(lambda: file_browser() is not None, "the file browser to open", 30)
    area, window = file_browser()
    params = area.spaces.active.params
    params.directory = os.path.dirname(path).encode()
    params.filename = os.path.basename(path)
    yield redrawn("the file browser to show the folder")
    with bpy.context.temp_override(window=window, area=area, region=region_of(area, 'WINDOW')):
        bpy.ops.file.execute()
    yield until(lambda: file_browser() is None, "the file browser to close", 30)


# --- what an artist sees ------------------------------------------------------------------------------------

class Reports:
    """The reports Blender keeps for the session (the status bar shows the latest, the Info editor all),
    read through the Info editor: the timeline's area becomes one for a moment, all its reports are copied
    (Info > Copy) and it turns back. Each message's lines are lines of the copy."""

    def __init__(self):
        self.seen: list[str] = []

    def new(self):
        """The lines reported since the last call. A generator: `lines = yield from reports.new()`."""
        area = next(a for a in main_window().screen.areas if a.type in {'DOPESHEET_EDITOR', 'INFO'})
        kind = area.ui_type
        area.ui_type = 'INFO'
        yield redrawn("the Info editor to draw")  # its reports are listed (and can be selected) once drawn
        wm = bpy.context.window_manager
        wm.clipboard = ""
        with bpy.context.temp_override(window=main_window(), area=area, region=region_of(area, 'WINDOW')):
            bpy.ops.info.select_all(action='SELECT')
            bpy.ops.info.report_copy()
        lines = wm.clipboard.splitlines()
        area.ui_type = kind
        # A list that no longer starts with the lines seen was cleared (a file was opened): all of it is new.
        new = lines[len(self.seen):] if lines[:len(self.seen)] == self.seen else lines
        self.seen = lines
        log("reports:", new)
        return new


class Screenshots:
    """Numbered screenshots of the whole X screen (every window, popups and the status bar included)."""

    def __init__(self, folder: str):
        self.folder, self.count = folder, 0

    def take(self, name: str, sidebar_end: bool = False):
        """A generator: `yield from shots.take("build-rig")` scrolls the sidebar to its top (or its end), waits
        for a redraw, then saves NN-name.png."""
        scroll_sidebar(down=sidebar_end)
        yield redrawn()
        self.count += 1
        path = os.path.join(self.folder, f"{self.count:02d}-{name}.png")
        subprocess.run(["import", "-window", "root", path], check=True)
        log("screenshot", path)
