"""The device choice: `auto` takes CUDA where it is available; asking for CUDA without it is the user's error."""
from __future__ import annotations

import torch

from .errors import UserError


def pick_device(device: str = "auto") -> torch.device:
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise UserError("CUDA was asked for but no CUDA device is available: use --device cpu")
    return torch.device(device)
