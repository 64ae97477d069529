"""The worker protocol: what the add-on asks (`python -m core worker`, app/worker.py) and what it hears back.

One JSON line per message. The request is the first line on the worker's stdin: a job, `{"job": NAME,
...fields}`. Events are lines on its stdout, `{"event": KIND, ...fields}`: `Progress` and `Warning` while it
works, then exactly one final event, `Result` (the job's result fields), `Error` (a one-line message) or
`Cancelled`. Both sides use these classes, so a field is named once; standard library only, so that
Blender's Python imports it without the worker's packages. The jobs themselves (each one's request, result
and work, declared together) are app/worker_jobs.py's: defining a `Job` registers it here.
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


# --- jobs: the request, and its result ---------------------------------------------------------------------------

@dataclass
class JobResult:
    """The fields of a job's Result event."""


JOBS: dict[str, type["Job"]] = {}   # every job by its NAME, filled as app/worker_jobs.py defines them


@dataclass
class Job:
    """A request. A job class names itself (`NAME`), its result (`Result`) and does its work (`run`); defining
    one registers it. Every job carries `online`: Blender's "Allow Online Access" (`bpy.app.online_access`).
    With it off the worker downloads nothing (`core.online`) and says what it skipped."""
    NAME: ClassVar[str] = ""
    Result: ClassVar[type[JobResult]] = JobResult
    online: bool = field(default=True, kw_only=True)

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if cls.NAME:
            if cls.NAME in JOBS:
                raise TypeError(f"two jobs are named {cls.NAME!r}")
            JOBS[cls.NAME] = cls

    def run(self, progress) -> JobResult:
        """Do the work (in the worker), reporting `progress(done, total, message)`; return the result."""
        raise NotImplementedError

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
