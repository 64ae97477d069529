"""iPhone face capture in: Live Link Face CSV takes (and Face Cap text exports) as ARKit weights per frame."""
import math

import numpy as np
import pytest

from talking_heads.core.capture.live_link import (ARKIT_NAMES, FaceCapture, parse_face_cap, parse_live_link_csv,
                                                  read_face_capture)
from talking_heads.core.errors import UserError
from talking_heads.core.face.expressions import EXPRESSIONS

from live_link_takes import timecode  # noqa: E402  (tests/live_link_takes.py)
from live_link_takes import take as live_link_take  # noqa: E402


def take(frames: int = 30, fps: int = 60, **changes) -> str:
    """A Live Link Face CSV (live_link_takes.take), with text replacements `changes` for malformed ones."""
    text = live_link_take(frames, fps)
    for old, new in changes.items():
        text = text.replace(old, new)
    return text


def test_parses_a_live_link_face_take():
    capture = parse_live_link_csv(take(30), fps=60)
    assert isinstance(capture, FaceCapture) and capture.source == "Live Link Face"
    assert capture.fps == 60 and capture.frames == 30
    assert capture.start == pytest.approx(20 * 3600 + 15 * 60 + 34 + 12.345 / 60)
    assert capture.times[0] == 0 and np.allclose(np.diff(capture.times), 1 / 60)
    assert set(capture.weights) == set(ARKIT_NAMES) and "jawOpen" in capture.weights
    assert capture.weights["jawOpen"][0] == 0 and capture.weights["jawOpen"][-1] == pytest.approx(1)
    assert np.allclose(capture.weights["eyeBlinkLeft"], 0.5)
    assert capture.head.shape == (30, 3)
    assert np.allclose(capture.head[:, 0], 0.1 * math.pi)  # yaw, radians (-1..1 is -180..180 degrees)
    assert capture.head[-1, 1] == pytest.approx(-0.05 * math.pi)


def test_rate_is_inferred_from_frame_numbers_over_whole_seconds():
    assert parse_live_link_csv(take(150, fps=30)).fps == 30      # 5 s at 30 fps: frames 00..29
    assert parse_live_link_csv(take(200, fps=60)).fps == 60
    assert parse_live_link_csv(take(20, fps=30)).fps == 60       # under a second: the app's default


def test_resamples_to_the_scene_rate_from_the_timecode_start():
    capture = parse_live_link_csv(take(61), fps=60)                # exactly 1 s
    scene = capture.resample(24)
    assert scene.fps == 24 and scene.frames == 25 and scene.start == capture.start
    assert np.allclose(scene.times, np.arange(25) / 24)
    assert np.allclose(scene.weights["jawOpen"], np.arange(25) / 24, atol=1e-6)  # the ramp, sampled at k/24
    assert scene.weights["jawOpen"].dtype == np.float32
    assert np.allclose(scene.head[:, 0], 0.1 * math.pi)
    assert capture.resample(60).frames == 61


def test_header_order_and_case_do_not_matter(tmp_path):
    text = take(10).replace("Timecode,BlendShapeCount", "timecode,BlendshapeCount")
    path = tmp_path / "take_iPhone.csv"
    path.write_text("\ufeff" + text, encoding="utf-8")
    capture = read_face_capture(path, fps=60)
    assert capture.frames == 10 and capture.path == str(path)


def test_keys_the_rig_has_and_lacks():
    present, missing = parse_live_link_csv(take(5), fps=60).split_keys(EXPRESSIONS)
    assert set(present) == set(EXPRESSIONS) and len(present) + len(missing) == 52
    assert "tongueOut" in missing and "eyeLookUpLeft" in missing and "jawOpen" not in missing


def test_a_take_across_midnight_stays_in_order():
    lines = take(4).splitlines()
    stamps = ["23:59:59:58.000", "23:59:59:59.000", "00:00:00:00.000", "00:00:00:01.000"]
    lines[1:] = [",".join([t] + line.split(",")[1:]) for t, line in zip(stamps, lines[1:])]
    capture = parse_live_link_csv("\n".join(lines), fps=60)
    assert np.allclose(capture.times, np.arange(4) / 60)


