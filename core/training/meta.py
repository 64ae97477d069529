"""Meta-learning (Zakharov et al. 2019, section 3.2): the prior every person model starts from.

Each step draws an episode per sample: K frames of one video and their landmark drawings go through the
embedder, whose averaged vector e gives the generator its AdaIN parameters psi = P e; the generator renders
a different frame of the same video from that frame's landmarks (starting from the first reference warped
onto them); the projection discriminator judges it against the real frame with the video's own row W_i.
The generator and embedder minimise content + adversarial + feature matching + embedding match; the
discriminator minimises the hinge loss. Runs on one device or under torchrun (DistributedDataParallel).
"""
from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel as DDP

from ..device import pick_device
from ..errors import UserError
from ..landmarks.draw import draw_landmarks
from ..model.discriminator import Discriminator
from ..model.embedder import Embedder
from ..model.files import load_tensors, save_tensors
from ..model.generator import Generator
from ..model.losses import ContentLoss, feature_matching, hinge_d, hinge_g, region_l1
from ..progress import Log, Progress, note, report
from .config import TrainConfig
from .data import VideoSet, find_videos

CHECKPOINT = "talking-heads-checkpoint"
CHECKPOINT_VERSION = 1
NETS = ("generator", "embedder", "discriminator")


class Nets(torch.nn.Module):
    def __init__(self, cfg: TrainConfig, num_videos: int):
        super().__init__()
        self.generator = Generator(cfg.dim, rules=cfg.rules)
        self.embedder = Embedder(cfg.dim)
        self.discriminator = Discriminator(num_videos, cfg.dim)


# ---------------------------------------------------------------------------------------------- checkpoints
def save_checkpoint(folder: Path, nets: Nets, opts: dict, step: int, cfg: TrainConfig, videos: list[str],
                    compact: bool = False) -> Path:
    """folder/step_XXXXXXX/{generator,embedder,discriminator,optimizers}.safetensors + folder/latest.

    A step folder is complete before `latest` names it, so a killed run resumes from the last whole one.
    `compact` stores weights as float16 and no optimizer state (small enough to travel)."""
    header = {"format": CHECKPOINT, "version": CHECKPOINT_VERSION, "step": step, "config": cfg.to_dict(),
              "videos": videos}
    final = folder / f"step_{step:07d}"
    tmp = folder / f"step_{step:07d}.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    for name in NETS:
        state = getattr(nets, name).state_dict()
        if compact:
            state = {k: v.half() if v.is_floating_point() else v for k, v in state.items()}
        save_tensors(tmp / f"{name}.safetensors", state, header)
    if not compact:
        flat = {}
        for key, opt in opts.items():
            for i, st in enumerate(opt.state_dict()["state"].values()):
                for k, v in st.items():
                    flat[f"{key}.{i}.{k}"] = v if torch.is_tensor(v) else torch.tensor(v)
        save_tensors(tmp / "optimizers.safetensors", flat, header)
    shutil.rmtree(final, ignore_errors=True)
    os.replace(tmp, final)
    pointer = folder / "latest.tmp"
    pointer.write_text(final.name)
    os.replace(pointer, folder / "latest")
    for old in folder.glob("step_*"):
        if old != final and not old.name.endswith(".tmp"):
            shutil.rmtree(old, ignore_errors=True)
    return final


def load_checkpoint(folder: str | os.PathLike) -> tuple[dict, dict]:
    """({net: state}, header) of the latest complete step in a checkpoint folder (or a step folder)."""
    folder = Path(folder)
    step = folder / (folder / "latest").read_text().strip() if (folder / "latest").exists() else folder
    states, header = {}, None
    for name in NETS:
        states[name], header = load_tensors(step / f"{name}.safetensors", CHECKPOINT, CHECKPOINT_VERSION)
        states[name] = {k: v.float() if v.is_floating_point() else v for k, v in states[name].items()}
    opt = step / "optimizers.safetensors"
    states["optimizers"] = load_tensors(opt, CHECKPOINT, CHECKPOINT_VERSION)[0] if opt.exists() else None
    return states, header


def restore_optimizer(opt: torch.optim.Optimizer, key: str, flat: dict) -> None:
    params = [p for g in opt.param_groups for p in g["params"]]
    state = {}
    for i, p in enumerate(params):
        entries = {k.split(".", 2)[2]: v for k, v in flat.items() if k.startswith(f"{key}.{i}.")}
        if entries:
            state[p] = {k: (v.to(p.device) if k != "step" else v) for k, v in entries.items()}
    opt.state.update(state)


# ------------------------------------------------------------------------------------------------ training
def requires_grad(module: torch.nn.Module, flag: bool) -> None:
    for p in module.parameters():
        p.requires_grad_(flag)


