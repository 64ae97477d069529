"""The self-reenactment evaluation on a tiny synthetic video of the astronaut: frame selection, the crop,
the metrics, the baselines, the command line and its outputs, and the pluggable method interface."""
import contextlib
import importlib.util
import io
import json
import shutil
import sys
import types

import cv2
import numpy as np
import pytest

from talking_heads.app.cli import main
from talking_heads.core import metrics as core_metrics
from talking_heads.core import video as core_video
from talking_heads.app.commands import evaluate as evaluate_command
from talking_heads.core.evaluation import judge, methods, metrics, protocol, report, score
from talking_heads.core.presets import DEFAULT_PRESET, QUALITY
from talking_heads.core.training import split
from talking_heads.core.errors import UserError

FRAMES = 10
SHIFTS = [(0, 0), (1, 0), (2, 1), (3, 1), (2, 2), (4, 1), (3, 3), (5, 2), (4, 4), (6, 3)]  # (dx, dy) per frame


@pytest.fixture(scope="module")
def video(tmp_path_factory, astronaut):
    """10 frames of the astronaut at 256 px, drifting a few pixels, with a mouth that opens and closes."""
    face = cv2.resize(astronaut, (256, 256), interpolation=cv2.INTER_AREA)
    path = tmp_path_factory.mktemp("video") / "astronaut.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 25, (256, 256))
    for i, (dx, dy) in enumerate(SHIFTS):
        frame = face.copy()
        cv2.ellipse(frame, (112, 73), (8, 1 + i % 4), 0, 0, 360, (70, 30, 40), -1, cv2.LINE_AA)
        moved = cv2.warpAffine(frame, np.float32([[1, 0, dx], [0, 1, dy]]), (256, 256), borderMode=cv2.BORDER_REPLICATE)
        writer.write(cv2.cvtColor(moved, cv2.COLOR_RGB2BGR))
    writer.release()
    assert core_video.count_frames(path) == FRAMES
    return path


@pytest.fixture(scope="module")
def command_line(video, tmp_path_factory):
    """`python -m core evaluate` on the video (copy and warp, 2 test frames, one dlib worker process)."""
    out = tmp_path_factory.mktemp("evaluate")
    paths = {"dump": out / "dump", "json": out / "scores.json", "sheet": out / "sheet.png"}
    stdout = io.StringIO()
    with contextlib.redirect_stdout(stdout):
        code = main(["evaluate", str(video), "--frames", "2", "--methods", "copy,warp", "--workers", "1",
                     "--dump", str(paths["dump"]), "--json", str(paths["json"]), "--contact-sheet", str(paths["sheet"])])
    assert code == 0
    return paths, stdout.getvalue(), json.loads(paths["json"].read_text())


# --- frame selection, crop and metrics --------------------------------------------------------------------

def test_reference_and_test_frames_follow_the_protocol():
    assert protocol.reference_indices(100, 1) == [0]
    assert protocol.reference_indices(10, 3) == [0, 2, 4]          # evenly over the first half, frames 0..4
    assert protocol.test_indices(10, 3) == [5, 7, 9]               # evenly over the second half, frames 5..9
    refs, tests = protocol.reference_indices(101, 8), protocol.test_indices(101, 16)
    assert refs[0] == 0 and refs[-1] == 49 and len(refs) == 8
    assert tests[0] == 50 and tests[-1] == 100 and len(tests) == 16
    assert np.all(np.diff(refs) >= 6) and np.all(np.diff(refs) <= 8)
    assert max(refs) < min(tests)


def test_case_crop_is_the_protocol_crop(video):
    case = protocol.load_case(video, shots=1, frames=2)
    points = case.reference_points[0].astype(np.float64)
    (x0, y0), (x1, y1) = points.min(0), points.max(0)
    side = 2.0 * max(x1 - x0, y1 - y0)
    x, y = (x0 + x1) / 2 - side / 2, (y0 + y1) / 2 - side / 2
    assert np.allclose(case.box, (x, y, side))
    scale = 256 / side
    frame = core_video.read_frames(video, [9])[9]
    expected = cv2.warpAffine(frame, np.float64([[scale, 0, -x * scale], [0, scale, -y * scale]]), (256, 256),
                              flags=cv2.INTER_AREA, borderMode=cv2.BORDER_REPLICATE)
    assert case.keys == [0, 1] and np.array_equal(case.reals[1], expected)
    # The landmarks' box sits centred in the crop and spans half of it along its larger side.
    inside = methods._crop_points(points, case.box)
    assert np.allclose((inside.min(0) + inside.max(0)) / 2, 128)
    assert np.isclose((inside.max(0) - inside.min(0)).max(), 128)


