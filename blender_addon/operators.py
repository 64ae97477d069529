"""The add-on's operators, in the order an artist uses them: references, rig, animation, fine-tuning,
generation, export; then the worker's set-up (preferences).

Operators whose work needs the worker mix in `jobs.WorkerJob`: run from a script (EXEC) they finish before
returning, from a button (INVOKE) they run modally with a progress bar and Esc. Every problem the artist can
fix is reported as one line (the operator returns CANCELLED), never as a traceback.

Undo: every operator that changes scene data is {'UNDO'}; the long ones leave out 'REGISTER', whose redo
panel would run the job again (see `jobs`). Those that change no scene data (exports, the worker's set-up in
the preferences, which Blender's undo does not cover) say so in their description.
"""
from __future__ import annotations

import os
import sys

import numpy as np

import bpy
from bpy.props import BoolProperty, CollectionProperty, EnumProperty, FloatProperty, IntProperty, StringProperty
from bpy_extras.io_utils import ImportHelper

from ..app import protocol, worker_jobs
from ..core import rig as geometry
from ..core.capture.live_link import read_face_capture
from ..core.errors import UserError
from ..core.geometry import retime
from ..core.lipsync.curves import ExpressionCurves
from . import compat, driver, keyframes, materials, preferences, preview, rig_objects, sound, thumbnail, \
    track_file
from .jobs import WorkerJob
from .compat import BLEND_RELATIVE
from .properties import is_rig
from .worker_client import WorkerProcess, worker_command, worker_environment

IMAGE_FILES = "*.png;*.jpg;*.jpeg;*.tif;*.tiff;*.bmp;*.webp;*.exr"
LANDMARKS_PROPERTY = "talking_heads_landmarks"  # the reference's 68 landmarks, kept on the rig object


# --- where things go ---------------------------------------------------------------------------------------

def saved_blend_folder() -> str:
    if not bpy.data.filepath:
        raise UserError("save the .blend file first: the add-on writes its files to //talking_heads/ beside it")
    return os.path.dirname(bpy.data.filepath)


def rig_folder(rig_name: str) -> str:
    """//talking_heads/<rig name>/ as an absolute path, created if needed."""
    folder = os.path.join(saved_blend_folder(), "talking_heads", bpy.path.clean_name(rig_name))
    try:
        os.makedirs(folder, exist_ok=True)
    except OSError as e:
        raise UserError(f"cannot create {folder} ({e.strerror}); save the .blend where you can write") from None
    return folder


def scene_rig(context) -> bpy.types.Object:
    rig = context.scene.talking_heads.rig
    if rig is None and is_rig(context.object):
        rig = context.object
    if rig is None:
        raise UserError("there is no rig: build one in the Talking Heads tab (Rig panel)")
    if not is_rig(rig):
        raise UserError(f"{rig.name} is not a Talking Heads rig; build one in the Rig panel")
    rig_objects.rest_vertices(rig)  # exactly 68 vertices, or a clear error
    return rig


def reference_landmarks(rig) -> np.ndarray:
    values = rig.get(LANDMARKS_PROPERTY)
    if values is None or len(values) != 2 * geometry.N_LANDMARKS:
        raise UserError(f"{rig.name} has lost its reference landmarks; build the rig again")
    return np.array(values, dtype=np.float64).reshape(-1, 2)


def reference_file(rig) -> str:
    """The rig's reference image as a file on disk (written next to the .blend if it was only packed)."""
    image = rig.talking_heads.reference
    if image is None:
        raise UserError(f"{rig.name} has no reference image; build the rig again from a photo")
    path = bpy.path.abspath(image.filepath, library=image.library)
    if os.path.isfile(path):
        return path
    path = os.path.join(rig_folder(rig.name), "reference.png")
    image.filepath_raw = path
    image.file_format = 'PNG'
    image.save()
    image.filepath = bpy.path.relpath(path)
    return path


