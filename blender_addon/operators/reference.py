"""The Reference panel's operators: add and remove photos of the face."""
from __future__ import annotations

import os

import bpy
from bpy.props import CollectionProperty, StringProperty
from bpy_extras.io_utils import ImportHelper

from ...core.errors import UserError
from .. import thumbnail


IMAGE_FILES = "*.png;*.jpg;*.jpeg;*.tif;*.tiff;*.bmp;*.webp;*.exr"


class TALKINGHEADS_OT_add_reference(bpy.types.Operator, ImportHelper):
    """Add photos of the face (one or more; the active one is the rig's reference)"""

    bl_idname = "talking_heads.add_reference"
    bl_label = "Add Reference Photos"
    bl_options = {'REGISTER', 'UNDO'}

    filter_glob: StringProperty(default=IMAGE_FILES, options={'HIDDEN'})
    files: CollectionProperty(type=bpy.types.OperatorFileListElement, options={'HIDDEN', 'SKIP_SAVE'})
    directory: StringProperty(subtype='DIR_PATH', options={'HIDDEN', 'SKIP_SAVE'})

    def invoke(self, context, event):
        if self.filepath:  # a script (or a drop) named the photo: no file browser
            return self.execute(context)
        return ImportHelper.invoke(self, context, event)

    def execute(self, context):
        names = [f.name for f in self.files if f.name] if self.directory else []
        paths = [os.path.join(self.directory, n) for n in names] or [self.filepath]
        settings = context.scene.talking_heads
        images = []
        try:
            for path in paths:  # every photo is read before any is added: all of them, or none
                images.append(_load_photo(path))
        except UserError as e:
            for image in images:
                if image.users == 0:
                    bpy.data.images.remove(image)
            self.report({'ERROR'}, str(e))
            return {'CANCELLED'}
        for image in images:
            thumbnail.make(image)
            settings.references.add().image = image
        settings.reference_index = len(settings.references) - 1
        return {'FINISHED'}


def _load_photo(path: str) -> bpy.types.Image:
    """`path` as a Blender image with pixels, or UserError."""
    name = os.path.basename(path) or path
    try:
        image = bpy.data.images.load(path, check_existing=True)
    except RuntimeError:
        raise UserError(f"cannot open {name} as an image; choose a PNG or JPEG photo") from None
    if tuple(image.size) == (0, 0):  # Blender opened the file but found no pixels in it
        if image.users == 0:
            bpy.data.images.remove(image)
        raise UserError(f"cannot read {name} as an image; choose a PNG or JPEG photo")
    return image


class TALKINGHEADS_OT_remove_reference(bpy.types.Operator):
    """Remove the active reference photo from the list"""

    bl_idname = "talking_heads.remove_reference"
    bl_label = "Remove Reference Photo"
    bl_options = {'REGISTER', 'UNDO'}

    @classmethod
    def poll(cls, context):
        return len(context.scene.talking_heads.references) > 0

    def execute(self, context):
        settings = context.scene.talking_heads
        settings.references.remove(settings.reference_index)
        settings.reference_index = max(0, min(settings.reference_index, len(settings.references) - 1))
        return {'FINISHED'}


