"""Retargeting: a reference face (a photo's landmarks) moved the way the driver moves.

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

The reference is a photo or its landmarks' JSON file (`load_reference`).
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ..errors import UserError
from ..geometry.similarity import similarity
from ..landmarks.groups import INNER_LIP_PAIRS, LEFT_LIDS, OUTER_EYE_CORNERS, RIGHT_LIDS, RIGID
from .track_file import N_POINTS, Track

RIGID_POINTS = np.array(RIGID)


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
        from ..landmarks.detect import detect_landmarks

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
