"""Training a painter (model/painter.py) of one region, the mouth's or the eyes': supervised, on pairs of
frames of one video.

Each step draws pairs of a source frame (the photo's stand-in) and a target frame of the same video, a
share of the targets among the frames the region's painter is for (open mouths; blinks, squints and wide
eyes). The painter renders the target's crops from the source; the loss is the evaluation's own measure,
L1, over the crop (the evaluation's box of the region weighing most), plus 1 - SSIM for the structure of
teeth, lips, lids and lashes. Pairs of held-out videos, chosen as the full-resolution evaluation chooses its
frames (../shared/eval/fullres.py: the first frame as the photo; the widest-open mouths, or the most closed
eyes, of the second half), are scored against the warp as it trains, and the best step is kept.
"""
from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Callable

import torch

from ..landmarks.align import CROP_SCALE
from ..landmarks.groups import MIRRORED
from ..model import eyes, mouth
from ..model.files import load_tensors, save_tensors
from ..model.losses import mouth_mask, region_mask, ssim
from ..model.painter import CROP, Painter, load_painter, save_painter
from ..model.warp import mouth_gap
from ..device import pick_device
from ..errors import UserError
from ..progress import Log, Progress, note, report
from .config import PAINTER_CONFIGS, EyesConfig, MouthConfig, Settings
from .data import VideoSet

OPEN = 0.12        # inner lips apart by more than this many eye spans: an open mouth, as the evaluation says
CLOSED = 0.5       # eyes open under this share of the video's median: a blink or a squint, as the evaluation says
WIDE = 1.25        # eyes open over this share of the video's median: wide eyes
BEST = "best.safetensors"


# ---------------------------------------------------------------------------------------------------- regions
def open_mouths(points: torch.Tensor, cfg: MouthConfig) -> list[tuple[torch.Tensor, float]]:
    """The frames of one video (N, 68, 2) to favour as targets, with the share of targets each group gets."""
    return [(torch.nonzero(mouth_gap(points) > OPEN).flatten(), cfg.open_share)]


def widest_open_mouths(points: torch.Tensor, per_video: int) -> torch.Tensor:
    """The frames of a held-out video (N, 68, 2) the evaluation scores the mouth on: the widest-open mouths of
    its second half, open more than OPEN."""
    half = len(points) // 2
    gaps = mouth_gap(points[half:])
    order = torch.argsort(gaps, descending=True)[:per_video]
    return order[gaps[order] > OPEN] + half


def eye_opening(points: torch.Tensor) -> torch.Tensor:
    """(N,): both eyes' lid gaps of landmarks (N, 68, 2), in eye-corner spans, as the evaluation measures."""
    return eyes.lid_gaps(points).mean(-1)


def closed_and_wide_eyes(points: torch.Tensor, cfg: EyesConfig) -> list[tuple[torch.Tensor, float]]:
    opening = eye_opening(points)
    median = opening.median()
    return [(torch.nonzero(opening < CLOSED * median).flatten(), cfg.closed_share),
            (torch.nonzero(opening > WIDE * median).flatten(), cfg.wide_share)]


def most_closed_eyes(points: torch.Tensor, per_video: int) -> torch.Tensor:
    """The frames of a held-out video the evaluation scores the eyes on: the most closed eyes of its second
    half, open under CLOSED x that half's median."""
    half = len(points) // 2
    opening = eye_opening(points[half:])
    order = torch.argsort(opening)[:per_video]
    return order[opening[order] < CLOSED * opening.median()] + half


def eye_boxes_mask(points: torch.Tensor, size: int) -> torch.Tensor:
    """(B, 1, size, size): the evaluation's box of an eye crop's eye (1.3x its width, 0.6x it tall), from
    its landmarks in the crop's pixels. `region_mask` also holds the other eye's box and the mouth's, but
    those lie outside an eye's crop (1.6 eye widths): the other eye begins about one eye width further."""
    return region_mask(points, size)


@dataclass(frozen=True)
class Region:
    """What training a region's painter takes from the region."""
    name: str                                       # "mouth" or "eyes": the painter file's format, messages
    model: ModuleType                               # model/mouth.py or model/eyes.py: prepare, crop, paint
    config: type                                    # its settings
    favoured: Callable[[torch.Tensor, Settings], list[tuple[torch.Tensor, float]]]   # targets to favour
    held_out: Callable[[torch.Tensor, int], torch.Tensor]      # a held-out video's frames to score
    mask: Callable[[torch.Tensor, int], torch.Tensor]          # the evaluation's box, in a crop
    scored: str                                     # what the held-out frames are, to say there are none


REGIONS = {
    "mouth": Region("mouth", mouth, PAINTER_CONFIGS["mouth"], open_mouths, widest_open_mouths, mouth_mask,
                    "an open mouth: give --val videos of people talking"),
    "eyes": Region("eyes", eyes, PAINTER_CONFIGS["eyes"], closed_and_wide_eyes, most_closed_eyes, eye_boxes_mask,
                   "a blink: give --val videos of people who blink"),
}