def person_model_file(rig) -> str:
    path = bpy.path.abspath(rig.talking_heads.person_model)
    if not rig.talking_heads.person_model or not os.path.isfile(path):
        raise UserError("there is no person model yet: press Fine-tune in the Model panel first")
    return path


# --- references --------------------------------------------------------------------------------------------

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


# --- the rig -----------------------------------------------------------------------------------------------

class TALKINGHEADS_OT_build_rig(WorkerJob, bpy.types.Operator):
    """Detect the face's landmarks and build, in front of the scene camera, an image plane showing the photo
    and a 68-vertex landmark rig that matches it exactly at rest"""

    bl_idname = "talking_heads.build_rig"
    bl_label = "Build Rig"
    bl_options = {'UNDO'}
    job_title = "Build rig"

    filepath: StringProperty(name="Photo", subtype='FILE_PATH', default="", options=BLEND_RELATIVE,
                             description="The reference photo (empty: the active reference in the list)")
    distance: FloatProperty(name="Plane Distance", default=4.0, min=0.01, unit='LENGTH',
                            description="How far in front of the camera the image plane goes")

    def job_request(self, context) -> protocol.Job:
        rig_objects.active_camera(context.scene)
        path = self._photo(context)
        self._source = path
        self._name = _unique_object_name(f"{bpy.path.display_name_from_filepath(path)} rig")
        folder = rig_folder(self._name) if bpy.data.filepath else bpy.app.tempdir
        self._copy = os.path.join(folder, f"{bpy.path.clean_name(self._name)} reference.png")
        return worker_jobs.DetectJob(image=path, reference_copy=self._copy)

    def _photo(self, context) -> str:
        if self.filepath:
            path = bpy.path.abspath(self.filepath)
        else:
            settings = context.scene.talking_heads
            if not len(settings.references):
                raise UserError("no reference photo: add one in the Reference panel (or pass filepath=...)")
            image = settings.references[settings.reference_index].image
            if image is None:
                raise UserError("the active reference has no image; remove it and add the photo again")
            path = bpy.path.abspath(image.filepath, library=image.library)
        if not os.path.isfile(path):
            raise UserError(f"{path}: no such file; choose the photo again")
        return path

    def job_finished(self, context, result: worker_jobs.DetectResult) -> None:
        image = bpy.data.images.load(self._copy)
        image.name = f"{self._name} reference"
        if bpy.data.filepath:
            image.filepath = bpy.path.relpath(self._copy)
        else:
            image.pack()  # the copy lives in a temporary folder: keep its pixels in the .blend
        rig = rig_objects.build(context, self._name, image, result, self.distance)
        rig[LANDMARKS_PROPERTY] = np.asarray(result.points, dtype=np.float64).ravel().tolist()
        rig.talking_heads.source_photo = self._source
        for obj in context.view_layer.objects.selected:
            obj.select_set(False)
        context.view_layer.objects.active = rig
        rig.select_set(True)
        self.report({'INFO'}, f"built {rig.name} ({result.backend} landmarks, depth from the "
                              f"{result.depth_source})")


def _unique_object_name(base: str) -> str:
    name, n = base, 1
    while name in bpy.data.objects:
        name, n = f"{base}.{n:03d}", n + 1
    return name


