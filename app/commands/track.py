"""`python -m core track VIDEO --out TRACK.json`: a smoothed landmark track from a driving video."""
from __future__ import annotations

import argparse

from ...core.landmarks.detect import BACKENDS
from ..output import bar, info
from .options import track_destination, write_track


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("video", help="a driving video with one face (a phone's rotation tag is applied)")
    parser.add_argument("--out", "--json", dest="out", required=True, metavar="TRACK.json",
                        help="where to write the track (docs/TRACK_FORMAT.md); - writes it to standard output")
    parser.add_argument("--stride", type=int, default=1, help="use every k-th frame (default: 1)")
    parser.add_argument("--backend", choices=BACKENDS, default="auto",
                        help="landmark detector (default: auto, FAN where its weights load, else dlib)")
    parser.add_argument("--no-smooth", action="store_true", help="keep the raw per-frame landmarks")
    parser.add_argument("--with-3d", action="store_true", help="3D points (FAN backend only)")


def run(args: argparse.Namespace) -> int:
    from ...core.track.extract import extract_track

    out = track_destination(args.out)
    progress = bar("landmarks")
    try:
        track = extract_track(args.video, progress=progress, stride=args.stride, backend=args.backend,
                              smooth=not args.no_smooth, with_3d=args.with_3d)
    finally:
        if progress is not None:
            progress.close()
    write_track(track, out)
    stats = track.extraction
    info(f"wrote {out or 'the track to standard output'}: {len(track)} frames at {track.fps:g} fps, "
         f"{int(track.filled.sum())} without a face (filled), {stats['backend']}, "
         f"{1000 * stats['seconds_per_frame']:.1f} ms per frame")
    return 0
