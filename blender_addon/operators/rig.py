"""The Rig panel's operators: build the rig from a photo (landmarks in the worker), key single vertices,
reset the expressions."""
from __future__ import annotations

import os

import numpy as np

import bpy
from bpy.props import FloatProperty, StringProperty

from ...app import protocol, worker_jobs
from ...core.face.expressions import EXPRESSIONS
from ...core.errors import UserError
from .. import compat, rig_objects
from ..compat import BLEND_RELATIVE
from ..jobs import WorkerJob
from ..properties import is_rig
from .scene import LANDMARKS_PROPERTY, rig_folder, scene_rig


class TALKINGHEADS_OT_build_rig(WorkerJob, bpy.types.Operator):
    """Detect the face's landmarks and build, in front of the scene camera, an image plane showing the photo
    and a 68-vertex landmark rig that matches it exactly at rest"""

    bl_idname = "talking_heads.build_rig"
    bl_label = "Build Rig"
    bl_options = {'UNDO'}
    job_title = "Build rig"

    filepath: StringProperty(name="Photo", subtype='FILE_PATH', default="", options=BLEND_RELATIVE,
                             description="The reference photo (empty: the active reference in the list)")
    distance: FloatProperty(name="Plane Distance", default=4.0, min=0.01, unit='LENGTH',
                            description="How far in front of the camera the image plane goes")

    def job_request(self, context) -> protocol.Job:
        rig_objects.active_camera(context.scene)
        path = self._photo(context)
        self._source = path
        self._name = _unique_object_name(f"{bpy.path.display_name_from_filepath(path)} rig")
        folder = rig_folder(self._name) if bpy.data.filepath else bpy.app.tempdir
        self._copy = os.path.join(folder, f"{bpy.path.clean_name(self._name)} reference.png")
        return worker_jobs.DetectJob(image=path, reference_copy=self._copy)

    def _photo(self, context) -> str:
        if self.filepath:
            path = bpy.path.abspath(self.filepath)
        else:
            settings = context.scene.talking_heads
            if not len(settings.references):
                raise UserError("no reference photo: add one in the Reference panel (or pass filepath=...)")
            image = settings.references[settings.reference_index].image
            if image is None:
                raise UserError("the active reference has no image; remove it and add the photo again")
            path = bpy.path.abspath(image.filepath, library=image.library)
        if not os.path.isfile(path):
            raise UserError(f"{path}: no such file; choose the photo again")
        return path

    def job_finished(self, context, result: worker_jobs.DetectResult) -> None:
        image = bpy.data.images.load(self._copy)
        image.name = f"{self._name} reference"
        if bpy.data.filepath:
            image.filepath = bpy.path.relpath(self._copy)
        else:
            image.pack()  # the copy lives in a temporary folder: keep its pixels in the .blend
        rig = rig_objects.build(context, self._name, image, result, self.distance)
        rig[LANDMARKS_PROPERTY] = np.asarray(result.points, dtype=np.float64).ravel().tolist()
        rig.talking_heads.source_photo = self._source
        for obj in context.view_layer.objects.selected:
            obj.select_set(False)
        context.view_layer.objects.active = rig
        rig.select_set(True)
        self.report({'INFO'}, f"built {rig.name} ({result.backend} landmarks, depth from the "
                              f"{result.depth_source})")


def _unique_object_name(base: str) -> str:
    name, n = base, 1
    while name in bpy.data.objects:
        name, n = f"{base}.{n:03d}", n + 1
    return name


class TALKINGHEADS_OT_keyframe_vertices(bpy.types.Operator):
    """Keyframe the selected vertices of the rig's active shape key at the current frame"""

    bl_idname = "talking_heads.keyframe_vertices"
    bl_label = "Keyframe Vertices"
    bl_options = {'REGISTER', 'UNDO'}

    @classmethod
    def poll(cls, context):
        return is_rig(context.object)

    def execute(self, context):
        rig = context.object
        editing = rig.mode == 'EDIT'
        if editing:
            bpy.ops.object.mode_set(mode='OBJECT')  # writes the edited positions into the shape key
        try:
            block = rig.active_shape_key
            if block is None or block == rig.data.shape_keys.reference_key:
                raise UserError("choose a shape key other than Basis (Vertices, for example) to pose vertices in")
            selected = [v.index for v in rig.data.vertices if v.select]
            if not selected:
                raise UserError("select the vertices to keyframe (Edit Mode)")
            for index in selected:
                block.data[index].keyframe_insert("co", frame=context.scene.frame_current)
        except UserError as e:
            self.report({'ERROR'}, str(e))
            return {'CANCELLED'}
        finally:
            if editing:
                bpy.ops.object.mode_set(mode='EDIT')
        self.report({'INFO'}, f"keyed {len(selected)} vertices of {block.name} at frame "
                              f"{context.scene.frame_current}")
        return {'FINISHED'}


class TALKINGHEADS_OT_reset_expressions(bpy.types.Operator):
    """Set every expression of the rig to zero at the current frame (keyed values are keyed again)"""

    bl_idname = "talking_heads.reset_expressions"
    bl_label = "Reset Expressions"
    bl_options = {'REGISTER', 'UNDO'}

    def execute(self, context):
        try:
            rig = scene_rig(context)
        except UserError as e:
            self.report({'ERROR'}, str(e))
            return {'CANCELLED'}
        fcurves = compat.fcurves_of(rig.data.shape_keys)
        keyed = {f.data_path for f in fcurves} if fcurves is not None else set()
        for block in rig.data.shape_keys.key_blocks:
            if block.name in EXPRESSIONS:
                block.value = 0.0
                if f'key_blocks["{block.name}"].value' in keyed:
                    block.keyframe_insert("value", frame=context.scene.frame_current)
        return {'FINISHED'}


