"""Export: how fast frames are written, and how the synthetic-image watermark scores.

Part 1, speed: 256 x 256 frames (crops of scikit-image's astronaut) written through
`export.sequence.SequenceWriter` as 8-bit PNG with 1 and 2 encoding threads, with and without the
watermark, signed with Content Credentials (C2PA), and as 16-bit PNG and EXR; wall time and process CPU
time per frame, file size. Then the stages of one PNG frame on one thread: watermark, PNG encoding, write +
rename. Target: <= 3 ms per PNG frame with the thread pool on the 2-core CI machine.

Part 2, watermark: the detection score of unmarked images (scikit-image photos, random crops and rescales of
them, JPEG copies, uniform / Gaussian / blurred noise) against the threshold; and for marked 256 x 256
frames, the PSNR and the score after JPEG q75, a 0.5x resize, both, and H.264.

Prints both tables and appends them, with the command, date, machine and load, to benchmarks/RESULTS.md.

Usage: python benchmarks/export_speed.py [--frames 200] [--parts speed,watermark] [--no-record]
"""
from __future__ import annotations

import argparse
import datetime
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from core.__main__ import project_package  # noqa: E402  (the project folder as `talking_heads`)

project_package()

from talking_heads.core.atomic import write_atomic  # noqa: E402
from talking_heads.core.metrics import psnr  # noqa: E402
from talking_heads.export import provenance  # noqa: E402
from talking_heads.export.content_credentials import open_signer  # noqa: E402
from talking_heads.export.sequence import SequenceWriter, encode_png  # noqa: E402

PHOTOS = ["astronaut", "camera", "chelsea", "coffee", "coins", "rocket", "immunohistochemistry", "moon", "clock",
          "hubble_deep_field", "retina", "brick", "grass", "gravel", "page", "text", "colorwheel", "cell"]


from benchmarks.report import describe as machine  # noqa: E402


def load() -> str:
    try:
        return "%.1f" % os.getloadavg()[0]
    except OSError:
        return "?"


def photos() -> dict[str, np.ndarray]:
    from skimage import data

    out = {}
    for name in PHOTOS:
        image = np.asarray(getattr(data, name)())
        out[name] = np.repeat(image[..., None], 3, axis=2) if image.ndim == 2 else image[..., :3]
    return out


def frames_256(count: int) -> list[np.ndarray]:
    """Distinct 256 x 256 frames: a window sliding over the astronaut, so PNG cannot reuse anything."""
    from skimage import data

    image = data.astronaut()
    return [np.ascontiguousarray(image[(3 * k) % 256:(3 * k) % 256 + 256, (5 * k) % 256:(5 * k) % 256 + 256])
            for k in range(count)]


# --- part 1: speed --------------------------------------------------------------------------------------

def time_writer(frames, **options) -> tuple[float, float, float]:
    """(wall ms / frame, CPU ms / frame, KB / frame) for writing `frames` through a SequenceWriter."""
    with tempfile.TemporaryDirectory(dir=ROOT) as folder:
        wall, cpu = time.perf_counter(), time.process_time()
        with SequenceWriter(folder, **options) as writer:
            for frame in frames:
                writer.append(frame)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        size = sum(p.stat().st_size for p in Path(folder).iterdir())
    n = len(frames)
    return 1000 * wall / n, 1000 * cpu / n, size / n / 1024


def time_stages(frames) -> dict[str, float]:
    """ms per frame of each stage of one PNG frame, on one thread."""
    def per_frame(function):
        start = time.perf_counter()
        for frame in frames:
            function(frame)
        return 1000 * (time.perf_counter() - start) / len(frames)

    marked = [provenance.mark(f) for f in frames]
    encoded = encode_png(marked[0], None, provenance.metadata())
    with tempfile.TemporaryDirectory(dir=ROOT) as folder:
        counter = iter(range(10 ** 6))
        write = per_frame(lambda _: write_atomic(Path(folder) / f"f{next(counter)}.png", encoded))
    return {"watermark (mark)": per_frame(provenance.mark),
            "PNG encoding (OpenCV: Sub filter, zlib level 1)": per_frame(lambda f: encode_png(f, None, provenance.metadata())),
            "write to a temporary name + rename": write}


