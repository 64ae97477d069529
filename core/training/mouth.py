"""Training the mouth painter (model/mouth.py): supervised, on pairs of frames of one video.

Each step draws pairs of a source frame (the photo's stand-in) and a target frame of the same video, a
share of the targets among the video's open mouths. The painter renders the target's mouth crop from the
source; the loss is the evaluation's own measure, L1, over the crop (the evaluation's mouth box weighing
most), plus 1 - SSIM for the structure of the teeth and the lips' edges. Pairs of held-out videos, chosen as
the full-resolution evaluation chooses its open mouths (the first frame as the photo; the widest-open
mouths of the second half), are scored against the warp as it trains, and the best step is kept.
"""
from __future__ import annotations

import json
import time
from pathlib import Path

import torch

from ..landmarks.align import CROP_SCALE
from ..landmarks.groups import MIRRORED
from ..model.files import load_tensors, save_tensors
from ..model.losses import mouth_mask, ssim
from ..model.mouth import CROP, MouthPainter, crop_pixels, load_painter, paint, prepare, sample, save_painter
from ..model.warp import mouth_gap
from ..device import pick_device
from ..errors import UserError
from ..progress import Log, Progress, note, report
from .config import MouthConfig
from .data import VideoSet

OPEN = 0.12        # inner lips apart by more than this many eye spans: an open mouth, as the evaluation says
BEST = "best.safetensors"


def face_box(points: torch.Tensor) -> torch.Tensor:
    """(B, 3): the protocol's crop (CROP_SCALE x the landmarks' larger extent, centred) of landmarks (B, 68, 2)."""
    lo, hi = points.amin(1), points.amax(1)
    side = CROP_SCALE * (hi - lo).amax(-1, keepdim=True)
    return torch.cat([(lo + hi) / 2 - side / 2, side], 1)


def cut_pairs(data: VideoSet, video: int, sources: torch.Tensor, targets: torch.Tensor, flip: bool = False,
              gain: torch.Tensor | None = None) -> dict:
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
    out = prepare(source, src_points, drv_points, face_box(src_points))
    out["target"] = sample(target, crop_pixels(out["box"]))
    out["target_points"] = (drv_points - out["box"][:, None, :2]) * (CROP / out["box"][:, None, 2:])
    return out


def join(parts: list[dict]) -> dict:
    return {k: torch.cat([p[k] for p in parts]) for k in parts[0]}


def open_mouths(data: VideoSet) -> list[torch.Tensor]:
    """Per video, the frames whose mouth is open."""
    return [torch.nonzero(mouth_gap(p) > OPEN).flatten() for p in data.points]


def training_pairs(data: VideoSet, opened: list[torch.Tensor], cfg: MouthConfig, rng: torch.Generator) -> dict:
    per = cfg.batch // cfg.videos_per_step
    parts = []
    for video in torch.randint(len(data), (cfg.videos_per_step,), generator=rng).tolist():
        n = len(data.points[video])
        sources = torch.randint(n, (per,), generator=rng)
        targets = torch.randint(n, (per,), generator=rng)
        if len(opened[video]):
            pick = opened[video].cpu()[torch.randint(len(opened[video]), (per,), generator=rng)]
            targets = torch.where(torch.rand(per, generator=rng) < cfg.open_share, pick, targets)
        device = data.points[video].device
        flip = bool(torch.rand((), generator=rng) < 0.5)
        gain = (1 + cfg.colour_jitter * (2 * torch.rand(3, generator=rng) - 1)).to(device)
        parts.append(cut_pairs(data, video, sources.to(device), targets.to(device), flip, gain))
    return join(parts)


def validation_pairs(data: VideoSet, per_video: int = 4) -> list[dict]:
    """Per held-out video: its first frame as the photo, its widest-open mouths of the second half."""
    pairs = []
    for video, points in enumerate(data.points):
        half = len(points) // 2
        gaps = mouth_gap(points[half:])
        order = torch.argsort(gaps, descending=True)[:per_video]
        order = order[gaps[order] > OPEN]
        if len(order):
            targets = order + half
            pairs.append(cut_pairs(data, video, torch.zeros_like(targets), targets))
    if not pairs:
        raise UserError("no held-out video has an open mouth: give --val videos of people talking")
    return pairs


def box_l1(image: torch.Tensor, target: torch.Tensor, points: torch.Tensor) -> torch.Tensor:
    """(B,): L1 over each crop's evaluation mouth box."""
    mask = mouth_mask(points, image.shape[-1])
    return ((image - target).abs() * mask).sum((1, 2, 3)) / (3 * mask.sum((1, 2, 3))).clamp_min(1)