class TALKINGHEADS_OT_keyframe_vertices(bpy.types.Operator):
    """Keyframe the selected vertices of the rig's active shape key at the current frame"""

    bl_idname = "talking_heads.keyframe_vertices"
    bl_label = "Keyframe Vertices"
    bl_options = {'REGISTER', 'UNDO'}

    @classmethod
    def poll(cls, context):
        return is_rig(context.object)

    def execute(self, context):
        rig = context.object
        editing = rig.mode == 'EDIT'
        if editing:
            bpy.ops.object.mode_set(mode='OBJECT')  # writes the edited positions into the shape key
        try:
            block = rig.active_shape_key
            if block is None or block == rig.data.shape_keys.reference_key:
                raise UserError("choose a shape key other than Basis (Vertices, for example) to pose vertices in")
            selected = [v.index for v in rig.data.vertices if v.select]
            if not selected:
                raise UserError("select the vertices to keyframe (Edit Mode)")
            for index in selected:
                block.data[index].keyframe_insert("co", frame=context.scene.frame_current)
        except UserError as e:
            self.report({'ERROR'}, str(e))
            return {'CANCELLED'}
        finally:
            if editing:
                bpy.ops.object.mode_set(mode='EDIT')
        self.report({'INFO'}, f"keyed {len(selected)} vertices of {block.name} at frame "
                              f"{context.scene.frame_current}")
        return {'FINISHED'}


class TALKINGHEADS_OT_reset_expressions(bpy.types.Operator):
    """Set every expression of the rig to zero at the current frame (keyed values are keyed again)"""

    bl_idname = "talking_heads.reset_expressions"
    bl_label = "Reset Expressions"
    bl_options = {'REGISTER', 'UNDO'}

    def execute(self, context):
        try:
            rig = scene_rig(context)
        except UserError as e:
            self.report({'ERROR'}, str(e))
            return {'CANCELLED'}
        fcurves = compat.fcurves_of(rig.data.shape_keys)
        keyed = {f.data_path for f in fcurves} if fcurves is not None else set()
        for block in rig.data.shape_keys.key_blocks:
            if block.name in geometry.EXPRESSIONS:
                block.value = 0.0
                if f'key_blocks["{block.name}"].value' in keyed:
                    block.keyframe_insert("value", frame=context.scene.frame_current)
        return {'FINISHED'}


# --- animation from a video or a track ---------------------------------------------------------------------

class TALKINGHEADS_OT_import_track(WorkerJob, bpy.types.Operator):
    """Import a driving video or landmark track as keyframes on the rig's Track shape key, retargeted onto
    this face (the worker extracts the landmarks of a video)"""

    bl_idname = "talking_heads.import_track"
    bl_label = "Import Video or Track"
    bl_options = {'UNDO'}
    job_title = "Import track"

    filepath: StringProperty(name="Video or Track", subtype='FILE_PATH', default="", options=BLEND_RELATIVE,
                             description="A driving video, or a landmark track (.json) (empty: the Animation "
                                         "panel's)")
    frame_start: IntProperty(name="Start Frame", default=-1,
                             description="The scene frame the track's first frame lands on (-1: the scene's start)")
    mode: EnumProperty(
        name="Retargeting", default="relative",
        items=[("relative", "Relative", "Transfer the driver's motion onto this face (another person drives)"),
               ("absolute", "Absolute", "Keep the driver's face shape (the reference's own video drives)")])

    def job_request(self, context) -> protocol.Job:
        rig = scene_rig(context)
        source = bpy.path.abspath(self.filepath or context.scene.talking_heads.track_source)
        if not source:
            raise UserError("choose a driving video or a track file (.json) in the Animation panel")
        if not os.path.isfile(source):
            raise UserError(f"{source}: no such file; choose a driving video or a track (.json)")
        image = rig.talking_heads.reference
        folder = rig_folder(rig.name) if bpy.data.filepath else bpy.app.tempdir
        self._out = os.path.join(folder, "imported_track.json")
        return worker_jobs.TrackJob(source=source, out=self._out, mode=self.mode,
                                 reference_points=reference_landmarks(rig).tolist(),
                                 image_size=[int(image.size[0]), int(image.size[1])])

    def job_finished(self, context, result: worker_jobs.TrackResult) -> None:
        rig = scene_rig(context)
        scene = context.scene
        points, fps = track_file.read_track(self._out)
        points = retime.resample(points, fps, scene_fps(scene))
        start = scene.frame_start if self.frame_start < 0 else self.frame_start
        frames = np.arange(start, start + len(points))
        shapes = self._track_shapes(context, rig, points)
        keyframes.key_points(rig, rig_objects.TRACK_KEY, frames, shapes, axes=(0, 1))
        rig.data.shape_keys.key_blocks[rig_objects.TRACK_KEY].value = 1.0
        if frames[-1] > scene.frame_end:
            scene.frame_end = int(frames[-1])
        note = f", {result.filled} frames without a face filled in" if result.filled else ""
        self.report({'INFO'}, f"keyed {len(frames)} frames ({frames[0]}-{frames[-1]}) on {rig.name}{note}")

    @staticmethod
    def _track_shapes(context, rig, pixels: np.ndarray) -> np.ndarray:
        """Rig-frame vertex positions that project onto `pixels` (F, 68, 2) as the scene is seen now, each
        vertex moving in the plane of its rest depth (so only x and y need keys)."""
        scene = context.scene
        camera = rig_objects.camera_model(scene, rig_objects.active_camera(scene))
        rest = rig_objects.rest_vertices(rig)
        return geometry.positions_in_face_planes(pixels, rest[:, 2], np.array(rig.matrix_world), camera,
                                                 rig_objects.plane_model(rig))


