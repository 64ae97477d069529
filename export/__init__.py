"""Export: frames to image sequences, flipbook atlases and videos, the person model to ONNX, and the
provenance (metadata and watermark) that every written image carries. Knows nothing of bpy."""
