"""Where the frames lose sharpness against the warp: the Laplacian variance of the model's frames over the
warp's, by region of the face, with and without the mouth painter.

  python benchmarks/sharpness_regions.py WORK/VIDEO_STEM...

Each folder is one video's of ../shared/eval/fullres.py's `--work` layout (its `person.safetensors` and
`track.json`: the rest frame, then the test frames' drivers). The frames are rendered in-process by
`NativeRenderer` at the photo's own resolution, and the warp is the renderer's own map applied to the photo
alone. The regions are fullres.py's: the face (the drivers' landmark hull), the mouth's box (1.3x the lips),
the eyes' boxes (1.3x each eye's width, 0.6x tall) and the rest of the face. fullres.py's `sharp` is over the
face and against the real frame; this splits the model's share of it. Prints a table.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import cv2
import numpy as np
import torch
import torch.nn.functional as F

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from core.__main__ import project_package  # noqa: E402  (this checkout as the package talking_heads)

project_package()
from talking_heads.core.model.native import NativeRenderer  # noqa: E402
from talking_heads.core.model.person import load_person  # noqa: E402
from talking_heads.core.model.warp import warp_grid  # noqa: E402

REGIONS = ("face", "mouth", "eyes", "rest")


def box_mask(points: np.ndarray, widen: float, shape: tuple, tall: float | None = None) -> np.ndarray:
    """fullres.py's `region` box around points, as a mask."""
    (x0, y0), (x1, y1) = points.min(0), points.max(0)
    cx, cy, w = (x0 + x1) / 2, (y0 + y1) / 2, (x1 - x0) * widen
    h = w * tall if tall else (y1 - y0) * widen
    mask = np.zeros(shape, bool)
    mask[int(max(cy - h / 2, 0)):int(cy + h / 2) + 1, int(max(cx - w / 2, 0)):int(cx + w / 2) + 1] = True
    return mask


def masks(points: np.ndarray, side: int) -> dict[str, np.ndarray]:
    shape = (side, side)
    face = np.zeros(shape, np.uint8)
    cv2.fillConvexPoly(face, cv2.convexHull(points.astype(np.int32)), 1)
    face = face.astype(bool)
    mouth = box_mask(points[48:68], 1.3, shape) & face
    eyes = box_mask(points[36:42], 1.3, shape, 0.6) | box_mask(points[42:48], 1.3, shape, 0.6)
    return {"face": face, "mouth": mouth, "eyes": eyes, "rest": face & ~mouth & ~eyes}


def laplacian_variance(rgb: np.ndarray, mask: np.ndarray) -> float:
    """fullres.py's `lap_var`: of the grey frame (rgb (3, N, N) in [0, 1], as 8-bit) over the mask."""
    grey = cv2.cvtColor((rgb.transpose(1, 2, 0) * 255).round().astype(np.uint8), cv2.COLOR_RGB2GRAY)
    lap = cv2.Laplacian(grey.astype(np.float64), cv2.CV_64F)
    return float(lap[mask].var()) if mask.sum() > 20 else float("nan")


def video_ratios(folder: Path) -> dict[str, dict[str, float]]:
    """{"model": {region: ratio}, "no mouth painter": {...}}: means over the test frames of the model's
    Laplacian variance over the warp's."""
    person = load_person(folder / "person.safetensors")
    renderer = NativeRenderer(person.renderer(), person.image, person.image_points, person.box,
                              mouth=person.mouth).eval()
    frames = json.loads((folder / "track.json").read_text())["frames"][1:]          # the rest frame first
    points = torch.tensor([f["points"] for f in frames], dtype=torch.float32)[..., :2]
    n = len(points)
    with torch.no_grad():
        model = renderer(points).numpy()
        drv = points - renderer.origin
        grid = warp_grid(renderer.photo_points.expand(n, -1, -1), drv, renderer.side, renderer.grid_size)
        photo = renderer.photo.float().expand(n, -1, -1, -1) / 255
        warped = F.grid_sample(photo, grid, mode="bilinear", padding_mode="border", align_corners=True).numpy()
        renderer.mouth = None
        unpainted = renderer(points).numpy()
    out = {"model": {}, "no mouth painter": {}}
    for name, frames_of in (("model", model), ("no mouth painter", unpainted)):
        per_frame = []
        for i in range(n):
            regions = masks(drv[i].numpy(), renderer.side)
            per_frame.append([laplacian_variance(frames_of[i], regions[r]) /
                              laplacian_variance(warped[i], regions[r]) for r in REGIONS])
        out[name] = dict(zip(REGIONS, np.nanmean(np.array(per_frame), 0)))
    return out


def main() -> None:
    folders = [Path(a) for a in sys.argv[1:]]
    if not folders or any(not (f / "person.safetensors").exists() for f in folders):
        raise SystemExit("give fullres.py work folders of videos (each with person.safetensors and track.json)")
    torch.set_num_threads(1)
    print("| video | frames | " + " | ".join(f"model {r}" for r in REGIONS) + " | "
          + " | ".join(f"no painter {r}" for r in REGIONS) + " |")
    print("|" + " --- |" * (2 + 2 * len(REGIONS)))
    for folder in folders:
        ratios = video_ratios(folder)
        n = len(json.loads((folder / "track.json").read_text())["frames"]) - 1
        cells = [f"{ratios[k][r]:.2f}" for k in ("model", "no mouth painter") for r in REGIONS]
        print(f"| {folder.name} | {n} | " + " | ".join(cells) + " |", flush=True)


if __name__ == "__main__":
    main()
