"""A generic 3D face: the 68 landmarks with depth, for head-turn rigs when the detector gives no 3D points.

How the table was made (nothing here was measured in 3D; it is a construction, good for turning a head by
tens of degrees, not for reconstructing a person):
- **x, y**: the project's 2D mean face (`core.model.mean_face`: dlib landmarks averaged over the first frames
  of the 50 development clips, all roughly frontal), made exactly left-right symmetric by averaging it with
  its mirror image, centred on the mean of the 68 points and scaled so the outer eye corners (36, 45) are
  1 apart.
- **depth**: set by hand per landmark from standard facial proportions, in the same unit, as the distance
  behind the nose tip: eye corners about a third of the inter-ocular distance behind it (outer 0.36, inner
  0.28), mouth corners 0.30, chin 0.18, and the jaw contour receding to 0.95 at the ear end, where the head
  is about as deep as it is wide between the eyes. The table stores these values; `MEAN_FACE_3D` centres
  them, so depth is relative to the mean of the 68 points.

Axes: x to the right, y down (as in images), z away from the camera (a right-handed frame, the convention of
`core.track`'s 3D tracks). Units: inter-ocular distances. The jaw points are the face's outline in
a frontal view; turned far, a real outline slides over the cheek, which rigid points cannot do, so keep
turns within about 30 degrees.
"""
from __future__ import annotations

import numpy as np

from ..geometry.similarity import similarity

# (x, y, depth behind the nose tip), iBUG 300-W order.
_TABLE = np.array([
    (-0.830, -0.372, 0.95), (-0.818, -0.151, 0.88), (-0.791, 0.065, 0.78), (-0.751, 0.279, 0.66),  # 0-3 jaw
    (-0.674, 0.476, 0.54), (-0.551, 0.650, 0.42), (-0.391, 0.794, 0.32), (-0.210, 0.907, 0.24),  # 4-7
    (0.000, 0.942, 0.18), (0.210, 0.907, 0.24), (0.391, 0.794, 0.32), (0.551, 0.650, 0.42),  # 8-11
    (0.674, 0.476, 0.54), (0.751, 0.279, 0.66), (0.791, 0.065, 0.78), (0.818, -0.151, 0.88),  # 12-15
    (0.830, -0.372, 0.95),  # 16
    (-0.669, -0.597, 0.40), (-0.576, -0.710, 0.30), (-0.431, -0.759, 0.24), (-0.276, -0.748, 0.22),  # 17-20 brows
    (-0.135, -0.688, 0.23), (0.135, -0.688, 0.23), (0.276, -0.748, 0.22), (0.431, -0.759, 0.24),  # 21-24
    (0.576, -0.710, 0.30), (0.669, -0.597, 0.40),  # 25-26
    (0.000, -0.498, 0.28), (0.000, -0.367, 0.20), (0.000, -0.235, 0.12), (0.000, -0.098, 0.00),  # 27-30 nose
    (-0.160, 0.025, 0.22), (-0.082, 0.048, 0.14), (0.000, 0.067, 0.10), (0.082, 0.048, 0.14),  # 31-34
    (0.160, 0.025, 0.22),  # 35
    (-0.500, -0.448, 0.36), (-0.413, -0.509, 0.27), (-0.309, -0.510, 0.27), (-0.217, -0.441, 0.28),  # 36-39 eyes
    (-0.313, -0.427, 0.27), (-0.416, -0.425, 0.27), (0.217, -0.441, 0.28), (0.309, -0.510, 0.27),  # 40-43
    (0.413, -0.509, 0.27), (0.500, -0.448, 0.36), (0.416, -0.425, 0.27), (0.313, -0.427, 0.27),  # 44-47
    (-0.309, 0.353, 0.30), (-0.205, 0.257, 0.22), (-0.084, 0.210, 0.17), (0.000, 0.230, 0.15),  # 48-51 outer lips
    (0.084, 0.210, 0.17), (0.205, 0.257, 0.22), (0.309, 0.353, 0.30), (0.207, 0.477, 0.23),  # 52-55
    (0.091, 0.531, 0.19), (0.000, 0.541, 0.18), (-0.091, 0.531, 0.19), (-0.207, 0.477, 0.23),  # 56-59
    (-0.257, 0.350, 0.29), (-0.084, 0.296, 0.20), (0.000, 0.301, 0.18), (0.084, 0.296, 0.20),  # 60-63 inner lips
    (0.257, 0.350, 0.29), (0.087, 0.414, 0.21), (0.000, 0.423, 0.20), (-0.087, 0.414, 0.21),  # 64-67
], dtype=np.float64)

MEAN_FACE_3D = np.column_stack([_TABLE[:, :2], _TABLE[:, 2] - _TABLE[:, 2].mean()]).astype(np.float32)


def lift(points: np.ndarray) -> np.ndarray:
    """2D landmarks (68, 2) -> (68, 3): the same x, y and the mean face's depths, scaled to this face
    (by the similarity that best maps the mean face's x, y onto the points)."""
    p = np.asarray(points, dtype=np.float64)[:, :2]
    m = similarity(MEAN_FACE_3D[:, :2], p)
    scale = np.sqrt(abs(np.linalg.det(m[:2, :2])))
    return np.column_stack([p, MEAN_FACE_3D[:, 2] * scale]).astype(np.float32)


def rotation(yaw: float, pitch: float, roll: float = 0.0) -> np.ndarray:
    """3x3 rotation, angles in degrees: yaw > 0 turns the nose to the image's right, pitch > 0 lifts the
    nose up, roll > 0 tilts the head clockwise as seen in the image."""
    y, p, r = np.radians([yaw, pitch, roll])
    turn = np.array([[np.cos(y), 0, -np.sin(y)], [0, 1, 0], [np.sin(y), 0, np.cos(y)]])
    nod = np.array([[1, 0, 0], [0, np.cos(p), np.sin(p)], [0, -np.sin(p), np.cos(p)]])
    tilt = np.array([[np.cos(r), -np.sin(r), 0], [np.sin(r), np.cos(r), 0], [0, 0, 1]])
    return tilt @ nod @ turn


def turn_head(points: np.ndarray, yaw: float, pitch: float, roll: float = 0.0) -> np.ndarray:
    """2D landmarks (68, 2) of the same face turned by the given angles (degrees), about the centre of its
    landmarks, seen in orthographic projection. Uses the points' own depth where (68, 3) points are given,
    else the mean face's (`lift`)."""
    p = np.asarray(points, dtype=np.float64)
    p3 = p if p.shape[1] == 3 else lift(p).astype(np.float64)
    centre = p3.mean(axis=0)
    turned = (p3 - centre) @ rotation(yaw, pitch, roll).T + centre
    return turned[:, :2].astype(np.float32)
