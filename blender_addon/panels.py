"""The "Talking Heads" tab of the 3D viewport's sidebar: one sub-panel per step, in the order an artist
works — Reference, Rig, Animation, Model, Head, Generate, Preview, Export.

Drawn for the sidebar at its default width (about 290 pixels): short labels, properties split into a label
column and a field column, expressions one per row under their face part, and every longer message wrapped
to the width it has (Blender would cut it with "..."). What a button would fail on (no camera, no photo, an
unsaved file, no worker, no person model) is said above it before it is pressed, and the button is greyed.
"""
from __future__ import annotations

import os

import blf
import bpy

from ..core.face.expressions import expression_groups
from . import head_objects, jobs, preferences, preview, rig_objects, thumbnail
from .properties import is_rig

CATEGORY = "Talking Heads"
SIDEBAR_WIDTH = 292  # the sidebar's default width in pixels at 1x (what an artist sees first)
# The region's tabs and the panel's borders (1.8 UI units) and a label's icon with its padding (2.1), measured
# in a real Blender 5.2 window (tests/gui/label_ruler.py): a longer line is cut with "...".
MARGIN_UNITS = 4.0


class TALKINGHEADS_UL_references(bpy.types.UIList):
    def draw_item(self, context, layout, data, item, icon, active_data, active_property, index=0, flt_flag=0):
        image = item.image
        if image is None:
            layout.label(text="(missing image)", icon='ERROR')
            return
        layout.label(text=image.name, icon_value=thumbnail.icon(layout, image))


# --- what every panel shares --------------------------------------------------------------------------------

def ui_scale(context) -> float:
    """Pixels per interface pixel (the system's scale is 0 until a window exists: then the user's setting)."""
    return context.preferences.system.ui_scale or context.preferences.view.ui_scale


def text_width(context, text: str) -> float:
    """`text`'s width in pixels in the interface font at the interface's scale."""
    blf.size(0, context.preferences.ui_styles[0].widget.points * ui_scale(context))
    return blf.dimensions(0, text)[0]


def wrap(context, text: str, width: float) -> list[str]:
    """`text` in lines no wider than `width` pixels, broken between words."""
    lines: list[str] = []
    for word in text.split():
        if lines and text_width(context, f"{lines[-1]} {word}") <= width:
            lines[-1] = f"{lines[-1]} {word}"
        else:
            lines.append(word)
    return lines


def available_width(context) -> float:
    scale = ui_scale(context)
    region = context.region
    width = region.width if region is not None and region.type == 'UI' else SIDEBAR_WIDTH * scale
    return width - MARGIN_UNITS * 20 * scale


def note(layout, context, text: str, icon: str = 'INFO') -> None:
    """A message in as many lines as the sidebar's width needs."""
    column = layout.column(align=True)
    for i, line in enumerate(wrap(context, text, available_width(context))):
        column.label(text=line, icon=icon if i == 0 else 'BLANK1')


def value_row(layout, label: str, value: str) -> None:
    """A read-only "label  value" row laid out like a split property."""
    split = layout.split(factor=0.4, align=True)
    name = split.row()
    name.alignment = 'RIGHT'
    name.label(text=label)
    split.label(text=value)


def worker_problem(context) -> str | None:
    try:
        preferences.worker_python(context)
    except Exception as e:  # noqa: BLE001  (UserError: its one line; a draw() must never raise)
        return str(e)
    return None


def unsaved_problem() -> str | None:
    return None if bpy.data.filepath else "Save the .blend first: the add-on writes its files beside it"


def first_problem(*problems: str | None) -> str | None:
    return next((p for p in problems if p), None)


def action(layout, context, idname: str, problem: str | None = None, worker: bool = True, **kwargs):
    """An operator's button, greyed with the reason above it when a press would fail. Without a worker it is
    greyed too (the tab's top says why, once); so is every long job's button while one runs."""
    if problem:
        note(layout, context, problem, icon='ERROR')
    row = layout.row()
    row.enabled = problem is None and not (worker and (jobs.job_running() or worker_problem(context)))
    return row.operator(idname, **kwargs)


def _rig(context):
    rig = context.scene.talking_heads.rig
    return rig if is_rig(rig) else None


class _Panel:
    bl_space_type = 'VIEW_3D'
    bl_region_type = 'UI'
    bl_category = CATEGORY


