"""Facial landmark detection: 68 points in iBUG 300-W order, in the image's own pixels.

Two backends give the same 68 points in the same order:
- **fan**: face-alignment's FAN (Bulat & Tzimiropoulos 2017) behind its S3FD face detector; also gives 3D
  points (its 3D-FAN and depth network) for head-pose rigs. face-alignment downloads its weights on first
  use, so it works once a machine has been online; offline the download fails and the backend is skipped.
- **dlib**: dlib's HOG face detector and its 68-point regression-tree predictor (Kazemi & Sullivan 2014),
  shipped inside the `face-recognition-models` package, so it always works offline. 2D only.

`backend="auto"` takes FAN where its weights load, else dlib, and says once which one is in use: a warning
of this module's logger, which a program that sets up no logging shows as one line on standard error.
Loaded backends are kept for the life of the process.

Faces are searched on a copy no longer than 1024 pixels, at native scale first and twice upsampled only if
nothing is found: this finds faces down to about 40 pixels across without the false positives that
always-upsampled HOG detection gives on clothing and backgrounds. The landmarks are then fitted on the
full-resolution image; a small face is fitted on a locally enlarged copy of its region, because dlib
returns whole-pixel points and a face 100 pixels across would otherwise be quantised to 1% of its size.

`LandmarkDetector` is the path for video: frame after frame it re-uses the previous frame's landmarks to
place the face box and runs the (about 15x slower) face detector only every `redetect_every` frames or when
the fitted shape drifts away from the box it was given.
"""
from __future__ import annotations

import contextlib
import importlib.util
import inspect
import io
import logging
import sys
import threading
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .. import online
from ..errors import UserError, one_line

BACKENDS = ("auto", "fan", "dlib")
MIN_FACE_SIDE = 32  # face boxes smaller than this (pixels) give landmarks too coarse to drive anything
DETECT_LONG_SIDE = 1024  # faces are searched on a copy at most this long
FIT_FACE_SIDE = 200  # smaller faces are fitted on an enlarged copy of their region (dlib: whole pixels)

Box = tuple[float, float, float, float]
_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Detection:
    """The landmarks of one face. `points`: (68, 2) float32 (x, y) pixels; `box`: the face box the points
    were fitted in, (x0, y0, x1, y1); `faces_found`: how many faces the detector saw (the largest is used);
    `points3d`: (68, 3) float32 (x, y in pixels, z depth in the same scale) where the backend gives 3D."""

    points: np.ndarray
    box: Box
    backend: str
    faces_found: int
    points3d: np.ndarray | None = None


class BackendUnavailable(Exception):
    """A backend's library or weights cannot be loaded on this machine."""


class DlibBackend:
    """dlib's frontal HOG face detector + the 68-point shape predictor from `face-recognition-models`."""

    name = "dlib"
    gives_3d = False

    def __init__(self):
        try:
            import dlib
        except ImportError as e:
            raise BackendUnavailable("dlib is not installed (pip install dlib-bin)") from e
        spec = importlib.util.find_spec("face_recognition_models")
        if spec is None or not spec.submodule_search_locations:
            raise BackendUnavailable("face-recognition-models is not installed "
                                     "(pip install face-recognition-models)")
        model = Path(list(spec.submodule_search_locations)[0]) / "models" / "shape_predictor_68_face_landmarks.dat"
        if not model.is_file():
            raise BackendUnavailable(f"{model} is missing; reinstall face-recognition-models")
        self._dlib = dlib
        self._detector = dlib.get_frontal_face_detector()
        self._predictor = dlib.shape_predictor(str(model))

    def find_faces(self, image: np.ndarray) -> list[Box]:
        small, scale = _reduced(image, DETECT_LONG_SIDE)
        rects = []
        for upsample in (0, 1):
            rects = self._detector(small, upsample)
            if len(rects):
                break
        return [_rescale_box((r.left(), r.top(), r.right(), r.bottom()), scale) for r in rects]

    def fit(self, image: np.ndarray, box: Box) -> np.ndarray:
        region, offset, zoom = _fitting_region(image, box)
        x0, y0, x1, y1 = ((np.asarray(box) - np.tile(offset, 2)) * zoom).round().astype(int)
        shape = self._predictor(region, self._dlib.rectangle(int(x0), int(y0), int(x1), int(y1)))
        points = np.array([(p.x, p.y) for p in shape.parts()], dtype=np.float32)
        return (points / zoom + offset).astype(np.float32)

    def fit3d(self, image: np.ndarray, box: Box) -> None:
        return None


