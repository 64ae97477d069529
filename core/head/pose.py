"""The driver's head rotation split from its expression: the mesh carries the pose, the frames the expression.

numpy only (the add-on imports it). A driver's landmarks (the rig's shape-keyed vertices, in the rig's frame:
x right, y up, z towards the camera it was built with) hold a head's rotation wherever a video's track or a
capture moved them. `split_rotation` finds it by a rigid fit (Kabsch) of the landmarks an expression hardly
moves against the rig's rest pose, and brings every landmark back to the rest pose's rotation and place, so
the frames are rendered at the photo's own pose. `in_object_frame` turns a rotation of the rig's frame into
one of the head object's own frame, through the fit's camera.
"""
from __future__ import annotations

import numpy as np

from ..errors import UserError
from ..landmarks.groups import RIGID

N_LANDMARKS = 68
# The landmarks no expression moves much: the nose, the eye corners (not the lids) and the upper jaw by the
# ears (the chin and the lower jaw follow jawOpen).
STABLE = RIGID + [0, 1, 15, 16]
# The rig's frame (Blender camera axes: y up, z back) -> the OpenCV camera's (y down, z forward).
BLENDER_TO_OPENCV = np.diag([1.0, -1.0, -1.0])


def split_rotation(points: np.ndarray, rest: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """`points` (F, 68, 3) as rotations (F, 3, 3) of the rest pose and the points without them.

    Each frame's stable landmarks are fitted rigidly to `rest`'s (68, 3): points ~ R (rest - c_rest) + c_points.
    The derotated points are R^T (points - c_points) + c_rest: the expression at the rest pose's rotation and
    place (a face that only moved rigidly becomes `rest` exactly).
    """
    points = np.asarray(points, dtype=np.float64)
    rest = np.asarray(rest, dtype=np.float64)
    if points.ndim != 3 or points.shape[1:] != (N_LANDMARKS, 3) or rest.shape != (N_LANDMARKS, 3):
        raise UserError(f"expected landmarks (frames, {N_LANDMARKS}, 3) and a rest pose ({N_LANDMARKS}, 3), got "
                        f"{points.shape} and {rest.shape}; rebuild the rig")
    if not (np.isfinite(points).all() and np.isfinite(rest).all()):
        raise UserError("the rig's landmarks are not finite at some frame; check its keyed vertices")
    rest_centre = rest[STABLE].mean(axis=0)
    centres = points[:, STABLE].mean(axis=1)                               # (F, 3)
    a = rest[STABLE] - rest_centre                                        # (S, 3)
    b = points[:, STABLE] - centres[:, None]                              # (F, S, 3)
    covariance = np.einsum("fsi,sj->fij", b, a)                           # sum b a^T
    u, _, vt = np.linalg.svd(covariance)
    sign = np.sign(np.linalg.det(u @ vt))                                 # a rotation, never a reflection
    d = np.ones((len(points), 3))
    d[:, 2] = np.where(sign == 0, 1.0, sign)
    rotations = (u * d[:, None, :]) @ vt                                  # b ~ R a
    derotated = np.einsum("fji,fsj->fsi", rotations, points - centres[:, None]) + rest_centre
    return rotations, derotated


def in_object_frame(rotations: np.ndarray, object_to_camera: np.ndarray) -> np.ndarray:
    """Rotations (..., 3, 3) of the rig's frame as rotations of a head object's own frame, about its origin.

    `object_to_camera` (3, 3) is the fit's camera rotation (object -> OpenCV camera): the rig's frame is the
    photo camera's, so a head that turns with the face turns by R_obj = Rc^T C R C Rc (C: Blender camera axes
    to OpenCV's), applied in the object's own frame (matrix_world @ R_obj).
    """
    rc = np.asarray(object_to_camera, dtype=np.float64)
    c = BLENDER_TO_OPENCV
    return rc.T @ c @ np.asarray(rotations, dtype=np.float64) @ c @ rc
