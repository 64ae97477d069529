"""Head from Photo: every face vertex projects to the pixel its UV names, the head is closed, turns by 30 degrees
without folding, and has real-world size."""
import numpy as np
import pytest

from talking_heads.core.head.from_photo import camera_matrix, default_focal, head_from_photo, head_from_photo_file

SIZE = (512, 512)


@pytest.fixture(scope="module")
def points(astronaut):
    from talking_heads.core.landmarks.detect import detect_landmarks

    return detect_landmarks(astronaut, backend="dlib").points.astype(np.float64)


@pytest.fixture(scope="module")
def head(points):
    return head_from_photo(points, SIZE)


def _project(vertices, focal=None):
    p = vertices @ camera_matrix(focal or default_focal(SIZE), SIZE).T
    return p[:, :2] / p[:, 2:]


def _uv_pixels(uvs):
    return np.stack([uvs[..., 0] * SIZE[0] - 0.5, (1 - uvs[..., 1]) * SIZE[1] - 0.5], axis=-1)


def test_face_vertices_and_their_triangles_land_on_the_pixels_their_uvs_name(head, points):
    import cv2

    face = head.materials == head.material_names.index("Face")
    corners = head.triangles[face]
    assert np.abs(_project(head.vertices)[corners] - _uv_pixels(head.uvs[face])).max() < 0.01
    # inside a triangle a renderer interpolates UVs perspective-correctly: barycentric in 3D
    weights = np.array([[1, 1, 1], [4, 1, 1], [1, 4, 1], [1, 1, 4]]) / np.array([[3], [6], [6], [6]])
    inside = np.einsum("kj,tjd->tkd", weights, head.vertices[corners]).reshape(-1, 3)
    expected = np.einsum("kj,tjd->tkd", weights, _uv_pixels(head.uvs[face])).reshape(-1, 2)
    error = np.abs(_project(inside) - expected).max(axis=1)
    hull = cv2.convexHull(points.astype(np.float32))
    over_face = np.array([cv2.pointPolygonTest(hull, (float(x), float(y)), False) >= 0 for x, y in expected])
    assert error[over_face].max() < 0.05 and error.max() < 1.0     # steeper at the rim, where the head rounds off


def test_the_head_is_closed_and_consistently_wound_outwards(head):
    t = head.triangles
    directed = np.concatenate([t[:, [0, 1]], t[:, [1, 2]], t[:, [2, 0]]])
    undirected, counts = np.unique(np.sort(directed, axis=1), axis=0, return_counts=True)
    assert np.all(counts == 2)                                  # every edge in two triangles: no holes
    assert len(np.unique(directed, axis=0)) == len(directed)    # each way once: neighbours wound alike
    assert len(np.unique(t)) == len(head.vertices)
    a, b, c = (head.vertices[t[:, k]] for k in range(3))
    normal = np.cross(b - a, c - a)
    face = head.materials == 0
    assert np.all(np.einsum("ij,ij->i", normal[face], (a + b + c)[face]) < 0)      # the face looks at the camera
    volume = np.einsum("ij,ij->i", a, np.cross(b, c)).sum() / 6
    assert volume > 0                                           # outwards: a positive enclosed volume
    assert head.material_names == ("Face", "Back") and set(np.unique(head.materials)) == {0, 1}


def test_real_world_size(head, points):
    face = np.unique(head.triangles[head.materials == 0])
    pixels = _project(head.vertices[face])
    corners = [head.vertices[face[np.argmin(np.linalg.norm(pixels - points[i], axis=1))]] for i in (36, 45)]
    assert 0.085 < np.linalg.norm(corners[0] - corners[1]) < 0.095        # metres
    assert 0.2 < head.vertices[:, 2].min() and head.vertices[:, 2].max() < 2.0


