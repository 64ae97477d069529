"""Stopping work half-way loses nothing: a killed or cancelled generation leaves only whole frames and
resumes from the first missing one; a stopped fine-tuning leaves the earlier person file as it was."""
import functools
import json
import random
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from talking_heads.core.errors import Cancelled
from talking_heads.core.images import load_image
from talking_heads.app.generate import generate

from .conftest import ROOT, cli, environment, make_track


def _frames(out):
    return sorted(p.name for p in out.glob("frame_*.png"))


def _whole(out, names):
    for name in names:
        assert load_image(out / name).shape == (512, 512, 3), name


def test_killed_generation_keeps_whole_frames_and_resumes(tmp_path, person_file, face_points):
    track = tmp_path / "track.json"
    make_track(face_points, 24).save(track)                  # three batches of eight
    out = tmp_path / "frames"
    args = [sys.executable, "-m", "core", "generate", str(person_file), str(track), "--out", str(out),
            "--device", "cpu"]
    process = subprocess.Popen(args, cwd=ROOT, env=environment(), stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while not _frames(out) and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.01)
        process.send_signal(signal.SIGKILL)
    finally:
        process.wait(timeout=30)
    assert process.returncode == -signal.SIGKILL, "generation ended before it could be killed"
    kept = _frames(out)
    assert 0 < len(kept) < 24
    _whole(out, kept)                                        # nothing half-written under a final name
    stamps = {name: (out / name).stat().st_mtime_ns for name in kept}

    done = cli("generate", person_file, track, "--out", out, "--device", "cpu")
    assert done.returncode == 0, done.stderr
    assert _frames(out) == [f"frame_{n:04d}.png" for n in range(1, 25)]
    assert {name: (out / name).stat().st_mtime_ns for name in kept} == stamps   # resumed, not redone
    _whole(out, _frames(out))


def test_cancelled_generation_keeps_its_frames_and_resumes(tmp_path, person_file, track_file):
    out = tmp_path / "frames"

    def cancel_after_the_first_batch(done, total, message):
        raise Cancelled

    with pytest.raises(Cancelled):
        generate(str(person_file), str(track_file), str(out), device="cpu", batch=2,
                 progress=cancel_after_the_first_batch)
    assert _frames(out) == ["frame_0001.png", "frame_0002.png"] and not list(out.glob(".*.tmp"))
    _whole(out, _frames(out))
    stamps = {name: (out / name).stat().st_mtime_ns for name in _frames(out)}
    generate(str(person_file), str(track_file), str(out), device="cpu")
    assert len(_frames(out)) == 6
    assert {name: (out / name).stat().st_mtime_ns for name in stamps} == stamps


def test_cancelled_finetuning_leaves_the_earlier_person_file(tmp_path, astronaut, person_file, monkeypatch):
    from PIL import Image

    from talking_heads.core.landmarks import detect
    from talking_heads.core.training.finetune import finetune

    # dlib directly: FAN's weights cannot be downloaded here, and trying costs time
    monkeypatch.setattr(detect, "detect_landmarks", functools.partial(detect.detect_landmarks, backend="dlib"))
    photo, out = tmp_path / "photo.png", tmp_path / "person.safetensors"
    Image.fromarray(astronaut).save(photo)
    out.write_bytes(person_file.read_bytes())
    before = out.read_bytes()

    def cancel_at_the_second_step(done, total, message):
        if done >= 2:
            raise Cancelled

    with pytest.raises(Cancelled):
        finetune([str(photo)], str(out), device="cpu", steps=5, progress=cancel_at_the_second_step)
    assert out.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["person.safetensors", "photo.png"]


def test_killed_meta_training_leaves_a_resumable_checkpoint(tmp_path, astronaut):
    """SIGKILL at a random moment after the first checkpoint (one is written every step, so the kill often
    lands in a save): `latest` names a whole step, and the same command resumes after it."""
    import cv2

    from talking_heads.core.training.config import TrainConfig
    from talking_heads.core.training.meta import load_checkpoint, train

    face = astronaut[40:296, 100:356]
    for k in range(2):
        writer = cv2.VideoWriter(str(tmp_path / f"clip{k}.avi"), cv2.VideoWriter_fourcc(*"MJPG"), 25, (256, 256))
        for i in range(4):
            shift = cv2.warpAffine(face, np.float32([[1, 0, 2 * i - 3 * k], [0, 1, i]]), (256, 256),
                                   borderMode=cv2.BORDER_REPLICATE)
            writer.write(cv2.cvtColor(shift, cv2.COLOR_RGB2BGR))
        writer.release()
    config = tmp_path / "tiny.json"
    config.write_text(json.dumps({"size": 64, "checkpoint_every": 1, "log_every": 1, "bf16": False}))
    out = tmp_path / "prior"
    args = ["meta-train", tmp_path, "--out", out, "--steps", 1000, "--batch", 2, "--shots", 2, "--device", "cpu",
            "--config", config]
    process = subprocess.Popen([sys.executable, "-m", "core", *map(str, args)], cwd=ROOT, env=environment(),
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while not (out / "latest").exists() and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(random.uniform(0.0, 0.5))
        process.send_signal(signal.SIGKILL)
    finally:
        process.wait(timeout=30)
    assert process.returncode == -signal.SIGKILL, "meta-training ended before it could be killed"
    _, header = load_checkpoint(out)                         # whole, whatever the moment of the kill
    reached = header["step"]
    cfg = TrainConfig(size=64, batch=2, shots=2, steps=reached + 1, checkpoint_every=1, log_every=1, bf16=False)
    train(str(tmp_path), str(out), cfg, device="cpu")       # what the same command does: resume
    assert load_checkpoint(out)[1]["step"] == reached + 1
