"""Provenance: what XMP and Content Credentials (C2PA) add to the time of writing a PNG frame.

Three ways to write a frame: "today", the writer before issue 17 (watermark + PNG encoding with text chunks,
no XMP: `encode_png(..., with_xmp=False)`, then the atomic write); "+ XMP", `write_frame` as it is now (the
XMP chunk is part of every encoded PNG); "+ XMP + C2PA", `write_frame(..., signer=...)` (the manifest made in
memory by `content_credentials.Signer.sign`: local ES256 identity, no thumbnail). Measured at 512 x 512 and
1024 x 1024 (the astronaut, shifted a pixel per frame), on one thread and on a pool of one thread per core
(numpy's BLAS held to one thread); then `SequenceWriter` itself, with and without a signer, and one MP4.

The rule (issue 17): with C2PA on, writing a PNG frame stays within 1.5x today's time per frame; if it does
not, the policy is to sign the MP4 and the first and last frame only.

Prints the table and appends it, with the command, date, machine and load, to benchmarks/RESULTS.md.

Usage: python benchmarks/provenance_cost.py [--frames 40] [--runs 5] [--sizes 512,1024] [--no-record]
"""
from __future__ import annotations

import argparse
import datetime
import os
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from core.__main__ import project_package  # noqa: E402  (the project folder as `talking_heads`)

project_package()

from talking_heads.core.atomic import write_atomic  # noqa: E402
from talking_heads.export import content_credentials, provenance, xmp  # noqa: E402
from talking_heads.export.sequence import SequenceWriter, encode_png, write_frame  # noqa: E402

from benchmarks.report import append, describe  # noqa: E402

RULE = 1.5
MODES = ("today", "+ XMP", "+ XMP + C2PA")


def frames(side: int, count: int) -> list[np.ndarray]:
    import cv2
    from skimage import data

    base = cv2.resize(data.astronaut(), (side, side), interpolation=cv2.INTER_AREA)
    return [np.ascontiguousarray(np.roll(base, i, axis=1)) for i in range(count)]


def writer(mode: str, signer):
    def today(path: Path, frame: np.ndarray) -> None:
        write_atomic(path, encode_png(provenance.mark(frame), None, provenance.metadata(), with_xmp=False))

    def write(path: Path, frame: np.ndarray) -> None:
        write_frame(path, frame, overwrite=True, signer=signer if mode == "+ XMP + C2PA" else None)
    return today if mode == "today" else write


def per_frame_ms(write, images, folder: Path, workers: int) -> tuple[float, float]:
    """(wall, process CPU) ms per frame of one pass over all frames."""
    from threadpoolctl import threadpool_limits

    paths = [folder / f"frame_{i:04d}.png" for i in range(len(images))]
    with threadpool_limits(limits=1, user_api="blas"):
        start, cpu = time.perf_counter(), time.process_time()
        if workers == 1:
            for p, f in zip(paths, images):
                write(p, f)
        else:
            with ThreadPoolExecutor(workers) as pool:
                list(pool.map(write, paths, images))
        elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
    for p in paths:
        p.unlink()
    return elapsed / len(images) * 1000, cpu / len(images) * 1000


def interleaved(signer, images, folder: Path, workers: int, runs: int) -> dict[str, tuple[float, float]]:
    """Median (wall, CPU) ms per frame of each mode, the modes taking turns run by run so that a change in
    the machine's load falls on all of them alike."""
    times = {mode: [] for mode in MODES}
    for _ in range(runs):
        for mode in MODES:
            times[mode].append(per_frame_ms(writer(mode, signer), images, folder, workers))
    return {mode: (statistics.median(w for w, _ in t), statistics.median(c for _, c in t))
            for mode, t in times.items()}


def sequence_writer_ms(signer, images, folder: Path, workers: int, runs: int) -> dict[str, float]:
    """Median wall ms per frame of `SequenceWriter` writing all frames, without and with the signer, the
    two taking turns."""
    times = {"unsigned": [], "signed": []}
    for _ in range(runs):
        for mode in times:
            start = time.perf_counter()
            with SequenceWriter(folder / "seq", workers=workers, overwrite=True,
                                signer=signer if mode == "signed" else None) as out:
                for frame in images:
                    out.append(frame)
            times[mode].append((time.perf_counter() - start) / len(images) * 1000)
    return {mode: statistics.median(t) for mode, t in times.items()}


def sign_stage_ms(signer, images) -> tuple[float, float, int]:
    """One thread: ms per frame of embed_png (into a PNG without XMP) and of sign alone (its IDAT merge
    included), and the bytes the manifest adds."""
    encoded = [encode_png(provenance.mark(f), None, provenance.metadata(), with_xmp=False) for f in images]
    start = time.perf_counter()
    with_xmp = [xmp.embed_png(d) for d in encoded]
    embed = (time.perf_counter() - start) / len(images) * 1000
    start = time.perf_counter()
    signed = [signer.sign(d, "image/png", title="frame.png") for d in with_xmp]
    sign = (time.perf_counter() - start) / len(images) * 1000
    merged = [content_credentials.one_idat(d) for d in with_xmp]         # what sign() hashes and extends
    return embed, sign, int(np.mean([len(s) - len(d) for s, d in zip(signed, merged)]))


