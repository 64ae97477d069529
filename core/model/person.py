"""A person model: everything needed to render one person, in one safetensors file.

It holds the fine-tuned generator, the person's AdaIN parameters psi, the reference crops with their
landmarks, the full reference image with the crop box, so that frames can be rendered at the reference's
own size and framing, and the painters those frames' mouths and eyes are painted with (mouth.py, eyes.py;
person files without one render without it). `PersonRenderer` is the whole rendering path as one torch module (input:
landmarks in reference-image pixels; output: the crop), which is also what the ONNX export contains.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn

from .. import __version__
from ..landmarks.draw import draw_landmarks
from .files import load_tensors, save_tensors
from .generator import Generator
from ..landmarks.align import native_box, paste_box
from .painter import Painter, painter_from
from .native import NativeRenderer, repaint

PERSON = "talking-heads-person"
PERSON_VERSION = 2    # 2: the three-source generator (warp, reference, new colours)


class PersonRenderer(nn.Module):
    """landmarks (B, 68, 2) in reference-image pixels -> image (B, 3, S, S) in [0, 1], the person's crop,
    its mouth and eyes painted by the painters where the person has them.

    With several references, each frame is warped from the reference whose face shape is closest to the
    driver's (after removing position and scale), so more shots give better starting points."""

    def __init__(self, generator: Generator, psi: torch.Tensor, references: torch.Tensor,
                 ref_points: torch.Tensor, box: tuple[float, float, float], mouth: Painter | None = None,
                 eyes: Painter | None = None):
        super().__init__()
        self.generator = generator
        self.mouth = mouth
        self.eyes = eyes
        self.size = references.shape[-1]
        self.register_buffer("psi", psi.reshape(1, -1).float())
        self.register_buffer("references", references.float())        # (T, 3, S, S) in [0, 1]
        self.register_buffer("ref_points", ref_points.float())        # (T, 68, 2) crop pixels
        self.register_buffer("origin", torch.tensor(box[:2], dtype=torch.float32))
        self.scale = float(self.size / box[2])
        self.register_buffer("face_box", torch.tensor([[0.0, 0.0, float(self.size)]]))   # the crop itself

    @staticmethod
    def _shape(points: torch.Tensor) -> torch.Tensor:
        centred = points - points.mean(-2, keepdim=True)
        return centred / centred.norm(dim=(-2, -1), keepdim=True).clamp_min(1e-6)

    def forward(self, landmarks: torch.Tensor) -> torch.Tensor:
        parts = self.parts(landmarks)
        return repaint(parts["image"], (self.mouth, self.eyes), parts["reference"], parts["ref_points"],
                       parts["drv_points"], self.face_box)

    def parts(self, landmarks: torch.Tensor) -> dict:
        """The generator's image and its parts (weights, colours) for landmarks in reference-image pixels, with
        the reference each frame was warped from and the landmarks in the crop's pixels."""
        drv = (landmarks - self.origin) * self.scale
        distance = (self._shape(drv)[:, None] - self._shape(self.ref_points)[None]).square().sum((-2, -1))
        nearest = distance.argmin(1)                                  # (B,)
        reference = self.references[nearest]
        ref_points = self.ref_points[nearest]
        drawing = draw_landmarks(drv, self.size)
        psi = self.psi.expand(landmarks.shape[0], -1)
        return {**self.generator(reference, ref_points, drv, drawing, psi=psi), "reference": reference,
                "ref_points": ref_points, "drv_points": drv}


