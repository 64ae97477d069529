"""Rendering: a person model and a landmark track -> one frame per track frame, at the reference's size.

Frames are written as `<name>####.png` through the export module (atomic writes, provenance marks). A job
file in the output folder records which frames this tool wrote and for which person and track: a second
run of the same job resumes from the first missing frame; a run of another job replaces only the frames
the earlier one wrote, and says so; files the tool did not write are never touched.

With a head fit (`core.head.fit`), each frame is also baked into the head's UV space (`core.head.bake`) and
written beside it as `<head_name>####.png`, through the same kind of writer, so the UV frames carry the same
provenance as the frames: metadata, XMP, Content Credentials and the watermark. The watermark is embedded
over the whole UV frame, unspared: sparing the face's texels (or the transparent ones) leaves mark() too
little room once most texels are transparent, so after three tries it marks everything anyway, 6 to 12
times slower (measured at 2048 x 2048, benchmarks/RESULTS.md); its ~1.5 grey levels of low-frequency
pattern keep the texture within 42 dB PSNR.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
from pathlib import Path

import numpy as np

from ..core.atomic import write_json
from ..core.errors import UserError
from ..core.frame_names import frame_name
from ..core.progress import Progress, report

JOB_FILE = ".talking_heads_job.json"
MATTE_NAME = "matte_"     # the head matte's grey sequence, beside the frames
DEFAULT_LAYERS = "rgb"    # what a job writes unless asked for the matte (job files before it say nothing)


def _digest(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()[:16]


def _plan(out_dir: Path, names: list[str], numbers: list[int], job: dict) -> tuple[list[int], str | None]:
    """Which frames to render (a frame missing from any of the sequences `names`, the frames' own first),
    and a note for the user when an earlier job's frames get replaced."""
    name = names[0]
    previous = {}
    if (out_dir / JOB_FILE).exists():
        try:
            previous = json.loads((out_dir / JOB_FILE).read_text())
        except (OSError, ValueError):
            previous = {}
    ours = set(previous.get("frames", [])) if previous.get("name") == name else set()
    foreign = [frame_name(s, n) for s in names for n in numbers if (out_dir / frame_name(s, n)).exists()
               and n not in ours]
    if foreign:
        raise UserError(f"{out_dir} already holds {foreign[0]} (and {len(foreign) - 1} more) "
                        f"that this tool did not write: choose an empty folder or move them away")
    same = all(previous.get(k, DEFAULT_LAYERS if k == "layers" else None) == job[k]
               for k in ("person", "track", "name", "layers", "head"))
    if same:
        return [n for n in numbers if any(not (out_dir / frame_name(s, n)).exists() for s in names)], None
    replaced = sorted(ours & {n for n in numbers if (out_dir / frame_name(name, n)).exists()})
    note = f"replacing {len(replaced)} frames of an earlier generation in {out_dir}" if replaced else None
    return numbers, note


# --- the renderers: each takes landmarks (N, 68, 2) to images (N, 3, H, W) in [0, 1]; `matte` where it has one

def _torch_renderer(person, person_path, device, onnx_path, crop_only):
    from ..core.inference import TorchBackend

    return TorchBackend(person, device, native=not crop_only)


def _onnx_renderer(person, person_path, device, onnx_path, crop_only):
    from ..export.onnx_model import OnnxRenderer

    if not onnx_path:
        raise UserError("--backend onnx needs --onnx MODEL.onnx (write one with `python -m core export onnx`)")
    render = OnnxRenderer(onnx_path, device=device)
    side = person.native_box[2]
    if not crop_only and render.size != (side, side):
        raise UserError(f"{onnx_path} renders {render.size}, not this person's face box; export it again "
                        f"from {person_path}")
    return render


RENDERERS = {"torch": _torch_renderer, "onnx": _onnx_renderer}


def open_renderer(backend: str, person, person_path: str, device: str, onnx_path: str | None, crop_only: bool):
    """The renderer called `backend` for this person."""
    if backend not in RENDERERS:
        raise UserError(f"unknown backend {backend!r}: use {' or '.join(RENDERERS)}")
    return RENDERERS[backend](person, person_path, device, onnx_path, crop_only)


def generate(person_path: str, track_path: str, out_dir: str, *, name: str = "frame_", device: str = "auto",
             backend: str = "torch", onnx_path: str | None = None, batch: int = 8, crop_only: bool = False,
             progress: Progress | None = None, c2pa_key: str | None = None, c2pa_cert: str | None = None,
             c2pa: bool = True, alpha: bool = False, matte: bool = False, head_fit: str | None = None,
             head_name: str = "head_") -> list[str]:
    """Render every frame of the track; returns the paths of the frames (written now or before).

    `alpha`: the frames are RGBA, the head (face, forehead, hair, ears as the model's head region sees it,
    its edge soft) opaque and the rest transparent, to composite over something else; `matte`: the same
    head matte also as a grey sequence `matte_####.png` beside the frames; `head_fit`: a head fit file
    (`core.head.fit`), each frame also baked to the head's UV map as `<head_name>####.png` (RGBA: the fit's
    weight as alpha, times the head matte with `alpha`).

    Each frame carries Content Credentials signed with `c2pa_key` and its certificate chain `c2pa_cert`
    (PEM paths), by default this installation's local identity; `c2pa=False` writes none. A line says
    which (or why there are none)."""
    from ..core.landmarks.align import paste_box
    from ..core.model.person import load_person
    from ..core.track.track_file import Track
    from ..export.content_credentials import open_signer
    from ..export.provenance import face_spare
    from ..export.sequence import SequenceWriter

    track = Track.load(track_path)          # the cheap checks first: a bad track fails in a moment
    person = load_person(person_path)
    points = np.asarray(track.points, np.float32)[..., :2]
    numbers = [int(n) for n in track.frames]
    render = open_renderer(backend, person, person_path, device, onnx_path, crop_only)
    if (alpha or matte) and (not hasattr(render, "matte") or crop_only):
        raise UserError("the head matte (--alpha, --matte) needs full frames from --backend torch")
    bake = _head_baker(head_fit, person, head_name, (name, MATTE_NAME if matte else None), crop_only)
    # The reference is recorded by the hash of the pixels the person file holds (not the photo's file).
    signer, signing = open_signer(c2pa_key, c2pa_cert, enabled=c2pa, reference_hashed="pixels",
                                  reference=np.ascontiguousarray(person.image).tobytes())
    print(signing.message)

    # Only now, with every input checked, is anything created on disk.
    out = Path(out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise UserError(f"cannot create {out}: {e.strerror}; choose a folder you can write to") from None
    layers = ("rgba" if alpha else DEFAULT_LAYERS) + ("+matte" if matte else "")   # other layers: another job
    job = {"person": _digest(person_path), "track": _digest(track_path), "name": name, "layers": layers,
           "head": f"{head_name}{_digest(head_fit)}" if bake else None}
    names = [name] + ([MATTE_NAME] if matte else []) + ([head_name] if bake else [])
    todo, note = _plan(out, names, numbers, job)
    if note:
        print(note)
    # Record the job before writing, so a killed run is recognised and resumed, not mistaken for foreign files.
    write_json(out / JOB_FILE, dict(job, frames=sorted(set(numbers))))

    index = {n: i for i, n in enumerate(numbers)}
    x0, y0, _ = person.native_box
    blank = np.zeros((*person.image.shape[:2], 1), np.uint8)
    with SequenceWriter(out, name=name, ext="png", overwrite=True, signer=signer) as writer, \
            (SequenceWriter(out, name=MATTE_NAME, ext="png", overwrite=True, signer=signer) if matte
             else contextlib.nullcontext()) as mattes, \
            (SequenceWriter(out, name=head_name, ext="png", overwrite=True, signer=signer) if bake
             else contextlib.nullcontext()) as uv_frames:
        for k in range(0, len(todo), batch):
            chunk = todo[k:k + batch]
            drivers = points[[index[n] for n in chunk]]
            images = _to_uint8(render(drivers))
            heads = _to_uint8(render.matte(drivers)) if alpha or matte else [None] * len(chunk)
            for n, image, head in zip(chunk, images, heads):
                frame = image if crop_only else paste_box(person.image, image, x0, y0)
                head = None if head is None else paste_box(blank, head, x0, y0)[..., 0]
                # The watermark stays off the face, where recognisers would read it as another identity.
                spare = None if crop_only else face_spare(points[index[n]], frame.shape)
                writer.write(n, frame, head if alpha else None, spare)
                if matte:
                    mattes.write(n, np.repeat(head[..., None], 3, axis=2))
                if bake:
                    uv_frames.write(n, bake(np.dstack([frame, head]) if alpha else frame))
            done = k + len(chunk)
            report(progress, done, len(todo), f"generate: frame {chunk[-1]}")
    return [str(out / frame_name(name, n)) for n in numbers]


def _head_baker(head_fit: str | None, person, head_name: str, names: tuple, crop_only: bool):
    """The baker of `head_fit` for this person's frames, checked before anything is written; None without."""
    if not head_fit:
        return None
    from ..core.head.bake import Baker, load_fit

    if crop_only:
        raise UserError("baking to a head needs full frames at the photo's size; drop --crop-only")
    if head_name in names or not head_name:
        raise UserError(f"the UV frames' name {head_name!r} must differ from the frames' own; choose another")
    fit = load_fit(head_fit)
    h, w = person.image.shape[:2]
    if tuple(fit.image_size) != (w, h):
        raise UserError(f"{head_fit} was fitted to a {fit.image_size[0]}x{fit.image_size[1]} photo, this "
                        f"person's is {w}x{h}; fit the head to this person's photo")
    return Baker(fit)


def _to_uint8(images: np.ndarray) -> np.ndarray:
    """(N, C, H, W) floats in [0, 1] -> (N, H, W, C) uint8."""
    return (np.clip(images, 0, 1) * 255 + 0.5).astype(np.uint8).transpose(0, 2, 3, 1)
