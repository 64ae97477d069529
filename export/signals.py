"""The three provenance signals of a file, for `python -m core verify`: C2PA, XMP and the watermark.

Each survives different handling, so `verify` reads all three and reports each on its own line:

| signal | says | lost by |
| --- | --- | --- |
| C2PA manifest (`content_credentials`) | signed: created by a trained model, by this software, from a reference known by its hash; any change to the file is detected | re-saving without it, screenshots |
| XMP (`xmp`) | IPTC digital source type, software, statement | re-saving without metadata |
| watermark (`provenance`) | the pixels are this project's output | cropping, rotation, deliberate removal |

`file_signals(path)` returns a dict (what `--json -` prints); `format_lines(result)` the human lines,
tab-separated: `PATH  SIGNAL  STATE  DETAIL`; `passes(result)` whether the file shows at least one
synthetic signal and carries no tampered manifest.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ..core.errors import UserError
from ..core.video import VIDEO_SUFFIXES
from . import content_credentials, provenance, xmp

SIGNALS = ("c2pa", "xmp", "watermark")
VIDEO_FRAMES = 9                     # a video's watermark: the median score of its first frames


def file_signals(path: str | os.PathLike) -> dict:
    """{"path", "c2pa": {...content_credentials.read}, "xmp": {...xmp.describe},
    "watermark": {"found", "score", "threshold"}, "synthetic": any signal says so}.

    A signal that cannot be read reports {"error": message} in its place; nothing raises for one file."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"no such file: {path}; check the path")
    result = {"path": str(path), "c2pa": content_credentials.read(path)}
    try:
        result["xmp"] = xmp.file_info(path)
    except (UserError, OSError) as e:
        result["xmp"] = {"present": False, "error": str(e)}
    try:
        value = watermark_score(path)
        result["watermark"] = {"found": value >= provenance.THRESHOLD, "score": round(value, 2),
                               "threshold": provenance.THRESHOLD}
    except (UserError, OSError) as e:
        result["watermark"] = {"found": False, "score": None, "threshold": provenance.THRESHOLD, "error": str(e)}
    c2pa = result["c2pa"]
    result["synthetic"] = bool(
        c2pa["state"] in ("valid", "tampered") and c2pa.get("digital_source_type") in xmp.SYNTHETIC_SOURCE_TYPES
        or result["xmp"].get("synthetic") or result["watermark"]["found"])
    return result


def passes(result: dict) -> bool:
    """What `verify`'s exit status says of one file: some signal says synthetic and no manifest is tampered."""
    return result["synthetic"] and result["c2pa"]["state"] != "tampered"


def watermark_score(path: Path) -> float:
    """The watermark's detection score of an image, or the median over a video's first frames."""
    suffix = path.suffix.lower()
    if suffix in VIDEO_SUFFIXES:
        from .video import read_video

        frames = read_video(path, limit=VIDEO_FRAMES)
        return float(np.median([provenance.score(f) for f in frames]))
    if suffix == ".exr":
        from .sequence import read_srgb

        return provenance.score(read_srgb(path))
    if suffix == ".png":
        # the colour channels as stored: a UV frame's transparent texels carry the mark too, and compositing
        # over black (as `load_image` does for the model) would erase it there (11.7 -> 3.3 on a UV frame)
        from .sequence import read_image

        return provenance.score(read_image(path))
    from ..core.images import load_image

    return provenance.score(load_image(path))


def _short(source_type: str | None) -> str:
    return source_type.rsplit("/", 1)[-1] if source_type else "no source type"


def format_lines(result: dict) -> list[str]:
    """One line per signal: `PATH\\tc2pa\\tvalid\\ttrainedAlgorithmicMedia; signer ...` and so on."""
    path = result["path"]
    c2pa, meta, mark = result["c2pa"], result["xmp"], result["watermark"]
    if c2pa["state"] in ("valid", "tampered"):
        trust = "trusted signer" if c2pa.get("trusted") else "untrusted signer"
        detail = f"{_short(c2pa.get('digital_source_type'))}; {c2pa.get('signer') or 'unknown signer'} ({trust})"
        if c2pa["state"] == "tampered":
            detail = f"{c2pa['message']}; {detail}"
    else:
        detail = c2pa.get("message", "")
    lines = [f"{path}\tc2pa\t{c2pa['state']}\t{detail}"]
    if meta.get("error"):
        lines.append(f"{path}\txmp\terror\t{meta['error']}")
    elif meta.get("present"):
        lines.append(f"{path}\txmp\tpresent\t{_short(meta.get('digital_source_type'))}; {meta.get('software') or ''}"
                     .rstrip("; "))
    else:
        lines.append(f"{path}\txmp\tabsent\tno XMP packet")
    if mark.get("error"):
        lines.append(f"{path}\twatermark\terror\t{mark['error']}")
    else:
        lines.append(f"{path}\twatermark\t{'found' if mark['found'] else 'not found'}\t{mark['score']:.2f}")
    return lines
