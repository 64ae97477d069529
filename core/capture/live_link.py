"""iPhone face capture: Live Link Face CSV takes and Face Cap text exports, as ARKit weights per frame.

**Live Link Face** (Epic Games) records one CSV per take. Its header is

    Timecode,BlendShapeCount,EyeBlinkLeft,EyeLookDownLeft,...,TongueOut,HeadYaw,HeadPitch,HeadRoll,
    LeftEyeYaw,LeftEyePitch,LeftEyeRoll,RightEyeYaw,RightEyePitch,RightEyeRoll

(the 52 ARKit blend shapes in PascalCase, then 9 rotations). `Timecode` is `HH:MM:SS:FF.sss`: the time of
day, `FF` the frame within the second at the capture rate (60 fps unless the app was set otherwise) and
`.sss` the sub-frame as a fraction of a frame. The CSV does not say the rate: pass it, or it is inferred
from the largest frame number once the take spans a whole second (60 otherwise). The rotations are Unreal
rotator angles mapped from -180..180 degrees to -1..1 (Epic's ARKit face code divides degrees by 180), so
radians are the value times pi.

**Face Cap** (Bannaflak) exports text lines: `info,...`, then `bs,<blend shape names>` (ARKit's names with
`_L`/`_R` for Left/Right), then one `k,<milliseconds>,<head position xyz>,<head rotation xyz in degrees>,
<left eye xy>,<right eye xy>,<weights...>` per frame. Its rotation's x is the pitch, y the yaw, z the roll.
(The layout follows the open importers that read it; the rate is the median spacing of the timestamps.)

Both give a `FaceCapture`: its rate, start time, ARKit weights by their lowerCamelCase names (the rig's
spelling: `jawOpen`, `eyeBlinkLeft`) and the head's yaw, pitch and roll in radians; `resample` puts it on a
scene's frame rate. Bad files raise `UserError` with one line. No bpy, torch or image libraries here.
"""
from __future__ import annotations

import csv
import io
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

import numpy as np

from ..errors import UserError
from ..geometry import retime
from ..text_file import read_text

# Apple's ARFaceAnchor.BlendShapeLocation names, in Live Link Face's column order.
ARKIT_NAMES: tuple[str, ...] = (
    "eyeBlinkLeft", "eyeLookDownLeft", "eyeLookInLeft", "eyeLookOutLeft", "eyeLookUpLeft", "eyeSquintLeft",
    "eyeWideLeft", "eyeBlinkRight", "eyeLookDownRight", "eyeLookInRight", "eyeLookOutRight", "eyeLookUpRight",
    "eyeSquintRight", "eyeWideRight", "jawForward", "jawRight", "jawLeft", "jawOpen", "mouthClose",
    "mouthFunnel", "mouthPucker", "mouthRight", "mouthLeft", "mouthSmileLeft", "mouthSmileRight",
    "mouthFrownLeft", "mouthFrownRight", "mouthDimpleLeft", "mouthDimpleRight", "mouthStretchLeft",
    "mouthStretchRight", "mouthRollLower", "mouthRollUpper", "mouthShrugLower", "mouthShrugUpper",
    "mouthPressLeft", "mouthPressRight", "mouthLowerDownLeft", "mouthLowerDownRight", "mouthUpperUpLeft",
    "mouthUpperUpRight", "browDownLeft", "browDownRight", "browInnerUp", "browOuterUpLeft", "browOuterUpRight",
    "cheekPuff", "cheekSquintLeft", "cheekSquintRight", "noseSneerLeft", "noseSneerRight", "tongueOut",
)
HEAD_COLUMNS = ("HeadYaw", "HeadPitch", "HeadRoll")
LIVE_LINK_ROTATION_TO_RADIANS = math.pi   # -1..1 stands for -180..180 degrees
DEFAULT_FPS = 60.0
STANDARD_RATES = (24.0, 25.0, 30.0, 48.0, 50.0, 60.0, 120.0)
_TIMECODE = re.compile(r"^\s*(\d{1,2}):(\d{2}):(\d{2})[:;.](\d{1,3})(?:\.(\d+))?\s*$")
_BY_LOWER = {name.lower(): name for name in ARKIT_NAMES}


