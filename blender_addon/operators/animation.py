"""The Animation panel's imports: a driving video or track (the worker extracts and retargets it), a line of
speech (lip sync in the worker, the sound as a sequencer strip) and an iPhone face capture (read here)."""
from __future__ import annotations

import os

import numpy as np

import bpy
from bpy.props import BoolProperty, EnumProperty, FloatProperty, IntProperty, StringProperty
from bpy_extras.io_utils import ImportHelper

from ...app import protocol, worker_jobs
from ...core.geometry.camera import positions_in_face_planes
from ...core.capture.live_link import read_face_capture
from ...core.errors import UserError
from ...core.geometry import retime
from ...core.lipsync.curves import ExpressionCurves
from .. import keyframes, rig_objects, sound, track_file
from ..compat import BLEND_RELATIVE
from ..jobs import WorkerJob
from .scene import reference_landmarks, rig_folder, scene_fps, scene_rig


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
        return positions_in_face_planes(pixels, rest[:, 2], np.array(rig.matrix_world), camera,
                                        rig_objects.plane_model(rig))


# --- animation from speech -------------------------------------------------------------------------------

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


