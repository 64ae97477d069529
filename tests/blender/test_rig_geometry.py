"""The rig's geometry without Blender (core.geometry.camera, core.face): projection and its inverses, the rest
pose, depths and expressions."""
import numpy as np
import pytest

from talking_heads.core.errors import UserError
from talking_heads.core.face.expressions import EXPRESSIONS, expression_deltas
from talking_heads.core.face.rest_pose import face_depths, place_rig
from talking_heads.core.geometry.camera import (Camera, fit_image_plane, positions_in_face_planes, project_to_pixels,
                                                unproject_at_depth)
from talking_heads.core.landmarks.groups import INNER_LIP_PAIRS
from talking_heads.core.landmarks.face3d import lift
from talking_heads.core.model.mean_face import MEAN_FACE_CROP

POINTS = MEAN_FACE_CROP.astype(np.float64) * 1.5 + [40.0, 10.0]  # a face in a 512 x 400 photo
PIXELS = (512, 400)


def random_camera(rng, orthographic=False) -> Camera:
    """A camera somewhere, looking somewhere, with an orthonormal rotation."""
    q, _ = np.linalg.qr(rng.normal(size=(3, 3)))
    matrix = np.eye(4)
    matrix[:3, :3] = q * np.sign(np.linalg.det(q))
    matrix[:3, 3] = rng.normal(scale=5, size=3)
    return Camera(matrix, orthographic)


@pytest.mark.parametrize("orthographic", [False, True])
@pytest.mark.parametrize("seed", range(5))
def test_the_rest_pose_projects_exactly_onto_the_landmarks(seed, orthographic):
    rng = np.random.default_rng(seed)
    camera = random_camera(rng, orthographic)
    plane = fit_image_plane(camera.matrix_world, (-0.4, 0.4, -0.3, 0.25), 6.0, PIXELS, orthographic)
    depths = face_depths(lift(POINTS))
    rest = place_rig(POINTS, depths, camera, plane, 4.5)
    world = rest.vertices @ rest.rotation.T + rest.origin
    assert np.abs(project_to_pixels(world, camera, plane) - POINTS).max() < 1e-6
    # in front of the plane, and the nose nearer the camera than the ends of the jaw
    camera_depth = (world - camera.origin) @ camera.forward
    assert np.all(camera_depth > 0) and np.all(camera_depth < 6.0)
    assert camera_depth[30] < camera_depth[[0, 16]].min()


def test_the_plane_fills_the_frame_with_the_photos_aspect():
    camera = Camera(np.eye(4))
    plane = fit_image_plane(camera.matrix_world, (-0.5, 0.5, -0.3, 0.3), 2.0, (400, 400))
    assert plane.size == pytest.approx((1.2, 1.2))  # height-bound: 0.6 x 2
    corners = plane.world_from_pixels(np.array([[-0.5, -0.5], [399.5, 399.5]]))
    assert corners[:, 2] == pytest.approx([-2.0, -2.0])
    assert corners[0, :2] == pytest.approx([-0.6, 0.6]) and corners[1, :2] == pytest.approx([0.6, -0.6])


@pytest.mark.parametrize("orthographic", [False, True])
def test_unprojecting_and_projecting_are_inverses_over_frames(orthographic):
    rng = np.random.default_rng(7)
    cameras = [random_camera(rng, orthographic) for _ in range(4)]
    plane_matrices = np.stack([fit_image_plane(c.matrix_world, (-0.4, 0.4, -0.3, 0.3), 5.0, PIXELS,
                                               orthographic).matrix_world for c in cameras])
    camera = Camera(np.stack([c.matrix_world for c in cameras]), orthographic)
    plane = fit_image_plane(np.eye(4), (-0.4, 0.4, -0.3, 0.3), 5.0, PIXELS, orthographic)
    plane = type(plane)(plane_matrices, plane.size, plane.pixels)
    pixels = rng.uniform(0, 400, size=(4, 68, 2))
    depths = rng.uniform(1.0, 4.0, size=(4, 68))
    world = unproject_at_depth(pixels, depths, camera, plane)
    assert np.abs(project_to_pixels(world, camera, plane) - pixels).max() < 1e-6
    got_depths = np.einsum("fnk,fk->fn", world - camera.origin[:, None], camera.forward)
    assert np.abs(got_depths - depths).max() < 1e-9


def test_track_positions_keep_each_vertex_in_its_face_plane():
    rng = np.random.default_rng(3)
    camera = random_camera(rng)
    plane = fit_image_plane(camera.matrix_world, (-0.4, 0.4, -0.3, 0.3), 6.0, PIXELS)
    rest = place_rig(POINTS, face_depths(lift(POINTS)), camera, plane, 4.5)
    tilted = rest.matrix_world.copy()
    tilted[:3, :3] = tilted[:3, :3] @ np.array([[1, 0, 0], [0, 0.96, -0.28], [0, 0.28, 0.96]])  # a nod
    track = POINTS[None] + rng.normal(scale=3, size=(5, 68, 2))
    local = positions_in_face_planes(track, rest.vertices[:, 2], tilted, camera, plane)
    assert np.allclose(local[..., 2], rest.vertices[:, 2])
    world = local @ tilted[:3, :3].T + tilted[:3, 3]
    assert np.abs(project_to_pixels(world, camera, plane) - track).max() < 1e-6


def test_points_behind_the_camera_do_not_project():
    camera = Camera(np.eye(4))
    plane = fit_image_plane(camera.matrix_world, (-0.5, 0.5, -0.5, 0.5), 3.0, (100, 100))
    pixels = project_to_pixels(np.array([[0.0, 0.0, -1.0], [0.0, 0.0, 1.0]]), camera, plane)
    assert np.all(np.isfinite(pixels[0])) and np.all(np.isnan(pixels[1]))


