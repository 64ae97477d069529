"""The library: landmarks, model, training, evaluation, and the rules every layer shares (errors, atomic writing,
video reading, ...). It imports nothing of export, app or blender_addon (docs/ARCHITECTURE.md)."""

__version__ = "0.1.0"
