"""Build the shipped sample head, models/heads/ict_facekit/ict_facekit.npz, from ICT-FaceKit's files.

    .venv/bin/python models/heads/build_ict_facekit.py ../shared/media/heads/ict-facekit

ICT-FaceKit (USC Institute for Creative Technologies, MIT licence; LICENSE and CREDITS.md are copied beside
the .npz) ships its generic neutral head and one OBJ per ARKit expression, all with the same vertices. Kept
here: the neutral head in metres and Blender's axes (ICT's centimetres, Y up, face towards +Z become
metres, Z up, face towards -Y), its polygons, UVs and materials as they are, the 68 landmark vertices, and
the expressions below as sparse float16 deltas. The layout is documented in core/head/mesh.py.
"""
from __future__ import annotations

import io
import json
import shutil
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
from core.__main__ import project_package  # noqa: E402  (the project folder as `talking_heads`)

project_package()

from talking_heads.core.atomic import write_atomic  # noqa: E402
from talking_heads.core.head.mesh import read_obj_polygons  # noqa: E402

SHAPES = ("jawOpen", "eyeBlink_L", "eyeBlink_R", "mouthSmile_L", "mouthSmile_R", "mouthFunnel", "mouthPucker",
          "mouthClose", "browInnerUp_L", "browInnerUp_R")
TO_BLENDER = np.array([[0.01, 0, 0], [0, 0, -0.01], [0, 0.01, 0]])   # cm, Y up -> m, Z up, face -> -Y
MOVED = 1e-5   # metres: a vertex further from the neutral than this belongs to the shape


def build(source: Path, out: Path) -> Path:
    neutral = read_obj_polygons(source / "generic_neutral_mesh.obj")
    vertices = neutral.vertices @ TO_BLENDER.T
    landmarks = json.loads((source / "vertex_indices.json").read_text())["idx_to_landmark_verts"]
    names, offsets, indices, deltas = [], [0], [], []
    for name in SHAPES:
        path = source / f"{name}.obj"
        if not path.is_file():
            continue
        delta = read_obj_polygons(path).vertices @ TO_BLENDER.T - vertices
        moved = np.flatnonzero(np.linalg.norm(delta, axis=1) > MOVED)
        names.append(name)
        indices.append(moved)
        deltas.append(delta[moved])
        offsets.append(offsets[-1] + len(moved))
    buffer = io.BytesIO()
    np.savez_compressed(
        buffer, vertices=vertices.astype(np.float32), polygon_sizes=neutral.sizes.astype(np.uint8),
        polygon_vertices=neutral.corners.astype(np.int32), polygon_uvs=neutral.corner_uvs.astype(np.float32),
        polygon_materials=neutral.materials.astype(np.int16), material_names=np.array(neutral.material_names),
        uv_map=np.array("UVMap"), landmark_vertices=np.array(landmarks, dtype=np.int32),
        shape_names=np.array(names), shape_offsets=np.array(offsets, dtype=np.int32),
        shape_indices=np.concatenate(indices).astype(np.int32),
        shape_deltas=np.concatenate(deltas).astype(np.float16))
    out.mkdir(parents=True, exist_ok=True)
    for name in ("LICENSE", "CREDITS.md"):
        shutil.copyfile(source / name, out / name)
    return write_atomic(out / "ict_facekit.npz", buffer.getvalue())


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: build_ict_facekit.py PATH/TO/ict-facekit")
    written = build(Path(sys.argv[1]), Path(__file__).resolve().parent / "ict_facekit")
    print(f"wrote {written} ({written.stat().st_size / 1e6:.2f} MB)")
