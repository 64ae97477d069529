"""The eye painter (core/model/eyes.py): its mirrored crops, its gate, its paste, its place in a person, its
training (core/training/painter.py, `train-eyes`) and its ONNX export."""
import json

import numpy as np
import pytest
import torch
import torch.nn as nn

from talking_heads.core.errors import UserError
from talking_heads.core.landmarks.groups import LEFT_EYE, MIRRORED, RIGHT_EYE
from talking_heads.core.model import eyes
from talking_heads.core.model.mean_face import MEAN_FACE_CROP
from talking_heads.core.model.painter import CROP, Painter, layers, load_painter, paste, save_painter

SIDE = 512
FULL = torch.tensor([[0.0, 0.0, float(SIDE)]])     # the face crop whose border pins the warp: the image


def _face() -> torch.Tensor:
    """The mean face at 512, made exactly symmetric about the image's middle column: (1, 68, 2)."""
    points = MEAN_FACE_CROP.astype(np.float64) * 2
    mirrored = points.copy()
    mirrored[:, 0] = SIDE - 1 - mirrored[:, 0]
    return torch.from_numpy((points + mirrored[MIRRORED]) / 2).float()[None]


def _close(points: torch.Tensor, by: float = 1.0) -> torch.Tensor:
    """The upper lids lowered `by` of the way onto the lower ones."""
    moved = points.clone()
    for upper, lower in ((37, 41), (38, 40), (43, 47), (44, 46)):
        moved[:, upper] += by * (points[:, lower] - points[:, upper])
    return moved


def _image(seed: int = 0) -> torch.Tensor:
    torch.manual_seed(seed)
    small = torch.rand(1, 3, 32, 32)
    return nn.functional.interpolate(small, size=(SIDE, SIDE), mode="bicubic", align_corners=False).clamp(0, 1)


class _Paints(nn.Module):
    """A painter that paints `colour` ((3,), or a ramp across the crop when None) at full weight."""

    def __init__(self, colour=None):
        super().__init__()
        self.colour = colour

    def forward(self, x):
        n = x.shape[0]
        if self.colour is None:
            ramp = torch.linspace(0, 1, CROP)[None, None, None].expand(n, 3, CROP, CROP)
            return ramp, torch.full((n, 1, CROP, CROP), 20.0)
        return (torch.tensor(self.colour)[None, :, None, None].expand(n, 3, CROP, CROP),
                torch.full((n, 1, CROP, CROP), 20.0))


def test_the_gate_opens_as_far_as_an_eye_closes_or_widens_beyond_the_photos():
    face = _face()
    assert torch.equal(eyes.change(face, face), torch.zeros(2, 1, 1, 1))
    assert eyes.change(_close(face, 0.1), face).max() == 0                 # landmark jitter: the photo's lids
    assert torch.all(eyes.change(_close(face, 0.5), face) == 1)            # a blink
    assert torch.all(eyes.change(face, _close(face, 0.5)) == 1)            # the photo's closed eyes opening
    middle = eyes.change(_close(face, 0.3), face)
    assert torch.all((middle > 0) & (middle < 1))
    wink = face.clone()
    wink[:, [43, 44], 1] += 0.8 * (face[:, [47, 46], 1] - face[:, [43, 44], 1])
    assert eyes.change(wink, face).flatten().tolist() == [0.0, 1.0]      # frame-major: right eye, left eye
    assert eyes.change(_close(face, -0.5), face).min() == 1               # wide eyes