class _RigPanel(_Panel):
    """A step that needs a rig."""

    @classmethod
    def poll(cls, context):
        return _rig(context) is not None


# --- the tab ------------------------------------------------------------------------------------------------

class TALKINGHEADS_PT_main(_Panel, bpy.types.Panel):
    bl_idname = "TALKINGHEADS_PT_main"
    bl_label = "Talking Heads"

    def draw(self, context):
        layout = self.layout
        layout.prop(context.scene.talking_heads, "rig")
        if jobs.job_running():
            box = layout.box()
            column = box.column(align=True)
            jobs.draw_progress(column)
            if jobs.ActiveJob.stage:
                column.label(text=jobs.ActiveJob.stage)
            box.operator("talking_heads.cancel_job", icon='CANCEL')
        else:
            problem = worker_problem(context)
            if problem:
                note(layout, context, problem, icon='ERROR')


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
                layout.template_icon(icon_value=thumbnail.icon(layout, image), scale=8.0)
                layout.label(text=f"{image.size[0]} x {image.size[1]} px")
        else:
            note(layout, context, "Add a photo of the face: press +")


class TALKINGHEADS_PT_rig(_SubPanel, bpy.types.Panel):
    bl_label = "2. Rig"

    def draw(self, context):
        layout = self.layout
        scene = context.scene
        settings = scene.talking_heads
        no_camera = None if scene.camera is not None else "The scene needs an active camera (Add > Camera)"
        no_photo = None if len(settings.references) else "Add a reference photo first"
        action(layout, context, "talking_heads.build_rig", first_problem(no_camera, no_photo),
               icon='SHAPEKEY_DATA')
        rig = _rig(context)
        if rig is None:
            return
        rig_settings = rig.talking_heads
        column = layout.column(align=True)
        value_row(column, "Landmarks", rig_settings.landmark_backend)
        value_row(column, "Depth", rig_settings.depth_source)
        column = layout.column()
        column.use_property_split = True
        column.prop(rig_settings, "reference")
        column.prop(rig_settings, "image_plane", text="Plane")
        column.prop(rig_settings, "show_rig")
        column = layout.column(align=True)
        column.use_property_split = True
        column.prop(rig, "rotation_euler", index=0, text="Head Nod")
        column.prop(rig, "rotation_euler", index=1, text="Turn")
        column.prop(rig, "rotation_euler", index=2, text="Tilt")


class TALKINGHEADS_PT_animation(_RigPanel, _SubPanel, bpy.types.Panel):
    bl_label = "3. Animation"

    def draw(self, context):
        layout = self.layout
        note(layout, context, "Key the expressions below (hover a slider, press I), import a driver, or pose "
                              "vertices in Edit Mode.")
        row = layout.row(align=True)
        row.operator("talking_heads.reset_expressions", text="Reset", icon='LOOP_BACK')
        row.operator("talking_heads.keyframe_vertices", text="Key Vertices", icon='KEYFRAME')


class _AnimationPart(_RigPanel, _Panel):
    bl_parent_id = "TALKINGHEADS_PT_animation"


def _expression_panel(group: str, names: tuple[str, ...], closed: bool):
    """A sub-panel of the Animation step holding one face part's expression sliders, full names, one a row."""

    def draw(self, context):
        keys = _rig(context).data.shape_keys
        column = self.layout.column(align=True)
        for name in names:
            block = keys.key_blocks.get(name) if keys is not None else None
            if block is not None:
                column.prop(block, "value", text=name, slider=True)

    identifier = "TALKINGHEADS_PT_expressions_" + group.lower().replace(" ", "_")
    return type(identifier, (_AnimationPart, bpy.types.Panel), {
        "bl_idname": identifier, "bl_label": group, "draw": draw,
        "bl_options": {'DEFAULT_CLOSED'} if closed else set()})


# Jaw, mouth and eyes open: what a line of dialogue keys first.
EXPRESSION_PANELS = tuple(_expression_panel(group, names, closed=i > 2)
                          for i, (group, names) in enumerate(expression_groups().items()))


