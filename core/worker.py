"""`python -m core worker`: the process the Blender add-on runs its long work in.

Blender's own Python has no torch, so the add-on starts this worker with a Python that has (chosen in the
add-on's preferences) and talks to it in JSON lines:

- **The request** is the first line on stdin: `{"job": NAME, ...arguments}` (`JOBS` lists the names).
- **Events** are lines on stdout, one JSON object each: `{"event": "progress", "done", "total", "message"}`
  while working, `{"event": "warning", "message"}` for anything the user should know, then exactly one of
  `{"event": "result", ...}`, `{"event": "error", "message"}` (a one-line message, as UserError has it) or
  `{"event": "cancelled"}`. The exit status is 0, 2 or 130 accordingly (1 for an internal error).
- **Cancelling**: a `cancel` line on stdin, or stdin closing, stops the work at its next progress step;
  whatever was finished before (written frames) stays valid.

Libraries print (tqdm, notes, warnings from native code): the worker keeps the real stdout for events only
and points file descriptor 1 at stderr, so nothing else can end up in the event stream.

A worker must never outlive Blender. Stdin closes when the parent dies (the add-on holds the only write end),
and a watchdog also notices when the parent's process id changes (POSIX: the orphan is re-parented); either
way the work is cancelled and, if it has not stopped within `GRACE_SECONDS`, the process exits.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time
import traceback
import warnings

from core.errors import Cancelled, UserError

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

    def send(self, event: str, **fields) -> None:
        line = json.dumps({"event": event, **fields}, allow_nan=False)
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
            self.channel.send("progress", done=int(done), total=int(total), message=str(message))


# --- jobs: each takes the request's arguments and a progress callback, and returns the result's fields ------

def info_job(request: dict, progress) -> dict:
    """What this Python can do: versions, and whether CUDA is there (the preferences' check button)."""
    import numpy
    import torch

    import core

    cuda = torch.cuda.is_available()
    return {"python": sys.version.split()[0], "core": core.__version__, "numpy": numpy.__version__,
            "torch": torch.__version__, "cuda": cuda,
            "device": torch.cuda.get_device_name(0) if cuda else "CPU"}


def detect_job(request: dict, progress) -> dict:
    """Landmarks of one reference photo, with the per-landmark depths the rig is built from."""
    from core.images import load_image
    from core.landmarks.detect import detect_landmarks
    from core.landmarks.face3d import lift
    from core.rig import face_depths

    path = _required(request, "image")
    progress(0, 3, "landmarks: loading the detector")
    image = load_image(path)
    found = detect_landmarks(image, backend=request.get("backend", "auto"), with_3d=True)
    progress(1, 3, "landmarks: depth")
    depths = face_depths(found.points3d if found.points3d is not None else lift(found.points))
    copy = request.get("reference_copy")
    if copy:
        progress(2, 3, "landmarks: writing the reference")
        _write_png(copy, image)
    progress(3, 3, "landmarks: done")
    return {"image": str(path), "reference_copy": copy, "size": [int(image.shape[1]), int(image.shape[0])],
            "backend": found.backend, "faces_found": found.faces_found, "box": [float(v) for v in found.box],
            "points": _rounded(found.points), "depths": _rounded(depths),
            "depth_source": "detector" if found.points3d is not None else "generic face"}


def track_job(request: dict, progress) -> dict:
    """A driving video (landmarks extracted here) or a track file, retargeted onto the reference's points."""
    import numpy as np

    from core.landmarks.track import Track, extract_track, retarget

    source = _required(request, "source")
    out = _required(request, "out")
    if source.lower().endswith(".json"):
        driver = Track.load(source)
    else:
        driver = extract_track(source, progress=progress, backend=request.get("backend", "auto"))
    reference = np.asarray(_required(request, "reference_points"), dtype=np.float32)
    size = tuple(int(v) for v in _required(request, "image_size"))
    points = retarget(driver, reference, mode=request.get("mode", "relative"))
    Track(points, driver.frames, driver.filled, driver.fps, size, driver.stride, driver.source).save(out)
    return {"track": str(out), "frames": len(driver), "fps": float(driver.fps),
            "filled": int(driver.filled.sum())}


def finetune_job(request: dict, progress) -> dict:
    from core.training.finetune import finetune

    images = _required(request, "images")
    path = finetune(images, _required(request, "out"), preset=request.get("preset", "fast"),
                    device=request.get("device", "auto"), progress=progress, steps=request.get("steps") or None)
    return {"person": str(path)}


def generate_job(request: dict, progress) -> dict:
    from core.inference import generate

    frames = generate(_required(request, "person"), _required(request, "track"), _required(request, "out_dir"),
                      name=request.get("name", "frame_"), device=request.get("device", "auto"), progress=progress)
    return {"frames": frames}


def export_onnx_job(request: dict, progress) -> dict:
    """The person model as ONNX, for the add-on's live preview (onnxruntime in Blender's Python)."""
    from export.onnx_model import export_person

    progress(0, 1, "ONNX: exporting and verifying")
    path = export_person(_required(request, "person"), _required(request, "out"), overwrite=True)
    progress(1, 1, "ONNX: done")
    return {"onnx": str(path)}


def export_video_job(request: dict, progress) -> dict:
    """The generated frames (`name`####.png in `frames`) as an H.264 MP4 at the scene's frame rate."""
    from export.sequence import read_srgb, sequence_numbers
    from export.video import write_video

    paths = list(sequence_numbers(_required(request, "frames"), request.get("name", "frame_"), "png").values())
    if not paths:
        raise UserError(f"{request['frames']} holds no generated frames; generate them first")

    def frames():
        for path in paths:
            pixels = read_srgb(path)
            yield pixels[..., :3] * pixels[..., 3:] if pixels.shape[2] == 4 else pixels

    path = write_video(_required(request, "out"), frames(), float(_required(request, "fps")), overwrite=True,
                       total=len(paths), progress=progress)
    return {"video": str(path), "frames": len(paths)}


JOBS = {
    "info": info_job,
    "detect": detect_job,
    "track": track_job,
    "finetune": finetune_job,
    "generate": generate_job,
    "export_onnx": export_onnx_job,
    "export_video": export_video_job,
}


def _forward(channel: Channel, warning: warnings.WarningMessage) -> None:
    """Our own warnings (several faces found, a downscaled photo) go to the user; libraries' to stderr."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    package = os.path.relpath(os.path.abspath(warning.filename), root).split(os.sep)[0]
    if package in ("core", "export"):
        channel.send("warning", message=(str(warning.message).strip().splitlines() or [""])[0])
    else:
        warnings.showwarning(warning.message, warning.category, warning.filename, warning.lineno)


def _write_png(path: str, image) -> None:
    """The decoded reference (upright, sRGB) as Blender will show it, written to a temporary name first."""
    from PIL import Image

    tmp = f"{path}.{os.getpid()}.tmp"
    try:
        Image.fromarray(image).save(tmp, format="PNG")
        os.replace(tmp, path)
    except OSError as e:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise UserError(f"cannot write {path} ({e.strerror}); check the folder, the disk space and permissions") from e


def _required(request: dict, key: str):
    if key not in request:
        raise UserError(f"the worker's request lacks {key!r}; update the add-on and the worker together")
    return request[key]


def _rounded(values) -> list:
    import numpy as np

    return np.round(np.asarray(values, dtype=np.float64), 4).tolist()


# --- command line ---------------------------------------------------------------------------------------------

def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--parent-pid", type=int, default=None,
                        help="exit when this process (the add-on's Blender) is no longer the parent")


def run(args: argparse.Namespace) -> int:
    channel = Channel()
    request_line = sys.stdin.readline()
    cancel = CancelWatch(sys.stdin, args.parent_pid)
    try:
        return _serve(channel, cancel, request_line)
    finally:
        cancel.finished.set()


def _serve(channel: Channel, cancel: CancelWatch, request_line: str) -> int:
    try:
        request = json.loads(request_line)
        job = JOBS[request["job"]]
    except (ValueError, TypeError, KeyError):
        channel.send("error", message=f"the worker got no valid request (one JSON line with a \"job\" among "
                                      f"{', '.join(JOBS)}); update the add-on and the worker together")
        return 2
    progress = ProgressEvents(channel, cancel)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            result = job(request, progress)
        for warning in caught:
            _forward(channel, warning)
    except UserError as e:
        channel.send("error", message=str(e))
        return 2
    except Cancelled:
        channel.send("cancelled")
        return 130
    except Exception as e:  # noqa: BLE001  (anything else is a bug: report it, keep the traceback on stderr)
        traceback.print_exc()
        first = (str(e).strip().splitlines() or [""])[0]
        channel.send("error", message=f"internal error in the worker ({type(e).__name__}: {first}); "
                                      f"the console shows the details")
        return 1
    channel.send("result", **result)
    return 0