def test_the_photo_weight_is_1_over_the_face_and_fades_where_the_head_turns_edge_on(head, points):
    """Triangles over the landmarks' hull show the photo exactly (their corners all weigh 1); the back shows
    none of it; vertices seen edge-on from the photo's camera none, and the weight changes smoothly."""
    import cv2

    from talking_heads.core.head.from_photo import fade_colour, grid_spacing
    from talking_heads.core.head.mesh import vertex_normals

    weights = head.vertex_weights
    assert weights.shape == (len(head.vertices),) and weights.min() >= 0 and weights.max() <= 1
    face = head.materials == 0
    hull = cv2.convexHull(points.astype(np.float32))
    pixels = _uv_pixels(head.uvs[face])
    samples = np.concatenate([pixels, pixels.mean(axis=1, keepdims=True)], axis=1)     # corners and centre
    over = np.array([any(cv2.pointPolygonTest(hull, (float(x), float(y)), False) >= 0 for x, y in t)
                     for t in samples])
    assert over.sum() > 500 and weights[head.triangles[face][over]].min() == 1.0
    back_only = np.setdiff1d(np.unique(head.triangles[~face]), head.triangles[face])
    assert np.all(weights[back_only] == 0)
    # edge-on away from the hull's triangles (by the jaw's ends the face itself is edge-on, and held)
    v = head.vertices
    cosine = np.einsum("ij,ij->i", vertex_normals(v, head.triangles), -v / np.linalg.norm(v, axis=1, keepdims=True))
    face_vertices = np.unique(head.triangles[face])
    vertex_pixels = _project(v[face_vertices])
    outside = -np.array([cv2.pointPolygonTest(hull, (float(x), float(y)), True) for x, y in vertex_pixels])
    edge_on = face_vertices[(cosine[face_vertices] < 0.2) & (outside > 2 * grid_spacing(points))]
    assert len(edge_on) > 10 and weights[edge_on].max() == 0
    fading = (weights > 0) & (weights < 1)
    assert fading.sum() > 50                                    # a fade, not a cut
    # the plain colour: the photo's own where it fades (a photo of one colour there gives that colour)
    photo = np.zeros(SIZE[::-1] + (3,))
    photo[...] = (0.2, 0.4, 0.6)
    np.testing.assert_allclose(fade_colour(photo, head), (0.2, 0.4, 0.6))


def test_the_weights_survive_the_file(head, tmp_path):
    from talking_heads.core.head.mesh import load_mesh

    np.testing.assert_array_equal(load_mesh(head.save_npz(tmp_path / "head.npz")).vertex_weights, head.vertex_weights)


@pytest.mark.parametrize("yaw, pitch", [(30, 0), (-30, 0), (0, 20), (0, -20)])
def test_turned_the_face_holds_together(head, yaw, pitch):
    """Drawn back to front at the turned pose, no triangle facing away shows (a fold or a flipped triangle
    would), beyond a few pixels along the outline, and no edge sticks out (a spike)."""
    import cv2

    from talking_heads.core.landmarks.face3d import rotation

    t, v = head.triangles, head.vertices
    centre = v[np.unique(t[head.materials == 1])].mean(0)          # about the head's middle
    turned = (v - centre) @ rotation(yaw, pitch).T + centre
    pixels = _project(turned)
    a, b, c = (pixels[t[:, k]] for k in range(3))
    signed = (b[:, 0] - a[:, 0]) * (c[:, 1] - a[:, 1]) - (b[:, 1] - a[:, 1]) * (c[:, 0] - a[:, 0])
    front = np.sign(np.median(signed[head.materials == 0]))
    shown = np.full(SIZE[::-1], -1, np.int32)
    for i in np.argsort(-turned[t].mean(axis=1)[:, 2]):
        cv2.fillConvexPoly(shown, np.rint(pixels[t[i]] * 4).astype(np.int32), int(i), shift=2)
    visible = shown[shown >= 0]
    assert np.mean(np.sign(signed[visible]) != front) < 0.003
    edges = np.linalg.norm(v[t] - v[np.roll(t, 1, axis=1)], axis=2)
    assert edges[head.materials == 0].max() < 8 * np.median(edges[head.materials == 0])


def test_the_file_and_the_command(tmp_path, astronaut, points, capsys):
    import cv2

    from talking_heads.app.cli import main
    from talking_heads.core.errors import UserError
    from talking_heads.core.head.mesh import load_mesh

    photo = tmp_path / "photo.png"
    cv2.imwrite(str(photo), astronaut[..., ::-1])
    path, focal = head_from_photo_file(photo, tmp_path / "given.npz", reference_points=points.tolist(), focal=900)
    assert focal == 900 and load_mesh(path).material_names == ("Face", "Back")

    assert main(["head-from-photo", str(photo), "--out", str(tmp_path / "head.npz")]) == 0
    mesh = load_mesh(tmp_path / "head.npz")
    assert len(mesh.triangles) > 1000 and f"{default_focal(SIZE):.1f} px" in capsys.readouterr().out

    (tmp_path / "notes.txt").write_text("not a photo")
    assert main(["head-from-photo", str(tmp_path / "notes.txt"), "--out", str(tmp_path / "bad.npz")]) == 2
    error = capsys.readouterr().err.strip()
    assert error.startswith("error:") and "\n" not in error and not (tmp_path / "bad.npz").exists()
    with pytest.raises(UserError, match="68 landmarks"):
        head_from_photo(points[:60], SIZE)
