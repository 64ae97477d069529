"""The landmark rig at rest: a 3D face of 68 vertices that, seen through a camera, lands on a reference's landmarks.

The Blender add-on builds the rig and animates it; this is its geometry, in numpy and free of bpy, so that it
can be tested and timed on its own. The camera and the image plane are `core.geometry.camera`'s; the
expressions, shape keys on this rest pose, `core.face.expressions`'.

**The face frame** is the camera's frame at the time the rig is built: x to the right of the picture, y up,
z towards the camera.

**Rest pose.** Vertex i lies on the camera ray through landmark i on the plane, at a depth taken from a 3D
face shape (the detector's 3D points, or a generic face fitted to the 2D points), so that at rest it
projects exactly onto the landmark and, rotated, turns like a head.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import UserError
from ..geometry.camera import Camera, ImagePlane, unproject_at_depth
from ..landmarks.groups import (CHIN, INNER_LIPS, JAW, LEFT_BROW, LEFT_EYE, LEFT_LIDS, NOSE_BASE, NOSE_BRIDGE,
                                NOSE_TIP, OUTER_LIPS, RIGHT_BROW, RIGHT_EYE, RIGHT_LIDS)

N_LANDMARKS = 68


def _chain(group: list[int], closed: bool = False) -> list[tuple[int, int]]:
    edges = list(zip(group, group[1:]))
    return edges + [(group[-1], group[0])] if closed else edges


# Edges drawn between landmarks so the face parts read in the viewport.
FACE_EDGES: tuple[tuple[int, int], ...] = tuple(
    _chain(JAW)
    + _chain(RIGHT_BROW) + _chain(LEFT_BROW)
    + _chain(NOSE_BRIDGE) + _chain(NOSE_BASE) + [(NOSE_TIP, NOSE_BASE[2])]   # the tip joins the nostrils
    + _chain(RIGHT_EYE, True) + _chain(LEFT_EYE, True)
    + _chain(OUTER_LIPS, True) + _chain(INNER_LIPS, True)
)


# --- the rest pose -----------------------------------------------------------------------------------------

def face_depths(points3d: np.ndarray) -> np.ndarray:
    """Per-landmark depth (68,) towards the camera, mean zero, in the points' pixel scale.

    `points3d` (68, 3) are the detector's 3D points, or a generic face lifted onto the 2D points
    (`core.landmarks.face3d.lift`). Either sign of z is accepted: the nose tip is made the face's nearest part.
    """
    points3d = np.asarray(points3d, dtype=np.float64)
    if points3d.shape != (N_LANDMARKS, 3) or not np.all(np.isfinite(points3d)):
        raise UserError(f"expected {N_LANDMARKS} finite 3D landmarks (68, 3), got shape {points3d.shape}; "
                        f"detect the landmarks again")
    z = points3d[:, 2] - points3d[:, 2].mean()
    nose_tip, jaw_ends = NOSE_TIP, [JAW[0], JAW[-1]]
    return -z if z[nose_tip] < z[jaw_ends].mean() else z


@dataclass(frozen=True)
class RestPose:
    """The rig at rest: its object's `origin` (3,) and `rotation` (3, 3) (columns: the face frame's axes in
    world space) and its `vertices` (68, 3) in that frame."""

    origin: np.ndarray
    rotation: np.ndarray
    vertices: np.ndarray

    @property
    def matrix_world(self) -> np.ndarray:
        matrix = np.eye(4)
        matrix[:3, :3] = self.rotation
        matrix[:3, 3] = self.origin
        return matrix


def place_rig(points: np.ndarray, depths: np.ndarray, camera: Camera, plane: ImagePlane,
              face_depth: float) -> RestPose:
    """The rest pose whose vertices project onto `points` (68, 2) reference pixels through `camera`.

    The face's mean depth is `face_depth` (camera depth, between the camera and the plane); `depths` (68,)
    (pixels, towards the camera, see `face_depths`) are converted to world units at that depth. The object's
    origin, the head's turning point, is behind the face by half its width.
    """
    points = _checked_points(points)
    if face_depth <= 0:
        raise UserError("the rig must be in front of the camera; use a positive face depth")
    world_per_pixel = _world_per_pixel(camera, plane, face_depth)
    vertex_depths = face_depth - np.asarray(depths, dtype=np.float64) * world_per_pixel
    if np.any(vertex_depths <= 0):
        raise UserError("the face is too deep for its distance to the camera; move the image plane further away")
    world = unproject_at_depth(points, vertex_depths, camera, plane)
    rotation = np.asarray(camera.matrix_world, dtype=np.float64)[:3, :3]
    face_width = np.linalg.norm(world[16] - world[0])
    origin = world.mean(axis=0) - camera.forward * (0.5 * face_width)
    return RestPose(origin, rotation, (world - origin) @ rotation)


def _world_per_pixel(camera: Camera, plane: ImagePlane, depth: float) -> float:
    plane_per_pixel = plane.size[0] / plane.pixels[0] * np.linalg.norm(np.asarray(plane.matrix_world)[:3, 0])
    if camera.orthographic:
        return float(plane_per_pixel)
    plane_depth = float(np.dot(np.asarray(plane.matrix_world)[:3, 3] - camera.origin, camera.forward))
    if plane_depth <= 0:
        raise UserError("the image plane is behind the camera; move it in front of the active camera")
    return float(plane_per_pixel * depth / plane_depth)


def _checked_points(points: np.ndarray) -> np.ndarray:
    points = np.asarray(points, dtype=np.float64)
    if points.shape != (N_LANDMARKS, 2) or not np.all(np.isfinite(points)):
        raise UserError(f"expected {N_LANDMARKS} finite landmark points (68, 2), got an array of shape "
                        f"{points.shape}; detect the landmarks again")
    return points


# --- the face's measures: what its expressions are scaled by ------------------------------------------------

@dataclass(frozen=True)
class FaceMeasures:
    """Lengths of this face (in the face frame's units) that expressions are scaled by."""

    mouth_width: float
    face_height: float   # nose bridge top to chin
    face_width: float    # jaw line, ear to ear
    right_brow_gap: float  # brow to upper eyelid, subject's right
    left_brow_gap: float

    @classmethod
    def of(cls, rest: np.ndarray) -> FaceMeasures:
        def gap(brow, lids):
            return float(rest[brow, 1].mean() - rest[[u for u, _ in lids], 1].mean())

        return cls(
            mouth_width=float(np.linalg.norm(rest[54] - rest[48])),
            face_height=float(np.linalg.norm(rest[CHIN] - rest[NOSE_BRIDGE[0]])),
            face_width=float(np.linalg.norm(rest[16] - rest[0])),
            right_brow_gap=max(gap(RIGHT_BROW, RIGHT_LIDS), 1e-6),
            left_brow_gap=max(gap(LEFT_BROW, LEFT_LIDS), 1e-6),
        )