# --- part 2: watermark ----------------------------------------------------------------------------------

def unmarked_images(pictures: dict[str, np.ndarray]) -> list[np.ndarray]:
    import cv2

    rng = np.random.default_rng(2019)
    images = []
    for image in pictures.values():
        images.append(image)
        h, w = image.shape[:2]
        for _ in range(30):
            side = int(rng.integers(64, min(h, w) + 1))
            width = min(w, int(side * rng.uniform(0.7, 1.4)))
            y, x = rng.integers(0, h - side + 1), rng.integers(0, w - width + 1)
            images.append(image[y:y + side, x:x + width])
        for factor in (0.3, 0.5, 0.77, 1.5):
            scaled = cv2.resize(image, None, fx=factor, fy=factor, interpolation=cv2.INTER_AREA)
            if min(scaled.shape[:2]) >= 64:
                images.append(jpeg(scaled))
    for k in range(300):
        h, w = (int(v) for v in rng.integers(64, 700, 2))
        if k % 3 == 0:
            images.append(rng.integers(0, 256, (h, w, 3), dtype=np.uint8))
        elif k % 3 == 1:
            images.append(np.clip(rng.normal(128, 40, (h, w, 3)), 0, 255).astype(np.uint8))
        else:
            noise = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
            images.append(cv2.GaussianBlur(noise, (0, 0), float(rng.uniform(1, 8))))
    return images


def jpeg(image, quality=75):
    import cv2

    ok, buffer = cv2.imencode(".jpg", image[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, quality])
    return cv2.imdecode(buffer, cv2.IMREAD_COLOR)[..., ::-1]


