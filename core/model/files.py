"""Model files: safetensors with a JSON header of our own (format name and version). Never pickle.

Every write goes to a temporary name in the same folder and is renamed into place, so a killed process
leaves either the old file or the new one, never half of one.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import torch

from ..errors import UserError

PICKLE_MAGIC = (b"\x80\x02", b"\x80\x03", b"\x80\x04", b"\x80\x05", b"PK\x03\x04")   # pickle, torch.save zip


def save_tensors(path: str | os.PathLike, tensors: dict[str, torch.Tensor], header: dict) -> None:
    from safetensors.torch import save_file

    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    tensors = {k: v.detach().contiguous().cpu() for k, v in tensors.items()}
    try:
        save_file(tensors, str(tmp), metadata={"talking_heads": json.dumps(header)})
        os.replace(tmp, path)
    except OSError as e:
        raise UserError(f"could not write {path}: {e.strerror or e}; free some space or choose another folder") from None
    finally:   # killed or failed mid-write: no half file left behind
        tmp.unlink(missing_ok=True)


def load_tensors(path: str | os.PathLike, kind: str, version: int) -> tuple[dict[str, torch.Tensor], dict]:
    """Tensors and header of a file of `kind`; any other file is refused with a clear error, unread."""
    from safetensors import safe_open

    path = Path(path)
    if not path.is_file():
        raise UserError(f"{path} does not exist: give the path of a {kind} file")
    with open(path, "rb") as f:
        head = f.read(8)
    if head.startswith(PICKLE_MAGIC):
        raise UserError(f"{path} is a pickle file, which can run code: refused. Use a .safetensors {kind} file")
    try:
        with safe_open(str(path), framework="pt") as f:
            header = json.loads((f.metadata() or {}).get("talking_heads", "null"))
            tensors = {k: f.get_tensor(k) for k in f.keys()}
    except UserError:
        raise
    except Exception:
        raise UserError(f"{path} is not a readable safetensors file (truncated or another format): "
                        f"re-create or re-download it") from None
    if not isinstance(header, dict) or header.get("format") != kind:
        raise UserError(f"{path} is not a {kind} file: give one written by Neural Talking Heads")
    if header.get("version") != version:
        raise UserError(f"{path} is a {kind} file of version {header.get('version')}, this release reads "
                        f"version {version}: re-create it with this release")
    return tensors, header