# --- animation from speech -------------------------------------------------------------------------------

def scene_fps(scene) -> float:
    return scene.render.fps / scene.render.fps_base


def _missing_note(missing: list[str]) -> str:
    return f"; {rig_lacks(missing)}" if missing else ""


def rig_lacks(missing: list[str]) -> str:
    return f"the rig lacks {len(missing)} of its keys, not keyed: {', '.join(missing)}"


class TALKINGHEADS_OT_import_audio(WorkerJob, bpy.types.Operator):
    """Lip-sync the rig to a recording of speech: the worker recognises its phonemes (offline), the mouth's
    ARKit shape keys are keyed at the scene's frame rate from the current frame (blinks, brows and head
    motion keyed by hand stay), and the sound plays from a sound strip starting at the same frame"""

    bl_idname = "talking_heads.import_audio"
    bl_label = "Import Speech"
    bl_options = {'UNDO'}
    job_title = "Lip sync"

    filepath: StringProperty(name="Speech", subtype='FILE_PATH', default="", options=BLEND_RELATIVE,
                             description="WAV, MP3, or a video with sound (empty: the Animation panel's)")
    transcript: StringProperty(name="Transcript", default="",
                               description="What is said (English), to align the phonemes to (empty: "
                                           "recognise them; with no file given, the Animation panel's)")
    intensity: FloatProperty(name="Intensity", default=1.0, min=0.0, max=2.0,
                             description="How strongly the mouth articulates (not set: the Animation panel's)")
    frame_start: IntProperty(name="Start Frame", default=-1,
                             description="The scene frame the sound starts at (-1: the current frame)")

    def job_request(self, context) -> protocol.Job:
        rig = scene_rig(context)
        scene = context.scene
        settings = scene.talking_heads
        source = bpy.path.abspath(self.filepath or settings.audio_source)
        if not source:
            raise UserError("choose a recording of speech (WAV, MP3 or a video) in the Animation panel")
        if not os.path.isfile(source):
            raise UserError(f"{source}: no such file; choose a recording of speech (WAV, MP3 or a video)")
        transcript = self.transcript if self.filepath or self.properties.is_property_set("transcript") \
            else settings.audio_transcript
        intensity = self.intensity if self.properties.is_property_set("intensity") else settings.lipsync_intensity
        folder = rig_folder(rig.name) if bpy.data.filepath else bpy.app.tempdir
        stem = bpy.path.clean_name(os.path.splitext(os.path.basename(source))[0])
        self._out = os.path.join(folder, f"lipsync_{stem}.json")
        self._source, self._rig_name = source, rig.name
        self._start = scene.frame_current if self.frame_start < 0 else self.frame_start
        return worker_jobs.LipsyncJob(audio=source, out=self._out, fps=scene_fps(scene),
                                   transcript=transcript.strip() or None, intensity=float(intensity))

    def job_finished(self, context, result: worker_jobs.LipsyncResult) -> None:
        scene = context.scene
        rig = bpy.data.objects.get(self._rig_name)
        if rig is None or rig.data.shape_keys is None:
            raise UserError(f"the rig {self._rig_name} is gone; build it again and import the speech again")
        curves = ExpressionCurves.load(self._out)
        weights = curves.resample(scene_fps(scene)).weights
        frames = self._start + np.arange(len(weights))
        blocks = rig.data.shape_keys.key_blocks
        present = [k for k in curves.keys if k in blocks]
        missing = [k for k in curves.keys if k not in blocks]
        for key in present:
            keyframes.key_values(blocks[key], "value", frames, weights[:, curves.keys.index(key)])
        sound.add_sound(scene, rig.name, self._source, int(frames[0]))
        if frames[-1] > scene.frame_end:
            scene.frame_end = int(frames[-1])
        self.report({'INFO'}, f"lip sync: keyed {len(present)} mouth keys of {rig.name} over frames "
                              f"{frames[0]}-{frames[-1]}, the sound from frame {frames[0]}{_missing_note(missing)}")


