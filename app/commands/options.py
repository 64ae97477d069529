"""Options and output checks that several commands share, each defined once."""
from __future__ import annotations

import argparse
from pathlib import Path

from ...core.errors import UserError
from ...core.presets import DEFAULT_PRESET, PRESET_NAMES, PRESETS, Preset, preset_named


def add_preset_argument(parser: argparse.ArgumentParser, what: str, describe: bool = False) -> None:
    """--preset, a fine-tuning preset by name (`core.presets`); its help starts with `what`. With `describe`
    the help says what each preset does and the usage line lists their names; without, it shows PRESET."""
    help_text = f"{what} (default {DEFAULT_PRESET.name})"
    if describe:
        help_text += ": " + "; ".join(f"{preset.name}: {preset.description}" for preset in PRESETS)
    parser.add_argument("--preset", default=DEFAULT_PRESET.name, choices=sorted(PRESET_NAMES),
                        metavar=None if describe else "PRESET", help=help_text)


def chosen_preset(args: argparse.Namespace) -> Preset:
    """The preset of `add_preset_argument`'s option (argparse has refused any other name)."""
    return preset_named(args.preset)


def add_signing_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of every command that writes PNG or MP4 files: --c2pa-key, --c2pa-cert, --no-c2pa."""
    group = parser.add_argument_group("Content Credentials (C2PA)")
    group.add_argument("--c2pa-key", metavar="KEY", help="private key (PEM) to sign with; default: this "
                       "installation's local identity, which validators show as an untrusted signer")
    group.add_argument("--c2pa-cert", metavar="CERT", help="the key's certificate chain (PEM), the signing "
                       "certificate first (needed with --c2pa-key)")
    group.add_argument("--no-c2pa", action="store_true", help="write no Content Credentials (files still carry "
                       "XMP and the watermark)")


def check_json_folder(json_out: str | None) -> None:
    """Before any work: the folder of a --json file must exist (- is standard output)."""
    if json_out and json_out != "-" and not Path(json_out).resolve().parent.is_dir():
        raise UserError(f"cannot write {json_out}: its folder does not exist; create it first")


def track_destination(out: str) -> Path | None:
    """The --out of a command that writes a track (None: standard output), its folder checked before any
    work is done."""
    if out == "-":
        return None
    path = Path(out)
    if not path.parent.is_dir():
        raise UserError(f"cannot write {path}: the folder {path.parent} does not exist; create it first")
    return path


def write_track(track, out: Path | None) -> None:
    """A track (`core.track.track_file.Track`) to `track_destination`'s path, or to standard output."""
    from ..output import write_data

    if out is None:
        write_data(track.to_json())
    else:
        track.save(out)
