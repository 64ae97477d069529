"""The one retiming rule (core/geometry/retime.py)."""
import numpy as np
import pytest

from talking_heads.core.errors import UserError
from talking_heads.core.geometry import retime


def test_a_take_keeps_its_duration():
    assert retime.retimed_count(4, 30, 60) == 8           # 4/30 s: 8 frames of 1/60 s
    assert retime.retimed_count(300, 30, 24) == 240       # 10 s stay 10 s
    assert retime.retimed_count(9, 30, 24) == 8           # 0.3 s: the 8th frame starts at 0.2917 s, inside it
    assert retime.retimed_count(1, 30, 24) == 1
    assert retime.frame_count(10.0, 24) == 240 and retime.frame_count(10.001, 24) == 241


def test_resample_interpolates_in_time_and_holds_the_end():
    values = np.array([[0.0], [1.0], [2.0], [3.0]])
    doubled = retime.resample(values, 30, 60)
    assert doubled[:, 0].tolist() == [0.0, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 3.0]
    assert retime.resample(values, 30, 30) is values


def test_irregular_times():
    values = np.array([0.0, 10.0, 20.0])
    out = retime.resample(values, 10, 20, times=np.array([0.0, 0.1, 0.25]))  # 0.35 s with its last frame
    assert len(out) == 7 and out[2] == pytest.approx(10.0) and out[4] == pytest.approx(10 + 10 * 0.1 / 0.15)


def test_bad_rates_are_one_line_errors():
    with pytest.raises(UserError, match="above 0"):
        retime.resample(np.zeros((3, 2)), 0, 24)
    with pytest.raises(UserError, match="no frames"):
        retime.resample(np.zeros((0, 2)), 30, 24)


def test_a_track_a_curve_file_and_a_capture_of_one_take_land_on_the_same_frames():
    """The issue's case: the same take (4 frames at 30 fps) from a landmark track, expression curves and a
    Live Link take comes out with the same frame count at the scene's 60 fps, and the rig's keys too."""
    from talking_heads.core.capture.live_link import FaceCapture
    from talking_heads.core.lipsync.curves import ExpressionCurves
    from talking_heads.core.track.resample import resample as resample_track
    from talking_heads.core.track.track_file import Track

    frames, fps, scene = 4, 30.0, 60.0
    ramp = np.arange(frames, dtype=np.float32)
    track = Track(np.zeros((frames, 68, 2), np.float32) + ramp[:, None, None], np.arange(frames),
                  np.zeros(frames, bool), fps, (64, 64))
    curves = ExpressionCurves(fps=fps, keys=["jawOpen"], weights=ramp[:, None] / 4)
    times = np.arange(frames) / fps
    capture = FaceCapture(fps, 0.0, times, {"jawOpen": ramp / 4}, np.zeros((frames, 3)), "test")
    counts = {"track": len(resample_track(track, scene)), "curves": len(curves.resample(scene).weights),
              "capture": capture.resample(scene).frames, "rule": retime.retimed_count(frames, fps, scene)}
    assert set(counts.values()) == {8}, counts
