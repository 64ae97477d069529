"""The head mesh as the project reads it: triangles with per-corner UVs of one UV map and material slots.

`load_mesh(path, uv_map=None) -> Mesh` reads .obj, .glb/.gltf and .npz; `Mesh.save_npz(path)` writes the
.npz. Vertex indices are the file's own: landmark vertex indices refer to them. Polygons (quads, n-gons) are
fan-triangulated. `mesh_warnings` says what may spoil a bake (several UV maps, non-manifold edges,
overlapping UVs); `baked_triangles` are those whose UVs lie in the unit tile (UDIM-like layouts, as
ICT-FaceKit's u from 0 to 7, keep their other tiles' own materials).

A mesh .npz (`Mesh.save_npz`, the add-on's export of a Blender mesh) holds `Mesh`'s fields by name:
`vertices` (V, 3) float, `triangles` (T, 3) int, `uvs` (T, 3, 2) float (v up), `materials` (T,) int,
`material_names` (M,) str, `uv_map` () str, `uv_maps` (K,) str, and where a Head from Photo head has them
`vertex_weights` (V,) float. `load_mesh` also reads a polygon .npz
(the shipped sample head's layout, below) and fan-triangulates it.

The shipped sample head, models/heads/ict_facekit/ict_facekit.npz (ICT-FaceKit's generic neutral head, MIT,
made by models/heads/build_ict_facekit.py; `sample_head()` reads it), in metres and Blender's axes (Z up,
the face looking along -Y), laid out as Blender's own polygons and loops so that the add-on builds it with
numpy alone (`mesh.vertices.foreach_set("co", ...)`, `polygons.foreach_set("loop_total", ...)`, ...):
- `vertices` (V, 3) float32: the neutral positions; V = 26 719
- `polygon_sizes` (F,) uint8: corners per polygon (4, a few 3); `polygon_vertices` (L,) int32: every
  polygon's corners one after the other (Blender's loops); `polygon_uvs` (L, 2) float32: each corner's UV
  (v up; the face in the unit tile, the rest in tiles u = 1 to 7); `polygon_materials` (F,) int16
- `material_names` (M,) str; `uv_map` () str: the UV map's name
- `landmark_vertices` (68,) int32: the vertex of each iBUG-68 landmark (ICT's `idx_to_landmark_verts`)
- `shape_names` (K,) str: ARKit names (jawOpen, eyeBlink_L, ...); their sparse deltas from the neutral,
  one after another: `shape_offsets` (K + 1,) int32 (shape k is rows offsets[k]:offsets[k + 1]),
  `shape_indices` (N,) int32 vertex indices, `shape_deltas` (N, 3) float16 metres
"""
from __future__ import annotations

import base64
import json
import os
import struct
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from ..errors import UserError

SAMPLE_HEAD = Path(__file__).resolve().parents[2] / "models" / "heads" / "ict_facekit" / "ict_facekit.npz"
OVERLAP_WARNING = 0.01   # overlapping UVs are reported above this share of the baked UV area
OVERLAP_GRID = 1024      # the UV raster that measures it


@dataclass(frozen=True)
class Mesh:
    vertices: np.ndarray            # (V, 3) float64, object space (Blender: the mesh's own coordinates)
    triangles: np.ndarray           # (T, 3) int32 vertex indices (polygons fan-triangulated, or Blender's loop triangles)
    uvs: np.ndarray                 # (T, 3, 2) float32 per-corner UVs of `uv_map`; v up (OBJ, glTF flipped, Blender)
    materials: np.ndarray           # (T,) int32 material slot per triangle
    material_names: tuple[str, ...] = ()
    uv_map: str = "UVMap"           # the UV map used (a mesh with several: the active one, and a warning says so)
    uv_maps: tuple[str, ...] = ()   # every UV map the source has
    vertex_weights: np.ndarray | None = None   # (V,) float, Head from Photo: how much of the photo each vertex shows

    def save_npz(self, path: str | os.PathLike) -> Path:
        """Write the mesh as a .npz of its fields (atomically)."""
        from ..atomic import atomic_path, store
        import io

        buffer = io.BytesIO()
        np.savez_compressed(buffer, vertices=self.vertices, triangles=self.triangles, uvs=self.uvs,
                            materials=self.materials, material_names=np.array(self.material_names, dtype=str),
                            uv_map=np.array(self.uv_map), uv_maps=np.array(self.uv_maps, dtype=str),
                            **({} if self.vertex_weights is None else {"vertex_weights": self.vertex_weights}))
        with atomic_path(path) as tmp:
            store(tmp, buffer.getvalue())
        return Path(path)


