"""Priors compared on held-out episodes, before any fine-tuning: a quick check between training runs.

  python benchmarks/prior_episodes.py PRIOR... [--data .device_data/videos]

DATA is a folder `python -m core prepare-data` wrote (with its `val_videos.txt`, the held-out identities'
clips). 96 episodes at 256 (fixed seed, half of the targets blinks or open mouths), one reference each; for
every prior: L1 over the whole crop and over the eyes' and the mouth's boxes, beside the warp's, and the
share of new colours. A second table scores the regions as the fullres protocol does: the eyes' boxes on
blinks (eyes under half the reference's opening) and the mouth's box on open mouths (inner lips more than
0.12 eye spans apart), up to 8 such frames of every held-out clip, each rendered from an open-eyed,
closed-mouthed frame of the same clip. The fullres protocol (../shared/eval/fullres.py) is the judgement;
this only says which checkpoint of a run to judge.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from core.__main__ import project_package  # noqa: E402  (the project folder as `talking_heads`)

project_package()

from talking_heads.core.landmarks.draw import draw_landmarks  # noqa: E402
from talking_heads.core.model.losses import region_l1  # noqa: E402
from talking_heads.core.model.warp import warp_image  # noqa: E402
from talking_heads.core.training.data import VideoSet, crop  # noqa: E402
from talking_heads.core.training.finetune import load_prior  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("priors", nargs="+", help="checkpoint folders (meta-train --out, or models/prior)")
    ap.add_argument("--data", default=str(ROOT / ".device_data" / "videos"), help="a prepare-data folder")
    a = ap.parse_args()
    torch.set_num_threads(2)
    root = Path(a.data)
    videos = [root / line.strip() for line in (root / "val_videos.txt").read_text().splitlines() if line.strip()]
    data = VideoSet(videos, cache_dir=root / ".landmarks")
    rng = torch.Generator().manual_seed(0)
    episodes = [data.episode(16, 1, 256, rng, hard_targets=0.5) for _ in range(6)]
    print("| prior | L1 | warp L1 | eyes and mouth L1 | warp's | new colours |")
    print("| --- | --- | --- | --- | --- | --- |")
    for prior in a.priors:
        generator, embedder, name = load_prior(prior)
        rows = []
        with torch.no_grad():
            for ep in episodes:
                ref_draw = draw_landmarks(ep["ref_points"].flatten(0, 1), 256).view_as(ep["references"])
                out = generator.eval()(ep["references"][:, 0], ep["ref_points"][:, 0], ep["target_points"],
                                       draw_landmarks(ep["target_points"], 256),
                                       embedding=embedder.eval()(ep["references"], ref_draw))
                warped = warp_image(ep["references"][:, 0], ep["ref_points"][:, 0], ep["target_points"])
                target, points = ep["target"], ep["target_points"]
                rows.append([(out["image"] - target).abs().mean().item(), (warped - target).abs().mean().item(),
                             region_l1(out["image"], target, points).item(), region_l1(warped, target, points).item(),
                             out["new_colour"].mean().item()])
        r = np.mean(rows, 0)
        print(f"| {name} | {r[0]:.4f} | {r[1]:.4f} | {r[2]:.4f} | {r[3]:.4f} | {r[4]:.3f} |", flush=True)
    hard_regions(data, a.priors)
    return 0


def _box(points: np.ndarray, widen: float, tall: float | None) -> tuple[slice, slice]:
    """The fullres protocol's region around points: `widen` x their width, `tall` x that width high (None:
    `widen` x their height)."""
    (x0, y0), (x1, y1) = points.min(0), points.max(0)
    cx, cy, w = (x0 + x1) / 2, (y0 + y1) / 2, (x1 - x0) * widen
    h = w * tall if tall else (y1 - y0) * widen
    return slice(int(max(cy - h / 2, 0)), int(cy + h / 2) + 1), slice(int(max(cx - w / 2, 0)), int(cx + w / 2) + 1)


def _openings(points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(N,) eye and mouth openings of (N, 68, 2) landmarks, in eye-corner spans."""
    span = np.linalg.norm(points[:, 36] - points[:, 45], axis=-1)
    eyes = np.linalg.norm(points[:, [37, 38, 43, 44]] - points[:, [41, 40, 47, 46]], axis=-1).mean(1) / span
    mouth = np.linalg.norm(points[:, [61, 62, 63]] - points[:, [67, 66, 65]], axis=-1).mean(1) / span
    return eyes, mouth


def hard_regions(data: VideoSet, priors: list[str]) -> None:
    rng = np.random.default_rng(0)
    sources, source_points, targets, target_points = [], [], [], []
    for v in range(len(data)):
        points = data.points[v].cpu().numpy()
        eyes, mouth = _openings(points)
        hard = np.flatnonzero((eyes < 0.5 * np.median(eyes)) | (mouth > 0.15))
        rest = np.flatnonzero((eyes > 0.9 * np.median(eyes)) & (mouth < 1.2 * np.median(mouth)))
        if not len(hard) or not len(rest):
            continue
        for t in rng.choice(hard, min(8, len(hard)), replace=False):
            pair = torch.tensor([int(rng.choice(rest)), int(t)])
            pts = data.points[v][pair]
            lo, hi = pts[0].min(0).values, pts[0].max(0).values
            side = 2.0 * (hi - lo).max()
            box = torch.stack([(lo + hi)[0] / 2 - side / 2, (lo + hi)[1] / 2 - side / 2, side])
            images = crop(data.frames[v][pair].float() / 255, box, 256)
            p = (pts - box[:2]) * 256 / box[2]
            sources.append(images[0]), targets.append(images[1])
            source_points.append(p[0]), target_points.append(p[1])
    sources, targets = torch.stack(sources), torch.stack(targets)
    source_points, target_points = torch.stack(source_points), torch.stack(target_points)
    print()
    print("| prior | blinks | eyes L1 | warp's | open mouths | mouth L1 | warp's |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for prior in priors:
        generator, embedder, name = load_prior(prior)
        eyes, mouths = [], []
        with torch.no_grad():
            for i in range(0, len(sources), 16):
                src, sp = sources[i:i + 16], source_points[i:i + 16]
                tgt, tp = targets[i:i + 16], target_points[i:i + 16]
                e = embedder.eval()(src[:, None], draw_landmarks(sp, 256)[:, None])
                out = generator.eval()(src, sp, tp, draw_landmarks(tp, 256), embedding=e)["image"]
                warped = warp_image(src, sp, tp)
                src_eyes, _ = _openings(sp.numpy())
                tgt_eyes, tgt_mouth = _openings(tp.numpy())
                for j in range(len(src)):
                    p = tp[j].numpy()
                    errors = [(x[j] - tgt[j]).abs().mean(0).numpy() for x in (warped, out)]
                    if tgt_eyes[j] < 0.5 * src_eyes[j]:
                        eyes.append([np.mean([e[_box(p[k:k + 6], 1.3, 0.6)].mean() for k in (36, 42)]) for e in errors])
                    if tgt_mouth[j] > 0.12:
                        mouths.append([e[_box(p[48:68], 1.3, None)].mean() for e in errors])
        (ew, em), (mw, mm) = np.mean(eyes, 0), np.mean(mouths, 0)
        print(f"| {name} | {len(eyes)} | {em:.4f} ({em / ew - 1:+.1%}) | {ew:.4f} | {len(mouths)} | "
              f"{mm:.4f} ({mm / mw - 1:+.1%}) | {mw:.4f} |", flush=True)


if __name__ == "__main__":
    raise SystemExit(main())
