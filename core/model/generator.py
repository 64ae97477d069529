"""Generator G: the reference warped onto the driver's landmarks, corrected, inpainted and blended.

G is a U-Net over (the reference warped onto the driver's landmarks, the reference as it is, the driver's
landmark drawing). As in the paper, the person enters through adaptive instance normalisation: every
decoder normalisation takes its scale and bias from psi = P e, where e is the embedder's identity vector;
few-shot fine-tuning starts psi there and then frees it.

G composes its output from three sources, with per-pixel weights that sum to one (cf. First Order Motion
Model's occlusion map): the warped reference (the face, moved), the unwarped reference (what stays still:
a static camera's background, which the warp's mesh drags along with the face), and new colours (the
inside of an opening mouth, uncovered background). Two of the three are the photo's own sharp pixels,
which keeps identity. Two rules, not learned, keep it on new people: over the driver's and the
reference's heads (the landmarks' hull with forehead, hair and ears: `warp.head_region`) the unwarped
reference is ruled out, since there it would ghost the photo's face and hair where they were; and new
colours go only where the photo cannot show what the driver shows (`Generator.new_colours`), since
elsewhere they soften skin, eyes and brows (on held-out people restricting them to the mouth took the dlib
identity distance from 0.328 to 0.263, the warp's being 0.264: benchmarks/RESULTS.md). Rule set 2 adds
closing lids and keeps the photo wherever it is right, so that at the photo's own landmarks the frame is
the photo (model/native.py renders it at the photo's resolution). With the warp's weight at one, G is
the protocol's `warp` baseline exactly; that is where training starts. (A learned flow refining the warp
was tried and dropped: on new people it bent their features at rest and cost identity.)
"""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from .warp import eye_closure, eye_openings, head_region, mouth_opening, mouth_widening, warp_grid


class AdaIN(nn.Module):
    """Instance normalisation whose scale and bias come from the person's parameters psi."""

    def __init__(self, channels: int):
        super().__init__()
        self.channels = channels
        self.norm = nn.InstanceNorm2d(channels, affine=False)

    def forward(self, x: torch.Tensor, params: torch.Tensor) -> torch.Tensor:
        scale, bias = params[:, : self.channels], params[:, self.channels:]
        return self.norm(x) * (1 + scale[:, :, None, None]) + bias[:, :, None, None]


class ResAdaIN(nn.Module):
    def __init__(self, channels: int):
        super().__init__()
        self.norm1, self.norm2 = AdaIN(channels), AdaIN(channels)
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=1)
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1)
        self.sizes = [2 * channels, 2 * channels]

    def forward(self, x, params):
        a, b = params.split(self.sizes, 1)
        h = self.conv1(F.relu(self.norm1(x, a)))
        return x + self.conv2(F.relu(self.norm2(h, b)))


class Up(nn.Module):
    """Upsample, concatenate the encoder's skip, convolve, AdaIN."""

    def __init__(self, cin: int, cskip: int, cout: int):
        super().__init__()
        self.conv = nn.Conv2d(cin + cskip, cout, 3, padding=1)
        self.norm = AdaIN(cout)
        self.sizes = [2 * cout]

    def forward(self, x, skip, params):
        x = F.interpolate(x, scale_factor=2.0, mode="nearest")
        return F.relu(self.norm(self.conv(torch.cat([x, skip], 1)), params))


