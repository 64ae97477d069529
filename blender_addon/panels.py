"""The "Talking Heads" tab of the 3D viewport's sidebar: one sub-panel per step, in the order an artist
works — Reference, Rig, Animation, Model, Generate, Preview, Export."""
from __future__ import annotations

import os

import bpy

from ..core import rig as geometry
from . import jobs, rig_objects
from .properties import is_rig

CATEGORY = "Talking Heads"


class TALKINGHEADS_UL_references(bpy.types.UIList):
    def draw_item(self, context, layout, data, item, icon, active_data, active_property, index=0, flt_flag=0):
        image = item.image
        if image is None:
            layout.label(text="(missing image)", icon='ERROR')
            return
        layout.label(text=image.name, icon_value=layout.icon(image))


class _Panel:
    bl_space_type = 'VIEW_3D'
    bl_region_type = 'UI'
    bl_category = CATEGORY


def _rig(context):
    rig = context.scene.talking_heads.rig
    return rig if is_rig(rig) else None


class TALKINGHEADS_PT_main(_Panel, bpy.types.Panel):
    bl_idname = "TALKINGHEADS_PT_main"
    bl_label = "Talking Heads"

    def draw(self, context):
        layout = self.layout
        layout.prop(context.scene.talking_heads, "rig")
        if jobs.job_running():
            layout.label(text="Working (progress in the status bar, Esc cancels)", icon='SORTTIME')


class _SubPanel(_Panel):
    bl_parent_id = "TALKINGHEADS_PT_main"


class TALKINGHEADS_PT_reference(_SubPanel, bpy.types.Panel):
    bl_label = "1. Reference"

    def draw(self, context):
        layout = self.layout
        settings = context.scene.talking_heads
        row = layout.row()
        row.template_list("TALKINGHEADS_UL_references", "", settings, "references", settings, "reference_index",
                          rows=3)
        buttons = row.column(align=True)
        buttons.operator("talking_heads.add_reference", text="", icon='ADD')
        buttons.operator("talking_heads.remove_reference", text="", icon='REMOVE')
        if settings.references and 0 <= settings.reference_index < len(settings.references):
            image = settings.references[settings.reference_index].image
            if image is not None:
                layout.template_icon(icon_value=layout.icon(image), scale=8.0)  # the thumbnail
                layout.label(text=f"{image.size[0]} x {image.size[1]} px")


class TALKINGHEADS_PT_rig(_SubPanel, bpy.types.Panel):
    bl_label = "2. Rig"

    def draw(self, context):
        layout = self.layout
        scene = context.scene
        if scene.camera is None:
            layout.label(text="The scene needs an active camera", icon='ERROR')
        layout.operator("talking_heads.build_rig", icon='SHAPEKEY_DATA')
        rig = _rig(context)
        if rig is None:
            return
        settings = rig.talking_heads
        col = layout.column(align=True)
        col.label(text=f"Landmarks: {settings.landmark_backend}, depth from the {settings.depth_source}")
        col.prop(settings, "reference")
        col.prop(settings, "image_plane")
        layout.label(text="Head (rotate the rig):")
        col = layout.column(align=True)
        col.prop(rig, "rotation_euler", index=0, text="Nod")
        col.prop(rig, "rotation_euler", index=1, text="Turn")
        col.prop(rig, "rotation_euler", index=2, text="Tilt")


class TALKINGHEADS_PT_animation(_SubPanel, bpy.types.Panel):
    bl_label = "3. Animation"

    @classmethod
    def poll(cls, context):
        return _rig(context) is not None

    def draw(self, context):
        layout = self.layout
        rig = _rig(context)
        keys = rig.data.shape_keys
        layout.label(text="Expressions (hover and press I to keyframe):")
        flow = layout.grid_flow(columns=2, even_columns=True, align=True)
        if keys is not None:
            for name in geometry.EXPRESSIONS:
                block = keys.key_blocks.get(name)
                if block is not None:
                    flow.prop(block, "value", text=name, slider=True)
        layout.operator("talking_heads.reset_expressions", icon='LOOP_BACK')
        layout.separator()
        layout.label(text="Single vertices (Edit Mode, Vertices shape key):")
        layout.operator("talking_heads.keyframe_vertices", icon='KEYFRAME')
        layout.separator()
        settings = context.scene.talking_heads
        layout.prop(settings, "track_source")
        op = layout.operator("talking_heads.import_track", icon='IMPORT')
        op.filepath = settings.track_source
        if keys is not None and rig_objects.TRACK_KEY in keys.key_blocks:
            layout.prop(keys.key_blocks[rig_objects.TRACK_KEY], "value", text="Imported Track", slider=True)
        layout.separator()
        layout.label(text="Lip sync from speech (keys the mouth from the current frame):")
        layout.prop(settings, "audio_source")
        layout.prop(settings, "audio_transcript")
        layout.prop(settings, "lipsync_intensity")
        op = layout.operator("talking_heads.import_audio", icon='SPEAKER')
        op.filepath = settings.audio_source
        op.transcript = settings.audio_transcript
        op.intensity = settings.lipsync_intensity
        layout.separator()
        layout.label(text="iPhone face capture (Live Link Face, Face Cap):")
        layout.prop(settings, "capture_source")
        op = layout.operator("talking_heads.import_arkit", icon='IMPORT')
        op.filepath = settings.capture_source


