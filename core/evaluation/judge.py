"""The measuring instrument: dlib's detector, 68-point predictor and face descriptor, in worker processes."""
from __future__ import annotations

import multiprocessing
import signal
from concurrent.futures import Future, ProcessPoolExecutor
from pathlib import Path
from typing import Optional

import numpy as np

from ..errors import UserError


def dlib_models() -> Path:
    """The folder of dlib's models in the face-recognition-models package (found, not imported: its
    __init__ needs pkg_resources)."""
    import importlib.util

    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        raise UserError("the evaluation needs dlib's models: pip install face-recognition-models")
    return Path(list(spec.submodule_search_locations)[0]) / "models"


class FaceJudge:
    """dlib exactly as the protocol fixes it: HOG detection with one upsampling on the whole image, the
    largest face, the 68-point predictor, the ResNet descriptor. (Not `core.landmarks.detect`, which tunes
    detection for the product and so would measure other points than the protocol's.)"""

    def __init__(self):
        import dlib

        models = dlib_models()
        self.detector = dlib.get_frontal_face_detector()
        self.predictor = dlib.shape_predictor(str(models / "shape_predictor_68_face_landmarks.dat"))
        self.recogniser = dlib.face_recognition_model_v1(str(models / "dlib_face_recognition_resnet_model_v1.dat"))

    def shape(self, image: np.ndarray):
        faces = self.detector(image, 1)
        if not faces:
            return None
        return self.predictor(image, max(faces, key=lambda r: r.width() * r.height()))

    def landmarks(self, image: np.ndarray) -> Optional[np.ndarray]:
        shape = self.shape(image)
        return None if shape is None else np.array([[p.x, p.y] for p in shape.parts()], np.float32)

    def judge(self, crop: np.ndarray) -> tuple[Optional[np.ndarray], Optional[np.ndarray]]:
        """(landmarks, face descriptor) of a crop, both None where no face is found."""
        crop = np.ascontiguousarray(crop, np.uint8)      # dlib takes no views (a worker gets a copy anyway)
        shape = self.shape(crop)
        if shape is None:
            return None, None
        points = np.array([[p.x, p.y] for p in shape.parts()], np.float32)
        return points, np.array(self.recogniser.compute_face_descriptor(crop, shape))


_JUDGE: Optional[FaceJudge] = None


def the_judge() -> FaceJudge:
    global _JUDGE
    if _JUDGE is None:
        _JUDGE = FaceJudge()
    return _JUDGE


def judge_crop(crop: np.ndarray):
    return the_judge().judge(crop)


class _InProcess:
    """The executor interface, run at once in this process (workers=0: no start-up cost, for small runs)."""

    def submit(self, fn, *args) -> Future:
        future = Future()
        future.set_result(fn(*args))
        return future

    def shutdown(self, wait: bool = True, cancel_futures: bool = False) -> None:
        pass


def _start_worker() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle: it shuts the pool down
    the_judge()


def executor(workers: int):
    if workers <= 0:
        return _InProcess()
    # spawn, not fork: a model method may have started torch's thread pools, which do not survive a fork.
    return ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"), initializer=_start_worker)