def test_metrics_on_known_images(astronaut):
    image = astronaut[:256, :256] // 2  # room above for a brighter copy without clipping
    assert metrics.l1(image, image) == 0 and metrics.ssim(image, image) == pytest.approx(1.0) and core_metrics.psnr(image, image) >= 99
    brighter = image + 10
    assert metrics.l1(brighter, image) == pytest.approx(10 / 255)
    assert core_metrics.psnr(brighter, image) == pytest.approx(20 * np.log10(255 / 10))
    assert metrics.ssim(brighter, image) < 1
    noisy = np.clip(image + np.random.default_rng(0).normal(0, 25, image.shape), 0, 255).astype(np.uint8)
    assert metrics.ssim(noisy, image) < metrics.ssim(brighter, image)
    points = np.random.default_rng(1).uniform(0, 256, (68, 2)).astype(np.float32)
    assert metrics.keypoint_distance(points + [3, 4], points) == pytest.approx(5.0)
    assert metrics.identity_distance(np.ones(128), np.zeros(128)) == pytest.approx(np.sqrt(128))


def test_piecewise_affine_warp_moves_what_the_landmarks_move():
    rng = np.random.default_rng(2)
    source = np.column_stack([rng.uniform(80, 176, 68), rng.uniform(80, 176, 68)])
    image = np.full((256, 256, 3), 40, np.uint8)
    cv2.circle(image, (128, 128), 6, (250, 250, 250), -1)
    assert np.abs(methods.piecewise_affine_warp(image, source, source).astype(int) - image).max() <= 1
    moved = methods.piecewise_affine_warp(image, source, source + [12, 0])
    ys, xs = np.nonzero(moved[..., 0] > 150)
    assert abs(xs.mean() - 140) < 2 and abs(ys.mean() - 128) < 2
    assert moved[0, 0, 0] == 40 and moved[255, 255, 0] == 40  # the border stays put


# --- the evaluation end to end ------------------------------------------------------------------------------

def test_command_line_scores_copy_and_warp(command_line):
    _, stdout, scores = command_line
    assert "| copy |" in stdout and "| warp |" in stdout
    copy, warp = scores["summary"]["copy"], scores["summary"]["warp"]
    assert scores["videos"][0]["frames"] == 2
    for method in (copy, warp):
        assert all(method[m] is not None for m in protocol.METRICS) and method["akd_miss"] == 0
        assert method["id"] < 0.6  # the same person
    # The faces drifted: the warp follows the driver's landmarks, the copy does not.
    assert warp["akd"] < copy["akd"] and warp["akd"] < 3
    assert warp["l1"] < copy["l1"] and warp["ssim"] > copy["ssim"]


def test_dump_is_rescored_exactly_by_the_dir_method(command_line, video):
    paths, _, scores = command_line
    dumped = sorted(p.name for p in (paths["dump"] / video.stem).iterdir())
    assert dumped == ["gen_0000.png", "gen_0001.png", "real_0000.png", "real_0001.png"]
    name = f"dir:{paths['dump']}"
    result = score.evaluate([video], methods.parse_methods(name), frames=2, workers=0)[0]
    assert result.notes == []
    for m in protocol.METRICS:  # the dump holds the last method's crops: warp's
        assert result.scores[name][m] == pytest.approx(scores["summary"]["warp"][m], abs=1e-12)


def test_dir_method_flags_a_real_crop_of_another_view(command_line, video, tmp_path):
    paths, _, _ = command_line
    shutil.copytree(paths["dump"], tmp_path / "dump")
    noise = np.random.default_rng(3).integers(0, 256, (256, 256, 3), dtype=np.uint8)
    cv2.imwrite(str(tmp_path / "dump" / video.stem / "real_0001.png"), noise)
    result = score.evaluate([video], methods.parse_methods(f"dir:{tmp_path / 'dump'}"), frames=2, workers=0)[0]
    assert len(result.notes) == 1 and "test frame 1" in result.notes[0]


