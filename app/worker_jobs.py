"""Every job the add-on can give a worker, each declared once: its request, its result and what it does.

A job is a `protocol.Job` dataclass (the request's fields, sent as one JSON line) whose `Result` names its
result dataclass and whose `run(progress)` does the work and returns that result. Defining the class
registers it (`protocol.Job.__init_subclass__`): adding a job means adding it here, and an operator that
asks for it (blender_addon/operators/).

Blender's Python imports this module to build requests and read results, and has no torch: the work's own
imports sit inside `run`, which only the worker calls. The install job runs in Blender's own Python (it
creates the environment that has torch), so it needs the standard library alone.
"""
from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import ClassVar

from ..core.errors import UserError
from ..core.presets import DEFAULT_PRESET, preset_named
from .protocol import Job, JobResult


def _rounded(values) -> list:
    import numpy as np

    return np.round(np.asarray(values, dtype=np.float64), 4).tolist()


# --- the worker's Python ----------------------------------------------------------------------------------------

@dataclass
class InfoResult(JobResult):
    python: str
    core: str
    numpy: str
    torch: str
    cuda: bool
    device: str


@dataclass
class InfoJob(Job):
    """What the worker's Python can do (the preferences' check button)."""
    NAME: ClassVar[str] = "info"
    Result: ClassVar[type] = InfoResult

    def run(self, progress) -> InfoResult:
        import numpy
        import torch

        from ..core import __version__

        cuda = torch.cuda.is_available()
        return InfoResult(python=sys.version.split()[0], core=__version__, numpy=numpy.__version__,
                          torch=torch.__version__, cuda=cuda,
                          device=torch.cuda.get_device_name(0) if cuda else "CPU")


@dataclass
class InstallResult(JobResult):
    python: str             # the new environment's Python


@dataclass
class InstallJob(Job):
    """Create the worker's environment (a venv) in `folder` and install `requirements` into it: run by
    Blender's own Python, which has no torch yet (app/environment.py)."""
    NAME: ClassVar[str] = "install"
    Result: ClassVar[type] = InstallResult
    folder: str
    requirements: str
    wheelhouse: str | None = None   # a folder of wheels (offline), or None: the registries
    torch: str = "auto"             # the torch build: auto, cpu or cuda

    def run(self, progress) -> InstallResult:
        from .environment import install

        return InstallResult(python=install(self.folder, self.requirements, self.wheelhouse, self.torch, progress))


# --- the rig ----------------------------------------------------------------------------------------------------

@dataclass
class DetectResult(JobResult):
    image: str
    reference_copy: str | None
    size: list              # [width, height]
    backend: str
    faces_found: int
    box: list
    points: list            # (68, 2) pixels
    depths: list            # (68,)
    depth_source: str       # "detector" or "generic face"


@dataclass
class DetectJob(Job):
    """The landmarks of one reference photo, with the depths the rig is built from."""
    NAME: ClassVar[str] = "detect"
    Result: ClassVar[type] = DetectResult
    image: str
    reference_copy: str | None = None   # where to write the decoded photo as Blender will show it
    backend: str = "auto"

    def run(self, progress) -> DetectResult:
        from ..core.face.rest_pose import face_depths
        from ..core.images import load_image, write_png
        from ..core.landmarks.detect import detect_landmarks
        from ..core.landmarks.face3d import lift

        progress(0, 3, "landmarks: loading the detector")
        image = load_image(self.image)
        found = detect_landmarks(image, backend=self.backend, with_3d=True)
        progress(1, 3, "landmarks: depth")
        depths = face_depths(found.points3d if found.points3d is not None else lift(found.points))
        if self.reference_copy:
            progress(2, 3, "landmarks: writing the reference")
            write_png(self.reference_copy, image)   # the decoded reference (upright, sRGB) as Blender shows it
        progress(3, 3, "landmarks: done")
        return DetectResult(
            image=str(self.image), reference_copy=self.reference_copy,
            size=[int(image.shape[1]), int(image.shape[0])], backend=found.backend,
            faces_found=found.faces_found, box=[float(v) for v in found.box], points=_rounded(found.points),
            depths=_rounded(depths), depth_source="detector" if found.points3d is not None else "generic face")


# --- animation --------------------------------------------------------------------------------------------------