class FanBackend:
    """face-alignment's S3FD face detector + 2D-FAN; 3D-FAN and its depth network load on first 3D request."""

    name = "fan"
    gives_3d = True

    def __init__(self):
        try:
            import face_alignment
            import torch
        except ImportError as e:
            raise BackendUnavailable("face-alignment is not installed (pip install face-alignment)") from e
        self._fa_module = face_alignment
        self._device = "cuda" if torch.cuda.is_available() else "cpu"
        if not online.may_fetch(*self._weight_urls("s3fd", "2DFAN-4")):
            online.skipped("face-alignment's FAN weights (the landmarks come from dlib)")
            raise BackendUnavailable("online access is off and its weights are not downloaded yet")
        self._net2d = self._load(face_alignment.LandmarksType.TWO_D)
        self._net3d = None

    def _weight_urls(self, *names: str) -> list[str]:
        """The download addresses of face-alignment's networks `names` (an unknown name gives one that is never
        cached, so that with the network off nothing is attempted)."""
        urls = dict(getattr(getattr(self._fa_module, "api", None), "models_urls", {}))
        try:
            from face_alignment.detection.sfd import sfd_detector

            urls.update(getattr(sfd_detector, "models_urls", {}))
        except ImportError:
            pass
        return [urls.get(name, f"unknown/{name}") for name in names]

    def _load(self, landmarks_type):
        options = {"device": self._device, "face_detector": "sfd"}
        if "compile" in inspect.signature(self._fa_module.FaceAlignment).parameters:
            options["compile"] = False  # torch.compile costs minutes on first use and gains little here
        # face-alignment announces each weight download (on stdout or stderr, by version); offline that is a
        # line per failed attempt before ours, so its output is held back and shown only if loading succeeds.
        held = io.StringIO()
        try:
            with contextlib.redirect_stderr(held), contextlib.redirect_stdout(held):
                network = self._fa_module.FaceAlignment(landmarks_type, **options)
        except Exception as e:  # noqa: BLE001  (a failed download surfaces as URLError, HTTPError, OSError...)
            raise BackendUnavailable(f"its weights could not be loaded ({one_line(e)})") from e
        sys.stderr.write(held.getvalue())
        return network

    def find_faces(self, image: np.ndarray) -> list[Box]:
        found = self._net2d.face_detector.detect_from_image(image.copy())
        return [tuple(float(v) for v in f[:4]) for f in found]

    def fit(self, image: np.ndarray, box: Box) -> np.ndarray:
        points = self._net2d.get_landmarks_from_image(image, detected_faces=[np.array([*box, 1.0])])
        return np.asarray(points[0], dtype=np.float32)[:, :2]

    def fit3d(self, image: np.ndarray, box: Box) -> np.ndarray | None:
        if self._net3d is None:
            if not online.may_fetch(*self._weight_urls("3DFAN-4", "depth")):
                online.skipped("face-alignment's 3D-FAN weights (the depth comes from a generic face)")
                return None
            try:
                self._net3d = self._load(self._fa_module.LandmarksType.THREE_D)
            except BackendUnavailable as e:
                raise UserError(f"3D landmarks are unavailable: 3D-FAN {e}; run without 3D points") from e
        points = self._net3d.get_landmarks_from_image(image, detected_faces=[np.array([*box, 1.0])])
        points = np.asarray(points[0], dtype=np.float32)
        # Depth relative to the face, as `core.landmarks.face3d` keeps it. Its sign is FAN's own, which could
        # not be checked against the track format's "positive away from the camera" without the weights.
        points[:, 2] -= points[:, 2].mean()
        return points


_BACKEND_CLASSES = {"fan": FanBackend, "dlib": DlibBackend}
_loaded: dict[str, object] = {}
_unavailable: dict[str, str] = {}
_auto_choice: str | None = None
_lock = threading.Lock()


def load_backend(backend: str = "auto"):
    """The loaded backend object (cached for the process). Raises UserError if it cannot be used here."""
    global _auto_choice
    if backend not in BACKENDS:
        raise UserError(f"unknown landmark backend {backend!r}; use one of {', '.join(BACKENDS)}")
    with _lock:
        if backend != "auto":
            return _load_named(backend)
        if _auto_choice is None:
            for name in ("fan", "dlib"):
                try:
                    _load_named(name)
                except UserError:
                    continue
                _auto_choice = name
                break
            else:
                raise UserError(f"no landmark backend can be loaded (fan: {_unavailable['fan']}; dlib: "
                                f"{_unavailable['dlib']}); install dlib-bin and face-recognition-models")
            note = "" if _auto_choice == "fan" else f" (FAN skipped: {_unavailable['fan']})"
            _log.warning("landmarks: using %s%s", _DESCRIPTIONS[_auto_choice], note)
        return _loaded[_auto_choice]


