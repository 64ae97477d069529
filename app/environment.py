"""The worker's Python environment: a venv with the project's requirements, made by the add-on's Install
button (the worker's `install` job, app/worker_jobs.py, which Blender's own Python runs: it has `venv` and
`ensurepip`, and no torch yet). Standard library only. Running it again updates the environment in place.

**Where from.** From the registries (PyPI, and PyTorch's own index for the chosen torch build), which needs
the network; or, with a wheelhouse, only from a folder of wheels the user copied in
(`pip --no-index --find-links DIR`): nothing is downloaded.

**Which torch.** `cpu`, or `cuda` where an NVIDIA driver is present (`nvidia_driver`: libcuda on Linux,
nvcuda.dll on Windows; macOS has no CUDA). From the registries: the CPU build comes from PyTorch's CPU index,
the CUDA build from PyPI on Linux (its torch is the CUDA one) and from PyTorch's CUDA index on Windows. From
a folder: the torch wheel whose version label says that build (`+cpu`, `+cu128`), if the folder has one.

**Progress** is pip's own: a dry run (`--dry-run --report`) first says how many packages will be installed;
then each package collected, each one downloaded (with its bytes: `--progress-bar raw`, pip 24.1 or newer,
pip being upgraded first where the source has it) or taken from the cache or the folder moves the bar;
installing is its last tenth (`PipProgress`). The progress callback raising `Cancelled` (Esc in Blender)
stops pip.
"""
from __future__ import annotations

import json
import os
import queue
import re
import subprocess
import sys
import tempfile
import threading
import venv

from ..core.errors import UserError
from ..core.progress import Progress, report

PYTORCH_CPU_INDEX = "https://download.pytorch.org/whl/cpu"
PYTORCH_CUDA_INDEX = "https://download.pytorch.org/whl/cu128"
BUILDS = ("auto", "cpu", "cuda")
RAW_PROGRESS_PIP = (24, 1)  # the first pip with --progress-bar raw
DOWNLOAD_SHARE = 0.9        # of the bar: resolving and downloading; installing is the rest


def environment_python(folder: str) -> str:
    if sys.platform == "win32":
        return os.path.join(folder, "Scripts", "python.exe")
    return os.path.join(folder, "bin", "python")


def count_requirements(path: str) -> int:
    with open(path, encoding="utf-8") as f:
        return sum(1 for line in f if line.split("#")[0].strip())


# --- the machine: an NVIDIA driver, and the torch build ------------------------------------------------------

_LINUX_LIBCUDA = ("/usr/lib/x86_64-linux-gnu/libcuda.so.1", "/usr/lib64/libcuda.so.1", "/usr/lib/libcuda.so.1",
                  "/usr/lib/aarch64-linux-gnu/libcuda.so.1", "/usr/lib/wsl/lib/libcuda.so.1")
_driver_cache: list = []


def nvidia_driver() -> str | None:
    """The NVIDIA driver's CUDA library (libcuda on Linux, nvcuda.dll on Windows) if installed, else None."""
    if _driver_cache:
        return _driver_cache[0]
    found = None
    if sys.platform == "win32":
        path = os.path.join(os.environ.get("SystemRoot", r"C:\Windows"), "System32", "nvcuda.dll")
        found = path if os.path.isfile(path) else None
    elif sys.platform.startswith("linux"):
        found = next((p for p in _LINUX_LIBCUDA if os.path.exists(p)), None)
        if found is None:
            import ctypes.util

            name = ctypes.util.find_library("cuda")
            found = name if name else None
    _driver_cache.append(found)
    return found


def torch_build(choice: str) -> str:
    """`cpu` or `cuda` for the preference `choice` (auto: CUDA where an NVIDIA driver is present)."""
    choice = choice.lower()
    if choice not in BUILDS:
        raise ValueError(f"unknown torch build {choice!r}; use one of {', '.join(BUILDS)}")
    if sys.platform == "darwin":
        return "cpu"  # no CUDA on macOS: PyPI's torch (CPU and Metal)
    if choice == "auto":
        return "cuda" if nvidia_driver() else "cpu"
    return choice


def registry_arguments(build: str) -> list[str]:
    """pip's index options for torch's `build` from the registries."""
    if sys.platform == "darwin":
        return []
    if build == "cpu":
        return ["--extra-index-url", PYTORCH_CPU_INDEX]
    return ["--extra-index-url", PYTORCH_CUDA_INDEX] if sys.platform == "win32" else []


# --- a folder of wheels ----------------------------------------------------------------------------------------

_WHEEL = re.compile(r"^(?P<name>[^-]+)-(?P<version>[^-]+)(-\d[^-]*)?-[^-]+-[^-]+-[^-]+\.whl$")