def test_the_left_eye_is_mirrored_and_its_crop_goes_back_where_it_was():
    image = _image()
    face = _face()
    # boxes of CROP pixels at whole pixels: the crop is the image's own pixels, and pasting it back is exact
    box = torch.tensor([[100.0, 150.0, CROP], [290.0, 150.0, CROP]])
    crops, points = eyes.crop(image, face, box)
    assert torch.allclose(crops[0], image[0, :, 150:278, 100:228], atol=1e-5)
    assert torch.allclose(crops[1], image[0, :, 150:278, 290:418].flip(-1), atol=1e-5)
    # the left eye's points, renumbered, lie in its mirrored crop where a right eye's do: 36 is the outer corner
    assert torch.allclose(points[1, 36], torch.tensor([CROP - 1 - (face[0, 45, 0] - 290), face[0, 45, 1] - 150]))
    assert points[0, 36, 0] < points[0, 39, 0] and points[1, 36, 0] < points[1, 39, 0]
    # crop, mirror back, paste: each eye's crop lands where it was cut from
    full = torch.ones(2, 1, CROP, CROP)
    laid = eyes.mirror_left(layers({"colour": crops, "alpha": full, "repainted": full, "warped": crops}))
    frame = torch.zeros(1, 3, SIDE, SIDE)
    for eye in range(2):
        frame = paste(frame, box[eye:eye + 1], laid[eye:eye + 1])
    assert torch.allclose(frame[..., 150:277, 100:227], image[..., 150:277, 100:227], atol=1e-5)
    assert torch.allclose(frame[..., 150:277, 290:417], image[..., 150:277, 290:417], atol=1e-5)
    assert frame[..., :149, :].abs().max() == 0 and frame[..., :, 230:288].abs().max() == 0


def test_eye_boxes_frame_each_eye_at_its_own_scale():
    face = _face()
    box = eyes.eye_boxes(face)
    for k, eye in enumerate((RIGHT_EYE, LEFT_EYE)):
        width = (face[0, eye[0]] - face[0, eye[3]]).norm()
        assert torch.isclose(box[k, 2], eyes.EXTENT * width)
        centre = box[k, :2] + box[k, 2] * (CROP - 1) / (2 * CROP)
        lo, hi = face[0, eye].amin(0), face[0, eye].amax(0)
        assert torch.allclose(centre, (lo + hi) / 2)


def test_at_the_photos_own_landmarks_the_frame_is_the_photo():
    image, face = _image(), _face()
    prepared = eyes.prepare(image, face, face, FULL)
    own = prepared["inputs"][:, 3:6] / 2 + 0.5
    assert (prepared["warped"] - own).abs().max() < 5e-3              # the warp of the photo onto itself
    frame = eyes.repaint(_Paints((1.0, 0.0, 0.0)), image.clone(), image, face, face, FULL)
    assert torch.equal(frame, image)


def test_a_painter_that_gives_its_paint_no_weight_changes_nothing_even_on_a_blink():
    painter = Painter(eyes.INPUTS)
    with torch.no_grad():
        for p in painter.parameters():
            p.zero_()
        painter.head.bias[3] = -1e4
    image, face = _image(), _face()
    frame = _image(1)
    assert torch.equal(eyes.repaint(painter, frame.clone(), image, face, _close(face), FULL), frame)


def test_paint_changes_only_the_eyes_and_both_alike_through_the_mirror():
    image = torch.full((1, 3, SIDE, SIDE), 0.5)
    face = _face()
    blink = _close(face)
    frame = torch.full((1, 3, SIDE, SIDE), 0.5)
    red = eyes.repaint(_Paints((1.0, 0.0, 0.0)), frame, image, face, blink, FULL)
    changed = (red - frame).abs().amax(1)[0] > 1e-4
    ys, xs = torch.nonzero(changed, as_tuple=True)
    boxes = eyes.eye_boxes(blink)
    inside = torch.zeros_like(changed)
    for x, y, side in boxes.tolist():
        inside[int(y):int(y + side) + 2, int(x):int(x + side) + 2] = True
    assert len(ys) > 500 and not (changed & ~inside).any()                # only inside the eyes' crops
    for eye in (RIGHT_EYE, LEFT_EYE):                                     # over each closed lid: red in full
        x, y = blink[0, eye].mean(0).round().long().tolist()
        assert torch.allclose(red[0, :, y, x], torch.tensor([1.0, 0.0, 0.0]), atol=1e-3)
    # a paint that is not symmetric in its crop: the left eye's comes out as the mirror image of the right's
    ramp = eyes.repaint(_Paints(None), frame, image, face, blink, FULL)
    assert (ramp - frame).abs().max() > 0.1
    assert torch.allclose(ramp, ramp.flip(-1), atol=1e-4)


