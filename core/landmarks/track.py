"""Landmark tracks: the file format, extraction from a driving video, and retargeting onto a reference face.

Track file format, version 1
----------------------------
A UTF-8 JSON object (docs/TRACK_FORMAT.md says the same, with an example)::

    {
     "format": "neural-talking-heads/landmark-track",
     "version": 1,
     "space": "pixels",
     "image_size": [W, H],
     "fps": 25.0,
     "stride": 1,
     "source": "driving.mp4",
     "dims": 2,
     "frames": [
      {"frame": 0, "filled": false, "points": [[x, y], ... 68 points]},
      ...
     ]
    }

- `format`, `version`: exactly these; a reader refuses other formats and other versions.
- `space`: "pixels": x to the right, y down, in pixels of the source frame (`image_size` = [width, height]),
  0-based with pixel centres at integers (dlib's convention). With `dims` 3 each point is [x, y, z], z the
  depth in the same pixel scale, positive away from the camera, relative to the mean depth of the 68 points.
- `fps`: frames per second of the track itself (the source's rate divided by `stride`).
- `stride`: how many source frames one track frame stands for; `frame` numbers are source frame numbers,
  strictly increasing by exactly `stride` (no gaps, no duplicates: a frame without a face is still listed).
- `source`: the file name the track was extracted from, or null.
- `frames[i].points`: 68 points in iBUG 300-W order. `filled` is true where no face was found and the points
  were interpolated between the nearest frames that had one (or copied from the nearest, at either end).
- Every coordinate is finite and within one image size of the frame (points far outside mean the track does
  not belong to this image size).

Extraction
----------
`extract_track` decodes the video (OpenCV), detects landmarks frame after frame with
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

import argparse
import json
import math
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from core.errors import UserError
from core.progress import Progress, report

FORMAT = "neural-talking-heads/landmark-track"
VERSION = 1
SPACE = "pixels"
N_POINTS = 68

# Points an expression hardly moves: nose bridge and base, outer and inner eye corners.
RIGID_POINTS = np.array([27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 39, 42, 45])


@dataclass
class Track:
    """`points` (N, 68, 2 or 3) float32 in the source frame's pixels; `frames` (N,) source frame numbers;
    `filled` (N,) bool, true where the points were interpolated; `image_size` (width, height)."""

    points: np.ndarray
    frames: np.ndarray
    filled: np.ndarray
    fps: float
    image_size: tuple[int, int]
    stride: int = 1
    source: str | None = None
    extraction: dict = field(default_factory=dict, compare=False)  # how it was made (not saved)

    def __post_init__(self):
        self.points = np.asarray(self.points, dtype=np.float32)
        self.frames = np.asarray(self.frames, dtype=np.int64)
        self.filled = np.asarray(self.filled, dtype=bool)
        problem = _problem(self.points, self.frames, self.filled, self.fps, self.image_size, self.stride)
        if problem:
            raise ValueError(problem)

    def __len__(self) -> int:
        return len(self.frames)

    def save(self, path: str | os.PathLike) -> None:
        """Write the track (atomically: a temporary file renamed into place)."""
        from core.landmarks.jsonio import write_text_atomic

        header = {"format": FORMAT, "version": VERSION, "space": SPACE,
                  "image_size": [int(v) for v in self.image_size], "fps": float(self.fps),
                  "stride": int(self.stride), "source": self.source, "dims": int(self.points.shape[2])}
        lines = [json.dumps({"frame": int(f), "filled": bool(m),
                             "points": np.round(p.astype(np.float64), 3).tolist()}, separators=(",", ":"))
                 for f, m, p in zip(self.frames, self.filled, self.points)]
        head = json.dumps(header, indent=1)[:-2]  # drop the closing "\n}" to append the frames
        write_text_atomic(path, head + ',\n "frames": [\n  ' + ",\n  ".join(lines) + "\n ]\n}\n")

    @classmethod
    def load(cls, path: str | os.PathLike) -> "Track":
        """Read and validate a track file; any problem is a UserError naming the file and what is wrong."""
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise UserError(f"{path}: no such track file; check the path") from None
        except (OSError, UnicodeDecodeError) as e:
            raise UserError(f"cannot read {path} ({e}); give a track written by `python -m core track`") from None
        try:
            data = json.loads(text)
        except json.JSONDecodeError as e:
            raise UserError(f"{path} is not valid JSON (line {e.lineno}: {e.msg}); re-extract the track") from None
        except ValueError as e:  # e.g. a number with more digits than Python converts
            raise UserError(f"{path} is not valid JSON ({e}); re-extract the track") from None
        except RecursionError:
            raise UserError(f"{path} is not a landmark track (nested too deeply)") from None
        return cls.from_dict(data, str(path))

    @classmethod
    def from_dict(cls, data, name: str = "track") -> "Track":
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise UserError(f"{name} is not a landmark track (no \"format\": \"{FORMAT}\"); "
                            "give a file written by `python -m core track`")
        version = data.get("version")
        if version != VERSION:
            newer = _is_number(version) and version > VERSION
            raise UserError(f"{name} is track format version {version!r}; this program reads version {VERSION}"
                            + ("; update the program" if newer else "; re-extract the track"))
        if data.get("space") != SPACE:
            raise UserError(f"{name}: \"space\" must be \"{SPACE}\"; re-extract the track")
        size = data.get("image_size")
        if not (isinstance(size, list) and len(size) == 2 and all(_is_int(v) and 0 < v < 1 << 20 for v in size)):
            raise UserError(f"{name}: \"image_size\" must be [width, height] in pixels; re-extract the track")
        fps, stride, dims = data.get("fps"), data.get("stride"), data.get("dims")
        if not (_is_number(fps) and 0 < fps < 10000):
            raise UserError(f"{name}: \"fps\" must be a positive number; re-extract the track")
        if not (_is_int(stride) and 1 <= stride < 1 << 20):
            raise UserError(f"{name}: \"stride\" must be a positive whole number; re-extract the track")
        if not _is_int(dims) or dims not in (2, 3):
            raise UserError(f"{name}: \"dims\" must be 2 or 3; re-extract the track")
        source = data.get("source")
        if source is not None and not isinstance(source, str):
            raise UserError(f"{name}: \"source\" must be a file name or null; re-extract the track")
        frames = data.get("frames")
        if not isinstance(frames, list) or not frames:
            raise UserError(f"{name} has no frames; re-extract the track")
        numbers, filled, points = [], [], []
        for i, entry in enumerate(frames):
            if not isinstance(entry, dict) or not _is_int(entry.get("frame")) or \
                    not 0 <= entry["frame"] < 1 << 40 or not isinstance(entry.get("filled"), bool):
                raise UserError(f"{name}: entry {i} of \"frames\" needs a \"frame\" number (0 or more), a "
                                "true/false \"filled\" and \"points\"; re-extract the track")
            numbers.append(entry["frame"])
            filled.append(entry["filled"])
            points.append(_point_array(entry.get("points"), dims, name, entry["frame"]))
        problem = _problem(np.stack(points), numbers, np.array(filled), float(fps), tuple(size), stride)
        if problem:
            raise UserError(f"{name}: {problem}; re-extract the track")
        return cls(np.stack(points), np.array(numbers, dtype=np.int64), np.array(filled), float(fps),
                   (int(size[0]), int(size[1])), int(stride), source)


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value) -> bool:
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return False
    try:
        return math.isfinite(value)
    except OverflowError:  # an integer too large for a float
        return False


def _point_array(value, dims: int, name: str, frame) -> np.ndarray:
    try:
        array = np.array(value)
    except (ValueError, TypeError, OverflowError):
        array = None
    if array is None or array.dtype.kind not in "iuf" or array.shape != (N_POINTS, dims):
        raise UserError(f"{name}: frame {frame} must hold {N_POINTS} points of {dims} numbers each; "
                        "re-extract the track")
    with np.errstate(over="ignore"):
        return array.astype(np.float64)


def _problem(points: np.ndarray, frames, filled: np.ndarray, fps: float, image_size, stride: int) -> str | None:
    """What is wrong with a track's contents (None if nothing): shapes, values, frame numbering."""
    frames = np.asarray(frames)
    n = len(frames)
    if points.ndim != 3 or points.shape[1:] not in ((N_POINTS, 2), (N_POINTS, 3)) or len(points) != n or \
            filled.shape != (n,) or n == 0:
        return f"expected N frames of {N_POINTS} points with 2 or 3 coordinates, got points {points.shape}, " \
               f"{n} frame numbers and {filled.shape} filled flags"
    if not (np.isfinite(fps) and fps > 0) or stride < 1:
        return "fps and stride must be positive"
    finite = np.isfinite(points).all(axis=(1, 2))
    if not finite.all():
        return f"frame {frames[np.argmin(finite)]} has a coordinate that is not a finite number"
    width, height = image_size
    span = np.array([width, height], dtype=np.float64)
    xy = points[..., :2].astype(np.float64)
    outside = ((xy < -span) | (xy > 2 * span)).any(axis=(1, 2))
    if outside.any():
        return f"frame {frames[np.argmax(outside)]} has points far outside the {width}x{height} image " \
               "(the track does not belong to this image size)"
    steps = np.diff(frames)
    if (steps == 0).any():
        return f"frame {frames[1:][steps == 0][0]} appears twice"
    if (steps != stride).any():
        k = int(np.argmax(steps != stride))
        return (f"frames jump from {frames[k]} to {frames[k + 1]} (with a stride of {stride}, frame numbers must "
                f"rise by {stride} each, with none missing)")
    return None


