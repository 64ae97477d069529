"""Neural Talking Heads, the Blender extension: bring a portrait to life with a landmark rig.

This folder is one package (Blender installs it as `bl_ext.<repository>.talking_heads`, the tests import it
as `talking_heads`): `core/` the library, `export/` the file formats, `app/` the command line, the worker and
the demo, `blender_addon/` the add-on (its manifest is blender_manifest.toml beside this file). bpy is
imported only when Blender registers the add-on, so the worker and the tests import this package without it.
"""


def register():
    from .blender_addon import register

    register()


def unregister():
    from .blender_addon import unregister

    unregister()
