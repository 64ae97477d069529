"""Head from Photo: a head built from the photo itself, whose UVs are the photo's own pixels, so the generated
frames are its texture as they are.

The head lies in the photo camera's frame (OpenCV axes: x right, y down, z forward, the camera at the
origin, K as in `core.head.fit`), in **metres**, scaled so that the outer eye corners are about 9 cm apart
(`EYE_SPAN`). Default focal length: a 50 mm lens on a 36 mm sensor over the photo's longer side.

- **The face** (material "Face"): points over the photo's face region (the landmarks' jaw pushed out a
  little, and an arc over the forehead), a square grid inside (`grid_spacing`: a twentieth of the eye span
  in pixels, 3 to 8 pixels) and the region's rim, Delaunay-triangulated in the image. Every point lies on the
  camera ray through its own pixel, so a vertex projects exactly to the pixel its UV names,
  u = (x + 0.5) / W, v = 1 - (y + 0.5) / H: the round trip is exact by construction. (Inside a triangle a
  renderer interpolates UVs perspective-correctly, which differs from the pixel by under 0.05 pixel over the
  landmarks' hull at this spacing, and by 0.1 to 0.5 pixel at most at the rim, where the head rounds off,
  measured on three portraits: far below what a 30 dB round trip allows.) Its depth: a rounded head (an
  ellipsoid over the region) plus the generic face's relief (`core.landmarks.face3d`, the 68 depths'
  differences from the ellipsoid interpolated by a thin-plate spline), the relief fading out beyond the
  landmarks' hull, so the forehead and the rim are the ellipsoid's.
- **The back** (material "Back"): the ellipsoid's back, rings from the face's rim to a pole behind, so the
  head is closed (every edge in two triangles). Its UVs are the rim's pixels, each ring's vertex taking its
  rim vertex's (hair or skin streaked backwards); the separate slot lets the add-on colour it plainly.
- **The photo's weight** (`Mesh.vertex_weights`): how much of the photo each vertex shows. Where the surface
  turns edge-on to the photo's camera (the head's sides, by the ears and temples) its pixels are the photo's
  background and hair, stretched across the head once it turns: the weight falls there from 1 to 0 (a
  smoothstep of the cosine between the vertex normal and its ray to the camera, `FACING`) and is 0 on the
  back, so the add-on fades those parts to a plain colour (`fade_colour`). It is 1 at every corner of the
  triangles over the landmarks' hull, so the face shows the photo exactly (by the jaw's ends the face itself
  is edge-on: there the weight drops to the facing one within a triangle past the hull).
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ..errors import UserError
from ..progress import Progress, report
from .mesh import Mesh

EYE_SPAN = 0.09           # metres between the outer eye corners (landmarks 36 and 45)
LENS_MM, SENSOR_MM = 50.0, 36.0
JAW_OUT = 1.08            # the region: the jaw pushed out from the face's centre by this factor
FOREHEAD = 0.55           # ... and the forehead's arc above the brows, as a share of brows-to-chin
HEAD_DEPTH = 1.2          # the ellipsoid's semi-axis along the view, in eye spans (a head is ~2.3 deep)
RELIEF_FADE = 0.3         # the face's relief fades to the ellipsoid over this distance past the hull, eye spans
MIN_TURN = 2e-3           # the rim turns at every point by at least this (radians): no three points in a line
BACK_RINGS = 12           # rings of the back shell between the rim and the pole
FACING = (0.25, 0.55)     # the photo's weight: 0 below this cosine to the camera, 1 above (by the renders)


def default_focal(image_size: tuple[int, int]) -> float:
    """The focal length (pixels) of a 50 mm lens on a 36 mm sensor spanning the photo's longer side."""
    return LENS_MM / SENSOR_MM * max(image_size)


def camera_matrix(focal: float, image_size: tuple[int, int]) -> np.ndarray:
    w, h = image_size
    return np.array([[focal, 0, w / 2 - 0.5], [0, focal, h / 2 - 0.5], [0, 0, 1]])


def grid_spacing(points: np.ndarray) -> float:
    """The face grid's spacing in pixels: a twentieth of the eye span, 3 to 8 pixels."""
    return float(np.clip(np.linalg.norm(points[45] - points[36]) / 20, 3.0, 8.0))


