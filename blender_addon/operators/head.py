"""The Head panel's operators: a head for the rig (the shipped sample, or one built from the photo in the
worker), the fit of the photo onto the head's UVs (in the worker), and the pins that correct it."""
from __future__ import annotations

import dataclasses
import os

import numpy as np

import bpy
from mathutils import Matrix

from ...app import protocol, worker_jobs
from ...core.errors import UserError
from ...core.head.mesh import load_mesh
from ...core.head.pose import BLENDER_TO_OPENCV
from ...core.landmarks.groups import JAW
from .. import head_objects, materials, rig_objects, thumbnail
from ..jobs import WorkerJob, warn_once
from .scene import reference_file, reference_landmarks, rig_folder, scene_rig

FIT_FILE = "head_fit.npz"
MESH_FILE = "head_mesh.npz"
PHOTO_HEAD_FILE = "head_from_photo.npz"


def rig_head(rig) -> bpy.types.Object:
    head = rig.talking_heads.head
    if head is None:
        raise UserError("the rig has no head: choose one in the Head panel, or press Add Sample Head or Head "
                        "from Photo")
    if head.type != 'MESH':
        raise UserError(f"{head.name} is not a mesh; choose a mesh object as the head")
    return head


def _camera_and_plane(context, rig) -> tuple[np.ndarray, np.ndarray]:
    camera = rig_objects.active_camera(context.scene)
    if camera.data.type != 'PERSP':
        raise UserError("the scene camera is not a perspective camera; a head needs one (Camera > Type)")
    return (np.array(camera.matrix_world.normalized()), np.array(rig.talking_heads.image_plane.matrix_world))


def _link_beside_rig(rig, obj) -> None:
    for collection in rig.users_collection:
        collection.objects.link(obj)


def _select_only(context, obj) -> None:
    for other in context.view_layer.objects.selected:
        other.select_set(False)
    context.view_layer.objects.active = obj
    obj.select_set(True)


def _rest_landmarks_world(rig) -> np.ndarray:
    matrix = np.array(rig.matrix_world)
    return rig_objects.rest_vertices(rig) @ matrix[:3, :3].T + matrix[:3, 3]


class TALKINGHEADS_OT_add_sample_head(bpy.types.Operator):
    """Add the shipped sample head (ICT-FaceKit, MIT: UV-mapped, with eyes, teeth and ARKit shape keys),
    facing the camera over the rig's face, as the rig's head"""

    bl_idname = "talking_heads.add_sample_head"
    bl_label = "Add Sample Head"
    bl_options = {'REGISTER', 'UNDO'}

    def execute(self, context):
        try:
            rig = scene_rig(context)
            camera, _plane = _camera_and_plane(context, rig)
            head, landmark_vertices = head_objects.sample_head_object(f"{rig.name} head")
        except UserError as e:
            self.report({'ERROR'}, str(e))
            return {'CANCELLED'}
        # Facing the camera, its landmarks' jaw as wide as the rig's and their centre on the rig's.
        target = _rest_landmarks_world(rig)
        own = head_objects.rest_coordinates(head)[landmark_vertices]
        scale = np.linalg.norm(target[JAW[0]] - target[JAW[-1]]) / np.linalg.norm(own[JAW[0]] - own[JAW[-1]])
        rotation = camera[:3, :3] @ BLENDER_TO_OPENCV @ head_objects.OPENCV_TO_HEAD.T
        location = target.mean(axis=0) - scale * rotation @ own.mean(axis=0)
        head.matrix_world = Matrix.LocRotScale(location, Matrix(rotation.tolist()).to_quaternion(), [scale] * 3)
        head[head_objects.LANDMARK_VERTICES_PROPERTY] = [int(i) for i in landmark_vertices]
        _link_beside_rig(rig, head)
        rig.talking_heads.head = head
        _select_only(context, head)
        self.report({'INFO'}, f"added {head.name} ({len(head.data.vertices)} vertices, "
                              f"{len(head.data.shape_keys.key_blocks) - 1} ARKit shape keys); press Fit to Head")
        return {'FINISHED'}


