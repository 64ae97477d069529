"""The head mesh: OBJ, glTF and .npz reading with the file's own vertex indices, the checks and warnings, the
rasteriser, the shipped sample head."""
import base64
import json
import struct

import numpy as np
import pytest

from talking_heads.core.errors import UserError
from talking_heads.core.head.mesh import (Mesh, baked_triangles, load_mesh, mesh_warnings, sample_head,
                                          vertex_normals)
from talking_heads.core.head.raster import interpolate, rasterize, uv_pixels

# a quad and a pentagon sharing the edge 2-3, with a UV seam at vertex 3 (two vt), a second material, and the
# pentagon's vertices given by negative (relative) indices
OBJ = """# test
v 0 0 0
v 1 0 0
v 1 1 0
v 0 1 0
v 2 0 0
v 2 1 0
v 3 0.5 0
vt 0.1 0.1
vt 0.4 0.1
vt 0.4 0.4
vt 0.1 0.4
vt 0.6 0.6
vt 0.9 0.6
vt 0.95 0.8
vt 0.5 0.9
usemtl Skin
f 1/1 2/2 3/3 4/4
usemtl Eyes
f -6/5 -3/6 -1/7 -2/7 -5/8
"""


def write(path, text):
    path.write_text(text)
    return path


def test_obj_keeps_the_files_vertex_indices_and_fans_polygons(tmp_path):
    mesh = load_mesh(write(tmp_path / "head.obj", OBJ))
    assert mesh.vertices.shape == (7, 3)
    assert mesh.triangles.tolist() == [[0, 1, 2], [0, 2, 3], [1, 4, 6], [1, 6, 5], [1, 5, 2]]
    assert mesh.material_names == ("Skin", "Eyes") and mesh.materials.tolist() == [0, 0, 1, 1, 1]
    np.testing.assert_allclose(mesh.uvs[1], [[0.1, 0.1], [0.4, 0.4], [0.1, 0.4]])
    np.testing.assert_allclose(mesh.uvs[4], [[0.6, 0.6], [0.95, 0.8], [0.5, 0.9]], atol=1e-7)
    assert mesh_warnings(mesh) == []


def test_bad_meshes_get_one_line(tmp_path):
    no_uvs = write(tmp_path / "plain.obj", "v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 3\n")
    with pytest.raises(UserError, match=r"has no UV map; unwrap it \(UV > Smart UV Project\) and fit again"):
        load_mesh(no_uvs)
    with pytest.raises(UserError, match="holds no faces"):
        load_mesh(write(tmp_path / "empty.obj", "v 0 0 0\nvt 0 0\n"))
    with pytest.raises(UserError, match="infinite or undefined"):
        load_mesh(write(tmp_path / "nan.obj", "v 0 0 nan\nv 1 0 0\nv 0 1 0\nvt 0 0\nf 1/1 2/1 3/1\n"))
    with pytest.raises(UserError, match="missing vertices"):
        load_mesh(write(tmp_path / "index.obj", "v 0 0 0\nvt 0 0\nf 1/1 2/1 9/1\n"))
    with pytest.raises(UserError, match="unsupported mesh format"):
        load_mesh(write(tmp_path / "head.stl", "solid"))
    with pytest.raises(UserError, match="no such mesh file"):
        load_mesh(tmp_path / "none.obj")


def test_npz_round_trip(tmp_path):
    mesh = load_mesh(write(tmp_path / "head.obj", OBJ))
    mesh.save_npz(tmp_path / "head.npz")
    again = load_mesh(tmp_path / "head.npz")
    for name in ("vertices", "triangles", "uvs", "materials"):
        np.testing.assert_array_equal(getattr(again, name), getattr(mesh, name))
    assert (again.material_names, again.uv_map, again.uv_maps) == (mesh.material_names, "UVMap", ("UVMap",))
    assert [p.name for p in tmp_path.iterdir()] and not list(tmp_path.glob(".*.tmp"))


