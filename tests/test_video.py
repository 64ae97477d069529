"""core.video, the one video reader: rotation, pixel formats, timestamps, audio, and the OpenCV fallback."""
import sys

import av
import numpy as np
import pytest

from talking_heads.core import video
from talking_heads.core.errors import UserError


def write(path, frames, fps=25, pix_fmt="yuv420p", rotation=None):
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.height, stream.width = frames[0].shape[:2]
        stream.pix_fmt = pix_fmt
        if rotation is not None:
            stream.set_display_rotation(rotation)
        for rgb in frames:
            container.mux(stream.encode(av.VideoFrame.from_ndarray(rgb, format="rgb24")))
        container.mux(stream.encode(None))
    return path


def striped(n=5, height=32, width=64):
    """Frames whose left eighth is white: where it lands shows how a frame was turned."""
    frame = np.zeros((height, width, 3), np.uint8)
    frame[:, : width // 8] = 255
    return [frame.copy() for _ in range(n)]


def test_frames_come_upright_with_their_timestamps(tmp_path):
    path = write(tmp_path / "turned.mp4", striped(), rotation=90)   # stored landscape, shown turned left
    with video.VideoReader(path) as reader:
        frames = list(reader.frames())
        assert reader.fps == 25
    assert [f.index for f in frames] == list(range(5)) and frames[0].rgb.shape == (64, 32, 3)
    assert frames[0].rgb[-8:].mean() > 200 and frames[0].rgb[:8].mean() < 50    # the white left edge is now at the bottom
    assert [round(f.time, 3) for f in frames] == [0.0, 0.04, 0.08, 0.12, 0.16]


def test_other_pixel_formats_become_rgb(tmp_path):
    path = write(tmp_path / "full_chroma.mp4", striped(3), pix_fmt="yuv444p")
    rgb = video.read_frames(path)[0]
    assert rgb.dtype == np.uint8 and rgb.shape == (32, 64, 3) and abs(int(rgb[0, 0, 0]) - 255) <= 3


def test_wanted_frames_and_counting(tmp_path):
    path = write(tmp_path / "v.mp4", striped(6))
    assert video.count_frames(path) == 6
    assert sorted(video.read_frames(path, [1, 4])) == [1, 4]


def test_audio_as_float_samples(tmp_path):
    path = tmp_path / "tone.wav"
    rate = 16000
    tone = (np.sin(np.arange(rate) * 2 * np.pi * 440 / rate) * 16000).astype(np.int16)
    with av.open(str(path), "w") as container:
        stream = container.add_stream("pcm_s16le", rate=rate, layout="mono")
        frame = av.AudioFrame.from_ndarray(tone[None], format="s16", layout="mono")
        frame.rate = rate
        container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    samples, got_rate = video.read_audio(path)
    assert got_rate == rate and samples.shape == (1, rate) and samples.dtype == np.float32
    assert np.abs(samples[0] - tone / 32768).max() < 1e-4


def test_bad_files_are_user_errors(tmp_path):
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"not a video" * 10)
    with pytest.raises(UserError, match="not a video"):
        video.read_frames(junk)
    with pytest.raises(UserError, match="no such video"):
        video.read_frames(tmp_path / "missing.mp4")


def test_without_pyav_opencv_reads_the_frames(tmp_path, monkeypatch):
    path = write(tmp_path / "v.mp4", striped(4))
    expected = video.read_frames(path)
    monkeypatch.setitem(sys.modules, "av", None)   # `import av` fails, as on the training machine
    with video.VideoReader(path) as reader:
        assert reader._av is None and reader.fps == 25
        got = [f.rgb for f in reader.frames()]
    assert len(got) == 4 and np.abs(got[0].astype(int) - expected[0]).max() <= 3


# --- phone video: a rotation tag, and the track it gives ---------------------------------------------------

def write_lossless(path, frames, fps=25, rotation=None):
    """RGB H.264 at qp 0 (libx264rgb): every decoded pixel is the one written, so two files compare exactly."""
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264rgb", rate=fps)
        stream.height, stream.width = frames[0].shape[:2]
        stream.pix_fmt, stream.options = "rgb24", {"qp": "0"}
        if rotation is not None:
            stream.set_display_rotation(rotation)
        for rgb in frames:
            container.mux(stream.encode(av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24")))
        container.mux(stream.encode(None))
    return path


def stored_sideways(frames, rotation):
    """What a phone stores for upright `frames` shown with the display matrix's counterclockwise `rotation`."""
    return [np.rot90(f, -rotation // 90) for f in frames]


@pytest.fixture(scope="module")
def moving_face(astronaut):
    """5 frames of the astronaut's face at 256 x 192 (not square: a turn shows), the head moving a little."""
    import cv2

    small = cv2.resize(astronaut[:384], (256, 192), interpolation=cv2.INTER_AREA)
    frames = []
    for k in range(5):
        m = cv2.getRotationMatrix2D((128, 60), 2.0 * k, 1.0)
        m[0, 2] += 1.5 * k
        frames.append(cv2.warpAffine(small, m, (256, 192), borderMode=cv2.BORDER_REPLICATE))
    return frames


@pytest.mark.parametrize("rotation", [-90, 90, 180])   # -90: how phones tag a portrait clip (turn clockwise)
def test_a_phone_video_tracks_exactly_like_its_upright_copy(tmp_path, moving_face, rotation):
    from talking_heads.core.landmarks.detect import load_backend
    from talking_heads.core.track.extract import extract_track

    upright = write_lossless(tmp_path / "upright.mp4", moving_face)
    phone = write_lossless(tmp_path / "phone.mp4", stored_sideways(moving_face, rotation), rotation=rotation)
    with av.open(str(phone)) as container:                      # stored sideways, tagged to be turned
        assert container.streams.video[0].height == (256 if rotation != 180 else 192)
    stored = stored_sideways(moving_face, rotation)[0]
    assert load_backend("dlib").find_faces(np.ascontiguousarray(stored)) == []   # no face, read as stored
    assert all(np.array_equal(a, b) for a, b in zip(video.read_frames(phone).values(), moving_face))
    straight, turned = extract_track(upright, backend="dlib"), extract_track(phone, backend="dlib")
    assert turned.image_size == straight.image_size == (256, 192) and not turned.filled.any()
    np.testing.assert_array_equal(turned.points, straight.points)


def test_without_pyav_a_phone_video_is_turned_too(tmp_path, monkeypatch, moving_face):
    phone = write_lossless(tmp_path / "phone.mp4", stored_sideways(moving_face[:2], -90), rotation=-90)
    monkeypatch.setitem(sys.modules, "av", None)
    got = list(video.read_frames(phone).values())
    assert got[0].shape == (192, 256, 3) and np.array_equal(got[0], moving_face[0])


def test_streams_and_the_sound_offset(tmp_path):
    silent = write(tmp_path / "silent.mp4", striped(3))
    assert video.streams(silent) == (True, False)
    junk = tmp_path / "junk.bin"
    junk.write_bytes(b"\0" * 100)
    assert video.streams(junk) == (False, False)
    assert video.audio_offset(silent) == 0.0
