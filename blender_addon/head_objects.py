"""The head's Blender objects: a head mesh built from the project's mesh arrays (`core.head.mesh.Mesh`'s
fields: the shipped sample head, a Head from Photo head), a head written back to those arrays for the fit,
and the pins: 68 vertices on the head's surface, one per landmark, that the artist moves to correct the fit.

Meshes are built and read with `foreach_set`/`foreach_get` on numpy arrays (a 30 000-vertex head in a
fraction of a second; per-vertex Python would take seconds).
"""
from __future__ import annotations

import numpy as np

import bpy
from mathutils import Matrix

from ..core.atomic import atomic_path
from ..core.colour import srgb_to_linear
from ..core.errors import UserError
from ..core.face.rest_pose import FACE_EDGES, N_LANDMARKS
from ..core.head.from_photo import fade_colour
from ..core.head.mesh import Mesh, baked_triangles, sample_head
from ..core.head.pose import BLENDER_TO_OPENCV
from . import compat

LANDMARK_VERTICES_PROPERTY = "talking_heads_landmark_vertices"  # the fit's vertex per landmark, on the head
# A head's own frame as the add-on builds it: x right, y back, z up (Blender's front view looks along +y);
# this maps OpenCV camera axes (x right, y down, z forward) into it.
OPENCV_TO_HEAD = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, -1.0, 0.0]])


# --- mesh arrays <-> Blender meshes -------------------------------------------------------------------------

def build_mesh(name: str, vertices: np.ndarray, sizes: np.ndarray, corners: np.ndarray, corner_uvs: np.ndarray,
               material_index: np.ndarray, material_names, uv_map: str,
               shape_keys: dict[str, np.ndarray] | None = None) -> bpy.types.Object:
    """A new mesh object (not linked to any collection) of polygons (`sizes` corners each, `corners` their
    vertices one polygon after another) with a UV per corner, material slots (an existing material of that
    name is reused) and shape keys {name: (V, 3) positions}, smooth shaded."""
    sizes = np.asarray(sizes, dtype=np.int32)
    count = len(sizes)
    mesh = bpy.data.meshes.new(name)
    mesh.vertices.add(len(vertices))
    mesh.vertices.foreach_set("co", np.asarray(vertices, dtype=np.float32).ravel())
    mesh.loops.add(len(corners))
    mesh.loops.foreach_set("vertex_index", np.asarray(corners, dtype=np.int32))
    mesh.polygons.add(count)
    mesh.polygons.foreach_set("loop_start", (np.cumsum(sizes) - sizes).astype(np.int32))
    mesh.polygons.foreach_set("loop_total", sizes)
    mesh.polygons.foreach_set("use_smooth", np.ones(count, dtype=bool))
    mesh.update(calc_edges=True)
    uv_layer = mesh.uv_layers.new(name=uv_map or "UVMap")
    uv_layer.data.foreach_set("uv", np.asarray(corner_uvs, dtype=np.float32).ravel())
    for material_name in material_names:
        material = bpy.data.materials.get(material_name) or _new_material(material_name)
        mesh.materials.append(material)
    if len(material_names):
        mesh.polygons.foreach_set("material_index", np.asarray(material_index, dtype=np.int32))
    obj = bpy.data.objects.new(name, mesh)
    if shape_keys:
        compat.new_shape_key(obj, "Basis")
        for key_name, positions in shape_keys.items():
            key = compat.new_shape_key(obj, key_name, value=0.0)
            key.data.foreach_set("co", np.asarray(positions, dtype=np.float32).ravel())
    return obj


def sample_head_object(name: str) -> tuple[bpy.types.Object, np.ndarray]:
    """The shipped ICT-FaceKit head (metres, z up, facing -y) with its ARKit shape keys; and its landmark
    vertices (68,)."""
    head = sample_head()
    p = head.polygons
    shapes = {}
    for key_name, (indices, deltas) in head.shapes.items():
        positions = p.vertices.copy()
        positions[indices] += deltas
        shapes[key_name] = positions
    obj = build_mesh(name, p.vertices, p.sizes, p.corners, p.corner_uvs, p.materials, p.material_names,
                     p.uv_maps[0], shapes)
    return obj, head.landmark_vertices