@dataclass(frozen=True)
class Polygons:
    """A mesh as its file has it: polygons of any size, a UV per corner (loop), a material per polygon."""
    vertices: np.ndarray            # (V, 3)
    sizes: np.ndarray               # (F,) corners per polygon
    corners: np.ndarray             # (L,) vertex index of each corner, polygon after polygon
    corner_uvs: np.ndarray          # (L, 2), v up
    materials: np.ndarray           # (F,)
    material_names: tuple[str, ...]
    uv_maps: tuple[str, ...] = ("UVMap",)

    def triangulated(self, name: str) -> Mesh:
        """Fan triangulation: polygon (c0, c1, ..., cn) -> (c0, ck, ck+1)."""
        sizes = self.sizes.astype(np.int64)
        starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
        fans = np.maximum(sizes - 2, 0)
        polygon = np.repeat(np.arange(len(sizes)), fans)
        k = np.arange(fans.sum()) - np.repeat(np.cumsum(fans) - fans, fans) + 1
        loops = np.stack([starts[polygon], starts[polygon] + k, starts[polygon] + k + 1], axis=1)
        return _checked(Mesh(vertices=np.asarray(self.vertices, dtype=np.float64),
                             triangles=self.corners[loops].astype(np.int32),
                             uvs=self.corner_uvs[loops].astype(np.float32),
                             materials=self.materials[polygon].astype(np.int32),
                             material_names=tuple(self.material_names), uv_map=self.uv_maps[0],
                             uv_maps=tuple(self.uv_maps)), name)


def load_mesh(path: str | os.PathLike, uv_map: str | None = None) -> Mesh:
    """The mesh at `path` (.obj, .glb, .gltf or .npz) with the UVs of `uv_map` (default: the first)."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"{path}: no such mesh file; check the path")
    suffix = path.suffix.lower()
    readers = {".obj": _read_obj, ".glb": _read_gltf, ".gltf": _read_gltf, ".npz": _read_npz}
    if suffix not in readers:
        raise UserError(f"{path.name}: unsupported mesh format {suffix or '(none)'}; use .obj, .glb, .gltf or .npz")
    return readers[suffix](path, uv_map)


def baked_triangles(mesh: Mesh, landmark_vertices: np.ndarray | None = None) -> np.ndarray:
    """(T,) bool: the triangles a bake writes to: their UVs in the unit tile, and (given the landmark vertices)
    of a material that holds a landmark vertex. The others keep their own materials: eyes, teeth, lashes
    (ICT-FaceKit's eyes share the face's tile, their UVs over the face's)."""
    uvs = mesh.uvs
    baked = np.all((uvs >= -1e-6) & (uvs <= 1 + 1e-6), axis=(1, 2))
    if landmark_vertices is not None:
        holds = np.isin(mesh.triangles, np.asarray(landmark_vertices)).any(axis=1)
        baked &= np.isin(mesh.materials, np.unique(mesh.materials[holds]))
    return baked


def vertex_normals(vertices: np.ndarray, triangles: np.ndarray) -> np.ndarray:
    """(V, 3) unit area-weighted vertex normals (counter-clockwise triangles face outwards)."""
    corners = vertices[triangles]
    face = np.cross(corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 0])
    normals = np.zeros_like(vertices, dtype=np.float64)
    for k in range(3):
        np.add.at(normals, triangles[:, k], face)
    return normals / np.maximum(np.linalg.norm(normals, axis=1, keepdims=True), 1e-20)


