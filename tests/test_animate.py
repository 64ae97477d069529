"""`python -m core animate` and `python -m core retarget`: one command from a photo and a driver (a video of
another face with sound, a track, expression curves, a sound file) to frames and an MP4 with sound; a rerun
does nothing; bad input is one line and writes nothing. Inputs are made here: the astronaut, and a driving
video of a wider, mirrored astronaut face that turns and drifts, with a tone as its sound track."""
import json
import shutil
import sys
from pathlib import Path

import av
import cv2
import numpy as np
import pytest

from talking_heads.app import animate as animate_module
from talking_heads.app.cli import main
from talking_heads.core.lipsync.curves import ExpressionCurves
from talking_heads.core.track.expression import expression_track
from talking_heads.core.track.resample import resample
from talking_heads.core.track.track_file import Track
from talking_heads.export.video import video_info

FRAMES, FPS, RATE = 6, 25, 16000
COMMON = ["--preset", "instant", "--backend", "dlib", "--device", "cpu"]


def tree(folder: Path) -> dict[str, tuple[int, bytes]]:
    """Every file under `folder`: its modification time and bytes (compared before and after a run)."""
    return {str(p.relative_to(folder)): (p.stat().st_mtime_ns, p.read_bytes())
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def photo(tmp_path_factory, astronaut) -> Path:
    path = tmp_path_factory.mktemp("photo") / "astronaut.png"
    small = cv2.resize(astronaut, (256, 256), interpolation=cv2.INTER_AREA)   # small: fast to render
    cv2.imwrite(str(path), cv2.cvtColor(small, cv2.COLOR_RGB2BGR))
    return path


def driving_frames(astronaut) -> list[np.ndarray]:
    """Another face (the astronaut 20% wider and mirrored, framed differently) turning and drifting."""
    face = cv2.resize(astronaut[:400, 40:440], (240, 200), interpolation=cv2.INTER_AREA)
    other = cv2.flip(cv2.copyMakeBorder(face, 28, 28, 0, 0, cv2.BORDER_REPLICATE), 1)[:, :240]
    frames = []
    for k in range(FRAMES):
        m = cv2.getRotationMatrix2D((120, 110), 4.0 * np.sin(k / 2), 1.0)
        m[0, 2] += 2.0 * k
        frames.append(cv2.warpAffine(other, m, (240, 256), borderMode=cv2.BORDER_REPLICATE))
    return frames


def write_driver(path: Path, frames: list[np.ndarray], sound: bool = True) -> Path:
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=FPS)
        stream.height, stream.width = frames[0].shape[:2]
        stream.pix_fmt = "yuv420p"
        audio = container.add_stream("aac", rate=RATE, layout="mono") if sound else None
        for rgb in frames:
            container.mux(stream.encode(av.VideoFrame.from_ndarray(rgb, format="rgb24")))
        container.mux(stream.encode(None))
        if audio is not None:
            t = np.arange(len(frames) * RATE // FPS) / RATE
            tone = (0.3 * np.sin(2 * np.pi * 220 * t)).astype(np.float32)[None]
            for at in range(0, tone.shape[1], 1024):
                frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(tone[:, at:at + 1024]), format="fltp",
                                                   layout="mono")
                frame.sample_rate, frame.pts = RATE, at
                container.mux(audio.encode(frame))
            container.mux(audio.encode(None))
    return path


@pytest.fixture(scope="module")
def driver(tmp_path_factory, astronaut) -> Path:
    return write_driver(tmp_path_factory.mktemp("driver") / "someone.mp4", driving_frames(astronaut))


@pytest.fixture(scope="module")
def first_run(tmp_path_factory, photo, driver):
    """animate run once into a new folder; returns the folder, the JSON it printed and its stderr."""
    out = tmp_path_factory.mktemp("animate") / "clip"
    capture = pytest.MonkeyPatch()
    import io

    stdout = io.StringIO()
    capture.setattr(sys, "stdout", stdout)
    try:
        code = main(["animate", str(photo), "--driver", str(driver), "--out", str(out), *COMMON, "--json", "-"])
    finally:
        capture.undo()
    assert code == 0
    return out, json.loads(stdout.getvalue())