# --- animation from an iPhone face capture ----------------------------------------------------------------

# A capture's head angles (Live Link Face's Unreal rotator: yaw, pitch, roll) as the rig's rotation: X nods,
# Y turns, Z tilts, in the camera's frame (x to the picture's right, y up, z towards the camera). Unreal's
# yaw turns the head to its own right, which is the picture's left (-Y here); its pitch raises the chin (-X:
# +X brings the top of the head towards the camera); its roll lowers the head's right side, the picture's
# left (+Z). The signs follow those conventions; they were not checked against a recording with a device.
HEAD_AXES = {"yaw": (1, -1.0), "pitch": (0, -1.0), "roll": (2, 1.0)}


class TALKINGHEADS_OT_import_arkit(bpy.types.Operator, ImportHelper):
    """Import an iPhone face capture (Live Link Face CSV, Face Cap text export): the rig's ARKit shape keys
    and the head's rotation are keyed at the scene's frame rate, the take's start at the current frame"""

    bl_idname = "talking_heads.import_arkit"
    bl_label = "Import iPhone Face Capture"
    bl_options = {'REGISTER', 'UNDO'}

    filter_glob: StringProperty(default="*.csv;*.txt", options={'HIDDEN'})
    capture_fps: FloatProperty(name="Capture Rate", default=0.0, min=0.0, max=240.0,
                               description="Frames per second the take was recorded at (Live Link Face does "
                                           "not write it); 0: inferred from the timecodes")
    frame_start: IntProperty(name="Start Frame", default=-1,
                             description="The scene frame the take starts at (-1: the current frame)")
    head: BoolProperty(name="Head Rotation", default=True,
                       description="Key the rig's rotation from the capture's head yaw, pitch and roll")

    def invoke(self, context, event):
        if self.filepath:
            return self.execute(context)
        return ImportHelper.invoke(self, context, event)

    def execute(self, context):
        scene = context.scene
        try:
            rig = scene_rig(context)
            path = bpy.path.abspath(self.filepath or scene.talking_heads.capture_source)
            if not path:
                raise UserError("choose a Live Link Face .csv or a Face Cap .txt")
            take = read_face_capture(path, fps=self.capture_fps or None).resample(scene_fps(scene))
        except UserError as e:  # everything is read and checked before anything in the scene changes
            self.report({'ERROR'}, str(e))
            return {'CANCELLED'}
        blocks = rig.data.shape_keys.key_blocks
        present, missing = take.split_keys(blocks.keys())
        start = scene.frame_current if self.frame_start < 0 else self.frame_start
        frames = start + np.arange(take.frames)
        for name in present:
            keyframes.key_values(blocks[name], "value", frames, take.weights[name])
        keyed_head = self.head and take.has_head
        if keyed_head:
            for column, name in enumerate(("yaw", "pitch", "roll")):
                axis, sign = HEAD_AXES[name]
                keyframes.key_values(rig, "rotation_euler", frames, sign * take.head[:, column], index=axis)
        if frames[-1] > scene.frame_end:
            scene.frame_end = int(frames[-1])
        head = " and the head's rotation" if keyed_head else ""
        self.report({'INFO'}, f"keyed {len(present)} ARKit keys{head} of {rig.name} over frames {frames[0]}-"
                              f"{frames[-1]} ({take.source}){_missing_note(missing)}")
        return {'FINISHED'}