def mesh_warnings(mesh: Mesh, baked: np.ndarray | None = None) -> list[str]:
    """One line for each thing about `mesh` that may spoil a bake: several UV maps, non-manifold edges,
    overlapping UVs among the `baked` triangles (default: those in the unit tile)."""
    warnings = []
    if len(mesh.uv_maps) > 1:
        warnings.append(f"the mesh has {len(mesh.uv_maps)} UV maps ({', '.join(mesh.uv_maps)}); using "
                        f"{mesh.uv_map!r}")
    edges = np.sort(mesh.triangles[:, [0, 1, 1, 2, 2, 0]].reshape(-1, 2), axis=1)
    _, counts = np.unique(edges[:, 0].astype(np.int64) * len(mesh.vertices) + edges[:, 1], return_counts=True)
    shared = int((counts > 2).sum())
    if shared:
        warnings.append(f"the mesh has {shared} non-manifold edge(s) (shared by more than two faces); the bake "
                        f"may show seams there (Select > Select All by Trait > Non Manifold)")
    overlap = uv_overlap(mesh, baked_triangles(mesh) if baked is None else baked)
    if overlap > OVERLAP_WARNING:
        warnings.append(f"{overlap:.0%} of the baked UV area overlaps other faces' UVs (mirrored or stacked "
                        f"islands): those faces will show the same texels; unwrap them apart for their own")
    return warnings


def uv_overlap(mesh: Mesh, baked: np.ndarray) -> float:
    """The share of the `baked` triangles' UV area that lies over other baked triangles: their total area
    against the area they cover together (a raster of the unit tile)."""
    from .raster import rasterize, uv_pixels

    uvs = mesh.uvs[baked]
    if not len(uvs):
        return 0.0
    corners = uv_pixels(uvs, OVERLAP_GRID)
    e1, e2 = corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 0]
    total = 0.5 * np.abs(e1[:, 0] * e2[:, 1] - e1[:, 1] * e2[:, 0]).sum()
    # a raster fills boundary pixels too, so it covers more than the area itself: overlaps are under-counted
    union = len(rasterize(corners, (OVERLAP_GRID, OVERLAP_GRID)).covered)
    return float(max(0.0, total - union) / max(total, 1e-9))


# --- OBJ ---------------------------------------------------------------------------------------------------------

def _read_obj(path: Path, uv_map: str | None) -> Mesh:
    polygons = read_obj_polygons(path)
    if uv_map is not None and uv_map not in polygons.uv_maps:
        raise UserError(f"{path.name} has no UV map {uv_map!r} (an OBJ has one, {polygons.uv_maps[0]!r})")
    return polygons.triangulated(path.name)


