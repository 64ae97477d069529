"""Whether the program may use the network: one switch that every loader of downloadable weights checks.

Blender's "Allow Online Access" (`bpy.app.online_access`) travels with every job the add-on gives the worker,
which sets this switch (`allow_network`) before the work starts; the command line allows the network unless
TALKING_HEADS_OFFLINE=1. With the network off, a loader uses weights already in torch's cache and skips the
download of those that are not, saying once what it skipped (`skipped`, a warning: the worker passes it on to
the add-on as a one-line report).

No torch at import time (the add-on imports core modules): torch's cache folder is looked up when asked.
"""
from __future__ import annotations

import os
import warnings
from pathlib import Path
from urllib.parse import urlparse

_allowed = os.environ.get("TALKING_HEADS_OFFLINE", "").strip().lower() not in ("1", "true", "yes", "on")
_said: set[str] = set()


def allow_network(flag: bool) -> None:
    """Allow (True) or forbid (False) downloads for the rest of this process."""
    global _allowed
    _allowed = bool(flag)


def network_allowed() -> bool:
    return _allowed


def cached_weights(url: str) -> Path | None:
    """Where torch's hub cache keeps the file of `url` (as `torch.hub.load_state_dict_from_url` and
    face-alignment store it), if it is there."""
    try:
        from torch.hub import get_dir
    except ImportError:
        return None
    path = Path(get_dir()) / "checkpoints" / os.path.basename(urlparse(url).path)
    return path if path.is_file() else None


def may_fetch(*urls: str) -> bool:
    """True when the files of `urls` can be had: all already cached, or the network is allowed."""
    return _allowed or all(cached_weights(url) is not None for url in urls)


def skipped(what: str) -> None:
    """Say (once per process) that the download of `what` was skipped because online access is off."""
    message = f"online access is off: skipped downloading {what}"
    if message in _said:
        return
    _said.add(message)
    warnings.warn(message, stacklevel=2)
