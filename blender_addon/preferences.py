"""The add-on's preferences: which Python runs the worker, and on which device; how its environment is
installed; the key that signs the generated frames' Content Credentials.

The worker needs torch, which Blender's Python does not have. By default the add-on uses a virtual
environment it creates itself (the Install button) in the extension's user folder, from the registries
(PyPI and PyTorch's index: needs "Allow Online Access") or from a folder of wheels copied in (offline), with
the torch build chosen (CPU, or CUDA where an NVIDIA driver is present); any other Python with the project's
requirements can be named instead.
"""
from __future__ import annotations

import os
import sys

import bpy
from bpy.props import EnumProperty, StringProperty

from ..core.errors import UserError
from ..app import environment

ADDON_ID = __package__.rpartition(".")[0]  # the extension's module: bl_ext.<repository>.talking_heads
ENV_FOLDER = "worker-env"


def preferences(context=None) -> "TALKINGHEADS_AP_preferences":
    return (context or bpy.context).preferences.addons[ADDON_ID].preferences


def extension_root() -> str:
    """The extension's folder (the package: core/, export/, app/, models/): the worker's PYTHONPATH."""
    return os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def environment_folder() -> str:
    return bpy.utils.extension_path_user(ADDON_ID, path=ENV_FOLDER)


def worker_python(context=None) -> str:
    """The Python the worker runs with; UserError when there is none yet."""
    prefs = preferences(context)
    if prefs.python_path:
        path = bpy.path.abspath(prefs.python_path)
        if not os.path.isfile(path):
            raise UserError(f"the worker's Python {path} does not exist; fix the path in the add-on's preferences")
        return path
    path = environment.environment_python(environment_folder())
    if not os.path.isfile(path):
        raise UserError("the worker has no Python yet: press Install in Edit > Preferences > Add-ons > "
                        "Talking Heads (or name a Python with torch there)")
    return path


def worker_device(context=None) -> str:
    return preferences(context).device.lower()


def c2pa_identity(context=None) -> tuple[str | None, str | None]:
    """The user's C2PA signing key and certificate (absolute paths), or None each: the local identity."""
    prefs = preferences(context)
    paths = []
    for value, what in ((prefs.c2pa_key, "signing key"), (prefs.c2pa_cert, "certificate")):
        path = bpy.path.abspath(value) if value else None
        if path and not os.path.isfile(path):
            raise UserError(f"the C2PA {what} {path} does not exist; fix it in the add-on's preferences (empty: "
                            f"the local identity)")
        paths.append(path)
    if bool(paths[0]) != bool(paths[1]):
        raise UserError("set both the C2PA signing key and its certificate in the add-on's preferences, or "
                        "neither (the local identity)")
    return paths[0], paths[1]


def install_source(context=None) -> str | None:
    """The folder of wheels the environment is installed from, or None: the registries."""
    prefs = preferences(context)
    if prefs.install_source != 'WHEELHOUSE':
        return None
    if not prefs.wheelhouse:
        raise UserError("choose the folder of wheels to install from in the add-on's preferences")
    folder = bpy.path.abspath(prefs.wheelhouse)
    if not os.path.isdir(folder):
        raise UserError(f"the folder of wheels {folder} does not exist; choose it again in the preferences")
    return folder


def torch_build(context=None) -> str:
    """`cpu` or `cuda`: the torch build the Install button puts in the environment."""
    return environment.torch_build(preferences(context).torch_build.lower())


def describe_source(prefs) -> tuple[str, str]:
    """(the line the preferences show for where the environment comes from, its icon)."""
    if prefs.install_source == 'WHEELHOUSE':
        if not prefs.wheelhouse:
            return "Installs from a folder of wheels: choose the folder", 'ERROR'
        folder = bpy.path.abspath(prefs.wheelhouse)
        if not os.path.isdir(folder):
            return f"Installs from a folder of wheels: {folder} does not exist", 'ERROR'
        return (f"Installs offline from {folder} (pip --no-index): "
                f"{environment.wheelhouse_summary(folder)}", 'PACKAGE')
    if not bpy.app.online_access:
        return ("Installs from PyPI and PyTorch's index, but online access is off: allow it in System > "
                "Network, or install from a folder of wheels", 'ERROR')
    return "Installs from PyPI and PyTorch's index (online)", 'URL'