class Generator(nn.Module):
    def __init__(self, dim: int = 256, channels=(16, 32, 64, 128, 256), res_blocks: int = 2, rules: int = 1):
        super().__init__()
        self.rules = rules      # which fixed rules say where new colours may go (a setting of the prior)
        c = channels
        self.stem = nn.Conv2d(9, c[0], 3, padding=1)
        self.down = nn.ModuleList(nn.Conv2d(a, b, 4, stride=2, padding=1) for a, b in zip(c[:-1], c[1:]))
        self.res = nn.ModuleList(ResAdaIN(c[-1]) for _ in range(res_blocks))
        self.up = nn.ModuleList(Up(c[i + 1], c[i], c[i]) for i in reversed(range(len(c) - 1)))
        self.head = nn.Conv2d(c[0], 6, 3, padding=1)   # rgb; logits of the warp, the reference, the rgb
        self.sizes = [sum(block.sizes) for block in [*self.res, *self.up]]   # psi's share of each block
        self.P = nn.Linear(dim, sum(self.sizes))         # the paper's projection matrix P: e -> psi
        nn.init.zeros_(self.head.weight)
        nn.init.zeros_(self.head.bias)
        with torch.no_grad():
            self.head.bias[3] = 4.0                      # the warp's weight ~ 0.96: start from the warp
            self.P.weight.mul_(0.1)

    @classmethod
    def from_config(cls, config: dict) -> "Generator":
        """The generator a checkpoint's or person file's config describes (files before rule set 2: 1)."""
        rules = config.get("rules", 2 if config.get("paint_eyes") else 1)
        return cls(config.get("dim", 256), rules=int(rules))

    def forward(self, reference: torch.Tensor, ref_points: torch.Tensor, drv_points: torch.Tensor,
                drawing: torch.Tensor, psi: torch.Tensor | None = None, embedding: torch.Tensor | None = None,
                grid_size: int = 64) -> dict:
        """reference: (B, 3, S, S) crop in [0, 1]; points (B, 68, 2) in crop pixels; drawing (B, 3, S, S) of the
        driver; the person as psi (B, sum(sizes)) or as the embedder's vector (B, dim), psi = P e.
        Returns the image and its parts, all (B, C, S, S)."""
        if psi is None:
            psi = self.P(embedding)
        size = int(reference.shape[-1])   # a constant in an ONNX export: kernel sizes derive from it
        grid = warp_grid(ref_points, drv_points, size, grid_size)
        warped = F.grid_sample(reference, grid, mode="bilinear", padding_mode="border", align_corners=True)

        h = self.stem(torch.cat([warped * 2 - 1, reference * 2 - 1, drawing * 2 - 1], 1))
        skips = [h]
        for conv in self.down:
            h = conv(F.relu(h))
            skips.append(h)
        params = psi.split(self.sizes, 1)
        for i, block in enumerate(self.res):
            h = block(h, params[i])
        for j, (block, skip) in enumerate(zip(self.up, reversed(skips[:-1]))):
            h = block(h, skip, params[len(self.res) + j])
        out = self.head(F.relu(h))

        colour = torch.sigmoid(out[:, :3])
        # Where the head is or was, the unwarped reference is never right (it would ghost the photo's face and
        # hair where they were): there only the warp and new colours may be used.
        drv_head = head_region(drv_points, size, grid_size)    # two calls, not one on both: in an ONNX export
        ref_head = head_region(ref_points, size, grid_size)    # the batch must stay free
        head = torch.maximum(drv_head, ref_head)
        logits = out[:, 3:6]
        keep = torch.cat([torch.ones_like(head), 1 - head, self.new_colours(drv_points, ref_points, drv_head,
                                                                           ref_head, size)], 1)
        odds = torch.exp(logits - logits.amax(1, keepdim=True))             # a softmax over what is allowed
        if self.rules == 1:
            weights = odds * keep / (odds * keep).sum(1, keepdim=True)
        else:
            # Bounded by the allowance, not only weighed by it: where a soft edge allows a little, the network
            # gets a little, however large its logit (a masked logit is never trained down: it came through
            # as a rainbow beside the eyes); the warp takes the rest.
            odds = odds * (keep > 0)
            bounded = (odds[:, 1:] / odds.sum(1, keepdim=True)) * keep[:, 1:]
            weights = torch.cat([1 - bounded.sum(1, keepdim=True), bounded], 1)
        image = weights[:, 0:1] * warped + weights[:, 1:2] * reference + weights[:, 2:3] * colour
        return {"image": image, "warped": warped, "colour": colour, "weights": weights,
                "new_colour": weights[:, 2:3]}

    def new_colours(self, drv_points, ref_points, drv_head, ref_head, size: int) -> torch.Tensor:
        """(B, 1, S, S) in [0, 1]: where new colours may be used. Over the driver's head the warp holds the
        photo's own sharp skin, eyes, brows and hair, which is what identity is made of, so new colours go
        only where the photo cannot show what the driver shows.
        Rule set 1: in and around the mouth's opening (teeth, tongue, the lips' inner edge), and anywhere
        off the head. Rule set 2 (the priors since 2026-12-01) keeps the photo wherever it is right, so that
        at the photo's own landmarks the frame is the photo: the mouth's opening only as far as it opens
        beyond the photo's (edges soft), the lids once the eyes are more than half closed beyond the photo's
        (a closing lid is skin the photo never showed: the warp squashes the open eye into a dark slit), and
        off the head only the background the head uncovers as it moves away. How far is far enough is in
        `warp.mouth_widening` and `warp.eye_closure`."""
        if self.rules == 1:
            return torch.maximum(1 - drv_head, mouth_opening(drv_points, size, grow=size // 128))
        mouth = mouth_opening(drv_points, size, grow=size // 128, soften=True)
        lids = eye_openings(drv_points, size, grow=max(1, 3 * size // 256))
        mouth, lids = mouth * mouth_widening(drv_points, ref_points), lids * eye_closure(drv_points, ref_points)
        return torch.maximum(torch.maximum(mouth, lids), (ref_head - drv_head).clamp_min(0))
