"""A person model on torch as a renderer: landmarks (N, 68, 2) in the reference's pixels -> (N, 3, H, W) in
[0, 1]: the photo's face box at its own resolution (`native`, see core/model/native.py), or the model's
square crop. The ONNX export renders the same way (`export.onnx_model.OnnxRenderer`)."""
from __future__ import annotations

import numpy as np

from .device import pick_device


class TorchBackend:
    def __init__(self, person, device, native: bool = True):
        import torch

        self.device = pick_device(device)
        self.module = (person.native_renderer() if native else person.renderer()).to(self.device)
        self.torch = torch

    def __call__(self, points: np.ndarray) -> np.ndarray:
        with self.torch.no_grad():
            return self.module(self._tensor(points)).clamp(0, 1).cpu().numpy()

    def matte(self, points: np.ndarray) -> np.ndarray:
        """(N, 1, H, W) in [0, 1]: the head of each frame (native renderer only), for compositing."""
        with self.torch.no_grad():
            return self.module.matte(self._tensor(points)).clamp(0, 1).cpu().numpy()

    def _tensor(self, points: np.ndarray):
        return self.torch.as_tensor(points, dtype=self.torch.float32, device=self.device)
