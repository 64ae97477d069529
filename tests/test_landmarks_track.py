"""core.track: the track file (round trip, every validation error, fuzzing), gap filling, One Euro
smoothing, extraction from a synthetic video, retargeting, and the CLI."""
import copy
import json
import os

import cv2
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from talking_heads.app.cli import main
from talking_heads.core.errors import Cancelled, UserError
from talking_heads.core.geometry.similarity import similarity
from talking_heads.core.landmarks.face3d import MEAN_FACE_3D
from talking_heads.core.track.extract import extract_track
from talking_heads.core.track.retarget import neutral_frame, retarget
from talking_heads.core.track.smooth import fill_gaps, one_euro_smooth
from talking_heads.core.track.track_file import Track

FACE = (MEAN_FACE_3D[:, :2] * 50 + [128, 120]).astype(np.float32)  # a face 50 px between the eyes


def moving_track(n=6, dims=2, stride=1) -> Track:
    points = np.repeat(FACE[None], n, axis=0) + np.arange(n)[:, None, None] * [2.0, 1.0]
    if dims == 3:
        points = np.concatenate([points, np.zeros((n, 68, 1))], axis=2)
    filled = np.zeros(n, bool)
    filled[2] = True
    return Track(points, np.arange(n) * stride, filled, 25.0 / stride, (256, 240), stride, "drive.mp4")


@pytest.mark.parametrize("dims, stride", [(2, 1), (3, 2)])
def test_save_load_round_trip(tmp_path, dims, stride):
    track = moving_track(dims=dims, stride=stride)
    path = tmp_path / "drive.json"
    track.save(path)
    loaded = Track.load(path)
    np.testing.assert_allclose(loaded.points, track.points, atol=1e-3)
    np.testing.assert_array_equal(loaded.frames, track.frames)
    np.testing.assert_array_equal(loaded.filled, track.filled)
    assert (loaded.fps, loaded.image_size, loaded.stride, loaded.source) == (track.fps, (256, 240), stride,
                                                                            "drive.mp4")
    assert [p.name for p in tmp_path.iterdir()] == ["drive.json"]  # no temporary file left behind


def test_a_failed_save_keeps_the_old_file(tmp_path, monkeypatch):
    path = tmp_path / "drive.json"
    moving_track().save(path)
    before = path.read_bytes()

    def full_disk(*args):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", full_disk)
    with pytest.raises(UserError, match="disk is full"):
        moving_track(n=3).save(path)
    assert path.read_bytes() == before and [p.name for p in tmp_path.iterdir()] == ["drive.json"]


def test_saving_into_a_missing_folder_is_a_user_error(tmp_path):
    with pytest.raises(UserError, match="does not exist"):
        moving_track().save(tmp_path / "nowhere" / "drive.json")


def valid_dict() -> dict:
    return {"format": "neural-talking-heads/landmark-track", "version": 1, "space": "pixels",
            "image_size": [256, 240], "fps": 25.0, "stride": 1, "source": None, "dims": 2,
            "frames": [{"frame": i, "filled": False, "points": (FACE + i).round(3).tolist()} for i in range(4)]}


def edit(change):
    data = valid_dict()
    change(data)
    return data


BAD = {
    "another format": (lambda d: d.update(format="something-else"), "not a landmark track"),
    "not an object": (lambda d: None, "not a landmark track"),
    "newer version": (lambda d: d.update(version=2), "version 2.*update the program"),
    "older version": (lambda d: d.update(version=0), "version 0.*re-extract"),
    "space": (lambda d: d.update(space="normalised"), "space"),
    "image size": (lambda d: d.update(image_size=[256]), "image_size"),
    "fps": (lambda d: d.update(fps=-1), "fps"),
    "stride": (lambda d: d.update(stride=0), "stride"),
    "dims": (lambda d: d.update(dims=4), "dims"),
    "source": (lambda d: d.update(source=7), "source"),
    "no frames": (lambda d: d.update(frames=[]), "no frames"),
    "frame entry": (lambda d: d["frames"].__setitem__(1, [1, 2]), "entry 1"),
    "negative frame": (lambda d: d["frames"][0].update(frame=-1), "entry 0"),
    "filled type": (lambda d: d["frames"][0].update(filled="no"), "entry 0"),
    "67 points": (lambda d: d["frames"][1].update(points=d["frames"][1]["points"][:67]), "frame 1 must hold 68"),
    "3 numbers when dims is 2": (lambda d: d["frames"][1].update(points=[[x, y, 0] for x, y in FACE.tolist()]),
                                 "frame 1 must hold 68 points of 2"),
    "strings for numbers": (lambda d: d["frames"][2]["points"].__setitem__(5, ["1", "2"]), "frame 2 must hold"),
    "NaN": (lambda d: d["frames"][3]["points"][7].__setitem__(0, float("nan")), "frame 3 .*not a finite"),
    "infinity": (lambda d: d["frames"][3]["points"][7].__setitem__(1, float("inf")), "frame 3 .*not a finite"),
    "far outside": (lambda d: d["frames"][2]["points"][0].__setitem__(0, 5000.0), "frame 2 .*far outside"),
    "duplicate frame": (lambda d: d["frames"][2].update(frame=1), "frame 1 appears twice"),
    "missing frame": (lambda d: d["frames"][3].update(frame=5), "jump from 2 to 5"),
    "wrong stride": (lambda d: d.update(stride=2), "jump from 0 to 1"),
}


