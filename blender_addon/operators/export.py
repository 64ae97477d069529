"""The Export panel's operators: the frames as an MP4, the person model as ONNX (both in the worker)."""
from __future__ import annotations

import os

import bpy

from ...app import protocol, worker_jobs
from ..jobs import WorkerJob
from .scene import person_model_file, rig_folder, scene_rig


class TALKINGHEADS_OT_export_video(WorkerJob, bpy.types.Operator):
    """Encode the generated frames as an H.264 MP4 (//talking_heads/<rig>/<rig>.mp4) at the scene's frame rate
    (it writes a file and changes nothing in the scene: there is nothing to undo)"""

    bl_idname = "talking_heads.export_video"
    bl_label = "Export Video"
    bl_options = {'REGISTER'}
    job_title = "Export video"

    def job_request(self, context) -> protocol.Job:
        rig = scene_rig(context)
        folder = rig_folder(rig.name)
        scene = context.scene
        return worker_jobs.ExportVideoJob(frames=folder, name="frame_",
                                       out=os.path.join(folder, f"{bpy.path.clean_name(rig.name)}.mp4"),
                                       fps=scene.render.fps / scene.render.fps_base)

    def job_finished(self, context, result: worker_jobs.ExportVideoResult) -> None:
        self.report({'INFO'}, f"wrote {bpy.path.relpath(result.video)} ({result.frames} frames)")


class TALKINGHEADS_OT_export_onnx(WorkerJob, bpy.types.Operator):
    """Export the person model to ONNX (//talking_heads/<rig>/person.onnx) and use it for the live preview"""

    bl_idname = "talking_heads.export_onnx"
    bl_label = "Export ONNX Model"
    bl_options = {'UNDO'}
    job_title = "Export ONNX"

    def job_request(self, context) -> protocol.Job:
        rig = scene_rig(context)
        return worker_jobs.ExportOnnxJob(person=person_model_file(rig), out=os.path.join(rig_folder(rig.name), "person.onnx"))

    def job_finished(self, context, result: worker_jobs.ExportOnnxResult) -> None:
        context.scene.talking_heads.preview_model = bpy.path.relpath(result.onnx)
        self.report({'INFO'}, f"wrote {context.scene.talking_heads.preview_model}; the live preview uses it")


