"""`python -m core animate PHOTO... --driver DRIVER --out DIR`: photos and a driver to frames and an MP4 with
sound, in one command (`app.animate`)."""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from ...core.landmarks.detect import BACKENDS
from ..output import info, write_data
from .options import add_preset_argument, check_json_folder, chosen_preset


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("photos", nargs="+", metavar="PHOTO",
                   help="one or a few photos of the face; the first sets the frames' size and framing")
    p.add_argument("--driver", required=True, metavar="DRIVER",
                   help="what moves the face: a video, a landmark track (JSON), expression curves (JSON, from "
                        "`lipsync`) or a sound file (WAV, MP3, ...: lip-synced)")
    p.add_argument("--out", required=True, metavar="DIR",
                   help="folder for everything this command writes (new or empty, or one it wrote before)")
    add_preset_argument(p, "fine-tuning preset", describe=True)
    p.add_argument("--retarget", choices=("relative", "absolute"), default=None,
                   help="video and track drivers: relative (default) moves the photo's face as the driver's moves; "
                        "absolute uses the driver's face shape (the same person)")
    p.add_argument("--fps", type=float, default=None,
                   help="frame rate of the animation (default: the driver's own; a sound file: 25)")
    p.add_argument("--audio", metavar="SOUND", default=None,
                   help="the MP4's sound (default: the driving video's own, the sound file driver, or the recording "
                        "named in expression curves where it lies beside them)")
    p.add_argument("--no-audio", action="store_true", help="write the MP4 without sound")
    p.add_argument("--backend", choices=BACKENDS, default="auto",
                   help="landmark detector for the photos and a driving video (default: auto)")
    p.add_argument("--stride", type=int, default=1, help="a driving video: use every k-th frame (default 1)")
    p.add_argument("--neutral", type=int, default=None, metavar="N",
                   help="the driver's neutral frame, by index (default: the most closed mouth and most open eyes)")
    p.add_argument("--prior", default=None, help="meta-learned checkpoint folder (default: the shipped models/prior)")
    p.add_argument("--device", default="auto", help="auto, cpu or cuda (default auto)")
    p.add_argument("--json", metavar="OUT", default=None,
                   help="also write where everything is as JSON to this file (- for standard output)")


def run(args: argparse.Namespace) -> int:
    from ..animate import FRAME_NAME, animate, record_as_ours

    inside = args.json and args.json != "-" and Path(args.json).resolve().parent == Path(args.out).resolve()
    if not inside:   # JSON inside DIR: the folder is created by the run
        check_json_folder(args.json)
    result = animate(args.photos, args.driver, args.out, preset=chosen_preset(args), retarget=args.retarget,
                     fps=args.fps, audio=args.audio, no_audio=args.no_audio, backend=args.backend,
                     stride=args.stride, neutral=args.neutral, prior=args.prior, device=args.device)
    info(f"\noutputs in {args.out}:\n"
         f"  video:        {result['video']}" + (f" (sound: {Path(result['sound']).name})" if result["sound"] else "")
         + f"\n  frames:       {result['frames_folder']}/{FRAME_NAME}####.png ({result['frames']})\n"
         f"  person model: {result['person']}\n"
         f"  track:        {result['track']} (in the photo's pixels)"
         + (f"\n  driver track: {result['driver_track']}" if result["driver_track"] else "")
         + (f"\n  curves:       {result['curves']}" if result["curves"] else ""))
    if args.json == "-":
        write_data(json.dumps(result, indent=1))
    elif args.json:
        from ...core.atomic import write_json

        write_json(args.json, result)
        record_as_ours(Path(args.out), Path(args.json))
    return 0
