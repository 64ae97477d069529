"""Generation: frames per track frame, resume after a kill, and never touching files it did not write."""
import json

import numpy as np
import pytest

from talking_heads.core.errors import UserError
from talking_heads.app.generate import JOB_FILE, generate


@pytest.fixture(scope="module")
def job(tmp_path_factory, write_generate_inputs):
    return write_generate_inputs(tmp_path_factory.mktemp("job"))


def test_generate_writes_one_full_frame_per_track_frame(job, tmp_path, astronaut):
    from talking_heads.core.images import load_image

    paths = generate(str(job / "person.safetensors"), str(job / "track.json"), str(tmp_path / "out"), device="cpu")
    assert [p.rsplit("/", 1)[1] for p in paths] == ["frame_0001.png", "frame_0002.png", "frame_0003.png"]
    frame = load_image(paths[0])
    assert frame.shape == astronaut.shape
    # away from the face the frame is the reference itself (the crop is pasted back with a feathered edge),
    # but for the invisible watermark every written frame carries (a few grey levels at most)
    corner = np.abs(frame[-40:, -40:].astype(int) - astronaut[-40:, -40:])
    assert corner.mean() < 2 and corner.max() <= 12


def test_resume_renders_only_missing_frames(job, tmp_path):
    out = tmp_path / "out"
    generate(str(job / "person.safetensors"), str(job / "track.json"), str(out), device="cpu")
    (out / "frame_0002.png").unlink()      # as if the run had been killed before frame 2 was renamed in
    before = {n: (out / f"frame_000{n}.png").stat().st_mtime_ns for n in (1, 3)}
    generate(str(job / "person.safetensors"), str(job / "track.json"), str(out), device="cpu")
    assert (out / "frame_0002.png").exists()
    assert {n: (out / f"frame_000{n}.png").stat().st_mtime_ns for n in (1, 3)} == before


def test_foreign_files_are_refused_and_left_alone(job, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "frame_0002.png").write_bytes(b"the artist's own file")
    with pytest.raises(UserError, match="did not write"):
        generate(str(job / "person.safetensors"), str(job / "track.json"), str(out), device="cpu")
    assert (out / "frame_0002.png").read_bytes() == b"the artist's own file"
    assert not (out / "frame_0001.png").exists()


def test_another_job_replaces_only_its_own_frames_and_says_so(job, tmp_path, capsys):
    out = tmp_path / "out"
    generate(str(job / "person.safetensors"), str(job / "track.json"), str(out), device="cpu")
    record = json.loads((out / JOB_FILE).read_text())
    record["track"] = "another"
    (out / JOB_FILE).write_text(json.dumps(record))
    (out / "notes.txt").write_text("keep me")
    generate(str(job / "person.safetensors"), str(job / "track.json"), str(out), device="cpu")
    assert "replacing 3 frames" in capsys.readouterr().out
    assert (out / "notes.txt").read_text() == "keep me"


def test_the_frame_for_the_photos_own_landmarks_is_the_photo(tmp_path, astronaut):
    """At the photo's own landmarks the written frame is the photo over its face box, at the photo's own
    resolution, to 40 dB or more with the watermark included; a moved face changes the box alone."""
    from talking_heads.core.images import load_image
    from talking_heads.core.landmarks.align import native_box
    from talking_heads.core.landmarks.detect import detect_landmarks
    from talking_heads.core.metrics import psnr
    from talking_heads.core.track.track_file import Track
    from talking_heads.core.training.finetune import fit_person

    points = detect_landmarks(astronaut, backend="dlib").points
    person = fit_person([astronaut], [points], steps=0, device="cpu")
    person.save(tmp_path / "person.safetensors")
    moved = points.copy()
    moved[48:68, 1] += np.where(np.isin(np.arange(48, 68), [56, 57, 58, 65, 66, 67]), 12, 0)  # the jaw drops
    Track(points=np.stack([points, moved]).astype(np.float32), frames=np.array([0, 1]), filled=np.zeros(2, bool),
          fps=24.0, image_size=(astronaut.shape[1], astronaut.shape[0])).save(tmp_path / "track.json")
    rest, talking = (load_image(p) for p in generate(str(tmp_path / "person.safetensors"),
                                                      str(tmp_path / "track.json"), str(tmp_path / "out")))
    x0, y0, side = native_box(person.box)
    box = (slice(max(y0, 0), y0 + side), slice(max(x0, 0), x0 + side))
    assert psnr(rest[box], astronaut[box]) >= 40.0
    assert psnr(talking[box], astronaut[box]) < 40.0            # the mouth moved: the frame is not the photo
    outside = np.ones(astronaut.shape[:2], bool)
    outside[box] = False
    assert np.abs(talking[outside].astype(int) - astronaut[outside]).max() <= 12   # the watermark alone


def test_the_head_matte_makes_rgba_frames_and_a_grey_sequence(job, tmp_path, astronaut):
    """--alpha: the head opaque, the corners (background) transparent; --matte: the same as grey frames."""
    from talking_heads.core.images import load_image

    paths = generate(str(job / "person.safetensors"), str(job / "track.json"), str(tmp_path / "out"),
                     device="cpu", alpha=True, matte=True)
    import cv2

    rgba = cv2.imread(paths[0], cv2.IMREAD_UNCHANGED)
    assert rgba.shape == (*astronaut.shape[:2], 4)
    assert rgba[..., 3][150, 250] == 255 and rgba[..., 3][-5, -5] == 0 and rgba[..., 3][5, 5] == 0
    grey = load_image(str(tmp_path / "out" / "matte_0001.png"))     # watermarked like every written image
    assert np.abs(grey[..., 0].astype(int) - rgba[..., 3]).max() <= 12
    with pytest.raises(UserError, match="head matte"):
        generate(str(job / "person.safetensors"), str(job / "track.json"), str(tmp_path / "crop"),
                 device="cpu", alpha=True, crop_only=True)


def test_asking_for_the_matte_later_renders_the_frames_again(job, tmp_path, capsys):
    out = tmp_path / "out"
    generate(str(job / "person.safetensors"), str(job / "track.json"), str(out), device="cpu")
    generate(str(job / "person.safetensors"), str(job / "track.json"), str(out), device="cpu", matte=True)
    assert "replacing 3 frames" in capsys.readouterr().out
    assert sorted(p.name for p in out.glob("matte_*.png")) == ["matte_0001.png", "matte_0002.png", "matte_0003.png"]
