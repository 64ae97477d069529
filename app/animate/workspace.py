"""The output folder of `animate`: what it holds (`animate.json` records what this command wrote there and
the keys of its cached steps), so a second run reuses what is done and a folder with other files is refused."""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from ...core.errors import UserError

MANIFEST = "animate.json"
FORMAT = "neural-talking-heads/animate"
VERSION = 1
FILES = {"person": "person.safetensors", "driver_track": "driver_track.json", "curves": "curves.json",
         "track": "track.json", "frames": "frames", "video": "animation.mp4"}
FRAME_NAME = "frame_"


def digest(path: str | os.PathLike) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def cache_key(*parts) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


class Workspace:
    """DIR and its manifest. Reading it writes nothing; `claim` creates the folder and marks it ours."""

    def __init__(self, out: str | os.PathLike):
        self.out = Path(out)
        self.manifest = {"format": FORMAT, "version": VERSION, "cache": {}}
        if self.out.exists() and not self.out.is_dir():
            raise UserError(f"{self.out} is a file; give a folder for --out")
        if not self.out.is_dir():
            return
        path = self.out / MANIFEST
        names = [p.name for p in self.out.iterdir() if not _temporary(p.name)]
        if path.is_file():
            try:
                data = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                data = None
            if not isinstance(data, dict) or data.get("format") != FORMAT or not isinstance(data.get("cache"), dict):
                raise UserError(f"{path} is not this command's record; choose an empty folder for --out")
            self.manifest = data
        ours = {MANIFEST, *FILES.values(), *self.manifest.get("also", [])}
        foreign = sorted(n for n in names if n not in ours) if path.is_file() else names
        if foreign:
            raise UserError(f"{self.out} holds {foreign[0]}" + (f" and {len(foreign) - 1} more" if len(foreign) > 1 else "")
                            + " that `animate` did not write; choose an empty folder for --out or move "
                            + ("it" if len(foreign) == 1 else "them") + " away")

    def path(self, name: str) -> Path:
        return self.out / FILES[name]

    def cached(self, name: str, key: str) -> Path | None:
        """The file of a cached step if it was made from `key` and is still as written."""
        entry = self.manifest["cache"].get(name)
        path = self.path(name)
        if isinstance(entry, dict) and entry.get("key") == key and path.is_file() and digest(path) == entry.get("sha256"):
            return path
        return None

    def value(self, name: str, key: str):
        """A value cached in the manifest itself (no file) if it was made from `key`."""
        entry = self.manifest["cache"].get(name)
        return entry.get("value") if isinstance(entry, dict) and entry.get("key") == key else None

    def claim(self) -> None:
        try:
            self.out.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise UserError(f"cannot create {self.out}: {e.strerror}; choose a folder you can write to") from None
        self.save()

    def record(self, name: str, key: str, value=None) -> None:
        entry = {"key": key}
        if value is not None:
            entry["value"] = value
        elif self.path(name).is_file():
            entry["sha256"] = digest(self.path(name))
        self.manifest["cache"][name] = entry
        self.save()

    def write_text(self, name: str, text: str) -> bool:
        """Write a step's file unless it already holds exactly `text` (a file's bytes key the resume)."""
        from ...core.atomic import write_atomic

        path = self.path(name)
        if path.is_file() and path.read_bytes() == text.encode("utf-8"):
            return False
        write_atomic(path, text)
        return True

    def drop_stale_frames(self, numbers: list[int]) -> None:
        """Remove the frames an earlier run of this command rendered that the current track no longer has (a
        shorter driver), so that the folder holds this animation only; remember the current ones."""
        from ...core.frame_names import frame_name

        current = set(numbers)
        for n in set(self.manifest.get("frames", [])) - current:
            (self.path("frames") / frame_name(FRAME_NAME, int(n))).unlink(missing_ok=True)
        self.manifest["frames"] = sorted(current)
        self.save()

    def save(self) -> None:
        from ...core.atomic import write_json

        write_json(self.out / MANIFEST, self.manifest)


def record_as_ours(out: Path, written: Path) -> None:
    """A file written into DIR at the user's request (`--json DIR/NAME`) is this command's too: recorded, so
    that the next run does not take it for someone else's."""
    from ...core.atomic import write_json

    if written.resolve().parent == out.resolve():
        manifest = out / MANIFEST
        data = json.loads(manifest.read_text(encoding="utf-8"))
        if written.name not in data.setdefault("also", []):
            data["also"].append(written.name)
            write_json(manifest, data)


def _temporary(name: str) -> bool:
    """A temporary file a killed write may leave (core.atomic's `.<name>.<random>.tmp`, `<name>.tmp`)."""
    return name.endswith(".tmp")