def half(image):
    import cv2

    return cv2.resize(image, (image.shape[1] // 2, image.shape[0] // 2), interpolation=cv2.INTER_AREA)


def h264(frames):
    from talking_heads.export.video import read_video, write_video

    with tempfile.TemporaryDirectory(dir=ROOT) as folder:
        path = write_video(Path(folder) / "clip.mp4", frames, 25, watermark=False)
        return read_video(path)


def talking_head(count: int) -> list[np.ndarray]:
    """A 256 x 256 face that turns and nods a little, like a person model's frames."""
    import cv2
    from skimage import data

    face = cv2.resize(data.astronaut()[0:300, 100:400], (256, 256), interpolation=cv2.INTER_AREA)
    frames = []
    for i in range(count):
        angle = 2.0 * np.sin(i / 4)
        m = cv2.getRotationMatrix2D((128, 128), angle, 1 + 0.01 * np.sin(i / 3))
        m[:, 2] += [angle, angle / 2]
        frames.append(cv2.warpAffine(face, m, (256, 256), borderMode=cv2.BORDER_REFLECT))
    return frames


def marked_frames(pictures) -> list[np.ndarray]:
    import cv2

    frames = []
    for image in pictures.values():
        side = min(image.shape[:2])
        frames.append(cv2.resize(image[:side, :side], (256, 256), interpolation=cv2.INTER_AREA))
    return frames


def speed_table(count: int) -> list[str]:
    frames = frames_256(count)
    time_writer(frames[:20], workers=2)                         # warm-up: imports, caches
    configurations = [("PNG 8-bit, 1 thread", dict(workers=1)),
                      ("PNG 8-bit, 2 threads", dict(workers=2)),
                      ("PNG 8-bit, 2 threads, no watermark", dict(workers=2, watermark=False)),
                      ("PNG 16-bit, 2 threads", dict(workers=2, bit_depth=16)),
                      ("EXR half, 2 threads", dict(workers=2, ext="exr"))]
    with tempfile.TemporaryDirectory() as identity:            # a throw-away local C2PA identity
        signer, _ = open_signer(reference=b"a reference photo", folder=identity)
        if signer is not None:
            configurations.insert(2, ("PNG 8-bit, 2 threads, C2PA-signed", dict(workers=2, signer=signer)))
        speed = [(label, *time_writer(frames, **options)) for label, options in configurations]
    stages = time_stages(frames[:100])
    lines = [f"Writing {count} frames of 256 x 256 through `SequenceWriter` (target: PNG <= 3 ms per frame "
             f"with the thread pool):", "",
             "| format | ms / frame (wall) | CPU ms / frame | KB / frame |", "|---|---|---|---|"]
    lines += [f"| {label} | {wall:.2f} | {cpu:.2f} | {kb:.0f} |" for label, wall, cpu, kb in speed]
    lines += ["", "One PNG frame, stage by stage, on one thread:", "", "| stage | ms / frame |", "|---|---|"]
    lines += [f"| {name} | {ms:.2f} |" for name, ms in stages.items()]
    return lines + [""]


def watermark_table() -> list[str]:
    pictures = photos()
    null = np.array([provenance.score(image) for image in unmarked_images(pictures)])
    originals = marked_frames(pictures)
    marked = [provenance.mark(f) for f in originals]
    psnr = np.array([psnr(m, f) for m, f in zip(marked, originals)])
    attacks = {"none": lambda x: x, "JPEG q75": jpeg, "0.5x resize (area)": half,
               "0.5x resize, then JPEG q75": lambda x: jpeg(half(x))}
    scores = {name: np.array([provenance.score(attack(m)) for m in marked]) for name, attack in attacks.items()}
    clip = [provenance.mark(f) for f in talking_head(32)]
    scores["H.264 (CRF 16, film-grain tuning), a moving 32-frame clip"] = np.array(
        [provenance.score(f) for f in h264(clip)])
    lines = [f"Watermark scores (found at >= {provenance.THRESHOLD:g}; band of {provenance.band_size()} DCT "
             f"coefficients). Unmarked: {len(null)} images (scikit-image photos, random crops, JPEG rescales, "
             f"noise):", "",
             "| unmarked images | mean | std | max | found |", "|---|---|---|---|---|",
             f"| {len(null)} | {null.mean():.2f} | {null.std():.2f} | {null.max():.2f} | "
             f"{int(np.sum(null >= provenance.THRESHOLD))} |", "",
             f"Marked: {len(marked)} frames of 256 x 256 (a square crop of each photo); PSNR min "
             f"{psnr.min():.1f} dB, median {np.median(psnr):.1f} dB.", "",
             "| after | min score | median score | found |", "|---|---|---|---|"]
    lines += [f"| {name} | {s.min():.2f} | {np.median(s):.2f} | {int(np.sum(s >= provenance.THRESHOLD))} / {len(s)} |"
              for name, s in scores.items()]
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--frames", type=int, default=200, help="frames per speed measurement (default 200)")
    parser.add_argument("--parts", default="speed,watermark", help="speed, watermark or both (default both)")
    parser.add_argument("--no-record", action="store_true", help="do not append to benchmarks/RESULTS.md")
    args = parser.parse_args()
    parts = set(args.parts.split(","))
    load_before = load()
    tables = []
    if "speed" in parts:
        tables += speed_table(args.frames)
    if "watermark" in parts:
        tables += watermark_table()
    lines = [f"## Export: frame writing speed and the watermark ({datetime.date.today()})", "",
             f"Command: `python benchmarks/export_speed.py --frames {args.frames} --parts {args.parts}`  ",
             f"Machine: {machine()}; load average {load_before} before, {load()} after.", "", *tables]
    text = "\n".join(lines) + "\n"
    print(text)
    if not args.no_record:
        results = ROOT / "benchmarks" / "RESULTS.md"
        if not results.exists():
            results.write_text("# Benchmark results\n\nEach script in benchmarks/ appends its section here.\n")
        with results.open("a") as f:
            f.write("\n" + text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
