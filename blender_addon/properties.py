"""What the add-on keeps in the .blend: the scene's settings (its references, its current rig, how to
fine-tune, generate and preview) and, on each rig object, what the rig was built from and what it made; on a
head object (the same property group, its head fields), its fit."""
from __future__ import annotations

import bpy
from bpy.props import BoolProperty, CollectionProperty, EnumProperty, FloatProperty, FloatVectorProperty, \
    IntProperty, PointerProperty, StringProperty

from ..core.presets import DEFAULT_PRESET, PRESETS
from . import materials
from .compat import BLEND_RELATIVE

FINETUNE_PRESETS = [(preset.name, preset.name.title(), preset.description) for preset in PRESETS]



def is_rig(obj) -> bool:
    return obj is not None and obj.type == 'MESH' and obj.talking_heads.is_rig


def _poll_rig(_settings, obj) -> bool:
    return is_rig(obj)


def _poll_head(rig_settings, obj) -> bool:
    """A head is any mesh but the rig, its image plane and its pins."""
    return (obj.type == 'MESH' and not is_rig(obj) and obj is not rig_settings.image_plane
            and obj is not rig_settings.head_pins)


def _head_unlit_changed(head_settings, _context) -> None:
    materials.set_head_unlit(head_settings.id_data, head_settings.head_unlit)


def _show_generated_changed(rig_settings, _context) -> None:
    materials.show_generated(rig_settings.id_data)


def _get_show_rig(rig_settings) -> bool:
    return not rig_settings.id_data.hide_get()


def _set_show_rig(rig_settings, value: bool) -> None:
    # The outliner's eye (this view layer): a hidden rig is still evaluated, so it still drives generation.
    rig_settings.id_data.hide_set(not value)


# What the Live Preview switch calls: preview.set_enabled, set by preview.register(). Preview imports this
# module (is_rig), so the switch reaches it through here rather than by importing it.
preview_switch = None


def _preview_changed(scene_settings, context) -> None:
    if preview_switch is not None:
        preview_switch(scene_settings.preview)


class TALKINGHEADS_PG_reference(bpy.types.PropertyGroup):
    """One photo of the face (a Blender image, so the panel can show its thumbnail)."""

    image: PointerProperty(type=bpy.types.Image, name="Image")


class TALKINGHEADS_PG_rig(bpy.types.PropertyGroup):
    """Stored on a rig object."""

    is_rig: BoolProperty(name="Is a Talking Heads rig", default=False)
    reference: PointerProperty(type=bpy.types.Image, name="Reference",
                               description="The photo the rig matches at rest (shown on the image plane)")
    image_plane: PointerProperty(type=bpy.types.Object, name="Image Plane",
                                 description="The plane showing the reference; the rig is projected onto it")
    plane_size: FloatVectorProperty(name="Plane Size", size=2, subtype='XYZ', unit='LENGTH',
                                    description="Width and height of the image plane's rectangle (local units)")
    source_photo: StringProperty(name="Photo", subtype='FILE_PATH', options=BLEND_RELATIVE,
                                 description="The photo the rig was built from (its reference is an upright copy)")
    landmark_backend: StringProperty(name="Landmarks", description="The detector that found the rest landmarks")
    depth_source: StringProperty(name="Depth", description="Where the rig's depth (for head turns) came from")
    person_model: StringProperty(name="Person Model", subtype='FILE_PATH', options=BLEND_RELATIVE,
                                 description="The fine-tuned person model (.safetensors) frames are generated with")
    frames: PointerProperty(type=bpy.types.Image, name="Frames",
                            description="The generated image sequence")
    show_generated: BoolProperty(name="Show Generated Frames", default=True, update=_show_generated_changed,
                                 description="Show the generated frames on the image plane instead of the "
                                             "reference photo")
    show_rig: BoolProperty(name="Show Rig", get=_get_show_rig, set=_set_show_rig,
                           description="Show the rig's landmark lines in the viewport (hidden, the rig still drives "
                                       "the frames)")
    frames_alpha: BoolProperty(name="Head Matte", default=False,
                               description="The generated frames carry alpha: the plane shows the head alone "
                                           "over what is behind it")
    # --- on a rig: its 3D head -----------------------------------------------------------------------------------
    head: PointerProperty(type=bpy.types.Object, name="Head", poll=_poll_head,
                          description="The 3D head the frames are baked onto (its UVs) and whose rotation the "
                                      "rig's head pose keys")
    head_pins: PointerProperty(type=bpy.types.Object, name="Pins",
                               description="68 vertices on the head, one per landmark: move them to correct the fit")
    head_overlay: PointerProperty(type=bpy.types.Image, name="Fit",
                                  description="The head's landmarks and outline over the photo, as fitted")
    head_uv_size: EnumProperty(
        name="UV Size", default='2048',
        items=[('1024', "1024", "1024 x 1024 UV frames"), ('2048', "2048", "2048 x 2048 UV frames"),
               ('4096', "4096", "4096 x 4096 UV frames (slower, four times the disk)")],
        description="The side of the UV frames baked onto the head")
    # --- on a head: its fit ------------------------------------------------------------------------------------
    head_fit: StringProperty(name="Fit", subtype='FILE_PATH', options=BLEND_RELATIVE,
                             description="The fit file (where the photo lies on this head's UVs)")
    head_uv_map: StringProperty(name="Fitted UV Map", description="The UV map the head was fitted on")
    head_camera: FloatVectorProperty(name="Photo Camera", size=9, default=(1, 0, 0, 0, 1, 0, 0, 0, 1),
                                     description="The rotation from the head's own frame to the photo's camera "
                                                 "(OpenCV axes), row by row")
    head_rest: FloatVectorProperty(name="Rest Rotation", size=9, default=(1, 0, 0, 0, 1, 0, 0, 0, 1),
                                   description="The head's world rotation at rest, which the head pose turns")
    head_rest_set: BoolProperty(name="Rest Rotation Kept", default=False)
    head_from_photo: BoolProperty(name="Head from Photo", default=False,
                                  description="Built from the photo: the frames play on its UVs as they are")
    head_unlit: BoolProperty(name="Unlit", default=False, update=_head_unlit_changed,
                             description="Show the frames as they are (emission), whatever the lighting: a "
                                         "render from the photo's camera gives the frames back")