def test_contact_sheet_has_a_row_per_test_frame(command_line):
    paths, _, _ = command_line
    sheet = cv2.imread(str(paths["sheet"]))
    # header, the video's caption, 2 test frames; columns real | warp (copy only repeats the reference)
    assert sheet.shape == (report.LABEL * 2 + 2 * report.THUMB, 2 * report.THUMB, 3)


def test_methods_are_pluggable_and_see_t_references(video):
    seen = {}

    def recording(references, reference_points, drivers):
        seen.update(references=references, reference_points=reference_points, drivers=drivers)
        return methods.copy_method(references, reference_points, drivers)

    result = score.evaluate([video], {"recording": recording}, shots=3, frames=2, workers=0)[0]
    wanted = core_video.read_frames(video, protocol.reference_indices(FRAMES, 3))
    assert [np.array_equal(a, wanted[i]) for a, i in zip(seen["references"], sorted(wanted))] == [True] * 3
    assert [p.shape for p in seen["reference_points"]] == [(68, 2)] * 3 and len(seen["drivers"]) == 2
    # The face drifted by (6, 3) pixels from frame 0 to frame 9: so did the landmarks dlib found.
    assert np.allclose(seen["drivers"][1].mean(0) - seen["reference_points"][0].mean(0), (6, 3), atol=1.5)
    assert result.scores["recording"]["l1"] > 0


def test_a_method_returning_wrong_crops_is_a_user_error(video):
    with pytest.raises(UserError, match="one 256x256 RGB crop per driver"):
        score.evaluate([video], {"broken": lambda r, p, d: [np.zeros((64, 64, 3), np.uint8)] * len(d)}, frames=2,
                    workers=0)


def test_bad_input_is_a_user_error(tmp_path, video):
    with pytest.raises(UserError, match="unknown method"):
        methods.parse_methods("copy,magic")
    with pytest.raises(UserError, match="not a folder"):
        methods.parse_methods(f"dir:{tmp_path / 'nowhere'}")
    with pytest.raises(UserError, match="does not exist"):
        score.evaluate([tmp_path / "missing.mp4"], methods.parse_methods("copy"), workers=0)
    with pytest.raises(UserError, match="gen_0000.png is missing"):
        score.evaluate([video], methods.parse_methods(f"dir:{tmp_path}"), frames=2, workers=0)
    assert main(["evaluate", str(video), "--methods", "copy", "--contact-sheet",
                 str(evaluate_command.ROOT / "benchmarks" / "sheet.png")]) == 2
    assert not (evaluate_command.ROOT / "benchmarks" / "sheet.png").exists()


def test_a_video_without_a_face_is_reported_not_scored(tmp_path):
    path = tmp_path / "blank.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 25, (64, 64))
    for i in range(4):
        writer.write(np.full((64, 64, 3), 60 * i, np.uint8))
    writer.release()
    result = score.evaluate([path], methods.parse_methods("copy"), frames=2, workers=0)[0]
    assert result.error == "no face in the first reference frame" and result.scores == {}


# --- the data split ------------------------------------------------------------------------------------------

def test_split_is_by_identity(tmp_path):
    rows = ["file\tidentity\tkind", "videos/a1.mp4\tW011\tvideo", "videos/a2.mp4\tW011\tvideo",
            "videos/b.mp4\tobama\tvideo", "videos/c.mp4\treagan\tvideo", "portraits/p.jpg\t\timage"]
    (tmp_path / "MANIFEST.tsv").write_text("\n".join(rows) + "\n")
    train, val = split.split_videos(tmp_path)
    assert [p.name for p in train] == ["b.mp4"] and [p.name for p in val] == ["a1.mp4", "a2.mp4", "c.mp4"]
    with pytest.raises(UserError, match="MANIFEST.tsv"):
        split.split_videos(tmp_path / "nowhere")


