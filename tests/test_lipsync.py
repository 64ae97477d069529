"""Lip sync from audio (core.lipsync): the file format, the audio checks, silence, loudness and "papa".

Speech is made here: vowel-like sounds synthesised in numpy (a glottal pulse train through formant
resonators, `tests/speech.py`, which the Blender tests share), and, where `espeak-ng` is installed,
spoken words (those tests skip cleanly without it).
"""
from __future__ import annotations

import argparse
import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from talking_heads.core.errors import Cancelled, UserError
from talking_heads.app.commands import lipsync as command
from talking_heads.core.lipsync.audio import load_audio
from talking_heads.core.lipsync.curves import FORMAT, VERSION, ExpressionCurves
from talking_heads.core.lipsync.phonemes import Phoneme
from talking_heads.core.lipsync.sync import lipsync
from talking_heads.core.lipsync.visemes import KEYS

from speech import RATE, vowel, vowels, write_wav  # noqa: E402  (tests/speech.py, shared with the Blender tests)


def silence(seconds: float) -> np.ndarray:
    return np.zeros(int(seconds * RATE), dtype=np.float32)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser()
    command.add_arguments(p)
    return p


def one_line(error: pytest.ExceptionInfo) -> str:
    message = str(error.value)
    assert message and "\n" not in message
    return message


# --- the file format ---------------------------------------------------------------------------------------

def sample_curves() -> ExpressionCurves:
    rng = np.random.default_rng(1)
    weights = rng.uniform(0, 1, (12, len(KEYS))).astype(np.float32)
    phonemes = [Phoneme("SIL", 0.0, 0.1), Phoneme("P", 0.1, 0.18), Phoneme("AA", 0.18, 0.4)]
    return ExpressionCurves(25.0, list(KEYS), weights, phonemes, "take1.wav", 0.48, {"intensity": 1.0})


def test_file_round_trips(tmp_path):
    curves = sample_curves()
    path = tmp_path / "keys.json"
    curves.save(path)
    data = json.loads(path.read_text())
    assert data["format"] == FORMAT and data["version"] == VERSION and data["frame_count"] == 12
    back = ExpressionCurves.load(path)
    assert back.fps == 25.0 and back.keys == list(KEYS) and back.source == "take1.wav"
    assert np.allclose(back.weights, curves.weights, atol=1e-4)
    assert back.phonemes == curves.phonemes
    assert back.settings == {"intensity": 1.0} and back.duration == pytest.approx(0.48)
    assert [p.name for p in back.phonemes] == ["SIL", "P", "AA"]
    assert list(tmp_path.iterdir()) == [path]      # no temporary file left behind


@pytest.mark.parametrize("change, words", [
    (lambda d: d.update(format="something-else"), "format"),
    (lambda d: d.update(version=VERSION + 1), "newer"),
    (lambda d: d.update(version="1"), "version"),
    (lambda d: d.update(fps=0), "fps"),
    (lambda d: d.update(frame_count=13), "frame_count"),
    (lambda d: d["weights"][3].__setitem__(0, 1.5), "frame 3"),
    (lambda d: d["weights"][2].pop(), "frame 2"),
    (lambda d: d.update(keys=["jawOpen"] * len(KEYS)), "twice"),
    (lambda d: d["phonemes"].reverse(), "phoneme"),
    (lambda d: d.update(phonemes=[{"phone": "P"}]), "phoneme 0"),
])
def test_reader_refuses_bad_files(tmp_path, change, words):
    data = sample_curves().to_dict()
    change(data)
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(data))
    with pytest.raises(UserError) as error:
        ExpressionCurves.load(path)
    message = one_line(error)
    assert "bad.json" in message and words in message


def test_reader_refuses_what_is_not_json(tmp_path):
    path = tmp_path / "keys.json"
    path.write_text('{"format": "talking-heads-expression-curves", ')
    with pytest.raises(UserError) as error:
        ExpressionCurves.load(path)
    assert "not valid JSON" in one_line(error)
    with pytest.raises(UserError) as error:
        ExpressionCurves.load(tmp_path / "missing.json")
    assert "no such" in one_line(error)


# --- bad input: one line, nothing written ------------------------------------------------------------------

def run_command(tmp_path, audio: Path, *extra: str) -> tuple[pytest.ExceptionInfo | None, Path]:
    out = tmp_path / "out" / "keys.json"
    out.parent.mkdir(exist_ok=True)
    args = parser().parse_args([str(audio), "--out", str(out), "--quiet", *extra])
    try:
        command.run(args)
    except UserError as e:
        assert "\n" not in str(e)
        return e, out
    return None, out


