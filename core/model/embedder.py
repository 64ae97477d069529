"""Embedder E: frames of a person and their landmark drawings -> one identity vector (mean over frames)."""
import torch
import torch.nn as nn

from .blocks import Trunk


class Embedder(nn.Module):
    def __init__(self, dim: int = 256):
        super().__init__()
        self.trunk = Trunk(dim=dim, pool="mean")

    def forward(self, images: torch.Tensor, drawings: torch.Tensor) -> torch.Tensor:
        """images, drawings: (B, K, 3, S, S) -> (B, dim), the average of the K frames' embeddings."""
        b, k = images.shape[:2]
        e, _ = self.trunk(images.flatten(0, 1), drawings.flatten(0, 1))
        return e.view(b, k, -1).mean(1)
