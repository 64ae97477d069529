"""The head rotation split from the landmarks (core.head.pose): rigid motion out, expression kept."""
import numpy as np
import pytest

from talking_heads.core.errors import UserError
from talking_heads.core.face.expressions import expression_deltas
from talking_heads.core.head.pose import STABLE, in_object_frame, split_rotation
from talking_heads.core.landmarks.face3d import lift
from talking_heads.core.model.mean_face import MEAN_FACE_CROP


def rotation(axis, degrees):
    a = np.radians(degrees)
    c, s = np.cos(a), np.sin(a)
    i, j = [(1, 2), (2, 0), (0, 1)][axis]
    r = np.eye(3)
    r[i, i], r[i, j], r[j, i], r[j, j] = c, -s, s, c
    return r


@pytest.fixture
def rest():
    points = MEAN_FACE_CROP.astype(np.float64)
    face = lift(points)
    return np.column_stack([points[:, 0], -points[:, 1], face[:, 2]]) / 100.0


def test_a_rigid_turn_is_found_and_taken_out(rest):
    turns = [rotation(1, 20), rotation(0, -12) @ rotation(2, 7), np.eye(3)]
    points = np.stack([(rest - 0.3) @ r.T + [0.1, -0.2, 0.05] for r in turns])
    found, derotated = split_rotation(points, rest)
    np.testing.assert_allclose(found, np.stack(turns), atol=1e-9)
    np.testing.assert_allclose(derotated, np.broadcast_to(rest, points.shape), atol=1e-9)


def test_an_expression_stays_and_does_not_turn_the_head(rest):
    jaw = expression_deltas(rest)["jawOpen"]
    assert np.abs(jaw[STABLE]).max() < 0.2 * np.abs(jaw).max()   # the stable points hardly move
    turn = rotation(1, 25)
    points = ((rest + jaw) @ turn.T)[None]
    found, derotated = split_rotation(points, rest)
    angle = np.degrees(np.arccos((np.trace(found[0] @ turn.T) - 1) / 2))
    assert angle < 1.0
    mouth_gap = derotated[0, 66, 1] - derotated[0, 62, 1]
    assert mouth_gap == pytest.approx((rest + jaw)[66, 1] - (rest + jaw)[62, 1], rel=0.05)


def test_a_turn_in_the_photo_camera_frame_becomes_the_objects():
    # A head whose own frame is z up, facing -y (Blender's front view), seen by the photo camera: object -> OpenCV
    to_camera = np.array([[1.0, 0, 0], [0, 0, -1], [0, 1, 0]])
    turned = in_object_frame(rotation(1, 20), to_camera)   # the rig turns 20 degrees about its vertical (y)
    np.testing.assert_allclose(turned, rotation(2, 20), atol=1e-12)   # the head about its own vertical (z)


def test_bad_shapes_are_one_line(rest):
    with pytest.raises(UserError):
        split_rotation(np.zeros((2, 5, 3)), rest)
    with pytest.raises(UserError):
        split_rotation(np.full((1, 68, 3), np.nan), rest)