def wheel_versions(folder: str, project: str) -> list[str]:
    """The versions of `project` among the wheels in `folder` (file names only)."""
    try:
        names = os.listdir(folder)
    except OSError:
        return []
    versions = []
    for name in names:
        match = _WHEEL.match(name)
        if match and match["name"].lower().replace("_", "-") == project:
            versions.append(match["version"])
    return sorted(versions)


def build_of(version: str) -> str | None:
    """A torch version's build from its label: `2.5.1+cpu` cpu, `2.5.1+cu124` cuda, no label None."""
    label = version.partition("+")[2]
    return "cpu" if label == "cpu" else "cuda" if label.startswith("cu") else None


def wheelhouse_summary(folder: str) -> str:
    """One line on a folder of wheels: how many, and which torch it would install."""
    try:
        wheels = [n for n in os.listdir(folder) if n.endswith(".whl")]
    except OSError as e:
        return f"cannot read {folder} ({e.strerror})"
    if not wheels:
        return f"{folder} holds no wheels (.whl)"
    torch = wheel_versions(folder, "torch")
    return f"{len(wheels)} wheels, torch {', '.join(torch) if torch else 'missing'}"


def wheelhouse_torch(folder: str, build: str) -> str | None:
    """The requirement that picks torch's `build` from the folder (`torch==2.5.1+cpu`), where the folder has
    wheels of several builds labelled; None where it has one torch (or none: pip then says what is missing)."""
    versions = wheel_versions(folder, "torch")
    labelled = [v for v in versions if build_of(v) == build]
    if len(set(versions)) > 1 and labelled:
        return f"torch=={labelled[-1]}"
    return None


# --- pip's output -> progress ----------------------------------------------------------------------------------

class PipProgress:
    """Turns pip's output lines into progress: packages collected (resolving, the first fifth of the bar),
    then packages downloaded or taken from the cache or the folder, with the bytes of the download under way
    (`Progress N of M`), out of the `expected` packages of the dry run; installing is the last tenth."""

    RESOLVING, FETCHING = 0.2, 0.7

    def __init__(self, expected: int):
        self.expected = max(expected, 1)
        self.collected = 0
        self.fetched = 0           # packages downloaded, or found in pip's cache or the folder
        self.current = ""          # the file being downloaded
        self.fraction = 0.0        # of that file
        self.installing = False
        self.done = False

    def feed(self, line: str) -> tuple[float, str] | None:
        """(fraction of the whole install, message) for one line of pip's output, or None to say nothing."""
        line = line.strip()
        if not line:
            return None
        raw = re.match(r"^Progress (\d+) of (\d+)$", line)
        if raw:
            current, total = int(raw[1]), int(raw[2])
            self.fraction = min(current / total, 1.0) if total else 0.0
            return self.value(), f"install: downloading {self.current} ({100 * self.fraction:.0f}%)"
        bare = re.sub(r"\s*\([^)]*\)$", "", line)      # without a size in brackets at the end
        file = bare.split()[-1].rsplit("/", 1)[-1] if len(bare.split()) > 1 else ""
        if line.startswith("Collecting "):
            self.collected += 1
        elif line.startswith(("Downloading ", "Using cached ", "Processing ")) and not file.endswith(".metadata"):
            self._finish_current()
            if line.startswith("Downloading "):
                self.current, self.fraction = file, 0.0
            else:
                self.fetched += 1
        elif line.startswith("Installing collected packages"):
            self._finish_current()
            self.installing = True
        elif line.startswith("Successfully installed"):
            self.done = True
        return self.value(), f"install: {line}"

    def _finish_current(self) -> None:
        if self.current:
            self.fetched += 1
            self.current, self.fraction = "", 0.0

    def value(self) -> float:
        if self.done:
            return 1.0
        if self.installing:
            return DOWNLOAD_SHARE
        resolved = min(self.collected, self.expected) / self.expected
        fetched = min(self.fetched + self.fraction, self.expected) / self.expected
        return self.RESOLVING * resolved + self.FETCHING * fetched


def pip_version(python: str) -> tuple[int, ...]:
    done = subprocess.run([python, "-m", "pip", "--version"], capture_output=True, text=True)
    match = re.match(r"pip (\d+)\.(\d+)", done.stdout)
    return (int(match[1]), int(match[2])) if match else (0, 0)