@dataclass(frozen=True)
class FaceCapture:
    """A face take: frame i is at `start + times[i]` seconds.

    `fps` is the take's frame rate; `start` the first frame's time in seconds (Live Link Face: the time of
    day of its timecode; Face Cap: its first timestamp); `times` (N,) seconds from the first frame,
    increasing, `times[0] == 0`; `weights` maps each ARKit name (lowerCamelCase) to (N,) float32 values in
    0..1; `head` (N, 3) float64 is yaw, pitch, roll in radians (zeros when the file has none, `has_head`
    False); `source` names the format."""

    fps: float
    start: float
    times: np.ndarray
    weights: dict[str, np.ndarray]
    head: np.ndarray
    source: str
    has_head: bool = True
    path: str = field(default="", compare=False)

    @property
    def frames(self) -> int:
        return len(self.times)

    @property
    def duration(self) -> float:
        return float(self.times[-1]) if len(self.times) else 0.0

    def resample(self, fps: float) -> FaceCapture:
        """The take at `fps` (a scene's rate) by the one retiming rule (core/geometry/retime.py): frame k at
        `start + k / fps`, weights and head angles interpolated linearly between the take's own frames."""
        weights = {name: retime.resample(values, self.fps, fps, times=self.times).astype(np.float32)
                   for name, values in self.weights.items()}
        unwrapped = np.unwrap(self.head, axis=0) if self.frames else self.head
        head = retime.resample(unwrapped, self.fps, fps, times=self.times)
        times = np.arange(len(head), dtype=np.float64) / fps
        return FaceCapture(float(fps), self.start, times, weights, head, self.source, self.has_head, self.path)

    def split_keys(self, available: Iterable[str]) -> tuple[list[str], list[str]]:
        """(the capture's keys that `available`, e.g. a rig's shape keys, has; those it lacks), ARKit order."""
        available = set(available)
        names = [name for name in ARKIT_NAMES if name in self.weights]
        return [n for n in names if n in available], [n for n in names if n not in available]


def read_face_capture(path: str | Path, fps: float | None = None) -> FaceCapture:
    """A Live Link Face CSV or Face Cap text export, by its content; `fps` is the capture rate of a Live Link
    Face take when known (it is not in the file)."""
    path = Path(path)
    text = read_text(path, "face capture (a Live Link Face .csv or a Face Cap .txt)",
                     "choose a Live Link Face .csv or a Face Cap .txt", encoding="utf-8-sig")
    first = next((line.strip() for line in text.splitlines() if line.strip()), "")
    if first.split(",")[0].strip().lower() in ("info", "bs", "k"):
        capture = parse_face_cap(text, name=path.name)
    else:
        capture = parse_live_link_csv(text, fps=fps, name=path.name)
    return FaceCapture(capture.fps, capture.start, capture.times, capture.weights, capture.head, capture.source,
                       capture.has_head, str(path))


# --- Live Link Face -----------------------------------------------------------------------------------------

def _timecode(text: str) -> tuple[int, int, int, int, float] | None:
    match = _TIMECODE.match(text)
    if not match:
        return None
    h, m, s, f, sub = match.groups()
    return int(h), int(m), int(s), int(f), float(f"0.{sub}") if sub else 0.0


