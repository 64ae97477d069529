"""The head mesh as the project reads it: triangles with per-corner UVs of one UV map and material slots.

TO BE WRITTEN (contract fixed here): `Mesh` below; `load_mesh(path, uv_map=None) -> Mesh` reads .obj, .glb/.gltf
and the add-on's .npz (the same fields as `Mesh`, by name); `Mesh.save_npz(path)`.
Vertex indices are the file's own (landmark vertex indices refer to them).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class Mesh:
    vertices: np.ndarray            # (V, 3) float64, object space (Blender: the mesh's own coordinates)
    triangles: np.ndarray           # (T, 3) int32 vertex indices (polygons fan-triangulated, or Blender's loop triangles)
    uvs: np.ndarray                 # (T, 3, 2) float32 per-corner UVs of `uv_map`; v up (OBJ, glTF flipped, Blender)
    materials: np.ndarray           # (T,) int32 material slot per triangle
    material_names: tuple[str, ...] = ()
    uv_map: str = "UVMap"           # the UV map used (a mesh with several: the active one, and a warning says so)
    uv_maps: tuple[str, ...] = ()   # every UV map the source has