def describe_build(prefs) -> str:
    driver = environment.nvidia_driver()
    build = environment.torch_build(prefs.torch_build.lower())
    found = f"NVIDIA driver found ({os.path.basename(driver)})" if driver else "no NVIDIA driver found"
    if sys.platform == "darwin":
        found = "macOS: no CUDA"
    return f"Torch build: {build.upper()} ({found})"


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
    install_source: EnumProperty(
        name="Install From", default='REGISTRIES',
        items=[('REGISTRIES', "Registries", "PyPI and PyTorch's package index (needs online access)"),
               ('WHEELHOUSE', "Folder of Wheels", "Only the wheels in a folder you copied in (pip --no-index "
                                                  "--find-links): nothing is downloaded")])
    wheelhouse: StringProperty(
        name="Wheels", subtype='DIR_PATH', default="",
        description="A folder holding a wheel of every package the worker needs, for this platform and "
                    "Python 3.11 (made elsewhere with `pip download -r worker_requirements.txt -d DIR`)")
    torch_build: EnumProperty(
        name="Torch Build", default='AUTO',
        items=[('AUTO', "Automatic", "CUDA where an NVIDIA driver is installed, else the CPU build"),
               ('CPU', "CPU", "The CPU build (smaller; fine-tuning is slow)"),
               ('CUDA', "CUDA", "The CUDA build, for an NVIDIA GPU (a few GB)")])
    c2pa_key: StringProperty(
        name="C2PA Signing Key", subtype='FILE_PATH', default="",
        description="Your private key (PEM) that signs the generated frames' Content Credentials. Empty: the "
                    "local identity created once for this installation (validators show it as untrusted)")
    c2pa_cert: StringProperty(
        name="C2PA Certificate", subtype='FILE_PATH', default="",
        description="The certificate chain (PEM) of the signing key, your certificate first. Empty: the local "
                    "identity")
    install_log: StringProperty(name="Install Log", default="", options={'SKIP_SAVE'})
    worker_info: StringProperty(name="Worker", default="", options={'SKIP_SAVE'})

    def draw(self, context):
        layout = self.layout
        layout.use_property_split = True
        layout.prop(self, "python_path")
        if not self.python_path:
            folder = environment_folder()
            ready = os.path.isfile(environment.environment_python(folder))
            box = layout.box()
            box.label(text=("Environment: " if ready else "Not installed: ") + folder,
                      icon='CHECKMARK' if ready else 'ERROR')
            box.prop(self, "install_source")
            if self.install_source == 'WHEELHOUSE':
                box.prop(self, "wheelhouse")
            box.prop(self, "torch_build")
            text, icon = describe_source(self)
            box.label(text=text, icon=icon)
            box.label(text=describe_build(self), icon='INFO')
            box.operator("talking_heads.install_worker", text="Reinstall" if ready else "Install",
                         icon='IMPORT')
            if self.install_log:
                box.label(text=self.install_log)
        layout.prop(self, "device")
        row = layout.row()
        row.operator("talking_heads.check_worker", icon='SYSTEM')
        if self.worker_info:
            row.label(text=self.worker_info)
        box = layout.box()
        box.label(text="Content Credentials (C2PA) of the generated frames")
        box.prop(self, "c2pa_key")
        box.prop(self, "c2pa_cert")
        if not (self.c2pa_key or self.c2pa_cert):
            box.label(text="Signed with this installation's local identity (validators show an untrusted signer)",
                      icon='INFO')


CLASSES = (TALKINGHEADS_AP_preferences,)
