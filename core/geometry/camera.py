"""Cameras and the image plane: where a camera sees points land on the plane that shows a reference photo.

numpy only and free of bpy (the add-on's rig is built and driven with it), vectorised over frames.

**The image plane** shows the reference photo: a rectangle of `size` (local units) centred on its object's
origin in its local x-y plane, x to the right and y up, the photo's pixel (x, y) (0-based, centres at
integers, y down) at local `((x + 0.5) / W - 0.5, 0.5 - (y + 0.5) / H) * size`. Depths are camera depths:
distance along the camera's viewing axis (its -z).

**Projection** is the generation driver: each frame's evaluated rig vertices go along camera rays onto the
image plane and become reference-image pixels. It matches Blender's `world_to_camera_view` (a point and its
projection on the plane have the same normalised camera coordinates) but is vectorised over frames.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import UserError

# --- cameras and the image plane ----------------------------------------------------------------------------

@dataclass(frozen=True)
class Camera:
    """A camera's pose: `matrix_world` (4, 4) or (F, 4, 4) camera-to-world with an orthonormal rotation
    (Blender's `matrix_world.normalized()`); it looks along its local -z."""

    matrix_world: np.ndarray
    orthographic: bool = False

    @property
    def origin(self) -> np.ndarray:
        return np.asarray(self.matrix_world)[..., :3, 3]

    @property
    def forward(self) -> np.ndarray:
        return -np.asarray(self.matrix_world)[..., :3, 2]


@dataclass(frozen=True)
class ImagePlane:
    """The plane that shows the reference: `matrix_world` (4, 4) or (F, 4, 4), its `size` (width, height) in
    local units and the reference's `pixels` (width, height)."""

    matrix_world: np.ndarray
    size: tuple[float, float]
    pixels: tuple[int, int]

    def local_from_pixels(self, pixels: np.ndarray) -> np.ndarray:
        (w, h), (pw, ph) = self.size, self.pixels
        pixels = np.asarray(pixels, dtype=np.float64)
        x = ((pixels[..., 0] + 0.5) / pw - 0.5) * w
        y = (0.5 - (pixels[..., 1] + 0.5) / ph) * h
        return np.stack([x, y, np.zeros_like(x)], axis=-1)

    def pixels_from_local(self, local: np.ndarray) -> np.ndarray:
        (w, h), (pw, ph) = self.size, self.pixels
        x = (local[..., 0] / w + 0.5) * pw - 0.5
        y = (0.5 - local[..., 1] / h) * ph - 0.5
        return np.stack([x, y], axis=-1)

    def world_from_pixels(self, pixels: np.ndarray) -> np.ndarray:
        return _transform(np.asarray(self.matrix_world, dtype=np.float64), self.local_from_pixels(pixels))


def _transform(matrix: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Apply (..., 4, 4) affine matrices to (..., N, 3) points."""
    return points @ np.swapaxes(matrix[..., :3, :3], -1, -2) + matrix[..., None, :3, 3]


def fit_image_plane(camera_matrix: np.ndarray, frame: tuple[float, float, float, float], distance: float,
                    pixels: tuple[int, int], orthographic: bool = False) -> ImagePlane:
    """The largest plane with the image's aspect inside the camera's frame, `distance` in front of it.

    `frame` is (min_x, max_x, min_y, max_y) of the camera's view frame in camera space at depth 1 for a
    perspective camera, at any depth for an orthographic one (Blender's `Camera.view_frame`, which includes
    the render aspect, the sensor fit and the lens shift). The plane faces the camera, centred in its frame.
    """
    if distance <= 0:
        raise UserError("the image plane's distance must be positive; put it in front of the camera")
    pw, ph = pixels
    scale = 1.0 if orthographic else distance
    min_x, max_x, min_y, max_y = (v * scale for v in frame)
    frame_w, frame_h = max_x - min_x, max_y - min_y
    width = min(frame_w, frame_h * pw / ph)
    local = np.eye(4)
    local[:3, 3] = ((min_x + max_x) / 2, (min_y + max_y) / 2, -distance)
    return ImagePlane(np.asarray(camera_matrix, dtype=np.float64) @ local, (width, width * ph / pw), (pw, ph))


# --- projection: rig vertices -> reference pixels ----------------------------------------------------------

def project_to_pixels(points: np.ndarray, camera: Camera, plane: ImagePlane) -> np.ndarray:
    """Reference-image pixels (..., N, 2) where camera rays through world `points` (..., N, 3) meet the plane.

    Leading dimensions (frames) broadcast with those of the camera's and the plane's matrices. A point
    behind the camera, or whose ray misses the plane (parallel, or the plane behind), gives NaN.
    """
    points = np.asarray(points, dtype=np.float64)
    cam = np.asarray(camera.matrix_world, dtype=np.float64)
    forward = camera.forward[..., None, :]
    inverse = np.linalg.inv(np.asarray(plane.matrix_world, dtype=np.float64))
    if camera.orthographic:
        origins = points
        directions = np.broadcast_to(forward, points.shape)
        in_front = np.ones(points.shape[:-1], dtype=bool)
    else:
        origins = cam[..., None, :3, 3]
        directions = points - origins
        in_front = np.sum(directions * forward, axis=-1) > 0
    o = _transform(inverse, np.broadcast_to(origins, points.shape))
    d = directions @ np.swapaxes(inverse[..., :3, :3], -1, -2)
    dz = d[..., 2]
    with np.errstate(divide="ignore", invalid="ignore"):
        t = -o[..., 2] / dz
    hit = o + t[..., None] * d
    pixels = plane.pixels_from_local(hit)
    valid = in_front & (np.abs(dz) > 1e-12) & (t > 0)
    return np.where(valid[..., None], pixels, np.nan)


def unproject_at_depth(pixels: np.ndarray, depths: np.ndarray, camera: Camera, plane: ImagePlane) -> np.ndarray:
    """World points (..., N, 3) at camera depths `depths` (..., N) that project onto `pixels` (..., N, 2)."""
    targets = plane.world_from_pixels(pixels)
    origin = camera.origin[..., None, :]
    forward = camera.forward[..., None, :]
    depths = np.asarray(depths, dtype=np.float64)
    if camera.orthographic:
        target_depths = np.sum((targets - origin) * forward, axis=-1)
        return targets - forward * (target_depths - depths)[..., None]
    rays = targets - origin
    along = np.sum(rays * forward, axis=-1)
    if np.any(along <= 0):
        raise UserError("the image plane is behind the camera; move it in front of the active camera")
    return origin + rays * (depths / along)[..., None]


def positions_in_face_planes(pixels: np.ndarray, depths: np.ndarray, matrix_world: np.ndarray, camera: Camera,
                             plane: ImagePlane) -> np.ndarray:
    """Rig-frame positions (..., N, 3) that project onto `pixels` (..., N, 2), each vertex keeping its
    rig-frame z (`depths`, (N,)): where the camera ray through the pixel's point on the image plane meets
    the plane z = depth of the rig object (`matrix_world` (4, 4)). Moving in that plane, a vertex only needs
    x and y keyed to follow any track exactly."""
    targets = plane.world_from_pixels(pixels)
    inverse = np.linalg.inv(np.asarray(matrix_world, dtype=np.float64))
    if camera.orthographic:
        origins = targets
        directions = np.broadcast_to(camera.forward, targets.shape)
    else:
        origins = np.broadcast_to(camera.origin, targets.shape)
        directions = targets - origins
    o = _transform(inverse, origins)
    d = directions @ inverse[:3, :3].T
    with np.errstate(divide="ignore", invalid="ignore"):
        t = (np.asarray(depths, dtype=np.float64) - o[..., 2]) / d[..., 2]
    if not np.all(np.isfinite(t)):
        raise UserError("the camera looks along the rig's face plane; turn the rig towards the camera")
    return o + t[..., None] * d
