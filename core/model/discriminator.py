"""Projection discriminator D with one embedding row W_i per training video (Zakharov et al., eq. 5-6).

realism(x, y, i) = v(x, y) . (W_i + w0) + b, where v is the trunk's vector for image x and its landmark
drawing y. Its intermediate features serve the feature-matching loss.
"""
import torch
import torch.nn as nn

from .blocks import Trunk


class Discriminator(nn.Module):
    def __init__(self, num_videos: int, dim: int = 256):
        super().__init__()
        self.trunk = Trunk(dim=dim)
        self.W = nn.Parameter(torch.randn(num_videos, dim) * 0.02)
        self.w0 = nn.Parameter(torch.zeros(dim))
        self.b = nn.Parameter(torch.zeros(()))

    def forward(self, image: torch.Tensor, drawing: torch.Tensor, video: torch.Tensor):
        v, features = self.trunk(image, drawing)
        realism = (v * (self.W[video] + self.w0)).sum(1) + self.b
        return realism, features
