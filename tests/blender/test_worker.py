"""The worker process and the add-on's client for it (plain Python: no Blender needed to run them).

The client runs in this Python (Blender's, in Blender); the worker in WORKER_PYTHON (conftest.py), which on the
bpy 5.3 run is another Python: .venv's, with torch."""
import importlib.util
import json
import os
from dataclasses import dataclass
import subprocess
import sys
import time
from pathlib import Path

import pytest

from talking_heads.app import protocol, worker_jobs
from talking_heads.blender_addon.worker_client import (WorkerCancelled, WorkerError, WorkerProcess, running,
                                                       worker_command, worker_environment)

ROOT = Path(__file__).resolve().parents[2]
WORKER_PYTHON = os.environ["TALKING_HEADS_WORKER_PYTHON"]  # set by conftest.py
# The worker's own code, run in this process: only where this Python is a worker's (it has torch).
worker_code = pytest.mark.skipif(importlib.util.find_spec("torch") is None,
                                 reason="the worker's own code (torch) never runs in Blender's Python, and this one "
                                        "has no torch; the .venv run tests it")


def start(request: protocol.Job) -> WorkerProcess:
    return WorkerProcess(worker_command(WORKER_PYTHON), request, env=worker_environment(str(ROOT)), cwd=str(ROOT))


def test_result_and_progress_arrive_as_json_lines(astronaut_png, tmp_path):
    events = []
    copy = tmp_path / "reference.png"
    result = start(worker_jobs.DetectJob(image=str(astronaut_png), reference_copy=str(copy))).wait(events.append)
    assert isinstance(events[-1], protocol.Result)
    progress = [e for e in events if isinstance(e, protocol.Progress)]
    assert progress and progress[-1].done == progress[-1].total
    assert len(result.points) == 68 and len(result.depths) == 68 and result.size == [512, 512]
    assert copy.is_file()
    deadline = time.monotonic() + 15
    while running() and time.monotonic() < deadline:  # the worker exits right after its last event
        time.sleep(0.1)
    assert not running()


def test_user_errors_come_back_as_one_line(tmp_path):
    with pytest.raises(WorkerError) as caught:
        start(worker_jobs.DetectJob(image=str(tmp_path / "missing.png"))).wait()
    assert "no such file" in str(caught.value) and "\n" not in str(caught.value)


@dataclass
class Fly(protocol.Job):
    NAME = "fly"


def test_a_request_it_does_not_know():
    with pytest.raises(WorkerError, match="no valid request"):
        start(Fly()).wait()


