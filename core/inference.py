"""Rendering: a person model and a landmark track -> one frame per track frame, at the reference's size.

Frames are written as `<name>####.png` through the export module (atomic writes, provenance marks). A job
file in the output folder records which frames this tool wrote and for which person and track: a second
run of the same job resumes from the first missing frame; a run of another job replaces only the frames
the earlier one wrote, and says so; files the tool did not write are never touched.
"""
from __future__ import annotations

import hashlib
import json
import os
import time
from pathlib import Path

import numpy as np

from core.errors import UserError
from core.progress import Progress, TqdmProgress, report

JOB_FILE = ".talking_heads_job.json"


def _digest(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()[:16]


def frame_name(name: str, number: int, ext: str = "png") -> str:
    return f"{name}{number:04d}.{ext}"


def _plan(out_dir: Path, name: str, numbers: list[int], job: dict) -> tuple[list[int], str | None]:
    """Which frames to render, and a note for the user when an earlier job's frames get replaced."""
    previous = {}
    if (out_dir / JOB_FILE).exists():
        try:
            previous = json.loads((out_dir / JOB_FILE).read_text())
        except (OSError, ValueError):
            previous = {}
    ours = set(previous.get("frames", [])) if previous.get("name") == name else set()
    foreign = [n for n in numbers if (out_dir / frame_name(name, n)).exists() and n not in ours]
    if foreign:
        raise UserError(f"{out_dir} already holds {frame_name(name, foreign[0])} (and {len(foreign) - 1} more) "
                        f"that this tool did not write: choose an empty folder or move them away")
    same = all(previous.get(k) == job[k] for k in ("person", "track", "name"))
    if same:
        return [n for n in numbers if not (out_dir / frame_name(name, n)).exists()], None
    replaced = sorted(ours & {n for n in numbers if (out_dir / frame_name(name, n)).exists()})
    note = f"replacing {len(replaced)} frames of an earlier generation in {out_dir}" if replaced else None
    return numbers, note


class TorchBackend:
    def __init__(self, person, device):
        import torch

        from core.training.meta import pick_device

        self.device = pick_device(device)
        self.module = person.renderer().to(self.device)
        self.torch = torch

    def __call__(self, points: np.ndarray) -> np.ndarray:
        with self.torch.no_grad():
            x = self.torch.as_tensor(points, dtype=self.torch.float32, device=self.device)
            return self.module(x).clamp(0, 1).cpu().numpy()


def generate(person_path: str, track_path: str, out_dir: str, *, name: str = "frame_", device: str = "auto",
             backend: str = "torch", onnx_path: str | None = None, batch: int = 8, crop_only: bool = False,
             progress: Progress | None = None) -> list[str]:
    """Render every frame of the track; returns the paths of the frames (written now or before)."""
    from core.landmarks.align import paste_back
    from core.landmarks.track import Track
    from core.model.person import load_person
    from export.sequence import SequenceWriter

    track = Track.load(track_path)          # the cheap checks first: a bad track fails in a moment
    person = load_person(person_path)
    points = np.asarray(track.points, np.float32)[..., :2]
    numbers = [int(n) for n in track.frames]
    if backend == "onnx":
        from export.onnx_model import OnnxRenderer

        if not onnx_path:
            raise UserError("--backend onnx needs --onnx MODEL.onnx (write one with `python -m core export onnx`)")
        render = OnnxRenderer(onnx_path, device=device)
    elif backend == "torch":
        render = TorchBackend(person, device)
    else:
        raise UserError(f"unknown backend {backend!r}: use torch or onnx")

    # Only now, with every input checked, is anything created on disk.
    out = Path(out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise UserError(f"cannot create {out}: {e.strerror}; choose a folder you can write to") from None
    job = {"person": _digest(person_path), "track": _digest(track_path), "name": name}
    todo, note = _plan(out, name, numbers, job)
    if note:
        print(note)
    # Record the job before writing, so a killed run is recognised and resumed, not mistaken for foreign files.
    record = dict(job, frames=sorted(set(numbers)))
    tmp = out / (JOB_FILE + ".tmp")
    try:
        tmp.write_text(json.dumps(record))
        os.replace(tmp, out / JOB_FILE)
    except OSError as e:
        raise UserError(f"cannot write in {out}: {e.strerror}; choose a folder you can write to") from None

    index = {n: i for i, n in enumerate(numbers)}
    started = time.time()
    with SequenceWriter(out, name=name, ext="png", overwrite=True) as writer:
        for k in range(0, len(todo), batch):
            chunk = todo[k:k + batch]
            crops = render(points[[index[n] for n in chunk]])
            crops = (np.clip(crops, 0, 1) * 255 + 0.5).astype(np.uint8).transpose(0, 2, 3, 1)
            for n, crop in zip(chunk, crops):
                writer.write(n, crop if crop_only else paste_back(person.image, crop, person.box))
            done = k + len(chunk)
            left = (time.time() - started) / done * (len(todo) - done)
            report(progress, done, len(todo), f"generate: frame {chunk[-1]}, {left:.0f} s left")
    return [str(out / frame_name(name, n)) for n in numbers]


def add_arguments(p) -> None:
    p.add_argument("person", help="person model file (.safetensors) from `python -m core finetune`")
    p.add_argument("track", help="landmark track (JSON) in the reference image's pixels")
    p.add_argument("--out", required=True, help="folder for the frames")
    p.add_argument("--name", default="frame_", help="frame file name prefix (frames are <name>####.png)")
    p.add_argument("--backend", default="torch", choices=["torch", "onnx"])
    p.add_argument("--onnx", help="ONNX model for --backend onnx")
    p.add_argument("--device", default="auto", help="auto, cpu or cuda")
    p.add_argument("--crop", action="store_true", help="write the model's square crop instead of full frames")


def run(args) -> int:
    bar = TqdmProgress("generate")
    paths = generate(args.person, args.track, args.out, name=args.name, device=args.device,
                     backend=args.backend, onnx_path=args.onnx, crop_only=args.crop, progress=bar)
    bar.close()
    print(f"{len(paths)} frames in {args.out}")
    return 0
