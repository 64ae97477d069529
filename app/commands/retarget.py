"""`python -m core retarget TRACK --onto PHOTO|REF.json --out TRACK.json`: a track moved onto a photo's face."""
from __future__ import annotations

import argparse
from pathlib import Path

from ...core.landmarks.detect import BACKENDS
from ..output import info
from .options import track_destination, write_track


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("track", metavar="TRACK", help="a landmark track (JSON), e.g. from `python -m core track`")
    parser.add_argument("--onto", required=True, metavar="PHOTO|REF.json",
                        help="the face to move: a photo, or its landmarks from `python -m core detect IMAGE --json`")
    parser.add_argument("--out", "--json", dest="out", required=True, metavar="TRACK.json",
                        help="the track in the photo's pixels, for `python -m core generate`; - writes it to "
                             "standard output")
    parser.add_argument("--mode", "--retarget", dest="mode", choices=("relative", "absolute"), default="relative",
                        help="relative (default): the driver's motion onto the photo's face shape; absolute: the "
                             "driver's own face shape, aligned (self-reenactment)")
    parser.add_argument("--neutral", type=int, metavar="N",
                        help="the track's neutral frame (its index, from 0; default: the one with the most closed "
                             "mouth and most open eyes)")
    parser.add_argument("--backend", choices=BACKENDS, default="auto",
                        help="landmark detector for a photo (default: auto)")


def run(args: argparse.Namespace) -> int:
    from ...core.track.retarget import load_reference, retarget_track
    from ...core.track.track_file import Track

    driver = Track.load(args.track)
    out = track_destination(args.out)
    points, size = load_reference(args.onto, args.backend)
    track = retarget_track(driver, points, size, args.mode, args.neutral)
    write_track(track, out)
    info(f"wrote {out or 'the track to standard output'}: {len(track)} frames at {track.fps:g} fps, {args.mode} "
         f"retargeting onto {Path(args.onto).name} ({size[0]}x{size[1]})")
    return 0