def test_library_output_cannot_reach_the_event_stream():
    code = ("from talking_heads.app.worker import Channel; from talking_heads.app.protocol import Result; "
            "c = Channel(); print('library noise'); c.send(Result({'ok': 1}))")
    done = subprocess.run([WORKER_PYTHON, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert [json.loads(line) for line in done.stdout.splitlines()] == [{"event": "result", "ok": 1}]
    assert "library noise" in done.stderr


def test_cancel_stops_the_work(astronaut_png):
    worker = start(worker_jobs.DetectJob(image=str(astronaut_png)))
    while not any(isinstance(e, protocol.Progress) for e in worker.poll()):
        time.sleep(0.01)
    worker.cancel()
    with pytest.raises(WorkerCancelled):
        worker.wait()
    assert worker.process.wait(timeout=15) == 130  # it exits by itself once it has said so


def test_closing_stdin_cancels(astronaut_png):
    process = subprocess.Popen([WORKER_PYTHON, "-m", "core", "worker"], cwd=ROOT, stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    process.stdin.write(worker_jobs.DetectJob(image=str(astronaut_png)).to_json() + "\n")
    process.stdin.close()
    events = [json.loads(line) for line in process.stdout]
    assert events[-1] == {"event": "cancelled"} and process.wait(timeout=30) == 130


def test_worker_exits_when_its_parent_dies(astronaut_png, tmp_path):
    """An orphaned worker (its parent killed, its stdin still open elsewhere) stops by itself."""
    if os.name != "posix":
        pytest.skip("the parent watchdog is POSIX's; on Windows the closing pipe stops the worker")
    pid_file = tmp_path / "worker.pid"
    parent = (f"import os, subprocess, sys\n"
              f"p = subprocess.Popen([{WORKER_PYTHON!r}, '-m', 'core', 'worker', '--parent-pid', str(os.getpid())], "
              f"stdin=sys.stdin, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)\n"
              f"open({str(pid_file)!r}, 'w').write(str(p.pid))\n"
              f"os._exit(0)\n")
    keeper = subprocess.Popen([sys.executable, "-c", parent], cwd=ROOT, stdin=subprocess.PIPE, text=True)
    keeper.stdin.write(worker_jobs.DetectJob(image=str(astronaut_png)).to_json() + "\n")
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


def make_wheel(folder: Path, name: str = "tinypkg", version: str = "1.0") -> Path:
    """A minimal pure-Python wheel (a package whose VALUE is 42), written by hand."""
    import base64
    import hashlib
    import zipfile

    info = f"{name}-{version}.dist-info"
    files = {f"{name}/__init__.py": "VALUE = 42\n",
             f"{info}/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n",
             f"{info}/WHEEL": "Wheel-Version: 1.0\nGenerator: tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n"}
    record = []
    for path, text in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b"=").decode()
        record.append(f"{path},sha256={digest},{len(text.encode())}")
    files[f"{info}/RECORD"] = "\n".join(record + [f"{info}/RECORD,,"]) + "\n"
    folder.mkdir(parents=True, exist_ok=True)
    wheel = folder / f"{name}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as z:
        for path, text in files.items():
            z.writestr(path, text)
    return wheel


def install(job) -> WorkerProcess:
    """The worker as the Install button starts it: with Blender's own Python."""
    return WorkerProcess(worker_command(sys.executable), job, env=worker_environment(str(ROOT)), cwd=str(ROOT))


def test_the_environment_installs_offline_from_a_folder_of_wheels(tmp_path):
    """The Install button's job from a wheelhouse (pip --no-index --find-links): a virtual environment, pip
    run in it with progress from its own output (every step, as the job reports it; the worker sends at most
    ten a second), then the environment's Python, which has the package."""
    wheels = tmp_path / "wheels"
    make_wheel(wheels)
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("# a package only the folder has\ntinypkg\n")
    progress = []
    job = worker_jobs.InstallJob(folder=str(tmp_path / "env"), requirements=str(requirements), wheelhouse=str(wheels),
                                 torch="cpu")
    result = job.run(lambda done, total, message: progress.append((done, total, message)))
    assert progress[0][2].startswith("install:")
    assert any(f"the folder {wheels}" in message for _, _, message in progress)
    done = [d for d, _, _ in progress]
    assert done == sorted(done) and done[-1] == progress[-1][1] == 1000
    assert any(0 < d < 1000 for d in done)          # pip's own steps moved the bar on the way
    assert any("Installing collected packages" in message for _, _, message in progress)
    out = subprocess.run([result.python, "-c", "import sys, tinypkg; print(sys.prefix, tinypkg.VALUE)"],
                         capture_output=True, text=True)
    prefix, value = out.stdout.split()
    assert Path(prefix) == tmp_path / "env" and value == "42"
    # and through the worker run by Blender's own Python, as the button starts it: the same environment
    assert install(job).wait().python == result.python


def test_a_folder_without_the_wheels_is_one_line(tmp_path):
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("no-such-package-anywhere\n")
    (tmp_path / "wheels").mkdir()
    job = worker_jobs.InstallJob(folder=str(tmp_path / "env"), requirements=str(requirements),
                                 wheelhouse=str(tmp_path / "wheels"))
    with pytest.raises(WorkerError) as caught:
        install(job).wait()
    assert "pip failed" in str(caught.value) and "folder holds every wheel" in str(caught.value)
    assert "\n" not in str(caught.value)


def test_pip_output_becomes_progress():
    """pip's lines as `--progress-bar raw` prints them: collecting, downloading with bytes, cached, installing."""
    from talking_heads.app.environment import PipProgress

    lines = ["Collecting numpy<2", "  Downloading numpy-1.26.4-cp311-cp311-manylinux.whl.metadata (61 kB)",
             "Collecting torch==2.13.0", "Collecting filelock (from torch==2.13.0)",
             "Using cached filelock-3.13.1-py3-none-any.whl.metadata (2.8 kB)",
             "Downloading numpy-1.26.4-cp311-cp311-manylinux.whl (18.3 MB)", "Progress 0 of 18300000",
             "Progress 9150000 of 18300000", "Progress 18300000 of 18300000",
             "Downloading torch-2.13.0+cpu-cp311-cp311-linux_x86_64.whl (190.1 MB)", "Progress 95050000 of 190100000",
             "Using cached filelock-3.13.1-py3-none-any.whl (11 kB)",
             "Installing collected packages: numpy, filelock, torch", "Successfully installed filelock numpy torch"]
    tracker = PipProgress(3)
    values, messages = zip(*(tracker.feed(line) for line in lines))
    assert list(values) == sorted(values) and values[-1] == 1.0
    assert values[3] == pytest.approx(0.2)                       # three collected: resolving is done
    assert values[7] == pytest.approx(0.2 + 0.7 * 0.5 / 3)       # half of numpy's bytes
    assert values[10] == pytest.approx(0.2 + 0.7 * 1.5 / 3)      # numpy, and half of torch
    assert values[12] == pytest.approx(0.9)                      # installing: the last tenth
    assert messages[10] == "install: downloading torch-2.13.0+cpu-cp311-cp311-linux_x86_64.whl (50%)"
    assert tracker.feed("  ") is None


def test_the_torch_build(monkeypatch, tmp_path):
    from talking_heads.app import environment

    monkeypatch.setattr(environment.sys, "platform", "linux")
    monkeypatch.setattr(environment, "nvidia_driver", lambda: "/usr/lib/x86_64-linux-gnu/libcuda.so.1")
    assert environment.torch_build("auto") == "cuda" and environment.torch_build("CPU") == "cpu"
    assert environment.registry_arguments("cpu") == ["--extra-index-url", environment.PYTORCH_CPU_INDEX]
    assert environment.registry_arguments("cuda") == []            # PyPI's Linux torch is the CUDA build
    monkeypatch.setattr(environment, "nvidia_driver", lambda: None)
    assert environment.torch_build("auto") == "cpu"
    monkeypatch.setattr(environment.sys, "platform", "win32")
    assert environment.registry_arguments("cuda") == ["--extra-index-url", environment.PYTORCH_CUDA_INDEX]
    monkeypatch.setattr(environment.sys, "platform", "darwin")
    assert environment.torch_build("cuda") == "cpu" and environment.registry_arguments("cpu") == []
    # a folder with both builds: the requirement picks the chosen one
    for name in ("torch-2.13.0+cpu-cp311-cp311-linux_x86_64.whl", "torch-2.13.0+cu128-cp311-cp311-linux_x86_64.whl",
                 "numpy-1.26.4-cp311-cp311-manylinux_2_17_x86_64.whl"):
        (tmp_path / name).write_bytes(b"")
    assert environment.wheelhouse_torch(str(tmp_path), "cuda") == "torch==2.13.0+cu128"
    assert environment.wheelhouse_torch(str(tmp_path), "cpu") == "torch==2.13.0+cpu"
    assert environment.wheelhouse_summary(str(tmp_path)) == "3 wheels, torch 2.13.0+cpu, 2.13.0+cu128"
    (tmp_path / "torch-2.13.0+cu128-cp311-cp311-linux_x86_64.whl").unlink()
    assert environment.wheelhouse_torch(str(tmp_path), "cuda") is None   # one torch: whatever it is
    assert isinstance(environment.nvidia_driver.__call__(), (str, type(None)))


# --- online access: the worker downloads nothing when it is off ----------------------------------------------

def guarded(record: Path, request: protocol.Job) -> WorkerProcess:
    """The worker with its socket layer guarded: every network attempt fails and is written to `record`."""
    env = dict(worker_environment(str(ROOT)), TALKING_HEADS_SOCKET_GUARD=str(record))
    return WorkerProcess(worker_command(WORKER_PYTHON), request, env=env, cwd=str(ROOT))


def test_the_socket_guard_sees_a_download_attempt(astronaut_png, tmp_path, fan_weights_cached):
    """The guard itself: online, face-alignment tries to download FAN's weights (not cached here), which the
    guard records and refuses; detection goes on with dlib."""
    if fan_weights_cached:
        pytest.skip("face-alignment's weights are cached here: there is nothing to download")
    record = tmp_path / "attempts.txt"
    result = guarded(record, worker_jobs.DetectJob(image=str(astronaut_png), online=True)).wait()
    assert result.backend == "dlib"
    assert record.is_file() and record.read_text().strip()


def test_offline_detection_skips_the_download_and_says_so(astronaut_png, tmp_path, fan_weights_cached):
    record = tmp_path / "attempts.txt"
    events = []
    result = guarded(record, worker_jobs.DetectJob(image=str(astronaut_png), online=False)).wait(events.append)
    assert len(result.points) == 68
    assert not record.exists(), record.read_text()
    if not fan_weights_cached:
        notes = [e.message for e in events if isinstance(e, protocol.Warning)]
        assert any(n.startswith("online access is off: skipped downloading face-alignment's FAN weights")
                   for n in notes), notes
        assert all("\n" not in n for n in notes)


@pytest.mark.slow
def test_offline_finetune_makes_no_network_attempt(astronaut_png, tmp_path):
    record = tmp_path / "attempts.txt"
    job = worker_jobs.FinetuneJob(images=[str(astronaut_png)], out=str(tmp_path / "person.safetensors"), steps=1,
                               device="cpu", online=False)
    result = guarded(record, job).wait()
    assert Path(result.person).is_file()
    assert not record.exists(), record.read_text()


@worker_code
def test_offline_vgg_is_skipped_without_a_download_attempt(monkeypatch):
    """VGG19 (meta-training's perceptual loss) is not fetched with the network off: the offline content loss
    is used, and a warning says what was skipped."""
    import torch

    from talking_heads.core import online
    from talking_heads.core.model import losses

    monkeypatch.setattr(online, "_allowed", False)
    monkeypatch.setattr(online, "_said", set())
    monkeypatch.setattr(online, "cached_weights", lambda url: None)

    def no_download(*args, **kwargs):
        raise AssertionError("a download was attempted")

    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", no_download)
    with pytest.warns(UserWarning, match="online access is off: skipped downloading VGG19's ImageNet weights"):
        assert losses.load_vgg19() is None


def test_the_network_switch(monkeypatch):
    from talking_heads.core import online

    monkeypatch.setattr(online, "_allowed", True)
    assert online.may_fetch("https://example.invalid/never-cached.pth")
    online.allow_network(False)
    assert not online.network_allowed() and not online.may_fetch("https://example.invalid/never-cached.pth")
    with pytest.warns(UserWarning, match="online access is off: skipped downloading the thing"):
        online.skipped("the thing")
    online.allow_network(True)


# --- lip sync and generate requests ------------------------------------------------------------------------

def test_a_lipsync_job_writes_expression_curves(tmp_path):
    from speech import vowels, write_wav

    from talking_heads.core.lipsync.curves import ExpressionCurves

    out = tmp_path / "curves.json"
    result = start(worker_jobs.LipsyncJob(audio=str(write_wav(tmp_path / "ah.wav", vowels())), out=str(out),
                                       fps=30.0, online=False)).wait()
    curves = ExpressionCurves.load(out)
    assert result.curves == str(out) and result.frames == curves.frame_count == 126 and result.fps == 30.0
    assert result.keys == curves.keys and "mouthClose" in result.keys
    assert curves.curve("jawOpen").max() > 0.2


@worker_code
def test_a_generate_job_passes_its_options(monkeypatch):
    """The head matte and the C2PA identity reach app.generate.generate as the job says (the worker ships in
    the same zip as the add-on, so it is never asked what its generate() can do)."""
    from talking_heads.app import generate as generate_module

    calls = []

    def recorded(person, track, out_dir, **options):
        calls.append(dict(person=person, **options))
        return ["o/frame_0000.png"]

    monkeypatch.setattr(generate_module, "generate", recorded)
    job = worker_jobs.GenerateJob(person="p", track="t", out_dir="o", alpha=True, c2pa_key="k.pem", c2pa_cert="c.pem")
    assert job.run(None).frames == ["o/frame_0000.png"]
    (call,) = calls
    assert call["alpha"] is True and call["c2pa_key"] == "k.pem" and call["c2pa_cert"] == "c.pem"
    worker_jobs.GenerateJob(person="p", track="t", out_dir="o").run(None)
    assert calls[-1]["alpha"] is False and calls[-1]["c2pa_key"] is None