def test_painter_files_of_one_region_are_not_taken_for_another(tmp_path):
    painter = Painter(eyes.INPUTS, channels=(4, 8, 16), res_blocks=1)
    save_painter(tmp_path / "eyes.safetensors", painter, "eyes", {"step": 3})
    loaded, header = load_painter(tmp_path / "eyes.safetensors", "eyes")
    assert header["step"] == 3 and loaded.inputs == eyes.INPUTS
    with pytest.raises(UserError, match="not a talking-heads-mouth-painter file"):
        load_painter(tmp_path / "eyes.safetensors", "mouth")


def _person(eye_painter=None, mouth_painter=None):
    """A person of an untrained generator at a 128 crop in a 300-pixel photo of noise."""
    from talking_heads.core.model.generator import Generator
    from talking_heads.core.model.person import Person

    torch.manual_seed(0)
    generator = Generator().eval()
    points = MEAN_FACE_CROP.astype(np.float32) / 2
    image = np.random.default_rng(0).integers(0, 256, (300, 300, 3), dtype=np.uint8)
    return Person(generator, torch.zeros(sum(generator.sizes)), image[22:150, 22:150][None].copy(), points[None],
                  (22.0, 22.0, 128.0), image, points + 22, {"dim": 256}, mouth=mouth_painter, eyes=eye_painter)


def _painting(seed: int) -> Painter:
    """A small painter with random weights that paints at about half weight."""
    torch.manual_seed(seed)
    painter = Painter(11, channels=(4, 8, 16), res_blocks=1)
    with torch.no_grad():
        nn.init.normal_(painter.head.weight, 0, 0.05)
        painter.head.bias.zero_()
    return painter.eval()


def test_a_person_file_carries_its_eye_painter_and_files_without_one_render_as_before(tmp_path):
    from talking_heads.core.model.person import load_person

    painter = _painting(1)
    _person(painter).save(tmp_path / "p.safetensors")
    loaded = load_person(tmp_path / "p.safetensors")
    assert loaded.mouth is None
    for k, v in painter.state_dict().items():
        assert torch.equal(loaded.eyes.state_dict()[k], v.half().float())
    _person().save(tmp_path / "bare.safetensors")
    bare = load_person(tmp_path / "bare.safetensors")
    assert bare.eyes is None
    face = loaded.image_points[None]
    blink = _close(torch.from_numpy(face)).numpy()
    assert np.array_equal(loaded.render_frames(face), bare.render_frames(face))       # the photo's own eyes
    with_painter, without = loaded.render_frames(blink), bare.render_frames(blink)
    ys, xs = np.nonzero(np.abs(with_painter[0].astype(int) - without[0]).max(-1) > 2)
    eye_points = face[0, 36:48]
    assert len(ys) > 20
    assert xs.min() >= eye_points[:, 0].min() - 10 and xs.max() <= eye_points[:, 0].max() + 10
    crops = loaded.render_crops(blink), bare.render_crops(blink)                       # the crop renderer too
    assert np.abs(crops[0].astype(int) - crops[1]).max() > 2


def test_fine_tuning_takes_an_eye_painter_and_there_is_none_by_default(tmp_path, monkeypatch):
    from talking_heads.core.training import finetune

    image = np.random.default_rng(0).integers(0, 256, (300, 300, 3), dtype=np.uint8)
    points = MEAN_FACE_CROP.astype(np.float32) / 2 + 22
    save_painter(tmp_path / "eyes.safetensors", _painting(2), "eyes", {"step": 5})
    person = finetune.fit_person([image], [points], steps=0, device="cpu", size=128, mouth="none",
                                 eyes=tmp_path / "eyes.safetensors")
    assert person.eyes is not None and person.config["eyes"] == "eyes.safetensors (step 5)"
    monkeypatch.setattr(finetune, "DEFAULT_EYES", tmp_path / "not_shipped.safetensors")
    person = finetune.fit_person([image], [points], steps=0, device="cpu", size=128, mouth="none")
    assert person.eyes is None and person.config["eyes"] is None
    monkeypatch.setattr(finetune, "load_prior", lambda *a, **k: pytest.fail("fine-tuning began"))
    with pytest.raises(UserError, match="does not exist"):
        finetune.fit_person([image], [points], eyes=tmp_path / "nope.safetensors")


