"""Whatever is on the artist's disk: bad photos and bad tracks get one line on the command line, and
nothing is written. The loaders are fuzzed: they either return a valid array or raise UserError."""
import io
import json
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from talking_heads.core.errors import UserError
from talking_heads.core.images import MIN_SIDE, load_image
from talking_heads.core.track.track_file import Track

from .conftest import assert_one_line_error, cli, make_track, tree


def _encoded(image: np.ndarray, fmt: str) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format=fmt)
    return buffer.getvalue()


def _noise(h: int, w: int, seed: int = 0) -> np.ndarray:
    return (np.random.default_rng(seed).random((h, w, 3)) * 255).astype(np.uint8)


# --- reference images, through `python -m core detect` -----------------------------------------------

def _small_face(astronaut):
    """The astronaut's face about 25 pixels across, on a 300-pixel grey canvas."""
    canvas = np.full((300, 300, 3), 128, np.uint8)
    canvas[100:164, 100:164] = np.asarray(Image.fromarray(astronaut).resize((64, 64), Image.LANCZOS))
    return _encoded(canvas, "PNG")


IMAGES = {
    "not an image": (lambda a: b"these are the artist's notes, not a photo\n", "not an image"),
    "0 bytes": (lambda a: b"", "empty (0 bytes)"),
    "truncated PNG": (lambda a: _encoded(_noise(200, 200), "PNG")[:20000], "truncated or corrupt"),
    "truncated JPEG": (lambda a: _encoded(_noise(200, 200), "JPEG")[:5000], "truncated or corrupt"),
    "corrupt PNG": (lambda a: (lambda b: b[:60] + bytes(64) + b[124:])(_encoded(_noise(200, 200), "PNG")),
                    "truncated or corrupt"),
    "PNG signature, then garbage": (lambda a: b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8, "truncated or corrupt"),
    "PFM header, then garbage": (lambda a: b"PF\n" + bytes(range(200, 256)) * 4, "not an image"),
    "smaller than 64 px": (lambda a: _encoded(_noise(MIN_SIDE - 1, 300), "PNG"), f"at least {MIN_SIDE} pixels"),
    "no face": (lambda a: _encoded(np.full((256, 256, 3), 128, np.uint8), "PNG"), "no face found"),
    "face too small": (_small_face, "at least 40 pixels across"),
}


@pytest.mark.parametrize("case", IMAGES)
def test_bad_reference_image_on_the_command_line(tmp_path, astronaut, case):
    make, words = IMAGES[case]
    image = tmp_path / "photo.png"
    image.write_bytes(make(astronaut))
    before = tree(tmp_path)
    done = cli("detect", image, "--backend", "dlib", "--json", tmp_path / "points.json")
    assert_one_line_error(done, words)
    assert tree(tmp_path) == before                     # no JSON, no temporary, the photo untouched


def test_bad_reference_image_for_finetune_writes_no_person(tmp_path):
    image = tmp_path / "photo.jpg"
    image.write_bytes(_encoded(_noise(200, 200), "JPEG")[:3000])
    before = tree(tmp_path)
    assert_one_line_error(cli("finetune", image, "--out", tmp_path / "person.safetensors"), "truncated or corrupt")
    assert tree(tmp_path) == before


def test_huge_image_is_downscaled_with_a_note(tmp_path):
    """More than 8192 pixels on a side: downscaled with a note; here the (faceless) image then fails detection."""
    image = tmp_path / "huge.png"
    Image.new("RGB", (8300, 100), (120, 120, 120)).save(image)
    done = cli("detect", image, "--backend", "dlib")
    assert "downscaled to 8192x99" in done.stderr and "Traceback" not in done.stderr
    assert done.returncode == 2 and done.stderr.strip().splitlines()[-1].startswith("error: no face found")


# --- fuzzing the image loader ------------------------------------------------------------------------

def _check_loaded_or_user_error(path):
    try:
        image = load_image(path)
    except UserError as e:
        assert "\n" not in str(e)
        return
    assert image.dtype == np.uint8 and image.ndim == 3 and image.shape[2] == 3
    assert min(image.shape[:2]) >= MIN_SIDE


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.binary(max_size=2000))
def test_fuzz_load_image_on_random_bytes(tmp_path, blob):
    path = tmp_path / "fuzz.png"
    path.write_bytes(blob)
    _check_loaded_or_user_error(path)


