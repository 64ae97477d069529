"""A contact sheet of frames at the photo's own resolution: photo | warp | model, with eye and mouth insets.

  python benchmarks/fullres_sheet.py WORK [--out sheet.png] [--videos 4]

WORK is the folder `../shared/eval/fullres.py --work WORK` filled: per video, `reference.png` (the photo),
`track.json` (the rest frame, then the drivers) and `gen/frame_####.png` (the project's frames). For each
video the sheet shows the driver frame with the widest-open mouth and the one with the most closed eyes:
the photo's face box, the piecewise-affine warp of it at native resolution (the protocol's baseline), the
model's frame, and beside each a 3x zoom of the eyes and of the mouth. The sheet shows real people when
WORK comes from ../shared/media: keep it out of the repository (out/ is ignored).
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import cv2
import numpy as np
from skimage.transform import PiecewiseAffineTransform, warp

ROW = 360          # height of each panel on the sheet


def load_rgb(path: Path) -> np.ndarray:
    return cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB)


def box_of(points: np.ndarray) -> tuple[int, int, int]:
    """The protocol's square (2.0 x the landmark box) in whole pixels."""
    lo, hi = points.min(0), points.max(0)
    side = 2.0 * (hi - lo).max()
    cx, cy = (lo + hi) / 2
    return int(round(cx - side / 2)), int(round(cy - side / 2)), int(round(side))


def cut(rgb: np.ndarray, box) -> np.ndarray:
    x, y, s = box
    m = np.array([[1.0, 0, -x], [0, 1.0, -y]])
    return cv2.warpAffine(rgb, m, (s, s), flags=cv2.INTER_NEAREST, borderMode=cv2.BORDER_REPLICATE)


def pa_warp(ref_c: np.ndarray, ref_pts: np.ndarray, drv_pts: np.ndarray) -> np.ndarray:
    s = ref_c.shape[0]
    border = np.array([[0, 0], [s / 2, 0], [s - 1, 0], [s - 1, s / 2], [s - 1, s - 1], [s / 2, s - 1], [0, s - 1],
                       [0, s / 2]])
    t = PiecewiseAffineTransform()
    t.estimate(np.vstack([drv_pts, border]), np.vstack([ref_pts, border]))
    return (np.clip(warp(ref_c / 255.0, t, output_shape=(s, s), mode="edge"), 0, 1) * 255).astype(np.uint8)


def inset(image: np.ndarray, points: np.ndarray, height: int) -> np.ndarray:
    """A zoom of the region around `points` (a box 1.4x their extent), `height` pixels tall, 2:1 wide."""
    lo, hi = points.min(0), points.max(0)
    c, half = (lo + hi) / 2, max((hi - lo).max() * 0.7, 8)
    x0, y0 = int(c[0] - half), int(c[1] - half / 2)
    region = cut(image, (x0, y0, int(2 * half)))[: int(half)]
    return cv2.resize(region, (2 * height, height), interpolation=cv2.INTER_NEAREST)


def panel(image: np.ndarray, box, points: np.ndarray) -> np.ndarray:
    face = cut(image, box)
    local = points - box[:2]
    big = cv2.resize(face, (ROW, ROW), interpolation=cv2.INTER_AREA)
    eyes = inset(face, local[36:48], ROW // 2)
    mouth = inset(face, local[48:68], ROW // 2)
    return np.hstack([big, np.vstack([eyes, mouth])])


def label(strip: np.ndarray, text: str) -> np.ndarray:
    out = strip.copy()
    cv2.putText(out, text, (8, 24), cv2.FONT_HERSHEY_SIMPLEX, 0.7, (255, 255, 0), 2, cv2.LINE_AA)
    return out


def rows_for(folder: Path) -> list[np.ndarray]:
    track = json.loads((folder / "track.json").read_text())["frames"]
    points = np.array([f["points"] for f in track], np.float64)
    photo = load_rgb(folder / "reference.png")
    box = box_of(points[0])
    span = np.linalg.norm(points[:, 36] - points[:, 45], axis=1)
    mouth = np.linalg.norm(points[:, [61, 62, 63]] - points[:, [67, 66, 65]], axis=-1).mean(1) / span
    eyes = np.linalg.norm(points[:, [37, 38, 43, 44]] - points[:, [41, 40, 47, 46]], axis=-1).mean(1) / span
    picks = dict.fromkeys([1 + int(np.argmax(mouth[1:])), 1 + int(np.argmin(eyes[1:]))])
    rows = []
    ref_c = cut(photo, box)
    for k in picks:
        frame = load_rgb(folder / "gen" / f"frame_{k:04d}.png")
        local = points[k] - box[:2]
        warped = pa_warp(ref_c, points[0] - box[:2], local)
        x, y, s = box
        full_warp = photo.copy()
        ax, ay, bx, by = max(x, 0), max(y, 0), min(x + s, photo.shape[1]), min(y + s, photo.shape[0])
        full_warp[ay:by, ax:bx] = warped[ay - y:by - y, ax - x:bx - x]
        strips = [label(panel(photo, box, points[0]), f"photo ({s} px box)"),
                  label(panel(full_warp, box, points[k]), "warp"),
                  label(panel(frame, box, points[k]), f"model, frame {k}")]
        rows.append(np.hstack(strips))
    return rows


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("work", help="the --work folder of ../shared/eval/fullres.py")
    ap.add_argument("--out", default="out/fullres_sheet.png")
    ap.add_argument("--videos", type=int, default=4, help="how many videos of WORK to show")
    a = ap.parse_args()
    folders = sorted(p for p in Path(a.work).iterdir() if (p / "gen").is_dir())[: a.videos]
    rows = [row for folder in folders for row in rows_for(folder)]
    if not rows:
        raise SystemExit(f"no generated frames under {a.work}: run ../shared/eval/fullres.py --work {a.work} first")
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(a.out, cv2.cvtColor(np.vstack(rows), cv2.COLOR_RGB2BGR))
    print(f"wrote {a.out} ({len(rows)} rows from {len(folders)} videos)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
