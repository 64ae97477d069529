"""Image sequences: names, round trips (PNG 8/16 exact, EXR within half precision), alpha, metadata."""
import numpy as np
import pytest

from talking_heads.core.errors import UserError
from talking_heads.export import provenance
from talking_heads.core.frame_names import frame_name
from talking_heads.core.metrics import psnr
from talking_heads.core.colour import linear_to_srgb, srgb_to_linear
from talking_heads.export.sequence import (SequenceWriter, find_sequence, read_image, read_metadata, read_sequence,
                                           read_srgb, write_frame)


@pytest.fixture(scope="module")
def frames(astronaut):
    """Eight distinct 128 x 128 crops of the astronaut."""
    return [np.ascontiguousarray(astronaut[40 + 8 * k:168 + 8 * k, 150 + 12 * k:278 + 12 * k]) for k in range(8)]


def test_frame_names_are_blender_numbered():
    assert frame_name("frame_", 1) == "frame_0001.png"
    assert frame_name("shot", 12345, "exr") == "shot12345.exr"
    with pytest.raises(UserError):
        frame_name("frame_", -1)


@pytest.mark.parametrize("workers", [1, 3])
def test_png8_round_trip_is_exact(tmp_path, frames, workers):
    with SequenceWriter(tmp_path, start=7, workers=workers, watermark=False) as writer:
        numbers = [writer.append(f) for f in frames]
    assert numbers == list(range(7, 7 + len(frames)))
    assert sorted(writer.written) == numbers
    back = read_sequence(tmp_path, "frame_", "png")
    assert list(back) == numbers
    for n, f in zip(numbers, frames):
        assert back[n].dtype == np.uint8 and np.array_equal(back[n], f)


def test_written_frames_are_the_marked_frames(tmp_path, frames):
    with SequenceWriter(tmp_path, name="shot_") as writer:
        for k, f in enumerate(frames[:3]):
            writer.write(100 + k, f)
    back = read_sequence(tmp_path, "shot_", "png")
    for k, f in enumerate(frames[:3]):
        assert np.array_equal(back[100 + k], provenance.mark(f))
        assert psnr(back[100 + k], f) >= 40


def test_png16_round_trip_is_exact(tmp_path):
    rng = np.random.default_rng(1)
    ramp = np.linspace(0, 65535, 96 * 80, dtype=np.float64).reshape(96, 80)
    rgb = np.dstack([ramp, ramp[::-1], rng.integers(0, 65536, (96, 80))]).astype(np.uint16)
    alpha = rng.integers(0, 65536, (96, 80)).astype(np.uint16)
    path = write_frame(tmp_path / "f_0001.png", rgb, alpha=alpha, bit_depth=16, watermark=False)
    back = read_image(path)
    assert back.dtype == np.uint16 and back.shape == (96, 80, 4)
    assert np.array_equal(back[..., :3], rgb) and np.array_equal(back[..., 3], alpha)


def test_png16_from_8bit_and_float_input(tmp_path, frames):
    path = write_frame(tmp_path / "a.png", frames[0], bit_depth=16, watermark=False)
    assert np.array_equal(read_image(path), frames[0].astype(np.uint16) * 257)
    unit = frames[1].astype(np.float32) / 255
    path = write_frame(tmp_path / "b.png", unit, bit_depth=16, watermark=False)
    assert np.array_equal(read_image(path), np.rint(unit * 65535).astype(np.uint16))


def test_exr_is_linear_half_float_within_half_precision(tmp_path, frames):
    rng = np.random.default_rng(2)
    rgb = rng.uniform(0, 1, (70, 90, 3)).astype(np.float32)
    path = write_frame(tmp_path / "f_0001.exr", rgb, watermark=False)
    stored = read_image(path)
    assert stored.dtype == np.float32 and stored.shape == (70, 90, 3)
    assert np.allclose(stored, srgb_to_linear(rgb), rtol=2 ** -10, atol=2 ** -24)   # linear, not sRGB
    assert np.max(np.abs(read_srgb(path) - rgb)) < 2e-3

    path = write_frame(tmp_path / "f_0002.exr", frames[0], watermark=False)          # uint8 input
    assert np.max(np.abs(read_srgb(path) * 255 - frames[0])) < 0.5


def test_exr_alpha_is_premultiplied_and_read_back_straight(tmp_path):
    rgb = np.full((64, 64, 3), 0.8, np.float32)
    alpha = np.zeros((64, 64), np.float32)
    alpha[:, 32:] = 0.5
    path = write_frame(tmp_path / "a.exr", rgb, alpha=alpha, watermark=False)
    stored = read_image(path)
    assert np.allclose(stored[:, 32:, :3], srgb_to_linear(0.8) * 0.5, rtol=1e-3)
    assert np.all(stored[:, :32, :3] == 0)
    back = read_srgb(path)
    assert np.allclose(back[:, 32:, :3], 0.8, atol=2e-3) and np.allclose(back[..., 3], alpha, atol=1e-3)


def test_png_alpha_from_a_face_mask(tmp_path, frames):
    mask = np.zeros(frames[0].shape[:2], bool)
    mask[30:90, 40:100] = True
    path = write_frame(tmp_path / "m.png", frames[0], alpha=mask, watermark=False)
    back = read_image(path)
    assert back.shape[2] == 4 and np.array_equal(back[..., 3], mask * np.uint8(255))
    assert np.array_equal(back[..., :3], frames[0])