# --- the person model --------------------------------------------------------------------------------------

class TALKINGHEADS_OT_finetune(WorkerJob, bpy.types.Operator):
    """Fine-tune a person model on the reference photos (the rig's first); it is what frames are generated
    with"""

    bl_idname = "talking_heads.finetune"
    bl_label = "Fine-tune"
    bl_options = {'UNDO'}
    job_title = "Fine-tune"

    def job_request(self, context) -> protocol.Job:
        rig = scene_rig(context)
        settings = context.scene.talking_heads
        images = [reference_file(rig)]  # first: the person model's reference is the rig's
        source = os.path.abspath(bpy.path.abspath(rig.talking_heads.source_photo))
        for item in settings.references:
            if item.image is None:
                continue
            path = os.path.abspath(bpy.path.abspath(item.image.filepath, library=item.image.library))
            if os.path.isfile(path) and path != source and path not in images:
                images.append(path)
        self._rig_name = rig.name
        self._out = os.path.join(rig_folder(rig.name), "person.safetensors")
        return worker_jobs.FinetuneJob(images=images, out=self._out, preset=settings.finetune_preset,
                                    steps=settings.finetune_steps, device=preferences.worker_device(context))

    def job_finished(self, context, result: worker_jobs.FinetuneResult) -> None:
        rig = bpy.data.objects[self._rig_name]
        rig.talking_heads.person_model = bpy.path.relpath(result.person)
        self.report({'INFO'}, f"person model written to {rig.talking_heads.person_model}")


# --- generation --------------------------------------------------------------------------------------------

