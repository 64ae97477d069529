"""CPU benchmarks of the stages an artist waits for, on this machine: prints a table, appends to RESULTS.md.

  python benchmarks/cpu.py [--demo]

Generation throughput of the person model at 256 and 512 (torch eager and onnxruntime's CPU provider,
over batch sizes), one-frame latency (the live preview path: onnxruntime, batch 1), T=1 `fast`
fine-tuning, and with --demo the peak memory of `python -m core demo`. Medians after warm-up.
"""
from __future__ import annotations

import argparse
import datetime
import os
import resource
import statistics
import subprocess
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

from benchmarks.report import append, describe  # noqa: E402


def wall(fn, repeat=5, warmup=1) -> float:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times) * 1000


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=str(Path(__file__).with_name("RESULTS.md")))
    ap.add_argument("--demo", action="store_true", help="also measure `make demo`'s peak memory (4 minutes)")
    a = ap.parse_args()
    torch.set_num_threads(os.cpu_count() or 2)
    from skimage import data

    from talking_heads.core.landmarks.detect import detect_landmarks
    from talking_heads.core.presets import FAST
    from talking_heads.core.training.finetune import fit_person
    from talking_heads.export.onnx_model import OnnxRenderer, export_person

    lines = []
    say = lambda s="": (print(s, flush=True), lines.append(s))
    image = data.astronaut()
    points = detect_landmarks(image, backend="dlib").points
    rng = np.random.default_rng(0)
    say(f"## CPU benchmarks ({datetime.date.today()}, {describe()}, torch {torch.__version__})")
    say()
    say("Command: `python benchmarks/cpu.py" + (" --demo" if a.demo else "") + "`. Medians of 5 runs after a warm-up.")
    say()
    say("| size | backend | batch | ms / batch | frames / s |")
    say("| --- | --- | --- | --- | --- |")
    tmp = Path(tempfile.mkdtemp())
    latency = {}
    for size in (256, 512):
        person = fit_person([image], [points], steps=0, device="cpu", size=size)
        person.save(tmp / f"p{size}.safetensors")
        onnx_path = export_person(tmp / f"p{size}.safetensors", tmp / f"p{size}.onnx", overwrite=True)
        ort = OnnxRenderer(onnx_path, device="cpu")
        module = person.renderer()
        for batch in (1, 4, 8):
            x = (points[None] + rng.normal(0, 1.5, (batch, 68, 2))).astype(np.float32)
            with torch.no_grad():
                ms_torch = wall(lambda: module(torch.from_numpy(x)))
            ms_ort = wall(lambda: ort(x))
            say(f"| {size} | torch eager | {batch} | {ms_torch:.1f} | {batch / ms_torch * 1000:.1f} |")
            say(f"| {size} | onnxruntime | {batch} | {ms_ort:.1f} | {batch / ms_ort * 1000:.1f} |")
            if batch == 1:
                latency[size] = ms_ort
    say()
    say(f"One-frame latency (live preview: onnxruntime, batch 1): {latency[256]:.0f} ms at 256, "
        f"{latency[512]:.0f} ms at 512 (target <= 100 ms).")
    t = time.time()
    fit_person([image], [points], preset=FAST, device="cpu")
    say(f"T=1 fine-tuning, `{FAST.name}` preset: {time.time() - t:.1f} s (target <= 5 min).")
    if a.demo:
        t = time.time()
        subprocess.run([sys.executable, "-m", "core", "demo", "--out", str(tmp / "demo")], cwd=ROOT, check=True,
                       stdout=subprocess.DEVNULL)
        peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 2 ** 20
        say(f"`python -m core demo`: {time.time() - t:.0f} s, peak memory of its largest process {peak:.2f} GiB "
            f"(target <= 4 GB).")
    say()
    append(lines, a.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