@dataclass
class Person:
    generator: Generator
    psi: torch.Tensor                  # (n,) AdaIN parameters
    references: np.ndarray             # (T, S, S, 3) uint8 crops
    ref_points: np.ndarray             # (T, 68, 2) crop pixels
    box: tuple[float, float, float]    # crop of the first reference, in reference-image pixels (x, y, side)
    image: np.ndarray                  # (H, W, 3) uint8, the full first reference
    image_points: np.ndarray           # (68, 2) its landmarks in image pixels
    config: dict
    mouth: Painter | None = None       # paints the mouths of frames at the photo's resolution
    eyes: Painter | None = None        # and their eyes

    @property
    def size(self) -> int:
        return int(self.references.shape[1])

    def renderer(self) -> PersonRenderer:
        refs = torch.from_numpy(self.references).permute(0, 3, 1, 2).float() / 255
        return PersonRenderer(self.generator, self.psi, refs, torch.from_numpy(self.ref_points), self.box,
                              self.mouth, self.eyes).eval()

    def native_renderer(self) -> NativeRenderer:
        """The renderer of frames at the photo's own resolution (its face box, to `paste` into the photo)."""
        return NativeRenderer(self.renderer(), self.image, self.image_points, self.box, self.mouth,
                               eyes=self.eyes).eval()

    @property
    def native_box(self) -> tuple[int, int, int]:
        return native_box(self.box)

    @torch.no_grad()
    def render_crops(self, points: np.ndarray, device: str | torch.device = "cpu", batch: int = 16) -> np.ndarray:
        """(N, 68, 2) landmarks in reference-image pixels -> (N, S, S, 3) uint8 crops."""
        module = self.renderer().to(device)
        out = []
        for i in range(0, len(points), batch):
            x = torch.as_tensor(np.asarray(points[i:i + batch], np.float32), device=device)
            out.append((module(x).clamp(0, 1) * 255 + 0.5).byte().permute(0, 2, 3, 1).cpu().numpy())
        return np.concatenate(out) if out else np.zeros((0, self.size, self.size, 3), np.uint8)

    @torch.no_grad()
    def render_frames(self, points: np.ndarray, device: str | torch.device = "cpu", batch: int = 4) -> np.ndarray:
        """(N, 68, 2) landmarks -> (N, H, W, 3) uint8 frames at the reference's own size and framing."""
        module = self.native_renderer().to(device)
        x0, y0, _ = self.native_box
        frames = []
        for i in range(0, len(points), batch):
            x = torch.as_tensor(np.asarray(points[i:i + batch], np.float32), device=device)
            boxes = (module(x).clamp(0, 1) * 255 + 0.5).byte().permute(0, 2, 3, 1).cpu().numpy()
            frames.extend(paste_box(self.image, b, x0, y0) for b in boxes)
        return np.stack(frames) if frames else np.zeros((0, *self.image.shape), np.uint8)

    def save(self, path: str | Path) -> None:
        gen = {f"generator.{k}": v.half() if v.is_floating_point() else v
               for k, v in self.generator.state_dict().items()}
        tensors = {**gen, "psi": self.psi.float(), "references": torch.from_numpy(self.references),
                   "ref_points": torch.from_numpy(self.ref_points.astype(np.float32)),
                   "image": torch.from_numpy(np.ascontiguousarray(self.image)),
                   "image_points": torch.from_numpy(self.image_points.astype(np.float32))}
        header = {"format": PERSON, "version": PERSON_VERSION, "box": list(map(float, self.box)),
                  "software": f"Neural Talking Heads {__version__}", "config": self.config}
        for region, painter in (("mouth", self.mouth), ("eyes", self.eyes)):
            if painter is not None:
                tensors.update({f"{region}.{k}": v.half() for k, v in painter.state_dict().items()})
                header[region] = painter.shape()
        save_tensors(path, tensors, header)


def load_person(path: str | Path) -> Person:
    tensors, header = load_tensors(path, PERSON, PERSON_VERSION)
    from ..errors import UserError

    try:
        gen_state = {k[len("generator."):]: v.float() for k, v in tensors.items() if k.startswith("generator.")}
        generator = Generator.from_config(header["config"])
        generator.load_state_dict(gen_state)
        painters = {region: painter_from({k[len(region) + 1:]: v for k, v in tensors.items()
                                          if k.startswith(f"{region}.")}, header[region])
                    for region in ("mouth", "eyes") if region in header}
        return Person(generator.eval(), tensors["psi"].float(), tensors["references"].numpy(),
                      tensors["ref_points"].numpy(), tuple(header["box"]), tensors["image"].numpy(),
                      tensors["image_points"].numpy(), header["config"], **painters)
    except (KeyError, RuntimeError, TypeError, ValueError):
        raise UserError(f"{path} is a damaged person file (missing or mismatched tensors): fine-tune it again") from None

