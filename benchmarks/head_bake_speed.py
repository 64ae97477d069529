"""UV frames per second: a frame baked into a head's UV map (core.head.bake), and baked and written with the
provenance every frame carries (export.sequence.SequenceWriter: watermark, XMP, text fields, C2PA), beside the
cost of each part on one core. Beyond the frames' own rendering: the frames here are ready-made.

    .venv/bin/python benchmarks/head_bake_speed.py [--frames 12] [--sizes 1024 2048 4096] [--workers N]

The fit is a Head from Photo-like one: the photo (1024 x 1024, scikit-image's astronaut) spread over the UV
map, texel for pixel scaled, with weight over a disk of 70 % of the map's side (38 % of its texels), as a face
region's share of a photo-layout map.
"""
from __future__ import annotations

import argparse
import tempfile
import time

import cv2
import numpy as np
from skimage import data

from talking_heads.core.head.bake import Baker
from talking_heads.core.head.fit import HeadFit
from talking_heads.export import provenance, sequence
from talking_heads.export.content_credentials import open_signer

PHOTO = 1024


def photo_layout_fit(size: int) -> HeadFit:
    r, c = np.mgrid[0:size, 0:size].astype(np.float32)
    scale = PHOTO / size
    pixels = np.dstack([(c + 0.5) * scale - 0.5, (r + 0.5) * scale - 0.5]).astype(np.float32)
    weight = (np.hypot(r - size / 2, c - size / 2) < 0.35 * size).astype(np.float32)
    return HeadFit(size, pixels, weight, np.arange(68), np.eye(3), np.zeros(3), 1000.0, (PHOTO, PHOTO))


def per_second(count: int, seconds: float) -> float:
    return count / seconds


def timed(function, repeat: int) -> float:
    function()                                          # warm caches (the watermark's DCT bases)
    start = time.perf_counter()
    for _ in range(repeat):
        function()
    return (time.perf_counter() - start) / repeat


def write_rate(bake: Baker, frames: list[np.ndarray], signer, watermark: bool, workers: int | None) -> float:
    with tempfile.TemporaryDirectory() as folder:
        start = time.perf_counter()
        with sequence.SequenceWriter(folder, name="head_", overwrite=True, signer=signer, workers=workers,
                                     watermark=watermark) as writer:
            for number, frame in enumerate(frames, 1):
                writer.write(number, bake(frame))
        return per_second(len(frames), time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=12)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1024, 2048, 4096])
    parser.add_argument("--workers", type=int, help="the writer's encoding threads (default: one per core)")
    args = parser.parse_args()
    photo = cv2.resize(data.astronaut(), (PHOTO, PHOTO), interpolation=cv2.INTER_CUBIC)
    frames = [np.roll(photo, k, axis=1) for k in range(args.frames)]
    signer, _ = open_signer(reference=photo.tobytes(), reference_hashed="pixels")
    print("| UV map | prepare fit (s) | bake (ms) | watermark (ms) | PNG encode (ms) | C2PA sign (ms) "
          "| bake /s | bake+write, no watermark /s | bake+write, full provenance /s |")
    print("|---|---|---|---|---|---|---|---|---|")
    for size in args.sizes:
        count = args.frames if size < 4096 else max(args.frames // 3, 2)
        start = time.perf_counter()
        bake = Baker(photo_layout_fit(size))
        prepare = time.perf_counter() - start
        uv = bake(photo)
        baking = timed(lambda: bake(photo), 5)
        marked = provenance.mark(uv)
        marking = timed(lambda: provenance.mark(uv), 2)
        encoded = sequence.encode_png(marked, None, provenance.metadata())
        encoding = timed(lambda: sequence.encode_png(marked, None, provenance.metadata()), 2)
        signing = timed(lambda: signer.sign(encoded, "image/png", title="head_0001.png"), 3)
        bare = write_rate(bake, frames[:count], signer, watermark=False, workers=args.workers)
        full = write_rate(bake, frames[:count], signer, watermark=True, workers=args.workers)
        print(f"| {size} | {prepare:.2f} | {baking * 1e3:.0f} | {marking * 1e3:.0f} | {encoding * 1e3:.0f} "
              f"| {signing * 1e3:.0f} | {1 / baking:.1f} | {bare:.1f} | {full:.1f} |", flush=True)


if __name__ == "__main__":
    main()