def read_obj_polygons(path: str | os.PathLike) -> Polygons:
    """An OBJ's polygons with the file's own vertex indices.

    Our own reader: the libraries (trimesh, Open3D) split vertices at UV seams and re-index them, and a
    landmark vertex index (ICT-FaceKit's, an artist's) refers to the file's own `v` lines. ICT-FaceKit's
    head (26 719 vertices, 26 384 polygons) reads in about 0.3 s."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as e:
        raise UserError(f"cannot read {path} ({e.strerror or e}); check the file") from None
    positions, texcoords, sizes, corners, corner_uvs, materials = [], [], [], [], [], []
    material_names: list[str] = []
    material = -1
    try:
        for number, line in enumerate(text.splitlines(), 1):
            head = line[:2]
            if head == "v ":
                positions.append(line.split()[1:4])
            elif head == "vt":
                texcoords.append(line.split()[1:3])
            elif head == "f ":
                tokens = line.split()[1:]
                for token in tokens:
                    parts = token.split("/")
                    v = int(parts[0])
                    corners.append(v - 1 if v > 0 else len(positions) + v)
                    t = int(parts[1]) if len(parts) > 1 and parts[1] else 0
                    corner_uvs.append(t - 1 if t > 0 else (len(texcoords) + t if t < 0 else -1))
                sizes.append(len(tokens))
                if material < 0:
                    material_names.append("Material")
                    material = 0
                materials.append(material)
            elif line.startswith("usemtl"):
                name = line[6:].strip() or "Material"
                if name not in material_names:
                    material_names.append(name)
                material = material_names.index(name)
        vertices = np.array(positions, dtype=np.float64).reshape(-1, 3)
        uv_table = np.array([t + ["0"] * (2 - len(t)) for t in texcoords], dtype=np.float64).reshape(-1, 2)
    except ValueError as e:
        raise UserError(f"{path.name} is not a readable OBJ ({e}); export it again as OBJ") from None
    corners_array = np.array(corners, dtype=np.int64)
    uv_index = np.array(corner_uvs, dtype=np.int64)
    if not len(sizes) or not len(vertices):
        raise UserError(f"{path.name} holds no faces; export the head mesh itself")
    if corners_array.min() < 0 or corners_array.max() >= len(vertices):
        raise UserError(f"{path.name} has faces that refer to missing vertices; export it again")
    if not len(uv_table) or (uv_index < 0).all():
        raise UserError(f"{path.name} has no UV map; unwrap it (UV > Smart UV Project) and fit again")
    if uv_index.max() >= len(uv_table):
        raise UserError(f"{path.name} has faces that refer to missing UVs; export it again")
    # a corner without a UV goes outside the unit tile: its polygon is not baked
    uvs = np.where((uv_index >= 0)[:, None], uv_table[np.maximum(uv_index, 0)], -1.0)
    return Polygons(vertices, np.array(sizes), corners_array, uvs.astype(np.float32),
                    np.array(materials, dtype=np.int32), tuple(material_names))


# --- glTF --------------------------------------------------------------------------------------------------------

_COMPONENTS = {5120: np.int8, 5121: np.uint8, 5122: np.int16, 5123: np.uint16, 5125: np.uint32, 5126: np.float32}
_WIDTHS = {"SCALAR": 1, "VEC2": 2, "VEC3": 3, "VEC4": 4, "MAT4": 16}


def _read_gltf(path: Path, uv_map: str | None) -> Mesh:
    """The triangles of every mesh the default scene places, in its nodes' world transforms (glTF's axes, Y up),
    one after another; a primitive's vertices are the file's own (glTF splits them at UV seams already).

    Our own reader of the accessors (about 80 lines of numpy): pygltflib gives the JSON and the bytes but no
    arrays, and trimesh merges primitives and keeps only the first UV set, so the several-UV-maps check
    and the file's own vertex order would be lost."""
    document, blob = _gltf_document(path)
    buffers: dict[int, bytes] = {}

    def buffer(index: int) -> bytes:
        if index not in buffers:
            uri = document["buffers"][index].get("uri")
            if uri is None:
                buffers[index] = blob or b""
            elif uri.startswith("data:"):
                buffers[index] = base64.b64decode(uri.split(",", 1)[1])
            else:
                try:
                    buffers[index] = (path.parent / uri).read_bytes()
                except OSError as e:
                    raise UserError(f"{path.name} needs {uri}, which cannot be read ({e.strerror or e}); keep it "
                                    f"beside the .gltf or export as .glb") from None
        return buffers[index]

    def accessor(index: int) -> np.ndarray:
        a = document["accessors"][index]
        if "sparse" in a:
            raise UserError(f"{path.name} uses sparse accessors; export it again without them (or as OBJ)")
        dtype, width, count = np.dtype(_COMPONENTS[a["componentType"]]), _WIDTHS[a["type"]], a["count"]
        if "bufferView" not in a:
            return np.zeros((count, width), dtype)
        view = document["bufferViews"][a["bufferView"]]
        data = buffer(view["buffer"])
        start = view.get("byteOffset", 0) + a.get("byteOffset", 0)
        stride = view.get("byteStride", 0) or dtype.itemsize * width
        rows = np.ndarray((count, width), dtype, data, start, (stride, dtype.itemsize))
        values = rows.astype(np.float64 if dtype.kind == "f" else np.int64)
        if a.get("normalized") and dtype.kind != "f":
            values = values / np.iinfo(dtype).max
        return values

    material_names = [m.get("name") or f"material {i}" for i, m in enumerate(document.get("materials", []))]
    positions, triangles, uvs, materials, uv_sets = [], [], [], [], set()
    offset = 0
    for mesh_index, matrix in _mesh_instances(document):
        placed: dict[int, int] = {}   # POSITION accessor -> its first vertex here (primitives may share one)
        for primitive in document["meshes"][mesh_index].get("primitives", []):
            if primitive.get("mode", 4) != 4 or "POSITION" not in primitive["attributes"]:
                continue   # points and lines are not surfaces
            attributes = primitive["attributes"]
            position = attributes["POSITION"]
            if position not in placed:
                local = accessor(position)
                placed[position] = offset
                positions.append(local @ matrix[:3, :3].T + matrix[:3, 3])
                offset += len(local)
            count = document["accessors"][position]["count"]
            indices = (accessor(primitive["indices"]).reshape(-1) if "indices" in primitive
                       else np.arange(count)).reshape(-1, 3)
            sets = sorted(k for k in attributes if k.startswith("TEXCOORD_"))
            uv_sets.update(sets)
            name = uv_map or "TEXCOORD_0"
            if name in attributes:
                texcoords = accessor(attributes[name])
                uvs.append(np.stack([texcoords[:, 0], 1.0 - texcoords[:, 1]], axis=1)[indices])
            else:
                uvs.append(np.full(indices.shape + (2,), -1.0))
            triangles.append(indices + placed[position])
            material = primitive.get("material")
            if material is None:
                if "default" not in material_names:
                    material_names.append("default")
                material = material_names.index("default")
            materials.append(np.full(len(indices), material))
    if not triangles:
        raise UserError(f"{path.name} holds no triangle mesh; export the head mesh itself")
    if not uv_sets:
        raise UserError(f"{path.name} has no UV map; unwrap it (UV > Smart UV Project) and fit again")
    uv_names = tuple(sorted(uv_sets))
    if uv_map is not None and uv_map not in uv_names:
        raise UserError(f"{path.name} has no UV map {uv_map!r}; it has {', '.join(uv_names)}")
    return _checked(Mesh(np.concatenate(positions), np.concatenate(triangles).astype(np.int32),
                         np.concatenate(uvs).astype(np.float32), np.concatenate(materials).astype(np.int32),
                         tuple(material_names), uv_map or uv_names[0], uv_names), path.name)