# ------------------------------------------------------------------------------------------------------ pairs
def face_box(points: torch.Tensor) -> torch.Tensor:
    """(B, 3): the protocol's crop (CROP_SCALE x the landmarks' larger extent, centred) of landmarks (B, 68, 2)."""
    lo, hi = points.amin(1), points.amax(1)
    side = CROP_SCALE * (hi - lo).amax(-1, keepdim=True)
    return torch.cat([(lo + hi) / 2 - side / 2, side], 1)


def cut_pairs(region: Region, data: VideoSet, video: int, sources: torch.Tensor, targets: torch.Tensor,
              flip: bool = False, gain: torch.Tensor | None = None) -> dict:
    """The painter's inputs and the real target crops for pairs (source, target) of frames of one video;
    `flip` mirrors the video, `gain` (3,) scales its colours (augmentations for training)."""
    frames, points = data.frames[video], data.points[video]
    source, target = frames[sources].float() / 255, frames[targets].float() / 255
    src_points, drv_points = points[sources], points[targets]
    if flip:
        source, target = source.flip(-1), target.flip(-1)
        mirror = lambda p: torch.stack([source.shape[-1] - 1 - p[..., 0], p[..., 1]], -1)[:, MIRRORED]
        src_points, drv_points = mirror(src_points), mirror(drv_points)
    if gain is not None:
        source, target = (source * gain[:, None, None]).clamp(0, 1), (target * gain[:, None, None]).clamp(0, 1)
    out = region.model.prepare(source, src_points, drv_points, face_box(src_points))
    out["target"], out["target_points"] = region.model.crop(target, drv_points, out["box"])
    return out


def join(parts: list[dict]) -> dict:
    return {k: torch.cat([p[k] for p in parts]) for k in parts[0]}


def training_pairs(region: Region, data: VideoSet, favoured: list[list[tuple[torch.Tensor, float]]],
                   cfg: Settings, rng: torch.Generator) -> dict:
    per = cfg.batch // cfg.videos_per_step
    parts = []
    for video in torch.randint(len(data), (cfg.videos_per_step,), generator=rng).tolist():
        n = len(data.points[video])
        sources = torch.randint(n, (per,), generator=rng)
        targets = torch.randint(n, (per,), generator=rng)
        # each target falls in the favoured group its draw lands in (by their shares), if that group has frames
        picks = [frames.cpu()[torch.randint(len(frames), (per,), generator=rng)] if len(frames) else None
                 for frames, _ in favoured[video]]
        if any(pick is not None for pick in picks):
            draw, below = torch.rand(per, generator=rng), 0.0
            for pick, (_, share) in zip(picks, favoured[video]):
                if pick is not None:
                    targets = torch.where((draw >= below) & (draw < below + share), pick, targets)
                below += share
        device = data.points[video].device
        flip = bool(torch.rand((), generator=rng) < 0.5)
        gain = (1 + cfg.colour_jitter * (2 * torch.rand(3, generator=rng) - 1)).to(device)
        parts.append(cut_pairs(region, data, video, sources.to(device), targets.to(device), flip, gain))
    return join(parts)


def validation_pairs(region: Region, data: VideoSet, per_video: int = 4) -> list[dict]:
    """Per held-out video: its first frame as the photo, the frames the evaluation scores the region on."""
    pairs = []
    for video, points in enumerate(data.points):
        targets = region.held_out(points, per_video)
        if len(targets):
            pairs.append(cut_pairs(region, data, video, torch.zeros_like(targets), targets))
    if not pairs:
        raise UserError(f"no held-out video has {region.scored}")
    return pairs


def box_l1(region: Region, image: torch.Tensor, target: torch.Tensor, points: torch.Tensor) -> torch.Tensor:
    """(B,): L1 over each crop's evaluation box."""
    mask = region.mask(points, image.shape[-1])
    return ((image - target).abs() * mask).sum((1, 2, 3)) / (3 * mask.sum((1, 2, 3))).clamp_min(1)


@torch.no_grad()
def validate(region: Region, painter: Painter, pairs: list[dict]) -> tuple[float, float]:
    """(the warp's, the painter's) mean L1 over the region's boxes of the held-out pairs."""
    painter.eval()
    warp, painted = [], []
    for p in pairs:
        out = region.model.paint(painter, p)
        warp.append(box_l1(region, p["warped"], p["target"], p["target_points"]))
        painted.append(box_l1(region, out["image"].float(), p["target"], p["target_points"]))
    painter.train()
    return torch.cat(warp).mean().item(), torch.cat(painted).mean().item()


