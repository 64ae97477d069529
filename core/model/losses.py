"""The losses of Zakharov et al. 2019 (section 3.2) and the offline content loss that stands in for VGG.

  content   L_CNT: L1 between VGG19 features (ImageNet) and VGGFace features of real and generated frames
  adversarial L_ADV: hinge loss on the projection discriminator's realism score, plus feature matching L_FM
  match     L_MCH: L1 between the discriminator's row W_i and the embedder's vector for video i

The perceptual networks' weights are downloaded by torch for online users. Offline, or where they fail to
load, the content term is pixel L1 plus structural dissimilarity (1 - SSIM), which are also the protocol's
own measures of fidelity.
"""
from __future__ import annotations

import logging
import os

import torch
import torch.nn as nn
import torch.nn.functional as F

log = logging.getLogger(__name__)

VGG19_URL = "https://download.pytorch.org/models/vgg19-dcbb9e9d.pth"
# VGG19's convolution widths ("M" is a max-pool), as torchvision's `vgg19().features` lays them out.
VGG19_LAYOUT = [64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M", 512, 512, 512, 512]
VGG19_TAPS = (1, 6, 11, 20, 29)   # relu1_1, relu2_1, relu3_1, relu4_1, relu5_1 (indices in `features`)


def ssim(a: torch.Tensor, b: torch.Tensor, window: int = 7) -> torch.Tensor:
    """Mean SSIM with a uniform 7x7 window, as scikit-image computes it by default (data range 1)."""
    c1, c2 = 0.01 ** 2, 0.03 ** 2
    pool = lambda x: F.avg_pool2d(x, window, stride=1)
    mu_a, mu_b = pool(a), pool(b)
    n = window * window
    cov = n / (n - 1)   # scikit-image uses the sample covariance
    var_a = (pool(a * a) - mu_a ** 2) * cov
    var_b = (pool(b * b) - mu_b ** 2) * cov
    cov_ab = (pool(a * b) - mu_a * mu_b) * cov
    s = ((2 * mu_a * mu_b + c1) * (2 * cov_ab + c2)) / ((mu_a ** 2 + mu_b ** 2 + c1) * (var_a + var_b + c2))
    return s.mean()


class VGG19Features(nn.Module):
    """VGG19's convolutional trunk, returning the activations the content loss compares."""

    def __init__(self):
        super().__init__()
        layers, cin = [], 3
        for v in VGG19_LAYOUT:
            if v == "M":
                layers.append(nn.MaxPool2d(2))
            else:
                layers += [nn.Conv2d(cin, v, 3, padding=1), nn.ReLU(inplace=False)]
                cin = v
        self.features = nn.Sequential(*layers)
        self.register_buffer("mean", torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1))
        self.requires_grad_(False)

    def forward(self, x):
        x = (x - self.mean) / self.std
        out = []
        for i, layer in enumerate(self.features):
            x = layer(x)
            if i in VGG19_TAPS:
                out.append(x)
            if i >= VGG19_TAPS[-1]:
                break
        return out


def load_vgg19() -> VGG19Features | None:
    """VGG19 with ImageNet weights from torch's cache (downloading them when online), else None."""
    from .. import online

    if not online.may_fetch(VGG19_URL):
        online.skipped("VGG19's ImageNet weights (fine-tuning uses the offline content loss, L1 + SSIM)")
        return None
    model = VGG19Features()
    try:
        state = torch.hub.load_state_dict_from_url(VGG19_URL, progress=False, map_location="cpu",
                                                   weights_only=True)
        model.load_state_dict({k: v for k, v in state.items() if k.startswith("features.")}, strict=False)
        return model.eval()
    except Exception as e:  # offline, or a broken cache: fall back, and say so once
        log.warning("VGG19 weights unavailable (%s); using the offline content loss (L1 + SSIM)",
                    str(e).splitlines()[0][:80])
        return None


def load_vggface() -> VGG19Features | None:
    """VGGFace weights where the user has put them (TALKING_HEADS_VGGFACE=path to a safetensors file of a
    VGG trunk in VGG19Features' naming); there is no official download, so none is attempted."""
    path = os.environ.get("TALKING_HEADS_VGGFACE")
    if not path or not os.path.exists(path):
        return None
    from safetensors.torch import load_file

    model = VGG19Features()
    model.load_state_dict(load_file(path), strict=False)
    return model.eval()


