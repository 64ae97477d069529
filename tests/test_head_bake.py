"""Baking frames into a head's UV space: pixels sampled once through the fit's map, the weight as alpha,
transparent off the surface; and generate writing the UV frames beside the frames, with their provenance."""
import dataclasses

import numpy as np
import pytest

from talking_heads.core.errors import UserError
from talking_heads.core.head.bake import Baker, bake_frame, load_fit
from talking_heads.core.head.fit import HeadFit


def _fit(size: int, image_size: tuple[int, int], scale: float, offset: tuple[float, float]) -> HeadFit:
    """A fit whose texel (r, c) shows pixel (offset + scale * (c, r)), its weight a disk falling off
    linearly to 0 at its rim."""
    r, c = np.mgrid[0:size, 0:size].astype(np.float32)
    pixels = np.dstack([offset[0] + scale * c, offset[1] + scale * r]).astype(np.float32)
    radius = np.hypot(r - size / 2, c - size / 2) / (size / 2)
    weight = np.clip((0.9 - radius) * 4, 0, 1).astype(np.float32)
    return HeadFit(size=size, texel_pixels=pixels, weight=weight, landmark_vertices=np.arange(68),
                   rotation=np.eye(3), translation=np.zeros(3), focal=500.0, image_size=image_size)


@pytest.fixture(scope="module")
def frame():
    rng = np.random.default_rng(3)
    return rng.integers(0, 256, (150, 200, 3), np.uint8)


def test_whole_pixel_map_reproduces_the_frame_and_the_weight_is_alpha(frame):
    fit = _fit(96, (200, 150), 1.0, (40.0, 20.0))
    out = bake_frame(frame, fit)
    assert out.shape == (96, 96, 4) and out.dtype == np.uint8
    live = fit.weight > 0
    assert np.array_equal(out[..., :3][live], frame[20:116, 40:136][live])
    assert np.array_equal(out[..., 3], np.rint(fit.weight * 255).astype(np.uint8))
    assert np.all(out[..., 3][~live] == 0) and 0 < np.count_nonzero((fit.weight > 0) & (fit.weight < 1))


def test_fractional_map_is_bilinear(frame):
    fit = _fit(64, (200, 150), 1.5, (30.25, 10.75))        # a stretch and sub-pixel offsets
    out = bake_frame(frame, fit).astype(np.float64)
    import cv2

    exact = cv2.remap(frame.astype(np.float32), fit.texel_pixels, None, cv2.INTER_LINEAR)
    live = fit.weight > 0
    assert np.abs(out[..., :3][live] - exact[live]).max() <= 4      # OpenCV's 1/32-pixel fixed-point table


def test_texels_showing_pixels_off_the_frame_are_transparent(frame):
    fit = _fit(64, (200, 150), 1.0, (170.0, 100.0))        # the lower right of the disk lies off the frame
    out = bake_frame(frame, fit)
    off = (fit.texel_pixels[..., 0] > 200) | (fit.texel_pixels[..., 1] > 150)
    assert np.all(out[..., 3][off] == 0)
    on = (fit.weight == 1) & (fit.texel_pixels[..., 0] < 198) & (fit.texel_pixels[..., 1] < 148)
    assert on.any() and np.all(out[..., 3][on] == 255)


def test_the_frames_own_alpha_multiplies_the_weight(frame):
    fit = _fit(64, (200, 150), 1.0, (40.0, 20.0))
    rgba = np.dstack([frame, np.full(frame.shape[:2], 128, np.uint8)])
    rgba[:, :100, 3] = 0
    out = Baker(fit)(rgba)
    expected = np.rint(np.rint(fit.weight * 255) * np.where(fit.texel_pixels[..., 0] < 100, 0, 128) / 255)
    assert np.abs(out[..., 3].astype(int) - expected).max() <= 1