def _gltf_document(path: Path) -> tuple[dict, bytes | None]:
    try:
        data = path.read_bytes()
    except OSError as e:
        raise UserError(f"cannot read {path} ({e.strerror or e}); check the file") from None
    try:
        if data[:4] == b"glTF":
            _, _, length = struct.unpack_from("<4sII", data, 0)
            document, blob, at = None, None, 12
            while at + 8 <= min(length, len(data)):
                size, kind = struct.unpack_from("<II", data, at)
                chunk = data[at + 8: at + 8 + size]
                if kind == 0x4E4F534A:
                    document = json.loads(chunk)
                elif kind == 0x004E4942 and blob is None:
                    blob = chunk
                at += 8 + size
            if document is None:
                raise ValueError("no JSON chunk")
            return document, blob
        return json.loads(data), None
    except (ValueError, struct.error) as e:
        raise UserError(f"{path.name} is not a readable glTF file ({e}); export it again") from None


def _mesh_instances(document: dict):
    """(mesh index, 4 x 4 world matrix) for every node of the default scene that holds a mesh."""
    scenes = document.get("scenes") or [{"nodes": list(range(len(document.get("nodes", []))))}]
    nodes = document.get("nodes", [])

    def local(node: dict) -> np.ndarray:
        if "matrix" in node:
            return np.array(node["matrix"], dtype=np.float64).reshape(4, 4).T   # column-major
        x, y, z, w = node.get("rotation", [0, 0, 0, 1])
        rotation = np.array([[1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
                             [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
                             [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)]])
        matrix = np.eye(4)
        matrix[:3, :3] = rotation * np.array(node.get("scale", [1, 1, 1]))
        matrix[:3, 3] = node.get("translation", [0, 0, 0])
        return matrix

    stack = [(n, np.eye(4)) for n in reversed(scenes[document.get("scene", 0)].get("nodes", []))]
    while stack:
        index, parent = stack.pop()
        node = nodes[index]
        world = parent @ local(node)
        if "mesh" in node:
            yield node["mesh"], world
        stack.extend((child, world) for child in reversed(node.get("children", [])))


# --- .npz --------------------------------------------------------------------------------------------------------

def _read_npz(path: Path, uv_map: str | None) -> Mesh:
    try:
        with np.load(path, allow_pickle=False) as data:
            fields = {k: data[k] for k in data.files}
    except (OSError, ValueError) as e:
        raise UserError(f"{path.name} is not a readable mesh .npz ({e}); write it again") from None
    if "polygon_sizes" in fields:
        mesh = _sample_polygons(fields).triangulated(path.name)
    else:
        missing = [k for k in ("vertices", "triangles", "uvs", "materials") if k not in fields]
        if missing:
            raise UserError(f"{path.name} is not a mesh .npz (no {', '.join(missing)}); write it with "
                            f"Mesh.save_npz or the add-on")
        uv_maps = tuple(str(s) for s in fields.get("uv_maps", np.array([], dtype=str)).reshape(-1))
        mesh = _checked(Mesh(fields["vertices"].astype(np.float64), fields["triangles"].astype(np.int32),
                             fields["uvs"].astype(np.float32), fields["materials"].astype(np.int32),
                             tuple(str(s) for s in fields.get("material_names", np.array([], str)).reshape(-1)),
                             str(fields.get("uv_map", "UVMap")), uv_maps or (str(fields.get("uv_map", "UVMap")),)),
                        path.name)
        if "vertex_weights" in fields:
            weights = fields["vertex_weights"].astype(np.float32)
            if weights.shape != (len(mesh.vertices),):
                raise UserError(f"{path.name}: its vertex weights do not fit its vertices; write it again")
            mesh = replace(mesh, vertex_weights=weights)
    if uv_map is not None and uv_map != mesh.uv_map:
        raise UserError(f"{path.name} holds the UV map {mesh.uv_map!r} only, not {uv_map!r}; export it with that "
                        f"UV map active")
    return mesh


def _checked(mesh: Mesh, name: str) -> Mesh:
    """The errors no fit can get past: no faces, corrupt indices, non-finite positions, no UVs at all."""
    t = mesh.triangles
    if not len(t) or not len(mesh.vertices):
        raise UserError(f"{name} holds no faces; export the head mesh itself")
    if mesh.vertices.ndim != 2 or mesh.vertices.shape[1] != 3 or t.ndim != 2 or t.shape[1] != 3 \
            or mesh.uvs.shape != (len(t), 3, 2) or mesh.materials.shape != (len(t),):
        raise UserError(f"{name}: the mesh's arrays do not fit together; write it again")
    if t.min() < 0 or t.max() >= len(mesh.vertices):
        raise UserError(f"{name} has faces that refer to missing vertices; export it again")
    if not np.isfinite(mesh.vertices).all():
        raise UserError(f"{name} has vertices at infinite or undefined positions; fix them and export again")
    if not np.isfinite(mesh.uvs).all() or not (mesh.uvs >= -0.5).any():
        raise UserError(f"{name} has no UV map; unwrap it (UV > Smart UV Project) and fit again")
    if mesh.materials.min() < 0 or (mesh.material_names and mesh.materials.max() >= len(mesh.material_names)):
        raise UserError(f"{name}: faces refer to missing material slots; export it again")
    return mesh


# --- the sample head ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class SampleHead:
    mesh: Mesh                        # triangulated, as load_mesh gives it
    landmark_vertices: np.ndarray     # (68,) int
    polygons: Polygons                # the quads as shipped (the add-on's object)
    shapes: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)   # name -> (indices, deltas)

    def shape(self, name: str, weight: float = 1.0) -> np.ndarray:
        """The vertices with shape `name` applied at `weight`."""
        indices, deltas = self.shapes[name]
        vertices = self.mesh.vertices.copy()
        vertices[indices] += weight * deltas
        return vertices