def train(data: str, out: str, cfg: TrainConfig, device: str = "auto", resume: bool = True,
          videos: list[Path] | None = None, progress: Progress | None = None, compact: bool = False,
          init: str | None = None, log: Log | None = None):
    """Meta-learn from `data`, checkpointing into `out`. Returns (last checkpoint folder or None on ranks > 0,
    the trained networks). `init`: a checkpoint whose networks a new run starts from (the discriminator's
    rows of its videos excepted: they belong to other videos). `log` (rank 0's) hears where the run starts
    and, every `log_every` steps, its losses."""
    distributed = int(os.environ.get("WORLD_SIZE", "1")) > 1
    rank = 0
    if distributed:
        backend = "nccl" if torch.cuda.is_available() and device != "cpu" else "gloo"
        dist.init_process_group(backend)
        rank = dist.get_rank()
        if backend == "nccl":
            torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", 0)))
            device = f"cuda:{torch.cuda.current_device()}"
    dev = pick_device(device)
    torch.manual_seed(cfg.seed)   # the same initial networks on every rank (spectral norm's vectors included)
    out = Path(out)

    videos = videos or find_videos(data)
    dataset = VideoSet(videos, device=dev, cache_dir=Path(data) / ".landmarks" if Path(data).is_dir() else None,
                       progress=progress if rank == 0 else None)
    nets = Nets(cfg, len(dataset)).to(dev)
    torch.manual_seed(cfg.seed + rank)
    opt_g = torch.optim.Adam(list(nets.generator.parameters()) + list(nets.embedder.parameters()),
                             lr=cfg.lr_g, betas=cfg.betas)
    opt_d = torch.optim.Adam(nets.discriminator.parameters(), lr=cfg.lr_d, betas=cfg.betas)
    step = 0
    if resume and (out / "latest").exists():
        states, header = load_checkpoint(out)
        if header["videos"] != dataset.names:
            raise UserError(f"{out} was trained on other videos: give a new --out folder or the same data")
        for name in NETS:
            getattr(nets, name).load_state_dict(states[name])
        if states["optimizers"] is not None:
            restore_optimizer(opt_g, "g", states["optimizers"])
            restore_optimizer(opt_d, "d", states["optimizers"])
        step = header["step"]
        if rank == 0:
            note(log, f"resuming from step {step}")
    elif init:
        states, header = load_checkpoint(init)
        nets.generator.load_state_dict(states["generator"])
        nets.embedder.load_state_dict(states["embedder"])
        rows = {k: v for k, v in states["discriminator"].items() if k != "W"}
        nets.discriminator.load_state_dict(rows, strict=False)
        if rank == 0:
            note(log, f"starting from {init} (step {header['step']})")
    content = ContentLoss(cfg.w_vgg19, cfg.w_vggface, cfg.w_l1, cfg.w_ssim, cfg.perceptual).to(dev)
    G, E, D = nets.generator, nets.embedder, nets.discriminator
    if distributed:
        G, E, D = (DDP(m, broadcast_buffers=False) for m in (G, E, D))
    amp = dict(device_type="cuda", dtype=torch.bfloat16, enabled=cfg.bf16 and dev.type == "cuda")
    rng = torch.Generator().manual_seed(cfg.seed * 1000 + rank + step)
    started, last = time.time(), {}

    def save(final: bool = False) -> Path | None:
        if rank == 0:
            return save_checkpoint(out, nets, {"g": opt_g, "d": opt_d}, step, cfg, dataset.names,
                                   compact=compact and final)
        return None

    while step < cfg.steps:
        ep = dataset.episode(cfg.batch, cfg.shots, cfg.size, rng, hard_targets=cfg.hard_targets)
        ref_draw = draw_landmarks(ep["ref_points"].flatten(0, 1), cfg.size).view_as(ep["references"])
        tgt_draw = draw_landmarks(ep["target_points"], cfg.size)
        adversarial = step >= cfg.adversarial_from

        # discriminator: hinge loss, real target vs generated target
        if adversarial:
            requires_grad(D, True)
            with torch.no_grad(), torch.autocast(**amp):
                e = E(ep["references"], ref_draw)
                out_g = G(ep["references"][:, 0], ep["ref_points"][:, 0], ep["target_points"], tgt_draw,
                          embedding=e)
            with torch.autocast(**amp):
                scores, _ = D(torch.cat([ep["target"], out_g["image"].float()]), tgt_draw.repeat(2, 1, 1, 1),
                              ep["video"].repeat(2))
                real_score, fake_score = scores.float().chunk(2)
                loss_d = hinge_d(real_score, fake_score)
            opt_d.zero_grad(set_to_none=True)
            loss_d.backward()
            opt_d.step()
            last["d"] = loss_d.item() if step % cfg.log_every == 0 else last.get("d", 0.0)

        # generator and embedder
        requires_grad(D, False)
        with torch.autocast(**amp):
            e = E(ep["references"], ref_draw)
            out_g = G(ep["references"][:, 0], ep["ref_points"][:, 0], ep["target_points"], tgt_draw,
                      embedding=e)
            fake = out_g["image"].float()
            terms = content(fake, ep["target"])
            terms["regions"] = cfg.w_regions * region_l1(fake, ep["target"], ep["target_points"])
            terms["colour"] = cfg.w_mask * out_g["new_colour"].float().mean()
            if adversarial:
                scores, feats = D(torch.cat([fake, ep["target"]]), tgt_draw.repeat(2, 1, 1, 1), ep["video"].repeat(2))
                fake_score = scores.chunk(2)[0]
                fake_feats, real_feats = zip(*(f.chunk(2) for f in feats))
                terms["adv"] = cfg.w_adv * hinge_g(fake_score.float())
                terms["fm"] = cfg.w_fm * feature_matching([f.float() for f in fake_feats],
                                                          [f.float() for f in real_feats])
                terms["mch"] = cfg.w_mch * (nets.discriminator.W[ep["video"]] - e.float()).abs().mean()
            loss_g = sum(terms.values())
        opt_g.zero_grad(set_to_none=True)
        loss_g.backward()
        opt_g.step()
        step += 1

        if rank == 0 and step % cfg.log_every == 0:
            elapsed = time.time() - started
            stats = " ".join(f"{k} {v.item():.4f}" for k, v in terms.items())
            note(log, f"step {step} {elapsed:.0f}s  G {loss_g.item():.4f} ({stats})  D {last.get('d', 0):.4f}")
        report(progress, step, cfg.steps, "meta-train")
        if step % cfg.checkpoint_every == 0:
            save()
        if cfg.minutes and time.time() - started > cfg.minutes * 60:
            break
    folder = save(final=True)
    if distributed:
        dist.barrier()
        dist.destroy_process_group()
    return folder, nets
