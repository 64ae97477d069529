"""Where the photo's face lies on the mesh: the contract (used by bake.py, the worker and the add-on) is
`HeadFit` below and `fit_head(...)`; `fit_head_files(...)` is the worker's and the command line's path.

Texel convention: texel (row r, column c) of a `size` x `size` map is UV (u, v) = ((c + 0.5) / size,
1 - (r + 0.5) / size): row 0 is the top of the image file, v = 1, as Blender shows a PNG on a UV map.
Camera convention (OpenCV): x right, y down, z forward; a vertex X (object space) lands on the photo at
pixel K (R X + t), K = [[f, 0, w/2 - 0.5], [0, f, h/2 - 0.5], [0, 0, 1]] (pixel centres at integers).

The fit, in four steps:
1. the mesh's 68 landmark vertices: given, or guessed (`landmark_guess.py`: the mesh rendered, its face
   detected, the points cast onto it);
2. the photo's camera: pose and focal length from the 68 vertex-to-landmark pairs (`fit_camera`);
3. a smooth correction: a thin-plate spline in the photo's plane that moves each projected landmark vertex
   onto the photo's landmark (the mesh's shape is not the photo's person's), applied to every vertex;
4. the texel map: for each texel of the baked triangles (`mesh.baked_triangles`: the unit UV tile, the
   materials that hold a landmark vertex), the corrected photo pixel it shows, and a weight: facing the
   camera, not hidden, inside the photo's face (landmark hull and forehead, edges soft).
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import UserError
from ..landmarks.groups import BROWS, JAW, NOSE_BASE
from ..progress import Progress, report
from .mesh import Mesh, baked_triangles, load_mesh, mesh_warnings, vertex_normals
from .raster import interpolate, rasterize, uv_pixels

FACING = (0.1, 0.4)        # cosine between the surface and the view: weight 0 below, 1 above (smoothstep)
FEATHER = 0.06             # the face region's soft edge, as a share of the face's width
VISIBILITY_SIDE = 1024     # the visibility test's raster: the photo at most this long
DEPTH_TOLERANCE = 0.01     # of the landmarks' 3D extent: nearer than the depth buffer by this is still seen
# the thin-plate smoothing, in face widths: keeps near-coincident landmarks stable; a landmark moved 6 px at
# random still lands within 0.07 px of the photo's (1e-3 left it 2.7 px off)
SMOOTHING = 1e-5
TYPICAL_DISTANCE = 6.0     # a portrait's camera, in face sizes (the landmarks' extent): about a metre away
FOCAL_SLACK = (0.1, 0.02)  # focal lengths whose RMS error is within 10 % + 0.02 px of the best are as good
WORST_FIT = 0.08           # a camera whose RMS error passes this share of the face's size is no fit
SIZES = (64, 8192)


@dataclass
class HeadFit:
    size: int                       # the UV map's side, texels
    texel_pixels: np.ndarray        # (size, size, 2) float32: the photo pixel (x, y) each texel shows
    weight: np.ndarray              # (size, size) float32 in [0, 1]: 0 off the baked surface, facing away, hidden
    landmark_vertices: np.ndarray   # (68,) int: the mesh's vertex for each landmark, iBUG order
    rotation: np.ndarray            # (3, 3) object -> camera
    translation: np.ndarray         # (3,)
    focal: float                    # pixels
    image_size: tuple[int, int]     # the photo's (width, height)
    landmark_source: str = "given"  # "given", "guessed" (render + detect) or "pins"
    warnings: list[str] = field(default_factory=list)

    def save(self, path: str | os.PathLike) -> Path:
        """The fit as a .npz of its fields by name (`bake.load_fit` reads it), written atomically.
        Uncompressed: a 2048 map is 50 MB, written in 0.1 s here against 2.5 s through zlib for 29 MB."""
        from ..atomic import atomic_path

        with atomic_path(path) as tmp:
            with open(tmp, "xb") as f:
                np.savez(f, size=self.size, texel_pixels=self.texel_pixels, weight=self.weight,
                         landmark_vertices=self.landmark_vertices, rotation=self.rotation,
                         translation=self.translation, focal=self.focal, image_size=np.array(self.image_size),
                         landmark_source=np.array(self.landmark_source),
                         warnings=np.array(self.warnings, dtype=str))
        return Path(path)

    def projection(self, vertices: np.ndarray) -> np.ndarray:
        """(V, 2) where the camera (before the correction) puts `vertices` (V, 3) on the photo."""
        return project(vertices, self.rotation, self.translation, self.focal, self.image_size)


def landmark_vertex_list(data, name: str = "the landmark vertices") -> np.ndarray:
    """68 vertex indices from loaded JSON: a list of 68, or ICT-FaceKit's vertex_indices.json (a dict with
    `idx_to_landmark_verts`)."""
    if isinstance(data, dict):
        for key in ("idx_to_landmark_verts", "landmark_vertices"):
            if key in data:
                data = data[key]
                break
        else:
            raise UserError(f"{name}: no list of 68 vertex indices (a JSON list, or `idx_to_landmark_verts`)")
    try:
        indices = np.asarray(data, dtype=np.float64)
    except (TypeError, ValueError):
        indices = np.empty(0)
    if indices.shape != (68,) or not np.isfinite(indices).all() or (indices != np.round(indices)).any():
        raise UserError(f"{name}: expected 68 vertex indices in iBUG-68 order, got "
                        f"{np.asarray(data, dtype=object).shape if isinstance(data, list) else type(data).__name__}")
    return indices.astype(np.int64)


def intrinsics(focal: float, image_size: tuple[int, int]) -> np.ndarray:
    w, h = image_size
    return np.array([[focal, 0, w / 2 - 0.5], [0, focal, h / 2 - 0.5], [0, 0, 1]], dtype=np.float64)


def project(vertices: np.ndarray, rotation: np.ndarray, translation: np.ndarray, focal: float,
            image_size: tuple[int, int]) -> np.ndarray:
    camera = vertices @ np.asarray(rotation).T + translation
    pixels = camera @ intrinsics(focal, image_size).T
    return pixels[:, :2] / pixels[:, 2:3]


def fit_camera(points3d: np.ndarray, points2d: np.ndarray, image_size: tuple[int, int]
               ) -> tuple[np.ndarray, np.ndarray, float, float]:
    """The pose (R, t) and focal length that project `points3d` (N, 3) onto `points2d` (N, 2). Returns (R, t,
    focal, RMS error in pixels).

    For each focal length a PnP solve (SQPnP, then Levenberg-Marquardt); the best focal by a log-spaced
    search and a golden section. On a real photo the mesh is not the person's face and the error hardly
    changes with the focal length beyond about twice the photo's side (5 portraits with the ICT head: from
    2 to 20 times the side it falls by 0.5 to 2.5 px, of 4 to 23 px), so among the focal lengths whose
    error stays within `FOCAL_SLACK` of the best, the one nearest a camera `TYPICAL_DISTANCE` face sizes
    away is taken; exact pairs keep their own.
    All 68 points are used: without the jaw's outline (which a turned face shows as its silhouette, not as
    fixed vertices) the turn came out worse on renders of the ICT head (0.9 against 3.9 degrees off at 0
    degrees, 2.9 against 7.6 at 30; benchmarks/head_fit_speed.py)."""
    import cv2

    objects = np.ascontiguousarray(points3d, dtype=np.float64)
    images = np.ascontiguousarray(points2d, dtype=np.float64)

    def solve(log_focal: float):
        k = intrinsics(float(np.exp(log_focal)), image_size)
        ok, rvec, tvec = cv2.solvePnP(objects, images, k, None, flags=cv2.SOLVEPNP_SQPNP)
        if not ok:
            return np.inf, None, None
        rvec, tvec = cv2.solvePnPRefineLM(objects, images, k, None, rvec, tvec)
        projected, _ = cv2.projectPoints(objects, rvec, tvec, k, None)
        depth = (objects @ cv2.Rodrigues(rvec)[0].T + tvec.reshape(3))[:, 2]
        if (depth <= 0).any():
            return np.inf, None, None
        return float(np.sqrt(((projected.reshape(-1, 2) - images) ** 2).sum(1).mean())), rvec, tvec

    def error(log_focal: float) -> float:
        return solve(log_focal)[0]

    logs = np.log(float(max(image_size))) + np.linspace(np.log(0.25), np.log(20.0), 25)
    errors = [error(x) for x in logs]
    best = int(np.argmin(errors))
    low, high = logs[max(best - 1, 0)], logs[min(best + 1, len(logs) - 1)]
    golden = (np.sqrt(5) - 1) / 2
    a, b = high - golden * (high - low), low + golden * (high - low)
    fa, fb = error(a), error(b)
    for _ in range(20):
        if fa < fb:
            high, b, fb = b, a, fa
            a = high - golden * (high - low)
            fa = error(a)
        else:
            low, a, fa = a, b, fb
            b = low + golden * (high - low)
            fb = error(b)
    chosen = (low + high) / 2
    least = error(chosen)
    if not np.isfinite(least):
        raise UserError("the photo's camera could not be found from the 68 landmark pairs; check that the "
                        "landmark vertices are in iBUG-68 order")
    # the typical camera: TYPICAL_DISTANCE face sizes away sees the face this many pixels across
    face_px = float(np.linalg.norm(images.max(0) - images.min(0)))
    typical = float(np.log(TYPICAL_DISTANCE * face_px))
    allowed = least * (1 + FOCAL_SLACK[0]) + FOCAL_SLACK[1]
    if error(typical) <= allowed:
        chosen = typical
    else:   # the acceptable focal nearest the typical one: where the error crosses the bound
        inside, outside = chosen, typical
        for _ in range(20):
            middle = (inside + outside) / 2
            inside, outside = (middle, outside) if error(middle) <= allowed else (inside, middle)
        chosen = inside
    rms, rvec, tvec = solve(chosen)
    return cv2.Rodrigues(rvec)[0], tvec.reshape(3), float(np.exp(chosen)), rms


def face_region(points: np.ndarray, shape: tuple[int, int], scale: float = 1.0) -> np.ndarray:
    """(H, W) float32 in [0, 1] at `scale` x the photo's pixels: the landmarks' hull with the forehead
    (the brows raised by 0.8 x the brows-to-nose-base height, short of the hair), 1 inside and falling to 0 over
    its edge's last FEATHER x the face's width."""
    import cv2

    points = np.asarray(points, dtype=np.float64) * scale
    brows = points[BROWS]
    up = brows.mean(0) - points[NOSE_BASE].mean(0)
    outline = np.concatenate([points[JAW], brows + 0.8 * up, brows])
    hull = cv2.convexHull(np.round(outline * 16).astype(np.int32))
    mask = np.zeros(shape, np.uint8)
    cv2.fillConvexPoly(mask, hull, 255, cv2.LINE_8, 4)
    inside = cv2.distanceTransform(mask, cv2.DIST_L2, 5)
    width = np.linalg.norm(points[JAW[-1]] - points[JAW[0]])
    return _smoothstep(0.0, max(FEATHER * width, 1.0), inside)


def fit_head(photo_points: np.ndarray, image_size: tuple[int, int], mesh: Mesh,
             landmark_vertices: np.ndarray | None = None, size: int = 2048, progress: Progress | None = None,
             photo: np.ndarray | None = None) -> HeadFit:
    """Where the photo's face (its 68 landmarks `photo_points`, pixels of a photo of `image_size` (w, h))
    lies on `mesh`, as a `size` x `size` texel map. `landmark_vertices` (68,): the mesh's vertex per landmark;
    None guesses them (about 3 s). `photo`, where given, must have `image_size` (a check that the landmarks
    belong to it)."""
    points = np.asarray(photo_points, dtype=np.float64)
    width, height = (int(v) for v in image_size)
    if points.shape != (68, 2) or not np.isfinite(points).all():
        raise UserError(f"the photo's landmarks must be 68 (x, y) points, got an array of shape {points.shape}")
    if photo is not None and tuple(photo.shape[1::-1]) != (width, height):
        raise UserError(f"the photo is {photo.shape[1]}x{photo.shape[0]} but its landmarks are for "
                        f"{width}x{height}; detect them on this photo again")
    if not SIZES[0] <= size <= SIZES[1]:
        raise UserError(f"the UV map's size must be {SIZES[0]} to {SIZES[1]} texels, not {size}")
    total = 5
    source = "given"
    if landmark_vertices is None:
        from .landmark_guess import guess_landmark_vertices

        report(progress, 0, total, "fit: finding the face on the mesh")
        landmark_vertices = guess_landmark_vertices(mesh)
        source = "guessed"
    landmark_vertices = np.asarray(landmark_vertices, dtype=np.int64)
    if landmark_vertices.shape != (68,) or landmark_vertices.min() < 0 \
            or landmark_vertices.max() >= len(mesh.vertices):
        raise UserError(f"the landmark vertices must be 68 indices of the mesh's {len(mesh.vertices)} vertices; "
                        f"check that they belong to this mesh")
    baked = baked_triangles(mesh, landmark_vertices)
    if not baked.any():
        raise UserError("no face holding a landmark vertex has UVs in the 0-1 tile; unwrap the face into it "
                        "(UV > Smart UV Project) and fit again")
    warnings = mesh_warnings(mesh, baked)

    report(progress, 1, total, "fit: the photo's camera")
    anchors = mesh.vertices[landmark_vertices]
    rotation, translation, focal, error = fit_camera(anchors, points, (width, height))
    face_size = float(np.linalg.norm(points.max(0) - points.min(0)))
    if error > WORST_FIT * face_size:
        raise UserError(f"the mesh's landmark vertices do not match the photo's face (error {error:.0f} px "
                        f"over a face {face_size:.0f} px across); check their order (iBUG 68) or place the "
                        f"68 pins by hand (Head > Pins)")

    report(progress, 2, total, "fit: the smooth correction")
    camera = mesh.vertices @ rotation.T + translation
    projected = project(mesh.vertices, rotation, translation, focal, (width, height))
    corrected = projected + _correction(projected[landmark_vertices], points)(projected)

    report(progress, 3, total, "fit: what the photo's camera sees")
    normals = vertex_normals(mesh.vertices, mesh.triangles) @ rotation.T
    if np.einsum("ij,ij->i", normals[landmark_vertices], -camera[landmark_vertices]).mean() < 0:
        normals = -normals
        warnings.append("the mesh's normals point inwards (taken the other way); recalculate them outside "
                        "(Mesh > Normals > Recalculate Outside)")
    scale = min(1.0, VISIBILITY_SIDE / max(width, height))
    shape = (max(1, round(height * scale)), max(1, round(width * scale)))
    faces = mesh.triangles[baked]
    view = rasterize(corrected[faces] * scale, shape, camera[:, 2][faces])
    depth = np.full(shape, np.inf, dtype=np.float32)
    depth.reshape(-1)[view.covered] = interpolate(view, faces, camera[:, 2])
    depth = _farthest_neighbour(depth)
    region = face_region(points, shape, scale)

    report(progress, 4, total, "fit: the texel map")
    uv = rasterize(uv_pixels(mesh.uvs[baked], size), (size, size))
    texel = interpolate(uv, faces, np.concatenate([corrected, camera, normals], axis=1))
    pixels, point, normal = texel[:, :2], texel[:, 2:5], texel[:, 5:]
    cosine = -np.einsum("ij,ij->i", normal, point) / np.maximum(
        np.linalg.norm(normal, axis=1) * np.linalg.norm(point, axis=1), 1e-20)
    column = np.round(pixels[:, 0] * scale).astype(np.int64)
    row = np.round(pixels[:, 1] * scale).astype(np.int64)
    inside = (column >= 0) & (column < shape[1]) & (row >= 0) & (row < shape[0])
    column, row = np.clip(column, 0, shape[1] - 1), np.clip(row, 0, shape[0] - 1)
    extent = float(np.linalg.norm(anchors.max(0) - anchors.min(0)))
    seen = point[:, 2] <= depth[row, column] + DEPTH_TOLERANCE * extent
    weight = _smoothstep(*FACING, cosine) * seen * inside * region[row, column]

    texel_pixels = np.full((size * size, 2), -1.0, dtype=np.float32)
    texel_pixels[uv.covered] = pixels
    weights = np.zeros(size * size, dtype=np.float32)
    weights[uv.covered] = weight
    report(progress, 5, total, "fit: done")
    return HeadFit(size, texel_pixels.reshape(size, size, 2), weights.reshape(size, size), landmark_vertices,
                   rotation, translation, focal, (width, height), source, warnings)


def fit_head_files(photo, mesh, out, landmarks=None, reference_points=None, size: int = 2048,
                   progress: Progress | None = None) -> dict:
    """Fit the photo at `photo` onto the mesh file `mesh`; write the fit (.npz) at `out` and an overlay PNG
    beside it (`<out>_overlay.png`, `fit_overlay`). `landmarks`: 68 vertex indices (None: guessed);
    `reference_points`: the photo's 68 landmarks (None: detected). Returns FitHeadResult's fields."""
    from ..images import load_image, write_png

    out = Path(out)
    if out.suffix.lower() != ".npz":
        raise UserError(f"the fit file must end in .npz, not {out.name}")
    image = load_image(photo)
    head = load_mesh(mesh)
    if reference_points is None:
        from ..landmarks.detect import detect_landmarks

        points = detect_landmarks(image).points
    else:
        points = np.asarray(reference_points, dtype=np.float64)
    vertices = None if landmarks is None else landmark_vertex_list(landmarks)
    fit = fit_head(points, (image.shape[1], image.shape[0]), head, vertices, size, progress, image)
    overlay = out.with_name(out.stem + "_overlay.png")
    fit.save(out)
    write_png(overlay, fit_overlay(image, points, fit, head))
    return {"fit": str(out), "overlay": str(overlay), "landmark_vertices": fit.landmark_vertices.tolist(),
            "rotation": fit.rotation.tolist(), "translation": fit.translation.tolist(), "focal": fit.focal,
            "landmark_source": fit.landmark_source, "warnings": list(fit.warnings)}


def fit_overlay(photo: np.ndarray, photo_points: np.ndarray, fit: HeadFit, mesh: Mesh) -> np.ndarray:
    """The photo with the outline of the baked surface through the fitted camera (cyan), the mesh's landmark
    vertices there (green) and the photo's landmarks (red), each pair joined (yellow): where the face lands
    and how far the smooth correction moves each landmark."""
    import cv2

    image = photo.copy()
    radius = max(2, round(max(image.shape[:2]) / 400))
    pixels = fit.projection(mesh.vertices)
    faces = mesh.triangles[baked_triangles(mesh, fit.landmark_vertices)]
    covered = rasterize(pixels[faces], image.shape[:2]).triangle >= 0
    contours, _ = cv2.findContours(covered.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    cv2.drawContours(image, contours, -1, (0, 220, 255), max(1, radius // 2), cv2.LINE_AA)
    for a, b in zip(np.asarray(photo_points), pixels[fit.landmark_vertices]):
        pa, pb = tuple(int(v) for v in np.round(a)), tuple(int(v) for v in np.round(b))
        cv2.line(image, pa, pb, (255, 220, 0), max(1, radius // 2), cv2.LINE_AA)
        cv2.circle(image, pa, radius, (255, 40, 40), -1, cv2.LINE_AA)
        cv2.circle(image, pb, radius, (40, 255, 40), -1, cv2.LINE_AA)
    return image


def _correction(projected: np.ndarray, target: np.ndarray):
    """The thin-plate spline that moves `projected` landmarks (68, 2) onto `target`: a function of (N, 2)
    points returning their (N, 2) displacement."""
    from scipy.interpolate import RBFInterpolator

    scale = float(np.linalg.norm(target.max(0) - target.min(0))) or 1.0
    centre = target.mean(0)
    # coordinates in face widths: the smoothing then means the same for a small photo as for a large one
    spline = RBFInterpolator((projected - centre) / scale, (target - projected) / scale,
                             kernel="thin_plate_spline", smoothing=SMOOTHING)
    return lambda p: spline((p - centre) / scale) * scale


def _farthest_neighbour(depth: np.ndarray) -> np.ndarray:
    """Each pixel's depth as the farthest of its 3 x 3 neighbourhood: a texel that lands a pixel off its own
    triangle at an edge is not taken as hidden by its nearer neighbour."""
    import cv2

    return cv2.dilate(np.where(np.isfinite(depth), depth, np.float32(3e38)), np.ones((3, 3), np.uint8))


def _smoothstep(low: float, high: float, x: np.ndarray) -> np.ndarray:
    t = np.clip((np.asarray(x, dtype=np.float32) - low) / (high - low), 0.0, 1.0)
    return t * t * (3 - 2 * t)
