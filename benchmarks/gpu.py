"""The whole GPU benchmark set in one run (one device call): prints tables, appends them to RESULTS.md.

  python benchmarks/gpu.py [--sizes 256,512] [--batches 1,16,64,256] [--modes M,...] [--no-finetune]
                           [--out benchmarks/RESULTS.md]

Measures, on the current CUDA device: the machine's own matrix rate and memory bandwidth (the physical
limits); generation throughput of the person renderer at 256 and 512 for eager fp32, eager bf16,
torch.compile bf16 and CUDA graphs of eager bf16 over batch sizes; one-frame latency (the live preview); T=1
`fast` fine-tuning time; the model's FLOPs and bytes per frame, to say how far each figure is from the
limits; and a torch.profiler table of where the GPU time goes.
Timing: median of repeated runs after warm-up, CUDA events.
"""
from __future__ import annotations

import argparse
import datetime
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from core.__main__ import project_package  # noqa: E402  (the project folder as `talking_heads`)

project_package()

from benchmarks.report import append  # noqa: E402


def cuda_time(fn, repeat=20, warmup=5) -> float:
    """Median milliseconds of fn() over `repeat` runs, timed with CUDA events."""
    for _ in range(warmup):
        fn()
    torch.cuda.synchronize()
    times = []
    for _ in range(repeat):
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        fn()
        end.record()
        torch.cuda.synchronize()
        times.append(start.elapsed_time(end))
    return statistics.median(times)


def machine_limits() -> dict:
    a = torch.randn(8192, 8192, device="cuda", dtype=torch.bfloat16)
    ms = cuda_time(lambda: a @ a, repeat=10)
    tflops = 2 * 8192 ** 3 / ms / 1e9
    x = torch.empty(2 ** 30, device="cuda", dtype=torch.uint8)
    y = torch.empty_like(x)
    ms_copy = cuda_time(lambda: y.copy_(x), repeat=10)
    return {"tflops_bf16": tflops, "bandwidth_tbs": 2 * x.numel() / ms_copy / 1e9}


def astronaut() -> tuple[np.ndarray, np.ndarray]:
    """scikit-image's astronaut and its landmarks (detected here, or read from a file made beforehand with
    `python -m core detect astronaut.png --json`, for GPU machines without dlib)."""
    import json

    from skimage import data

    image = data.astronaut()
    saved = Path(__file__).resolve().parents[1] / ".device_data" / "astronaut_points.json"
    if saved.exists():
        return image, np.asarray(json.loads(saved.read_text())["points"], np.float32)
    from talking_heads.core.landmarks.detect import detect_landmarks

    return image, detect_landmarks(image, backend="dlib").points


def synthetic_person(size: int):
    """A person renderer on the shipped prior's generator with the astronaut as reference."""
    from talking_heads.core.training.finetune import fit_person

    image, points = astronaut()
    return fit_person([image], [points], steps=0, device="cuda", size=size), points


def drivers(points: np.ndarray, n: int, seed=0) -> torch.Tensor:
    rng = np.random.default_rng(seed)
    pts = points[None] + rng.normal(0, 1.5, (n, 68, 2))
    return torch.tensor(pts, dtype=torch.float32, device="cuda")


def flops_per_frame(module, x) -> float:
    from torch.utils.flop_counter import FlopCounterMode

    with FlopCounterMode(display=False) as counter, torch.no_grad():
        module(x[:1])
    return counter.get_total_flops()


def bytes_per_frame(module, x) -> float:
    """Memory traffic of one frame if every layer reads its input and writes its output once, in bf16 (what
    a layer-by-layer execution moves; fusion lowers it). Weights are read once per batch, so not counted."""
    total = 0

    def hook(layer, inputs, output):
        nonlocal total
        tensors = [t for t in (*inputs, output) if torch.is_tensor(t)]
        total += sum(t.numel() for t in tensors) * 2

    leaves = [m for m in module.modules() if not list(m.children())]
    handles = [m.register_forward_hook(hook) for m in leaves]
    with torch.no_grad():
        module(x[:1])
    for h in handles:
        h.remove()
    return total


def profile_table(fn, rows: int = 8) -> list[str]:
    """The operations taking most GPU time in one call of fn, from torch.profiler."""
    from torch.profiler import ProfilerActivity, profile

    with torch.no_grad():
        fn()
        torch.cuda.synchronize()
        with profile(activities=[ProfilerActivity.CUDA]) as prof:
            fn()
            torch.cuda.synchronize()
    events = sorted(prof.key_averages(), key=lambda e: e.device_time_total, reverse=True)
    total = sum(e.self_device_time_total for e in events) or 1
    out = ["| operation | GPU ms | share | calls |", "| --- | --- | --- | --- |"]
    for e in [e for e in events if e.self_device_time_total > 0][:rows]:
        out.append(f"| `{e.key[:60]}` | {e.self_device_time_total / 1000:.2f} | "
                   f"{100 * e.self_device_time_total / total:.0f}% | {e.count} |")
    return out