def head_from_photo(points: np.ndarray, image_size: tuple[int, int], focal: float | None = None) -> Mesh:
    """The head for a photo of `image_size` (width, height) whose 68 landmarks are `points` (pixels)."""
    from scipy.interpolate import RBFInterpolator

    from ..landmarks.face3d import lift

    points = np.asarray(points, np.float64)[:, :2]
    if points.shape != (68, 2) or not np.isfinite(points).all():
        raise UserError(f"Head from Photo needs the 68 landmarks as (68, 2) pixels, not {points.shape}")
    w, h = (int(v) for v in image_size)
    f = float(focal) if focal else default_focal((w, h))
    if not f > 0:
        raise UserError(f"the focal length must be a positive number of pixels, not {focal}")
    span_px = float(np.linalg.norm(points[45] - points[36]))
    if span_px < 8:
        raise UserError("the landmarks' eyes are under 8 pixels apart; use a photo with a larger face")
    cx, cy = w / 2 - 0.5, h / 2 - 0.5

    # depth: the face's centre at the distance where the eye span is EYE_SPAN; landmarks at the generic
    # face's depths (lift: in pixels of this face) converted to metres at that distance
    lifted = lift(points).astype(np.float64)
    metres_per_px = EYE_SPAN / span_px
    z0 = f * metres_per_px
    landmark_z = z0 + lifted[:, 2] * metres_per_px

    spacing = grid_spacing(points)
    rim = _region_rim(points, spacing)
    pixels = np.vstack([rim, _grid_inside(rim, spacing)])
    triangles = _triangulate(pixels, len(rim))

    # the rounded head: an ellipsoid whose outline (at the face's distance) holds the region's rim
    def metric(p):           # pixels -> (X, Y) at depth z0
        return np.column_stack([(p[:, 0] - cx) * z0 / f, (p[:, 1] - cy) * z0 / f])

    rim_xy = metric(rim)
    centre_xy = (rim_xy.max(0) + rim_xy.min(0)) / 2
    half = (rim_xy.max(0) - rim_xy.min(0)) / 2 * 1.02
    depth_axis = HEAD_DEPTH * EYE_SPAN

    def cap(p):              # the ellipsoid's front depth over pixels p (its equator outside the outline)
        q = np.sum(np.square((metric(p) - centre_xy) / half), axis=1)
        return -depth_axis * np.sqrt(np.clip(1 - q, 0, 1))

    centre_z = float(np.median(landmark_z - cap(points)))
    relief = RBFInterpolator(points / span_px, landmark_z - centre_z - cap(points), kernel="thin_plate_spline",
                             smoothing=1e-3)
    fade = _fade(points, pixels, RELIEF_FADE * span_px)
    z = centre_z + cap(pixels) + fade * relief(pixels / span_px)
    face = np.column_stack([(pixels[:, 0] - cx) * z / f, (pixels[:, 1] - cy) * z / f, z])
    face_uvs = np.column_stack([(pixels[:, 0] + 0.5) / w, 1 - (pixels[:, 1] + 0.5) / h])

    centre = np.array([*centre_xy, centre_z])
    radii = np.array([*half, depth_axis])
    back, back_triangles, back_rim = _back_shell(face[:len(rim)], centre, radii, len(face))
    vertices = np.vstack([face, back])
    all_triangles = np.vstack([triangles, back_triangles])
    corner_uv = np.vstack([face_uvs, face_uvs[back_rim]])       # a back vertex: its rim vertex's pixel
    all_triangles = _outward(vertices, all_triangles, centre, len(triangles))
    materials = np.r_[np.zeros(len(triangles), np.int32), np.ones(len(back_triangles), np.int32)]
    held = _over_hull(points, pixels, triangles)
    return Mesh(vertices=vertices, triangles=all_triangles.astype(np.int32),
                uvs=corner_uv[all_triangles].astype(np.float32), materials=materials,
                material_names=("Face", "Back"), uv_map="UVMap", uv_maps=("UVMap",),
                vertex_weights=_photo_weights(vertices, all_triangles, held))


def head_from_photo_file(photo: str | os.PathLike, out: str | os.PathLike, reference_points=None,
                         focal: float | None = None, progress: Progress | None = None) -> tuple[str, float]:
    """Build the head of `photo` and write it to `out` (.npz, `Mesh.save_npz`): (its path, the focal length).
    `reference_points`: the photo's 68 landmarks (pixels); None: detected (dlib)."""
    from ..images import load_image

    out = Path(out)
    if out.suffix.lower() != ".npz":
        raise UserError(f"the head is written as a .npz mesh; name the output {out.with_suffix('.npz').name}")
    if not out.parent.is_dir():
        raise UserError(f"{out.parent} is not a folder; create it or choose another output path")
    image = load_image(photo)
    h, w = image.shape[:2]
    report(progress, 0, 2, "head from photo: landmarks")
    if reference_points is None:
        from ..landmarks.detect import detect_landmarks

        points = detect_landmarks(image, backend="dlib").points
    else:
        points = np.asarray(reference_points, np.float64)
    f = float(focal) if focal else default_focal((w, h))
    report(progress, 1, 2, "head from photo: the mesh")
    mesh = head_from_photo(points, (w, h), f)
    mesh.save_npz(out)
    report(progress, 2, 2, "head from photo: written")
    return str(out), f