def triangle_mesh_object(name: str, mesh: Mesh) -> bpy.types.Object:
    """A `core.head.mesh.Mesh` (triangles) as a new mesh object."""
    count = len(mesh.triangles)
    return build_mesh(name, mesh.vertices, np.full(count, 3), mesh.triangles.ravel(), mesh.uvs.reshape(-1, 2),
                      mesh.materials, mesh.material_names, mesh.uv_map)


def _new_material(name: str) -> bpy.types.Material:
    material = bpy.data.materials.new(name)
    compat.shader_nodes(material)  # a Principled BSDF, as Blender's own new material
    return material


def mesh_arrays(obj, uv_map: str | None = None) -> dict:
    """`obj`'s head mesh as `core.head.mesh.Mesh`'s fields: object-space rest (basis) coordinates, its loop
    triangles, their per-corner UVs on `uv_map` (None: the active render UV map), material slots per triangle."""
    if obj is None or obj.type != 'MESH':
        raise UserError("choose a mesh object as the head (Head panel)")
    mesh = obj.data
    if not len(mesh.uv_layers):
        raise UserError(f"{obj.name} has no UV map: unwrap it (UV > Unwrap) so the frames can be baked to it")
    uv_layer = mesh.uv_layers.get(uv_map) if uv_map else \
        next((layer for layer in mesh.uv_layers if layer.active_render), mesh.uv_layers[0])
    if uv_layer is None:
        raise UserError(f"{obj.name} has lost the UV map {uv_map!r} it was fitted on; press Fit to Head again")
    vertices = rest_coordinates(obj)
    mesh.calc_loop_triangles()
    count = len(mesh.loop_triangles)
    if not count:
        raise UserError(f"{obj.name} has no faces; choose a head mesh with faces")
    triangles = np.empty(count * 3, dtype=np.int32)
    mesh.loop_triangles.foreach_get("vertices", triangles)
    loops = np.empty(count * 3, dtype=np.int32)
    mesh.loop_triangles.foreach_get("loops", loops)
    loop_uvs = np.empty(len(mesh.loops) * 2, dtype=np.float32)
    uv_layer.data.foreach_get("uv", loop_uvs)
    material_index = np.empty(count, dtype=np.int32)
    mesh.loop_triangles.foreach_get("material_index", material_index)
    return {
        "vertices": vertices.astype(np.float64),
        "triangles": triangles.reshape(-1, 3),
        "uvs": loop_uvs.reshape(-1, 2)[loops].reshape(-1, 3, 2),
        "materials": material_index,
        "material_names": np.array([slot.material.name if slot.material else "" for slot in obj.material_slots]),
        "uv_map": np.array(uv_layer.name),
        "uv_maps": np.array([layer.name for layer in mesh.uv_layers]),
    }


def write_mesh_file(obj, path: str) -> str:
    """`obj`'s mesh arrays as an .npz at `path` (written atomically), for the worker's fit."""
    arrays = mesh_arrays(obj)
    with atomic_path(path) as temporary:
        with open(temporary, "wb") as f:
            np.savez(f, **arrays)
    return path


# --- the head's own shape keys -----------------------------------------------------------------------------

# The rig's blink expressions and the names a head's blink shape keys go by: ARKit's, ICT-FaceKit's and
# FaceBuilder's, matched case-insensitively. Blinks are the head's geometry: the ICT head's eyeballs poke
# through the skin's eye openings, so a lid closed in the texture cannot cover them (68 % of a texture-only
# blink's change inside the eyes' boxes; benchmarks/head_quality.py).
BLINK_KEYS = {"eyeBlinkLeft": ("eyeblinkleft", "eyeblink_l"), "eyeBlinkRight": ("eyeblinkright", "eyeblink_r")}


def blink_keys(head) -> dict[str, str]:
    """The head's blink shape keys by the rig expression that plays them: {"eyeBlinkLeft": "eyeBlink_L", ...},
    only those the head has."""
    keys = head.data.shape_keys if head.type == 'MESH' else None
    if keys is None:
        return {}
    by_name = {block.name.lower(): block.name for block in keys.key_blocks[1:]}   # not the Basis
    found = {}
    for expression, names in BLINK_KEYS.items():
        name = next((by_name[n] for n in names if n in by_name), None)
        if name is not None:
            found[expression] = name
    return found