@pytest.mark.parametrize("name, make, words", [
    ("notes.wav", lambda p: p.write_text("not a sound at all"), "not an audio"),
    ("empty.wav", lambda p: write_wav(p, silence(0)), "0 s"),
    ("quiet.wav", lambda p: write_wav(p, silence(2.0)), "no speech"),
    ("rate.wav", lambda p: p.write_bytes(b"RIFF\x24\x00\x00\x00WAVEfmt \x10\x00\x00\x00\x01\x00\x01\x00" + bytes(8)
                                         + b"\x02\x00\x10\x00data\x00\x00\x00\x00"), "sample rate"),
])
def test_bad_audio_is_one_line_and_writes_nothing(tmp_path, name, make, words):
    path = tmp_path / name
    make(path)
    error, out = run_command(tmp_path, path)
    assert error is not None and words in str(error)
    assert list(out.parent.iterdir()) == []


def test_video_without_sound_and_too_long_audio(tmp_path):
    import av

    video = tmp_path / "mute.mp4"
    with av.open(str(video), "w") as c:
        stream = c.add_stream("mpeg4", rate=25)
        stream.width = stream.height = 64
        for i in range(5):
            frame = av.VideoFrame.from_ndarray(np.full((64, 64, 3), i * 40, np.uint8), format="rgb24")
            for packet in stream.encode(frame):
                c.mux(packet)
        for packet in stream.encode():
            c.mux(packet)
    with pytest.raises(UserError) as error:
        load_audio(video)
    assert "no audio stream" in one_line(error)
    long = write_wav(tmp_path / "long.wav", vowel(2.0))
    with pytest.raises(UserError) as error:
        load_audio(long, max_seconds=1.0)
    assert "split it" in one_line(error)


# --- what the mouth does -----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def bursts(tmp_path_factory) -> Path:
    """1 s of silence, 0.6 s 'ah', 1 s silence, 0.6 s 'ah', 1 s silence."""
    folder = tmp_path_factory.mktemp("bursts")
    return write_wav(folder / "bursts.wav", vowels())


def test_silence_relaxes_and_sound_opens_the_jaw(bursts):
    curves = lipsync(bursts, fps=25)
    assert curves.frame_count == int(np.ceil(4.2 * 25)) and curves.keys == list(KEYS)
    weights = curves.weights
    assert weights.min() >= 0 and weights.max() <= 1
    quiet = np.r_[0:18, 48:58, 92:105]            # well inside the silences (frames of 40 ms)
    assert weights[quiet].max() < 0.05, "silence must give a closed, relaxed mouth"
    jaw = curves.curve("jawOpen")
    assert jaw[26:39].max() > 0.2 and jaw[66:79].max() > 0.2, "a loud vowel must open the jaw"


def test_intensity_scales_the_shapes(bursts):
    full = lipsync(bursts, fps=25).curve("jawOpen")
    half = lipsync(bursts, fps=25, intensity=0.5).curve("jawOpen")
    assert np.allclose(half, 0.5 * full, atol=1e-3)


def test_progress_reports_and_cancels(bursts):
    calls = []
    lipsync(bursts, fps=25, progress=lambda done, total, message: calls.append((done, total, message)))
    stages = {m.split(":")[0] for _, _, m in calls}
    assert {"audio", "phonemes", "visemes"} <= stages and all(0 <= d <= t for d, t, _ in calls)

    def cancel(done, total, message):
        if message.startswith("phonemes"):
            raise Cancelled()

    with pytest.raises(Cancelled):
        lipsync(bursts, fps=25, progress=cancel)


def test_command_writes_stdout_and_a_file(tmp_path, bursts, capsys):
    assert command.run(parser().parse_args([str(bursts), "--out", "-", "--quiet", "--fps", "30"])) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["format"] == FORMAT and data["fps"] == 30.0 and data["frame_count"] == len(data["weights"])
    error, out = run_command(tmp_path, bursts, "--intensity", "0.8")
    assert error is None and ExpressionCurves.load(out).settings["intensity"] == 0.8


# --- spoken words (espeak-ng) ------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def papa(tmp_path_factory) -> Path:
    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng is not installed (apt-get install espeak-ng)")
    path = tmp_path_factory.mktemp("speech") / "papa.wav"
    subprocess.run(["espeak-ng", "-v", "en-us", "-s", "100", "-w", str(path), "papa papa"], check=True,
                   capture_output=True)
    return path