_DESCRIPTIONS = {"fan": "face-alignment's FAN", "dlib": "dlib's 68-point predictor"}
_ADVICE = {"fan": "run once with internet access so face-alignment can download its weights, or use "
                  "--backend dlib",
           "dlib": "install dlib-bin and face-recognition-models"}


def _load_named(name: str):
    if name in _loaded:
        return _loaded[name]
    if name not in _unavailable:
        try:
            _loaded[name] = _BACKEND_CLASSES[name]()
            return _loaded[name]
        except BackendUnavailable as e:
            _unavailable[name] = str(e)
    raise UserError(f"the {name} landmark backend cannot be used: {_unavailable[name]}; {_ADVICE[name]}")


def detect_landmarks(image: np.ndarray, backend: str = "auto", with_3d: bool = False) -> Detection:
    """The 68 landmarks of the largest face in `image` (uint8 H x W x 3 RGB).

    Several faces: the largest is used and a warning says how many were found. No face, or only faces
    smaller than `MIN_FACE_SIDE` pixels: UserError. `with_3d` asks for `points3d` (FAN only; None with dlib).
    """
    _check_image(image)
    model = load_backend(backend)
    faces = model.find_faces(image)
    if not faces:
        raise UserError("no face found in the image; use a photo with one clearly visible, roughly frontal face "
                        "at least 40 pixels across (256 or more works best)")
    box = max(faces, key=_box_area)
    side = min(box[2] - box[0], box[3] - box[1])
    if side < MIN_FACE_SIDE:
        raise UserError(f"the face is only {side:.0f} pixels across; use a photo in which it is at least "
                        f"{MIN_FACE_SIDE} pixels (256 or more works best)")
    if len(faces) > 1:
        warnings.warn(f"{len(faces)} faces found; using the largest", stacklevel=2)
    points3d = model.fit3d(image, box) if with_3d else None
    return Detection(model.fit(image, box), box, model.name, len(faces), points3d)


class LandmarkDetector:
    """Landmarks frame after frame (video), tracking the face box between face-detector runs.

    Each call fits the landmarks inside a box placed by the previous frame's landmarks: the box found by
    the last face-detector run, moved and scaled with the landmarks' centre and spread. The face detector
    runs again every `redetect_every` frames, after a frame without a face, when the picture changes at once
    (a cut or a jump: the mean difference from the previous frame, both shrunk to 32 x 32 grey, exceeds
    `cut_threshold` grey levels; a shape predictor alone would keep fitting a face inside the stale box),
    and when the fitted shape has drifted from the box it was given (their overlap falls below
    `drift_iou`). Returns None for a frame where no usable face is found.
    """

    def __init__(self, backend: str = "auto", redetect_every: int = 10, drift_iou: float = 0.6,
                 cut_threshold: float = 12.0, with_3d: bool = False):
        if redetect_every < 1:
            raise ValueError("redetect_every must be at least 1")
        self.model = load_backend(backend)
        self.redetect_every = redetect_every
        self.drift_iou = drift_iou
        self.cut_threshold = cut_threshold
        self.with_3d = with_3d
        self.detector_runs = 0
        self.frames_seen = 0
        self._warned_faces = False
        self.reset()

    def reset(self) -> None:
        """Forget the tracked face (call between videos)."""
        self._anchor = None  # (box from the detector, centre and spread of the landmarks fitted in it)
        self._previous = None
        self._since_detection = 0
        self._faces_found = 0
        self._thumbnail = None

    def __call__(self, frame: np.ndarray) -> Detection | None:
        _check_image(frame)
        self.frames_seen += 1
        thumbnail = _thumbnail(frame)
        cut = self._thumbnail is not None and \
            float(np.abs(thumbnail - self._thumbnail).mean()) > self.cut_threshold
        self._thumbnail = thumbnail
        if self._previous is not None and self._since_detection < self.redetect_every and not cut:
            box = self._box_from(self._previous)
            points = self.model.fit(frame, box)
            if _iou(box, self._box_from(points)) >= self.drift_iou:
                self._since_detection += 1
                self._previous = points
                return self._detection(frame, box, points)
        return self._detect(frame)

    def _detect(self, frame: np.ndarray) -> Detection | None:
        self.detector_runs += 1
        faces = [f for f in self.model.find_faces(frame) if min(f[2] - f[0], f[3] - f[1]) >= MIN_FACE_SIDE]
        if not faces:
            thumbnail = self._thumbnail
            self.reset()
            self._thumbnail = thumbnail
            return None
        if len(faces) > 1 and not self._warned_faces:
            warnings.warn(f"{len(faces)} faces found in a frame; following the largest", stacklevel=3)
            self._warned_faces = True
        box = max(faces, key=_box_area)
        points = self.model.fit(frame, box)
        self._anchor = (np.asarray(box, dtype=np.float64), *_centre_and_spread(points))
        self._previous = points
        self._since_detection = 1
        self._faces_found = len(faces)
        return self._detection(frame, box, points)

    def _box_from(self, points: np.ndarray) -> Box:
        """The detector box the anchor had, carried along with the landmarks' centre and spread."""
        anchor_box, anchor_centre, anchor_spread = self._anchor
        centre, spread = _centre_and_spread(points)
        corners = (anchor_box.reshape(2, 2) - anchor_centre) * (spread / anchor_spread) + centre
        return tuple(float(v) for v in corners.reshape(4))

    def _detection(self, frame, box, points) -> Detection:
        points3d = self.model.fit3d(frame, box) if self.with_3d else None
        return Detection(points, tuple(float(v) for v in box), self.model.name, self._faces_found, points3d)


