"""The rig's Blender objects: the image plane that shows the reference and the 68-vertex landmark mesh.

Geometry comes from `core.geometry.camera` and `core.face`; this module only turns it into objects. The rig
object's frame is the camera's at build time, kept in its *delta* rotation, so its own rotation starts at zero
and reads as a head's: X nods, Y turns, Z tilts. Its shape keys, in this order: "Basis" (the rest pose, locked), "Track"
(per-vertex motion imported from a video or track), "Vertices" (the artist's own per-vertex poses; active,
so vertices moved in Edit Mode go there and never into the rest pose) and one per ARKit expression.
"""
from __future__ import annotations

import numpy as np

import bpy
from mathutils import Matrix

from ..app import worker_jobs
from ..core.errors import UserError
from ..core.face.expressions import expression_deltas
from ..core.face.rest_pose import FACE_EDGES, N_LANDMARKS, RestPose, place_rig
from ..core.geometry.camera import Camera, ImagePlane, fit_image_plane
from . import compat, materials

TRACK_KEY = "Track"
VERTICES_KEY = "Vertices"
FACE_DEPTH = 0.75  # the rig floats at this fraction of the plane's distance: in front of it, clear of it


def active_camera(scene) -> bpy.types.Object:
    camera = scene.camera
    if camera is None or camera.type != 'CAMERA':
        raise UserError("the scene has no active camera: add one (Add > Camera) and make it the scene camera")
    return camera


def camera_model(scene, camera) -> Camera:
    return Camera(np.array(camera.matrix_world.normalized()), camera.data.type == 'ORTHO')


def camera_frame(scene, camera) -> tuple[float, float, float, float]:
    """The camera's view frame (min x, max x, min y, max y) at depth 1 (perspective) or as is (ortho)."""
    corners = camera.data.view_frame(scene=scene)
    if camera.data.type == 'ORTHO':
        xs, ys = [v.x for v in corners], [v.y for v in corners]
    else:
        xs, ys = [v.x / -v.z for v in corners], [v.y / -v.z for v in corners]
    return min(xs), max(xs), min(ys), max(ys)


def plane_model(rig, matrix_world=None) -> ImagePlane:
    settings = rig.talking_heads
    plane, image = settings.image_plane, settings.reference
    if plane is None:
        raise UserError(f"the rig {rig.name!r} has lost its image plane; build the rig again")
    if image is None or not image.size[0]:
        raise UserError(f"the rig {rig.name!r} has no reference image; build the rig again from a photo")
    matrix = np.array(plane.matrix_world) if matrix_world is None else matrix_world
    return ImagePlane(matrix, tuple(settings.plane_size), (int(image.size[0]), int(image.size[1])))


def build(context, name: str, image: bpy.types.Image, detection: worker_jobs.DetectResult,
          distance: float) -> bpy.types.Object:
    """Create the image plane and the rig for `image`, whose landmarks and depths are in `detection`."""
    scene = context.scene
    camera = active_camera(scene)
    width, height = detection.size
    if tuple(image.size) != (width, height):
        raise UserError(f"{image.name} is {image.size[0]}x{image.size[1]} in Blender but the landmarks were "
                        f"found on {width}x{height} pixels; use the reference copy the worker wrote")
    cam = camera_model(scene, camera)
    plane_geometry = fit_image_plane(cam.matrix_world, camera_frame(scene, camera), distance, (width, height),
                                     cam.orthographic)
    rest = place_rig(np.array(detection.points), np.array(detection.depths), cam, plane_geometry,
                     FACE_DEPTH * distance)
    collection = bpy.data.collections.new(name)
    scene.collection.children.link(collection)
    plane = _image_plane(collection, f"{name} plane", plane_geometry, image)
    rig = _landmark_mesh(collection, name, rest)
    settings = rig.talking_heads
    settings.is_rig = True
    settings.reference = image
    settings.image_plane = plane
    settings.plane_size = plane_geometry.size
    settings.landmark_backend = detection.backend
    settings.depth_source = detection.depth_source
    scene.talking_heads.rig = rig
    return rig


def _image_plane(collection, name: str, plane: ImagePlane, image) -> bpy.types.Object:
    w, h = plane.size
    mesh = bpy.data.meshes.new(name)
    mesh.from_pydata([(-w / 2, -h / 2, 0), (w / 2, -h / 2, 0), (w / 2, h / 2, 0), (-w / 2, h / 2, 0)], [],
                     [(0, 1, 2, 3)])
    uv = mesh.uv_layers.new(name="UVMap")
    uv.data.foreach_set("uv", [0, 0, 1, 0, 1, 1, 0, 1])
    mesh.materials.append(materials.plane_material(f"{name}", image))
    obj = bpy.data.objects.new(name, mesh)
    obj.matrix_world = Matrix(plane.matrix_world.tolist())
    obj.hide_select = True  # the rig is what artists grab; the plane stays where the camera sees it
    collection.objects.link(obj)
    return obj


def _landmark_mesh(collection, name: str, rest: RestPose) -> bpy.types.Object:
    mesh = bpy.data.meshes.new(name)
    mesh.from_pydata(rest.vertices.tolist(), list(FACE_EDGES), [])
    obj = bpy.data.objects.new(name, mesh)
    obj.location = rest.origin.tolist()
    obj.rotation_mode = 'XYZ'
    obj.delta_rotation_euler = Matrix(rest.rotation.tolist()).to_euler('XYZ')
    obj.show_in_front = True
    obj.show_wire = True
    collection.objects.link(obj)

    compat.new_shape_key(obj, "Basis", lock=True)  # the rest pose: edits cannot reach it by accident
    # The per-vertex keys come right after the Basis. A keyed vertex is an F-Curve whose path names its key
    # (key_blocks["Track"].data[7].co), and on every frame Blender finds that key by comparing names from
    # the top of the list: behind the (then 26) expressions, that search took much of the evaluation of a rig
    # with an imported track (benchmarks/RESULTS.md).
    for key_name in (TRACK_KEY, VERTICES_KEY):
        compat.new_shape_key(obj, key_name, value=1.0)
    for key_name, delta in expression_deltas(rest.vertices).items():
        key = compat.new_shape_key(obj, key_name, value=0.0)  # at rest: the artist keys them
        key.data.foreach_set("co", (rest.vertices + delta).astype(np.float32).ravel())
    obj.active_shape_key_index = obj.data.shape_keys.key_blocks.find(VERTICES_KEY)
    return obj


def rest_vertices(rig) -> np.ndarray:
    """The rig's rest pose (its Basis key), (68, 3) in the rig's frame."""
    keys = rig.data.shape_keys
    source = keys.reference_key.data if keys else rig.data.vertices
    check_vertex_count(rig, len(source))
    co = np.empty(len(source) * 3, dtype=np.float32)
    source.foreach_get("co", co)
    return co.reshape(-1, 3)


def check_vertex_count(rig, count: int) -> None:
    if count != N_LANDMARKS:
        raise UserError(f"{rig.name} has {count} vertices; a rig needs exactly {N_LANDMARKS} (the "
                        f"landmarks in iBUG order): build a new rig")