# ----------------------------------------------------------------------------------------------- checkpoint
def save_state(region: Region, out: Path, painter: Painter, opt: torch.optim.Optimizer, step: int, best: dict,
               cfg: Settings) -> None:
    """out/painter.safetensors (float32) and out/adam_{m,v}.safetensors: each under 16 MB, so that a run
    on a lent GPU can come back and be resumed."""
    header = {"step": step, "best": best, "config": cfg.to_dict()}
    save_painter(out / "painter.safetensors", painter, region.name, header, half=False)
    params = list(painter.parameters())
    for key, name in (("exp_avg", "m"), ("exp_avg_sq", "v")):
        state = {str(i): opt.state[p][key] for i, p in enumerate(params) if p in opt.state}
        save_tensors(out / f"adam_{name}.safetensors", state, {"format": "talking-heads-adam", "version": 1,
                                                                 "step": step})


def load_state(out: Path, resumed: tuple[Painter, dict], painter: Painter, opt: torch.optim.Optimizer
               ) -> tuple[int, dict]:
    """Continue from out/painter.safetensors, already read (`resumed`), and the Adam moments beside it; without
    them (a run's best weights brought back alone from a lent GPU), from fresh moments."""
    resumed, header = resumed
    painter.load_state_dict(resumed.state_dict())
    params = list(painter.parameters())
    if not all((out / f"adam_{n}.safetensors").is_file() for n in "mv"):
        return int(header["step"]), header.get("best") or {}
    moments = {n: load_tensors(out / f"adam_{n}.safetensors", "talking-heads-adam", 1)[0] for n in "mv"}
    for i, p in enumerate(params):
        if str(i) in moments["m"]:
            opt.state[p] = {"step": torch.tensor(float(header["step"])),
                            "exp_avg": moments["m"][str(i)].to(p.device),
                            "exp_avg_sq": moments["v"][str(i)].to(p.device)}
    return int(header["step"]), header.get("best") or {}


# ------------------------------------------------------------------------------------------------- training
def train(region: str, data: str, out: str, cfg: Settings, videos: list[Path], val_videos: list[Path],
          device: str = "auto", progress: Progress | None = None, log: Log | None = None) -> dict:
    """Train (or resume) the painter of `region` ("mouth" or "eyes") in `out`; returns the best held-out
    scores. `log` hears where the run starts, its losses every `log_every` steps and its held-out scores at
    every validation."""
    region = REGIONS[region]
    dev = pick_device(device)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    # read before the data, so that a folder of another region's painter is refused at once
    resumed = load_painter(out / "painter.safetensors", region.name) if (out / "painter.safetensors").exists() else None
    cache = Path(data) / ".landmarks" if Path(data).is_dir() else None
    train_set = VideoSet(videos, device=dev, cache_dir=cache, progress=progress)
    held_out = validation_pairs(region, VideoSet(val_videos, device=dev, cache_dir=cache))
    favoured = [region.favoured(points, cfg) for points in train_set.points]
    torch.manual_seed(cfg.seed)
    painter = Painter(region.model.INPUTS, cfg.channels, cfg.res_blocks).to(dev)
    opt = torch.optim.Adam(painter.parameters(), lr=cfg.lr, betas=cfg.betas)
    step, best = 0, {}
    if resumed is not None:
        step, best = load_state(out, resumed, painter, opt)
        note(log, f"resuming from step {step}")
    amp = dict(device_type="cuda", dtype=torch.bfloat16, enabled=cfg.bf16 and dev.type == "cuda")
    rng = torch.Generator().manual_seed(cfg.seed * 1000 + step)
    started = time.time()

    def validation():
        warp, painted = validate(region, painter, held_out)
        note(log, f"step {step}: held-out {region.name} L1 warp {warp:.4f} painter {painted:.4f} "
                  f"({100 * (painted / warp - 1):+.1f} %)")
        if not best or painted < best["painter"]:
            best.update(step=step, warp=warp, painter=painted)
            save_painter(out / BEST, painter, region.name,
                         {"step": step, "held_out": dict(best), "config": cfg.to_dict()})

    painter.train()
    while step < cfg.steps:
        pairs = training_pairs(region, train_set, favoured, cfg, rng)
        with torch.autocast(**amp):
            result = region.model.paint(painter, pairs)
            image = result["image"].float()
            weight = cfg.w_outside + (1 - cfg.w_outside) * region.mask(pairs["target_points"], CROP)
            l1 = ((image - pairs["target"]).abs() * weight).mean() / weight.mean()
            loss = l1 + cfg.w_ssim * (1 - ssim(image, pairs["target"]))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        step += 1
        if step % cfg.log_every == 0:
            note(log, f"step {step} {time.time() - started:.0f}s  loss {loss.item():.4f}  l1 {l1.item():.4f}")
        report(progress, step, cfg.steps, f"{region.name} painter")
        if step % cfg.val_every == 0:
            validation()
        if step % cfg.checkpoint_every == 0:
            save_state(region, out, painter, opt, step, best, cfg)
        if cfg.minutes and time.time() - started > cfg.minutes * 60:
            break
    if step % cfg.val_every:
        validation()
    save_state(region, out, painter, opt, step, best, cfg)
    (out / "held_out.json").write_text(json.dumps(best))
    return best
