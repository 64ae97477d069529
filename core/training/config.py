"""Every training setting in one place."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass


@dataclass
class TrainConfig:
    # model
    size: int = 256                 # crop side the model works at
    dim: int = 256                  # identity vector (embedder output) size
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
    perceptual: bool = True
    adversarial_from: int = 0       # step at which the adversarial terms switch on
    # bookkeeping
    checkpoint_every: int = 500
    log_every: int = 50
    seed: int = 0

    def replace(self, **changes) -> "TrainConfig":
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "TrainConfig":
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: (tuple(v) if isinstance(v, list) else v) for k, v in d.items() if k in names})
