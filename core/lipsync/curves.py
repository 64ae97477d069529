"""The expression-curve file: per-frame ARKit weights and the phonemes they came from (JSON, versioned).

The format is documented in `docs/EXPRESSION_CURVES.md`. `ExpressionCurves.save` writes it atomically;
`ExpressionCurves.load` refuses a bad file with one `UserError` line that names the problem.
"""
from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from ..atomic import write_atomic
from ..errors import UserError
from ..geometry import retime
from ..text_file import parse_json, read_text
from .phonemes import Phoneme

FORMAT = "talking-heads-expression-curves"
VERSION = 1
MAX_FPS = 1000.0
REWRITE = "write it again with `python -m core lipsync`"


@dataclass
class ExpressionCurves:
    """`weights` (frames, len(keys)) float32 in [0, 1]; frame i is at time i / fps of the source audio."""

    fps: float
    keys: list[str]
    weights: np.ndarray
    phonemes: list[Phoneme] = field(default_factory=list)
    source: str = ""
    duration: float | None = None
    settings: dict = field(default_factory=dict)

    def __post_init__(self):
        self.weights = np.asarray(self.weights, dtype=np.float32).reshape(-1, len(self.keys))

    def resample(self, fps: float) -> "ExpressionCurves":
        """The curves at `fps` (a scene's rate), by the one retiming rule (core/geometry/retime.py)."""
        weights = retime.resample(self.weights, self.fps, fps)
        return replace(self, fps=float(fps), weights=weights) if weights is not self.weights else self

    @property
    def frame_count(self) -> int:
        return len(self.weights)

    def curve(self, key: str) -> np.ndarray:
        """One key's weights (frames,)."""
        if key not in self.keys:
            raise KeyError(key)
        return self.weights[:, self.keys.index(key)]

    def to_dict(self) -> dict:
        return {
            "format": FORMAT,
            "version": VERSION,
            "fps": float(self.fps),
            "frame_count": self.frame_count,
            "duration": None if self.duration is None else round(float(self.duration), 4),
            "source": self.source,
            "settings": self.settings,
            "keys": list(self.keys),
            "weights": [[round(float(v), 4) for v in row] for row in self.weights],
            "phonemes": [{"phone": p.name, "start": round(p.start, 4), "end": round(p.end, 4)}
                         for p in self.phonemes],
        }

    def to_json(self) -> str:
        data = self.to_dict()
        weights = data.pop("weights")
        phonemes = data.pop("phonemes")
        # one frame / phoneme per line: readable and diff-able, still plain JSON
        head = json.dumps(data, indent=1)[:-2]
        rows = ",\n  ".join(json.dumps(row) for row in weights)
        phones = ",\n  ".join(json.dumps(p) for p in phonemes)
        return f'{head},\n "weights": [\n  {rows}\n ],\n "phonemes": [\n  {phones}\n ]\n}}\n'

    def save(self, path: str | os.PathLike) -> None:
        write_atomic(path, self.to_json())

    @classmethod
    def load(cls, path: str | os.PathLike) -> ExpressionCurves:
        path = Path(path)
        text = read_text(path, "expression-curve file", REWRITE)
        return cls.from_dict(parse_json(text, path.name, REWRITE), path.name)

    @classmethod
    def from_dict(cls, data, name: str = "expression curves") -> ExpressionCurves:
        def bad(problem: str) -> UserError:
            return UserError(f"{name} is not a valid expression-curve file: {problem}; {REWRITE}")

        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise bad(f'its "format" is not "{FORMAT}"')
        version = data.get("version")
        if not _is_int(version) or version < 1:
            raise bad('"version" must be a positive integer')
        if version > VERSION:
            raise UserError(f"{name} is an expression-curve file of version {version}, newer than this program "
                            f"reads ({VERSION}); update Neural Talking Heads")
        fps = data.get("fps")
        if not _is_number(fps) or not 0 < fps <= MAX_FPS:
            raise bad(f'"fps" must be a number above 0 and at most {MAX_FPS:g}')
        keys = data.get("keys")
        if not isinstance(keys, list) or not keys or not all(isinstance(k, str) and k for k in keys):
            raise bad('"keys" must be a list of shape-key names')
        if len(set(keys)) != len(keys):
            raise bad('"keys" names a key twice')
        count = data.get("frame_count")
        weights = data.get("weights")
        if not _is_int(count) or count < 1:
            raise bad('"frame_count" must be a positive integer')
        if not isinstance(weights, list) or len(weights) != count:
            got = len(weights) if isinstance(weights, list) else "no"
            raise bad(f'"weights" must hold frame_count ({count}) frames, it holds {got}')
        for i, row in enumerate(weights):
            if not isinstance(row, list) or len(row) != len(keys) or not all(_is_number(v) for v in row):
                raise bad(f"frame {i} of \"weights\" must be {len(keys)} numbers, one per key")
        array = np.asarray(weights, dtype=np.float64)
        if not np.all(np.isfinite(array)) or array.min() < 0 or array.max() > 1:
            frame = int(np.argwhere(~(np.isfinite(array) & (array >= 0) & (array <= 1)))[0][0])
            raise bad(f"frame {frame} has a weight outside 0 to 1")
        phonemes = []
        raw = data.get("phonemes", [])
        if not isinstance(raw, list):
            raise bad('"phonemes" must be a list')
        last = 0.0
        for i, p in enumerate(raw):
            if not (isinstance(p, dict) and isinstance(p.get("phone"), str) and _is_number(p.get("start"))
                    and _is_number(p.get("end"))):
                raise bad(f'phoneme {i} must have a "phone" name and numeric "start" and "end"')
            if not last - 1e-6 <= p["start"] <= p["end"]:
                raise bad(f"phoneme {i} starts before the one ahead of it or ends before it starts")
            last = float(p["end"])
            phonemes.append(Phoneme(p["phone"], float(p["start"]), float(p["end"])))
        duration = data.get("duration")
        if duration is not None and (not _is_number(duration) or duration < 0):
            raise bad('"duration" must be a non-negative number of seconds')
        source = data.get("source", "")
        settings = data.get("settings", {})
        if not isinstance(source, str) or not isinstance(settings, dict):
            raise bad('"source" must be a string and "settings" an object')
        return cls(float(fps), list(keys), array.astype(np.float32), phonemes, source,
                   None if duration is None else float(duration), settings)


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)

