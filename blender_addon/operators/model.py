"""The Model panel's operator: fine-tune the person model on the reference photos (in the worker)."""
from __future__ import annotations

import os

import bpy

from ...app import protocol, worker_jobs
from .. import preferences
from ..jobs import WorkerJob
from .scene import reference_file, rig_folder, scene_rig


class TALKINGHEADS_OT_finetune(WorkerJob, bpy.types.Operator):
    """Fine-tune a person model on the reference photos (the rig's first); it is what frames are generated
    with"""

    bl_idname = "talking_heads.finetune"
    bl_label = "Fine-tune"
    bl_options = {'UNDO'}
    job_title = "Fine-tune"

    def job_request(self, context) -> protocol.Job:
        rig = scene_rig(context)
        settings = context.scene.talking_heads
        images = [reference_file(rig)]  # first: the person model's reference is the rig's
        source = os.path.abspath(bpy.path.abspath(rig.talking_heads.source_photo))
        for item in settings.references:
            if item.image is None:
                continue
            path = os.path.abspath(bpy.path.abspath(item.image.filepath, library=item.image.library))
            if os.path.isfile(path) and path != source and path not in images:
                images.append(path)
        self._rig_name = rig.name
        self._out = os.path.join(rig_folder(rig.name), "person.safetensors")
        return worker_jobs.FinetuneJob(images=images, out=self._out, preset=settings.finetune_preset,
                                    steps=settings.finetune_steps, device=preferences.worker_device(context))

    def job_finished(self, context, result: worker_jobs.FinetuneResult) -> None:
        rig = bpy.data.objects[self._rig_name]
        rig.talking_heads.person_model = bpy.path.relpath(result.person)
        self.report({'INFO'}, f"person model written to {rig.talking_heads.person_model}")


