"""`python -m core generate PERSON TRACK --out DIR`: one frame per track frame (`app.generate`)."""
from __future__ import annotations

import argparse

from ..output import TqdmProgress, info
from .options import add_signing_arguments


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("person", help="person model file (.safetensors) from `python -m core finetune`")
    p.add_argument("track", help="landmark track (JSON) in the reference image's pixels")
    p.add_argument("--out", required=True, help="folder for the frames")
    p.add_argument("--name", default="frame_", help="frame file name prefix (frames are <name>####.png)")
    p.add_argument("--backend", default="torch", choices=["torch", "onnx"],
                   help="render with torch, or with onnxruntime from an ONNX export (--onnx)")
    p.add_argument("--onnx", help="ONNX model for --backend onnx")
    p.add_argument("--device", default="auto", help="auto, cpu or cuda")
    p.add_argument("--crop", action="store_true", help="write the model's square 256 crop instead of full frames "
                   "at the photo's own resolution")
    p.add_argument("--alpha", action="store_true", help="RGBA frames: the head opaque, the rest transparent")
    p.add_argument("--matte", action="store_true", help="also write the head matte as a grey sequence "
                   "matte_####.png")
    p.add_argument("--head-fit", help="a head fit (`python -m core fit-head`): each frame is also baked into the "
                   "head's UV space as head_####.png beside it")
    add_signing_arguments(p)


def run(args: argparse.Namespace) -> int:
    from ..generate import generate

    bar = TqdmProgress("generate")
    paths = generate(args.person, args.track, args.out, name=args.name, device=args.device,
                     backend=args.backend, onnx_path=args.onnx, crop_only=args.crop, progress=bar,
                     c2pa_key=args.c2pa_key, c2pa_cert=args.c2pa_cert, c2pa=not args.no_c2pa,
                     alpha=args.alpha, matte=args.matte, head_fit=args.head_fit)
    bar.close()
    info(f"{len(paths)} frames in {args.out}")
    return 0