class TALKINGHEADS_OT_generate(WorkerJob, bpy.types.Operator):
    """Generate the scene's frame range: the rig, seen through the active camera, drives the person model;
    frames go to //talking_heads/<rig>/ and play as an image sequence on the plane (or selected objects)"""

    bl_idname = "talking_heads.generate"
    bl_label = "Generate Frames"
    bl_options = {'UNDO'}
    job_title = "Generate"

    alpha: BoolProperty(name="Head Matte", default=False,
                        description="Frames with alpha: the head (face, forehead, hair, ears) opaque, the rest "
                                    "transparent; the plane then shows the head alone over what is behind it (not "
                                    "set: the Generate panel's setting)")

    target: EnumProperty(
        name="Show On", default='SCENE',
        items=[('SCENE', "As Set in the Scene", "Use the Generate panel's setting"),
               ('PLANE', "Image Plane", "Play the frames on the rig's image plane"),
               ('SELECTED', "Selected Objects", "Play the frames on the selected objects' materials")])

    def job_request(self, context) -> protocol.Job:
        rig = scene_rig(context)
        scene = context.scene
        folder = rig_folder(rig.name)
        person = person_model_file(rig)
        if self._target(context) == 'SELECTED' and not self._selected(context, rig):
            raise UserError("select the objects to show the frames on (other than the rig and its plane)")
        if scene.frame_start < 0:
            raise UserError("the scene's frame range starts before 0; frames are numbered from 0")
        frames = range(scene.frame_start, scene.frame_end + 1)
        with preview.paused():
            pixels = driver.rig_pixels(context, rig, frames)
        track = os.path.join(folder, "driver_track.json")
        image = rig.talking_heads.reference
        track_file.write_track(track, pixels, frames, scene.render.fps / scene.render.fps_base,
                               (int(image.size[0]), int(image.size[1])), source=rig.name)
        self._rig_name, self._folder, self._frames = rig.name, folder, frames
        # alpha=... from a script or the panel; otherwise the Generate panel's setting
        self._alpha = self.alpha if self.properties.is_property_set("alpha") else scene.talking_heads.generate_alpha
        key, certificate = preferences.c2pa_identity(context)
        return worker_jobs.GenerateJob(person=person, track=track, out_dir=folder, name="frame_",
                                    device=preferences.worker_device(context), alpha=self._alpha,
                                    c2pa_key=key, c2pa_cert=certificate)

    def _target(self, context) -> str:
        return context.scene.talking_heads.generate_target if self.target == 'SCENE' else self.target

    @staticmethod
    def _selected(context, rig) -> list:
        plane = rig.talking_heads.image_plane
        return [o for o in context.selected_objects if o not in (rig, plane)]

    def job_finished(self, context, result: worker_jobs.GenerateResult) -> None:
        self._show_frames(context, len(self._frames))
        self.report({'INFO'}, f"{len(self._frames)} frames in //talking_heads/{os.path.basename(self._folder)}/")

    def job_cancelled(self, context) -> None:
        """Frames written before the cancel are kept and shown, up to the first missing one."""
        written = 0
        for number in self._frames:
            if not os.path.isfile(materials.frame_path(self._folder, "frame_", number)):
                break
            written += 1
        if written:
            self._show_frames(context, written)

    def _show_frames(self, context, count: int) -> None:
        rig = bpy.data.objects[self._rig_name]
        first = self._frames[0]
        path = bpy.path.relpath(materials.frame_path(self._folder, "frame_", first))
        image = materials.load_sequence(path, f"{rig.name} frames", alpha=self._alpha)
        if self._target(context) == 'SELECTED':
            for obj in self._selected(context, rig):
                materials.put_on_object(obj, image, first, count, alpha=self._alpha)
            rig.talking_heads.frames = image
            rig.talking_heads.frames_alpha = self._alpha
        else:
            materials.put_on_plane(rig, image, first, count, alpha=self._alpha)


# --- export ------------------------------------------------------------------------------------------------

class TALKINGHEADS_OT_export_video(WorkerJob, bpy.types.Operator):
    """Encode the generated frames as an H.264 MP4 (//talking_heads/<rig>/<rig>.mp4) at the scene's frame rate
    (it writes a file and changes nothing in the scene: there is nothing to undo)"""

    bl_idname = "talking_heads.export_video"
    bl_label = "Export Video"
    bl_options = {'REGISTER'}
    job_title = "Export video"

    def job_request(self, context) -> protocol.Job:
        rig = scene_rig(context)
        folder = rig_folder(rig.name)
        scene = context.scene
        return worker_jobs.ExportVideoJob(frames=folder, name="frame_",
                                       out=os.path.join(folder, f"{bpy.path.clean_name(rig.name)}.mp4"),
                                       fps=scene.render.fps / scene.render.fps_base)

    def job_finished(self, context, result: worker_jobs.ExportVideoResult) -> None:
        self.report({'INFO'}, f"wrote {bpy.path.relpath(result.video)} ({result.frames} frames)")


