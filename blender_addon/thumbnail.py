"""The reference photos' thumbnails in the sidebar, made here rather than by Blender's preview job.

Blender renders an image's icon in a background job that a real window did not start for a photo nobody
had opened yet: the Reference panel showed a spinning icon until something loaded the pixels (building the
rig). So the thumbnail is written into the image's preview once, from its own pixels, when the photo is added.
"""
from __future__ import annotations

import numpy as np

SIZE = 128  # the thumbnail's longer side, in pixels


def make(image) -> None:
    """Write `image`'s thumbnail into its preview (no-op for an image with no pixels)."""
    width, height = image.size
    if not width or not height:
        return
    rgba = np.empty(width * height * 4, dtype=np.float32)
    image.pixels.foreach_get(rgba)
    rgba = rgba.reshape(height, width, 4)
    step = max(1, -(-max(width, height) // SIZE))  # nearest pixels: a thumbnail needs no filtering
    small = np.ascontiguousarray(rgba[::step, ::step])
    preview = image.preview_ensure()
    preview.image_size = (small.shape[1], small.shape[0])
    preview.image_pixels_float.foreach_set(small.ravel())


def icon(layout, image) -> int:
    """The icon of `image`: the thumbnail written by `make`, or Blender's own."""
    preview = image.preview
    if preview is not None and preview.is_image_custom:
        return preview.icon_id
    return layout.icon(image)
