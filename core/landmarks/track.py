"""Landmark tracks: extraction from a driving video, smoothing, and retargeting onto a reference face.

The file format and the `Track` class live in `core.landmarks.track_file` (numpy and json only, so the
add-on reads and writes tracks with it too).

Extraction
----------
`extract_track` decodes the video (`core.video`), detects landmarks frame after frame with
`core.landmarks.detect.LandmarkDetector` (which re-uses the face box between detector runs), fills frames
without a face, and smooths the points over time with the One Euro filter (Casiez et al. 2012): a low-pass
filter whose cut-off rises with the speed of the point, so a still face stops jittering and a fast mouth
opening is not delayed. The filter runs over coordinates measured in face sizes (so its settings do not
depend on the video's resolution), forwards and backwards, and the two passes are averaged: the causal
filter's lag cancels in an offline track.

Retargeting
-----------
`retarget` moves a reference face (a photo's landmarks) the way the driver moves.
- "relative" (default): the driver's motion relative to its *neutral frame*, transferred onto the reference
  face shape. The neutral frame is the driver frame with the most closed mouth and the most open eyes
  (`neutral_frame`); the first frame is a poor choice because videos often start mid-word. Each driver frame
  is split into a rigid head motion (a similarity fitted on the points expressions hardly move: nose and eye
  corners) and the remaining expression offsets. Both are re-expressed in the reference's scale and
  orientation through the similarity that aligns the driver's neutral face to the reference, and applied to
  the reference points. At the neutral frame the result is the reference itself; the driver's face shape
  never reaches the result, only its motion (no identity leakage).
- "absolute": the driver's points, mapped by the similarity that aligns its neutral face to the reference.
  Keeps the driver's face shape: for self-reenactment, where driver and reference are the same person.
"""
from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np

from ..errors import UserError
from ..geometry import retime
from ..progress import Progress, report
from ..video import VideoReader
from .groups import INNER_LIP_PAIRS, LEFT_LIDS, OUTER_EYE_CORNERS, RIGHT_LIDS, RIGID
from .track_file import N_POINTS, Track


RIGID_POINTS = np.array(RIGID)


# --- extraction from video ---------------------------------------------------------------------------------