# --- extraction from video ---------------------------------------------------------------------------------

def extract_track(video_path: str | os.PathLike, progress: Progress | None = None, stride: int = 1,
                  backend: str = "auto", smooth: bool = True, with_3d: bool = False,
                  redetect_every: int = 10) -> Track:
    """Landmarks of every `stride`-th frame of a video: tracked, gap-filled and (by default) smoothed."""
    import cv2

    from core.landmarks.detect import LandmarkDetector

    if stride < 1:
        raise UserError("--stride must be 1 or more")
    path = Path(video_path)
    if not path.is_file():
        raise UserError(f"{path}: no such video file; check the path")
    capture = cv2.VideoCapture(str(path))
    if not capture.isOpened():
        raise UserError(f"{path} is not a video this program can read; convert it to MP4 (H.264)")
    detector = LandmarkDetector(backend, redetect_every=redetect_every, with_3d=with_3d)
    if with_3d and not detector.model.gives_3d:
        raise UserError(f"3D landmarks need the FAN backend; the {detector.model.name} backend gives 2D only")
    source_fps = capture.get(cv2.CAP_PROP_FPS)
    source_fps = source_fps if np.isfinite(source_fps) and 0 < source_fps < 1000 else 25.0
    expected = max(0, int(capture.get(cv2.CAP_PROP_FRAME_COUNT)))
    total = max(1, -(-expected // stride))
    found: list[np.ndarray | None] = []
    size = None
    started = time.perf_counter()
    try:
        index = 0
        while True:
            if index % stride:
                ok = capture.grab()
            else:
                ok, bgr = capture.read()
                if ok:
                    rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
                    size = (rgb.shape[1], rgb.shape[0])
                    detection = detector(rgb)
                    points = None if detection is None else \
                        (detection.points3d if with_3d else detection.points)
                    found.append(points)
                    report(progress, len(found), max(total, len(found)), f"landmarks: frame {index}")
            if not ok:
                break
            index += 1
    finally:
        capture.release()
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
    eyes = np.linalg.norm(points[:, 36, :2] - points[:, 45, :2], axis=-1)
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
    eyes = np.linalg.norm(p[:, 36] - p[:, 45], axis=-1) + 1e-6
    mouth = sum(np.linalg.norm(p[:, a] - p[:, b], axis=-1) for a, b in ((61, 67), (62, 66), (63, 65))) / 3
    lids = sum(np.linalg.norm(p[:, a] - p[:, b], axis=-1) for a, b in ((37, 41), (38, 40), (43, 47), (44, 46))) / 4
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


# --- command line: python -m core track VIDEO --out TRACK.json ---------------------------------------------

def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("video", help="a driving video with one face")
    parser.add_argument("--out", required=True, metavar="TRACK.json", help="where to write the track")
    parser.add_argument("--stride", type=int, default=1, help="use every k-th frame (default: 1)")
    parser.add_argument("--backend", choices=("auto", "fan", "dlib"), default="auto",
                        help="landmark detector (default: auto)")
    parser.add_argument("--no-smooth", action="store_true", help="keep the raw per-frame landmarks")
    parser.add_argument("--with-3d", action="store_true", help="3D points (FAN backend only)")


def run(args: argparse.Namespace) -> int:
    from core.progress import TqdmProgress

    bar = TqdmProgress("landmarks")
    try:
        track = extract_track(args.video, progress=bar, stride=args.stride, backend=args.backend,
                              smooth=not args.no_smooth, with_3d=args.with_3d)
    finally:
        bar.close()
    track.save(args.out)
    info = track.extraction
    print(f"wrote {args.out}: {len(track)} frames at {track.fps:g} fps, {int(track.filled.sum())} without a face "
          f"(filled), {info['backend']}, {1000 * info['seconds_per_frame']:.1f} ms per frame")
    return 0
