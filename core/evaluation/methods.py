"""Methods under evaluation: `copy` and `warp` (the protocol's baselines), `model` (a fine-tuned person model)
and `dir:PATH` (crops another program wrote)."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional, Sequence

import numpy as np

from ..errors import UserError
from ..presets import DEFAULT_PRESET, Preset
from ..progress import Progress
from .metrics import unit, ssim
from .protocol import SIZE, VideoCase

Method = Callable[[Sequence[np.ndarray], Sequence[np.ndarray], Sequence[np.ndarray]], Sequence[np.ndarray]]


def _reference_crop(references, reference_points):
    """The protocol crop of the first reference, its box, and the landmarks in it."""
    from ..landmarks.align import crop_box, crop_image

    box = crop_box(reference_points[0])
    return crop_image(references[0], box, SIZE), box, _crop_points(reference_points[0], box)


def _crop_points(points: np.ndarray, box) -> np.ndarray:
    """Image -> crop coordinates, in float64 and in the reference implementation's order of operations.

    Not `align.to_crop` (float32, matrix form): the warp's output is truncated to uint8, so a last-bit
    difference in a coordinate flips pixels that sit exactly on an integer, and dlib's AKD on the result
    moves by a few hundredths of a pixel away from the protocol's published figures.
    """
    x, y, side = box
    return (np.asarray(points, np.float64) - [x, y]) * SIZE / side


def copy_method(references, reference_points, drivers) -> list[np.ndarray]:
    """The reference crop itself, for every driver."""
    crop, _, _ = _reference_crop(references, reference_points)
    return [crop] * len(drivers)


def piecewise_affine_warp(image: np.ndarray, source: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Move `source` landmarks of a crop onto `target`: one affine map per triangle of a Delaunay mesh over
    the 68 points and 8 fixed points on the crop border (corners and edge midpoints), edges replicated."""
    from skimage.transform import PiecewiseAffineTransform, warp

    size = image.shape[0]
    end, mid = size - 1, size / 2
    border = np.array([[0, 0], [mid, 0], [end, 0], [end, mid], [end, end], [mid, end], [0, end], [0, mid]])
    # skimage's warp maps output pixels to input pixels, so the transform goes from target to source.
    transform = PiecewiseAffineTransform.from_estimate(
        np.vstack([target, border]).astype(np.float64), np.vstack([source, border]).astype(np.float64))
    if not transform:  # a degenerate driver (coincident points): no mesh to warp along, the reference stands
        return image.copy()
    out = warp(unit(image), transform, output_shape=image.shape[:2], mode="edge")
    # Truncated, not rounded, to uint8: the protocol's reference implementation does so, and its figures stand.
    return (np.clip(out, 0, 1) * 255).astype(np.uint8)


def warp_method(references, reference_points, drivers) -> list[np.ndarray]:
    """The reference crop warped piecewise-affinely from its landmarks onto each driver's."""
    crop, box, points = _reference_crop(references, reference_points)
    return [piecewise_affine_warp(crop, points, _crop_points(d, box)) for d in drivers]


def model_method(prior: Optional[str] = None, preset: Preset = DEFAULT_PRESET, device: str = "auto",
                 progress: Optional[Progress] = None) -> Method:
    """Fine-tune a person model on the references (from `prior`), then render the drivers."""

    def generate(references, reference_points, drivers) -> list[np.ndarray]:
        from ..training.finetune import fit_person

        person = fit_person(list(references), list(reference_points), preset=preset, device=device,
                            prior=prior, progress=progress)
        return list(person.render_crops(np.stack(drivers).astype(np.float32)))

    return generate


@dataclass(frozen=True)
class DumpedCrops:
    """Crops another program wrote for the test frames, read rather than generated: ROOT/<video stem>/
    gen_%04d.png for test frame k, and where present its own crop of the real frame, real_%04d.png."""

    root: Path

    def read_case(self, case: VideoCase, notes: list[str]) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """(generated crops, ground truths) of a video. The program's own crop of the real frame is the truth
        where present (its resampling may differ from ours); a note flags one that frames another view."""
        generated, truths = [], []
        for k, real in zip(case.keys, case.reals):
            folder = self.root / case.stem
            generated_path, real_path = folder / f"gen_{k:04d}.png", folder / f"real_{k:04d}.png"
            if not generated_path.is_file():
                raise UserError(f"{generated_path} is missing: dir:{self.root} needs gen_%04d.png for every test "
                                "frame of every video, written with the same --shots and --frames")
            generated.append(_read_crop(generated_path))
            if real_path.is_file():
                theirs = _read_crop(real_path)
                if (agreement := ssim(theirs, real)) < 0.6:
                    notes.append(f"test frame {k}: {real_path} differs from the protocol's crop (SSIM {agreement:.2f})")
                real = theirs
            truths.append(real)
        return generated, truths


def _read_crop(path: Path) -> np.ndarray:
    import cv2

    bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if bgr is None or bgr.shape[:2] != (SIZE, SIZE):
        raise UserError(f"{path} is not a {SIZE}x{SIZE} image: write the protocol's crops at {SIZE} pixels")
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def parse_methods(spec: str, prior: Optional[str] = None, preset: Preset = DEFAULT_PRESET, device: str = "auto",
                  progress: Optional[Progress] = None) -> dict[str, Method | DumpedCrops]:
    """'copy,warp,model,dir:PATH' -> {name: method}, in the order given."""
    methods: dict[str, Method | DumpedCrops] = {}
    for name in (s.strip() for s in spec.split(",")):
        if name == "copy":
            methods[name] = copy_method
        elif name == "warp":
            methods[name] = warp_method
        elif name == "model":
            methods[name] = model_method(prior, preset, device, progress)
        elif name.startswith("dir:") and len(name) > 4:
            root = Path(name[4:])
            if not root.is_dir():
                raise UserError(f"{name}: {root} is not a folder; give the folder that holds <video stem>/gen_*.png")
            methods[name] = DumpedCrops(root)
        else:
            raise UserError(f"unknown method {name!r}: choose from copy, warp, model, dir:PATH (comma-separated)")
    if not methods:
        raise UserError("no method given: pass --methods, e.g. copy,warp,model")
    return methods