class TALKINGHEADS_PG_scene(bpy.types.PropertyGroup):
    """Stored on the scene."""

    references: CollectionProperty(type=TALKINGHEADS_PG_reference, name="References")
    reference_index: IntProperty(name="Active Reference", default=0)
    rig: PointerProperty(type=bpy.types.Object, name="Rig", poll=_poll_rig,
                         description="The landmark rig that drives generation")
    track_source: StringProperty(name="Driver", subtype='FILE_PATH', options=BLEND_RELATIVE, default="",
                                 description="A driving video, or a landmark track (.json), to import as keyframes")
    finetune_preset: EnumProperty(
        name="Preset", default=DEFAULT_PRESET.name, items=FINETUNE_PRESETS)
    finetune_steps: IntProperty(name="Steps", default=0, min=0, soft_max=1000,
                                description="Optimisation steps; 0 uses the preset's")
    audio_source: StringProperty(name="Speech", subtype='FILE_PATH', options=BLEND_RELATIVE, default="",
                                 description="A recording of speech (WAV, MP3, or a video's sound) to lip-sync "
                                             "the rig's mouth to")
    audio_transcript: StringProperty(name="Transcript", default="",
                                     description="What is said, if you know it: the phonemes are then aligned "
                                                 "to these words (English) instead of recognised")
    lipsync_intensity: FloatProperty(name="Intensity", default=1.0, min=0.0, max=2.0,
                                     description="How strongly the mouth articulates (1: as designed)")
    capture_source: StringProperty(name="Face Capture", subtype='FILE_PATH', options=BLEND_RELATIVE, default="",
                                   description="An iPhone face capture: a Live Link Face CSV or a Face Cap .txt")
    generate_alpha: BoolProperty(name="Head Matte", default=False,
                                 description="Generate frames with alpha: the head (face, forehead, hair, ears) "
                                             "opaque, the rest transparent, so the plane shows the head alone")
    generate_target: EnumProperty(
        name="Show On", default='PLANE',
        items=[('PLANE', "Image Plane", "Play the generated frames on the rig's image plane"),
               ('SELECTED', "Selected Objects", "Play the generated frames on the selected objects' materials")])
    preview: BoolProperty(name="Live Preview", default=False, update=_preview_changed,
                          description="Render the current frame with the person model's ONNX export while "
                                      "scrubbing the timeline")
    preview_model: StringProperty(name="Preview Model", subtype='FILE_PATH', options=BLEND_RELATIVE,
                                  description="The person model's ONNX export (python -m core export onnx)")
    preview_target: EnumProperty(
        name="Preview On", default='PLANE',
        items=[('PLANE', "Image Plane", "Show the preview on the rig's image plane"),
               ('IMAGE_EDITOR', "Image Editor", "Show the preview in the image editors")])


CLASSES = (TALKINGHEADS_PG_reference, TALKINGHEADS_PG_rig, TALKINGHEADS_PG_scene)


def register() -> None:
    bpy.types.Scene.talking_heads = PointerProperty(type=TALKINGHEADS_PG_scene)
    bpy.types.Object.talking_heads = PointerProperty(type=TALKINGHEADS_PG_rig)


def unregister() -> None:
    del bpy.types.Object.talking_heads
    del bpy.types.Scene.talking_heads