# --- Head from Photo ----------------------------------------------------------------------------------------

def photo_head_placement(camera_matrix: np.ndarray, plane_matrix: np.ndarray, plane_width: float,
                         photo_width: int, depth: float, vertices_cv: np.ndarray):
    """Where a head built in the photo camera's OpenCV frame goes so that, seen through the scene camera, it
    covers the photo as the image plane shows it.

    The photo camera is the scene camera looking at the plane: focal `f` = plane distance / plane pixel size
    (photo pixels), its optical centre the plane's centre (a lens shift makes that a shear, kept exactly).
    The head is scaled about the camera (which its projection never sees) so its median depth is `depth`.
    Returns (focal, object matrix (4, 4), object-space vertices (V, 3), object -> OpenCV camera rotation)."""
    plane_in_camera = np.linalg.inv(camera_matrix) @ plane_matrix
    distance = -plane_in_camera[2, 3]
    if distance <= 0:
        raise UserError("the image plane is behind the camera; build the rig again")
    focal = distance * photo_width / plane_width
    scale = depth / float(np.median(vertices_cv[:, 2]))
    shear = np.array([[1.0, 0.0, plane_in_camera[0, 3] / distance],
                      [0.0, -1.0, plane_in_camera[1, 3] / distance],
                      [0.0, 0.0, -1.0]])   # OpenCV -> Blender camera axes, with the plane's offset
    world = (scale * vertices_cv @ shear.T) @ camera_matrix[:3, :3].T + camera_matrix[:3, 3]
    rotation = camera_matrix[:3, :3] @ BLENDER_TO_OPENCV @ OPENCV_TO_HEAD.T
    origin = world.mean(axis=0)
    matrix = np.eye(4)
    matrix[:3, :3], matrix[:3, 3] = rotation, origin
    return focal, matrix, (world - origin) @ rotation, OPENCV_TO_HEAD.T


def add_point_weights(obj, name: str, weights: np.ndarray) -> None:
    """A float attribute `name` per vertex of `obj`'s mesh (read by the material's Attribute node)."""
    attribute = obj.data.attributes.new(name, 'FLOAT', 'POINT')
    attribute.data.foreach_set("value", np.asarray(weights, dtype=np.float32))


def photo_fade_colour(image: bpy.types.Image, mesh: Mesh) -> tuple[float, float, float]:
    """The plain colour (linear RGB, as a colour socket takes it) a Head from Photo head fades to where its
    photo weight falls: `core.head.from_photo.fade_colour` of `image`."""
    width, height = image.size
    rgba = np.empty(width * height * 4, dtype=np.float32)
    image.pixels.foreach_get(rgba)   # a byte image's stored values, in its colour space
    colour = fade_colour(rgba.reshape(height, width, 4)[::-1, :, :3], mesh)
    if image.colorspace_settings.name == 'sRGB':
        colour = srgb_to_linear(colour)
    return tuple(float(c) for c in colour)


# --- pins -----------------------------------------------------------------------------------------------------

def pin_positions(head, landmark_vertices) -> np.ndarray:
    """The head's rest (basis) coordinates of its landmark vertices, (68, 3) object space."""
    rest = rest_coordinates(head)
    indices = np.asarray(landmark_vertices, dtype=np.int64)
    if len(indices) != N_LANDMARKS or indices.min() < 0 or indices.max() >= len(rest):
        raise UserError(f"the fit's landmark vertices do not match {head.name}'s {len(rest)} vertices; fit again")
    return rest[indices]


