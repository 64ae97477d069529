"""Building blocks shared by the embedder and the discriminator (BigGAN-style residual blocks)."""
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.utils.parametrizations import spectral_norm


def sn_conv(cin: int, cout: int, k: int = 3) -> nn.Conv2d:
    return spectral_norm(nn.Conv2d(cin, cout, k, padding=k // 2))


class ResDown(nn.Module):
    """Residual block that halves the resolution; spectral norm on every convolution (as in the paper)."""

    def __init__(self, cin: int, cout: int, first: bool = False):
        super().__init__()
        self.first = first
        self.conv1, self.conv2 = sn_conv(cin, cout), sn_conv(cout, cout)
        self.skip = sn_conv(cin, cout, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = x if self.first else F.relu(x)
        h = self.conv2(F.relu(self.conv1(h)))
        return F.avg_pool2d(h, 2) + F.avg_pool2d(self.skip(x), 2)


class Trunk(nn.Module):
    """Image + landmark drawing (6 channels) -> a vector, keeping every stage's features.

    The discriminator sum-pools, as in the paper; the embedder mean-pools, which keeps its vectors on the
    scale of the discriminator's rows that the embedding-match term ties them to."""

    def __init__(self, channels=(32, 64, 128, 256, 256), dim: int = 256, pool: str = "sum"):
        super().__init__()
        self.pool = pool
        cins = (6,) + tuple(channels[:-1])
        self.blocks = nn.ModuleList(ResDown(a, b, first=i == 0) for i, (a, b) in enumerate(zip(cins, channels)))
        self.out = spectral_norm(nn.Linear(channels[-1], dim))

    def forward(self, image: torch.Tensor, drawing: torch.Tensor):
        h = torch.cat([image * 2 - 1, drawing * 2 - 1], 1)
        features = []
        for block in self.blocks:
            h = block(h)
            features.append(h)
        h = F.relu(h)
        pooled = h.sum(dim=(2, 3)) if self.pool == "sum" else h.mean(dim=(2, 3))
        return self.out(pooled), features
