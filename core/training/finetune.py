"""Few-shot fine-tuning (Zakharov et al. 2019, section 3.3): from T >= 1 photos to a person model.

Initialisation follows the paper: the embedder's mean vector e over the T references gives the person's
AdaIN parameters psi = P e, and the discriminator's row for the new person starts at e. Then psi and the
generator are fine-tuned, gently, on pairs of references: with T >= 2, one reference is rendered from
another's landmarks (real data); with T = 1, the reference is rendered back from a copy of itself whose
head (and only the head: the pixels away from it stay exactly where they were, as a static camera's
background does) was moved by a small random similarity, which teaches the generator this person's detail
without teaching it to move backgrounds.
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch

from ..errors import UserError
from ..landmarks.draw import draw_landmarks
from ..model.embedder import Embedder
from ..model.generator import Generator
from ..model.losses import ContentLoss
from ..model.person import Person
from ..model.warp import head_region, warp_image
from ..presets import DEFAULT_PRESET, Preset
from ..progress import Progress, report
from .config import TrainConfig

W_MASK = TrainConfig.w_mask   # as in meta-learning: new colours only where the warp cannot do
DEFAULT_PRIOR = Path(__file__).resolve().parents[2] / "models" / "prior"
DEFAULT_MOUTH = Path(__file__).resolve().parents[2] / "models" / "mouth" / "painter.safetensors"
DEFAULT_EYES = Path(__file__).resolve().parents[2] / "models" / "eyes" / "painter.safetensors"


def load_prior(path: str | Path | None = None, device="cpu") -> tuple[Generator, Embedder | None, str]:
    """The meta-learned generator and embedder; without a prior, a generator that starts as the warp."""
    from .meta import load_checkpoint

    path = Path(path) if path else DEFAULT_PRIOR
    if not (path / "generator.safetensors").exists() and not (path / "latest").exists():
        if path != DEFAULT_PRIOR:
            raise UserError(f"no prior checkpoint in {path}: give a folder written by `python -m core meta-train`")
        return Generator().to(device), None, "none (untrained generator: the warp alone)"
    states, header = load_checkpoint(path)
    generator, embedder = Generator.from_config(header["config"]), Embedder(header["config"].get("dim", 256))
    generator.load_state_dict(states["generator"])
    embedder.load_state_dict(states["embedder"])
    return generator.to(device), embedder.to(device), f"{path.name} (step {header['step']})"


def load_painter_of(region: str, path: str | Path | None = None):
    """(the painter of `region`, "mouth" or "eyes", its name) from `path` or the shipped one; None where there
    is none shipped (a bare training tree; no eye painter is shipped yet) or `path` is "none"."""
    from ..model.painter import load_painter

    shipped = {"mouth": DEFAULT_MOUTH, "eyes": DEFAULT_EYES}[region]
    if path == "none" or (path is None and not shipped.exists()):
        return None
    painter, header = load_painter(Path(path) if path else shipped, region)
    return painter, f"{Path(path).name if path else 'models/' + region} (step {header.get('step')})"


def _crop_inputs(images: list[np.ndarray], points: list[np.ndarray], size: int):
    from ..landmarks.align import crop_box, crop_image, to_crop

    box = crop_box(points[0])
    crops = np.stack([crop_image(im, box, size) for im in images])
    pts = np.stack([to_crop(p, box, size) for p in points]).astype(np.float32)
    return box, crops, pts


def _random_similarity(points: torch.Tensor, gen: torch.Generator, strength: float = 1.0) -> torch.Tensor:
    """Move each face by a small random rotation, scale and shift about its centre."""
    n = points.shape[0]
    r = lambda: (torch.rand(n, generator=gen) * 2 - 1) * strength
    angle, scale = r() * math.radians(6), 1 + r() * 0.06
    centre = points.mean(1, keepdim=True)
    extent = (points.amax(1) - points.amin(1)).amax(-1)
    shift = torch.stack([r(), r()], -1) * extent[:, None] * 0.04
    c, s = torch.cos(angle) * scale, torch.sin(angle) * scale
    rot = torch.stack([torch.stack([c, -s], -1), torch.stack([s, c], -1)], -2)      # (n, 2, 2)
    return (points - centre) @ rot.transpose(1, 2) + centre + shift[:, None]


def fit_person(references: list[np.ndarray], points: list[np.ndarray], preset: Preset = DEFAULT_PRESET,
               device="auto", prior: str | Path | None = None, progress: Progress | None = None, size: int = 256,
               steps: int | None = None, seed: int = 0, mouth: str | Path | None = None,
               eyes: str | Path | None = None) -> Person:
    """Fine-tune a person model on T reference images (uint8 HxWx3) and their landmarks ((68, 2) px), as
    `preset` says (its number of steps unless `steps` is given). `mouth` and `eyes`: the painters' files
    (None: the shipped ones, where there are; "none": without)."""
    from ..device import pick_device

    if not references or len(references) != len(points):
        raise UserError("give at least one reference image with its landmarks")
    steps = preset.steps if steps is None else steps
    dev = pick_device(device)
    painters = {region: load_painter_of(region, path) for region, path in (("mouth", mouth), ("eyes", eyes))}
    # (before the fine-tune: a wrong path is said at once)
    generator, embedder, prior_name = load_prior(prior, dev)
    box, crops, pts = _crop_inputs(references, points, size)
    refs = torch.from_numpy(crops).permute(0, 3, 1, 2).float().to(dev) / 255       # (T, 3, S, S)
    ref_pts = torch.from_numpy(pts).to(dev)
    ref_draw = draw_landmarks(ref_pts, size)

    with torch.no_grad():
        e = embedder(refs[None], ref_draw[None]) if embedder is not None else torch.zeros(1, generator.P.in_features, device=dev)
        psi0 = generator.P(e)[0]
    psi = torch.nn.Parameter(psi0.clone())
    content = ContentLoss(perceptual=False).to(dev)
    opt = torch.optim.Adam([{"params": generator.parameters(), "lr": preset.lr},
                            {"params": [psi], "lr": preset.lr_psi}], betas=(0.5, 0.999))
    gen = torch.Generator().manual_seed(seed)
    t_count = len(refs)
    generator.train()
    for step in range(steps):
        b = preset.batch
        tgt = torch.randint(t_count, (b,), generator=gen)
        if t_count > 1:   # real pairs: render reference j from reference i's pixels
            src = (tgt + torch.randint(1, t_count, (b,), generator=gen)) % t_count
            source, source_pts = refs[src], ref_pts[src]
        else:             # one photo: a copy of it with the head moved, background still
            moved = _random_similarity(ref_pts[tgt].cpu(), gen).to(dev)
            head = torch.maximum(head_region(moved, size), head_region(ref_pts[tgt], size))
            source = head * warp_image(refs[tgt], ref_pts[tgt], moved) + (1 - head) * refs[tgt]
            source_pts = moved
        out = generator(source, source_pts, ref_pts[tgt], ref_draw[tgt], psi=psi.expand(b, -1))
        loss = sum(content(out["image"], refs[tgt]).values()) + W_MASK * out["new_colour"].mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        # No time estimate in the message: each front end (tqdm, the add-on's status bar) makes its own.
        report(progress, step + 1, steps, f"fine-tune: step {step + 1}, loss {loss.item():.4f}")
    generator.eval()
    config = {"dim": generator.P.in_features, "rules": generator.rules, "prior": prior_name, "preset": preset.name, "steps": steps,
              "shots": t_count, "size": size, **{region: None if p is None else p[1] for region, p in painters.items()}}
    return Person(generator.cpu(), psi.detach().cpu(), crops, pts, tuple(map(float, box)),
                  np.array(references[0], copy=True), np.asarray(points[0], np.float32), config,
                  **{region: None if p is None else p[0] for region, p in painters.items()})


def finetune(image_paths: list[str], out_path: str, preset: Preset = DEFAULT_PRESET, device: str = "auto",
             progress: Progress | None = None, prior: str | None = None, steps: int | None = None,
             mouth: str | None = None, eyes: str | None = None) -> str:
    """Detect landmarks on the photos, fine-tune, and write the person file. Returns its path."""
    from ..images import load_image
    from ..landmarks.detect import detect_landmarks

    if not image_paths:
        raise UserError("give at least one reference photo")
    out = Path(out_path)
    if not out.parent.exists() or not out.parent.is_dir():
        raise UserError(f"folder {out.parent} does not exist: create it or choose another --out")
    images = [load_image(p) for p in image_paths]
    points = [detect_landmarks(im).points for im in images]
    person = fit_person(images, points, preset, device, prior, progress, steps=steps, mouth=mouth, eyes=eyes)
    person.save(out)
    return str(out)
