"""`python -m core export WHAT ...`: sequence, flipbook, video and onnx.

    python -m core export sequence FRAMES_DIR --out DIR --format png16     re-encode frames (png8, png16, exr)
    python -m core export flipbook FRAMES_DIR --out ATLAS.png --columns 8  one texture + ATLAS.json
    python -m core export video FRAMES_DIR --out PREVIEW.mp4 --fps 25      H.264 preview
    python -m core export video FRAMES_DIR --out TAKE.mp4 --fps 25 --audio VOICE.wav   ... with sound
    python -m core export onnx PERSON.safetensors --out MODEL.onnx         the person model as ONNX

FRAMES_DIR holds one numbered sequence (`name####.png` or `.exr`, as `python -m core generate` writes);
with several, `--name` picks one. Every written image carries the provenance metadata, XMP and the
watermark; PNG and MP4 files also carry Content Credentials (C2PA), signed by this installation's local
identity unless --c2pa-key/--c2pa-cert name yours or --no-c2pa turns them off (docs/PROVENANCE.md).
"""
from __future__ import annotations

import argparse
from pathlib import Path

from ...core.errors import UserError
from ...core.progress import report
from ..output import bar as progress_bar, info
from .options import add_signing_arguments

FORMATS = {"png8": ("png", 8), "png16": ("png", 16), "exr": ("exr", None)}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from ...export.onnx_model import MIN_OPSET

    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.epilog = "examples:\n" + __doc__.split("\n\n")[1] + "\n\n" + __doc__.split("\n\n")[2]
    sub = parser.add_subparsers(dest="what", metavar="WHAT", required=True)

    p = sub.add_parser("sequence", help="re-encode a folder of frames as PNG (8 or 16 bit) or OpenEXR",
                       description="Re-encode a numbered sequence as 8-bit PNG, 16-bit PNG or half-float linear "
                                   "OpenEXR, keeping its frame numbers (or renumbering from --start).")
    _frames_arguments(p)
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--format", choices=sorted(FORMATS), default="png8", help="png8, png16 or exr (default png8)")
    p.add_argument("--out-name", default="frame_", help="output file name prefix (default frame_)")
    p.add_argument("--start", type=int, help="renumber the frames from this number (default: keep the numbers)")
    p.add_argument("--workers", type=int, help="encoding threads (default: one per CPU core)")
    p.add_argument("--overwrite", action="store_true", help="replace frames of the same name in --out")
    add_signing_arguments(p)

    p = sub.add_parser("flipbook", help="pack frames into one atlas texture for game VFX (+ JSON sidecar)",
                       description="Pack the frames into a grid, left to right and top to bottom (Unreal SubUV, "
                                   "Unity Texture Sheet Animation), each edge-extended into its padding, and "
                                   "write ATLAS.json beside the atlas.")
    _frames_arguments(p)
    p.add_argument("--out", required=True, help="atlas image, ATLAS.png or ATLAS.exr")
    p.add_argument("--columns", type=int, help="frames per row (default: about the square root of the count)")
    p.add_argument("--padding", type=int, default=2, help="edge-extended border around each frame, in pixels "
                                                          "(default 2)")
    p.add_argument("--fps", type=float, default=30.0, help="playback rate recorded in the sidecar (default 30)")
    p.add_argument("--power-of-two", action="store_true", help="make the atlas sides powers of two")
    p.add_argument("--scale", type=float, default=1.0, help="resize the frames by this factor first (default 1)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing atlas and sidecar")
    add_signing_arguments(p)

    p = sub.add_parser("video", help="encode frames as an H.264 MP4 preview",
                       description="Encode the frames as an MP4 (H.264, yuv420p) at the given frame rate.")
    _frames_arguments(p)
    p.add_argument("--out", required=True, help="the video file, X.mp4")
    p.add_argument("--fps", type=float, required=True, help="frame rate (the Blender scene's)")
    p.add_argument("--crf", type=int, help="x264 quality, lower is better (default 16; 12 under 256 pixels)")
    p.add_argument("--audio", metavar="FILE", help="sound to mux as AAC: a sound file, or a video whose sound to "
                   "use; cut or padded with silence to the video's length")
    p.add_argument("--audio-offset", type=float, default=0.0, metavar="SECONDS",
                   help="where the first frame sits in the sound, in seconds (default 0; negative: silence first)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing video")
    add_signing_arguments(p)

    p = sub.add_parser("onnx", help="export a person model to ONNX",
                       description="Export a person model as one ONNX file: input 'landmarks' (batch, 68, 2) in "
                                   "reference-image pixels, output 'image' (batch, 3, H, W) in [0, 1].")
    p.add_argument("person", help="person model file (.safetensors) from `python -m core finetune`")
    p.add_argument("--out", required=True, help="the ONNX file to write (MODEL.onnx)")
    p.add_argument("--opset", type=int, default=MIN_OPSET, help=f"ONNX opset, {MIN_OPSET} or newer "
                   f"(default {MIN_OPSET})")
    p.add_argument("--overwrite", action="store_true", help="replace an existing file")