@pytest.mark.parametrize("name", BAD)
def test_each_problem_has_its_own_user_error(tmp_path, name):
    change, words = BAD[name]
    data = [1, 2, 3] if name == "not an object" else edit(change)
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(data))  # Python writes NaN and Infinity tokens, as a careless tool would
    with pytest.raises(UserError, match=words) as caught:
        Track.load(path)
    assert "\n" not in str(caught.value) and "bad.json" in str(caught.value)


@pytest.mark.parametrize("text, words", [
    ("{\"format\": ", "not valid JSON"),
    ("", "not valid JSON"),
    ("[" * 100000, "not valid JSON|nested too deeply"),
    ("1" * 5000, "not valid JSON"),
])
def test_malformed_files(tmp_path, text, words):
    path = tmp_path / "bad.json"
    path.write_text(text)
    with pytest.raises(UserError, match=words):
        Track.load(path)


def test_missing_and_binary_files(tmp_path):
    with pytest.raises(UserError, match="no such track file"):
        Track.load(tmp_path / "nothing.json")
    path = tmp_path / "binary.json"
    path.write_bytes(bytes(range(256)))
    with pytest.raises(UserError):
        Track.load(path)


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=8), inner, max_size=5),
    max_leaves=30)
FIELDS = ["format", "version", "space", "image_size", "fps", "stride", "source", "dims", "frames"]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(JSON)
def test_fuzz_arbitrary_json_only_ever_raises_user_error(value):
    try:
        Track.from_dict(value)
    except UserError:
        pass


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(FIELDS + ["frame", "filled", "points", "point", "coordinate"]), JSON, st.integers(0, 3),
       st.integers(0, 67))
def test_fuzz_a_valid_track_with_one_field_replaced(field, value, frame, point):
    data = valid_dict()
    if field in FIELDS:
        data[field] = value
    elif field == "point":
        data["frames"][frame]["points"][point] = value
    elif field == "coordinate":
        data["frames"][frame]["points"][point][point % 2] = value
    else:
        data["frames"][frame][field] = value
    try:
        track = Track.from_dict(copy.deepcopy(data))
    except UserError:
        return
    assert track.points.shape[1] == 68 and np.isfinite(track.points).all()


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=200))
def test_fuzz_arbitrary_bytes(tmp_path_factory, blob):
    path = tmp_path_factory.mktemp("fuzz") / "track.json"
    path.write_bytes(blob)
    with pytest.raises(UserError):
        Track.load(path)


def test_fill_gaps_interpolates_inside_and_holds_at_the_ends():
    points = np.repeat(FACE[None], 7, axis=0).astype(np.float64) + np.arange(7)[:, None, None] * [3.0, -1.0]
    holes = points.copy()
    holes[[0, 3, 4, 6]] = np.nan
    filled = fill_gaps(holes)
    np.testing.assert_allclose(filled[[1, 2, 3, 4, 5]], points[[1, 2, 3, 4, 5]], atol=1e-4)  # linear motion
    np.testing.assert_allclose(filled[0], points[1], atol=1e-4)
    np.testing.assert_allclose(filled[6], points[5], atol=1e-4)


