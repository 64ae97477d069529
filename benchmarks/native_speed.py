"""Frames at the photo's own resolution: how fast a 1024 x 1024 photo's frames are rendered (and written).

  python benchmarks/native_speed.py --device cpu     # onnxruntime's CPU provider: render + write PNGs
  python benchmarks/native_speed.py --device cuda    # torch on the GPU: render only, over batch sizes

The photo is the face of scikit-image's astronaut (a 320-pixel square of it) scaled to 1024 x 1024, so
that the face box is about 600 pixels a side, as in a portrait an artist would give; the
person model is the shipped prior with no fine-tuning (speed does not depend on the weights). On the CPU
the figure is the whole `generate` path (ONNX export of the native renderer, paste-back, PNG writing with
the provenance marks, two threads); on the GPU it is rendering alone (CUDA events, median of 10 after 3
warm-ups). Prints a table and appends it to RESULTS.md.
"""
from __future__ import annotations

import argparse
import datetime
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from core.__main__ import project_package  # noqa: E402  (the project folder as `talking_heads`)

project_package()

from benchmarks.gpu import cuda_time  # noqa: E402
from benchmarks.report import append, describe  # noqa: E402

SIDE = 1024
CUT = (100, 0, 320)     # x, y, side of the astronaut's face square in the 512 x 512 original


def photo_and_points() -> tuple[np.ndarray, np.ndarray]:
    """The astronaut's face at 1024 and its landmarks (the original's, detected, or read from
    .device_data/astronaut_points.json made beforehand with `python -m core detect`, on GPU machines
    without dlib)."""
    import cv2
    from skimage import data

    x, y, side = CUT
    original = data.astronaut()
    image = cv2.resize(original[y:y + side, x:x + side], (SIDE, SIDE), interpolation=cv2.INTER_CUBIC)
    saved = ROOT / ".device_data" / "astronaut_points.json"
    if saved.exists():
        points = np.asarray(json.loads(saved.read_text())["points"], np.float32)
    else:
        from talking_heads.core.landmarks.detect import detect_landmarks

        points = detect_landmarks(original, backend="dlib").points
    return image, ((points - [x, y]) * (SIDE / side)).astype(np.float32)


def track(points: np.ndarray, n: int, path: Path) -> None:
    rng = np.random.default_rng(0)
    frames = [{"frame": k, "filled": False, "points": (points + rng.normal(0, 3, points.shape)).tolist()}
              for k in range(n)]
    path.write_text(json.dumps({"format": "neural-talking-heads/landmark-track", "version": 1, "space": "pixels",
                                "image_size": [SIDE, SIDE], "fps": 25.0, "stride": 1, "source": None, "dims": 2,
                                "frames": frames}))


def cpu(say, frames: int) -> None:
    from talking_heads.app.generate import generate
    from talking_heads.core.training.finetune import fit_person
    from talking_heads.export.onnx_model import export_person

    torch.set_num_threads(2)
    image, points = photo_and_points()
    tmp = Path(tempfile.mkdtemp())
    person = fit_person([image], [points], steps=0, device="cpu")
    person.save(tmp / "p.safetensors")
    onnx = export_person(tmp / "p.safetensors", tmp / "p.onnx", overwrite=True)
    track(points, frames, tmp / "t.json")
    say(f"Face box {person.native_box[2]} px of a {SIDE} x {SIDE} photo; {frames} frames.")
    say()
    say("| backend | rendered and written, frames / s |")
    say("| --- | --- |")
    for backend in ("onnx", "torch"):
        out = tmp / backend
        generate(str(tmp / "p.safetensors"), str(tmp / "t.json"), str(out / "warm"), backend=backend,
                 onnx_path=str(onnx), device="cpu", batch=2)
        started = time.perf_counter()
        generate(str(tmp / "p.safetensors"), str(tmp / "t.json"), str(out / "timed"), backend=backend,
                 onnx_path=str(onnx), device="cpu", batch=2)
        say(f"| {backend} (CPU) | {frames / (time.perf_counter() - started):.2f} |")


def gpu(say, batches: list[int]) -> None:
    from talking_heads.core.training.finetune import fit_person

    image, points = photo_and_points()
    person = fit_person([image], [points], steps=0, device="cuda")
    module = person.native_renderer().cuda().eval()
    say(f"Face box {person.native_box[2]} px of a {SIDE} x {SIDE} photo, {torch.cuda.get_device_name()}.")
    say()
    say("| precision | batch | ms / batch | frames / s |")
    say("| --- | --- | --- | --- |")
    rng = np.random.default_rng(0)
    for dtype in (torch.float32, torch.bfloat16):
        for batch in batches:
            x = torch.tensor(points[None] + rng.normal(0, 3, (batch, 68, 2)), dtype=torch.float32, device="cuda")

            def step():
                with torch.no_grad(), torch.autocast("cuda", dtype=torch.bfloat16, enabled=dtype == torch.bfloat16):
                    module(x)
            ms = cuda_time(step, repeat=10, warmup=3)
            say(f"| {'bf16 autocast' if dtype == torch.bfloat16 else 'fp32'} | {batch} | {ms:.2f} | "
                f"{batch / ms * 1000:.0f} |")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    ap.add_argument("--frames", type=int, default=24, help="frames per timed run (cpu)")
    ap.add_argument("--batches", default="1,8,32,64", help="batch sizes (cuda)")
    ap.add_argument("--out", default=str(Path(__file__).with_name("RESULTS.md")))
    a = ap.parse_args()
    lines = []
    say = lambda s="": (print(s, flush=True), lines.append(s))
    machine = describe() if a.device == "cpu" else "GPU"
    say(f"## Frames at the photo's own resolution, {a.device.upper()} ({datetime.date.today()}, {machine})")
    say()
    say(f"Command: `python benchmarks/native_speed.py --device {a.device}`.")
    say()
    if a.device == "cpu":
        cpu(say, a.frames)
    else:
        gpu(say, [int(b) for b in a.batches.split(",")])
    say()
    append(lines, a.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