def _number(text: str, line: int, column: str, name: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise UserError(f"{name} line {line}, column {column}: {text.strip()!r} is not a number; export the take "
                        f"again from the app") from None
    if not math.isfinite(value):
        raise UserError(f"{name} line {line}, column {column}: {text.strip()} is not a finite number; export the "
                        f"take again from the app")
    return value


def _infer_fps(timecodes: list[tuple[int, int, int, int, float]]) -> float:
    seconds = {tc[:3] for tc in timecodes}
    if len(seconds) < 3:  # no whole second seen: the largest frame number says nothing
        return DEFAULT_FPS
    top = max(tc[3] for tc in timecodes) + 1
    return next((rate for rate in STANDARD_RATES if rate >= top), float(top))


def parse_live_link_csv(text: str, fps: float | None = None, name: str = "the CSV") -> FaceCapture:
    """A Live Link Face take from its CSV text; `fps` the capture rate if known (else inferred, see above)."""
    rows = [row for row in csv.reader(io.StringIO(text.lstrip("\ufeff"))) if any(cell.strip() for cell in row)]
    if not rows:
        raise UserError(f"{name} is empty: export the take from Live Link Face as CSV")
    header = [cell.strip() for cell in rows[0]]
    lower = {cell.lower(): i for i, cell in enumerate(header)}
    if "timecode" not in lower:
        raise UserError(f"{name} has no Timecode column: it is not a Live Link Face CSV (its header starts "
                        f"Timecode,BlendShapeCount,EyeBlinkLeft,...)")
    missing = [n for n in ARKIT_NAMES if n.lower() not in lower]
    if missing:
        shown = ", ".join(n[0].upper() + n[1:] for n in missing[:4]) + (", ..." if len(missing) > 4 else "")
        raise UserError(f"{name} lacks {len(missing)} of the 52 ARKit columns ({shown}): export the take again "
                        f"from Live Link Face")
    if len(rows) < 2:
        raise UserError(f"{name} has a header but no frames: record a take with the face in view")
    has_head = all(c.lower() in lower for c in HEAD_COLUMNS)
    time_column = lower["timecode"]

    timecodes, values = [], []
    columns = [(n, lower[n.lower()]) for n in ARKIT_NAMES] + \
              ([(c, lower[c.lower()]) for c in HEAD_COLUMNS] if has_head else [])
    for number, row in enumerate(rows[1:], start=2):
        if len(row) != len(header):
            raise UserError(f"{name} line {number} has {len(row)} values where the header names {len(header)}: "
                            f"the file is cut or edited; export the take again")
        timecode = _timecode(row[time_column])
        if timecode is None:
            raise UserError(f"{name} line {number}: timecode {row[time_column].strip()!r} is not HH:MM:SS:FF(.sss); "
                            f"export the take again from Live Link Face")
        timecodes.append(timecode)
        values.append([_number(row[i], number, header[i], name) for _, i in columns])

    rate = float(fps) if fps else _infer_fps(timecodes)
    if rate <= 0 or not math.isfinite(rate):
        raise UserError(f"the capture rate must be a positive number of frames per second, not {fps}")
    seconds = []
    for number, (h, m, s, f, sub) in enumerate(timecodes, start=2):
        if f >= rate or m > 59 or s > 59:
            raise UserError(f"{name} line {number}: timecode {h:02d}:{m:02d}:{s:02d}:{f:02d} does not exist at "
                            f"{rate:g} fps; give the take's frame rate")
        seconds.append(h * 3600.0 + m * 60.0 + s + (f + sub) / rate)
    seconds = np.asarray(seconds)
    wrapped = np.diff(seconds) < -12 * 3600   # a take recorded across midnight
    seconds[1:] += 24 * 3600.0 * np.cumsum(wrapped)
    back = np.flatnonzero(np.diff(seconds) <= 0)
    if len(back):
        i = int(back[0]) + 1
        raise UserError(f"{name} line {i + 2}: timecode {rows[i + 1][time_column].strip()} does not come after "
                        f"{rows[i][time_column].strip()}; the rows must be one take in recording order")

    data = np.asarray(values, dtype=np.float64)
    weights = {n: data[:, k].astype(np.float32) for k, n in enumerate(ARKIT_NAMES)}
    head = data[:, len(ARKIT_NAMES):] * LIVE_LINK_ROTATION_TO_RADIANS if has_head else np.zeros((len(data), 3))
    return FaceCapture(rate, float(seconds[0]), seconds - seconds[0], weights, head, "Live Link Face", has_head)


# --- Face Cap -----------------------------------------------------------------------------------------------

def _face_cap_name(raw: str) -> str | None:
    name = raw.strip()
    name = re.sub(r"_L$", "Left", re.sub(r"_R$", "Right", name))
    return _BY_LOWER.get(name.lower())


def parse_face_cap(text: str, name: str = "the Face Cap file") -> FaceCapture:
    """A Face Cap take from its text export (see the module's description)."""
    names: list[str | None] | None = None
    stamps, heads, values = [], [], []
    for number, line in enumerate(text.lstrip("\ufeff").splitlines(), start=1):
        fields = [f.strip() for f in line.strip().split(",")]
        kind = fields[0].lower()
        if not line.strip() or kind == "info":
            continue
        if kind == "bs":
            names = [_face_cap_name(f) for f in fields[1:]]
            if not any(names):
                raise UserError(f"{name} line {number}: the blend shape names are not ARKit's; export from Face Cap "
                                f"again")
        elif kind == "k":
            if names is None:
                raise UserError(f"{name} line {number}: a frame comes before the 'bs,' line that names the blend "
                                f"shapes; export from Face Cap again")
            if len(fields) != 12 + len(names):
                raise UserError(f"{name} line {number} has {len(fields) - 12} weights where the 'bs,' line names "
                                f"{len(names)}: the file is cut or edited")
            numbers = [_number(f, number, str(i), name) for i, f in enumerate(fields[1:], start=2)]
            stamps.append(numbers[0] / 1000.0)
            pitch, yaw, roll = numbers[4:7]
            heads.append((math.radians(yaw), math.radians(pitch), math.radians(roll)))
            values.append(numbers[11:])
        else:
            raise UserError(f"{name} line {number} starts with {fields[0]!r}, not info, bs or k: it is not a Face "
                            f"Cap text export")
    if names is None:
        raise UserError(f"{name} has no 'bs,' line naming the blend shapes: it is not a Face Cap text export")
    if not stamps:
        raise UserError(f"{name} names blend shapes but has no frames ('k,' lines): record a take first")
    stamps = np.asarray(stamps)
    back = np.flatnonzero(np.diff(stamps) <= 0)
    if len(back):
        raise UserError(f"{name}: frame {int(back[0]) + 2} is not later than the one before it; the frames must "
                        f"be one take in recording order")
    fps = float(round(1.0 / float(np.median(np.diff(stamps))), 3)) if len(stamps) > 1 else DEFAULT_FPS
    data = np.asarray(values, dtype=np.float32)
    weights = {n: data[:, k] for k, n in enumerate(names) if n}
    return FaceCapture(fps, float(stamps[0]), stamps - stamps[0], weights, np.asarray(heads, dtype=np.float64),
                       "Face Cap", True)