@dataclass
class TrackResult(JobResult):
    track: str
    frames: int
    fps: float
    filled: int             # frames without a face, filled in


@dataclass
class TrackJob(Job):
    """A driving video (landmarks extracted) or a track file, retargeted onto the reference's points."""
    NAME: ClassVar[str] = "track"
    Result: ClassVar[type] = TrackResult
    source: str
    out: str
    reference_points: list
    image_size: list
    mode: str = "relative"
    backend: str = "auto"

    def run(self, progress) -> TrackResult:
        import numpy as np

        from ..core.track.extract import extract_track
        from ..core.track.retarget import retarget
        from ..core.track.track_file import Track

        if self.source.lower().endswith(".json"):
            driver = Track.load(self.source)
        else:
            driver = extract_track(self.source, progress=progress, backend=self.backend)
        reference = np.asarray(self.reference_points, dtype=np.float32)
        size = tuple(int(v) for v in self.image_size)
        points = retarget(driver, reference, mode=self.mode)
        Track(points, driver.frames, driver.filled, driver.fps, size, driver.stride, driver.source).save(self.out)
        return TrackResult(track=str(self.out), frames=len(driver), fps=float(driver.fps),
                           filled=int(driver.filled.sum()))


@dataclass
class LipsyncResult(JobResult):
    curves: str             # the expression-curve file
    frames: int
    fps: float
    duration: float | None  # seconds of audio
    keys: list              # the shape-key names it animates


@dataclass
class LipsyncJob(Job):
    """Expression curves (docs/EXPRESSION_CURVES.md) from the speech in a sound or video file."""
    NAME: ClassVar[str] = "lipsync"
    Result: ClassVar[type] = LipsyncResult
    audio: str
    out: str
    fps: float
    transcript: str | None = None
    intensity: float = 1.0
    recogniser: str = "phones"

    def run(self, progress) -> LipsyncResult:
        from ..core.lipsync.sync import lipsync

        curves = lipsync(self.audio, fps=float(self.fps), transcript=self.transcript or None,
                         intensity=self.intensity, progress=progress, recogniser=self.recogniser)
        curves.save(self.out)
        return LipsyncResult(curves=str(self.out), frames=curves.frame_count, fps=float(curves.fps),
                             duration=curves.duration, keys=list(curves.keys))


# --- the person model and its frames ------------------------------------------------------------------------------

@dataclass
class FinetuneResult(JobResult):
    person: str


@dataclass
class FinetuneJob(Job):
    NAME: ClassVar[str] = "finetune"
    Result: ClassVar[type] = FinetuneResult
    images: list
    out: str
    preset: str = DEFAULT_PRESET.name
    device: str = "auto"
    steps: int | None = None

    def run(self, progress) -> FinetuneResult:
        from ..core.training.finetune import finetune

        path = finetune(self.images, self.out, preset=preset_named(self.preset), device=self.device,
                        progress=progress, steps=self.steps or None)
        return FinetuneResult(person=str(path))


@dataclass
class GenerateResult(JobResult):
    frames: list


@dataclass
class GenerateJob(Job):
    NAME: ClassVar[str] = "generate"
    Result: ClassVar[type] = GenerateResult
    person: str
    track: str
    out_dir: str
    name: str = "frame_"
    device: str = "auto"
    alpha: bool = False             # RGBA frames: the head opaque, the rest transparent (the head matte)
    c2pa_key: str | None = None     # the user's C2PA signing key and certificate (PEM files); None: the
    c2pa_cert: str | None = None    # installation's local identity
    head_fit: str | None = None     # a head fit (FitHeadJob's file): each frame also baked to the head's UVs
    head_name: str = "head_"        # the UV frames' names, beside the frames

    def run(self, progress) -> GenerateResult:
        from .generate import generate

        frames = generate(self.person, self.track, self.out_dir, name=self.name, device=self.device,
                          progress=progress, alpha=self.alpha, c2pa_key=self.c2pa_key or None,
                          c2pa_cert=self.c2pa_cert or None, head_fit=self.head_fit, head_name=self.head_name)
        return GenerateResult(frames=frames)


# --- the head ---------------------------------------------------------------------------------------------------