# --- the face's region and grid ----------------------------------------------------------------------------------

def _region_rim(points: np.ndarray, spacing: float) -> np.ndarray:
    """(R, 2) pixels around the face region, in order, about `spacing` apart, strictly convex (no three in a
    line, so the triangulation's outline is exactly this rim)."""
    import cv2

    centre = points[27:48].mean(0)
    jaw = centre + (points[:17] - centre) * JAW_OUT
    up = points[27] - points[8]
    up /= np.linalg.norm(up)
    lift_px = FOREHEAD * np.linalg.norm(points[19:25].mean(0) - points[8])
    brows = points[17:27]
    arc = brows + up * lift_px * np.sqrt(np.clip(1 - np.square(np.linspace(-0.9, 0.9, 10)), 0, 1))[:, None]
    hull = cv2.convexHull(np.vstack([jaw, brows, arc]).astype(np.float32))[:, 0].astype(np.float64)
    # walk the hull at even steps, each point pushed outwards a little from its straight edge (a shallow arc)
    edges = np.roll(hull, -1, axis=0) - hull
    lengths = np.linalg.norm(edges, axis=1)
    rim = []
    for start, edge, length in zip(hull, edges, lengths):
        n = max(int(np.ceil(length / spacing)), 1)
        s = np.arange(n) / n
        outward = np.array([edge[1], -edge[0]]) / length      # the hull from cv2 runs clockwise in the image
        if np.dot(outward, start - hull.mean(0)) < 0:
            outward = -outward
        rim.append(start + s[:, None] * edge + (0.1 * length * s * (1 - s))[:, None] * outward)
    rim = np.vstack(rim)
    # where two arcs meet at a hull corner that turns less than their ends do, a point dents inwards: drop
    # such points until every one turns the same way by a clear angle (MIN_TURN)
    while True:
        before, after = rim - np.roll(rim, 1, axis=0), np.roll(rim, -1, axis=0) - rim
        cross = before[:, 0] * after[:, 1] - before[:, 1] * after[:, 0]   # (np.cross of 2-D vectors: gone in numpy 2)
        turn = cross / (np.linalg.norm(before, axis=1) * np.linalg.norm(after, axis=1))
        turn *= np.sign(np.median(turn))
        if turn.min() > MIN_TURN:
            return rim
        rim = rim[turn > turn.min()] if (turn > MIN_TURN).any() else rim[::2]


def _grid_inside(rim: np.ndarray, spacing: float) -> np.ndarray:
    """The square grid's points inside the rim, at least half a spacing from it."""
    import cv2

    lo, hi = rim.min(0), rim.max(0)
    xs = np.arange(lo[0] + spacing / 2, hi[0], spacing)
    ys = np.arange(lo[1] + spacing / 2, hi[1], spacing)
    grid = np.stack(np.meshgrid(xs, ys), axis=-1).reshape(-1, 2)
    contour = rim.astype(np.float32).reshape(-1, 1, 2)
    inside = np.array([cv2.pointPolygonTest(contour, (float(x), float(y)), True) for x, y in grid])
    return grid[inside > spacing / 2]


def _triangulate(pixels: np.ndarray, rim_count: int) -> np.ndarray:
    from scipy.spatial import Delaunay

    tri = Delaunay(pixels)
    if len(tri.coplanar):
        raise UserError("the face region's points could not be triangulated; try a larger photo of the face")
    simplices = tri.simplices
    a, b, c = (pixels[simplices[:, k]] for k in range(3))
    area = (b[:, 0] - a[:, 0]) * (c[:, 1] - a[:, 1]) - (b[:, 1] - a[:, 1]) * (c[:, 0] - a[:, 0])
    return simplices[np.abs(area) > 1e-6]


def _fade(points: np.ndarray, pixels: np.ndarray, width: float) -> np.ndarray:
    """1 inside the landmarks' hull, falling smoothly to 0 at `width` pixels outside it."""
    import cv2

    hull = cv2.convexHull(points.astype(np.float32))
    outside = np.array([-cv2.pointPolygonTest(hull, (float(x), float(y)), True) for x, y in pixels])
    return _smoothstep(1 - outside / width)


def _smoothstep(t: np.ndarray) -> np.ndarray:
    t = np.clip(t, 0, 1)
    return t * t * (3 - 2 * t)


# --- the photo's weight ------------------------------------------------------------------------------------------

