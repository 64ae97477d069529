"""What the operators share: the scene's rig and its data, where its files go (beside the saved .blend), the
scene's frame rate."""
from __future__ import annotations

import os

import numpy as np
import bpy

from ...core.face.rest_pose import N_LANDMARKS
from ...core.errors import UserError
from .. import rig_objects
from ..properties import is_rig


LANDMARKS_PROPERTY = "talking_heads_landmarks"  # the reference's 68 landmarks, kept on the rig object


def saved_blend_folder() -> str:
    if not bpy.data.filepath:
        raise UserError("save the .blend file first: the add-on writes its files to //talking_heads/ beside it")
    return os.path.dirname(bpy.data.filepath)


def rig_folder(rig_name: str) -> str:
    """//talking_heads/<rig name>/ as an absolute path, created if needed."""
    folder = os.path.join(saved_blend_folder(), "talking_heads", bpy.path.clean_name(rig_name))
    try:
        os.makedirs(folder, exist_ok=True)
    except OSError as e:
        raise UserError(f"cannot create {folder} ({e.strerror}); save the .blend where you can write") from None
    return folder


def scene_rig(context) -> bpy.types.Object:
    rig = context.scene.talking_heads.rig
    if rig is None and is_rig(context.object):
        rig = context.object
    if rig is None:
        raise UserError("there is no rig: build one in the Talking Heads tab (Rig panel)")
    if not is_rig(rig):
        raise UserError(f"{rig.name} is not a Talking Heads rig; build one in the Rig panel")
    rig_objects.rest_vertices(rig)  # exactly 68 vertices, or a clear error
    return rig


def reference_landmarks(rig) -> np.ndarray:
    values = rig.get(LANDMARKS_PROPERTY)
    if values is None or len(values) != 2 * N_LANDMARKS:
        raise UserError(f"{rig.name} has lost its reference landmarks; build the rig again")
    return np.array(values, dtype=np.float64).reshape(-1, 2)


def reference_file(rig) -> str:
    """The rig's reference image as a file on disk (written next to the .blend if it was only packed)."""
    image = rig.talking_heads.reference
    if image is None:
        raise UserError(f"{rig.name} has no reference image; build the rig again from a photo")
    path = bpy.path.abspath(image.filepath, library=image.library)
    if os.path.isfile(path):
        return path
    path = os.path.join(rig_folder(rig.name), "reference.png")
    image.filepath_raw = path
    image.file_format = 'PNG'
    image.save()
    image.filepath = bpy.path.relpath(path)
    return path


def person_model_file(rig) -> str:
    path = bpy.path.abspath(rig.talking_heads.person_model)
    if not rig.talking_heads.person_model or not os.path.isfile(path):
        raise UserError("there is no person model yet: press Fine-tune in the Model panel first")
    return path


def scene_fps(scene) -> float:
    return scene.render.fps / scene.render.fps_base
