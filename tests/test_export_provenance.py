"""The synthetic-image watermark: invisible, found in every written format and after JPEG q75 and a 0.5x
resize, and not found in untouched photographs or noise."""
import io
import json

import cv2
import numpy as np
import pytest
from skimage import data

from talking_heads.app.cli import main
from talking_heads.core.errors import UserError
from talking_heads.export import provenance
from talking_heads.export.sequence import SequenceWriter, write_frame
from talking_heads.export.video import write_video
from talking_heads.core.metrics import psnr

PHOTOS = ["astronaut", "camera", "chelsea", "coffee", "coins", "rocket", "immunohistochemistry", "moon", "clock",
          "hubble_deep_field", "retina", "brick", "grass", "gravel", "page", "text", "colorwheel", "cell"]


def rgb(image):
    image = np.asarray(image)
    if image.dtype == bool:
        image = image.astype(np.uint8) * 255
    return np.repeat(image[..., None], 3, axis=2) if image.ndim == 2 else image[..., :3]


@pytest.fixture(scope="module")
def photos():
    return {name: rgb(getattr(data, name)()) for name in PHOTOS}


@pytest.fixture(scope="module")
def frames(photos):
    """256 x 256 frames like the model's: face crops of the astronaut and centre crops of other photos."""
    out = [cv2.resize(photos["astronaut"][0:300, 100:400], (256, 256), interpolation=cv2.INTER_AREA)]
    for name in ("chelsea", "coffee", "camera", "rocket", "hubble_deep_field"):
        image = photos[name]
        side = min(image.shape[:2])
        out.append(cv2.resize(image[:side, :side], (256, 256), interpolation=cv2.INTER_AREA))
    return out


def jpeg(image, quality=75):
    ok, buffer = cv2.imencode(".jpg", image[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, quality])
    return cv2.imdecode(buffer, cv2.IMREAD_COLOR)[..., ::-1]