@torch.no_grad()
def validate(painter: MouthPainter, pairs: list[dict]) -> tuple[float, float]:
    """(the warp's, the painter's) mean L1 over the mouth boxes of the held-out pairs."""
    painter.eval()
    warp, painted = [], []
    for p in pairs:
        out = paint(painter, p)
        warp.append(box_l1(p["warped"], p["target"], p["target_points"]))
        painted.append(box_l1(out["image"].float(), p["target"], p["target_points"]))
    painter.train()
    return torch.cat(warp).mean().item(), torch.cat(painted).mean().item()


# ----------------------------------------------------------------------------------------------- checkpoint
def save_state(out: Path, painter: MouthPainter, opt: torch.optim.Optimizer, step: int, best: dict,
               cfg: MouthConfig) -> None:
    """out/painter.safetensors (float32) and out/adam_{m,v}.safetensors: each under 16 MB, so that a run
    on a lent GPU can come back and be resumed."""
    header = {"step": step, "best": best, "config": cfg.to_dict()}
    save_painter(out / "painter.safetensors", painter, header, half=False)
    params = list(painter.parameters())
    for key, name in (("exp_avg", "m"), ("exp_avg_sq", "v")):
        state = {str(i): opt.state[p][key] for i, p in enumerate(params) if p in opt.state}
        save_tensors(out / f"adam_{name}.safetensors", state, {"format": "talking-heads-adam", "version": 1,
                                                                 "step": step})


def load_state(out: Path, painter: MouthPainter, opt: torch.optim.Optimizer) -> tuple[int, dict]:
    resumed, header = load_painter(out / "painter.safetensors")
    painter.load_state_dict(resumed.state_dict())
    params = list(painter.parameters())
    moments = {n: load_tensors(out / f"adam_{n}.safetensors", "talking-heads-adam", 1)[0] for n in "mv"}
    for i, p in enumerate(params):
        if str(i) in moments["m"]:
            opt.state[p] = {"step": torch.tensor(float(header["step"])),
                            "exp_avg": moments["m"][str(i)].to(p.device),
                            "exp_avg_sq": moments["v"][str(i)].to(p.device)}
    return int(header["step"]), header.get("best") or {}


# ------------------------------------------------------------------------------------------------- training
def train(data: str, out: str, cfg: MouthConfig, videos: list[Path], val_videos: list[Path],
          device: str = "auto", progress: Progress | None = None, log: Log | None = None) -> dict:
    """Train (or resume) the painter in `out`; returns the best held-out scores. `log` hears where the run
    starts, its losses every `log_every` steps and its held-out scores at every validation."""
    dev = pick_device(device)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    cache = Path(data) / ".landmarks" if Path(data).is_dir() else None
    train_set = VideoSet(videos, device=dev, cache_dir=cache, progress=progress)
    held_out = validation_pairs(VideoSet(val_videos, device=dev, cache_dir=cache))
    opened = open_mouths(train_set)
    torch.manual_seed(cfg.seed)
    painter = MouthPainter(cfg.channels, cfg.res_blocks).to(dev)
    opt = torch.optim.Adam(painter.parameters(), lr=cfg.lr, betas=cfg.betas)
    step, best = 0, {}
    if (out / "painter.safetensors").exists():
        step, best = load_state(out, painter, opt)
        note(log, f"resuming from step {step}")
    amp = dict(device_type="cuda", dtype=torch.bfloat16, enabled=cfg.bf16 and dev.type == "cuda")
    rng = torch.Generator().manual_seed(cfg.seed * 1000 + step)
    started = time.time()

    def validation():
        warp, painted = validate(painter, held_out)
        note(log, f"step {step}: held-out mouth L1 warp {warp:.4f} painter {painted:.4f} "
                  f"({100 * (painted / warp - 1):+.1f} %)")
        if not best or painted < best["painter"]:
            best.update(step=step, warp=warp, painter=painted)
            save_painter(out / BEST, painter, {"step": step, "held_out": dict(best), "config": cfg.to_dict()})

    painter.train()
    while step < cfg.steps:
        pairs = training_pairs(train_set, opened, cfg, rng)
        with torch.autocast(**amp):
            result = paint(painter, pairs)
            image = result["image"].float()
            weight = cfg.w_outside + (1 - cfg.w_outside) * mouth_mask(pairs["target_points"], CROP)
            l1 = ((image - pairs["target"]).abs() * weight).mean() / weight.mean()
            loss = l1 + cfg.w_ssim * (1 - ssim(image, pairs["target"]))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        step += 1
        if step % cfg.log_every == 0:
            note(log, f"step {step} {time.time() - started:.0f}s  loss {loss.item():.4f}  l1 {l1.item():.4f}")
        report(progress, step, cfg.steps, "mouth painter")
        if step % cfg.val_every == 0:
            validation()
        if step % cfg.checkpoint_every == 0:
            save_state(out, painter, opt, step, best, cfg)
        if cfg.minutes and time.time() - started > cfg.minutes * 60:
            break
    if step % cfg.val_every:
        validation()
    save_state(out, painter, opt, step, best, cfg)
    (out / "held_out.json").write_text(json.dumps(best))
    return best