def test_srgb_curves_invert_each_other():
    x = np.linspace(0, 1, 1001, dtype=np.float32)
    assert np.max(np.abs(linear_to_srgb(srgb_to_linear(x)) - x)) < 1e-5
    assert srgb_to_linear(np.float32(0.5)) == pytest.approx(0.21404, abs=1e-4)


def test_provenance_metadata_in_png_and_exr(tmp_path, frames):
    png = write_frame(tmp_path / "a.png", frames[0], metadata={"Frame": "12", "Person": "Ada Lovelace ✓"})
    exr = write_frame(tmp_path / "a.exr", frames[0])
    for path in (png, exr):
        fields = read_metadata(path)
        assert fields["Software"].startswith(provenance.SOFTWARE)
        assert "AI-generated" in fields["Description"]
        assert fields["DigitalSourceType"].endswith("trainedAlgorithmicMedia")
    assert read_metadata(png)["Person"] == "Ada Lovelace ✓"                 # UTF-8 goes to iTXt
    assert "AI-generated" in read_metadata(exr)["comments"]                   # EXR's standard attribute
    pil = pytest.importorskip("PIL.Image")
    with pil.open(png) as image:                                              # a standard reader sees them too
        assert image.text["Software"] == read_metadata(png)["Software"]


def test_user_metadata_cannot_hide_the_provenance(tmp_path, frames):
    path = write_frame(tmp_path / "a.png", frames[0], metadata={"Description": "a real photo"})
    assert "AI-generated" in read_metadata(path)["Description"]


def test_bad_frames_are_user_errors(tmp_path, frames):
    with pytest.raises(UserError):
        write_frame(tmp_path / "a.png", frames[0][..., :2])
    with pytest.raises(UserError):
        write_frame(tmp_path / "a.png", frames[0], alpha=np.ones((3, 3)))
    with pytest.raises(UserError):
        write_frame(tmp_path / "a.png", frames[0], bit_depth=12)
    with pytest.raises(UserError):
        write_frame(tmp_path / "a.tga", frames[0])
    with pytest.raises(UserError):
        write_frame(tmp_path / "a.png", np.full((64, 64, 3), np.nan, np.float32))
    with pytest.raises(UserError):
        SequenceWriter(tmp_path, name="../escape_")
    assert list(tmp_path.iterdir()) == []


def test_find_sequence(tmp_path, frames):
    with SequenceWriter(tmp_path, name="take_", watermark=False) as writer:
        for k in (3, 4, 9):
            writer.write(k, frames[k % len(frames)])
    assert find_sequence(tmp_path) == ("take_", "png", [3, 4, 9])
    write_frame(tmp_path / "other_0001.png", frames[0], watermark=False)
    with pytest.raises(UserError, match="several sequences"):
        find_sequence(tmp_path)
    assert find_sequence(tmp_path, "other_")[2] == [1]
    with pytest.raises(UserError):
        find_sequence(tmp_path / "missing")


@pytest.mark.parametrize("depth", [8, 16])
def test_png_frames_read_back_exactly_by_other_decoders(tmp_path, depth):
    """The PNG writer's own encoding (Up filter, ISA-L's deflate): libpng (OpenCV) and Pillow read every
    sample back, RGB and RGBA, 8 and 16 bit, with the XMP packet and the text fields before the pixels."""
    from PIL import Image

    rng = np.random.default_rng(4)
    top = 256 if depth == 8 else 65536
    ramp = np.linspace(0, top - 1, 61 * 77).reshape(61, 77)
    for channels, mode in ((3, "RGB"), (4, "RGBA")):
        planes = [ramp, ramp[::-1], rng.integers(0, top, (61, 77)), rng.integers(0, top, (61, 77))]
        pixels = np.dstack(planes[:channels]).astype(np.uint8 if depth == 8 else np.uint16)
        path = write_frame(tmp_path / f"f{channels}.png", pixels, bit_depth=depth, watermark=False,
                           metadata={"Frame": "3"})
        assert np.array_equal(read_image(path), pixels)                         # libpng, through OpenCV
        with Image.open(path) as image:
            assert image.size == (77, 61) and image.text["Frame"] == "3"
            if depth == 8:                                                      # (Pillow reduces 16-bit RGB)
                assert image.mode == mode and np.array_equal(np.asarray(image), pixels)
        kinds = _chunk_kinds(path.read_bytes())
        assert kinds[0] == b"IHDR" and kinds[1] == b"iTXt" and kinds[-2:] == [b"IDAT", b"IEND"]


def _chunk_kinds(data: bytes) -> list[bytes]:
    import struct

    kinds, at = [], 8
    while at < len(data):
        length, kind = struct.unpack(">I4s", data[at:at + 8])
        kinds.append(kind)
        at += 12 + length
    return kinds


def test_an_rgba_frame_is_marked_in_its_colour_and_keeps_its_alpha(tmp_path, frames):
    """RGBA frames (UV frames: alpha is the fit's weight) go through the writer as one array: the colour
    carries the mark wherever alpha is, the alpha is written exactly."""
    rgba = np.dstack([frames[0], np.tile(np.arange(128, dtype=np.uint8) * 2, (128, 1))])
    with SequenceWriter(tmp_path, name="head_") as writer:
        writer.write(1, rgba)
    back = read_sequence(tmp_path, "head_", "png")[1]
    assert back.shape == (128, 128, 4) and np.array_equal(back[..., 3], rgba[..., 3])
    assert np.array_equal(back, provenance.mark(rgba)) and provenance.detect(back)[0]
