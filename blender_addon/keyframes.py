"""Keyframing shape-key points in bulk (an imported track is 68 points x 3 axes x every frame).

Each point's F-Curves are created by one ordinary `keyframe_insert` (so Blender sets up the action, its
slot and the curves the way it does for an artist), then filled with all frames at once.
"""
from __future__ import annotations

import numpy as np

import bpy

from .compat import fcurves_of

LINEAR = 1  # the 'LINEAR' item of Keyframe.interpolation, as foreach_set takes it


def key_points_path(block_name: str) -> str:
    return f'key_blocks["{bpy.utils.escape_identifier(block_name)}"].data['


def clear_point_keys(rig, block_name: str) -> None:
    """Remove the keyframes of a shape key's points (not of its value)."""
    fcurves = fcurves_of(rig.data.shape_keys)
    if fcurves is None:
        return
    prefix = key_points_path(block_name)
    for fcurve in [f for f in fcurves if f.data_path.startswith(prefix)]:
        fcurves.remove(fcurve)


def key_points(rig, block_name: str, frames: np.ndarray, coords: np.ndarray, axes=(0, 1, 2)) -> None:
    """Animate the points of shape key `block_name`: `coords` (F, N, 3) at scene `frames` (F,), linearly.

    Only `axes` are keyed (the others keep `coords[0]`): Blender resolves every F-Curve's path on every
    frame, so a track that moves vertices in their face plane keys x and y only, a third less to evaluate."""
    keys = rig.data.shape_keys
    block = keys.key_blocks[block_name]
    clear_point_keys(rig, block_name)
    frames = np.asarray(frames, dtype=np.float32)
    coords = np.asarray(coords, dtype=np.float32)
    for i, point in enumerate(block.data):
        point.co = coords[0, i].tolist()
        for axis in axes:
            point.keyframe_insert("co", index=axis, frame=float(frames[0]))
    fcurves = fcurves_of(keys)
    prefix = key_points_path(block_name)
    for fcurve in fcurves:
        if not fcurve.data_path.startswith(prefix):
            continue
        index = int(fcurve.data_path[len(prefix):].split("]")[0])
        values = coords[:, index, fcurve.array_index]
        points = fcurve.keyframe_points
        points.add(len(frames) - 1)
        points.foreach_set("co", np.column_stack([frames, values]).ravel())
        points.foreach_set("interpolation", np.full(len(frames), LINEAR, dtype=np.int32))
        fcurve.update()


def find_fcurve(id_data, data_path: str, index: int = 0):
    fcurves = fcurves_of(id_data)
    if fcurves is None:
        return None
    return next((f for f in fcurves if f.data_path == data_path and f.array_index == index), None)


def key_values(owner, prop: str, frames: np.ndarray, values: np.ndarray, index: int = -1) -> None:
    """Animate `owner.prop` (index `index` of an array property) with `values` (F,) at scene `frames` (F,),
    linearly, replacing the keys it had from the first to the last of `frames` and keeping those outside
    (hand-keyed work before and after an import stays as it was).

    The F-Curve is created by one ordinary `keyframe_insert` (Blender sets up the action and its slot), the
    keys inside the range are removed, and the new ones are appended in one go: the points' fields are read
    whole, the new points' entries filled in and written back, so the other keys keep their own handles
    and interpolation."""
    frames = np.asarray(frames, dtype=np.float64)
    values = np.asarray(values, dtype=np.float64)
    if not len(frames):
        return
    first, last = float(frames.min()), float(frames.max())
    path = owner.path_from_id(prop)
    array_index = max(index, 0)
    if index < 0:
        setattr(owner, prop, float(values[0]))
    else:
        getattr(owner, prop)[index] = float(values[0])
    owner.keyframe_insert(prop, index=index, frame=float(frames[0]))
    fcurve = find_fcurve(owner.id_data, path, array_index)
    points = fcurve.keyframe_points
    for point in reversed(list(points)):
        if first - 1e-3 <= point.co[0] <= last + 1e-3:
            points.remove(point, fast=True)
    kept = len(points)
    points.add(len(frames))
    total = kept + len(frames)
    new = slice(kept, total)
    co = np.empty(2 * total)
    points.foreach_get("co", co)
    co = co.reshape(-1, 2)
    co[new] = np.column_stack([frames, values])
    points.foreach_set("co", co.ravel())
    for handle in ("handle_left", "handle_right"):
        handles = np.empty(2 * total)
        points.foreach_get(handle, handles)
        handles = handles.reshape(-1, 2)
        handles[new] = co[new]
        points.foreach_set(handle, handles.ravel())
    interpolation = np.empty(total, dtype=np.int32)
    points.foreach_get("interpolation", interpolation)
    interpolation[new] = LINEAR
    points.foreach_set("interpolation", interpolation)
    fcurve.update()  # sorts the keys by frame and recomputes the automatic handles
