"""Create the worker's Python environment: `python environment.py FOLDER REQUIREMENTS`.

The add-on's Install button runs this script with Blender's own Python (which has `venv` and `ensurepip`),
as a child process that speaks the worker's JSON-line protocol (core/worker.py): progress events carry
pip's output line by line, then one `result` (the environment's Python) or `error`. It creates a virtual
environment in FOLDER and installs REQUIREMENTS into it with pip; running it again updates it in place.
Closing stdin (Esc in Blender) stops pip. No bpy, no imports from the project: it runs as a plain script.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import venv


def send(event: str, **fields) -> None:
    sys.stdout.write(json.dumps({"event": event, **fields}) + "\n")
    sys.stdout.flush()


def environment_python(folder: str) -> str:
    if sys.platform == "win32":
        return os.path.join(folder, "Scripts", "python.exe")
    return os.path.join(folder, "bin", "python")


def count_requirements(path: str) -> int:
    with open(path, encoding="utf-8") as f:
        return sum(1 for line in f if line.split("#")[0].strip())


def main(folder: str, requirements: str) -> int:
    send("progress", done=0, total=1, message="install: creating the environment")
    try:
        venv.EnvBuilder(with_pip=True, upgrade_deps=False).create(folder)
    except (OSError, subprocess.CalledProcessError) as e:
        send("error", message=f"cannot create a Python environment in {folder} ({e}); choose another Python "
                              f"in the preferences")
        return 2
    python = environment_python(folder)
    # pip resolves the listed requirements and their dependencies: count what it collects against a guess
    # of four packages per listed requirement, then installing is the last tenth.
    expected = max(4 * count_requirements(requirements), 1)
    process = subprocess.Popen([python, "-m", "pip", "install", "--progress-bar", "off", "-r", requirements],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, errors="replace",
                               bufsize=1)
    cancelled = threading.Event()
    threading.Thread(target=_stop_on_stdin_close, args=(process, cancelled), daemon=True).start()
    collected, last = 0, ""
    for line in process.stdout:
        line = line.strip()
        if not line:
            continue
        last = line
        if line.startswith("Collecting "):
            collected += 1
        done = 9 * min(collected, expected) if not line.startswith("Installing collected") else 9 * expected
        send("progress", done=done, total=10 * expected, message=f"install: {line}")
    code = process.wait()
    if cancelled.is_set():
        send("cancelled")
        return 130
    if code != 0:
        send("error", message=f"pip failed ({last}); check the network connection and the log in the console")
        return 2
    send("result", python=python)
    return 0


def _stop_on_stdin_close(process: subprocess.Popen, cancelled: threading.Event) -> None:
    for line in sys.stdin:
        if line.strip() == "cancel":
            break
    if process.poll() is None:
        cancelled.set()
        process.terminate()


if __name__ == "__main__":
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        raise SystemExit(2)
    raise SystemExit(main(sys.argv[1], sys.argv[2]))