def gltf_document(binary: bool):
    """Two triangles of one primitive with two UV sets (TEXCOORD_1 the second), placed by a translated node."""
    positions = np.array([[0, 0, 0], [1, 0, 0], [1, 1, 0], [0, 1, 0]], np.float32)
    uv0 = np.array([[0.1, 0.9], [0.9, 0.9], [0.9, 0.1], [0.1, 0.1]], np.float32)   # glTF's v runs down
    uv1 = np.array([[0, 0], [0.5, 0], [0.5, 0.5], [0, 0.5]], np.float32)
    indices = np.array([0, 1, 2, 0, 2, 3], np.uint16)
    blob = positions.tobytes() + uv0.tobytes() + uv1.tobytes() + indices.tobytes()
    views = [(0, 48), (48, 32), (80, 32), (112, 12)]
    document = {
        "asset": {"version": "2.0"}, "scene": 0, "scenes": [{"nodes": [0]}],
        "nodes": [{"mesh": 0, "translation": [0, 0, 5]}],
        "meshes": [{"primitives": [{"attributes": {"POSITION": 0, "TEXCOORD_0": 1, "TEXCOORD_1": 2},
                                    "indices": 3, "material": 0}]}],
        "materials": [{"name": "Skin"}],
        "buffers": [{"byteLength": len(blob)}],
        "bufferViews": [{"buffer": 0, "byteOffset": o, "byteLength": n} for o, n in views],
        "accessors": [{"bufferView": 0, "componentType": 5126, "count": 4, "type": "VEC3"},
                      {"bufferView": 1, "componentType": 5126, "count": 4, "type": "VEC2"},
                      {"bufferView": 2, "componentType": 5126, "count": 4, "type": "VEC2"},
                      {"bufferView": 3, "componentType": 5123, "count": 6, "type": "SCALAR"}],
    }
    if not binary:
        document["buffers"][0]["uri"] = "data:application/octet-stream;base64," + base64.b64encode(blob).decode()
        return json.dumps(document).encode()
    text = json.dumps(document).encode()
    text += b" " * (-len(text) % 4)
    blob += b"\0" * (-len(blob) % 4)
    chunks = struct.pack("<II", len(text), 0x4E4F534A) + text + struct.pack("<II", len(blob), 0x004E4942) + blob
    return struct.pack("<4sII", b"glTF", 2, 12 + len(chunks)) + chunks


@pytest.mark.parametrize("binary", [False, True])
def test_gltf_reads_accessors_uv_sets_and_node_transforms(tmp_path, binary):
    path = tmp_path / ("head.glb" if binary else "head.gltf")
    path.write_bytes(gltf_document(binary))
    mesh = load_mesh(path)
    assert mesh.triangles.tolist() == [[0, 1, 2], [0, 2, 3]]
    np.testing.assert_allclose(mesh.vertices[:, 2], 5.0)
    np.testing.assert_allclose(mesh.uvs[0], [[0.1, 0.1], [0.9, 0.1], [0.9, 0.9]], atol=1e-6)   # v flipped up
    assert mesh.uv_maps == ("TEXCOORD_0", "TEXCOORD_1") and mesh.material_names == ("Skin",)
    assert mesh_warnings(mesh)[0] == "the mesh has 2 UV maps (TEXCOORD_0, TEXCOORD_1); using 'TEXCOORD_0'"
    second = load_mesh(path, uv_map="TEXCOORD_1")
    np.testing.assert_allclose(second.uvs[0], [[0, 1], [0.5, 1], [0.5, 0.5]], atol=1e-6)
    with pytest.raises(UserError, match="no UV map 'UVMap'"):
        load_mesh(path, uv_map="UVMap")


def square_mesh(uvs, triangles=((0, 1, 2), (0, 2, 3))):
    vertices = np.array([[0, 0, 0], [1, 0, 0], [1, 1, 0], [0, 1, 0], [0.5, 0.5, 1]], float)
    triangles = np.array(triangles, np.int32)
    return Mesh(vertices, triangles, np.asarray(uvs, np.float32), np.zeros(len(triangles), np.int32), ("Skin",))


