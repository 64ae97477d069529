"""The generation driver: the rig, evaluated frame by frame through the depsgraph, projected through the
active camera onto the image plane, in the reference image's pixels.

Everything that moves the rig counts: shape keys, the object's transform, keyed vertices, modifiers,
constraints, parents, and the camera and the plane themselves. Blender does the evaluation; the projection
is `core.geometry.camera.project_to_pixels`, one vectorised call for all frames.

**Head mode** (the rig has a 3D head): the head object carries the head's rotation and the frames only the
expression, at the photo's pose. The rig's own rotation (Nod, Turn, Tilt, a Live Link take's keys) is taken
off before projecting, and what rotation is left in its keyed vertices (a video track's head motion) is split
off by `core.head.pose.split_rotation`; the two together are the head's rotation per frame. Expressions the
head's own shape keys play (its blinks) are held at 0 for the frames, so that the lids do not move twice.
"""
from __future__ import annotations

from contextlib import contextmanager

import numpy as np
from mathutils import Matrix

from ..core.errors import UserError
from ..core.face.rest_pose import N_LANDMARKS
from ..core.geometry.camera import Camera, project_to_pixels
from ..core.head.pose import split_rotation
from .rig_objects import active_camera, check_vertex_count, plane_model, rest_vertices


def rig_pixels(context, rig, frames: range) -> np.ndarray:
    """The rig's 68 landmarks in reference pixels at each of `frames`: (len(frames), 68, 2)."""
    local, matrices, rotations, cameras, planes, _ = _evaluate(context, rig, frames)
    world = local @ np.swapaxes(matrices[:, :3, :3], 1, 2) + matrices[:, None, :3, 3]
    return _project(context, rig, frames, world, cameras, planes)


def head_pose(context, rig, frames: range, held: tuple[str, ...] = ()) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Head mode: the landmarks in reference pixels at the photo's pose (F, 68, 2), the head's rotation
    (F, 3, 3) in the rig's frame (the camera's when the rig was built), and the values (F, len(held)) of the
    rig's shape keys `held`: the landmarks are evaluated with those keys muted (their value 0 where the
    artist had muted one)."""
    with _muted(rig, held) as blocks:
        local, matrices, rotations, cameras, planes, values = _evaluate(context, rig, frames, blocks)
    in_vertices, derotated = split_rotation(local, rest_vertices(rig))
    unrotated = matrices.copy()   # the rig's matrix without its own rotation (scale uniform)
    unrotated[:, :3, :3] = matrices[:, :3, :3] @ np.swapaxes(rotations, 1, 2)
    world = derotated @ np.swapaxes(unrotated[:, :3, :3], 1, 2) + unrotated[:, None, :3, 3]
    return _project(context, rig, frames, world, cameras, planes), rotations @ in_vertices, values


@contextmanager
def _muted(rig, names: tuple[str, ...]):
    """The rig's shape keys `names` muted for the block, their mute states restored after it; yields, per
    key, its block, or None where the artist had muted it already (it drives nothing)."""
    keys = rig.data.shape_keys
    blocks = [keys.key_blocks[name] for name in names]
    states = [block.mute for block in blocks]
    try:
        for block in blocks:
            block.mute = True
        yield [None if state else block for block, state in zip(blocks, states)]
    finally:
        for block, state in zip(blocks, states):
            block.mute = state


def _evaluate(context, rig, frames: range, value_blocks=()):
    """Per frame: the evaluated rig's vertices in its own space (F, 68, 3), its matrix_world (F, 4, 4), its own
    rotation (F, 3, 3), the camera's and the plane's matrices (F, 4, 4), and the evaluated values (F, K) of
    the shape keys `value_blocks` (0 for None)."""
    scene = context.scene
    camera = active_camera(scene)
    plane = rig.talking_heads.image_plane
    plane_model(rig)  # fails early on a rig that lost its plane or reference
    if not len(frames):
        raise UserError("the frame range is empty; set the scene's start and end frames")
    count = len(frames)
    local = np.empty((count, N_LANDMARKS, 3))
    matrices = np.empty((count, 4, 4))
    rotations = np.empty((count, 3, 3))
    cameras = np.empty((count, 4, 4))
    planes = np.empty((count, 4, 4))
    values = np.zeros((count, len(value_blocks)))
    current, subframe = scene.frame_current, scene.frame_subframe
    try:
        for i, frame in enumerate(frames):
            scene.frame_set(frame)
            depsgraph = context.evaluated_depsgraph_get()
            evaluated = rig.evaluated_get(depsgraph)
            local[i] = local_vertices(rig, evaluated)
            matrices[i] = _array(evaluated.matrix_world)
            rotations[i] = _array(_own_rotation(evaluated))
            cameras[i] = _array(camera.evaluated_get(depsgraph).matrix_world.normalized())
            planes[i] = _array(plane.evaluated_get(depsgraph).matrix_world)
            if value_blocks:   # the evaluated Key: its values with drivers and keyframes applied
                blocks = rig.data.shape_keys.evaluated_get(depsgraph).key_blocks
                values[i] = [0.0 if block is None else blocks[block.name].value for block in value_blocks]
    finally:
        scene.frame_set(current, subframe=subframe)
    return local, matrices, rotations, cameras, planes, values


def _own_rotation(obj):
    """The object's own rotation (not its delta rotation) as a 3x3 Matrix, whatever its rotation mode."""
    if obj.rotation_mode == 'QUATERNION':
        return obj.rotation_quaternion.normalized().to_matrix()
    if obj.rotation_mode == 'AXIS_ANGLE':
        angle, *axis = obj.rotation_axis_angle
        return Matrix.Rotation(angle, 3, axis)
    return obj.rotation_euler.to_matrix()


def _project(context, rig, frames: range, world: np.ndarray, cameras: np.ndarray, planes: np.ndarray) -> np.ndarray:
    camera = active_camera(context.scene)
    pixels = project_to_pixels(world, Camera(cameras, camera.data.type == 'ORTHO'), plane_model(rig, planes))
    bad = np.argwhere(~np.isfinite(pixels).all(axis=-1))
    if len(bad):
        frame, vertex = frames[bad[0][0]], bad[0][1]
        raise UserError(f"at frame {frame} vertex {vertex} of {rig.name} is behind the camera or its ray misses "
                        f"the image plane; keep the rig between the camera and the plane")
    return pixels.astype(np.float32)


def local_vertices(rig, evaluated) -> np.ndarray:
    """The evaluated rig's vertices (68, 3) in its own space."""
    vertices = evaluated.data.vertices
    check_vertex_count(rig, len(vertices))
    co = np.empty(len(vertices) * 3, dtype=np.float32)
    vertices.foreach_get("co", co)
    return co.reshape(-1, 3)


def world_vertices(rig, depsgraph) -> np.ndarray:
    """The evaluated rig's vertices (68, 3) in world space."""
    evaluated = rig.evaluated_get(depsgraph)
    matrix = _array(evaluated.matrix_world)
    return local_vertices(rig, evaluated) @ matrix[:3, :3].T + matrix[:3, 3]


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
