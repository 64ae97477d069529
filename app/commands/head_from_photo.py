"""`python -m core head-from-photo PHOTO --out HEAD.npz [--focal PX]`: a head built from the photo itself, its
UVs the photo's pixels (core.head.from_photo), in metres in the photo camera's frame."""
from __future__ import annotations

import argparse

from ..output import info


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("photo", metavar="PHOTO", help="a photo with one face (the person model's reference)")
    parser.add_argument("--out", required=True, metavar="HEAD.npz", help="the head mesh to write (.npz)")
    parser.add_argument("--focal", type=float, metavar="PX",
                        help="the camera's focal length in photo pixels (default: a 50 mm lens on a 36 mm "
                             "sensor over the photo's longer side)")


def run(args: argparse.Namespace) -> int:
    from ...core.head.from_photo import head_from_photo_file

    path, focal = head_from_photo_file(args.photo, args.out, focal=args.focal)
    info(f"wrote {path}: the head of {args.photo}, in metres in its camera's frame (focal {focal:.1f} px)")
    return 0