class TALKINGHEADS_PT_model(_SubPanel, bpy.types.Panel):
    bl_label = "4. Model"

    @classmethod
    def poll(cls, context):
        return _rig(context) is not None

    def draw(self, context):
        layout = self.layout
        settings = context.scene.talking_heads
        layout.use_property_split = True
        layout.prop(settings, "finetune_preset")
        layout.prop(settings, "finetune_steps")
        layout.operator("talking_heads.finetune", icon='EXPERIMENTAL')
        rig = _rig(context)
        layout.prop(rig.talking_heads, "person_model")


class TALKINGHEADS_PT_generate(_SubPanel, bpy.types.Panel):
    bl_label = "5. Generate"

    @classmethod
    def poll(cls, context):
        return _rig(context) is not None

    def draw(self, context):
        layout = self.layout
        scene = context.scene
        rig = _rig(context)
        layout.use_property_split = True
        col = layout.column(align=True)
        col.prop(scene, "frame_start", text="Frames")
        col.prop(scene, "frame_end", text="End")
        layout.prop(scene.talking_heads, "generate_target")
        layout.prop(scene.talking_heads, "generate_alpha")
        layout.operator("talking_heads.generate", icon='RENDER_ANIMATION')
        if not bpy.data.filepath:
            layout.label(text="Save the .blend first (frames go beside it)", icon='INFO')
        if rig.talking_heads.frames is not None:
            layout.prop(rig.talking_heads, "show_generated")
            matte = " (with the head matte)" if rig.talking_heads.frames_alpha else ""
            layout.label(text=f"Frames: {rig.talking_heads.frames.filepath}{matte}")


class TALKINGHEADS_PT_preview(_SubPanel, bpy.types.Panel):
    bl_label = "6. Preview"

    @classmethod
    def poll(cls, context):
        return _rig(context) is not None

    def draw(self, context):
        from . import preview

        layout = self.layout
        settings = context.scene.talking_heads
        layout.use_property_split = True
        layout.prop(settings, "preview_model")
        layout.prop(settings, "preview_target")
        layout.prop(settings, "preview")
        problem = preview.unavailable_reason()
        if problem:
            layout.label(text=problem, icon='ERROR')


class TALKINGHEADS_PT_export(_SubPanel, bpy.types.Panel):
    bl_label = "7. Export"

    @classmethod
    def poll(cls, context):
        return _rig(context) is not None

    def draw(self, context):
        layout = self.layout
        rig = _rig(context)
        frames = rig.talking_heads.frames
        if frames is None or not frames.filepath:
            layout.label(text="Generate frames first")
            return
        folder = os.path.dirname(frames.filepath)
        layout.label(text=f"Frames in {folder}")
        layout.operator("wm.path_open", text="Open Frames Folder", icon='FILE_FOLDER').filepath = \
            bpy.path.abspath(folder)
        layout.operator("talking_heads.export_video", icon='FILE_MOVIE')
        layout.operator("talking_heads.export_onnx", icon='EXPORT')


CLASSES = (
    TALKINGHEADS_UL_references,
    TALKINGHEADS_PT_main,
    TALKINGHEADS_PT_reference,
    TALKINGHEADS_PT_rig,
    TALKINGHEADS_PT_animation,
    TALKINGHEADS_PT_model,
    TALKINGHEADS_PT_generate,
    TALKINGHEADS_PT_preview,
    TALKINGHEADS_PT_export,
)