def test_train_eyes_runs_checkpoints_under_16_mb_and_resumes(videos, tmp_path, monkeypatch):
    import argparse

    from talking_heads.app.commands import train_eyes
    from talking_heads.core.training import painter

    monkeypatch.setattr(painter, "CLOSED", 2.0)     # the clips' eyes never close: score their most closed anyway
    config = tmp_path / "tiny.json"
    config.write_text(json.dumps({"batch": 2, "videos_per_step": 1, "val_every": 1, "checkpoint_every": 1,
                                  "log_every": 1, "bf16": False, "channels": [4, 8, 16], "res_blocks": 1}))
    out = tmp_path / "eyes"
    args = argparse.Namespace(data=str(videos), videos=str(videos / "train.txt"), val=str(videos / "val.txt"),
                              out=str(out), minutes=0.0, steps=2, config=str(config), device="cpu")
    assert train_eyes.run(args) == 0
    names = sorted(p.name for p in out.iterdir())
    assert names == ["adam_m.safetensors", "adam_v.safetensors", "best.safetensors", "held_out.json",
                     "painter.safetensors"]
    assert all((out / n).stat().st_size < 16e6 for n in names)
    _, header = load_painter(out / "painter.safetensors", "eyes")
    assert header["step"] == 2 and header["config"]["closed_share"] == 0.5
    best = json.loads((out / "held_out.json").read_text())
    assert best["warp"] > 0 and best["painter"] > 0
    args.steps = 3
    assert train_eyes.run(args) == 0
    resumed, header = load_painter(out / "painter.safetensors", "eyes")
    assert header["step"] == 3
    with pytest.raises(UserError, match="not a talking-heads-mouth-painter file"):
        painter.train("mouth", str(videos), str(out), painter.REGIONS["mouth"].config(steps=4),
                      [videos / "clip0.avi"], [videos / "clip1.avi"], device="cpu")


def test_training_favours_blinks_and_wide_eyes_and_scores_the_evaluations_blinks():
    from talking_heads.core.training.config import EyesConfig
    from talking_heads.core.training.painter import closed_and_wide_eyes, most_closed_eyes

    face = _face()
    video = face.repeat(20, 1, 1)
    video[3] = _close(face)[0]              # a blink in the first half
    video[12] = _close(face)[0]             # and two in the second
    video[15] = _close(face, 0.7)[0]
    video[17] = _close(face, -0.5)[0]       # wide eyes
    (closed, share), (wide, wide_share) = closed_and_wide_eyes(video, EyesConfig())
    assert closed.tolist() == [3, 12, 15] and wide.tolist() == [17] and (share, wide_share) == (0.5, 0.15)
    assert most_closed_eyes(video, 4).tolist() == [12, 15]


@pytest.mark.slow
def test_the_onnx_export_of_a_person_with_both_painters_matches_torch(tmp_path):
    from talking_heads.core.model.person import load_person
    from talking_heads.export.onnx_model import OnnxRenderer, export_person

    _person(_painting(3), _painting(4)).save(tmp_path / "p.safetensors")
    person = load_person(tmp_path / "p.safetensors")
    renderer = OnnxRenderer(export_person(tmp_path / "p.safetensors", tmp_path / "p.onnx"), device="cpu")
    face = torch.from_numpy(person.image_points[None])
    talking = _close(face).repeat(3, 1, 1)
    talking[1] = _close(face, -0.4)[0]
    talking[2, [56, 57, 58, 65, 66, 67], 1] += 8.0                      # and an open mouth
    talking = talking.numpy()
    with torch.no_grad():
        expected = person.native_renderer()(torch.from_numpy(talking)).numpy()
        bare = _person().native_renderer()(torch.from_numpy(talking)).numpy()
    assert np.abs(expected - bare).max() > 0.05                         # the painters paint
    assert np.abs(renderer(talking) - expected).max() < 1e-3
