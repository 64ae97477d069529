"""Neural Talking Heads core: landmarks, model, training, inference and evaluation. Knows nothing of bpy."""

__version__ = "0.1.0"
