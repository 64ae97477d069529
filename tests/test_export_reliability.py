"""Reliability of everything export writes: unwritable folders, a disk filling up, existing files."""
import errno
import json

import numpy as np
import pytest

from talking_heads.app.cli import main
from talking_heads.core import atomic
from talking_heads.core.errors import UserError
from talking_heads.export.flipbook import write_flipbook
from talking_heads.export import sequence
from talking_heads.export.sequence import SequenceWriter, read_image, write_frame
from talking_heads.export.video import write_video


@pytest.fixture(scope="module")
def frames(astronaut):
    return [np.ascontiguousarray(np.roll(astronaut[::4, ::4], 9 * k, axis=1)) for k in range(8)]


def _no_temporaries(folder):
    return not [p for p in folder.rglob("*") if p.name.startswith(".") or p.suffix == ".tmp"]


def test_a_file_in_the_way_of_the_folder(tmp_path, frames):
    (tmp_path / "out").write_text("not a folder")
    with pytest.raises(UserError, match="not a folder"):
        SequenceWriter(tmp_path / "out")
    with pytest.raises(UserError, match="cannot create"):
        SequenceWriter(tmp_path / "out" / "frames")
    assert (tmp_path / "out").read_text() == "not a folder"


def test_an_unwritable_folder_fails_before_anything_is_written(tmp_path, monkeypatch):
    def denied(path, data):
        raise PermissionError(errno.EACCES, "Permission denied", str(path))

    monkeypatch.setattr(atomic, "store", denied)
    with pytest.raises(UserError, match="cannot write to the folder"):
        SequenceWriter(tmp_path / "frames")
    assert list((tmp_path / "frames").iterdir()) == []


@pytest.mark.parametrize("ext", ["png", "exr"])
def test_a_full_disk_mid_run(tmp_path, monkeypatch, frames, ext):
    """The fourth frame hits ENOSPC half-way through its bytes: a clear error, no partial file under a final
    name, no temporary left behind, and the three frames before it intact."""
    real_store = atomic.store
    calls = {"frames": 0}

    def filling_disk(path, data):
        if "write-test" in path.name:                     # the writer's folder probe
            return real_store(path, data)
        calls["frames"] += 1
        if calls["frames"] >= 4:
            with open(path, "xb") as f:
                f.write(data[: len(data) // 2])
            raise OSError(errno.ENOSPC, "No space left on device")
        real_store(path, data)

    monkeypatch.setattr(atomic, "store", filling_disk)
    with pytest.raises(UserError, match="disk is full"):
        with SequenceWriter(tmp_path, ext=ext, workers=1, watermark=False) as writer:
            for f in frames:
                writer.append(f)
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == [f"frame_000{k}.{ext}" for k in (1, 2, 3)]
    assert _no_temporaries(tmp_path)
    for k in (1, 2, 3):
        back = read_image(tmp_path / f"frame_000{k}.{ext}")
        if ext == "png":
            assert np.array_equal(back, frames[k - 1])
        else:
            assert back.shape == frames[k - 1].shape


def test_parallel_writer_stops_after_a_failure(tmp_path, monkeypatch, frames):
    real_store = atomic.store

    def failing(path, data):
        if "frame_0003" in path.name:
            raise OSError(errno.ENOSPC, "No space left on device")
        real_store(path, data)

    monkeypatch.setattr(atomic, "store", failing)
    writer = SequenceWriter(tmp_path, workers=2, watermark=False)
    with pytest.raises(UserError, match="disk is full"):
        for f in frames * 4:
            writer.append(f)
        writer.close()
    with pytest.raises(UserError):                          # and close() reports it again
        writer.close()
    assert not (tmp_path / "frame_0003.png").exists()
    assert len(list(tmp_path.glob("frame_*.png"))) < 4 * len(frames)
    assert _no_temporaries(tmp_path)


def test_an_error_while_encoding_leaves_nothing(tmp_path, monkeypatch, frames):
    def broken(*args, **kwargs):
        raise RuntimeError("encoder crashed")

    monkeypatch.setattr(sequence, "encode_png", broken)
    with pytest.raises(RuntimeError):
        write_frame(tmp_path / "a.png", frames[0])
    assert list(tmp_path.iterdir()) == []


def test_existing_frames_are_never_overwritten_silently(tmp_path, frames):
    (tmp_path / "notes.txt").write_text("mine")
    with SequenceWriter(tmp_path, watermark=False) as writer:
        writer.append(frames[0])
        writer.append(frames[1])
    before = (tmp_path / "frame_0001.png").read_bytes()
    with pytest.raises(UserError, match="already holds 2 frames"):
        SequenceWriter(tmp_path)
    with pytest.raises(UserError, match="already exists"):
        write_frame(tmp_path / "frame_0001.png", frames[2])
    assert (tmp_path / "frame_0001.png").read_bytes() == before

    with SequenceWriter(tmp_path, overwrite=True, watermark=False) as writer:   # explicit: replaced
        writer.write(1, frames[2])
    assert np.array_equal(read_image(tmp_path / "frame_0001.png"), frames[2])
    assert np.array_equal(read_image(tmp_path / "frame_0002.png"), frames[1])    # the rest untouched
    assert (tmp_path / "notes.txt").read_text() == "mine"
    with SequenceWriter(tmp_path, name="other_") as writer:                      # another sequence is fine
        writer.append(frames[0])


def test_flipbook_and_video_refuse_to_overwrite(tmp_path, frames):
    (tmp_path / "atlas.json").write_text("{}")
    with pytest.raises(UserError, match="already exists"):
        write_flipbook(frames, tmp_path / "atlas.png")
    assert json.loads((tmp_path / "atlas.json").read_text()) == {}
    assert not (tmp_path / "atlas.png").exists()
    (tmp_path / "v.mp4").write_bytes(b"mine")
    with pytest.raises(UserError, match="already exists"):
        write_video(tmp_path / "v.mp4", frames, 24)
    assert (tmp_path / "v.mp4").read_bytes() == b"mine"


def test_video_failure_leaves_no_file(tmp_path, frames):
    def bad_frames():
        yield frames[0]
        yield frames[1][:32]                                 # a frame of another size

    with pytest.raises(UserError, match="same size"):
        write_video(tmp_path / "v.mp4", bad_frames(), 24)
    assert list(tmp_path.iterdir()) == []


def test_cli_errors_are_one_line(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    assert main(["export", "video", str(tmp_path / "empty"), "--out", str(tmp_path / "v.mp4"), "--fps", "24"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and "\n" not in err and "holds no" in err
    assert main(["export", "onnx", str(tmp_path / "missing.safetensors"), "--out", str(tmp_path / "m.onnx")]) == 2
    assert main(["verify", str(tmp_path / "missing.png")]) == 2
    assert list(tmp_path.iterdir()) == [tmp_path / "empty"]
