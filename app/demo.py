"""`python -m core demo` (`make demo`): the whole pipeline on scikit-image's astronaut portrait.

1. the reference: the astronaut (NASA, public domain; it ships inside scikit-image)
2. its 68 landmarks (face-alignment where its weights load, dlib's predictor otherwise)
3. a Blender scene (the bpy module, background mode; `app/demo_scene.py`) with the extension
   installed from its own zip; the landmark rig is built by the add-on's operator and keyframed: talking,
   two blinks, a head turn of 25 degrees each way, 3 seconds at 24 fps
4. the person model, fine-tuned from the shipped prior with the default preset (`core.presets`)
5. a head built from the photo (Head from Photo), which carries the rig's head turn
6. one generated frame per scene frame, at the photo's pose, playing on the head (and the rig's plane)
7. two Cycles renders of the head turned 25 degrees each way
8. out/demo/demo.blend, the frames, an MP4 preview and a contact sheet
Each stage prints its wall-clock time.
"""
from __future__ import annotations

import os
import shutil
import sys
import time
from pathlib import Path

import numpy as np

from ..core.errors import UserError
from ..core.frame_names import frame_name
from ..core.images import write_png
from ..core.presets import DEFAULT_PRESET, Preset

FPS = 24
FRAMES = range(1, 3 * FPS + 1)


class Stages:
    """Prints each stage as it starts and how long it took."""

    def __init__(self):
        self.times: list[tuple[str, float]] = []
        self.started = time.time()

    def run(self, name: str, fn, *args, **kwargs):
        print(f"[{len(self.times) + 1}] {name} ...", flush=True)
        t = time.time()
        result = fn(*args, **kwargs)
        self.times.append((name, time.time() - t))
        print(f"    done in {self.times[-1][1]:.1f} s", flush=True)
        return result

    def summary(self) -> str:
        rows = [f"  {name:<34} {seconds:7.1f} s" for name, seconds in self.times]
        return "\n".join(rows + [f"  {'total':<34} {time.time() - self.started:7.1f} s"])


def contact_sheet(path: Path, reference: np.ndarray, frames: list[np.ndarray], drawings: list[np.ndarray],
                  columns: int = 6) -> None:
    """Reference | landmark drawings | generated frames, side by side, for a few frames of the range."""
    from PIL import Image, ImageDraw

    tile = 192
    pick = np.linspace(0, len(frames) - 1, columns).round().astype(int)
    sheet = Image.new("RGB", (tile * (columns + 1), tile * 2 + 24), "white")
    draw = ImageDraw.Draw(sheet)
    sheet.paste(Image.fromarray(reference).resize((tile, tile)), (0, 24))
    draw.text((4, 4), "reference", fill="black")
    for c, k in enumerate(pick):
        x = tile * (c + 1)
        draw.text((x + 4, 4), f"frame {FRAMES[0] + k}", fill="black")
        sheet.paste(Image.fromarray(drawings[k]).resize((tile, tile)), (x, 24))
        sheet.paste(Image.fromarray(frames[k]).resize((tile, tile)), (x, 24 + tile))
    write_png(path, np.asarray(sheet))


def run_demo(out: Path, preset: Preset = DEFAULT_PRESET) -> int:
    from skimage import data

    stages = Stages()
    out.mkdir(parents=True, exist_ok=True)
    reference = data.astronaut()
    ref_path = out / "reference.png"
    from PIL import Image

    Image.fromarray(reference).save(ref_path)

    from ..core.landmarks.detect import detect_landmarks

    detection = stages.run("detect the 68 landmarks", detect_landmarks, reference)
    print(f"    {detection.backend}: {detection.faces_found} face(s)")

    # Blender keeps its user folders (extensions, preferences) for this run inside out/demo.
    os.environ["BLENDER_USER_RESOURCES"] = str(out / "blender_user")
    from . import demo_scene   # the Blender half: the only part that needs bpy

    blend = out / "demo.blend"
    try:
        rig = stages.run("Blender scene: rig and keyframes", demo_scene.build_scene, ref_path, blend, FRAMES,
                         FPS, preset.name, sys.executable)
        stages.run("fine-tune the person model", demo_scene.finetune)
        stages.run("Head from Photo", demo_scene.add_photo_head)
        stages.run(f"generate {len(FRAMES)} frames", demo_scene.generate)
        turned = [frame for frame, degrees in demo_scene.head_turns(FRAMES, FPS) if degrees]
        head_renders = stages.run("render the head turning (Cycles)", demo_scene.render_head, turned, out)
    except demo_scene.DemoError as e:
        raise UserError(str(e)) from None
    stages.run("save demo.blend", demo_scene.save)
    folder = demo_scene.frames_folder(rig, blend)
    frame_paths = [folder / frame_name("frame_", n) for n in FRAMES]

    def previews():
        import torch

        from ..core.images import load_image
        from ..core.landmarks.align import crop_box, crop_image, to_crop
        from ..core.landmarks.draw import draw_landmarks
        from ..core.track.track_file import Track
        from ..export.video import write_video

        frames = [load_image(p) for p in frame_paths]
        write_video(out / "demo.mp4", frames, FPS, overwrite=True)
        track = Track.load(folder / "driver_track.json")
        box = crop_box(detection.points)
        pts = torch.tensor(np.stack([to_crop(p[:, :2], box, 256) for p in np.asarray(track.points)]), dtype=torch.float32)
        drawings = (draw_landmarks(pts, 256).permute(0, 2, 3, 1).numpy() * 255).astype(np.uint8)
        crops = [crop_image(f, box, 256) for f in frames]
        contact_sheet(out / "contact_sheet.png", crop_image(reference, box, 256), crops, list(drawings))

    stages.run("MP4 preview and contact sheet", previews)
    shutil.rmtree(out / "blender_user", ignore_errors=True)
    print("\nwall-clock time of each stage:\n" + stages.summary())
    print(f"\noutputs in {out}/:\n  demo.blend (open it and press play: the plane and the head play the frames)\n"
          f"  talking_heads/{folder.name}/frame_####.png  ({len(FRAMES)} frames)\n"
          f"  demo.mp4\n  contact_sheet.png\n"
          f"  {', '.join(p.name for p in head_renders)}  (the head, turned)\n  talking_heads/{folder.name}/person.safetensors")
    return 0
