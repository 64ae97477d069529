"""`python -m core lipsync AUDIO --out KEYS.json`: expression curves from the speech in a sound or video file."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ...core.errors import UserError
from ..output import TqdmProgress, write_data


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("audio", metavar="AUDIO", help="a WAV or MP3 file, or a video with a sound track")
    parser.add_argument("--out", required=True, metavar="KEYS.json",
                        help="the expression-curve file to write (docs/EXPRESSION_CURVES.md); - for stdout")
    parser.add_argument("--fps", type=float, default=25.0, help="frames per second of the curves (default 25)")
    parser.add_argument("--transcript", metavar="TEXT|FILE", default=None,
                        help="what is said (English), as text or a text file, to align the phonemes to it")
    parser.add_argument("--intensity", type=float, default=1.0,
                        help="how strongly the mouth articulates, 0 to 2 (default 1)")
    parser.add_argument("--recogniser", choices=("phones", "words"), default="phones",
                        help="without a transcript: decode phones (any language, the default) or English words "
                             "(more exact for English): the phonemes of the file and the mouth's shapes")
    parser.add_argument("--jaw", choices=("learned", "rules"), default="learned",
                        help="how far the jaw opens: learned from the sound and both recognisers' phones (the "
                             "default; runs both recognisers) or the phones' openness times loudness (faster)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def read_transcript(value: str | None) -> str | None:
    """The transcript's text: `value` itself, or the contents of the file it names."""
    from ...core.text_file import read_text

    if value is None:
        return None
    path = Path(value)
    try:
        is_file = len(value) < 4096 and path.is_file()
    except OSError:
        is_file = False
    if not is_file:
        return value
    return read_text(path, "transcript file", "save the transcript as UTF-8 text")


def run(args: argparse.Namespace) -> int:
    from ...core.lipsync.sync import lipsync

    transcript = read_transcript(args.transcript)
    out = None if args.out == "-" else Path(args.out)
    if out is not None and not (out.parent if str(out.parent) else Path(".")).is_dir():
        raise UserError(f"{out.parent}: no such folder; create it or choose another --out")
    progress = None if args.quiet else TqdmProgress("lipsync")
    try:
        curves = lipsync(args.audio, fps=args.fps, transcript=transcript, intensity=args.intensity,
                         progress=progress, recogniser=args.recogniser, jaw=args.jaw)
    finally:
        if progress is not None:
            progress.close()
    if out is None:
        write_data(curves.to_json())
    else:
        curves.save(out)
        print(f"wrote {out}: {curves.frame_count} frames at {curves.fps:g} fps, "
              f"{sum(p.name != 'SIL' for p in curves.phonemes)} phonemes", file=sys.stderr)
    return 0
