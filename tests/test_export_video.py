"""MP4 previews: H.264, yuv420p, even sizes, the right frame count and rate, the watermark kept; sound as AAC,
in sync and as long as the video."""
from fractions import Fraction

import cv2
import numpy as np
import pytest
from scipy.io import wavfile

from talking_heads.app.cli import main
from talking_heads.core.errors import UserError
from talking_heads.core.video import read_audio
from talking_heads.export import provenance
from talking_heads.export.sequence import SequenceWriter
from talking_heads.export.video import frame_rate, read_video, video_info, write_video


def talking(astronaut, count, size=256):
    """A head that turns and nods a little, like the frames a person model renders."""
    face = cv2.resize(astronaut[0:300, 100:400], (size, size), interpolation=cv2.INTER_AREA)
    out = []
    for i in range(count):
        angle = 2.0 * np.sin(i / 4)
        m = cv2.getRotationMatrix2D((size / 2, size / 2), angle, 1 + 0.01 * np.sin(i / 3))
        m[:, 2] += [angle, angle / 2]
        out.append(cv2.warpAffine(face, m, (size, size), borderMode=cv2.BORDER_REFLECT))
    return out


@pytest.mark.parametrize("fps,expected", [(24, Fraction(24)), (29.97, Fraction(2997, 100)),
                                          (30000 / 1001, Fraction(30000, 1001))])
def test_decodes_to_the_right_count_and_rate(tmp_path, astronaut, fps, expected):
    frames = talking(astronaut, 10, size=96)
    path = write_video(tmp_path / "preview.mp4", frames, fps)
    info = video_info(path)
    assert info["frames"] == 10 and info["fps"] == expected
    assert info["codec"] == "h264" and info["pix_fmt"] == "yuv420p"
    assert "AI-generated" in info["metadata"]["comment"]


def test_odd_sizes_are_padded_to_even(tmp_path, astronaut):
    frames = [f[:95, :77] for f in talking(astronaut, 3, size=96)]
    path = write_video(tmp_path / "odd.mp4", frames, 25, watermark=False)
    decoded = read_video(path)
    assert decoded[0].shape == (96, 78, 3)
    error = np.abs(decoded[0][:95, :77].astype(int) - frames[0]).mean()
    assert error < 4                                              # colours survive yuv420p + H.264


def test_watermark_survives_h264_in_every_frame(tmp_path, astronaut):
    path = write_video(tmp_path / "moving.mp4", talking(astronaut, 16), 25)
    scores = [provenance.score(f) for f in read_video(path)]
    assert len(scores) == 16 and min(scores) >= provenance.THRESHOLD


def test_bad_input(tmp_path, astronaut):
    with pytest.raises(UserError):
        frame_rate(0)
    with pytest.raises(UserError, match="mp4"):
        write_video(tmp_path / "x.avi", talking(astronaut, 2, 64), 24)
    with pytest.raises(UserError, match="no frames"):
        write_video(tmp_path / "x.mp4", [], 24)
    assert list(tmp_path.iterdir()) == []


def test_cli_video_from_a_sequence(tmp_path, astronaut, capsys):
    with SequenceWriter(tmp_path / "frames", ext="exr") as writer:
        for f in talking(astronaut, 6, size=128):
            writer.append(f)
    assert main(["export", "video", str(tmp_path / "frames"), "--out", str(tmp_path / "v.mp4"), "--fps", "12"]) == 0
    info = video_info(tmp_path / "v.mp4")
    assert info["frames"] == 6 and info["fps"] == 12
    assert main(["verify", str(tmp_path / "v.mp4")]) == 0


def clicks(path, rate, seconds, at, channels=1):
    """A silent WAV of `seconds` with 2 ms clicks at the times `at`."""
    samples = np.zeros((round(seconds * rate), channels), np.int16)
    for t in at:
        samples[round(t * rate):round((t + 0.002) * rate)] = 20000
    wavfile.write(path, rate, samples)
    return path


def click_times(samples, rate):
    loud = np.flatnonzero(np.abs(samples).max(axis=0) > 0.3)
    return [loud[0] / rate] + [b / rate for a, b in zip(loud, loud[1:]) if b - a > rate // 100] if loud.size else []


@pytest.mark.parametrize("rate,channels,offset", [(44100, 1, 0.5), (48000, 2, -0.25), (37800, 6, 0.0)])
def test_sound_is_muxed_in_sync_and_cut_or_padded_to_the_video(tmp_path, astronaut, rate, channels, offset):
    """The track lasts frame count / fps (AAC at a rate it takes, mono or stereo), and a click at t in the
    sound is heard at t - offset in the video; the sound past the video is cut, missing sound is silence."""
    sound = clicks(tmp_path / "voice.wav", rate, 1.6, at=[0.3, 0.9, 1.5], channels=channels)
    path = write_video(tmp_path / "take.mp4", talking(astronaut, 30, size=96), 25, audio=sound,
                       audio_offset=offset)
    info = video_info(path)
    assert info["frames"] == 30
    audio = info["audio"]
    assert audio["codec"] == "aac" and audio["channels"] == min(channels, 2)
    assert audio["rate"] == (rate if rate != 37800 else 48000)
    assert audio["duration"] == pytest.approx(30 / 25, abs=1e-3)
    samples, decoded_rate = read_audio(path)
    assert samples.shape[1] / decoded_rate == pytest.approx(1.2, abs=1100 / decoded_rate)   # AAC's last frame
    expected = [t - offset for t in (0.3, 0.9, 1.5) if 0 <= t - offset < 1.2]
    assert click_times(samples, decoded_rate) == pytest.approx(expected, abs=0.003)
    assert min(provenance.score(f) for f in read_video(path)) >= provenance.THRESHOLD


def test_sound_from_a_video_and_on_the_command_line(tmp_path, astronaut, capsys):
    with SequenceWriter(tmp_path / "frames") as writer:
        for f in talking(astronaut, 12, size=96):
            writer.append(f)
    voice = write_video(tmp_path / "voice.mp4", talking(astronaut, 20, size=96), 10,
                        audio=clicks(tmp_path / "voice.wav", 48000, 2.0, at=[0.6]))
    assert main(["export", "video", str(tmp_path / "frames"), "--out", str(tmp_path / "v.mp4"), "--fps", "12",
                 "--audio", str(voice), "--audio-offset", "0.25", "--no-c2pa"]) == 0
    assert "sound from" in capsys.readouterr().out
    samples, rate = read_audio(tmp_path / "v.mp4")
    assert video_info(tmp_path / "v.mp4")["audio"]["duration"] == pytest.approx(1.0, abs=1e-3)
    assert click_times(samples, rate) == pytest.approx([0.35], abs=0.003)


def test_bad_sound_is_a_user_error_before_anything_is_written(tmp_path, astronaut):
    silent = write_video(tmp_path / "silent.mp4", talking(astronaut, 2, size=64), 24)
    with pytest.raises(UserError, match="no audio track"):
        write_video(tmp_path / "x.mp4", talking(astronaut, 2, size=64), 24, audio=silent)
    with pytest.raises(UserError, match="no such"):
        write_video(tmp_path / "x.mp4", talking(astronaut, 2, size=64), 24, audio=tmp_path / "missing.wav")
    with pytest.raises(UserError, match="offset"):
        write_video(tmp_path / "x.mp4", talking(astronaut, 2, size=64), 24, audio=silent, audio_offset=float("nan"))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["silent.mp4"]