def extract_track(video_path: str | os.PathLike, progress: Progress | None = None, stride: int = 1,
                  backend: str = "auto", smooth: bool = True, with_3d: bool = False,
                  redetect_every: int = 10) -> Track:
    """Landmarks of every `stride`-th frame of a video: tracked, gap-filled and (by default) smoothed."""
    from .detect import LandmarkDetector

    if stride < 1:
        raise UserError("--stride must be 1 or more")
    path = Path(video_path)
    with VideoReader(path) as video:
        detector = LandmarkDetector(backend, redetect_every=redetect_every, with_3d=with_3d)
        if with_3d and not detector.model.gives_3d:
            raise UserError(f"3D landmarks need the FAN backend; the {detector.model.name} backend gives 2D only")
        source_fps = video.fps
        total = max(1, -(-video.frame_count // stride))
        found: list[np.ndarray | None] = []
        size = None
        started = time.perf_counter()
        for index, (_, convert) in enumerate(video.decoded()):
            if index % stride:
                continue
            rgb = convert()
            size = (rgb.shape[1], rgb.shape[0])
            detection = detector(rgb)
            found.append(None if detection is None else (detection.points3d if with_3d else detection.points))
            report(progress, len(found), max(total, len(found)), f"landmarks: frame {index}")
    elapsed = time.perf_counter() - started
    if not found:
        raise UserError(f"no frames could be decoded from {path}; convert it to MP4 (H.264)")
    filled = np.array([p is None for p in found])
    if filled.all():
        raise UserError(f"no face found in any frame of {path}; use a video with a clearly visible face")
    dims = 3 if with_3d else 2
    points = fill_gaps(np.stack([np.full((N_POINTS, dims), np.nan) if p is None else p for p in found]))
    fps = source_fps / stride
    if smooth:
        points = one_euro_smooth(points, fps)
    return Track(points, np.arange(len(found)) * stride, filled, fps, size, stride, path.name,
                 extraction={"seconds": elapsed, "seconds_per_frame": elapsed / len(found),
                             "detector_runs": detector.detector_runs, "backend": detector.model.name})


def fill_gaps(points: np.ndarray) -> np.ndarray:
    """Frames whose points are NaN get linear interpolation between the nearest frames that have points,
    or a copy of the nearest one at either end of the sequence. (N, 68, D) -> (N, 68, D) float32."""
    points = np.asarray(points, dtype=np.float64)
    known = ~np.isnan(points).any(axis=(1, 2))
    if not known.any():
        raise ValueError("no frame has points to interpolate from")
    t = np.arange(len(points))
    flat = points.reshape(len(points), -1)
    out = np.stack([np.interp(t, t[known], flat[known, j]) for j in range(flat.shape[1])], axis=1)
    return out.reshape(points.shape).astype(np.float32)


def face_scale(points: np.ndarray) -> float:
    """A robust size of the face in a sequence (N, 68, D): the median distance between the outer eye
    corners, which expressions do not change."""
    eyes = np.linalg.norm(points[:, OUTER_EYE_CORNERS[0], :2] - points[:, OUTER_EYE_CORNERS[1], :2], axis=-1)
    return float(max(np.median(eyes), 1e-6))


def one_euro_smooth(points: np.ndarray, fps: float, min_cutoff: float = 1.0, beta: float = 4.0,
                    d_cutoff: float = 1.0) -> np.ndarray:
    """Zero-lag One Euro smoothing of a landmark sequence (N, 68, D) sampled at `fps`.

    Coordinates are measured in face sizes (`face_scale`), so `beta` (how fast the cut-off rises with speed,
    per face size per second) holds at any resolution; `min_cutoff` (Hz) sets the smoothing of a still face.
    The defaults halve the frame-to-frame jitter of 1-pixel detection noise on a face 50 pixels between the
    eyes while a 3 Hz mouth movement keeps its amplitude (tests/test_landmarks_track.py measures both).
    The causal filter runs forwards and backwards and the two are averaged."""
    points = np.asarray(points, dtype=np.float64)
    if len(points) < 3:
        return points.astype(np.float32)
    scale = face_scale(points)
    unit = points / scale
    forward = _one_euro(unit, fps, min_cutoff, beta, d_cutoff)
    backward = _one_euro(unit[::-1], fps, min_cutoff, beta, d_cutoff)[::-1]
    return ((forward + backward) / 2 * scale).astype(np.float32)


def _one_euro(x: np.ndarray, fps: float, min_cutoff: float, beta: float, d_cutoff: float) -> np.ndarray:
    def alpha(cutoff):
        tau = 1.0 / (2 * np.pi * cutoff)
        return 1.0 / (1.0 + tau * fps)

    out = np.empty_like(x)
    out[0] = x[0]
    speed = np.zeros(x.shape[1:-1])  # per point: the filtered speed of the point (face sizes per second)
    a_d = alpha(d_cutoff)
    for t in range(1, len(x)):
        raw_speed = np.linalg.norm(x[t] - out[t - 1], axis=-1) * fps
        speed = speed + a_d * (raw_speed - speed)
        a = alpha(min_cutoff + beta * speed)[..., None]
        out[t] = out[t - 1] + a * (x[t] - out[t - 1])
    return out


# --- retargeting -------------------------------------------------------------------------------------------

def neutral_frame(points: np.ndarray, usable: np.ndarray | None = None) -> int:
    """The frame (index into `points` (N, 68, D)) with the most closed mouth and the most open eyes, both
    measured in inter-ocular distances; ties go to the earliest. `usable` restricts the choice (e.g. to
    frames where a face was found)."""
    p = np.asarray(points, dtype=np.float64)[..., :2]
    eyes = np.linalg.norm(p[:, OUTER_EYE_CORNERS[0]] - p[:, OUTER_EYE_CORNERS[1]], axis=-1) + 1e-6
    mouth = sum(np.linalg.norm(p[:, a] - p[:, b], axis=-1) for a, b in INNER_LIP_PAIRS) / 3
    lids = sum(np.linalg.norm(p[:, a] - p[:, b], axis=-1) for a, b in RIGHT_LIDS + LEFT_LIDS) / 4
    score = (mouth - lids) / eyes
    if usable is not None and np.any(usable):
        score = np.where(usable, score, np.inf)
    return int(np.argmin(score))


def similarity(source: np.ndarray, target: np.ndarray) -> np.ndarray:
    """The 3x3 similarity (rotation, uniform scale, translation; no reflection) that maps `source` points
    (K, 2) onto `target` (K, 2) in the least-squares sense (Umeyama 1991)."""
    src, dst = np.asarray(source, dtype=np.float64), np.asarray(target, dtype=np.float64)
    mu_s, mu_d = src.mean(0), dst.mean(0)
    s, d = src - mu_s, dst - mu_d
    u, sig, vt = np.linalg.svd(d.T @ s / len(src))
    sign = np.diag([1.0, np.sign(np.linalg.det(u @ vt)) or 1.0])
    rotation = u @ sign @ vt
    scale = np.trace(np.diag(sig) @ sign) / max((s ** 2).sum() / len(src), 1e-12)
    m = np.eye(3)
    m[:2, :2] = scale * rotation
    m[:2, 2] = mu_d - scale * rotation @ mu_s
    return m


def _apply(m: np.ndarray, points: np.ndarray) -> np.ndarray:
    return points @ m[:2, :2].T + m[:2, 2]


def retarget(track: Track, reference_points: np.ndarray, mode: str = "relative",
             neutral: int | None = None) -> np.ndarray:
    """The reference face (68, 2) moved like the driver track: (N, 68, 2) float32 in the reference's pixels.

    `neutral` is the index of the driver's neutral frame (default: `neutral_frame` over frames with a face).
    """
    reference = np.asarray(reference_points, dtype=np.float64)
    if reference.shape != (N_POINTS, 2) or not np.isfinite(reference).all():
        raise UserError(f"the reference landmarks must be {N_POINTS} finite (x, y) points")
    if mode not in ("relative", "absolute"):
        raise UserError(f"unknown retargeting mode {mode!r}; use relative or absolute")
    driver = track.points[..., :2].astype(np.float64)
    if neutral is None:
        neutral = neutral_frame(driver, ~track.filled)
    elif not 0 <= neutral < len(driver):
        raise UserError(f"the neutral frame must be between 0 and {len(driver) - 1}")
    rest = driver[neutral]
    to_reference = similarity(rest[RIGID_POINTS], reference[RIGID_POINTS])
    if mode == "absolute":
        return _apply(to_reference, driver).astype(np.float32)
    back = np.linalg.inv(to_reference)
    out = np.empty_like(driver)
    for t, frame in enumerate(driver):
        head = similarity(rest[RIGID_POINTS], frame[RIGID_POINTS])  # the driver's rigid motion since rest
        expression = _apply(np.linalg.inv(head), frame) - rest  # what is left, in the rest frame's pose
        offsets = expression @ to_reference[:2, :2].T  # ... in the reference's scale and orientation
        head_on_reference = to_reference @ head @ back  # the same head motion, about the reference
        out[t] = _apply(head_on_reference, reference + offsets)
    return out.astype(np.float32)


def retarget_track(track: Track, reference_points: np.ndarray, image_size: tuple[int, int],
                   mode: str = "relative", neutral: int | None = None, source: str | None = None) -> Track:
    """`retarget` as a track in the reference image's pixels (`image_size` = its (width, height)): the same
    frame numbers, rate and filled flags as the driver's."""
    points = retarget(track, reference_points, mode, neutral)
    try:
        return Track(points, track.frames, track.filled, track.fps, tuple(int(v) for v in image_size), track.stride,
                     track.source if source is None else source)
    except ValueError as e:   # the driver moves the face far out of the picture
        raise UserError(f"the retargeted track does not fit the {image_size[0]}x{image_size[1]} reference ({e}); "
                        "use --retarget relative or a driver whose head stays in view") from None


def resample(track: Track, fps: float) -> Track:
    """The track at another frame rate by the one retiming rule (core/geometry/retime.py): points interpolated
    linearly in time, frames numbered from 0 by 1, the same duration."""
    points = retime.resample(track.points, track.fps, fps)
    if points is track.points:
        return track
    filled = track.filled[retime.nearest_frames(len(track), track.fps, fps)]
    return Track(points.astype(np.float32), np.arange(len(points)), filled, float(fps), track.image_size, 1,
                 track.source)


def expression_track(reference_points: np.ndarray, image_size: tuple[int, int], keys: list[str],
                     weights: np.ndarray, fps: float, source: str | None = None) -> tuple[Track, list[str]]:
    """ARKit-named expression weights (frames, len(keys)) in [0, 1] applied to a photo's face: the rig's
    expression model (`core.face.expressions.expression_deltas`, measured on this face, lifted to 3D with the generic
    face's depths) seen from the front. Returns the track in the photo's pixels and the keys the rig has no
    shape for (skipped, as the rig skips them)."""
    from ..face.expressions import expression_deltas
    from ..face.rest_pose import face_depths
    from .face3d import lift

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


def load_reference(path: str | os.PathLike, backend: str = "auto") -> tuple[np.ndarray, tuple[int, int]]:
    """The face to retarget onto: a photo (its landmarks are detected), or a JSON file with 68 `points` and
    the `image_size` [width, height] (what `python -m core detect IMAGE --json REF.json` writes).
    Returns the points (68, 2) and the image size."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"{path}: no such photo or landmark file; check the path")
    with open(path, "rb") as f:
        starts_like_json = f.read(64).lstrip()[:1] == b"{"
    if path.suffix.lower() != ".json" and not starts_like_json:
        from ..images import load_image
        from .detect import detect_landmarks

        image = load_image(path)
        return detect_landmarks(image, backend=backend).points, (image.shape[1], image.shape[0])
    from ..text_file import parse_json, read_text

    remedy = "give a photo, or landmarks written by `python -m core detect IMAGE --json REF.json`"
    data = parse_json(read_text(path, "landmark file", remedy), str(path), remedy)
    size = data.get("image_size") if isinstance(data, dict) else None
    try:
        points = np.asarray(data["points"], dtype=np.float64)
    except (KeyError, TypeError, ValueError):
        points = None
    if points is None or points.shape != (N_POINTS, 2) or not np.isfinite(points).all() or not (
            isinstance(size, list) and len(size) == 2 and all(isinstance(v, int) and 0 < v < 1 << 20 for v in size)):
        raise UserError(f"{path} holds no \"points\" ({N_POINTS} x, y pairs) with an \"image_size\" [width, height]; "
                        + remedy)
    return points.astype(np.float32), (int(size[0]), int(size[1]))