def test_bad_frames_and_fits_are_user_errors(frame, tmp_path):
    fit = _fit(64, (200, 150), 1.0, (40.0, 20.0))
    with pytest.raises(UserError, match="200x150"):
        bake_frame(frame[:100], fit)
    with pytest.raises(UserError, match="no texel"):
        Baker(dataclasses.replace(fit, weight=np.zeros_like(fit.weight)))
    np.savez(tmp_path / "fit.npz", **{k: v for k, v in dataclasses.asdict(fit).items() if k != "warnings"},
             warnings=np.array(["one warning"]))
    loaded = load_fit(tmp_path / "fit.npz")
    assert loaded.image_size == (200, 150) and loaded.warnings == ["one warning"]
    assert np.array_equal(bake_frame(frame, loaded), bake_frame(frame, fit))
    np.savez(tmp_path / "half.npz", size=64, weight=fit.weight)
    with pytest.raises(UserError, match="lacks"):
        load_fit(tmp_path / "half.npz")
    (tmp_path / "broken.npz").write_bytes(b"not a zip")
    with pytest.raises(UserError, match="not a readable head fit"):
        load_fit(tmp_path / "broken.npz")


# --- generate with a head fit ------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def job(tmp_path_factory, write_generate_inputs):
    folder = write_generate_inputs(tmp_path_factory.mktemp("job"))
    fit = _fit(256, (512, 512), 1.0, (128.0, 60.0))        # the face's square, texel for pixel
    np.savez(folder / "fit.npz", **{k: v for k, v in dataclasses.asdict(fit).items() if k != "warnings"})
    np.savez(folder / "small.npz", **{k: v for k, v in dataclasses.asdict(_fit(256, (256, 256), 1.0, (0, 0))).items()
                                      if k != "warnings"})
    return folder


def test_generate_bakes_every_frame_with_the_frames_provenance(job, tmp_path):
    from talking_heads.export import content_credentials, provenance, xmp
    from talking_heads.export.sequence import read_image, read_metadata

    out = tmp_path / "out"
    frames = generate_in(job, out, head_fit=str(job / "fit.npz"))
    heads = sorted(p.name for p in out.glob("head_*.png"))
    assert heads == ["head_0001.png", "head_0002.png", "head_0003.png"]
    fit = load_fit(job / "fit.npz")
    for number, frame_path in enumerate(frames, 1):
        uv = read_image(out / f"head_{number:04d}.png")
        frame = read_image(frame_path)
        assert uv.shape == (256, 256, 4)
        assert np.array_equal(uv[..., 3], np.rint(fit.weight * 255).astype(np.uint8))
        live = fit.weight > 0
        # the frame's pixels, but for both images' watermarks (a few grey levels)
        change = np.abs(uv[..., :3].astype(int) - frame[60:316, 128:384])[live]
        assert change.mean() < 3 and change.max() <= 16
        # the same provenance as the frame: text fields, XMP, Content Credentials, the watermark
        path = out / f"head_{number:04d}.png"
        fields = read_metadata(path)
        assert all(fields[k] == v for k, v in provenance.metadata().items())
        assert xmp.file_info(path)["synthetic"]
        assert content_credentials.read(path)["state"] == content_credentials.read(frame_path)["state"] == "valid"
        assert provenance.detect(uv[..., :3])[0]


def test_head_frames_resume_and_refuse_what_they_did_not_write(job, tmp_path):
    out = tmp_path / "out"
    generate_in(job, out, head_fit=str(job / "fit.npz"))
    (out / "head_0002.png").unlink()        # killed after frame 2 was written, before its UV frame
    before = {p.name: p.stat().st_mtime_ns for p in out.glob("*_000[13].png")}
    generate_in(job, out, head_fit=str(job / "fit.npz"))
    assert (out / "head_0002.png").exists()
    assert {p.name: p.stat().st_mtime_ns for p in out.glob("*_000[13].png")} == before

    other = tmp_path / "other"
    other.mkdir()
    (other / "head_0003.png").write_bytes(b"the artist's texture")
    with pytest.raises(UserError, match="did not write"):
        generate_in(job, other, head_fit=str(job / "fit.npz"))
    assert (other / "head_0003.png").read_bytes() == b"the artist's texture"


def test_a_fit_of_another_photo_is_refused_before_anything_is_written(job, tmp_path):
    with pytest.raises(UserError, match="256x256 photo"):
        generate_in(job, tmp_path / "out", head_fit=str(job / "small.npz"))
    with pytest.raises(UserError, match="no such head fit"):
        generate_in(job, tmp_path / "out", head_fit=str(job / "missing.npz"))
    assert not (tmp_path / "out").exists()


def generate_in(job, out, **options):
    from talking_heads.app.generate import generate

    return generate(str(job / "person.safetensors"), str(job / "track.json"), str(out), device="cpu", **options)
