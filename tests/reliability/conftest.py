"""Shared pieces of the reliability tests: the command line in a subprocess, a tiny person and track."""
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]


def environment() -> dict:
    return dict(os.environ, OMP_NUM_THREADS="2", PYTHONPATH=str(ROOT), PYTHONWARNINGS="default")


def cli(*args, **popen) -> subprocess.CompletedProcess:
    """`python -m core ARGS` in a fresh process, as an artist would run it."""
    return subprocess.run([sys.executable, "-m", "core", *map(str, args)], cwd=ROOT, env=environment(),
                          capture_output=True, text=True, timeout=120, **popen)


def assert_one_line_error(done: subprocess.CompletedProcess, *words: str) -> str:
    """Exit status 2, stderr is one line starting with `error:` holding `words`, and no traceback."""
    err = done.stderr.strip()
    assert done.returncode == 2, (done.returncode, err)
    assert "Traceback" not in done.stderr and "Traceback" not in done.stdout, err
    assert err.startswith("error:") and "\n" not in err, err
    for word in words:
        assert word in err, (word, err)
    return err


def tree(folder: Path) -> dict[str, bytes]:
    """Every file under `folder` with its bytes: compared before and after to show nothing was written."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="session")
def face_points(astronaut) -> np.ndarray:
    from talking_heads.core.landmarks.detect import detect_landmarks

    return detect_landmarks(astronaut, backend="dlib").points


@pytest.fixture(scope="session")
def person_file(tmp_path_factory, astronaut, face_points) -> Path:
    """An untrained person model at 128 pixels (steps=0): renders fast, is a real person file."""
    from talking_heads.core.training.finetune import fit_person

    path = tmp_path_factory.mktemp("person") / "person.safetensors"
    fit_person([astronaut], [face_points], steps=0, device="cpu", size=128).save(path)
    return path


def make_track(points: np.ndarray, count: int, size=(512, 512)):
    from talking_heads.core.track.track_file import Track

    moving = np.stack([points + [0.5 * i, 0] for i in range(count)]).astype(np.float32)
    return Track(points=moving, frames=np.arange(1, count + 1), filled=np.zeros(count, bool), fps=24.0,
                 image_size=size)


@pytest.fixture(scope="session")
def track_file(tmp_path_factory, face_points) -> Path:
    path = tmp_path_factory.mktemp("track") / "track.json"
    make_track(face_points, 6).save(path)
    return path


def cli_all(calls: list[tuple]) -> list[subprocess.CompletedProcess]:
    """Several `cli(*args)` runs, two at a time (most of each is Python importing torch)."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(2) as pool:
        return list(pool.map(lambda args: cli(*args), calls))
