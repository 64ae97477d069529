"""Priors compared on held-out episodes, before any fine-tuning: a quick check between training runs.

  python benchmarks/prior_episodes.py PRIOR... [--data .device_data/videos]

DATA is a folder `python -m core prepare-data` wrote (with its `val_videos.txt`, the held-out identities'
clips). 96 episodes at 256 (fixed seed, half of the targets blinks or open mouths), one reference each; for
every prior: L1 over the whole crop and over the eyes' and the mouth's boxes, beside the warp's, and the
share of new colours. The fullres protocol (../shared/eval/fullres.py) is the judgement; this only says
which checkpoint of a run to judge.
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
from talking_heads.core.training.data import VideoSet  # noqa: E402
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
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