def test_depth_sign_conventions_agree():
    shape = lift(POINTS)  # z away from the camera
    flipped = shape * [1, 1, -1]
    assert np.allclose(face_depths(shape), face_depths(flipped))
    assert face_depths(shape)[30] == face_depths(shape).max()  # the nose tip is the nearest point
    assert face_depths(shape).mean() == pytest.approx(0, abs=1e-9)


def test_expressions_are_named_after_arkit_and_move_only_their_region():
    face = np.column_stack([POINTS[:, 0], -POINTS[:, 1], face_depths(lift(POINTS))])  # face frame: y up
    deltas = expression_deltas(face)
    assert set(deltas) == set(EXPRESSIONS)
    mouth, eyes, brows = set(range(48, 68)), set(range(36, 48)), set(range(17, 27))
    for name, delta in deltas.items():
        moved = {i for i in range(68) if np.linalg.norm(delta[i]) > 1e-9}
        assert moved, name
        if name.startswith("eye"):
            assert moved <= eyes, name
        elif name.startswith("brow"):
            assert moved <= brows, name
        elif name.startswith("mouth"):
            assert moved <= mouth, name


def test_a_rig_needs_68_landmarks():
    with pytest.raises(UserError, match="68"):
        expression_deltas(np.zeros((67, 3)))
    with pytest.raises(UserError, match="68"):
        place_rig(np.zeros((5, 2)), np.zeros(5), Camera(np.eye(4)), fit_image_plane(
            np.eye(4), (-1, 1, -1, 1), 2.0, (10, 10)), 1.0)


def face_frame(points=POINTS) -> np.ndarray:
    return np.column_stack([points[:, 0], -points[:, 1], face_depths(lift(points))])  # the face frame: y up


def test_the_rig_has_the_arkit_keys_lip_sync_and_iphone_captures_use():
    from talking_heads.core.capture.live_link import ARKIT_NAMES
    from talking_heads.core.lipsync.visemes import KEYS

    assert set(KEYS) <= set(EXPRESSIONS)
    left_out = [n for n in ARKIT_NAMES if n not in EXPRESSIONS]
    assert left_out == [n for n in ARKIT_NAMES if n.startswith("eyeLook") or n == "tongueOut"]
    assert set(EXPRESSIONS) <= set(ARKIT_NAMES) and len(EXPRESSIONS) == 43


@pytest.mark.parametrize("closed_lips", [True, False])
def test_mouth_close_meets_the_open_jaw(closed_lips):
    """ARKit's mouthClose: with jawOpen at the same weight the inner lips meet (at every weight for a photo
    whose lips are closed, at full weight for one with parted lips), while the chin stays down."""
    face = face_frame()
    if closed_lips:
        for upper, lower in INNER_LIP_PAIRS:
            face[lower, 1] = face[upper, 1]
    deltas = expression_deltas(face)
    for weight in (0.25, 0.5, 1.0) if closed_lips else (1.0,):
        pose = face + weight * (deltas["jawOpen"] + deltas["mouthClose"])
        gaps = [pose[u, 1] - pose[l, 1] for u, l in INNER_LIP_PAIRS]
        assert np.allclose(gaps, 0, atol=1e-9), (weight, gaps)
        assert pose[8, 1] < face[8, 1] - 0.1 * weight * (face[27, 1] - face[8, 1])  # the jaw is still open
    # the lips' outer lines stay outside the inner ones: the lips are closed, not crushed
    pose = face + deltas["jawOpen"] + deltas["mouthClose"]
    assert np.all(pose[[50, 51, 52], 1] > pose[[61, 62, 63], 1]) and np.all(pose[[58, 57, 56], 1] < pose[[67, 66, 65], 1])
    if not closed_lips:  # half way, the photo's own gap is half closed
        half = face + 0.5 * (deltas["jawOpen"] + deltas["mouthClose"])
        assert half[62, 1] - half[66, 1] == pytest.approx(0.5 * (face[62, 1] - face[66, 1]))


SIDED = ["mouthPress", "mouthLowerDown", "mouthUpperUp", "mouthDimple", "cheekSquint", "noseSneer", "mouthSmile"]


@pytest.mark.parametrize("name", SIDED)
def test_sided_keys_move_the_subjects_own_side(name):
    """Left is the subject's left: the picture's right, +x in the face frame."""
    face = face_frame()
    deltas = expression_deltas(face)
    centre = face[27:31, 0].mean()  # the nose bridge
    for side, sign in (("Left", +1), ("Right", -1)):
        motion = np.linalg.norm(deltas[name + side], axis=1)
        own = motion[sign * (face[:, 0] - centre) > 1].sum()
        other = motion[sign * (face[:, 0] - centre) < -1].sum()
        assert own > 2 * other, (name + side, own, other)


@pytest.mark.parametrize("name, points, direction", [
    ("mouthRollLower", [57], +1), ("mouthRollUpper", [51], -1),        # the red of the lip shrinks
    ("mouthShrugLower", [57, 66], +1), ("mouthShrugUpper", [51, 62], +1),
    ("mouthLowerDownLeft", [56], -1), ("mouthUpperUpRight", [50], +1),
    ("cheekSquintLeft", [46, 47], +1), ("noseSneerRight", [31], +1),
])
def test_new_keys_move_their_points_up_or_down(name, points, direction):
    face = face_frame()
    delta = expression_deltas(face)[name]
    scale = np.linalg.norm(face[54] - face[48])
    assert np.all(direction * delta[points, 1] > 0.02 * scale), (name, delta[points])