def test_the_people_split_keeps_test_people_out_of_training_and_choices(tmp_path):
    rows = ["file\tidentity\tkind", "videos/t.mp4\tgal_gadot\tvideo", "videos/v1.mp4\tW011\tvideo",
            "videos/v2.mp4\tW011\tvideo", "videos/n.mp4\tzendaya\tvideo", "videos/o.mp4\tobama\tvideo"]
    (tmp_path / "MANIFEST.tsv").write_text("\n".join(rows) + "\n")
    groups = split.split_media(tmp_path)
    assert [p.name for p in groups.test] == ["t.mp4"] and [p.name for p in groups.training] == ["o.mp4"]
    assert len(groups.choice) == split.CHOICE_FOLDS
    folds = {p.name: k for k, fold in enumerate(groups.choice) for p in fold}
    assert set(folds) == {"v1.mp4", "v2.mp4", "n.mp4"}
    assert folds["v1.mp4"] == folds["v2.mp4"] == split.choice_fold("W011")     # a person's clips in one fold
    train, val = split.split_videos(tmp_path)                                 # meta-training never sees a test person
    assert "t.mp4" not in {p.name for p in train + val}
    assert not split.TEST_IDENTITIES & (split.VALIDATION_IDENTITIES | split.NEW_CHOICE_IDENTITIES)


def test_split_of_the_shared_media(shared_media):
    train, val = split.split_videos(shared_media)
    test = split.split_media(shared_media).test
    assert len(train) + len(val) + len(test) == len(list((shared_media / "videos").glob("*.m[op][4v]")))
    assert len(test) == len(split.TEST_IDENTITIES)          # one clip each, all of them in the media
    stems = {p.stem for p in val}
    assert {"LIA-driving2", "DPE-d", "DPE-s", "styletalk-KristiNoem", "styletalk-reagan_clip1"} <= stems
    assert sum(s.startswith("dreamtalk-W011") for s in stems) == 8 and len(stems) >= 22  # the media only grows
    assert {"metrical-tracker-justin_video", "smirk-samples_skarsgard"} <= stems     # wide shots held out too
    assert not any("Obama" in p.stem or "W009" in p.stem for p in val)


# --- agreement with the reference implementation (only where ../shared has it) --------------------------------

def test_copy_and_warp_equal_the_reference_implementation(shared_media, monkeypatch):
    script = shared_media.parent / "eval" / "selfreenact.py"
    if not script.is_file():
        pytest.skip("../shared/eval/selfreenact.py is not present")
    if importlib.util.find_spec("pkg_resources") is None:  # face_recognition_models' __init__ imports it
        shim = types.ModuleType("pkg_resources")
        shim.resource_filename = lambda package, name: str(judge.dlib_models().parent / name)
        monkeypatch.setitem(sys.modules, "pkg_resources", shim)
    spec = importlib.util.spec_from_file_location("selfreenact", script)
    reference = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(reference)
    video = shared_media / "videos" / "dreamtalk-M030_front_contempt_level3_001.mp4"
    ours = score.evaluate([video], methods.parse_methods("copy,warp"), frames=2, workers=0)[0].scores
    for method in ("copy", "warp"):
        theirs = reference.evaluate(str(video), method, 1, 2, None)
        for m in protocol.METRICS:
            assert ours[method][m] == pytest.approx(theirs[m], abs=1e-9), (method, m)


def test_model_method_fine_tunes_on_the_references_and_renders_the_drivers(video, monkeypatch):
    calls = {}

    class Person:
        def render_crops(self, points):
            calls["rendered"] = points
            return np.zeros((len(points), 256, 256, 3), np.uint8)

    def fit_person(references, points, preset=DEFAULT_PRESET, device="auto", prior=None, progress=None):
        calls.update(references=references, points=points, preset=preset, device=device, prior=prior)
        return Person()

    monkeypatch.setitem(sys.modules, "talking_heads.core.training.finetune", types.SimpleNamespace(fit_person=fit_person))
    chosen = methods.parse_methods("model", prior="prior-folder", preset=QUALITY, device="cpu")
    case = protocol.load_case(video, shots=2, frames=2)
    result = score.evaluate([video], chosen, shots=2, frames=2, workers=0)[0]
    assert (calls["preset"], calls["device"], calls["prior"]) == (QUALITY, "cpu", "prior-folder")
    assert len(calls["references"]) == 2 and calls["references"][0].shape == (256, 256, 3)
    assert np.array_equal(calls["points"][1], case.reference_points[1])
    assert calls["rendered"].shape == (2, 68, 2) and np.array_equal(calls["rendered"], np.stack(case.drivers))
    assert result.scores["model"]["l1"] > 0.1  # black crops are far from the real ones