def _check_image(image: np.ndarray) -> None:
    if not isinstance(image, np.ndarray) or image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        raise ValueError("expected a uint8 H x W x 3 RGB array (core.images.load_image gives one)")


def _thumbnail(image: np.ndarray) -> np.ndarray:
    import cv2

    grey = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
    return cv2.resize(grey, (32, 32), interpolation=cv2.INTER_AREA).astype(np.float32)


def _reduced(image: np.ndarray, longest: int) -> tuple[np.ndarray, float]:
    h, w = image.shape[:2]
    scale = min(1.0, longest / max(h, w))
    if scale == 1.0:
        return image, 1.0
    import cv2

    return cv2.resize(image, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_AREA), scale


def _rescale_box(box, scale: float) -> Box:
    """Pixel-centre coordinates on a copy scaled by `scale` -> on the original."""
    return tuple(float((v + 0.5) / scale - 0.5) for v in box)


def _fitting_region(image: np.ndarray, box: Box) -> tuple[np.ndarray, np.ndarray, float]:
    """The image, or for a small face an enlarged copy of the region around it: (pixels, offset, zoom)
    such that region coordinates = (image coordinates - offset) * zoom."""
    side = max(box[2] - box[0], box[3] - box[1])
    if side >= FIT_FACE_SIDE:
        return image, np.zeros(2), 1.0
    import cv2

    h, w = image.shape[:2]
    margin = side  # the predictor looks a little outside its box; one box of context on every side
    x0, y0 = max(0, int(box[0] - margin)), max(0, int(box[1] - margin))
    x1, y1 = min(w, int(np.ceil(box[2] + margin)) + 1), min(h, int(np.ceil(box[3] + margin)) + 1)
    zoom = FIT_FACE_SIDE / side
    # Pixel centres stay at integers: region pixel i samples image x0 + (i + 0.5) / zoom - 0.5.
    matrix = np.array([[zoom, 0, (0.5 - x0 - 0.5 / zoom) * zoom], [0, zoom, (0.5 - y0 - 0.5 / zoom) * zoom]])
    size = (int(round((x1 - x0) * zoom)), int(round((y1 - y0) * zoom)))
    region = cv2.warpAffine(image, matrix, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    offset = np.array([x0 - 0.5 + 0.5 / zoom, y0 - 0.5 + 0.5 / zoom])
    return region, offset, zoom


def _centre_and_spread(points: np.ndarray) -> tuple[np.ndarray, float]:
    centre = points.mean(axis=0).astype(np.float64)
    return centre, float(np.sqrt(((points - centre) ** 2).sum(axis=1).mean())) + 1e-6


def _box_area(box: Box) -> float:
    return max(0.0, box[2] - box[0]) * max(0.0, box[3] - box[1])


def _iou(a: Box, b: Box) -> float:
    inter = _box_area((max(a[0], b[0]), max(a[1], b[1]), min(a[2], b[2]), min(a[3], b[3])))
    union = _box_area(a) + _box_area(b) - inter
    return inter / union if union > 0 else 0.0