def test_a_photo_and_another_face_on_video_give_frames_and_an_mp4_with_sound(first_run, photo, driver):
    out, result = first_run
    assert result["driver_kind"] == "video" and result["retarget"] == "relative"
    assert result["frames"] == result["frames_rendered"] == FRAMES and not result["person_reused"]
    frames = sorted((out / "frames").glob("frame_*.png"))
    assert [f.name for f in frames] == [f"frame_{k:04d}.png" for k in range(FRAMES)]
    assert cv2.imread(str(frames[0])).shape == (256, 256, 3)                 # the photo's size, not the driver's
    info = video_info(out / "animation.mp4")
    assert info["frames"] == FRAMES and info["fps"] == FPS and (info["width"], info["height"]) == (256, 256)
    assert info["audio"] is not None and info["audio"]["duration"] == pytest.approx(FRAMES / FPS, abs=0.03)
    assert result["sound"] == str(driver)
    # the track is in the photo's pixels: the driver's motion on the photo's face (relative retargeting)
    track, reference = Track.load(out / "track.json"), json.loads((out / "animate.json").read_text())
    assert track.image_size == (256, 256) and len(track) == FRAMES
    points = np.array(next(v["value"]["points"] for k, v in reference["cache"].items() if k.startswith("landmarks:")))
    closest = np.abs(track.points - points).max(axis=(1, 2)).min()
    assert closest < 1e-2                                                    # at the neutral frame: the photo's face
    drift = track.points[-1, :, 0].mean() - track.points[0, :, 0].mean()
    assert drift > 2                                                         # it moves as the driver moves (right)
    assert not np.array_equal(cv2.imread(str(frames[0])), cv2.imread(str(frames[-1])))


def test_a_second_run_fine_tunes_nothing_and_renders_nothing(first_run, photo, driver, monkeypatch, capsys):
    out, _ = first_run
    before = tree(out)

    def must_not_run(*args, **kwargs):
        raise AssertionError("a rerun with the same inputs must not do this again")

    from talking_heads.core.inference import TorchBackend
    from talking_heads.core.track import extract
    from talking_heads.core.training import finetune
    from talking_heads.export import video

    monkeypatch.setattr(finetune, "fit_person", must_not_run)
    monkeypatch.setattr(extract, "extract_track", must_not_run)
    monkeypatch.setattr(TorchBackend, "__call__", must_not_run)
    monkeypatch.setattr(video, "write_video", must_not_run)
    assert main(["animate", str(photo), "--driver", str(driver), "--out", str(out), *COMMON]) == 0
    printed = capsys.readouterr().out
    assert "reusing" in printed and "all there already" in printed and "up to date" in printed
    assert str(out / "animation.mp4") in printed and str(out / "person.safetensors") in printed
    after = tree(out)
    changed = {name for name in before if before[name] != after.get(name)}
    assert changed <= {"animate.json", "frames/.talking_heads_job.json"} and set(after) == set(before)
    assert before["frames/frame_0000.png"] == after["frames/frame_0000.png"]


