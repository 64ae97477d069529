"""Where the frames lose sharpness against the warp: the Laplacian variance of the model's frames over the
warp's, by region of the face, with and without the mouth painter.

  python benchmarks/sharpness_regions.py WORK/VIDEO_STEM...

Each folder is one video's of ../shared/eval/fullres.py's `--work` layout (its `person.safetensors` and
`track.json`: the rest frame, then the test frames' drivers). The frames are rendered in-process by
`NativeRenderer` at the photo's own resolution, and the warp is the renderer's own map applied to the photo
alone. The regions are fullres.py's, made by its own functions: the face (the drivers' landmark hull, 1.1x),
the mouth's box (1.3x the lips) and the eyes' boxes (1.3x each eye's width, 0.6x tall) within it, and the rest
of the face. fullres.py's `sharp` is over the
face and against the real frame; this splits the model's share of it. Prints a table.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

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
from benchmarks.fullres_choices import load_fullres  # noqa: E402

REGIONS = ("face", "mouth", "eyes", "rest")
# fullres.py's own regions and Laplacian variance, so that the split adds up to its `sharp`
fullres = load_fullres(ROOT.parent / "shared" / "eval")


def masks(points: np.ndarray, side: int) -> dict[str, np.ndarray]:
    shape = (side, side)
    face = fullres.hull_mask(points, shape, scale=1.1)
    mouth = np.zeros(shape, bool)
    mouth[fullres.region(points[48:68], 1.3, None)] = True
    eyes = np.zeros(shape, bool)
    for j in (36, 42):
        eyes[fullres.region(points[j:j + 6], 1.3, 0.6)] = True
    return {"face": face, "mouth": mouth & face, "eyes": eyes & face, "rest": face & ~mouth & ~eyes}


def laplacian_variance(rgb: np.ndarray, mask: np.ndarray) -> float:
    """fullres.py's `lap_var` of a frame (3, N, N) in [0, 1], as the 8-bit frame written; none on a sliver."""
    if mask.sum() <= 20:
        return float("nan")
    return fullres.lap_var((rgb.transpose(1, 2, 0) * 255).round().astype(np.uint8), mask)


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