def _over_hull(points: np.ndarray, pixels: np.ndarray, triangles: np.ndarray) -> np.ndarray:
    """(len(pixels),) bool: the face's vertices that are corners of a triangle over the landmarks' hull."""
    import cv2

    hull = cv2.convexHull(points.astype(np.float32))
    corners = pixels[triangles].astype(np.float32)
    over = [cv2.intersectConvexConvex(corner, hull)[0] > 0 for corner in corners]
    held = np.zeros(len(pixels), bool)
    held[triangles[np.array(over, bool)]] = True
    return held


def _photo_weights(vertices: np.ndarray, triangles: np.ndarray, held: np.ndarray) -> np.ndarray:
    """(V,) float32: the photo's weight per vertex (see the module's description); the face's vertices are
    the first len(`held`), 1 where `held`, the back's the rest (0)."""
    from .mesh import vertex_normals

    to_camera = -vertices / np.linalg.norm(vertices, axis=1, keepdims=True)    # the camera at the origin
    cosine = np.einsum("ij,ij->i", vertex_normals(vertices, triangles), to_camera)
    low, high = FACING
    weights = np.zeros(len(vertices))
    face = len(held)
    weights[:face] = np.maximum(_smoothstep((cosine[:face] - low) / (high - low)), held)
    return weights.astype(np.float32)


def fade_colour(photo: np.ndarray, mesh: Mesh) -> np.ndarray:
    """(C,) the plain colour a Head from Photo head fades to where the photo's weight falls: the photo's
    median where it fades (the face's vertices of weight between 0 and 1: the skin and hair at the region's
    sides), so the fade changes no colour abruptly. `photo` (H, W, C), row 0 at the top."""
    h, w = photo.shape[:2]
    fading = (mesh.vertex_weights > 0) & (mesh.vertex_weights < 1)
    uvs = np.zeros((len(mesh.vertices), 2))
    uvs[mesh.triangles.ravel()] = mesh.uvs.reshape(-1, 2)
    if not fading.any():
        fading = np.ones(len(uvs), bool)
    columns = np.clip(np.rint(uvs[fading, 0] * w - 0.5), 0, w - 1).astype(np.int64)
    rows = np.clip(np.rint((1 - uvs[fading, 1]) * h - 0.5), 0, h - 1).astype(np.int64)
    return np.median(photo[rows, columns], axis=0)


# --- the back ------------------------------------------------------------------------------------------------------

def _back_shell(rim: np.ndarray, centre: np.ndarray, radii: np.ndarray, first: int):
    """Rings over the ellipsoid's back from the rim (R, 3) to a pole: (vertices, triangles with indices from
    `first`, the rim vertex each new vertex takes its UV from, indexed as the whole mesh's vertices)."""
    unit = (rim - centre) / radii
    size = np.linalg.norm(unit, axis=1, keepdims=True)
    direction = unit / size
    pole = np.array([0.0, 0.0, 1.0])
    angle = np.arccos(np.clip(direction @ pole, -1, 1))[:, None]
    rings = []
    for t in np.arange(1, BACK_RINGS + 1) / (BACK_RINGS + 1):
        # along the great circle from each rim direction to the pole, the radius easing from the rim's to 1
        turned = (np.sin((1 - t) * angle) * direction + np.sin(t * angle) * pole) / np.sin(angle)
        rings.append(centre + radii * turned * ((1 - t) * size + t))
    r = len(rim)
    vertices = np.vstack(rings + [centre + radii * pole])
    ring_index = lambda k: (np.arange(r) if k == 0 else first + (k - 1) * r + np.arange(r))   # noqa: E731
    triangles = []
    for k in range(BACK_RINGS):
        a, b = ring_index(k), ring_index(k + 1)
        a1, b1 = np.roll(a, -1), np.roll(b, -1)
        triangles += [np.column_stack([a, a1, b1]), np.column_stack([a, b1, b])]
    last, pole_index = ring_index(BACK_RINGS), first + BACK_RINGS * r
    triangles.append(np.column_stack([last, np.roll(last, -1), np.full(r, pole_index)]))
    source = np.r_[np.tile(np.arange(r), BACK_RINGS), np.argmin(angle[:, 0])]
    return vertices, np.vstack(triangles), source


def _outward(vertices: np.ndarray, triangles: np.ndarray, centre: np.ndarray, face_count: int) -> np.ndarray:
    """Triangles wound so that their normals point out of the head: the face's first `face_count` towards the
    camera (each faces it: it is its own pixels seen along their rays), the back's away from the centre."""
    a, b, c = (vertices[triangles[:, k]] for k in range(3))
    normal = np.cross(b - a, c - a)
    towards = (a + b + c) / 3 - centre
    towards[:face_count] = -(a + b + c)[:face_count]             # from the triangle to the camera
    inward = np.einsum("ij,ij->i", normal, towards) < 0
    out = triangles.copy()
    out[inward] = out[inward][:, [0, 2, 1]]
    return out