@dataclass
class FitHeadResult(JobResult):
    fit: str                    # the fit file (core.head.fit.HeadFit, .npz)
    overlay: str                # a PNG: the mesh's landmarks and outline over the photo
    landmark_vertices: list     # (68,) the mesh's vertex per landmark
    rotation: list              # (3, 3) object -> photo camera (OpenCV axes)
    translation: list           # (3,)
    focal: float                # pixels
    landmark_source: str        # "given", "guessed" or "pins"
    warnings: list              # one line each: several UV maps, overlapping UVs, non-manifold, ...


@dataclass
class FitHeadJob(Job):
    """Where the photo's face lies on a head mesh: the texel map its frames are baked through."""
    NAME: ClassVar[str] = "fit_head"
    Result: ClassVar[type] = FitHeadResult
    photo: str
    mesh: str                           # .obj, .glb/.gltf or the add-on's .npz (core.head.mesh)
    out: str                            # the fit file to write (.npz); the overlay goes beside it
    landmarks: list | None = None       # 68 vertex indices (the artist's pins, or given); None: guessed
    reference_points: list | None = None  # the photo's 68 landmarks (pixels); None: detected
    size: int = 2048                    # the UV map's side, 1024 to 4096

    def run(self, progress) -> FitHeadResult:
        from ..core.head.fit import fit_head_files

        return FitHeadResult(**fit_head_files(self.photo, self.mesh, self.out, landmarks=self.landmarks,
                                              reference_points=self.reference_points, size=self.size,
                                              progress=progress))


@dataclass
class HeadFromPhotoResult(JobResult):
    mesh: str                   # the head (.npz, core.head.mesh.Mesh) in the photo camera's frame (OpenCV axes)
    focal: float                # the focal length (pixels) it was built for


@dataclass
class HeadFromPhotoJob(Job):
    """A head built from the photo: its face lifted with the generic face's depths, closed behind, its UVs
    the photo's own pixels (the frames are its texture as they are)."""
    NAME: ClassVar[str] = "head_from_photo"
    Result: ClassVar[type] = HeadFromPhotoResult
    photo: str
    out: str                            # the mesh file to write (.npz)
    reference_points: list | None = None  # the photo's 68 landmarks (pixels); None: detected
    focal: float | None = None          # the camera's focal length in photo pixels; None: a 50 mm-like default

    def run(self, progress) -> HeadFromPhotoResult:
        from ..core.head.from_photo import head_from_photo_file

        mesh, focal = head_from_photo_file(self.photo, self.out, reference_points=self.reference_points,
                                           focal=self.focal, progress=progress)
        return HeadFromPhotoResult(mesh=mesh, focal=focal)


# --- export -----------------------------------------------------------------------------------------------------

@dataclass
class ExportOnnxResult(JobResult):
    onnx: str


@dataclass
class ExportOnnxJob(Job):
    """The person model as ONNX, for the live preview (onnxruntime in Blender's Python)."""
    NAME: ClassVar[str] = "export_onnx"
    Result: ClassVar[type] = ExportOnnxResult
    person: str
    out: str

    def run(self, progress) -> ExportOnnxResult:
        from ..export.onnx_model import export_person

        progress(0, 1, "ONNX: exporting and verifying")
        path = export_person(self.person, self.out, overwrite=True)
        progress(1, 1, "ONNX: done")
        return ExportOnnxResult(onnx=str(path))


@dataclass
class ExportVideoResult(JobResult):
    video: str
    frames: int


@dataclass
class ExportVideoJob(Job):
    """The generated frames (`name`####.png in `frames`) as an H.264 MP4 at `fps`."""
    NAME: ClassVar[str] = "export_video"
    Result: ClassVar[type] = ExportVideoResult
    frames: str
    out: str
    fps: float
    name: str = "frame_"

    def run(self, progress) -> ExportVideoResult:
        from ..export.sequence import read_srgb, sequence_numbers
        from ..export.video import write_video

        paths = list(sequence_numbers(self.frames, self.name, "png").values())
        if not paths:
            raise UserError(f"{self.frames} holds no generated frames; generate them first")

        def frames():
            for path in paths:
                pixels = read_srgb(path)
                yield pixels[..., :3] * pixels[..., 3:] if pixels.shape[2] == 4 else pixels

        path = write_video(self.out, frames(), float(self.fps), overwrite=True, total=len(paths), progress=progress)
        return ExportVideoResult(video=str(path), frames=len(paths))