class TALKINGHEADS_OT_export_onnx(WorkerJob, bpy.types.Operator):
    """Export the person model to ONNX (//talking_heads/<rig>/person.onnx) and use it for the live preview"""

    bl_idname = "talking_heads.export_onnx"
    bl_label = "Export ONNX Model"
    bl_options = {'UNDO'}
    job_title = "Export ONNX"

    def job_request(self, context) -> protocol.Job:
        rig = scene_rig(context)
        return worker_jobs.ExportOnnxJob(person=person_model_file(rig), out=os.path.join(rig_folder(rig.name), "person.onnx"))

    def job_finished(self, context, result: worker_jobs.ExportOnnxResult) -> None:
        context.scene.talking_heads.preview_model = bpy.path.relpath(result.onnx)
        self.report({'INFO'}, f"wrote {context.scene.talking_heads.preview_model}; the live preview uses it")


# --- the worker's environment (preferences) ----------------------------------------------------------------

class TALKINGHEADS_OT_install_worker(WorkerJob, bpy.types.Operator):
    """Create the worker's Python environment in the extension's user folder and install the project's
    requirements into it with pip (a few GB: torch), from the registries or a folder of wheels (outside the
    .blend: Blender's undo does not cover it)"""

    bl_idname = "talking_heads.install_worker"
    bl_label = "Install Worker Environment"
    bl_options = {'REGISTER', 'INTERNAL'}
    job_title = "Install"

    def job_request(self, context) -> worker_jobs.InstallJob:
        wheelhouse = preferences.install_source(context)
        if wheelhouse is None and not bpy.app.online_access:
            raise UserError("online access is off: allow it in Preferences > System > Network to download the "
                            "worker's packages, or install from a folder of wheels")
        requirements = os.path.join(preferences.extension_root(), "worker_requirements.txt")
        if not os.path.isfile(requirements):
            raise UserError(f"{requirements} is missing; reinstall the extension")
        return worker_jobs.InstallJob(folder=preferences.environment_folder(), requirements=requirements,
                                      wheelhouse=wheelhouse, torch=preferences.torch_build(context))

    def job_process(self, context, request: worker_jobs.InstallJob) -> WorkerProcess:
        """The worker run by Blender's own Python: the environment with torch is what it is making."""
        root = preferences.extension_root()
        return WorkerProcess(worker_command(sys.executable), request, env=worker_environment(root), cwd=root)

    def job_event(self, context, event: protocol.Event) -> None:
        if isinstance(event, protocol.Progress):
            preferences.preferences(context).install_log = event.message[:200]

    def job_finished(self, context, result: worker_jobs.InstallResult) -> None:
        preferences.preferences(context).install_log = f"installed in {result.python}"
        self.report({'INFO'}, "the worker's environment is ready")


class TALKINGHEADS_OT_check_worker(WorkerJob, bpy.types.Operator):
    """Start the worker once and show what its Python provides (torch version, CUDA device); it changes
    nothing to undo"""

    bl_idname = "talking_heads.check_worker"
    bl_label = "Check Worker"
    bl_options = {'REGISTER', 'INTERNAL'}
    job_title = "Check worker"

    def job_request(self, context) -> worker_jobs.InfoJob:
        return worker_jobs.InfoJob()

    def job_finished(self, context, result: worker_jobs.InfoResult) -> None:
        text = f"Python {result.python}, torch {result.torch}, {result.device}"
        preferences.preferences(context).worker_info = text
        self.report({'INFO'}, text)


CLASSES = (
    TALKINGHEADS_OT_add_reference,
    TALKINGHEADS_OT_remove_reference,
    TALKINGHEADS_OT_build_rig,
    TALKINGHEADS_OT_keyframe_vertices,
    TALKINGHEADS_OT_reset_expressions,
    TALKINGHEADS_OT_import_track,
    TALKINGHEADS_OT_import_audio,
    TALKINGHEADS_OT_import_arkit,
    TALKINGHEADS_OT_finetune,
    TALKINGHEADS_OT_generate,
    TALKINGHEADS_OT_export_video,
    TALKINGHEADS_OT_export_onnx,
    TALKINGHEADS_OT_install_worker,
    TALKINGHEADS_OT_check_worker,
)