def make_pins(head, landmark_vertices, existing=None) -> bpy.types.Object:
    """The pins: a 68-vertex landmark mesh at the fit's vertices, parented to the head and kept on its
    surface by a Shrinkwrap modifier (moved in Edit Mode, a pin slides over the surface)."""
    positions = pin_positions(head, landmark_vertices)
    if existing is not None:
        existing.data.vertices.foreach_set("co", positions.ravel())
        existing.data.update()
        return existing
    mesh = bpy.data.meshes.new(f"{head.name} pins")
    mesh.from_pydata(positions.tolist(), list(FACE_EDGES), [])
    pins = bpy.data.objects.new(f"{head.name} pins", mesh)
    for collection in head.users_collection:
        collection.objects.link(pins)
    pins.parent = head
    pins.matrix_parent_inverse = Matrix.Identity(4)
    pins.show_in_front = True
    pins.show_wire = True
    snap = pins.modifiers.new("Talking Heads on the head", 'SHRINKWRAP')
    snap.target = head
    snap.wrap_method = 'NEAREST_SURFACEPOINT'
    snap.show_in_editmode = snap.show_on_cage = True
    return pins


def pinned_vertices(context, head, pins) -> list[int]:
    """The head's vertex nearest each pin (as the pins lie on the surface now): the fit's landmarks."""
    depsgraph = context.evaluated_depsgraph_get()
    evaluated = pins.evaluated_get(depsgraph)
    if len(evaluated.data.vertices) != N_LANDMARKS:
        raise UserError(f"{pins.name} has {len(evaluated.data.vertices)} vertices; the pins need exactly "
                        f"{N_LANDMARKS}: press Pins again")
    to_head = np.array(head.matrix_world.inverted() @ evaluated.matrix_world)
    co = np.empty(N_LANDMARKS * 3, dtype=np.float32)
    evaluated.data.vertices.foreach_get("co", co)
    points = co.reshape(-1, 3) @ to_head[:3, :3].T + to_head[:3, 3]
    rest = rest_coordinates(head)
    distances = ((points[:, None, :] - rest[None, :, :]) ** 2).sum(axis=-1)   # (68, V): 2M for a 30k head
    return [int(i) for i in distances.argmin(axis=1)]


def rest_coordinates(obj) -> np.ndarray:
    """A mesh's rest (basis) vertex coordinates, (V, 3) object space."""
    mesh = obj.data
    source = mesh.shape_keys.reference_key.data if mesh.shape_keys else mesh.vertices
    co = np.empty(len(source) * 3, dtype=np.float32)
    source.foreach_get("co", co)
    return co.reshape(-1, 3)


# --- what the bake covers -------------------------------------------------------------------------------------

def weighted_slots(obj, uv_map: str, alpha: np.ndarray) -> set[int]:
    """The material slots of `obj` that the bake wrote to: of its triangles the bake covers
    (`core.head.mesh.baked_triangles`: the unit tile, materials holding a landmark vertex; ICT-FaceKit's eyes
    lie over the face's tile yet keep their own), those whose centre got weight in a UV frame's `alpha`
    (H, W), row 0 at the top (v = 1). Eyes, teeth and the mouth socket keep their materials."""
    arrays = mesh_arrays(obj, uv_map)
    mesh = Mesh(vertices=arrays["vertices"], triangles=arrays["triangles"], uvs=arrays["uvs"],
                materials=arrays["materials"])
    landmarks = obj.get(LANDMARK_VERTICES_PROPERTY)
    baked = baked_triangles(mesh, None if landmarks is None else np.asarray(list(landmarks)))
    centres = arrays["uvs"].mean(axis=1)
    height, width = alpha.shape
    rows = np.floor((1.0 - centres[:, 1]) * height).astype(np.int64)
    columns = np.floor(centres[:, 0] * width).astype(np.int64)
    inside = baked & (rows >= 0) & (rows < height) & (columns >= 0) & (columns < width)
    weighted = np.zeros(len(centres), dtype=bool)
    weighted[inside] = alpha[rows[inside], columns[inside]] > 0
    return {int(s) for s in np.unique(arrays["materials"][weighted])}


def image_alpha(path: str) -> np.ndarray:
    """The alpha (H, W) of the image file at `path`, row 0 at the top (Blender keeps rows bottom-up)."""
    image = bpy.data.images.load(path, check_existing=False)
    try:
        width, height = image.size
        rgba = np.empty(width * height * 4, dtype=np.float32)
        image.pixels.foreach_get(rgba)
    finally:
        bpy.data.images.remove(image)
    return rgba.reshape(height, width, 4)[::-1, :, 3]
