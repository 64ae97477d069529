"""MP4 previews: H.264, yuv420p, even sizes, the right frame count and rate, the watermark kept."""
from fractions import Fraction

import cv2
import numpy as np
import pytest

from core.cli import main
from core.errors import UserError
from export import provenance
from export.sequence import SequenceWriter
from export.video import frame_rate, read_video, video_info, write_video


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
