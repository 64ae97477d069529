"""Keyframing shape-key points in bulk (an imported track is 68 points x 3 axes x every frame).

Each point's F-Curves are created by one ordinary `keyframe_insert` (so Blender sets up the action, its
slot and the curves the way it does for an artist), then filled with all frames at once.
"""
from __future__ import annotations

import numpy as np

import bpy

LINEAR = 1  # the 'LINEAR' item of Keyframe.interpolation, as foreach_set takes it


def fcurves_of(id_data):
    """The F-Curves animating `id_data`: its action's (Blender 4.2, 4.3) or its slot's (4.4 and later)."""
    animation = id_data.animation_data
    if animation is None or animation.action is None:
        return None
    slot = getattr(animation, "action_slot", None)
    if slot is not None:
        from bpy_extras import anim_utils

        channelbag = anim_utils.action_get_channelbag_for_slot(animation.action, slot)
        return channelbag.fcurves if channelbag is not None else None
    return animation.action.fcurves


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
