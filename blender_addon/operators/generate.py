"""The Generate panel's operator: the rig drives the person model over the frame range (in the worker); the
frames play on the plane or the selected objects.

With a head (the rig's, fitted or built from the photo) the head carries the pose: the frames are rendered
at the photo's pose (`driver.head_pose`) and the head's rotation is keyed over the range; a fitted head's UV
frames (head_####.png, baked by the worker beside the frames) are wired into its baked materials, and a Head
from Photo head plays the frames themselves. A head with blink shape keys (`head_objects.blink_keys`) blinks
in geometry: they are keyed with the rig's eyeBlinkLeft/Right, which the frames are generated without.
Keyed rather than driven from the rig: the head plays what was generated, with or without the rig (a
deleted rig, a glTF export, which carries keyed shape keys and not drivers), as its keyed rotation does."""
from __future__ import annotations

import os

import numpy as np

import bpy
from bpy.props import BoolProperty, EnumProperty
from mathutils import Matrix

from ...app import protocol, worker_jobs
from ...core.errors import UserError
from ...core.head.pose import in_object_frame
from .. import driver, head_objects, keyframes, materials, preferences, preview, track_file
from ..jobs import WorkerJob
from .scene import person_model_file, rig_folder, scene_rig


class TALKINGHEADS_OT_generate(WorkerJob, bpy.types.Operator):
    """Generate the scene's frame range: the rig, seen through the active camera, drives the person model;
    frames go to //talking_heads/<rig>/ and play as an image sequence on the plane (or selected objects)"""

    bl_idname = "talking_heads.generate"
    bl_label = "Generate Frames"
    bl_options = {'UNDO'}
    job_title = "Generate"

    alpha: BoolProperty(name="Head Matte", default=False,
                        description="Frames with alpha: the head (face, forehead, hair, ears) opaque, the rest "
                                    "transparent; the plane then shows the head alone over what is behind it (not "
                                    "set: the Generate panel's setting)")

    target: EnumProperty(
        name="Show On", default='SCENE',
        items=[('SCENE', "As Set in the Scene", "Use the Generate panel's setting"),
               ('PLANE', "Image Plane", "Play the frames on the rig's image plane"),
               ('SELECTED', "Selected Objects", "Play the frames on the selected objects' materials")])

    def job_request(self, context) -> protocol.Job:
        rig = scene_rig(context)
        scene = context.scene
        folder = rig_folder(rig.name)
        person = person_model_file(rig)
        if self._target(context) == 'SELECTED' and not self._selected(context, rig):
            raise UserError("select the objects to show the frames on (other than the rig and its plane)")
        if scene.frame_start < 0:
            raise UserError("the scene's frame range starts before 0; frames are numbered from 0")
        frames = range(scene.frame_start, scene.frame_end + 1)
        head = head_in_use(rig)
        with preview.paused():
            pixels, self._rotations, self._blinks = driving_pixels(context, rig, head, frames)
        head_fit = None
        if head is not None and not head.talking_heads.head_from_photo:
            head_fit = bpy.path.abspath(head.talking_heads.head_fit)
            if not os.path.isfile(head_fit):
                raise UserError(f"{head.name}'s fit file is missing ({head_fit}); press Fit to Head again")
            if head.data.uv_layers.get(head.talking_heads.head_uv_map) is None:
                raise UserError(f"{head.name} has lost the UV map {head.talking_heads.head_uv_map!r} it was fitted "
                                f"on; press Fit to Head again")
        self._head_name = head.name if head is not None else None
        track = os.path.join(folder, "driver_track.json")
        image = rig.talking_heads.reference
        track_file.write_track(track, pixels, frames, scene.render.fps / scene.render.fps_base,
                               (int(image.size[0]), int(image.size[1])), source=rig.name)
        self._rig_name, self._folder, self._frames = rig.name, folder, frames
        # alpha=... from a script or the panel; otherwise the Generate panel's setting
        self._alpha = self.alpha if self.properties.is_property_set("alpha") else scene.talking_heads.generate_alpha
        key, certificate = preferences.c2pa_identity(context)
        return worker_jobs.GenerateJob(person=person, track=track, out_dir=folder, name="frame_",
                                    device=preferences.worker_device(context), alpha=self._alpha,
                                    c2pa_key=key, c2pa_cert=certificate, head_fit=head_fit, head_name=HEAD_NAME)

    def _target(self, context) -> str:
        return context.scene.talking_heads.generate_target if self.target == 'SCENE' else self.target

    @staticmethod
    def _selected(context, rig) -> list:
        plane = rig.talking_heads.image_plane
        return [o for o in context.selected_objects if o not in (rig, plane)]

    def job_finished(self, context, result: worker_jobs.GenerateResult) -> None:
        self._show_frames(context, len(self._frames))
        self._show_on_head(len(self._frames))
        self.report({'INFO'}, f"{len(self._frames)} frames in //talking_heads/{os.path.basename(self._folder)}/")

    def job_cancelled(self, context) -> None:
        """Frames written before the cancel are kept and shown, up to the first missing one."""
        written = 0
        for number in self._frames:
            if not os.path.isfile(materials.frame_path(self._folder, "frame_", number)):
                break
            written += 1
        if written:
            self._show_frames(context, written)
            self._show_on_head(written)

    def _show_frames(self, context, count: int) -> None:
        rig = bpy.data.objects[self._rig_name]
        first = self._frames[0]
        path = bpy.path.relpath(materials.frame_path(self._folder, "frame_", first))
        image = materials.load_sequence(path, f"{rig.name} frames", alpha=self._alpha)
        if self._target(context) == 'SELECTED':
            for obj in self._selected(context, rig):
                materials.put_on_object(obj, image, first, count, alpha=self._alpha)
            rig.talking_heads.frames = image
            rig.talking_heads.frames_alpha = self._alpha
        else:
            materials.put_on_plane(rig, image, first, count, alpha=self._alpha)

    def _show_on_head(self, count: int) -> None:
        """Key the head's rotation over the frames and play the frames (or their UV bake) on it."""
        if self._head_name is None:
            return
        rig, head = bpy.data.objects[self._rig_name], bpy.data.objects[self._head_name]
        first = self._frames[0]
        key_head_rotation(head, np.asarray(self._frames[:count]), self._rotations[:count])
        key_head_blinks(head, np.asarray(self._frames[:count]), {k: v[:count] for k, v in self._blinks.items()})
        if head.talking_heads.head_from_photo:
            materials.play_on_photo_head(head, rig.talking_heads.frames, first, count)
            return
        path = materials.frame_path(self._folder, HEAD_NAME, first)
        image = materials.load_sequence(bpy.path.relpath(path), f"{head.name} UV frames", alpha=True)
        uv_map = head.talking_heads.head_uv_map
        for slot in head_objects.weighted_slots(head, uv_map, head_objects.image_alpha(path)):
            material = head.material_slots[slot].material if slot < len(head.material_slots) else None
            if material is not None:
                materials.wire_head_frames(material, image, uv_map, first, count)