def half(image, interpolation=cv2.INTER_AREA):
    return cv2.resize(image, (image.shape[1] // 2, image.shape[0] // 2), interpolation=interpolation)


def pillow_half(image):
    from PIL import Image

    pil = Image.fromarray(image)
    return np.asarray(pil.resize((pil.width // 2, pil.height // 2), Image.BICUBIC))


def pillow_jpeg(image):
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, "JPEG", quality=75)
    return np.asarray(Image.open(buffer).convert("RGB"))


ATTACKS = {
    "none": lambda x: x,
    "jpeg q75": jpeg,
    "0.5x area": half,
    "0.5x bicubic": lambda x: half(x, cv2.INTER_CUBIC),
    "0.5x then jpeg q75": lambda x: jpeg(half(x)),
    "jpeg q75 then 0.5x": lambda x: half(jpeg(x)),
    "pillow 0.5x bicubic then jpeg q75": lambda x: pillow_jpeg(pillow_half(x)),
}


def test_marked_frames_are_found_after_jpeg_and_halving(frames):
    for k, frame in enumerate(frames):
        marked = provenance.mark(frame)
        for name, attack in ATTACKS.items():
            found, score = provenance.detect(attack(marked))
            assert found, f"frame {k}, {name}: score {score:.2f}"


def test_the_mark_is_invisible(frames, photos):
    for frame in frames + [photos["coins"], photos["page"]]:
        marked = provenance.mark(frame)
        assert marked.dtype == frame.dtype and marked.shape == frame.shape
        assert psnr(marked, frame) >= 40
        difference = marked.astype(int) - frame
        assert np.abs(difference).max() <= 16
        # luminance only: R, G and B move together wherever nothing was clipped
        inside = (frame > 16).all(-1) & (frame < 239).all(-1)
        assert np.abs(difference[..., 0] - difference[..., 1])[inside].max() <= 1


def test_a_spared_face_is_left_nearly_untouched_and_the_mark_survives():
    """A face (an ellipse of 68 points) in a textured frame keeps far less of the change than the rest; the
    frame is still found after every attack and within the PSNR limit; a face that fills the whole frame
    gets the mark as if nothing were spared."""
    rng = np.random.default_rng(0)
    frame = cv2.GaussianBlur(rng.integers(0, 256, (360, 480, 3), dtype=np.uint8), (9, 9), 0)
    angles = np.linspace(0, 2 * np.pi, 68, endpoint=False)
    points = np.stack([240 + 60 * np.cos(angles), 170 + 75 * np.sin(angles)], 1)
    spare = provenance.face_spare(points, frame.shape)
    assert spare.shape == frame.shape[:2] and spare.max() == pytest.approx(1.0) and spare[350, 5] == 0
    plain = np.abs(provenance.mark(frame).astype(int) - frame).mean(-1)
    marked = provenance.mark(frame, spare)
    spared = np.abs(marked.astype(int) - frame).mean(-1)
    face = spare > 0.99
    assert spared[face].mean() < 0.2 * plain[face].mean()
    assert psnr(marked, frame) >= provenance.MIN_PSNR - 0.1
    for name, attack in ATTACKS.items():
        found, score = provenance.detect(attack(marked))
        assert found, f"{name}: score {score:.2f}"
    everywhere = provenance.mark(frame, np.ones(frame.shape[:2], np.float32))
    assert provenance.detect(jpeg(half(everywhere)))[0] and psnr(everywhere, frame) >= provenance.MIN_PSNR - 0.1
    with pytest.raises(ValueError):
        provenance.mark(frame, spare[:100])
    # a face half out of the frame, or wholly out of it: the part inside, or nothing
    half_out = provenance.face_spare(points + [240, 0], frame.shape)
    assert half_out[170, 470] == pytest.approx(1.0) and half_out[:, :300].max() == 0
    assert provenance.face_spare(points + [2000, 2000], frame.shape).max() == 0


def test_untouched_photos_crops_and_noise_are_not_found(photos):
    rng = np.random.default_rng(7)
    images = list(photos.values())
    for image in photos.values():                                  # crops at assorted sizes and places
        h, w = image.shape[:2]
        side = int(rng.integers(64, min(h, w) + 1))
        y, x = rng.integers(0, h - side + 1), rng.integers(0, w - side + 1)
        images.append(image[y:y + side, x:x + side])
    for size in (64, 100, 256, 300, 512):
        images.append(rng.integers(0, 256, (size, size + 17, 3), dtype=np.uint8))
        images.append(np.clip(rng.normal(128, 40, (size, size, 3)), 0, 255).astype(np.uint8))
    for sigma in (1, 3, 6, 10):
        images.append(cv2.GaussianBlur(rng.integers(0, 256, (200, 240, 3), dtype=np.uint8), (0, 0), sigma))
    images.append(np.full((128, 128, 3), 200, np.uint8))
    images.append(jpeg(half(photos["astronaut"])))
    assert len(images) >= 50
    scores = np.array([provenance.detect(image)[1] for image in images])
    found = [provenance.detect(image)[0] for image in images]
    assert not any(found), scores.max()
    # The score of an unmarked image is a normalised sum of independent +-1 signs: about N(0, 1).
    assert abs(scores.mean()) < 0.6 and 0.5 < scores.std() < 1.6 and scores.max() < 4.5


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.float32])
def test_every_bit_depth_carries_it(frames, dtype):
    frame = frames[0]
    image = (frame.astype(np.uint16) * 257 if dtype == np.uint16 else
             frame.astype(np.float32) / 255 if dtype == np.float32 else frame)
    marked = provenance.mark(image)
    assert marked.dtype == dtype and provenance.detect(marked)[0]
    assert psnr(marked, image) >= 40


def test_marking_twice_changes_nothing_and_alpha_is_kept(frames):
    once = provenance.mark(frames[1])
    assert np.array_equal(provenance.mark(once), once)
    rgba = np.dstack([frames[2], np.full(frames[2].shape[:2], 77, np.uint8)])
    marked = provenance.mark(rgba)
    assert marked.shape == rgba.shape and np.all(marked[..., 3] == 77) and provenance.detect(marked)[0]


def test_sizes(frames):
    with pytest.raises(UserError, match="too small"):
        provenance.mark(np.zeros((48, 300, 3), np.uint8))
    assert provenance.detect(np.zeros((48, 300, 3), np.uint8)) == (False, 0.0)
    big = cv2.resize(frames[3], (900, 700), interpolation=cv2.INTER_CUBIC)
    marked = provenance.mark(big)
    assert provenance.detect(jpeg(half(marked)))[0]
    assert provenance.detect(cv2.resize(marked, (300, 233), interpolation=cv2.INTER_AREA))[0]   # even 1/3


def test_verify_finds_it_in_every_written_format(tmp_path, frames, capsys):
    frame = frames[0]
    paths = [write_frame(tmp_path / "a.png", frame), write_frame(tmp_path / "b.png", frame, bit_depth=16),
             write_frame(tmp_path / "c.exr", frame)]
    with SequenceWriter(tmp_path / "seq") as writer:
        writer.append(frame)
    paths.append(tmp_path / "seq" / "frame_0001.png")
    paths.append(write_video(tmp_path / "d.mp4", [np.roll(frame, k, axis=1) for k in range(6)], 24))
    marked = provenance.mark(frame)
    for name, attack in (("e.jpg", jpeg), ("f.png", half)):
        cv2.imwrite(str(tmp_path / name), attack(marked)[..., ::-1])
        paths.append(tmp_path / name)
    assert main(["verify", *map(str, paths)]) == 0
    lines = [line.split("\t") for line in capsys.readouterr().out.strip().splitlines()]
    assert len(lines) == 3 * len(paths)                            # c2pa, xmp, watermark for each file
    marks = [line for line in lines if line[1] == "watermark"]
    for path, (name, _, verdict, score) in zip(paths, marks):
        assert name == str(path) and verdict == "found" and float(score) >= provenance.THRESHOLD
    written = {str(p) for p in paths[:5]}                          # what the project wrote carries XMP
    assert all(line[2] == "present" for line in lines if line[1] == "xmp" and line[0] in written)


def test_verify_reports_unmarked_images(tmp_path, frames, capsys):
    marked = tmp_path / "marked.png"
    write_frame(marked, frames[0])
    photo = tmp_path / "photo.png"
    cv2.imwrite(str(photo), frames[0][..., ::-1])
    assert main(["verify", str(marked), str(photo)]) == 1
    lines = [line.split("\t") for line in capsys.readouterr().out.strip().splitlines()]
    assert [line[2] for line in lines if line[1] == "watermark"] == ["found", "not found"]
    assert [line[2] for line in lines if line[1] == "xmp"] == ["present", "absent"]
    assert main(["verify", str(marked)]) == 0
    capsys.readouterr()
    assert main(["verify", str(marked), "--json", "-"]) == 0
    (report,) = json.loads(capsys.readouterr().out)                # nothing but the JSON on stdout
    assert report["path"] == str(marked) and report["synthetic"] and report["watermark"]["found"]


def test_metadata_names_the_software_and_says_synthetic():
    fields = provenance.metadata()
    assert fields["Software"].startswith("Neural Talking Heads ")
    assert "AI-generated" in fields["Description"] and fields["AI-Generated"] == "true"


def test_large_frames_are_marked_at_the_working_size_and_found_at_any(photos):
    """Over WORKING_SIDE the mark is made on the frame brought to the working size and its change brought
    back: within the PSNR limit, luminance only, found at full size, after JPEG and halving, and at sizes
    scored exactly (under WORKING_SIDE); a spared face stays nearly untouched there too."""
    frame = cv2.resize(photos["coffee"], (2048, 1536), interpolation=cv2.INTER_CUBIC)
    assert max(frame.shape) > 2 * provenance.WORKING_SIDE
    marked = provenance.mark(frame)
    assert psnr(marked, frame) >= provenance.MIN_PSNR - 0.1
    difference = marked.astype(int) - frame
    inside = (frame > 16).all(-1) & (frame < 239).all(-1)
    assert np.abs(difference[..., 0] - difference[..., 1])[inside].max() <= 1
    for image in (marked, jpeg(half(marked)), cv2.resize(marked, (400, 300), interpolation=cv2.INTER_AREA),
                  jpeg(cv2.resize(marked, (256, 192), interpolation=cv2.INTER_CUBIC))):
        found, value = provenance.detect(image)
        assert found and value >= 10, f"{image.shape}: score {value:.2f}"
    assert np.array_equal(provenance.mark(marked), marked)
    angles = np.linspace(0, 2 * np.pi, 68, endpoint=False)
    points = np.stack([1024 + 250 * np.cos(angles), 768 + 320 * np.sin(angles)], 1)
    spare = provenance.face_spare(points, frame.shape)
    spared = provenance.mark(frame, spare)
    face = spare > 0.99
    assert np.abs(spared.astype(int) - frame)[face].mean() < 0.2 * np.abs(difference)[face].mean()
    assert provenance.detect(jpeg(half(spared)))[0] and psnr(spared, frame) >= provenance.MIN_PSNR - 0.1


def test_verify_finds_the_mark_of_a_2048_rgba_uv_frame(tmp_path, photos, capsys):
    """A UV frame (core.head.bake): the photo over a disk, alpha 0 elsewhere (62 % of it), colour there the
    photo's mean. Its mark lies in the colour channels everywhere; verify scores them as stored, where
    compositing over black (as images for the model are loaded) would lose it."""
    from talking_heads.core.images import load_image

    size = 2048
    r, c = np.mgrid[0:size, 0:size]
    disk = np.hypot(r - size / 2, c - size / 2) < 0.35 * size
    photo = cv2.resize(photos["astronaut"], (size, size), interpolation=cv2.INTER_CUBIC)
    colour = np.where(disk[..., None], photo, photo[disk].mean(0).round().astype(np.uint8))
    frame = np.dstack([colour, disk.astype(np.uint8) * 255])
    with SequenceWriter(tmp_path, name="head_") as writer:
        writer.write(1, frame)
    path = tmp_path / "head_0001.png"
    assert main(["verify", str(path)]) == 0
    (mark,) = [line.split("\t") for line in capsys.readouterr().out.splitlines() if "\twatermark\t" in line]
    assert mark[2] == "found" and float(mark[3]) >= 10
    assert not provenance.detect(load_image(path))[0]                  # over black: the gap this closes
