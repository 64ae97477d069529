"""core.images.load_image: every kind of photo a user may hand over, and every kind of bad file."""
import io
import warnings

import numpy as np
import pytest
from PIL import Image

from talking_heads.core.errors import UserError
from talking_heads.core.images import MAX_SIDE, MIN_SIDE, load_image


def gradient(h=96, w=128) -> np.ndarray:
    """An RGB test card whose every pixel differs, so any flip or rotation shows."""
    y, x = np.mgrid[0:h, 0:w]
    return np.stack([x * 255 // (w - 1), y * 255 // (h - 1), (x + y) % 256], axis=2).astype(np.uint8)


def save(tmp_path, name, image: Image.Image, **options):
    path = tmp_path / name
    image.save(path, **options)
    return path


def test_rgb_png_loads_exactly(tmp_path):
    card = gradient()
    out = load_image(save(tmp_path, "card.png", Image.fromarray(card)))
    assert out.dtype == np.uint8 and out.shape == card.shape and out.flags.c_contiguous
    np.testing.assert_array_equal(out, card)


@pytest.mark.parametrize("orientation, undo", [
    (3, lambda a: np.rot90(a, 2)),
    (6, lambda a: np.rot90(a, 1)),  # stored rotated 90 degrees clockwise -> shown turned back
    (8, lambda a: np.rot90(a, -1)),
    (2, lambda a: a[:, ::-1]),
])
def test_exif_orientation_is_applied(tmp_path, orientation, undo):
    card = gradient()
    exif = Image.Exif()
    exif[0x0112] = orientation
    stored = undo(card)  # what a camera would store for this upright picture
    path = save(tmp_path, "phone.png", Image.fromarray(np.ascontiguousarray(stored)), exif=exif)
    np.testing.assert_array_equal(load_image(path), card)


def test_16_bit_greyscale_is_scaled_to_8_bits(tmp_path):
    values = (np.arange(96 * 128).reshape(96, 128) * 5 % 65536).astype(np.uint16)
    out = load_image(save(tmp_path, "scan.png", Image.fromarray(values)))
    expected = np.rint(values / 257.0).astype(np.uint8)
    np.testing.assert_array_equal(out[..., 0], expected)
    np.testing.assert_array_equal(out[..., 0], out[..., 2])


def test_16_bit_rgb_tiff(tmp_path):
    import tifffile

    values = (np.random.default_rng(0).random((80, 90, 3)) * 65535).astype(np.uint16)
    path = tmp_path / "export.tif"
    tifffile.imwrite(path, values)
    out = load_image(path)
    assert np.abs(out.astype(int) - values / 257.0).max() <= 1.0


def test_float_tiff_is_taken_as_unit_range(tmp_path):
    import tifffile

    values = np.linspace(-0.5, 1.5, 80 * 90 * 3, dtype=np.float32).reshape(80, 90, 3)
    path = tmp_path / "linear.tif"
    tifffile.imwrite(path, values)
    out = load_image(path)
    np.testing.assert_array_equal(out, np.rint(np.clip(values, 0, 1) * 255).astype(np.uint8))


@pytest.mark.parametrize("mode", ["L", "1"])
def test_greyscale_and_bilevel_give_three_equal_channels(tmp_path, mode):
    grey = Image.fromarray(gradient()[..., 0]).convert(mode)
    out = load_image(save(tmp_path, "grey.png", grey))
    assert out.shape == (96, 128, 3)
    np.testing.assert_array_equal(out[..., 0], np.asarray(grey.convert("L")))
    assert (out[..., 0] == out[..., 1]).all() and (out[..., 1] == out[..., 2]).all()


def test_cmyk_is_converted_to_rgb(tmp_path):
    cmyk = np.zeros((80, 90, 4), np.uint8)
    cmyk[:, :30, 0] = 255  # cyan
    cmyk[:, 30:60, 1] = 255  # magenta
    cmyk[:, 60:, 3] = 255  # black
    out = load_image(save(tmp_path, "print.tif", Image.fromarray(cmyk, mode="CMYK")))
    np.testing.assert_array_equal(out[0, 0], [0, 255, 255])
    np.testing.assert_array_equal(out[0, 40], [255, 0, 255])
    np.testing.assert_array_equal(out[0, 80], [0, 0, 0])


def test_cmyk_jpeg(tmp_path):
    cmyk = np.zeros((80, 90, 4), np.uint8)
    cmyk[..., 1] = 255
    cmyk[..., 2] = 255  # magenta + yellow = red
    out = load_image(save(tmp_path, "print.jpg", Image.fromarray(cmyk, mode="CMYK"), quality=95))
    assert np.abs(out[40, 45].astype(int) - [255, 0, 0]).max() <= 8


def test_alpha_is_composited_over_black(tmp_path):
    rgba = np.zeros((80, 90, 4), np.uint8)
    rgba[..., :3] = (200, 100, 50)
    rgba[:, :45, 3] = 255
    rgba[:, 45:, 3] = 128
    rgba[:10, :, 3] = 0
    out = load_image(save(tmp_path, "cutout.png", Image.fromarray(rgba, mode="RGBA")))
    np.testing.assert_array_equal(out[40, 10], [200, 100, 50])
    assert np.abs(out[40, 80].astype(int) - np.array([200, 100, 50]) * 128 / 255).max() <= 1
    np.testing.assert_array_equal(out[5, 5], [0, 0, 0])


def test_greyscale_with_alpha(tmp_path):
    la = np.zeros((80, 90, 2), np.uint8)
    la[..., 0] = 240
    la[..., 1] = 64
    out = load_image(save(tmp_path, "la.png", Image.fromarray(la, mode="LA")))
    assert abs(int(out[0, 0, 0]) - 240 * 64 / 255) <= 1 and out[0, 0, 0] == out[0, 0, 2]


def test_palette_with_and_without_transparency(tmp_path):
    card = Image.fromarray(gradient())
    palette = card.quantize(colors=16)
    out = load_image(save(tmp_path, "palette.png", palette))
    np.testing.assert_array_equal(out, np.asarray(palette.convert("RGB")))
    transparent_index = np.asarray(palette)[0, 0]
    path = save(tmp_path, "palette_t.png", palette, transparency=int(transparent_index))
    out = load_image(path)
    np.testing.assert_array_equal(out[0, 0], [0, 0, 0])  # that palette entry is see-through: black


def test_srgb_profile_keeps_colours_and_a_broken_profile_is_ignored(tmp_path):
    from PIL import ImageCms

    card = gradient()
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    tagged = load_image(save(tmp_path, "tagged.png", Image.fromarray(card), icc_profile=srgb))
    assert np.abs(tagged.astype(int) - card).max() <= 2
    broken = load_image(save(tmp_path, "broken.png", Image.fromarray(card), icc_profile=b"not a profile"))
    np.testing.assert_array_equal(broken, card)


def test_first_page_of_an_animation(tmp_path):
    frames = [Image.fromarray(np.full((80, 90, 3), v, np.uint8)) for v in (10, 200)]
    path = tmp_path / "anim.gif"
    frames[0].save(path, save_all=True, append_images=frames[1:])
    assert abs(int(load_image(path)[0, 0, 0]) - 10) <= 2


def test_huge_image_is_downscaled_with_a_warning(tmp_path):
    wide = np.zeros((MIN_SIDE + 6, MAX_SIDE + 808, 3), np.uint8)
    wide[:, -100:] = 255
    path = save(tmp_path, "panorama.png", Image.fromarray(wide))
    with pytest.warns(UserWarning, match="downscaled"):
        out = load_image(path)
    assert max(out.shape[:2]) == MAX_SIDE and out[:, -50:].min() > 200


def test_huge_jpeg_uses_reduced_decoding_and_still_warns(tmp_path):
    big = np.zeros((200, 2 * MAX_SIDE + 10, 3), np.uint8)
    path = save(tmp_path, "huge.jpg", Image.fromarray(big))
    with pytest.warns(UserWarning, match=f"{2 * MAX_SIDE + 10}x200"):
        out = load_image(path)
    assert max(out.shape[:2]) == MAX_SIDE


def test_ordinary_image_gives_no_warning(tmp_path):
    path = save(tmp_path, "ok.jpg", Image.fromarray(gradient()))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        load_image(path)


def _truncated(tmp_path, suffix):
    noise = (np.random.default_rng(1).random((200, 200, 3)) * 255).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(noise).save(buffer, format="PNG" if suffix == ".png" else "JPEG")
    path = tmp_path / f"cut{suffix}"
    path.write_bytes(buffer.getvalue()[: len(buffer.getvalue()) // 2])
    return path


def _written(path, content: bytes):
    path.write_bytes(content)
    return path


@pytest.mark.parametrize("make, words", [
    (lambda d: d / "missing.png", "no such file"),
    (lambda d: d, "folder"),
    (lambda d: _written(d / "empty.png", b""), "empty"),
    (lambda d: _written(d / "notes.png", b"hello, not an image"), "not an image"),
    (lambda d: _truncated(d, ".png"), "truncated or corrupt"),
    (lambda d: _truncated(d, ".jpg"), "truncated or corrupt"),
    (lambda d: save(d, "tiny.png", Image.fromarray(gradient(MIN_SIDE - 1, 300))), f"at least {MIN_SIDE}"),
])
def test_bad_files_give_one_line_user_errors(tmp_path, make, words):
    path = make(tmp_path)
    with pytest.raises(UserError, match=words) as caught:
        load_image(path)
    assert "\n" not in str(caught.value)


def test_smallest_allowed_size_loads(tmp_path):
    assert load_image(save(tmp_path, "small.png", Image.fromarray(gradient(MIN_SIDE, MIN_SIDE)))).shape == \
        (MIN_SIDE, MIN_SIDE, 3)


def test_a_long_thin_image_whose_downscale_is_too_narrow_is_refused(tmp_path):
    """The fuzzer's case: a 200 x 26000 image passes the minimum side as read, but at most 8192 on its long
    side it would be 63 pixels wide. One line, no image."""
    from PIL import Image

    path = tmp_path / "thin.png"
    Image.new("RGB", (200, 26000), (120, 120, 120)).save(path)
    with pytest.raises(UserError, match="leaves 63x8192; crop it to the face"):
        load_image(path)
