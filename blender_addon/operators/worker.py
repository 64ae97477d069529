"""The preferences' operators: install the worker's environment (Blender's own Python runs that job) and
check what the worker's Python provides."""
from __future__ import annotations

import os
import sys

import bpy

from ...app import protocol, worker_jobs
from ...core.errors import UserError
from .. import preferences
from ..jobs import WorkerJob
from ..worker_client import WorkerProcess, worker_command, worker_environment


class TALKINGHEADS_OT_install_worker(WorkerJob, bpy.types.Operator):
    """Create the worker's Python environment in the extension's user folder and install the project's
    requirements into it with pip (a few GB: torch), from the registries or a folder of wheels (outside the
    .blend: Blender's undo does not cover it)"""

    bl_idname = "talking_heads.install_worker"
    bl_label = "Install Worker Environment"
    bl_options = {'REGISTER', 'INTERNAL'}
    job_title = "Install"

    def job_request(self, context) -> worker_jobs.InstallJob:
        wheelhouse = preferences.install_source(context)
        if wheelhouse is None and not bpy.app.online_access:
            raise UserError("online access is off: allow it in Preferences > System > Network to download the "
                            "worker's packages, or install from a folder of wheels")
        requirements = os.path.join(preferences.extension_root(), "worker_requirements.txt")  # checked by the job
        return worker_jobs.InstallJob(folder=preferences.environment_folder(), requirements=requirements,
                                      wheelhouse=wheelhouse, torch=preferences.torch_build(context))

    def job_process(self, context, request: worker_jobs.InstallJob) -> WorkerProcess:
        """The worker run by Blender's own Python: the environment with torch is what it is making."""
        root = preferences.extension_root()
        return WorkerProcess(worker_command(sys.executable), request, env=worker_environment(root), cwd=root)

    def job_event(self, context, event: protocol.Event) -> None:
        if isinstance(event, protocol.Progress):
            preferences.preferences(context).install_log = event.message[:200]

    def job_finished(self, context, result: worker_jobs.InstallResult) -> None:
        preferences.preferences(context).install_log = f"installed in {result.python}"
        self.report({'INFO'}, "the worker's environment is ready")


class TALKINGHEADS_OT_check_worker(WorkerJob, bpy.types.Operator):
    """Start the worker once and show what its Python provides (torch version, CUDA device); it changes
    nothing to undo"""

    bl_idname = "talking_heads.check_worker"
    bl_label = "Check Worker"
    bl_options = {'REGISTER', 'INTERNAL'}
    job_title = "Check worker"

    def job_request(self, context) -> worker_jobs.InfoJob:
        return worker_jobs.InfoJob()

    def job_finished(self, context, result: worker_jobs.InfoResult) -> None:
        text = f"Python {result.python}, torch {result.torch}, {result.device}"
        preferences.preferences(context).worker_info = text
        self.report({'INFO'}, text)


