"""`python -m core detect IMAGE [--backend auto|fan|dlib] [--json OUT|-]`: the 68 landmarks of a photo."""
from __future__ import annotations

import argparse
import json

from ...core.errors import UserError
from ...core.landmarks.detect import BACKENDS
from ..output import info, write_data
from .options import check_json_folder


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("image", help="a photo with one face")
    parser.add_argument("--backend", choices=BACKENDS, default="auto",
                        help="landmark detector (default: auto, FAN where its weights load, else dlib)")
    parser.add_argument("--with-3d", action="store_true", help="also 3D points (FAN backend only)")
    parser.add_argument("--json", metavar="OUT",
                        help="write the result as JSON to this file (- for standard output) instead of a table")


def run(args: argparse.Namespace) -> int:
    import numpy as np

    from ...core.images import load_image
    from ...core.landmarks.detect import detect_landmarks

    check_json_folder(args.json)
    image = load_image(args.image)
    found = detect_landmarks(image, backend=args.backend, with_3d=args.with_3d)
    if args.with_3d and found.points3d is None:
        raise UserError(f"3D points need the FAN backend; the {found.backend} backend gives 2D only")
    result = {
        "image": str(args.image),
        "image_size": [image.shape[1], image.shape[0]],
        "backend": found.backend,
        "faces_found": found.faces_found,
        "box": [round(v, 2) for v in found.box],
        "points": np.round(found.points.astype(np.float64), 3).tolist(),
        "points3d": None if found.points3d is None else np.round(found.points3d.astype(np.float64), 3).tolist(),
    }
    if args.json == "-":
        write_data(json.dumps(result, indent=1))
        return 0
    if args.json:
        from ...core.atomic import write_json

        write_json(args.json, result)
        info(f"wrote {args.json} ({found.backend}, {found.faces_found} face(s) found)")
        return 0
    # the table is the command's result, not an info line: it shows with --quiet too
    lines = [f"backend: {found.backend}", f"faces found: {found.faces_found}",
             "box: " + " ".join(f"{v:.1f}" for v in found.box)]
    write_data("\n".join(lines + [f"{i:2d} {x:8.2f} {y:8.2f}" for i, (x, y) in enumerate(found.points)]))
    return 0