# A few headers that send random bytes down each decoder (Pillow's and OpenCV's fallback).
HEADERS = [b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff\xe0", b"GIF89a", b"BM", b"II*\x00", b"MM\x00*", b"RIFF",
           b"P5\n", b"P6\n", b"PF\n", b"#?RADIANCE\n", b"\x59\xa6\x6a\x95", b"8BPS"]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.sampled_from(HEADERS), st.binary(max_size=600))
def test_fuzz_load_image_on_random_bytes_behind_a_known_header(tmp_path, header, blob):
    path = tmp_path / "fuzz.img"
    path.write_bytes(header + blob)
    _check_loaded_or_user_error(path)


VALID = {fmt: _encoded(_noise(80, 96, seed=3), fmt) for fmt in ("PNG", "JPEG")}


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.sampled_from(sorted(VALID)), st.lists(st.tuples(st.integers(0, 10 ** 6), st.integers(0, 255)),
                                                  min_size=1, max_size=8), st.integers(0, 10 ** 6))
def test_fuzz_load_image_on_mutated_png_and_jpeg(tmp_path, fmt, changes, cut):
    data = bytearray(VALID[fmt])
    for position, value in changes:                   # overwrite a few bytes (headers included)
        data[position % len(data)] = value
    data = data[: max(1, len(data) - cut % 64)] if cut % 3 == 0 else data      # and sometimes cut the end
    path = tmp_path / f"fuzz.{fmt.lower()}"
    path.write_bytes(bytes(data))
    _check_loaded_or_user_error(path)


# --- tracks, through `python -m core generate` -------------------------------------------------------


def _valid_track_text(tmp_path, points) -> dict:
    path = tmp_path / "valid.json"
    make_track(points, 4).save(path)
    return json.loads(path.read_text())


def _frame(data, i):
    return data["frames"][i]


TRACKS = {
    "malformed JSON": (lambda d: '{"format": "neural-talking-heads/landmark-track", "frames": [', "not valid JSON"),
    "wrong version": (lambda d: d.update(version=99) or d, "version 99"),
    "wrong shape (67 points)": (lambda d: _frame(d, 1).update(points=_frame(d, 1)["points"][:67]) or d,
                                "must hold 68"),
    "NaN coordinate": (lambda d: _frame(d, 2)["points"][5].__setitem__(0, float("nan")) or d, "not a finite"),
    "infinite coordinate": (lambda d: _frame(d, 2)["points"][5].__setitem__(1, float("inf")) or d, "not a finite"),
    "missing frame": (lambda d: _frame(d, 3).update(frame=9) or d, "jump from 3 to 9"),
    "duplicate frame": (lambda d: _frame(d, 2).update(frame=2) or d, "frame 2 appears twice"),
    "points far outside the image": (lambda d: _frame(d, 0)["points"][0].__setitem__(0, 90000.0) or d,
                                     "far outside"),
}


def test_bad_tracks_on_the_command_line(tmp_path, person_file, face_points):
    """Each bad track: `generate` exits with one line naming the problem, and creates no output folder."""
    def run(case):
        folder = tmp_path / case.replace(" ", "_")
        folder.mkdir()
        change, words = TRACKS[case]
        result = change(_valid_track_text(folder, face_points))
        track = folder / "track.json"
        track.write_text(result if isinstance(result, str) else json.dumps(result))
        before = tree(folder)
        done = cli("generate", person_file, track, "--out", folder / "frames", "--device", "cpu")
        return case, words, done, tree(folder) == before

    with ThreadPoolExecutor(2) as pool:                   # two at a time: most of each run is importing torch
        outcomes = list(pool.map(run, TRACKS))
    for case, words, done, unchanged in outcomes:
        assert_one_line_error(done, words)
        assert unchanged, case


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.integers(0, 10 ** 6), st.sampled_from(b'{}[],:."0123456789-eE ntfaINx\x00\xff')),
                min_size=1, max_size=6))
def test_fuzz_track_reader_on_mutated_files(tmp_path, face_points, changes):
    """A valid track file with a few bytes changed (the damage a disk or an editor does): a Track or a UserError."""
    path = tmp_path / "track.json"
    make_track(face_points, 3).save(path)
    data = bytearray(path.read_bytes())
    for position, value in changes:
        data[position % len(data)] = value
    path.write_bytes(bytes(data))
    try:
        track = Track.load(path)
    except UserError as e:
        assert "\n" not in str(e)
        return
    assert track.points.shape[1] == 68 and np.isfinite(track.points).all()