def test_another_retargeting_keeps_the_person_and_renders_again(first_run, photo, driver, tmp_path, capsys):
    out = reused(first_run, tmp_path)
    person = (out / "person.safetensors").stat().st_mtime_ns
    assert main(["animate", str(photo), "--driver", str(driver), "--out", str(out), *COMMON,
                 "--retarget", "absolute", "--json", "-"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["person_reused"] and result["frames_rendered"] == FRAMES and not result["video_reused"]
    assert (out / "person.safetensors").stat().st_mtime_ns == person


def test_a_shorter_driver_leaves_only_its_frames_and_a_json_file_in_dir_is_ours(first_run, photo, driver, tmp_path):
    out = reused(first_run, tmp_path)
    args = ["animate", str(photo), "--driver", str(driver), "--out", str(out), *COMMON, "--stride", "2",
            "--json", str(out / "result.json"), "--quiet"]
    assert main(args) == 0
    assert sorted(p.name for p in (out / "frames").glob("frame_*.png")) == ["frame_0000.png", "frame_0002.png",
                                                                          "frame_0004.png"]
    assert json.loads((out / "result.json").read_text())["frames"] == 3 and video_info(out / "animation.mp4")["frames"] == 3
    assert main(args) == 0                                                   # result.json is not someone else's


def test_quiet_prints_nothing(first_run, photo, driver, capsys):
    assert main(["animate", str(photo), "--driver", str(driver), "--out", str(first_run[0]), *COMMON,
                 "--quiet"]) == 0
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""


# --- bad input: one line, nothing written ------------------------------------------------------------------

def no_face_video(folder: Path) -> Path:
    return write_driver(folder / "wall.mp4", [np.full((128, 128, 3), 80, np.uint8)] * 4, sound=False)


def unknown(folder: Path) -> Path:
    (folder / "notes.txt").write_text("what the actor says\n")
    return folder / "notes.txt"


def other_json(folder: Path) -> Path:
    (folder / "scene.json").write_text('{"format": "something-else", "frames": []}')
    return folder / "scene.json"


@pytest.mark.parametrize("case, words", [
    ("missing photo", "no such photo"),
    ("missing driver", "no such driver"),
    ("driver of unknown kind", "unknown kind"),
    ("JSON of another kind", "neither a landmark track nor expression curves"),
    ("video with no face", "no face found in any frame"),
    ("folder of someone else's files", "did not write"),
])
def test_bad_input_is_one_line_and_writes_nothing(tmp_path, photo, driver, capsys, case, words):
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    out = tmp_path / "clip"
    image, drive = str(photo), str(driver)
    if case == "missing photo":
        image = str(inputs / "nobody.png")
    elif case == "missing driver":
        drive = str(inputs / "nothing.mp4")
    elif case == "driver of unknown kind":
        drive = str(unknown(inputs))
    elif case == "JSON of another kind":
        drive = str(other_json(inputs))
    elif case == "video with no face":
        drive = str(no_face_video(inputs))
    else:
        out.mkdir()
        (out / "holiday.jpg").write_bytes(b"someone's photo")
    before = tree(tmp_path)
    assert main(["animate", image, "--driver", drive, "--out", str(out), *COMMON]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and "\n" not in err and words in err, err
    assert tree(tmp_path) == before


def test_bad_retarget_input_writes_nothing(tmp_path, photo, capsys):
    out = tmp_path / "moved.json"
    assert main(["retarget", str(unknown(tmp_path)), "--onto", str(photo), "--out", str(out)]) == 2
    assert main(["retarget", str(tmp_path / "none.json"), "--onto", str(photo), "--out", str(out)]) == 2
    errors = capsys.readouterr().err.strip().splitlines()
    assert len(errors) == 2 and all(e.startswith("error:") for e in errors) and not out.exists()


# --- the other drivers -------------------------------------------------------------------------------------

def face_of(photo: Path) -> np.ndarray:
    from talking_heads.core.images import load_image
    from talking_heads.core.landmarks.detect import detect_landmarks

    return detect_landmarks(load_image(photo), backend="dlib").points


def test_retarget_command_onto_a_photo_or_its_landmarks(first_run, photo, tmp_path, capsys):
    driver_track = first_run[0] / "driver_track.json"
    assert main(["retarget", str(driver_track), "--onto", str(photo), "--out", "-", "--backend", "dlib"]) == 0
    captured = capsys.readouterr()
    moved = Track.from_dict(json.loads(captured.out))                        # stdout holds the track alone
    assert "wrote" in captured.err and moved.image_size == (256, 256)
    np.testing.assert_allclose(moved.points, Track.load(first_run[0] / "track.json").points, atol=2e-3)
    ref = tmp_path / "ref.json"
    assert main(["detect", str(photo), "--backend", "dlib", "--json", str(ref)]) == 0
    out = tmp_path / "moved.json"
    assert main(["retarget", str(driver_track), "--onto", str(ref), "--out", str(out), "--mode", "absolute"]) == 0
    assert Track.load(out).image_size == (256, 256)


def reused(first_run, tmp_path) -> Path:
    """A copy of the first run's folder: the same photo, so its person model is reused (fast)."""
    out = tmp_path / "clip"
    shutil.copytree(first_run[0], out)
    return out


def test_a_track_driver_resampled_with_fps(first_run, photo, tmp_path, capsys):
    out = reused(first_run, tmp_path)
    track = tmp_path / "someone.json"
    shutil.copy(first_run[0] / "driver_track.json", track)
    assert main(["animate", str(photo), "--driver", str(track), "--out", str(out), *COMMON, "--fps", "12.5",
                 "--json", "-"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["driver_kind"] == "track" and result["fps"] == 12.5 and result["frames"] == FRAMES // 2
    assert result["person_reused"]
    assert result["sound"] is None and video_info(out / "animation.mp4")["audio"] is None


def test_expression_curves_move_the_photo_face_through_the_rig(photo):
    face = face_of(photo)
    keys = ["jawOpen", "eyeBlinkLeft", "notAShape"]
    weights = np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0]], np.float32)
    track, skipped = expression_track(face, (256, 256), keys, weights, 25.0)
    assert skipped == ["notAShape"] and track.image_size == (256, 256)
    np.testing.assert_allclose(track.points[0], face, atol=1e-4)             # all zeros: the photo's own face
    opened, blinked = track.points[1] - face, track.points[2] - face
    assert opened[8, 1] > 5 and opened[57, 1] > 5 and abs(opened[27]).max() < 1e-6   # the chin drops, not the nose
    left_eye = [43, 44, 46, 47]                       # the subject's left: on the right of the picture
    assert np.abs(blinked[left_eye]).max() > 1 and np.abs(blinked[[37, 38, 40, 41]]).max() < 1e-6
    upper, lower = track.points[2, 44, 1], track.points[2, 46, 1]
    assert abs(upper - lower) < 0.3 * abs(face[44, 1] - face[46, 1])         # the lids nearly meet


def test_resample_keeps_the_duration_and_interpolates():
    base = np.zeros((4, 68, 2), np.float32) + np.arange(4)[:, None, None] * 10.0 + 100
    track = Track(base, np.arange(4), np.array([False, True, False, False]), 10.0, (256, 256))
    doubled = resample(track, 20.0)
    assert len(doubled) == 8 and doubled.fps == 20.0 and doubled.frames.tolist() == list(range(8))
    np.testing.assert_allclose(doubled.points[1, 0, 0], 105.0)
    assert resample(track, 10.0) is track


def test_a_curves_driver_with_its_recording_beside_it(first_run, photo, tmp_path, capsys):
    from talking_heads.core.lipsync.visemes import KEYS

    wav = tmp_path / "take.wav"
    samples = (0.2 * np.sin(np.arange(RATE // 2) * 2 * np.pi * 200 / RATE) * 32767).astype("<i2")
    import wave

    with wave.open(str(wav), "wb") as w:
        w.setnchannels(1), w.setsampwidth(2), w.setframerate(RATE), w.writeframes(samples.tobytes())
    weights = np.zeros((5, len(KEYS)), np.float32)
    weights[:, list(KEYS).index("jawOpen")] = [0, 0.3, 0.6, 0.3, 0]
    curves_path = tmp_path / "take.json"
    ExpressionCurves(10.0, list(KEYS), weights, source="take.wav", duration=0.5).save(curves_path)
    out = reused(first_run, tmp_path)
    assert main(["animate", str(photo), "--driver", str(curves_path), "--out", str(out), *COMMON,
                 "--json", "-"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["driver_kind"] == "curves" and result["frames"] == 5 and result["sound"] == str(wav)
    assert video_info(out / "animation.mp4")["audio"]["duration"] == pytest.approx(0.5, abs=0.03)
    track = Track.load(out / "track.json")
    assert track.points[2, 8, 1] > track.points[0, 8, 1] + 3                 # the jaw opens with the curve


def test_a_sound_file_is_lip_synced(first_run, photo, tmp_path, capsys):
    pytest.importorskip("pocketsphinx")
    from test_lipsync import silence, vowel, write_wav

    wav = write_wav(tmp_path / "ah.wav", np.concatenate([silence(0.3), vowel(0.5), silence(0.3)]))
    out = reused(first_run, tmp_path)
    assert main(["animate", str(photo), "--driver", str(wav), "--out", str(out), *COMMON, "--fps", "10",
                 "--json", "-"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["driver_kind"] == "audio" and result["curves"] == str(out / "curves.json")
    track = Track.load(out / "track.json")
    assert result["frames"] == len(track) == ExpressionCurves.load(out / "curves.json").frame_count >= 11
    gap = track.points[:, 57, 1] - track.points[:, 51, 1]                     # lower lip below the upper
    assert gap[3:9].max() > gap[0] + 2                                        # the vowel opens the mouth
    assert video_info(out / "animation.mp4")["audio"] is not None


def test_driver_kinds(tmp_path, driver, first_run):
    assert animate_module.driver_kind(driver) == "video"
    assert animate_module.driver_kind(first_run[0] / "driver_track.json") == "track"
    silent = tmp_path / "beep.wav"
    import wave

    with wave.open(str(silent), "wb") as w:
        w.setnchannels(1), w.setsampwidth(2), w.setframerate(RATE), w.writeframes(b"\0\0" * 800)
    assert animate_module.driver_kind(silent) == "audio"
