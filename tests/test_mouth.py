"""The mouth painter (core/model/mouth.py, core/model/painter.py): its crop, its rules, its file, and its place
in a person."""
import numpy as np
import pytest
import torch

from talking_heads.core.errors import UserError
from talking_heads.core.landmarks.groups import MIRRORED
from talking_heads.core.model.mean_face import MEAN_FACE_CROP
from talking_heads.core.model.mouth import INPUTS, change, paint, prepare
from talking_heads.core.model.painter import (CROP, Painter, crop_pixels, layers, load_painter, paste, sample,
                                              save_painter)


def _face(scale: float = 2.0) -> torch.Tensor:
    """The mean face (crop of 256) scaled up, as (1, 68, 2)."""
    return torch.from_numpy(MEAN_FACE_CROP.astype(np.float32) * scale)[None]


def _open(points: torch.Tensor, by: float) -> torch.Tensor:
    """The jaw's lower lip and chin moved down by `by` pixels: the mouth opens."""
    moved = points.clone()
    moved[:, [56, 57, 58, 65, 66, 67, 7, 8, 9], 1] += by
    return moved


def test_crop_pixels_and_sample_cut_the_image_at_its_own_pixels():
    image = torch.rand(1, 3, 40, 50)
    box = torch.tensor([[7.0, 5.0, 16.0]])
    pixels = crop_pixels(box, 16)
    assert pixels.shape == (1, 256, 2)
    assert torch.equal(pixels[0, 0], torch.tensor([7.0, 5.0])) and torch.equal(pixels[0, -1], torch.tensor([22.0, 20.0]))
    assert torch.allclose(sample(image, pixels, 16), image[:, :, 5:21, 7:23], atol=1e-5)


def test_paste_replaces_the_lips_and_opening_and_corrects_the_rest_keeping_the_frames_detail():
    box = torch.tensor([[10.0, 20.0, 32.0]])
    ramp = torch.linspace(0, 1, CROP)[None, None, None, :].expand(1, 3, CROP, CROP)
    ones, zeros = torch.ones(1, 1, CROP, CROP), torch.zeros(1, 1, CROP, CROP)
    # over the lips and the opening the crop's colours replace the frame, where its box is and nowhere else
    out = paste(torch.zeros(1, 3, 64, 64), box, layers({"colour": ramp, "alpha": ones, "repainted": ones,
                                                        "warped": ramp}))
    inside = out[0, 0, 20:20 + 31, 10:10 + 31]
    # frame pixel x shows crop pixel (x - 10) * CROP / 32, whose ramp value is that over CROP - 1
    expected = (torch.arange(31) * CROP / 32) / (CROP - 1)
    assert torch.allclose(inside, expected[None].expand(31, -1), atol=1e-4)
    untouched = out.clone()
    untouched[:, :, 20:52, 10:42] = 0
    assert untouched.abs().max() == 0
    # elsewhere, the change the colours make to the warp is added: the frame's own detail stays
    torch.manual_seed(0)
    frame = torch.rand(1, 3, 64, 64)
    out = paste(frame, box, layers({"colour": ramp + 0.1, "alpha": ones, "repainted": zeros, "warped": ramp}))
    assert torch.allclose(out[:, :, 20:51, 10:41], frame[:, :, 20:51, 10:41] + 0.1, atol=1e-5)


def test_the_painter_paints_only_as_far_as_the_mouth_moves():
    face = _face()
    assert change(face, face).item() == 0
    assert change(_open(face, 5.0), face).item() == 0                     # a little: the photo's lips, moved
    opened, closed_again = _open(face, 40.0), _open(face, 40.0)
    assert change(opened, face).item() == 1
    assert change(face, closed_again).item() == 1                         # a photo's open mouth closing
    halfway = change(_open(face, 11.0), face).item()
    assert 0 < halfway < 1


def test_at_the_photos_own_landmarks_the_warp_is_the_photos_own_mouth_and_nothing_is_painted():
    torch.manual_seed(0)
    image = torch.nn.functional.interpolate(torch.rand(1, 3, 64, 64), size=(512, 512), mode="bicubic").clamp(0, 1)
    face = _face()
    prepared = prepare(image, face, face, torch.tensor([[0.0, 0.0, 512.0]]))
    own = prepared["inputs"][:, 3:6] / 2 + 0.5
    # the map comes from a lattice: off by a hundredth of a pixel at the most, a few levels in 1000
    assert (prepared["warped"] - own).abs().max() < 5e-3 and (prepared["warped"] - own).abs().mean() < 1e-4
    painter = Painter(INPUTS)
    with torch.no_grad():
        painter.head.bias[3] = 10.0          # a painter that would paint everywhere it may
        painted = paint(painter, prepared)
    assert painted["alpha"].abs().max() == 0
    assert torch.equal(painted["image"], prepared["warped"])


