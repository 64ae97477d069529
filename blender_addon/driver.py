"""The generation driver: the rig, evaluated frame by frame through the depsgraph, projected through the
active camera onto the image plane, in the reference image's pixels.

Everything that moves the rig counts: shape keys, the object's transform, keyed vertices, modifiers,
constraints, parents, and the camera and the plane themselves. Blender does the evaluation; the projection
is `core.geometry.camera.project_to_pixels`, one vectorised call for all frames.
"""
from __future__ import annotations

import numpy as np

from ..core.errors import UserError
from ..core.face.rest_pose import N_LANDMARKS
from ..core.geometry.camera import Camera, project_to_pixels
from .rig_objects import active_camera, check_vertex_count, plane_model


def rig_pixels(context, rig, frames: range) -> np.ndarray:
    """The rig's 68 landmarks in reference pixels at each of `frames`: (len(frames), 68, 2)."""
    scene = context.scene
    camera = active_camera(scene)
    plane = rig.talking_heads.image_plane
    plane_model(rig)  # fails early on a rig that lost its plane or reference
    if not len(frames):
        raise UserError("the frame range is empty; set the scene's start and end frames")
    count = len(frames)
    world = np.empty((count, N_LANDMARKS, 3))
    cameras = np.empty((count, 4, 4))
    planes = np.empty((count, 4, 4))
    current, subframe = scene.frame_current, scene.frame_subframe
    try:
        for i, frame in enumerate(frames):
            scene.frame_set(frame)
            depsgraph = context.evaluated_depsgraph_get()
            world[i] = world_vertices(rig, depsgraph)
            cameras[i] = _array(camera.evaluated_get(depsgraph).matrix_world.normalized())
            planes[i] = _array(plane.evaluated_get(depsgraph).matrix_world)
    finally:
        scene.frame_set(current, subframe=subframe)
    pixels = project_to_pixels(world, Camera(cameras, camera.data.type == 'ORTHO'),
                                        plane_model(rig, planes))
    bad = np.argwhere(~np.isfinite(pixels).all(axis=-1))
    if len(bad):
        frame, vertex = frames[bad[0][0]], bad[0][1]
        raise UserError(f"at frame {frame} vertex {vertex} of {rig.name} is behind the camera or its ray misses "
                        f"the image plane; keep the rig between the camera and the plane")
    return pixels.astype(np.float32)


def world_vertices(rig, depsgraph) -> np.ndarray:
    """The evaluated rig's vertices (68, 3) in world space."""
    evaluated = rig.evaluated_get(depsgraph)
    vertices = evaluated.data.vertices
    check_vertex_count(rig, len(vertices))
    co = np.empty(len(vertices) * 3, dtype=np.float32)
    vertices.foreach_get("co", co)
    matrix = _array(evaluated.matrix_world)
    return co.reshape(-1, 3) @ matrix[:3, :3].T + matrix[:3, 3]


def _array(matrix) -> np.ndarray:
    """A mathutils Matrix as a float64 array. np.array(matrix) probes every row for numpy's array protocols
    and is three times as slow, which shows in `rig_pixels`, called every frame (benchmarks/RESULTS.md)."""
    return np.array([tuple(row) for row in matrix])


def current_pixels(scene, depsgraph, rig) -> np.ndarray:
    """The rig's landmarks (68, 2) at the frame `depsgraph` is evaluated for (the live preview's case: no
    frame change); NaN where a vertex cannot be projected."""
    camera = active_camera(scene)
    world = world_vertices(rig, depsgraph)
    camera_matrix = _array(camera.evaluated_get(depsgraph).matrix_world.normalized())
    plane = plane_model(rig, _array(rig.talking_heads.image_plane.evaluated_get(depsgraph).matrix_world))
    return project_to_pixels(world, Camera(camera_matrix, camera.data.type == 'ORTHO'), plane)