def mp4_cost(signer, folder: Path, count: int = 100) -> tuple[float, float, int]:
    """Seconds to encode a `count`-frame 512 x 512 MP4 (XMP included), and to sign it; its size in KB."""
    from talking_heads.export.video import write_video

    images = frames(512, count)
    start = time.perf_counter()
    path = write_video(folder / "clip.mp4", images, fps=25)
    encode = time.perf_counter() - start
    start = time.perf_counter()
    signer.sign_file(path)
    sign = time.perf_counter() - start
    assert content_credentials.read(path)["state"] == "valid"
    return encode, sign, path.stat().st_size // 1024


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--frames", type=int, default=40, help="frames per measurement (default 40)")
    parser.add_argument("--runs", type=int, default=5, help="interleaved runs per mode (default 5)")
    parser.add_argument("--sizes", default="512,1024", help="frame sides (default 512,1024)")
    parser.add_argument("--no-record", action="store_true", help="do not append to benchmarks/RESULTS.md")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    workers = os.cpu_count() or 1

    lines = []
    say = lambda s="": (print(s, flush=True), lines.append(s))   # noqa: E731
    load_before = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        os.environ.setdefault(content_credentials.FOLDER_ENV, str(folder / "c2pa"))   # a throw-away identity
        signer, status = content_credentials.open_signer(reference=b"a reference photo")
        if signer is None:
            print(status.message)
            return 1
        results, stages, writers = {}, {}, {}
        for side in sizes:
            images = frames(side, args.frames)
            for threads in sorted({1, workers}):
                for mode, ms in interleaved(signer, images, folder, threads, args.runs).items():
                    results[side, threads, mode] = ms
            writers[side] = sequence_writer_ms(signer, images, folder, workers, args.runs)
            stages[side] = sign_stage_ms(signer, images[:max(10, args.frames // 2)])
        encode_s, sign_s, mp4_kb = mp4_cost(signer, folder)
    load_after = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")

    import c2pa

    say(f"## Provenance: the cost of XMP and Content Credentials per PNG frame ({datetime.date(2026, 12, 1)})")
    say()
    say(f"Command: `python benchmarks/provenance_cost.py --frames {args.frames} --runs {args.runs} "
        f"--sizes {args.sizes}`  ")
    say(f"Machine: {describe()}; c2pa-python {c2pa.__version__} (c2pa-rs {c2pa.sdk_version()}); "
        f"load average {load_before:.1f} before, {load_after:.1f} after.  ")
    say("Each frame: watermark + PNG encoding, [XMP chunk], [C2PA manifest: local ES256 identity, no thumbnail, "
        "the reference as a hash-only ingredient], atomic write (fsync + rename). *today*: the writer before "
        "issue 17 (no XMP); *+ XMP*: `write_frame` now; *+ XMP + C2PA*: `write_frame(signer=...)`. Wall and "
        f"process CPU time per frame, medians of {args.runs} runs, the three modes taking turns.")
    say()
    say("| size | threads | today ms/frame (CPU) | + XMP | + XMP + C2PA | C2PA / today, wall | CPU |")
    say("|---|---|---|---|---|---|---|")
    verdicts = {}
    for side in sizes:
        for threads in sorted({1, workers}):
            (today, today_cpu), (with_xmp, xmp_cpu), (signed, signed_cpu) = (results[side, threads, m] for m in MODES)
            ratio = signed / today
            verdicts[side, threads] = ratio
            say(f"| {side} | {threads} | {today:.2f} ({today_cpu:.1f}) | {with_xmp:.2f} ({xmp_cpu:.1f}) | "
                f"{signed:.2f} ({signed_cpu:.1f}) | {'**' if ratio > RULE else ''}{ratio:.2f}x"
                f"{'**' if ratio > RULE else ''} | {signed_cpu / today_cpu:.2f}x |")
    say()
    say("| size | XMP embed ms/frame | C2PA sign ms/frame (one thread) | sign / today (one thread) | manifest bytes |")
    say("|---|---|---|---|---|")
    for side in sizes:
        embed, sign, extra = stages[side]
        today = results[side, 1, "today"][0]
        say(f"| {side} | {embed:.3f} | {sign:.2f} | {(today + embed + sign) / today:.2f}x | {extra} |")
    say()
    say(f"`SequenceWriter` ({workers} threads), ms per frame, medians of {args.runs} runs: " + "; ".join(
        f"{side} px {writers[side]['unsigned']:.2f} unsigned, {writers[side]['signed']:.2f} signed "
        f"({writers[side]['signed'] / writers[side]['unsigned']:.2f}x)" for side in sizes) + ".")
    say()
    say(f"MP4, 100 frames of 512 x 512: encoding (XMP included) {encode_s:.2f} s, signing {sign_s * 1000:.0f} ms "
        f"({mp4_kb} KB).")
    say()
    worst = max(verdicts.values())
    if worst <= RULE:
        say(f"**Rule met** (<= {RULE}x in every case, worst {worst:.2f}x): sign every PNG frame.")
    else:
        failing = ", ".join(f"{s} px / {t} thread{'s' if t > 1 else ''} ({r:.2f}x)"
                            for (s, t), r in verdicts.items() if r > RULE)
        say(f"**Rule not met** for {failing}: sign the MP4 and the first and last frame only; every frame "
            f"keeps XMP and the watermark.")
    if not args.no_record:
        append(lines)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
