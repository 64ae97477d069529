"""The worker process and the add-on's client for it (plain Python: no Blender needed to run them)."""
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from blender_addon.worker_client import WorkerCancelled, WorkerError, WorkerProcess, running, worker_command, \
    worker_environment

ROOT = Path(__file__).resolve().parents[2]


def start(request: dict) -> WorkerProcess:
    return WorkerProcess(worker_command(sys.executable), request, env=worker_environment(str(ROOT)), cwd=str(ROOT))


def test_result_and_progress_arrive_as_json_lines(astronaut_png, tmp_path):
    events = []
    copy = tmp_path / "reference.png"
    result = start({"job": "detect", "image": str(astronaut_png), "reference_copy": str(copy)}).wait(events.append)
    assert [e["event"] for e in events][-1] == "result"
    progress = [e for e in events if e["event"] == "progress"]
    assert progress and progress[-1]["done"] == progress[-1]["total"]
    assert len(result["points"]) == 68 and len(result["depths"]) == 68 and result["size"] == [512, 512]
    assert copy.is_file()
    deadline = time.monotonic() + 15
    while running() and time.monotonic() < deadline:  # the worker exits right after its last event
        time.sleep(0.1)
    assert not running()


def test_user_errors_come_back_as_one_line(tmp_path):
    with pytest.raises(WorkerError) as caught:
        start({"job": "detect", "image": str(tmp_path / "missing.png")}).wait()
    assert "no such file" in str(caught.value) and "\n" not in str(caught.value)


def test_a_request_it_does_not_know():
    with pytest.raises(WorkerError, match="no valid request"):
        start({"job": "fly"}).wait()


def test_library_output_cannot_reach_the_event_stream():
    code = "from core.worker import Channel; c = Channel(); print('library noise'); c.send('result', ok=1)"
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert [json.loads(line) for line in done.stdout.splitlines()] == [{"event": "result", "ok": 1}]
    assert "library noise" in done.stderr


def test_cancel_stops_the_work(astronaut_png):
    worker = start({"job": "detect", "image": str(astronaut_png)})
    while not any(e["event"] == "progress" for e in worker.poll()):
        time.sleep(0.01)
    worker.cancel()
    with pytest.raises(WorkerCancelled):
        worker.wait()
    assert worker.process.wait(timeout=15) == 130  # it exits by itself once it has said so


def test_closing_stdin_cancels(astronaut_png):
    process = subprocess.Popen([sys.executable, "-m", "core", "worker"], cwd=ROOT, stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    process.stdin.write(json.dumps({"job": "detect", "image": str(astronaut_png)}) + "\n")
    process.stdin.close()
    events = [json.loads(line) for line in process.stdout]
    assert events[-1] == {"event": "cancelled"} and process.wait(timeout=30) == 130


def test_worker_exits_when_its_parent_dies(astronaut_png, tmp_path):
    """An orphaned worker (its parent killed, its stdin still open elsewhere) stops by itself."""
    if os.name != "posix":
        pytest.skip("the parent watchdog is POSIX's; on Windows the closing pipe stops the worker")
    pid_file = tmp_path / "worker.pid"
    parent = (f"import os, subprocess, sys\n"
              f"p = subprocess.Popen([sys.executable, '-m', 'core', 'worker', '--parent-pid', str(os.getpid())], "
              f"stdin=sys.stdin, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)\n"
              f"open({str(pid_file)!r}, 'w').write(str(p.pid))\n"
              f"os._exit(0)\n")
    keeper = subprocess.Popen([sys.executable, "-c", parent], cwd=ROOT, stdin=subprocess.PIPE, text=True)
    keeper.stdin.write(json.dumps({"job": "detect", "image": str(astronaut_png)}) + "\n")
    keeper.stdin.flush()
    keeper.wait(timeout=30)
    pid = int(pid_file.read_text())
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and _alive(pid):
        time.sleep(0.2)
    keeper.stdin.close()
    assert not _alive(pid)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # an exited child of a dead parent is reaped by init; a zombie still answers kill(0): check its state
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except OSError:
        return True


def test_the_environment_installer_speaks_the_protocol(tmp_path):
    """The Install button's script: a virtual environment, pip run in it, progress, then its Python."""
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("# nothing to install: this checks the environment and the protocol\n")
    script = ROOT / "blender_addon" / "environment.py"
    events = []
    worker = WorkerProcess([sys.executable, str(script), str(tmp_path / "env"), str(requirements)], None)
    result = worker.wait(events.append)
    assert events[0]["message"].startswith("install:")
    python = result["python"]
    done = subprocess.run([python, "-c", "import sys; print(sys.prefix)"], capture_output=True, text=True)
    assert Path(done.stdout.strip()) == tmp_path / "env"