class TALKINGHEADS_PT_track(_AnimationPart, bpy.types.Panel):
    bl_label = "Video or Track"
    bl_options = {'DEFAULT_CLOSED'}

    def draw(self, context):
        layout = self.layout
        settings = context.scene.talking_heads
        layout.prop(settings, "track_source", text="")
        op = action(layout, context, "talking_heads.import_track",
                    None if settings.track_source else "Choose a driving video or a track (.json)", icon='IMPORT')
        op.filepath = settings.track_source
        keys = _rig(context).data.shape_keys
        if keys is not None and rig_objects.TRACK_KEY in keys.key_blocks:
            layout.prop(keys.key_blocks[rig_objects.TRACK_KEY], "value", text="Imported Track", slider=True)


class TALKINGHEADS_PT_lipsync(_AnimationPart, bpy.types.Panel):
    bl_label = "Lip Sync from Speech"
    bl_options = {'DEFAULT_CLOSED'}

    def draw(self, context):
        layout = self.layout
        settings = context.scene.talking_heads
        column = layout.column()
        column.use_property_split = True
        column.prop(settings, "audio_source")
        column.prop(settings, "audio_transcript")
        column.prop(settings, "lipsync_intensity")
        note(layout, context, "Keys the mouth from the current frame.")
        op = action(layout, context, "talking_heads.import_audio",
                    None if settings.audio_source else "Choose a recording of speech", icon='SPEAKER')
        op.filepath = settings.audio_source
        op.transcript = settings.audio_transcript
        op.intensity = settings.lipsync_intensity


class TALKINGHEADS_PT_capture(_AnimationPart, bpy.types.Panel):
    bl_label = "iPhone Face Capture"
    bl_options = {'DEFAULT_CLOSED'}

    def draw(self, context):
        layout = self.layout
        settings = context.scene.talking_heads
        note(layout, context, "Live Link Face (.csv) or Face Cap (.txt):")
        layout.prop(settings, "capture_source", text="")
        op = layout.operator("talking_heads.import_arkit", text="Import Face Capture", icon='IMPORT')
        op.filepath = settings.capture_source


class TALKINGHEADS_PT_model(_RigPanel, _SubPanel, bpy.types.Panel):
    bl_label = "4. Model"

    def draw(self, context):
        layout = self.layout
        settings = context.scene.talking_heads
        column = layout.column()
        column.use_property_split = True
        column.prop(settings, "finetune_preset")
        column.prop(settings, "finetune_steps")
        action(layout, context, "talking_heads.finetune", unsaved_problem(), icon='EXPERIMENTAL')
        column = layout.column()
        column.use_property_split = True
        column.prop(_rig(context).talking_heads, "person_model", text="Model")


def person_model_problem(rig) -> str | None:
    path = rig.talking_heads.person_model
    if not path or not os.path.isfile(bpy.path.abspath(path)):
        return "No person model yet: press Fine-tune (Model)"
    return None


def head_problem(rig) -> str | None:
    head = rig.talking_heads.head
    if head is None:
        return "No head: choose a mesh, or add one above"
    if head.type == 'MESH' and not len(head.data.uv_layers):
        return f"{head.name} has no UV map: unwrap it first"
    return None


class TALKINGHEADS_PT_head(_RigPanel, _SubPanel, bpy.types.Panel):
    bl_label = "5. Head"

    def draw(self, context):
        layout = self.layout
        settings = _rig(context).talking_heads
        column = layout.column()
        column.use_property_split = True
        column.prop(settings, "head")
        action(layout, context, "talking_heads.add_sample_head", worker=False, icon='USER')
        action(layout, context, "talking_heads.head_from_photo", unsaved_problem(), icon='IMAGE_DATA')
        head = settings.head
        if head is None:
            note(layout, context, "Choose your head mesh above, or add one: the frames are baked onto its UVs "
                                  "and it carries the head's turns.")
            return
        head_settings = head.talking_heads
        if head_settings.head_from_photo:
            column = layout.column()
            column.use_property_split = True
            column.prop(head_settings, "head_unlit")
            note(layout, context, "Built from the photo: the frames play on it as they are, no fit needed.")
        else:
            column = layout.column()
            column.use_property_split = True
            column.prop(settings, "head_uv_size")
            action(layout, context, "talking_heads.fit_head", first_problem(unsaved_problem(), head_problem(
                _rig(context))), icon='MOD_SHRINKWRAP')
            fitted = None if head_settings.head_fit else "Fit to Head first, then correct it with pins"
            action(layout, context, "talking_heads.head_pins", fitted, worker=False, icon='PINNED')
        overlay = settings.head_overlay
        if overlay is not None and not head_settings.head_from_photo:
            layout.template_icon(icon_value=thumbnail.icon(layout, overlay), scale=8.0)
            layout.operator("talking_heads.show_head_fit", icon='IMAGE_DATA')
        if head.data.shape_keys is not None:
            blinks = head_objects.blink_keys(head)
            if blinks:
                note(layout, context, f"Its {' and '.join(blinks.values())} shape keys are keyed with the rig's "
                                      f"blinks (the frames keep the lids open; a video track's blinks stay in "
                                      f"the frames). Its other shape keys are not driven: the frames move the lips.")
            else:
                note(layout, context, "Its shape keys are not driven: the frames move the lips and the lids.")


