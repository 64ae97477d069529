"""Neural Talking Heads, the Blender extension: bring a portrait to life with a landmark rig.

Blender loads this package (its manifest is blender_manifest.toml beside this file); the add-on itself is
the `blender_addon` package. The extension also carries `core/`, `export/` and `models/` for the worker
process that runs the neural network outside Blender's Python.
"""
from .blender_addon import register, unregister

__all__ = ["register", "unregister"]