def graphed(fn, x):
    """Capture fn(x) in a CUDA graph (warm-up on a side stream, as the CUDA graph docs ask); returns replay."""
    stream = torch.cuda.Stream()
    stream.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(stream), torch.no_grad():
        for _ in range(3):
            fn(x)
    torch.cuda.current_stream().wait_stream(stream)
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph), torch.no_grad():
        fn(x)
    return graph.replay


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=str(Path(__file__).with_name("RESULTS.md")))
    ap.add_argument("--sizes", default="256,512")
    ap.add_argument("--batches", default="1,16,64,256")
    ap.add_argument("--modes", default="eager fp32,eager bf16,compile bf16,CUDA graph eager bf16",
                    help="comma-separated modes; also 'compile reduce-overhead bf16' (torch.compile's own CUDA "
                         "graphs; each compiled mode costs a minute or more of compilation per shape)")
    ap.add_argument("--no-finetune", action="store_true", help="skip the fine-tuning timing")
    a = ap.parse_args()
    torch.backends.cudnn.benchmark = True
    torch.backends.cuda.matmul.allow_tf32 = True
    torch.backends.cudnn.allow_tf32 = True
    lines = []
    say = lambda s="": (print(s, flush=True), lines.append(s))
    lim = machine_limits()
    name = torch.cuda.get_device_name()
    say(f"## GPU benchmarks ({datetime.date.today()}, {name}, torch {torch.__version__})")
    say()
    say(f"Command: `python benchmarks/gpu.py`. Measured limits: bf16 matrix product {lim['tflops_bf16']:.0f} TFLOP/s, "
        f"device copy {lim['bandwidth_tbs']:.2f} TB/s (read + write).")
    say()
    say("| size | mode | batch | ms / batch | frames / s | % of matrix rate | % of bandwidth |")
    say("| --- | --- | --- | --- | --- | --- | --- |")
    notes = []
    for size in map(int, a.sizes.split(",")):
        person, points = synthetic_person(size)
        module = person.renderer().cuda().eval()
        flops = flops_per_frame(module, drivers(points, 1))
        traffic = bytes_per_frame(module, drivers(points, 1))

        def bf16(x):
            with torch.autocast("cuda", dtype=torch.bfloat16):
                return module(x)
        compiled = torch.compile(module)

        def comp(x):
            with torch.autocast("cuda", dtype=torch.bfloat16):
                return compiled(x)
        graph_compiled = torch.compile(module, mode="reduce-overhead")   # torch.compile's own CUDA graphs

        def comp_graph(x):
            with torch.autocast("cuda", dtype=torch.bfloat16):
                return graph_compiled(x)
        modes = {"eager fp32": lambda x: module(x), "eager bf16": bf16, "compile bf16": comp,
                 "CUDA graph eager bf16": "graph", "compile reduce-overhead bf16": comp_graph}
        modes = {k: v for k, v in modes.items() if k in a.modes.split(",")}
        for mode, fn in modes.items():
            for batch in map(int, a.batches.split(",")):
                x = drivers(points, batch)
                try:
                    with torch.no_grad():
                        run = graphed(bf16, x) if fn == "graph" else (lambda: fn(x))
                        ms = cuda_time(run, repeat=10 if batch > 16 else 20)
                except Exception as e:  # report, keep measuring the rest
                    say(f"| {size} | {mode} | {batch} | failed: {str(e).splitlines()[0][:60]} | | | |")
                    continue
                fps = batch / ms * 1000
                pct = 100 * flops * fps / (lim["tflops_bf16"] * 1e12)
                bw = 100 * traffic * fps / (lim["bandwidth_tbs"] * 1e12)
                say(f"| {size} | {mode} | {batch} | {ms:.2f} | {fps:.0f} | {pct:.1f} | {bw:.0f} |")
        weights = sum(p.numel() for p in module.parameters()) * 2
        notes.append(f"Model at {size}: {flops / 1e9:.2f} GFLOP and {traffic / 1e6:.0f} MB of layer-by-layer "
                     f"traffic per frame (bf16); weights {weights / 1e6:.1f} MB in bf16. Arithmetic intensity "
                     f"{flops / traffic:.0f} FLOP/byte; the machine's ridge point is "
                     f"{lim['tflops_bf16'] / lim['bandwidth_tbs']:.0f} FLOP/byte.")
        if size == 256:
            notes.append("")
            notes.append(f"Profile (torch.profiler), eager bf16, batch 64, {size}: where the GPU time goes.")
            notes.append("")
            notes.extend(profile_table(lambda: bf16(drivers(points, 64))))
        notes.append("")
    say()
    for line in notes:
        say(line)
    if a.no_finetune:
        append(lines, a.out)
        return 0
    # fine-tuning, T=1, the default preset, wall clock including the prior's loading
    from talking_heads.core.presets import DEFAULT_PRESET
    from talking_heads.core.training.finetune import fit_person

    image, points = astronaut()
    fit_person([image], [points], device="cuda", steps=2)   # warm-up: cuDNN autotuning
    torch.cuda.synchronize()
    t = time.time()
    fit_person([image], [points], device="cuda")
    torch.cuda.synchronize()
    say(f"T=1 fine-tuning, `{DEFAULT_PRESET.name}` preset: {time.time() - t:.2f} s wall clock (target <= 30 s).")
    say(f"Peak GPU memory over the run: {torch.cuda.max_memory_allocated() / 2**30:.1f} GiB.")
    say()
    append(lines, a.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
