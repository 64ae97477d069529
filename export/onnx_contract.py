"""The contract of a person model's ONNX export, in one place for the two sides that keep it: the exporter
(export/onnx_model.py, with torch) and whoever runs the file without torch (the add-on's live preview in
Blender's Python, a game engine). Standard library only.

- Input `landmarks`: float32 (batch, 68, 2), the driver's 68 landmarks in iBUG 300-W order as (x, y) pixels
  of the person's reference image.
- Output `image`: float32 (batch, 3, S, S), sRGB in [0, 1] (the renderer clamps it: nothing a frame cannot
  hold), the reference's face box at the photo's own resolution; a synthetic image.
- Metadata `paste_at` "x,y": where that box's top-left corner lies in the reference, in whole pixels.
"""
from __future__ import annotations

from ..core.errors import UserError

INPUT, OUTPUT = "landmarks", "image"
PASTE_AT = "paste_at"
INPUT_DOC = ("float32 [batch, 68, 2]: 68 facial landmarks in iBUG 300-W order, (x, y) pixel coordinates in "
             "the person's reference image, 0-based, pixel centres at integers")
OUTPUT_DOC = "float32 [batch, 3, H, W]: RGB in [0, 1], sRGB-encoded; a synthetic (AI-generated) image"


def paste_at(x: int, y: int) -> dict[str, str]:
    """The metadata entry that says where the output box goes in the reference."""
    return {PASTE_AT: f"{int(x)},{int(y)}"}


def read_paste_at(metadata: dict[str, str], name: str) -> tuple[int, int]:
    """The box's corner from an export's metadata; UserError for an export without it (`name`: its file)."""
    parts = metadata.get(PASTE_AT, "").split(",")
    try:
        x, y = (int(v) for v in parts)
    except ValueError:
        raise UserError(f"{name} is an older export (no {PASTE_AT}); export it again from the Export panel "
                        f"or with `python -m core export onnx`") from None
    return x, y


def signature_problem(inputs, outputs) -> str | None:
    """What is wrong with an ONNX session's inputs and outputs (onnxruntime's NodeArg lists) for a person
    model, or None."""
    ok = (len(inputs) == 1 and inputs[0].name == INPUT and inputs[0].type == "tensor(float)"
          and len(inputs[0].shape) == 3 and list(inputs[0].shape[1:]) == [68, 2]
          and len(outputs) >= 1 and outputs[0].name == OUTPUT and outputs[0].type == "tensor(float)"
          and len(outputs[0].shape) == 4 and outputs[0].shape[1] == 3)
    if ok:
        return None
    found = ", ".join(f"{i.name} {i.shape} {i.type}" for i in inputs)
    return (f"it needs one input '{INPUT}' (batch, 68, 2) float and one output '{OUTPUT}' (batch, 3, H, W) "
            f"float, it has inputs {found}")