class ContentLoss(nn.Module):
    """L_CNT: the paper's VGG19 + VGGFace perceptual terms where available, else L1 + (1 - SSIM)."""

    def __init__(self, w_vgg19=1.5e-1, w_vggface=2.5e-2, w_l1=10.0, w_ssim=1.0, perceptual: bool = True):
        super().__init__()
        self.vgg19 = load_vgg19() if perceptual else None
        self.vggface = load_vggface() if perceptual else None
        self.w_vgg19, self.w_vggface, self.w_l1, self.w_ssim = w_vgg19, w_vggface, w_l1, w_ssim

    @property
    def offline(self) -> bool:
        return self.vgg19 is None

    def forward(self, fake: torch.Tensor, real: torch.Tensor) -> dict:
        terms = {"l1": self.w_l1 * (fake - real).abs().mean(), "ssim": self.w_ssim * (1 - ssim(fake, real))}
        for name, net, w in (("vgg19", self.vgg19, self.w_vgg19), ("vggface", self.vggface, self.w_vggface)):
            if net is not None:
                terms[name] = w * sum(F.l1_loss(a, b) for a, b in zip(net(fake), net(real)))
        return terms


def hinge_d(real_score: torch.Tensor, fake_score: torch.Tensor) -> torch.Tensor:
    return F.relu(1 - real_score).mean() + F.relu(1 + fake_score).mean()


def hinge_g(fake_score: torch.Tensor) -> torch.Tensor:
    return -fake_score.mean()


def feature_matching(fake_features, real_features) -> torch.Tensor:
    return sum(F.l1_loss(f, r.detach()) for f, r in zip(fake_features, real_features))


def _box_mask(points: torch.Tensor, size: int, group: slice, tall: float | None) -> torch.Tensor:
    """(B, size, size): one over the evaluation's box of one group of landmarks (B, 68, 2): 1.3x its width,
    and `tall` x that width high (None: 1.3x its height)."""
    axis = torch.arange(size, device=points.device, dtype=points.dtype)
    lo, hi = points[:, group].amin(1), points[:, group].amax(1)                       # (B, 2)
    centre, extent = (lo + hi) / 2, (hi - lo) * 1.3
    half_w = extent[:, 0] / 2
    half_h = extent[:, 0] * tall / 2 if tall else extent[:, 1] / 2
    inside_x = (axis[None] - centre[:, :1]).abs() <= half_w[:, None]                   # (B, S)
    inside_y = (axis[None] - centre[:, 1:]).abs() <= half_h[:, None]
    return (inside_y[:, :, None] & inside_x[:, None, :]).to(points.dtype)


def region_mask(points: torch.Tensor, size: int) -> torch.Tensor:
    """(B, 1, size, size): one over boxes around both eyes and the mouth of the landmarks (B, 68, 2), the
    regions the evaluation scores apart (eyes 1.3x their width and 0.6x it tall, the mouth 1.3x its box)."""
    masks = [_box_mask(points, size, group, tall)
             for group, tall in ((slice(36, 42), 0.6), (slice(42, 48), 0.6), (slice(48, 68), None))]
    return torch.stack(masks).amax(0)[:, None]


def mouth_mask(points: torch.Tensor, size: int) -> torch.Tensor:
    """(B, 1, size, size): one over the evaluation's mouth box (1.3x the box of points 48-67)."""
    return _box_mask(points, size, slice(48, 68), None)[:, None]


def region_l1(fake: torch.Tensor, real: torch.Tensor, points: torch.Tensor) -> torch.Tensor:
    """Mean absolute error over the eyes' and the mouth's boxes alone: where a warp is weakest, and where
    the whole-frame L1 barely notices a closed lid or an open mouth."""
    mask = region_mask(points, fake.shape[-1])
    return ((fake - real).abs() * mask).sum() / (mask.sum() * fake.shape[1]).clamp_min(1.0)
