"""core.landmarks.face3d: the generic 3D face and head turning."""
import numpy as np
import pytest

from talking_heads.core.landmarks.face3d import MEAN_FACE_3D, lift, rotation, turn_head

MIRROR = (list(range(16, -1, -1)) + list(range(26, 16, -1)) + [27, 28, 29, 30, 35, 34, 33, 32, 31]
          + [45, 44, 43, 42, 47, 46, 39, 38, 37, 36, 41, 40]
          + [54, 53, 52, 51, 50, 49, 48, 59, 58, 57, 56, 55, 64, 63, 62, 61, 60, 67, 66, 65])


def test_the_mean_face_is_a_symmetric_frontal_face():
    face = MEAN_FACE_3D
    assert face.shape == (68, 3) and face.dtype == np.float32
    assert np.linalg.norm(face[36] - face[45]) == pytest.approx(1.0, abs=1e-3)
    mirrored = face[MIRROR] * [-1, 1, 1]
    np.testing.assert_allclose(mirrored, face, atol=1e-3)
    assert np.argmin(face[:, 2]) == 30  # the nose tip is nearest the camera
    assert face[0, 2] == face[:, 2].max()  # the jaw's ends are farthest
    assert abs(face[:, 2].mean()) < 1e-6 and abs(face[:, :2].mean(0)).max() < 1e-3
    assert face[19, 1] < face[37, 1] < face[30, 1] < face[62, 1] < face[8, 1]


def test_lift_keeps_the_points_and_scales_depth():
    points = MEAN_FACE_3D[:, :2] * 80 + [200, 150]
    lifted = lift(points)
    np.testing.assert_allclose(lifted[:, :2], points, atol=1e-4)
    np.testing.assert_allclose(lifted[:, 2], MEAN_FACE_3D[:, 2] * 80, atol=1e-2)


def test_turning_the_head():
    points = MEAN_FACE_3D[:, :2] * 100 + [200, 200]
    np.testing.assert_allclose(turn_head(points, 0, 0, 0), points, atol=1e-3)
    right = turn_head(points, 20, 0)
    assert right[30, 0] - points[30, 0] > 5  # the nose moves to the image's right
    assert np.linalg.norm(right[0] - right[30]) > np.linalg.norm(points[0] - points[30])  # far cheek widens
    up = turn_head(points, 0, 15)
    assert up[30, 1] < points[30, 1]
    tilted = turn_head(points, 0, 0, 30)
    np.testing.assert_allclose(np.linalg.norm(tilted - tilted.mean(0), axis=1),
                               np.linalg.norm(points - points.mean(0), axis=1), atol=1e-3)  # roll is rigid
    assert tilted[8, 0] < points[8, 0]  # clockwise: the chin swings to the image's left


def test_rotation_is_orthonormal():
    r = rotation(17, -8, 5)
    np.testing.assert_allclose(r @ r.T, np.eye(3), atol=1e-12)
    assert np.linalg.det(r) == pytest.approx(1.0)