class TALKINGHEADS_OT_head_from_photo(WorkerJob, bpy.types.Operator):
    """Build a head from the photo (its face lifted with a generic face's depths, closed behind, its UVs the
    photo's pixels): seen through the scene camera it covers the photo, and the frames play on it as they are"""

    bl_idname = "talking_heads.head_from_photo"
    bl_label = "Head from Photo"
    bl_options = {'UNDO'}
    job_title = "Head from photo"

    def job_request(self, context) -> protocol.Job:
        rig = scene_rig(context)
        self._rig_name = rig.name
        return worker_jobs.HeadFromPhotoJob(photo=reference_file(rig),
                                            out=os.path.join(rig_folder(rig.name), PHOTO_HEAD_FILE),
                                            reference_points=reference_landmarks(rig).tolist(),
                                            focal=photo_focal(context, rig))

    def job_finished(self, context, result: worker_jobs.HeadFromPhotoResult) -> None:
        rig = bpy.data.objects[self._rig_name]
        head = build_photo_head(context, rig, load_mesh(result.mesh))
        _select_only(context, head)
        self.report({'INFO'}, f"built {head.name} ({len(head.data.vertices)} vertices); the frames play on it "
                              f"as they are")


def photo_focal(context, rig) -> float:
    """The scene camera's focal length in photo pixels, as it sees the image plane."""
    camera, plane = _camera_and_plane(context, rig)
    return head_objects.photo_head_placement(camera, plane, rig.talking_heads.plane_size[0],
                                             int(rig.talking_heads.reference.size[0]), 1.0, np.ones((1, 3)))[0]


def build_photo_head(context, rig, mesh) -> bpy.types.Object:
    """The head object of a Head from Photo mesh (OpenCV camera frame of the photo), placed so that the scene
    camera sees it over the photo as the image plane shows it, at the rig's depth; the rig's head. Its photo
    weight per vertex (the mesh's) fades its edge-on sides and back to the photo's plain colour."""
    camera, plane = _camera_and_plane(context, rig)
    depth = -(np.linalg.inv(camera) @ np.array([*rig.matrix_world.translation, 1.0]))[2]
    settings = rig.talking_heads
    _focal, matrix, local, to_camera = head_objects.photo_head_placement(
        camera, plane, settings.plane_size[0], int(settings.reference.size[0]), depth,
        np.asarray(mesh.vertices, dtype=np.float64))
    old = settings.head if settings.head is not None and settings.head.talking_heads.head_from_photo else None
    head = head_objects.triangle_mesh_object(f"{rig.name} head", dataclasses.replace(mesh, vertices=local))
    # a mesh without the photo's weights (written before them) shows the photo everywhere, as it did
    weights = mesh.vertex_weights if mesh.vertex_weights is not None else np.ones(len(mesh.vertices), np.float32)
    head_objects.add_point_weights(head, materials.PHOTO_WEIGHT_ATTRIBUTE, weights)
    colour = head_objects.photo_fade_colour(settings.reference, dataclasses.replace(mesh, vertex_weights=weights))
    head.data.materials.clear()
    head.data.materials.append(materials.head_photo_material(f"{rig.name} head", settings.reference, colour))
    head.matrix_world = Matrix(matrix.tolist())
    if old is not None:  # pressed again: the new head takes the old one's place
        bpy.data.objects.remove(old)
    _link_beside_rig(rig, head)
    head_settings = head.talking_heads
    head_settings.head_from_photo = True
    head_settings.head_camera = to_camera.ravel().tolist()
    head_settings.head_uv_map = mesh.uv_map
    settings.head = head
    return head