def closures(path: Path, fps: float) -> list[int]:
    """Frames at the middle of each 'p': espeak's stop closures are runs of digital silence inside the
    words, and each word's first p is the silence just before its sound starts."""
    audio = load_audio(path)
    hop = audio.rate // 100
    loud = np.abs(audio.samples[: len(audio.samples) // hop * hop]).reshape(-1, hop).max(axis=1) > 1e-3
    edges = np.flatnonzero(np.diff(loud.astype(int)))
    starts, ends = edges[loud[edges + 1]] + 1, edges[~loud[edges + 1]] + 1
    frames = []
    for s in starts:
        previous = ends[ends < s]
        gap = s - previous[-1] if len(previous) else 10**6
        middle = (s - min(gap, 8) / 2) / 100           # the middle of the closure (at most 80 ms long)
        frames.append(int(round(middle * fps)))
    return frames


def test_papa_closes_the_lips_on_each_p(papa):
    fps = 25
    curves = lipsync(papa, fps=fps, transcript="papa papa")
    jaw, close = curves.curve("jawOpen"), curves.curve("mouthClose")
    ps = closures(papa, fps)
    assert len(ps) == 4, ps
    assert sum(p.name == "P" for p in curves.phonemes) == 4
    peak = jaw.max()
    assert peak > 0.2
    for frame in ps:
        near = slice(max(0, frame - 1), frame + 2)    # the closure's frame or a neighbour (40 ms frames)
        lip_gap = jaw[near] - close[near]
        assert lip_gap.min() < 0.05 * peak + 0.01, f"lips open at the p of frame {frame}"
        assert jaw[near].min() < 0.5 * peak, f"jaw open at the p of frame {frame}"


def test_papa_without_transcript_dips_the_jaw_on_each_p(papa):
    curves = lipsync(papa, fps=25)
    jaw = curves.curve("jawOpen")
    for frame in closures(papa, 25)[1:]:
        assert jaw[max(0, frame - 1):frame + 2].min() < 0.8 * jaw.max()


# --- the learned jaw (core.lipsync.openness) ------------------------------------------------------------------

def test_learned_and_rule_based_jaw_both_relax_in_silence(bursts):
    learned, rules = lipsync(bursts, fps=25), lipsync(bursts, fps=25, jaw="rules")
    assert learned.settings["jaw"] == "learned" and rules.settings["jaw"] == "rules"
    quiet = np.r_[0:18, 48:58, 92:105]
    for curves in (learned, rules):
        jaw = curves.curve("jawOpen")
        assert jaw[quiet].max() < 0.05 and jaw[26:39].max() > 0.2 and jaw[66:79].max() > 0.2
        assert np.all(curves.curve("mouthClose") <= jaw + 1e-6)
    with pytest.raises(UserError) as error:
        lipsync(bursts, fps=25, jaw="guess")
    assert "unknown jaw" in one_line(error)


def test_command_takes_the_rule_based_jaw(tmp_path, bursts):
    error, out = run_command(tmp_path, bursts, "--jaw", "rules")
    assert error is None and ExpressionCurves.load(out).settings["jaw"] == "rules"


def test_the_shipped_jaw_model_loads_and_is_small():
    from talking_heads.core.lipsync import openness

    assert openness.MODEL_FILE.stat().st_size < 16 * 1024
    model = openness.JawModel.load()
    assert model.config == openness.CONFIG and np.all(np.isfinite(model.weights)) and model.output_scale > 0
    assert "training identities" in model.note and len(model.fitted_on) >= 10


def test_jaw_model_file_round_trips_and_refuses_others(tmp_path):
    from talking_heads.core.lipsync import openness

    model = openness.JawModel(np.zeros(3), np.ones(3), np.array([0.5, -1.0, 2.0]), 0.25, 0.4,
                              dict(openness.CONFIG), "a test", ("a", "b"))
    path = tmp_path / "jaw.npz"
    model.save(path)
    back = openness.JawModel.load(path)
    assert np.allclose(back.weights, model.weights) and back.bias == 0.25 and back.fitted_on == ("a", "b")
    assert back.output_scale == pytest.approx(0.4) and back.note == "a test"
    assert list(tmp_path.iterdir()) == [path]
    other = tmp_path / "other.npz"
    np.savez(other, weights=np.zeros(3))
    with pytest.raises(ValueError, match="not a jaw model"):
        openness.JawModel.load(other)
    stale = openness.JawModel(model.mean, model.scale, model.weights, 0.0, 1.0, {**openness.CONFIG, "fft": 256})
    stale.save(other)
    with pytest.raises(ValueError, match="other feature settings"):
        openness.JawModel.load(other)


def test_fit_learns_the_opening_and_undoes_each_clips_lag():
    """Clips whose opening is a mix of two features, each clip's video a few frames out of sync."""
    from talking_heads.core.lipsync import openness

    rng = np.random.default_rng(3)

    def clip(lag: int) -> tuple[openness.Clip, np.ndarray]:
        n = 400
        x = np.stack([np.convolve(rng.standard_normal(n + 20), np.ones(5) / 5, "same")[10:-10] for _ in range(4)], 1)
        truth = 0.8 * x[:, 0] - 0.5 * x[:, 2] + 1.0
        opening = np.roll(truth, lag) + 0.05 * rng.standard_normal(n)
        return openness.Clip(x, np.ones(n), opening, np.ones(n, bool), np.clip(truth * 0.3, 0, 1)), truth

    clips = [clip(lag)[0] for lag in (0, 0, 3, -2, 4, 0, 1)]
    model = openness.fit(clips, ridge=1e-3, max_shift=6, names=list("abcdefg"))
    test, truth = clip(0)
    predicted = model.linear(test.features, test.gate)
    assert np.corrcoef(predicted, truth)[0, 1] > 0.95
    assert openness.best_lag(predicted, truth, np.ones(len(truth), bool), 6)[1] == 0
    assert model.fitted_on == tuple("abcdefg") and model.output_scale > 0