def test_an_open_mouth_is_painted_in_the_middle_and_not_at_the_crops_edge():
    face = _face()
    painter = Painter(INPUTS)
    with torch.no_grad():
        painter.head.bias[3] = 10.0
        painted = paint(painter, prepare(torch.rand(1, 3, 512, 512), face, _open(face, 40.0),
                                         torch.tensor([[0.0, 0.0, 512.0]])))
    alpha = painted["alpha"][0, 0]
    assert alpha[CROP // 2, CROP // 2] > 0.99
    assert alpha[0].abs().max() == 0 and alpha[:, -1].abs().max() == 0


def test_mirrored_points_swap_left_and_right():
    face = _face(1.0)[0].numpy()
    flipped = face.copy()
    flipped[:, 0] = 255 - flipped[:, 0]
    span = np.linalg.norm(face[36] - face[45])
    assert np.abs(flipped[MIRRORED] - face).max() < 0.1 * span           # the mean face is nearly symmetric
    assert np.abs(flipped - face).max() > 0.5 * span                      # unpermuted, it is not


def test_painter_file_round_trip_and_refusals(tmp_path):
    painter = Painter(INPUTS, channels=(4, 8, 16), res_blocks=1)
    save_painter(tmp_path / "p.safetensors", painter, "mouth", {"step": 7})
    loaded, header = load_painter(tmp_path / "p.safetensors", "mouth")
    assert header["step"] == 7 and loaded.channels == (4, 8, 16)
    for k, v in painter.state_dict().items():
        assert torch.equal(loaded.state_dict()[k], v.half().float())
    (tmp_path / "bad.safetensors").write_bytes(b"not a model")
    with pytest.raises(UserError, match="not a readable safetensors"):
        load_painter(tmp_path / "bad.safetensors", "mouth")
    with pytest.raises(UserError, match="not a talking-heads-eyes-painter file"):
        load_painter(tmp_path / "p.safetensors", "eyes")                  # one region's painter is not another's


def test_a_person_carries_the_shipped_painter_or_none(tmp_path, astronaut):
    from talking_heads.core.landmarks.detect import detect_landmarks
    from talking_heads.core.model.person import load_person
    from talking_heads.core.training.finetune import DEFAULT_MOUTH, fit_person

    points = detect_landmarks(astronaut, backend="dlib").points
    person = fit_person([astronaut], [points], steps=0, device="cpu", size=128)
    shipped, _ = load_painter(DEFAULT_MOUTH, "mouth")
    assert person.mouth is not None and "step" in person.config["mouth"]
    person.save(tmp_path / "person.safetensors")
    loaded = load_person(tmp_path / "person.safetensors")
    for k, v in shipped.state_dict().items():
        assert torch.equal(loaded.mouth.state_dict()[k], v)
    bare = fit_person([astronaut], [points], steps=0, device="cpu", size=128, mouth="none")
    bare.save(tmp_path / "bare.safetensors")
    assert bare.mouth is None and load_person(tmp_path / "bare.safetensors").mouth is None
    # an open mouth renders differently with the painter, and the same elsewhere in the frame
    talking = points.copy()
    talking[[56, 57, 58, 65, 66, 67, 7, 8, 9], 1] += 0.25 * np.linalg.norm(points[36] - points[45])
    with_painter, without = (p.render_frames(talking[None].astype(np.float32)) for p in (loaded, bare))
    differs = np.abs(with_painter[0].astype(int) - without[0]).max(-1) > 2
    ys, xs = np.nonzero(differs)
    assert len(ys) > 100
    lips = points[48:60]
    assert xs.min() >= lips[:, 0].min() - np.ptp(lips[:, 0]) and xs.max() <= lips[:, 0].max() + np.ptp(lips[:, 0])


def test_a_wrong_painter_path_is_refused_before_fine_tuning(tmp_path, astronaut, monkeypatch):
    from talking_heads.core.training import finetune

    monkeypatch.setattr(finetune, "load_prior", lambda *a, **k: pytest.fail("fine-tuning began"))
    with pytest.raises(UserError, match="does not exist"):
        finetune.fit_person([astronaut], [np.zeros((68, 2), np.float32)], mouth=tmp_path / "nope.safetensors")
