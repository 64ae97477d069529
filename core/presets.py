"""The fine-tuning presets: how long a person model is fine-tuned on its photos, and how fast it learns.

Standard library only: the add-on lists them (its preset menu) without the worker's packages. The command
line offers their names as choices; a name from elsewhere (a worker job) becomes a preset through
`preset_named`, the one place an unknown name is refused. Fine-tuning itself takes a `Preset`.
"""
from __future__ import annotations

from dataclasses import dataclass

from .errors import UserError


@dataclass(frozen=True)
class Preset:
    name: str
    steps: int            # optimisation steps (0: the prior and the photo's embedding alone)
    lr: float             # the generator's learning rate
    lr_psi: float         # the learning rate of the person's AdaIN parameters
    batch: int            # pairs of references per step
    description: str      # what the add-on's preset menu and the command line's help say of it


INSTANT = Preset("instant", steps=0, lr=0.0, lr_psi=0.0, batch=1,
                 description="No fine-tuning: the prior and the photo's embedding alone (a moment)")
FAST = Preset("fast", steps=30, lr=2e-5, lr_psi=1e-3, batch=4,
              description="A short fine-tune (seconds on a GPU, a few minutes on a CPU)")
QUALITY = Preset("quality", steps=200, lr=2e-5, lr_psi=1e-3, batch=8,
                 description="A longer fine-tune that keeps more of the person's likeness")

PRESETS = (INSTANT, FAST, QUALITY)      # in the order of their cost, as the add-on's menu lists them
DEFAULT_PRESET = FAST
PRESET_NAMES = tuple(preset.name for preset in PRESETS)


def preset_named(name: str) -> Preset:
    """The preset called `name`; UserError for a name that is none of them."""
    for preset in PRESETS:
        if preset.name == name:
            return preset
    raise UserError(f"unknown preset {name!r}: use one of {', '.join(PRESET_NAMES)}")