class TALKINGHEADS_OT_fit_head(WorkerJob, bpy.types.Operator):
    """Fit the photo onto the head: its landmarks on the mesh (the pins, if placed, else found from a render),
    the photo's camera, and for every texel of the head's UV map the photo pixel it shows"""

    bl_idname = "talking_heads.fit_head"
    bl_label = "Fit to Head"
    bl_options = {'UNDO'}
    job_title = "Fit head"

    def job_request(self, context) -> protocol.Job:
        rig = scene_rig(context)
        head = rig_head(rig)
        if head.talking_heads.head_from_photo:
            raise UserError(f"{head.name} was built from the photo: it needs no fit (the frames play on it as "
                            f"they are)")
        folder = rig_folder(rig.name)
        mesh_path = head_objects.write_mesh_file(head, os.path.join(folder, MESH_FILE))
        pins = rig.talking_heads.head_pins
        landmarks = head_objects.pinned_vertices(context, head, pins) if pins is not None else \
            head.get(head_objects.LANDMARK_VERTICES_PROPERTY)
        self._rig_name, self._head_name = rig.name, head.name
        self._uv_map = str(np.load(mesh_path)["uv_map"])
        return worker_jobs.FitHeadJob(photo=reference_file(rig), mesh=mesh_path, out=os.path.join(folder, FIT_FILE),
                                      landmarks=[int(i) for i in landmarks] if landmarks is not None else None,
                                      reference_points=reference_landmarks(rig).tolist(),
                                      size=int(rig.talking_heads.head_uv_size))

    def job_finished(self, context, result: worker_jobs.FitHeadResult) -> None:
        rig, head = bpy.data.objects[self._rig_name], bpy.data.objects[self._head_name]
        settings = head.talking_heads
        settings.head_fit = bpy.path.relpath(result.fit)
        settings.head_uv_map = self._uv_map
        settings.head_camera = np.asarray(result.rotation, dtype=np.float64).ravel().tolist()
        head[head_objects.LANDMARK_VERTICES_PROPERTY] = [int(i) for i in result.landmark_vertices]
        overlay = rig.talking_heads.head_overlay
        if overlay is None:
            overlay = bpy.data.images.load(result.overlay, check_existing=False)
            overlay.name = f"{rig.name} head fit"
            rig.talking_heads.head_overlay = overlay
        else:
            overlay.filepath = result.overlay
            overlay.reload()
        overlay.filepath = bpy.path.relpath(result.overlay)
        thumbnail.make(overlay)
        if rig.talking_heads.head_pins is not None:  # the pins now sit where the fit put the landmarks
            head_objects.make_pins(head, result.landmark_vertices, rig.talking_heads.head_pins)
        for warning in result.warnings:
            warn_once(self, warning)
        self.report({'INFO'}, f"fitted {head.name} ({result.landmark_source} landmarks, focal "
                              f"{result.focal:.0f} px); Generate bakes the frames onto it")


class TALKINGHEADS_OT_head_pins(bpy.types.Operator):
    """Put the pins on the head at the fit's landmark vertices (68, parented to the head, kept on its surface):
    move them in Edit Mode where the photo's landmarks are on the head, then press Fit to Head again"""

    bl_idname = "talking_heads.head_pins"
    bl_label = "Pins"
    bl_options = {'REGISTER', 'UNDO'}

    def execute(self, context):
        try:
            rig = scene_rig(context)
            head = rig_head(rig)
            landmarks = head.get(head_objects.LANDMARK_VERTICES_PROPERTY)
            if landmarks is None:
                raise UserError(f"{head.name} has no landmark vertices yet: press Fit to Head first")
            pins = head_objects.make_pins(head, list(landmarks), rig.talking_heads.head_pins)
        except UserError as e:
            self.report({'ERROR'}, str(e))
            return {'CANCELLED'}
        rig.talking_heads.head_pins = pins
        _select_only(context, pins)
        self.report({'INFO'}, f"{pins.name}: move them in Edit Mode (Tab), then press Fit to Head")
        return {'FINISHED'}


class TALKINGHEADS_OT_show_head_fit(bpy.types.Operator):
    """Show the fit (the head's landmarks and outline over the photo) in an Image Editor window"""

    bl_idname = "talking_heads.show_head_fit"
    bl_label = "Show Fit"
    bl_options = {'REGISTER'}

    def execute(self, context):
        try:
            overlay = scene_rig(context).talking_heads.head_overlay
        except UserError as e:
            self.report({'ERROR'}, str(e))
            return {'CANCELLED'}
        if overlay is None:
            self.report({'ERROR'}, "no fit yet: press Fit to Head first")
            return {'CANCELLED'}
        bpy.ops.wm.window_new()
        area = context.window_manager.windows[-1].screen.areas[0]
        area.type = 'IMAGE_EDITOR'
        area.spaces.active.image = overlay
        return {'FINISHED'}