def synthetic_motion(seed=0):
    """A face swaying slowly, a mouth opening three times a second, and 1-pixel detection noise."""
    n, fps = 250, 25.0
    t = np.arange(n) / fps
    truth = np.repeat(FACE[None], n, axis=0).astype(np.float64)
    truth[..., 0] += 10 * np.sin(2 * np.pi * 0.5 * t)[:, None]
    lower = [5, 6, 7, 8, 9, 10, 11, 55, 56, 57, 58, 59, 65, 66, 67]
    truth[:, lower, 1] += (8 * np.clip(np.sin(2 * np.pi * 3 * t), 0, None))[:, None]
    noisy = truth + np.random.default_rng(seed).normal(0, 1.0, truth.shape)
    return truth, noisy, fps, lower


def test_one_euro_halves_jitter_and_keeps_a_fast_mouth():
    truth, noisy, fps, lower = synthetic_motion()
    smooth = one_euro_smooth(noisy, fps).astype(np.float64)

    def jitter(p):  # frame-to-frame roughness of the error
        return np.linalg.norm(np.diff(p - truth, 2, axis=0), axis=-1).mean()

    def mouth_error(p):
        return np.linalg.norm(p[:, lower] - truth[:, lower], axis=-1).mean()

    assert jitter(smooth) < 0.55 * jitter(noisy)
    assert mouth_error(smooth) < mouth_error(noisy)
    lag = np.mean((smooth - truth)[:, :, 0])  # forward + backward: no systematic delay on the sway
    assert abs(lag) < 0.2


def test_one_euro_does_not_depend_on_resolution():
    _, noisy, fps, _ = synthetic_motion(1)
    np.testing.assert_allclose(one_euro_smooth(noisy * 3, fps), one_euro_smooth(noisy, fps) * 3, rtol=1e-4,
                               atol=1e-3)


# --- extraction from a video ------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def synthetic_video(tmp_path_factory, astronaut):
    """20 frames of the astronaut (256 x 256) drifting right by 1.5 px a frame; frames 8-10 are black."""
    path = tmp_path_factory.mktemp("video") / "drift.mp4"
    small = cv2.resize(astronaut, (256, 256), interpolation=cv2.INTER_AREA)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 25.0, (256, 256))
    assert writer.isOpened()
    for k in range(20):
        m = np.array([[1.0, 0, 1.5 * k], [0, 1.0, 0]])
        frame = cv2.warpAffine(small, m, (256, 256), borderMode=cv2.BORDER_REPLICATE)
        if 8 <= k <= 10:
            frame[:] = 0
        writer.write(cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    writer.release()
    return path


def test_extract_track_from_a_video(synthetic_video, tmp_path):
    seen = []
    track = extract_track(synthetic_video, progress=lambda done, total, msg: seen.append(done), backend="dlib")
    assert len(track) == 20 and track.image_size == (256, 256) and track.fps == pytest.approx(25.0)
    np.testing.assert_array_equal(track.filled, [8 <= k <= 10 for k in range(20)])
    assert seen[-1] == 20
    centre_x = track.points[:, :, 0].mean(axis=1)
    detected = ~track.filled
    slope = np.polyfit(np.arange(20)[detected], centre_x[detected], 1)[0]
    assert slope == pytest.approx(1.5, abs=0.25)
    assert np.all(np.diff(centre_x[7:12]) > 0)  # the filled frames carry on between their neighbours
    assert track.extraction["detector_runs"] < 10
    path = tmp_path / "drift.json"
    track.save(path)
    assert len(Track.load(path)) == 20


def test_extract_track_with_a_stride(synthetic_video):
    track = extract_track(synthetic_video, stride=3, backend="dlib", smooth=False)
    np.testing.assert_array_equal(track.frames, np.arange(0, 20, 3))
    assert track.fps == pytest.approx(25.0 / 3) and track.stride == 3
    np.testing.assert_array_equal(track.filled, [k == 9 for k in range(0, 20, 3)])


def test_extraction_can_be_cancelled(synthetic_video):
    def stop(done, total, message):
        if done == 3:
            raise Cancelled()

    with pytest.raises(Cancelled):
        extract_track(synthetic_video, progress=stop, backend="dlib")


def test_bad_videos_are_user_errors(tmp_path):
    with pytest.raises(UserError, match="no such video"):
        extract_track(tmp_path / "none.mp4", backend="dlib")
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"not a video" * 10)
    with pytest.raises(UserError, match="video"):
        extract_track(junk, backend="dlib")


