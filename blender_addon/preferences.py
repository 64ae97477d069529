"""The add-on's preferences: which Python runs the worker, and on which device.

The worker needs torch, which Blender's Python does not have. By default the add-on uses a virtual
environment it creates itself (the Install button) in the extension's user folder; any other Python with
the project's requirements can be named instead.
"""
from __future__ import annotations

import os
import sys

import bpy
from bpy.props import EnumProperty, StringProperty

from ..core.errors import UserError

ADDON_ID = __package__.rpartition(".")[0]  # the extension's module: bl_ext.<repository>.talking_heads
ENV_FOLDER = "worker-env"


def preferences(context=None) -> "TALKINGHEADS_AP_preferences":
    return (context or bpy.context).preferences.addons[ADDON_ID].preferences


def extension_root() -> str:
    """The folder holding core/, export/ and models/: what the worker needs on its PYTHONPATH."""
    return os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def environment_folder() -> str:
    return bpy.utils.extension_path_user(ADDON_ID, path=ENV_FOLDER)


def environment_python(folder: str) -> str:
    if sys.platform == "win32":
        return os.path.join(folder, "Scripts", "python.exe")
    return os.path.join(folder, "bin", "python")


def worker_python(context=None) -> str:
    """The Python the worker runs with; UserError when there is none yet."""
    prefs = preferences(context)
    if prefs.python_path:
        path = bpy.path.abspath(prefs.python_path)
        if not os.path.isfile(path):
            raise UserError(f"the worker's Python {path} does not exist; fix the path in the add-on's preferences")
        return path
    path = environment_python(environment_folder())
    if not os.path.isfile(path):
        raise UserError("the worker has no Python yet: press Install in Edit > Preferences > Add-ons > "
                        "Talking Heads (or name a Python with torch there)")
    return path


def worker_device(context=None) -> str:
    return preferences(context).device.lower()


class TALKINGHEADS_AP_preferences(bpy.types.AddonPreferences):
    bl_idname = ADDON_ID

    python_path: StringProperty(
        name="Worker Python", subtype='FILE_PATH', default="",
        description="A Python with the project's requirements (torch, ...). Empty: the environment the "
                    "Install button creates in the extension's user folder")
    device: EnumProperty(
        name="Device", default='AUTO',
        items=[('AUTO', "Automatic", "CUDA when a CUDA GPU is present, else the CPU"),
               ('CUDA', "CUDA", "An NVIDIA GPU (fails if there is none)"),
               ('CPU', "CPU", "The processor (slow for fine-tuning)")])
    install_log: StringProperty(name="Install Log", default="", options={'SKIP_SAVE'})
    worker_info: StringProperty(name="Worker", default="", options={'SKIP_SAVE'})

    def draw(self, context):
        layout = self.layout
        layout.use_property_split = True
        layout.prop(self, "python_path")
        if not self.python_path:
            folder = environment_folder()
            ready = os.path.isfile(environment_python(folder))
            box = layout.box()
            box.label(text=("Environment: " if ready else "Not installed: ") + folder,
                      icon='CHECKMARK' if ready else 'ERROR')
            box.operator("talking_heads.install_worker", text="Reinstall" if ready else "Install",
                         icon='IMPORT')
            if self.install_log:
                box.label(text=self.install_log)
        layout.prop(self, "device")
        row = layout.row()
        row.operator("talking_heads.check_worker", icon='SYSTEM')
        if self.worker_info:
            row.label(text=self.worker_info)


CLASSES = (TALKINGHEADS_AP_preferences,)
