"""Where the frames go: a folder that cannot be written, a disk that fills up, files already there; and what
they carry: Content Credentials signed per job, or a one-line error for a key that cannot sign."""
import errno
import hashlib
import json
import resource
import signal

import numpy as np
import pytest

from talking_heads.core import atomic
from talking_heads.core.errors import UserError
from talking_heads.core.images import load_image
from talking_heads.app.generate import generate
from talking_heads.export import content_credentials, signals

from .conftest import assert_one_line_error, cli, tree


@pytest.fixture(autouse=True)
def c2pa_identity(tmp_path_factory, monkeypatch):
    """Frames are signed by a throw-away local identity (not the user's), made before any test counts the
    files a run writes."""
    folder = tmp_path_factory.getbasetemp() / "c2pa"
    try:
        content_credentials.local_identity(folder)
    except ImportError:                                    # no cryptography: generate writes unsigned frames
        pass
    monkeypatch.setenv(content_credentials.FOLDER_ENV, str(folder))
    return folder


def test_output_folder_under_a_file(tmp_path, person_file, track_file):
    (tmp_path / "renders").write_text("a file where the folder should be")
    before = tree(tmp_path)
    done = cli("generate", person_file, track_file, "--out", tmp_path / "renders" / "frames", "--device", "cpu")
    assert_one_line_error(done, "cannot create", "choose a folder you can write to")
    assert tree(tmp_path) == before


def _small_file_limit():
    """In the child: files larger than 100 kB cannot be written (EFBIG, as on a full or quota-limited disk)."""
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (100_000, 100_000))


def test_a_disk_that_cannot_take_a_frame(tmp_path, person_file, track_file):
    """A frame is ~400 kB, more than the process may write: one line, and no partial frame anywhere."""
    out = tmp_path / "frames"
    done = cli("generate", person_file, track_file, "--out", out, "--device", "cpu", preexec_fn=_small_file_limit)
    assert_one_line_error(done, "cannot write", "frame_0001.png")
    assert not list(out.glob("*.png")) and not list(out.glob(".*.tmp"))


def _disk_full_after(frames: int, monkeypatch):
    real_store, calls = atomic.store, []

    def store(path, data):
        if "write-test" in path.name:
            return real_store(path, data)
        calls.append(path)
        if len(calls) > frames:
            with open(path, "xb") as f:
                f.write(data[: len(data) // 3])            # the disk takes a third of the frame, then is full
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_store(path, data)

    monkeypatch.setattr(atomic, "store", store)


def test_a_disk_that_fills_up_mid_run_then_resume(tmp_path, monkeypatch, person_file, track_file):
    out = tmp_path / "frames"
    _disk_full_after(3, monkeypatch)
    with pytest.raises(UserError, match="disk is full") as caught:
        generate(str(person_file), str(track_file), str(out), device="cpu", batch=2)
    assert "\n" not in str(caught.value)
    written = sorted(p.name for p in out.glob("frame_*.png"))
    assert written and len(written) < 6 and not list(out.glob(".*.tmp"))
    for name in written:                                   # whatever carries a final name is a whole frame
        assert load_image(out / name).shape == (512, 512, 3)
    stamps = {name: (out / name).stat().st_mtime_ns for name in written}
    monkeypatch.undo()                                     # space freed: the same command resumes
    generate(str(person_file), str(track_file), str(out), device="cpu")
    assert sorted(p.name for p in out.glob("frame_*.png")) == [f"frame_{n:04d}.png" for n in range(1, 7)]
    assert {name: (out / name).stat().st_mtime_ns for name in written} == stamps


def test_files_the_tool_did_not_write_are_refused_untouched(tmp_path, person_file, track_file):
    out = tmp_path / "frames"
    out.mkdir()
    (out / "frame_0003.png").write_bytes(b"the artist's own render")
    before = tree(tmp_path)
    done = cli("generate", person_file, track_file, "--out", out, "--device", "cpu")
    assert_one_line_error(done, "frame_0003.png", "that this tool did not write")
    assert tree(tmp_path) == before


def test_generated_frames_carry_content_credentials_unless_turned_off(tmp_path, person_file, track_file, capsys):
    c2pa = pytest.importorskip("c2pa")
    from talking_heads.core.model.person import load_person

    paths = generate(str(person_file), str(track_file), str(tmp_path / "signed"), device="cpu")
    assert "Content Credentials signed by" in capsys.readouterr().out
    pixels = hashlib.sha256(np.ascontiguousarray(load_person(person_file).image).tobytes()).hexdigest()
    for path in paths:
        report = signals.file_signals(path)
        assert report["c2pa"]["state"] == "valid" and report["xmp"]["synthetic"] and report["watermark"]["found"]
    with open(paths[0], "rb") as f, c2pa.Reader("image/png", f) as reader:
        store = json.loads(reader.json())
    (ingredient,) = store["manifests"][store["active_manifest"]]["ingredients"]
    assert ingredient["instance_id"] == f"sha256:{pixels}"          # the reference by the hash of its pixels

    paths = generate(str(person_file), str(track_file), str(tmp_path / "unsigned"), device="cpu", c2pa=False)
    assert "turned off" in capsys.readouterr().out
    report = signals.file_signals(paths[0])
    assert report["c2pa"]["state"] == "absent" and report["xmp"]["synthetic"] and report["watermark"]["found"]


def test_a_key_that_cannot_sign_is_one_line_and_writes_nothing(tmp_path, person_file, track_file, c2pa_identity):
    pytest.importorskip("c2pa")
    other = content_credentials.local_identity(tmp_path / "other")
    mine = content_credentials.local_identity(c2pa_identity)
    before = tree(tmp_path)
    done = cli("generate", person_file, track_file, "--out", tmp_path / "frames", "--device", "cpu",
               "--c2pa-key", other.private_key, "--c2pa-cert", mine.certificate_chain)
    assert_one_line_error(done, "does not belong")
    assert tree(tmp_path) == before
