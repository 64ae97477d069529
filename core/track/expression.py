"""Expression tracks: ARKit-named expression weights (lip sync's curves, a face capture) moving a photo's face
through the rig's expression model, seen from the front."""
from __future__ import annotations

import numpy as np

from ..errors import UserError
from ..face.expressions import expression_deltas
from ..face.rest_pose import face_depths
from ..landmarks.face3d import lift
from .track_file import N_POINTS, Track


def expression_track(reference_points: np.ndarray, image_size: tuple[int, int], keys: list[str],
                     weights: np.ndarray, fps: float, source: str | None = None) -> tuple[Track, list[str]]:
    """ARKit-named expression weights (frames, len(keys)) in [0, 1] applied to a photo's face: the rig's
    expression model (`core.face.expressions.expression_deltas`, measured on this face, lifted to 3D with the
    generic face's depths) seen from the front. Returns the track in the photo's pixels and the keys the rig has
    no shape for (skipped, as the rig skips them)."""
    reference = np.asarray(reference_points, dtype=np.float64)
    if reference.shape != (N_POINTS, 2) or not np.isfinite(reference).all():
        raise UserError(f"the reference landmarks must be {N_POINTS} finite (x, y) points")
    weights = np.asarray(weights, dtype=np.float64).reshape(-1, len(keys))
    if not len(weights):
        raise UserError("the expression curves hold no frames; write them again with `python -m core lipsync`")
    # the rig's face frame: x to the right of the picture, y up, z towards the camera
    rest = np.column_stack([reference[:, 0], -reference[:, 1], face_depths(lift(reference))])
    deltas = expression_deltas(rest)
    used = [k for k in keys if k in deltas]
    skipped = [k for k in keys if k not in deltas]
    points = np.repeat(reference[None], len(weights), axis=0)
    if used:
        shapes = np.stack([deltas[k][:, :2] * [1.0, -1.0] for k in used])           # (K, 68, 2), y down
        points = points + np.einsum("fk,kpd->fpd", weights[:, [keys.index(k) for k in used]], shapes)
    track = Track(points, np.arange(len(points)), np.zeros(len(points), bool), float(fps),
                  tuple(int(v) for v in image_size), 1, source)
    return track, skipped