def _frames_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("frames", metavar="FRAMES_DIR", help="folder holding numbered frames (name####.png or .exr)")
    p.add_argument("--name", help="which sequence in FRAMES_DIR, by its name prefix (default: the only one)")


def run(args: argparse.Namespace) -> int:
    return {"sequence": _sequence, "flipbook": _flipbook, "video": _video, "onnx": _onnx}[args.what](args)


def _source(args) -> list[tuple[int, Path]]:
    """(frame number, path) of every frame of the chosen sequence in FRAMES_DIR, in order."""
    from ...export.sequence import find_sequence, sequence_numbers

    name, ext, _ = find_sequence(args.frames, args.name)
    return list(sequence_numbers(args.frames, name, ext).items())


def _sequence(args) -> int:
    from ...export.sequence import SequenceWriter, read_srgb

    source = _source(args)
    ext, depth = FORMATS[args.format]
    signer = _signer(args, ext)
    bar = progress_bar("sequence")
    start = args.start if args.start is not None else source[0][0]
    with SequenceWriter(args.out, name=args.out_name, ext=ext, start=start, bit_depth=depth, workers=args.workers,
                        overwrite=args.overwrite, signer=signer) as writer:
        for k, (number, path) in enumerate(source):
            pixels = read_srgb(path)
            target = start + k if args.start is not None else number
            writer.write(target, pixels[..., :3], pixels[..., 3] if pixels.shape[2] == 4 else None)
            report(bar, k + 1, len(source), "sequence: frames")
    if bar:
        bar.close()
    info(f"{len(writer.written)} frames written to {writer.folder} as {args.format}")
    return 0


def _flipbook(args) -> int:
    import numpy as np

    from ...export.flipbook import scale_frames, write_flipbook
    from ...export.sequence import read_srgb

    source = _source(args)
    out = Path(args.out)
    if out.suffix.lower() not in (".png", ".exr"):
        raise UserError(f"{out}: the atlas is written as PNG or EXR; give a name ending in .png or .exr")
    signer = _signer(args, out.suffix.lower().lstrip("."))
    bar = progress_bar("flipbook")
    frames = []
    for k, (_, path) in enumerate(source):
        pixels = read_srgb(path)
        frames.append(pixels if out.suffix.lower() == ".exr" else np.rint(pixels * 255).astype(np.uint8))
        report(bar, k + 1, len(source), "reading frames")
    frames = scale_frames(frames, args.scale)
    atlas, sidecar = write_flipbook(frames, out, columns=args.columns, padding=args.padding,
                                    power_of_two=args.power_of_two, fps=args.fps,
                                    frame_numbers=[n for n, _ in source], overwrite=args.overwrite, progress=bar,
                                    signer=signer)
    if bar:
        bar.close()
    info(f"wrote {atlas} and {sidecar} ({len(frames)} frames)")
    return 0


def _video(args) -> int:
    from ...export.video import sequence_frames, write_video

    source = _source(args)
    signer = _signer(args, "mp4")
    bar = progress_bar("video")
    path = write_video(args.out, sequence_frames(p for _, p in source), args.fps, crf=args.crf,
                       overwrite=args.overwrite, total=len(source), progress=bar, audio=args.audio,
                       audio_offset=args.audio_offset, signer=signer)
    if bar:
        bar.close()
    sound = f", sound from {args.audio}" if args.audio else ""
    info(f"wrote {path} ({len(source)} frames at {args.fps:g} fps{sound})")
    return 0


def _onnx(args) -> int:
    from ...export.onnx_model import INPUT, OUTPUT, data_file, export_person

    path = export_person(args.person, args.out, opset=args.opset, overwrite=args.overwrite)
    size = sum(p.stat().st_size for p in (path, data_file(path)) if p.exists())
    info(f"wrote {path} ({size / 1e6:.1f} MB, opset {args.opset}; input '{INPUT}' (batch, 68, 2), "
          f"output '{OUTPUT}' (batch, 3, H, W))")
    return 0


def _signer(args, ext: str):
    """The signer the options ask for, after printing the signing status line (EXR: no C2PA binding)."""
    from ...export.content_credentials import open_signer

    if ext == "exr":
        info("no Content Credentials: C2PA has no EXR binding; frames carry XMP and the watermark")
        return None
    signer, status = open_signer(args.c2pa_key, args.c2pa_cert, enabled=not args.no_c2pa)
    info(status.message)
    return signer
