"""`python -m core fit-head PHOTO MESH [--landmarks VERTS.json] [--size N] --out FIT.npz`: where the photo's
face lies on a head mesh (core.head.fit), for baking frames onto its UVs."""
from __future__ import annotations

import argparse
from pathlib import Path

from ...core.errors import UserError
from ..output import bar, info


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("photo", help="the reference photo (one face)")
    parser.add_argument("mesh", metavar="MESH", help="the head: .obj, .glb/.gltf or a mesh .npz, UV-mapped")
    parser.add_argument("--landmarks", metavar="VERTS.json",
                        help="the mesh's 68 landmark vertex indices (iBUG order): a JSON file holding a list of "
                             "68 (or ICT-FaceKit's vertex_indices.json), or the list itself; default: guessed "
                             "from renders of the mesh")
    parser.add_argument("--size", type=int, default=2048,
                        help="the UV map's side in texels, 1024 to 4096 usually (default 2048)")
    parser.add_argument("--out", required=True, metavar="FIT.npz",
                        help="the fit to write; an overlay PNG (FIT_overlay.png) goes beside it")


def landmark_indices(value: str):
    """--landmarks: a JSON list given inline, or a JSON file holding one."""
    from ...core.text_file import parse_json, read_text

    remedy = "give a JSON list of 68 vertex indices"
    text = value if value.lstrip().startswith("[") else read_text(value, "landmark vertex file", remedy)
    return parse_json(text, "--landmarks" if text is value else Path(value).name, remedy)


def run(args: argparse.Namespace) -> int:
    import warnings

    from ...core.head.fit import fit_head_files, landmark_vertex_list

    out = Path(args.out)
    if not out.resolve().parent.is_dir():
        raise UserError(f"cannot write {out}: the folder {out.parent} does not exist; create it first")
    landmarks = None
    if args.landmarks is not None:
        landmarks = landmark_vertex_list(landmark_indices(args.landmarks), "--landmarks").tolist()
    progress = bar("fit")
    try:
        result = fit_head_files(args.photo, args.mesh, out, landmarks=landmarks, size=args.size,
                                progress=progress)
    finally:
        if progress is not None:
            progress.close()
    for line in result["warnings"]:
        warnings.warn(line)
    info(f"wrote {result['fit']} ({args.size}x{args.size} texels, {result['landmark_source']} landmark vertices, "
         f"focal {result['focal']:.0f} px) and {result['overlay']}")
    return 0
