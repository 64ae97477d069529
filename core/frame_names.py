"""Frame file names: `<name>####.<ext>`, numbered as Blender numbers frames (past 9999 they get more digits)."""
from __future__ import annotations

from .errors import UserError

DIGITS = 4


def frame_name(name: str, number: int, ext: str = "png") -> str:
    if number < 0:
        raise UserError(f"frame number {number} is negative; sequences are numbered from 0 up")
    return f"{name}{number:0{DIGITS}d}.{ext}"
