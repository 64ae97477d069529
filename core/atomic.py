"""Atomic writing, the one way the project puts a file on disk.

Every file goes to a hidden temporary name in its own folder (`.<name>.<random>.tmp`), is flushed to the
disk (fsync) and renamed onto its final name (`os.replace`, atomic on one file system): a crash, a full disk
or a cancelled run leaves the old file or the new one, never half of one, and no temporary file. An
`OSError` becomes a `UserError` with a one-line message that says what to do.
"""
from __future__ import annotations

import errno
import json
import os
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from .errors import UserError


def temporary_path(path: Path) -> Path:
    """A hidden name next to `path`, unique to this call, for writing before the atomic rename."""
    return path.with_name(f".{path.name}.{uuid.uuid4().hex[:12]}.tmp")


def write_error(error: OSError, path: Path) -> UserError:
    """The one-line message for a failed write of `path`."""
    if error.errno in (errno.ENOSPC, errno.EDQUOT):
        return UserError(f"the disk is full while writing {path}: free some space and run again "
                         f"(files already written are complete)")
    if error.errno in (errno.EACCES, errno.EPERM):
        return UserError(f"cannot write {path}: permission denied; choose a folder you can write to")
    if error.errno == errno.EROFS:
        return UserError(f"cannot write {path}: the disk is read-only; choose another folder")
    if error.errno == errno.ENOENT and not path.parent.is_dir():
        return UserError(f"cannot write {path}: the folder {path.parent} does not exist; create it first")
    return UserError(f"cannot write {path}: {error.strerror or error}; check the folder and the disk")


def remove_quietly(path: Path) -> None:
    try:
        if path.is_dir():
            for child in path.iterdir():
                remove_quietly(child)
            path.rmdir()
        else:
            path.unlink()
    except OSError:
        pass


def store(path: Path, data: bytes) -> None:
    """Write `data` to a new file at `path` (the one place that puts bytes on disk; `atomic_path` syncs it)."""
    with open(path, "xb") as f:
        f.write(data)


def _sync(path: Path) -> None:
    """Flush a file another library wrote (or every file of a folder) to the disk."""
    for file in (path.rglob("*") if path.is_dir() else [path]):
        if file.is_file():
            fd = os.open(file, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)


@contextmanager
def atomic_path(path: str | os.PathLike, *, overwrite: bool = True) -> Iterator[Path]:
    """`with atomic_path(p) as tmp:` write the file (or a folder) at `tmp` with any library; on leaving the
    block it is flushed and renamed onto `p`. On an error nothing is left behind."""
    path = Path(path)
    if not overwrite and path.exists():
        raise UserError(f"{path} already exists; choose another name or allow overwriting it")
    tmp = temporary_path(path)
    try:
        yield tmp
        _sync(tmp)
        os.replace(tmp, path)
    except OSError as e:
        remove_quietly(tmp)
        raise write_error(e, path) from None
    except BaseException:
        remove_quietly(tmp)
        raise


def write_atomic(path: str | os.PathLike, data: bytes | str, *, overwrite: bool = True) -> Path:
    """Write `data` (text is UTF-8) to `path` through a temporary file and a rename."""
    with atomic_path(path, overwrite=overwrite) as tmp:
        store(tmp, data.encode("utf-8") if isinstance(data, str) else data)
    return Path(path)


def write_json(path: str | os.PathLike, data) -> Path:
    return write_atomic(path, json.dumps(data, indent=1, allow_nan=False) + "\n")
