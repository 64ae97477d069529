"""Reading a text or JSON file the user named: each way it can fail is a one-line UserError that says what
the file should have been (`what`) and what to do (`remedy`)."""
from __future__ import annotations

import json
import os
from pathlib import Path

from .errors import UserError


def read_text(path: str | os.PathLike, what: str, remedy: str, encoding: str = "utf-8") -> str:
    path = Path(path)
    try:
        return path.read_text(encoding=encoding)
    except FileNotFoundError:
        raise UserError(f"{path}: no such {what}; check the path") from None
    except (OSError, UnicodeDecodeError) as e:
        raise UserError(f"cannot read {path} ({e}); {remedy}") from None


def parse_json(text: str, name: str, remedy: str):
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise UserError(f"{name} is not valid JSON (line {e.lineno}: {e.msg}); {remedy}") from None
    except ValueError as e:  # e.g. a number with more digits than Python converts
        raise UserError(f"{name} is not valid JSON ({e}); {remedy}") from None
    except RecursionError:
        raise UserError(f"{name} is not valid JSON (nested too deeply); {remedy}") from None