@pytest.mark.parametrize("mutate, message", [
    (lambda t: t.replace("Timecode,", "Time,", 1), "no Timecode column"),
    (lambda t: t.replace(",JawOpen,", ",JawOpenX,", 1), "lacks 1 of the 52 ARKit columns (JawOpen)"),
    (lambda t: t.splitlines()[0] + "\n", "no frames"),
    (lambda t: "", "is empty"),
    (lambda t: t.replace("0.500000", "abc", 1), "'abc' is not a number"),
    (lambda t: t.replace("0.500000", "nan", 1), "not a finite number"),
    (lambda t: t.replace("20:15:34:13.345", "20:15:34:11.345", 1), "does not come after"),
    (lambda t: t.replace("20:15:34:13.345", "yesterday", 1), "is not HH:MM:SS:FF"),
    (lambda t: t.replace(",0.000000\n", "\n", 1), "has 62 values where the header names 63"),
])
def test_malformed_takes_get_one_line(mutate, message):
    with pytest.raises(UserError) as error:
        parse_live_link_csv(mutate(take(10)), fps=60, name="take.csv")
    assert message in str(error.value) and "\n" not in str(error.value)


def test_frame_numbers_beyond_the_rate_are_an_error():
    with pytest.raises(UserError, match="does not exist at 30 fps"):
        parse_live_link_csv(take(40, fps=60), fps=30)


def test_resample_needs_a_positive_rate():
    with pytest.raises(UserError, match="frame rate must be above 0"):
        parse_live_link_csv(take(5), fps=60).resample(0)


def test_missing_file_is_a_user_error(tmp_path):
    with pytest.raises(UserError, match="no such face capture"):
        read_face_capture(tmp_path / "nope.csv")
    undecodable = tmp_path / "take.csv"
    undecodable.write_bytes(b"Timecode,\xff\xfe\xfa\n")
    with pytest.raises(UserError, match="cannot read .*take.csv") as error:
        read_face_capture(undecodable)
    assert "\n" not in str(error.value)


# --- Face Cap -----------------------------------------------------------------------------------------------

FACE_CAP_NAMES = ["browInnerUp", "browDown_L", "eyeBlink_L", "eyeBlink_R", "jawOpen", "mouthSmile_L", "tongueOut"]


def face_cap(frames: int = 5, step_ms: int = 33) -> str:
    lines = ["info,version,1.0", "bs," + ",".join(FACE_CAP_NAMES)]
    for k in range(frames):
        head = [0.0, 0.1, -0.5, 10.0, -20.0, 5.0, 0, 0, 0, 0]  # position xyz, rotation xyz (degrees), eyes
        weights = [0.0] * len(FACE_CAP_NAMES)
        weights[4] = k / (frames - 1)
        lines.append(",".join(["k", str(1000 + k * step_ms)] + [str(v) for v in head + weights]))
    return "\n".join(lines) + "\n"


def test_parses_a_face_cap_export(tmp_path):
    path = tmp_path / "take.txt"
    path.write_text(face_cap(5))
    capture = read_face_capture(path)
    assert capture.source == "Face Cap" and capture.frames == 5
    assert capture.fps == pytest.approx(1000 / 33, rel=1e-3) and capture.start == pytest.approx(1.0)
    assert set(capture.weights) == {"browInnerUp", "browDownLeft", "eyeBlinkLeft", "eyeBlinkRight", "jawOpen",
                                    "mouthSmileLeft", "tongueOut"}
    assert capture.weights["jawOpen"][-1] == pytest.approx(1)
    yaw, pitch, roll = capture.head[0]
    assert (yaw, pitch, roll) == pytest.approx((math.radians(-20), math.radians(10), math.radians(5)))


@pytest.mark.parametrize("text, message", [
    ("k,0,1,2\n", "before the 'bs,' line"),
    ("bs,jawOpen\n", "no frames"),
    ("bs,jawOpen\nk,0,0,0,0,0,0,0,0,0,0,0\n", "has 0 weights where the 'bs,' line names 1"),
    ("bs,jawOpen\nk,10,0,0,0,0,0,0,0,0,0,0,0.5\nk,5,0,0,0,0,0,0,0,0,0,0,0.5\n", "not later"),
    ("bs,jawOpen\nhello\n", "not info, bs or k"),
])
def test_malformed_face_cap_exports_get_one_line(text, message):
    with pytest.raises(UserError) as error:
        parse_face_cap(text)
    assert message in str(error.value) and "\n" not in str(error.value)