def test_warnings_for_overlapping_uvs_and_non_manifold_edges():
    apart = square_mesh([[[0, 0], [0.5, 0], [0.5, 0.5]], [[0, 0], [0.5, 0.5], [0, 0.5]]])
    assert mesh_warnings(apart) == []
    stacked = square_mesh([[[0, 0], [0.5, 0], [0.5, 0.5]], [[0, 0], [0.5, 0], [0.5, 0.5]]])
    assert any("overlaps other faces' UVs" in w for w in mesh_warnings(stacked))
    fin = square_mesh([[[0, 0], [0.3, 0], [0.3, 0.3]], [[0.4, 0.4], [0.7, 0.4], [0.7, 0.7]],
                       [[0.1, 0.6], [0.3, 0.6], [0.3, 0.9]]], triangles=((0, 1, 2), (0, 2, 3), (0, 2, 4)))
    assert any("1 non-manifold edge" in w for w in mesh_warnings(fin))


def test_only_the_unit_tile_and_the_landmarks_materials_are_baked():
    mesh = square_mesh([[[0, 0], [0.5, 0], [0.5, 0.5]], [[1.1, 0], [1.5, 0.5], [1.1, 0.5]]])
    assert baked_triangles(mesh).tolist() == [True, False]
    two = Mesh(mesh.vertices, mesh.triangles, np.zeros((2, 3, 2), np.float32) + 0.2, np.array([0, 1], np.int32),
               ("Skin", "Eyes"))
    assert baked_triangles(two, landmark_vertices=[1]).tolist() == [True, False]
    assert baked_triangles(two, landmark_vertices=[0]).tolist() == [True, True]


def test_raster_covers_triangles_with_their_barycentrics_and_the_nearest_wins():
    corners = np.array([[[2.0, 2.0], [40.0, 5.0], [10.0, 30.0]]])
    raster = rasterize(corners, (32, 48))
    rows, columns = raster.rows_columns()
    # the barycentrics reproduce each pixel's position; OpenCV's filled edges are a fraction of a pixel out
    positions = interpolate(raster, np.array([[0, 1, 2]]), corners[0])
    np.testing.assert_allclose(positions, np.stack([columns, rows], 1), atol=1e-3)
    assert raster.bary.min() > -0.1
    area = 0.5 * abs(38 * 28 - 3 * 8)
    assert area <= len(raster.covered) <= area * 1.25
    # two overlapping triangles: the nearer (smaller depth) wins whatever the order
    pair = np.array([[[0, 0], [20, 0], [0, 20]], [[2, 2], [22, 2], [2, 22]]], float)
    for depths in ([[1, 1, 1], [2, 2, 2]], [[2, 2, 2], [1, 1, 1]]):
        near = int(np.argmin(np.mean(depths, axis=1)))
        assert rasterize(pair, (24, 24), np.array(depths, float)).triangle[6, 6] == near
    # the texel convention: texel (r, c) is UV ((c + .5) / S, 1 - (r + .5) / S)
    np.testing.assert_allclose(uv_pixels([[0.5 / 4, 1 - 1.5 / 4]], 4), [[0, 1]])


def test_vertex_normals_face_outwards():
    mesh = square_mesh(np.zeros((2, 3, 2)))
    np.testing.assert_allclose(vertex_normals(mesh.vertices, mesh.triangles)[:4], [[0, 0, 1]] * 4)


def test_the_shipped_sample_head():
    head = sample_head()
    assert head.mesh.vertices.shape == (26719, 3) and head.landmark_vertices.shape == (68,)
    assert len(np.unique(head.landmark_vertices)) == 68
    assert {"jawOpen", "eyeBlink_L", "eyeBlink_R", "mouthSmile_L", "mouthFunnel"} <= set(head.shapes)
    assert "M_Face" in head.mesh.material_names and head.polygons.sizes.max() == 4
    # metres, Z up, the face towards -Y: the head is about 25 cm wide and the nose tip is its front
    extent = head.mesh.vertices.max(0) - head.mesh.vertices.min(0)
    assert 0.2 < extent[0] < 0.3
    nose = head.mesh.vertices[head.landmark_vertices[30]]
    assert nose[1] < np.percentile(head.mesh.vertices[:, 1], 2)
    # jawOpen lowers the chin
    chin = head.landmark_vertices[8]
    assert head.shape("jawOpen")[chin, 2] < head.mesh.vertices[chin, 2] - 0.01
