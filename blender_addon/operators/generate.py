"""The Generate panel's operator: the rig drives the person model over the frame range (in the worker); the
frames play on the plane or the selected objects."""
from __future__ import annotations

import os

import bpy
from bpy.props import BoolProperty, EnumProperty

from ...app import protocol, worker_jobs
from ...core.errors import UserError
from .. import driver, materials, preferences, preview, track_file
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
        with preview.paused():
            pixels = driver.rig_pixels(context, rig, frames)
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
                                    c2pa_key=key, c2pa_cert=certificate)

    def _target(self, context) -> str:
        return context.scene.talking_heads.generate_target if self.target == 'SCENE' else self.target

    @staticmethod
    def _selected(context, rig) -> list:
        plane = rig.talking_heads.image_plane
        return [o for o in context.selected_objects if o not in (rig, plane)]

    def job_finished(self, context, result: worker_jobs.GenerateResult) -> None:
        self._show_frames(context, len(self._frames))
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


