"""The worker protocol: what the add-on asks (`python -m core worker`, app/worker.py) and what it hears back.

One JSON line per message. The request is the first line on the worker's stdin: a job, `{"job": NAME,
...fields}`. Events are lines on its stdout, `{"event": KIND, ...fields}`: `Progress` and `Warning` while it
works, then exactly one final event, `Result` (the job's result fields), `Error` (a one-line message) or
`Cancelled`. Both sides use these classes, so a field is named once; standard library only, so that
Blender's Python imports it without the worker's packages.
"""
from __future__ import annotations

import json
from dataclasses import MISSING, asdict, dataclass, field, fields
from typing import ClassVar


class ProtocolError(ValueError):
    """A line that is not a message of this protocol (the add-on and the worker are of different versions)."""


def build(cls, data: dict, what: str):
    """`cls(**data)`, or a ProtocolError naming the field that is missing or unknown."""
    names = {f.name for f in fields(cls)}
    missing = [f.name for f in fields(cls) if f.name not in data and f.default is MISSING]
    unknown = sorted(set(data) - names)
    if missing:
        raise ProtocolError(f"a {what} that lacks {missing[0]!r}")
    if unknown:
        raise ProtocolError(f"a {what} with an unknown field {unknown[0]!r}")
    return cls(**data)


def _line(kind_key: str, kind: str, message) -> str:
    return json.dumps({kind_key: kind, **asdict(message)}, allow_nan=False)


# --- jobs: the request -----------------------------------------------------------------------------------------

@dataclass
class Job:
    """Every job carries `online`: Blender's "Allow Online Access" (`bpy.app.online_access`). With it off
    the worker downloads nothing (`core.online`) and says what it skipped."""
    NAME: ClassVar[str] = ""
    online: bool = field(default=True, kw_only=True)

    def to_json(self) -> str:
        return _line("job", self.NAME, self)

    @staticmethod
    def from_json(line: str) -> "Job":
        try:
            data = json.loads(line)
            cls = JOBS[data.pop("job")]
        except (ValueError, TypeError, KeyError, AttributeError):
            raise ProtocolError(f"no valid request (one JSON line with a \"job\" among {', '.join(JOBS)})") from None
        return build(cls, data, "request")

@dataclass
class InfoJob(Job):
    """What the worker's Python can do (the preferences' check button)."""
    NAME: ClassVar[str] = "info"


@dataclass
class DetectJob(Job):
    """The landmarks of one reference photo, with the depths the rig is built from."""
    NAME: ClassVar[str] = "detect"
    image: str
    reference_copy: str | None = None   # where to write the decoded photo as Blender will show it
    backend: str = "auto"


@dataclass
class TrackJob(Job):
    """A driving video (landmarks extracted) or a track file, retargeted onto the reference's points."""
    NAME: ClassVar[str] = "track"
    source: str
    out: str
    reference_points: list
    image_size: list
    mode: str = "relative"
    backend: str = "auto"


@dataclass
class FinetuneJob(Job):
    NAME: ClassVar[str] = "finetune"
    images: list
    out: str
    preset: str = "fast"
    device: str = "auto"
    steps: int | None = None


@dataclass
class GenerateJob(Job):
    NAME: ClassVar[str] = "generate"
    person: str
    track: str
    out_dir: str
    name: str = "frame_"
    device: str = "auto"
    alpha: bool = False             # RGBA frames: the head opaque, the rest transparent (the head matte)
    c2pa_key: str | None = None     # the user's C2PA signing key and certificate (PEM files); None: the
    c2pa_cert: str | None = None    # installation's local identity


@dataclass
class LipsyncJob(Job):
    """Expression curves (docs/EXPRESSION_CURVES.md) from the speech in a sound or video file."""
    NAME: ClassVar[str] = "lipsync"
    audio: str
    out: str
    fps: float
    transcript: str | None = None
    intensity: float = 1.0
    recogniser: str = "phones"


@dataclass
class ExportOnnxJob(Job):
    """The person model as ONNX, for the live preview."""
    NAME: ClassVar[str] = "export_onnx"
    person: str
    out: str


@dataclass
class ExportVideoJob(Job):
    """The generated frames (`name`####.png in `frames`) as an MP4 at `fps`."""
    NAME: ClassVar[str] = "export_video"
    frames: str
    out: str
    fps: float
    name: str = "frame_"


JOBS: dict[str, type[Job]] = {cls.NAME: cls for cls in (InfoJob, DetectJob, TrackJob, FinetuneJob, GenerateJob,
                                                         LipsyncJob, ExportOnnxJob, ExportVideoJob)}


# --- results: the fields of a job's Result event -------------------------------------------------------------

@dataclass
class JobResult:
    pass


@dataclass
class InfoResult(JobResult):
    python: str
    core: str
    numpy: str
    torch: str
    cuda: bool
    device: str


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
class TrackResult(JobResult):
    track: str
    frames: int
    fps: float
    filled: int             # frames without a face, filled in


@dataclass
class FinetuneResult(JobResult):
    person: str


@dataclass
class GenerateResult(JobResult):
    frames: list


@dataclass
class LipsyncResult(JobResult):
    curves: str             # the expression-curve file
    frames: int
    fps: float
    duration: float | None  # seconds of audio
    keys: list              # the shape-key names it animates


@dataclass
class ExportOnnxResult(JobResult):
    onnx: str


@dataclass
class ExportVideoResult(JobResult):
    video: str
    frames: int


@dataclass
class InstallResult(JobResult):
    """What blender_addon/environment.py (the environment installer, a script of its own) ends with."""
    python: str


RESULTS: dict[type[Job], type[JobResult]] = {
    InfoJob: InfoResult, DetectJob: DetectResult, TrackJob: TrackResult, FinetuneJob: FinetuneResult,
    GenerateJob: GenerateResult, LipsyncJob: LipsyncResult, ExportOnnxJob: ExportOnnxResult,
    ExportVideoJob: ExportVideoResult,
}


# --- events: the answer, line by line --------------------------------------------------------------------------

@dataclass
class Event:
    KIND: ClassVar[str] = ""
    FINAL: ClassVar[bool] = False

    def to_json(self) -> str:
        return _line("event", self.KIND, self)

    @staticmethod
    def from_json(line: str) -> "Event":
        try:
            data = json.loads(line)
            cls = EVENTS[data.pop("event")]
        except (ValueError, TypeError, KeyError, AttributeError):
            raise ProtocolError("not an event") from None
        if cls is Result:
            return Result(data)
        return build(cls, data, f"{cls.KIND} event")


@dataclass
class Progress(Event):
    KIND: ClassVar[str] = "progress"
    done: int
    total: int
    message: str = ""


@dataclass
class Warning(Event):   # noqa: A001  (the protocol's word; the builtin is not used here)
    KIND: ClassVar[str] = "warning"
    message: str


@dataclass
class Result(Event):
    """The job's result fields, flat in the line; `Job.result` types them."""
    KIND: ClassVar[str] = "result"
    FINAL: ClassVar[bool] = True
    fields: dict

    def to_json(self) -> str:
        return json.dumps({"event": self.KIND, **self.fields}, allow_nan=False)


@dataclass
class Error(Event):
    KIND: ClassVar[str] = "error"
    FINAL: ClassVar[bool] = True
    message: str


@dataclass
class Cancelled(Event):
    KIND: ClassVar[str] = "cancelled"
    FINAL: ClassVar[bool] = True


EVENTS: dict[str, type[Event]] = {cls.KIND: cls for cls in (Progress, Warning, Result, Error, Cancelled)}


def result_event(result: JobResult) -> Result:
    return Result(asdict(result))