class TALKINGHEADS_PT_generate(_RigPanel, _SubPanel, bpy.types.Panel):
    bl_label = "6. Generate"

    def draw(self, context):
        layout = self.layout
        scene = context.scene
        rig = _rig(context)
        column = layout.column(align=True)
        column.use_property_split = True
        column.prop(scene, "frame_start", text="Frames")
        column.prop(scene, "frame_end", text="End")
        column = layout.column()
        column.use_property_split = True
        column.prop(scene.talking_heads, "generate_target")
        column.prop(scene.talking_heads, "generate_alpha")
        action(layout, context, "talking_heads.generate",
               first_problem(unsaved_problem(), person_model_problem(rig)), icon='RENDER_ANIMATION')
        if rig.talking_heads.frames is not None:
            column = layout.column()
            column.use_property_split = True
            column.prop(rig.talking_heads, "show_generated", text="Show Frames")
            matte = ", with the head matte" if rig.talking_heads.frames_alpha else ""
            folder = os.path.dirname(rig.talking_heads.frames.filepath)
            note(layout, context, f"Frames in {folder}{matte}", icon='FILE_FOLDER')


class TALKINGHEADS_PT_preview(_RigPanel, _SubPanel, bpy.types.Panel):
    bl_label = "7. Preview"

    def draw(self, context):
        layout = self.layout
        settings = context.scene.talking_heads
        column = layout.column()
        column.use_property_split = True
        column.prop(settings, "preview_model", text="Model")
        column.prop(settings, "preview_target", text="Show On")
        unavailable = preview.unavailable_reason()
        row = column.row()
        row.enabled = unavailable is None or settings.preview  # it can always be turned off
        row.prop(settings, "preview")
        problem = unavailable or preview.last_error()
        if problem:
            note(layout, context, problem, icon='ERROR')


class TALKINGHEADS_PT_export(_RigPanel, _SubPanel, bpy.types.Panel):
    bl_label = "8. Export"

    def draw(self, context):
        layout = self.layout
        rig = _rig(context)
        frames = rig.talking_heads.frames
        no_frames = None if frames is not None and frames.filepath else "Generate frames first"
        if frames is not None and frames.filepath:
            folder = os.path.dirname(frames.filepath)
            layout.operator("wm.path_open", text="Open Frames Folder", icon='FILE_FOLDER').filepath = \
                bpy.path.abspath(folder)
        action(layout, context, "talking_heads.export_video", no_frames, icon='FILE_MOVIE')
        action(layout, context, "talking_heads.export_onnx", first_problem(unsaved_problem(), person_model_problem(rig)),
               icon='EXPORT')
        if rig.talking_heads.head is not None:
            action(layout, context, "talking_heads.export_head_gltf", first_problem(unsaved_problem(), no_frames),
                   worker=False, icon='EXPORT')


CLASSES = (
    TALKINGHEADS_UL_references,
    TALKINGHEADS_PT_main,
    TALKINGHEADS_PT_reference,
    TALKINGHEADS_PT_rig,
    TALKINGHEADS_PT_animation,
    *EXPRESSION_PANELS,
    TALKINGHEADS_PT_track,
    TALKINGHEADS_PT_lipsync,
    TALKINGHEADS_PT_capture,
    TALKINGHEADS_PT_model,
    TALKINGHEADS_PT_head,
    TALKINGHEADS_PT_generate,
    TALKINGHEADS_PT_preview,
    TALKINGHEADS_PT_export,
)
