"""The mesh's 68 landmark vertices, guessed: the mesh rendered shaded from each axis direction, the face
detected on the renders (dlib, which works offline), and each landmark of the best view cast onto the
visible surface and snapped to the nearest vertex of the face's own material.

Heads come in two habits: Blender's look along -Y with Z up, OBJ and glTF heads along +Z with Y up. The
views below cover both, and a head lying on its side (along X with either up); the view whose detected face
is largest, with most of its points on the mesh, wins; a clear face (all but a few points on the mesh, a
quarter of the render across) ends the search early (a view without a face costs about 0.3 s).
"""
from __future__ import annotations

import numpy as np

from ..errors import UserError
from .mesh import Mesh, vertex_normals
from .raster import Raster, interpolate, rasterize

RENDER_SIDE = 640
CLEAR_FACE = (0.95, 0.25)   # share of the points on the mesh, and the face box's side as a share of the render
# (view direction, up): the camera looks along the direction, so it sees the side facing against it
VIEWS = (((0, 0, -1), (0, 1, 0)), ((0, 1, 0), (0, 0, 1)), ((0, 0, 1), (0, 1, 0)), ((0, -1, 0), (0, 0, 1)),
         ((1, 0, 0), (0, 1, 0)), ((-1, 0, 0), (0, 1, 0)), ((1, 0, 0), (0, 0, 1)), ((-1, 0, 0), (0, 0, 1)))
NOT_FOUND = ("the head's face could not be found on renders of the mesh; place the 68 pins by hand "
             "(Head > Pins) or give --landmarks")


def view_rotation(direction, up) -> np.ndarray:
    """The rotation from object space to an OpenCV camera looking along `direction` with `up` upwards."""
    forward = np.asarray(direction, dtype=np.float64)
    forward = forward / np.linalg.norm(forward)
    down = -(np.asarray(up, dtype=np.float64) - forward * np.dot(up, forward))
    down = down / np.linalg.norm(down)
    return np.stack([np.cross(down, forward), down, forward])


def render(mesh: Mesh, rotation: np.ndarray, side: int = RENDER_SIDE) -> tuple[np.ndarray, Raster, np.ndarray]:
    """The mesh seen through an orthographic camera with `rotation`, framed to fit `side` x `side`, shaded
    with a light at the camera (Lambert). Returns (RGB image, the raster, vertex pixel positions (V, 2))."""
    camera = mesh.vertices @ rotation.T
    low, high = camera[:, :2].min(0), camera[:, :2].max(0)
    scale = 0.9 * side / max(float((high - low).max()), 1e-12)
    pixels = (camera[:, :2] - (low + high) / 2) * scale + (side - 1) / 2
    depth = camera[:, 2] - camera[:, 2].min() + 1.0
    raster = rasterize(pixels[mesh.triangles], (side, side), depth[mesh.triangles])
    normals = vertex_normals(mesh.vertices, mesh.triangles) @ rotation.T
    normal = interpolate(raster, mesh.triangles, normals)
    # both sides lit: a mesh with its normals inwards renders the same
    light = np.abs(normal[:, 2]) / np.maximum(np.linalg.norm(normal, axis=1), 1e-12)
    image = np.zeros(side * side, dtype=np.uint8)
    image[raster.covered] = np.round(40 + 200 * light).astype(np.uint8)
    return np.repeat(image.reshape(side, side, 1), 3, axis=2), raster, pixels


def guess_landmark_vertices(mesh: Mesh) -> np.ndarray:
    """(68,) the mesh's vertex for each iBUG-68 landmark, from the render whose detected face is best."""
    from ..landmarks.detect import detect_landmarks

    best, best_score = None, 0.0
    for direction, up in VIEWS:
        image, raster, pixels = render(mesh, view_rotation(direction, up))
        try:
            found = detect_landmarks(image, backend="dlib")
        except UserError:
            continue
        column = np.clip(np.round(found.points[:, 0]).astype(int), 0, RENDER_SIDE - 1)
        row = np.clip(np.round(found.points[:, 1]).astype(int), 0, RENDER_SIDE - 1)
        on_mesh = (raster.triangle[row, column] >= 0).mean()
        x0, y0, x1, y1 = found.box
        score = (x1 - x0) * (y1 - y0) * on_mesh
        if score > best_score:
            best, best_score = (found.points, raster), score
        if on_mesh >= CLEAR_FACE[0] and min(x1 - x0, y1 - y0) >= CLEAR_FACE[1] * RENDER_SIDE:
            break
    if best is None:
        raise UserError(NOT_FOUND)
    return cast_onto_mesh(mesh, *best)


def cast_onto_mesh(mesh: Mesh, points: np.ndarray, raster: Raster) -> np.ndarray:
    """Each 2D point on the render -> the visible surface point under it (the nearest covered pixel where it
    misses the mesh) -> the nearest vertex of the material most points fall on (the skin: a point on the
    lashes or an eyeball is taken to the lid's skin)."""
    from scipy.spatial import cKDTree

    rows, columns = raster.rows_columns()
    where = np.stack([columns, rows], axis=1).astype(np.float64)
    nearest = cKDTree(where).query(np.asarray(points, dtype=np.float64))[1]
    pixel = raster.covered[nearest]
    triangle = raster.triangle.reshape(-1)[pixel]
    skin = np.bincount(mesh.materials[triangle]).argmax()
    # the surface point under each landmark: its barycentrics on its triangle
    order = np.searchsorted(raster.covered, pixel)
    bary = raster.bary[order].astype(np.float64)
    surface = np.einsum("nk,nkd->nd", bary, mesh.vertices[mesh.triangles[triangle]])
    candidates = np.unique(mesh.triangles[mesh.materials == skin])
    return candidates[cKDTree(mesh.vertices[candidates]).query(surface)[1]].astype(np.int64)
