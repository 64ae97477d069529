"""Where the photo's face lies on the mesh. TO BE WRITTEN; the contract (used by bake.py, the worker and the
add-on) is `HeadFit` below and `fit_head(...)`.

Texel convention: texel (row r, column c) of a `size` x `size` map is UV (u, v) = ((c + 0.5) / size,
1 - (r + 0.5) / size): row 0 is the top of the image file, v = 1, as Blender shows a PNG on a UV map.
Camera convention (OpenCV): x right, y down, z forward; a vertex X (object space) lands on the photo at
pixel K (R X + t), K = [[f, 0, w/2 - 0.5], [0, f, h/2 - 0.5], [0, 0, 1]] (pixel centres at integers).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class HeadFit:
    size: int                       # the UV map's side, texels
    texel_pixels: np.ndarray        # (size, size, 2) float32: the photo pixel (x, y) each texel shows
    weight: np.ndarray              # (size, size) float32 in [0, 1]: 0 off the baked surface, facing away, hidden
    landmark_vertices: np.ndarray   # (68,) int: the mesh's vertex for each landmark, iBUG order
    rotation: np.ndarray            # (3, 3) object -> camera
    translation: np.ndarray         # (3,)
    focal: float                    # pixels
    image_size: tuple[int, int]     # the photo's (width, height)
    landmark_source: str = "given"  # "given", "guessed" (render + detect) or "pins"
    warnings: list[str] = field(default_factory=list)