def test_a_video_without_a_face_is_a_user_error(tmp_path):
    path = tmp_path / "empty.mp4"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 25.0, (128, 128))
    for _ in range(5):
        writer.write(np.full((128, 128, 3), 80, np.uint8))
    writer.release()
    with pytest.raises(UserError, match="no face found in any frame"):
        extract_track(path, backend="dlib")


def test_track_cli(synthetic_video, tmp_path, capsys):
    out = tmp_path / "drive.json"
    assert main(["track", str(synthetic_video), "--out", str(out), "--backend", "dlib", "--stride", "2"]) == 0
    assert "10 frames" in capsys.readouterr().out
    assert Track.load(out).stride == 2
    assert main(["track", str(tmp_path / "none.mp4"), "--out", str(out)]) == 2


# --- retargeting ------------------------------------------------------------------------------------------

def open_mouth(points, amount):
    p = points.copy()
    p[[5, 6, 7, 8, 9, 10, 11, 55, 56, 57, 58, 59, 65, 66, 67], 1] += amount
    return p


def rotate_scale(points, angle_deg, scale, shift):
    a = np.radians(angle_deg)
    r = scale * np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    return (points @ r.T + shift).astype(np.float32)


@pytest.fixture
def driver_and_reference():
    driver_face = FACE.copy()
    driver_face[[37, 38, 43, 44], 1] -= 3  # the driver's own face (wider-open eyes) is not the reference's
    frames = [open_mouth(driver_face, 6.0), driver_face, open_mouth(driver_face, 10.0),
              driver_face + [12.0, 0.0]]
    track = Track(np.stack(frames), np.arange(4), np.zeros(4, bool), 25.0, (256, 240))
    reference = rotate_scale(FACE, 30.0, 2.0, [300.0, 200.0])
    return track, reference


def test_neutral_frame_is_the_closed_mouth_open_eyes_one(driver_and_reference):
    track, _ = driver_and_reference
    assert neutral_frame(track.points) in (1, 3)
    assert neutral_frame(track.points, usable=np.array([True, False, True, True])) == 3


def test_relative_keeps_the_reference_at_neutral_and_transfers_motion_scaled(driver_and_reference):
    track, reference = driver_and_reference
    out = retarget(track, reference, neutral=1)
    assert out.shape == (4, 68, 2) and out.dtype == np.float32
    np.testing.assert_allclose(out[1], reference, atol=1e-3)  # no trace of the driver's eye shape
    a = np.radians(30.0)
    down = 2.0 * np.array([-np.sin(a), np.cos(a)])  # "down" in the reference's rotated, doubled frame
    np.testing.assert_allclose(out[2, 57] - reference[57], 10.0 * down, atol=0.05)
    np.testing.assert_allclose(out[2, 30], reference[30], atol=0.05)  # the nose does not move
    right = 2.0 * np.array([np.cos(a), np.sin(a)])
    np.testing.assert_allclose(out[3] - reference, np.tile(12.0 * right, (68, 1)), atol=0.05)  # head motion


def test_relative_default_neutral_and_absolute_mode(driver_and_reference):
    track, reference = driver_and_reference
    np.testing.assert_allclose(retarget(track, reference)[1], reference, atol=1e-3)
    absolute = retarget(track, reference, mode="absolute", neutral=1)
    m = similarity(track.points[1][[27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 39, 42, 45]],
                   reference[[27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 39, 42, 45]])
    np.testing.assert_allclose(absolute[1], track.points[1] @ m[:2, :2].T + m[:2, 2], atol=1e-3)
    eyes_gap = lambda p: np.linalg.norm(p[37] - p[41])  # noqa: E731
    assert eyes_gap(absolute[1]) != pytest.approx(eyes_gap(reference), rel=0.05)  # the driver's shape shows


def test_similarity_recovers_a_known_transform():
    target = rotate_scale(FACE, -25.0, 1.7, [10.0, -4.0])
    m = similarity(FACE, target)
    np.testing.assert_allclose(FACE @ m[:2, :2].T + m[:2, 2], target, atol=1e-3)


def test_retarget_refuses_bad_input(driver_and_reference):
    track, reference = driver_and_reference
    with pytest.raises(UserError):
        retarget(track, reference[:60])
    with pytest.raises(UserError):
        retarget(track, reference, mode="sideways")
    with pytest.raises(UserError):
        retarget(track, reference, neutral=9)
