"""Files written the project's way: to a temporary name in the same folder, then renamed into place, so a
crash or a full disk never leaves a half-written file where a good one was."""
from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from core.errors import UserError


def write_text_atomic(path: str | os.PathLike, text: str) -> None:
    path = Path(path)
    folder = path.parent
    if not folder.is_dir():
        raise UserError(f"cannot write {path}: the folder {folder} does not exist; create it first")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    except OSError as e:
        raise UserError(f"cannot write in {folder} ({e.strerror}); choose another folder") from e
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException as e:
        if os.path.exists(tmp):
            os.unlink(tmp)
        if isinstance(e, OSError):
            raise UserError(f"cannot write {path} ({e.strerror}); check the disk space and permissions") from e
        raise


def write_json_atomic(path: str | os.PathLike, data) -> None:
    write_text_atomic(path, json.dumps(data, indent=1, allow_nan=False) + "\n")