def sample_head(path: str | os.PathLike = SAMPLE_HEAD) -> SampleHead:
    """The shipped ICT-FaceKit head: its mesh, landmark vertices, quads and ARKit shape deltas."""
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as data:
            fields = {k: data[k] for k in data.files}
    except (OSError, ValueError) as e:
        raise UserError(f"the sample head {path} cannot be read ({e}); reinstall the add-on") from None
    polygons = _sample_polygons(fields)
    offsets = fields["shape_offsets"]
    shapes = {str(name): (fields["shape_indices"][offsets[k]:offsets[k + 1]].astype(np.int64),
                          fields["shape_deltas"][offsets[k]:offsets[k + 1]].astype(np.float64))
              for k, name in enumerate(fields["shape_names"])}
    return SampleHead(polygons.triangulated(path.name), fields["landmark_vertices"].astype(np.int64), polygons,
                      shapes)


def _sample_polygons(fields: dict) -> Polygons:
    return Polygons(fields["vertices"].astype(np.float64), fields["polygon_sizes"].astype(np.int64),
                    fields["polygon_vertices"].astype(np.int64), fields["polygon_uvs"].astype(np.float32),
                    fields["polygon_materials"].astype(np.int32),
                    tuple(str(s) for s in fields["material_names"]), (str(fields.get("uv_map", "UVMap")),))
