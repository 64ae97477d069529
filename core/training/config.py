"""Every training setting in one place: meta-learning's (`TrainConfig`), the mouth painter's (`MouthConfig`)
and the eye painter's (`EyesConfig`). Fine-tuning's presets are `core.presets` (the add-on lists them)."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass


class Settings:
    """What both settings dataclasses do: copies with changes, and JSON round trips (lists back to tuples)."""

    def replace(self, **changes):
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict):
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: (tuple(v) if isinstance(v, list) else v) for k, v in d.items() if k in names})


@dataclass
class TrainConfig(Settings):
    # model
    size: int = 256                 # crop side the model works at
    dim: int = 256                  # identity vector (embedder output) size
    rules: int = 2                  # where new colours may go (Generator.new_colours says why)
    # episodes (meta-learning): K frames of one video embed the person, another frame is the target
    shots: int = 4
    batch: int = 16
    # optimisation (the paper: Adam, lr 5e-5 for G and E, 2e-4 for D)
    lr_g: float = 2e-4
    lr_d: float = 4e-4
    betas: tuple = (0.0, 0.99)
    steps: int = 20000
    minutes: float = 0.0            # stop after this many minutes (0: no limit), checkpointing first
    bf16: bool = True               # autocast to bfloat16 on CUDA
    # loss weights: the paper's (VGG19 1.5e-1, VGGFace 2.5e-2, FM 10, MCH 80, adversarial 1), plus the
    # offline content terms used when the perceptual networks cannot be loaded
    w_adv: float = 1.0
    w_fm: float = 10.0
    w_mch: float = 80.0
    w_vgg19: float = 1.5e-1
    w_vggface: float = 2.5e-2
    w_l1: float = 10.0
    w_ssim: float = 1.0
    w_mask: float = 2.0             # penalises new colours: the photo's own (sharp) pixels unless they clearly pay off
    w_regions: float = 20.0         # extra L1 over the eyes and the mouth, where the warp is weakest
    hard_targets: float = 0.4       # share of episodes whose target is a blink or a wide-open mouth
    perceptual: bool = True
    adversarial_from: int = 0       # step at which the adversarial terms switch on
    # bookkeeping
    checkpoint_every: int = 500
    log_every: int = 50
    seed: int = 0


@dataclass
class PainterConfig(Settings):
    """What the painters' training (training/painter.py) shares: supervised, on pairs of frames of one video."""
    res_blocks: int = 2
    videos_per_step: int = 8        # each step's pairs drawn from this many videos (a video's pairs cut together)
    colour_jitter: float = 0.1      # each video's colours scaled by up to this (and half of them mirrored)
    lr: float = 5e-5
    betas: tuple = (0.9, 0.99)
    w_outside: float = 0.3          # L1 weight of the crop outside the evaluation's box (inside: 1)
    w_ssim: float = 0.5             # 1 - SSIM over the crop: the structure of teeth, lips, lids and lashes
    steps: int = 200000
    minutes: float = 0.0            # stop after this many minutes (0: no limit), checkpointing first
    bf16: bool = True
    val_every: int = 100
    checkpoint_every: int = 2000
    log_every: int = 100
    seed: int = 0


@dataclass
class MouthConfig(PainterConfig):
    """The mouth painter's training."""
    channels: tuple = (16, 32, 64, 128, 256)
    batch: int = 128                # pairs per step
    open_share: float = 0.7         # share of targets drawn from the video's open mouths


@dataclass
class EyesConfig(PainterConfig):
    """The eye painter's training; a pair gives two crops (its two eyes), so half the mouth's pairs a step make
    as many crops."""
    channels: tuple = (8, 16, 32, 64, 128)   # half the mouth's widths, a quarter of its cost: it runs twice a frame
    batch: int = 64                 # pairs per step (two eye crops each)
    closed_share: float = 0.5       # share of targets drawn from the video's blinks and squints
    wide_share: float = 0.15        # and from its wide eyes


PAINTER_CONFIGS = {"mouth": MouthConfig, "eyes": EyesConfig}   # each painter region's settings