HEAD_NAME = "head_"  # the UV frames' names (head_####.png), beside the frames


def head_in_use(rig):
    """The rig's head when it carries the pose: fitted, or built from the photo; else None."""
    head = rig.talking_heads.head
    if head is None or head.type != 'MESH':
        return None
    settings = head.talking_heads
    return head if settings.head_from_photo or settings.head_fit else None


def driving_pixels(context, rig, head, frames: range) -> tuple[np.ndarray, np.ndarray | None, dict]:
    """The landmarks (F, 68, 2) the frames are generated from; with a head, its rotations (F, 3, 3) and its
    blink keys' values {head key: (F,)}, the rig's blinks the frames are generated without."""
    if head is None:
        return driver.rig_pixels(context, rig, frames), None, {}
    rig_keys = rig.data.shape_keys
    blinks = {expression: key for expression, key in head_objects.blink_keys(head).items()
              if rig_keys is not None and expression in rig_keys.key_blocks}
    pixels, rotations, values = driver.head_pose(context, rig, frames, held=tuple(blinks))
    return pixels, rotations, {key: values[:, i] for i, key in enumerate(blinks.values())}


def key_head_blinks(head, frames: np.ndarray, values: dict) -> None:
    """Key the head's shape keys {name: (F,) values} at `frames` (keys outside them kept); a key removed
    while the frames were generated is passed over."""
    keys = head.data.shape_keys
    for name, keyed in values.items():
        block = keys.key_blocks.get(name) if keys is not None else None
        if block is not None:
            keyframes.key_values(block, "value", frames, keyed)


def key_head_rotation(head, frames: np.ndarray, rotations: np.ndarray) -> None:
    """Key `head`'s rotation at `frames`: its rest rotation turned, about its origin and in its own frame, by
    the rig-frame `rotations` (F, 3, 3) seen through the fit's camera. The rest rotation is the head's own
    until it is first keyed, kept on the head after that (so generating again starts from it)."""
    settings = head.talking_heads
    animated = head.animation_data is not None and head.animation_data.action is not None
    if not (settings.head_rest_set and animated):
        settings.head_rest = [v for row in head.matrix_basis.to_3x3().normalized() for v in row]
        settings.head_rest_set = True
    rest = np.array(settings.head_rest).reshape(3, 3)
    turned = rest @ in_object_frame(rotations, np.array(settings.head_camera).reshape(3, 3))
    if head.rotation_mode == 'AXIS_ANGLE':
        head.rotation_mode = 'QUATERNION'
    if head.rotation_mode == 'QUATERNION':
        values = np.array([tuple(Matrix(r.tolist()).to_quaternion()) for r in turned])
        prop = "rotation_quaternion"
    else:
        eulers, previous = [], None
        for r in turned:
            previous = Matrix(r.tolist()).to_euler(head.rotation_mode, *(() if previous is None else (previous,)))
            eulers.append(tuple(previous))
        values, prop = np.array(eulers), "rotation_euler"
    for index in range(values.shape[1]):
        keyframes.key_values(head, prop, frames, values[:, index], index=index)