def planned_packages(python: str, arguments: list[str]) -> int | None:
    """How many packages pip will install (its dry run's report), or None where it cannot say."""
    with tempfile.TemporaryDirectory() as folder:
        report = os.path.join(folder, "report.json")
        done = subprocess.run([python, "-m", "pip", "install", "--dry-run", "--quiet", "--report", report,
                               *arguments], capture_output=True, text=True)
        if done.returncode != 0 or not os.path.isfile(report):
            return None
        with open(report, encoding="utf-8") as f:
            return len(json.load(f).get("install", []))


# --- the install ------------------------------------------------------------------------------------------------

STEPS = 1000  # the install's progress is reported in thousandths


def install(folder: str, requirements: str, wheelhouse: str | None = None, build: str = "auto",
            progress: Progress | None = None) -> str:
    """Create (or update) the venv in `folder` and install `requirements` into it; returns its Python."""
    if not os.path.isfile(requirements):
        raise UserError(f"{requirements} is missing; reinstall the extension")
    if wheelhouse and not os.path.isdir(wheelhouse):  # checked before anything is created
        raise UserError(f"the folder of wheels {wheelhouse} does not exist; choose it again in the preferences")
    report(progress, 0, STEPS, "install: creating the environment")
    try:
        venv.EnvBuilder(with_pip=True, upgrade_deps=False).create(folder)
    except (OSError, subprocess.CalledProcessError) as e:
        raise UserError(f"cannot create a Python environment in {folder} ({e}); choose another Python in the "
                        f"preferences") from None
    python = environment_python(folder)
    build = torch_build(build)
    if wheelhouse:
        source = ["--no-index", "--find-links", wheelhouse]
        pinned = wheelhouse_torch(wheelhouse, build)
        extra = [pinned] if pinned else []
        where = f"the folder {wheelhouse}"
    else:
        source, extra, where = registry_arguments(build), [], "PyPI"
    # pip 24.1+ reports download progress (a newer pip, where the source has one: no harm if not)
    subprocess.run([python, "-m", "pip", "install", "--quiet", "--upgrade", *source, "pip"],
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    raw = pip_version(python) >= RAW_PROGRESS_PIP
    arguments = [*source, "-r", requirements, *extra]
    report(progress, 0, STEPS, f"install: resolving the requirements ({where}, torch {build})")
    planned = planned_packages(python, arguments)
    tracker = PipProgress(planned if planned is not None else 4 * count_requirements(requirements))
    command = [python, "-m", "pip", "install", "--progress-bar", "raw" if raw else "off", *arguments]
    last = _run_pip(command, tracker, progress)
    if last is not None:
        advice = ("check that the folder holds every wheel the requirements need, for this Python and platform"
                  if wheelhouse else "check the network connection")
        raise UserError(f"pip failed ({last}); {advice}; the console shows pip's log")
    one_opencv(python, source)
    report(progress, STEPS, STEPS, "install: done")
    return python


def _run_pip(command: list[str], tracker: PipProgress, progress: Progress | None) -> str | None:
    """Run pip, its output turned into progress; None when it succeeded, else its last line. Whatever stops
    this (the progress callback's Cancelled) stops pip too."""
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                               errors="replace", bufsize=1)
    lines: queue.Queue = queue.Queue()
    threading.Thread(target=_read_lines, args=(process.stdout, lines), daemon=True).start()
    last, fraction, message = "", 0.0, "install: starting pip"
    try:
        while True:
            try:
                line = lines.get(timeout=0.5)
            except queue.Empty:  # pip is quiet: still ask, so a cancel is heard
                report(progress, round(STEPS * fraction), STEPS, message)
                continue
            if line is None:
                break
            update = tracker.feed(line)
            if update is None:
                continue
            if not line.startswith("Progress "):
                last = line.strip()
            fraction, message = update[0], update[1][:200]
            report(progress, round(STEPS * fraction), STEPS, message)
    finally:
        if process.poll() is None:
            process.terminate()
        code = process.wait()
    return None if code == 0 else last


def _read_lines(stream, lines: queue.Queue) -> None:
    for line in stream:
        lines.put(line)
    lines.put(None)  # the end of pip's output


def one_opencv(python: str, source: list[str]) -> None:
    """face-alignment asks for opencv-python (the GUI build) beside our opencv-python-headless, and whichever
    installs last owns `cv2`: keep the headless build alone, as the Makefile does."""
    subprocess.run([python, "-m", "pip", "uninstall", "--yes", "--quiet", "opencv-python"],
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    version = subprocess.run([python, "-c", "import importlib.metadata as m; print(m.version('opencv-python-headless'))"],
                             capture_output=True, text=True).stdout.strip()
    if version:
        subprocess.run([python, "-m", "pip", "install", "--quiet", "--force-reinstall", "--no-deps", *source,
                        f"opencv-python-headless=={version}"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
