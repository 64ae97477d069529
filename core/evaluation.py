"""Self-reenactment evaluation: re-create held-out frames of a talking-head video from their landmarks.

The protocol (../shared/eval/PROTOCOL.md; `selfreenact.py` beside it is the reference implementation, whose
`copy` and `warp` figures this module reproduces exactly). For each video:

- reference frames: T=1 takes frame 0; T>1 takes T frames spread evenly over the first half;
- test frames: N frames spread evenly over the second half, never shown to the method;
- driver: the dlib 68 landmarks of each real test frame (a frame where dlib finds no face is skipped);
- crop: one square crop per video from the first reference's landmarks (`core.landmarks.align`), 256 px;
- metrics on the crop, RGB in [0, 1]: L1, PSNR, SSIM, AKD (mean distance between the dlib landmarks of the
  generated and of the real crop, over frames where both are found; `akd_miss` is the share where they are
  not) and ID (distance between dlib face descriptors; under 0.6 reads as the same person).
  Each is averaged over the test frames of a video, then over videos.

A method is a callable `(references, reference_points, drivers) -> crops`: full reference frames, their
landmarks and the drivers' landmarks, all in the frames' pixels, give one 256 x 256 protocol crop per driver.
`copy` and `warp` are the protocol's baselines, `model` fine-tunes a person model on the references, and
`dir:PATH` scores crops another program wrote. dlib is the measuring instrument and runs in worker processes.
"""
from __future__ import annotations

import csv
import hashlib
import multiprocessing
import os
import signal
import sys
import tempfile
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional, Sequence

import numpy as np

from core.errors import UserError
from core.progress import Progress, report

SIZE = 256                      # the protocol's crop, in pixels
METRICS = ("l1", "psnr", "ssim", "akd", "id", "akd_miss")
ROOT = Path(__file__).resolve().parents[1]

# Identities held out of meta-training, as spelled in the `identity` column of ../shared/media/MANIFEST.tsv.
# The manifest names the man of DPE's two clips once per clip; both clips are held out.
VALIDATION_IDENTITIES = frozenset({
    "W011",          # dreamtalk-W011_*
    "andrew_ng",     # styletalk-andrew_clip_*
    "kristi_noem",   # styletalk-KristiNoem
    "reagan",        # styletalk-reagan_clip1
    "lia_man",       # LIA-driving2
    "dpe_man_d",     # DPE-d
    "dpe_man_s",     # DPE-s
})

Method = Callable[[Sequence[np.ndarray], Sequence[np.ndarray], Sequence[np.ndarray]], Sequence[np.ndarray]]


def split_videos(media_dir: str | os.PathLike) -> tuple[list[Path], list[Path]]:
    """(training videos, validation videos) of a media folder, split by identity through its MANIFEST.tsv."""
    media_dir = Path(media_dir)
    manifest = media_dir / "MANIFEST.tsv"
    if not manifest.is_file():
        raise UserError(f"{manifest} not found: give the media folder that holds MANIFEST.tsv and videos/")
    train, val = [], []
    with open(manifest, newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f, delimiter="\t"):
            if row.get("kind") != "video":
                continue
            path = media_dir / row["file"]
            (val if row["identity"] in VALIDATION_IDENTITIES else train).append(path)
    return sorted(train), sorted(val)


# --- Frame selection and decoding ----------------------------------------------------------------------------

def reference_indices(frame_count: int, shots: int) -> list[int]:
    """T=1: frame 0. T>1: T frames spread evenly over the first half (numpy rounding, as the protocol)."""
    if shots == 1:
        return [0]
    return np.linspace(0, frame_count // 2 - 1, shots).round().astype(int).tolist()


def test_indices(frame_count: int, frames: int) -> list[int]:
    """N frames spread evenly over the second half."""
    return np.linspace(frame_count // 2, frame_count - 1, frames).round().astype(int).tolist()


def _capture(path: Path):
    import cv2

    capture = cv2.VideoCapture(str(path))
    if not capture.isOpened():
        raise UserError(f"cannot read the video {path}: check that it exists and is a video file")
    return capture


def count_frames(path: Path) -> int:
    """Frames that decode, counted by decoding: container metadata is often wrong."""
    capture = _capture(path)
    count = 0
    while capture.grab():
        count += 1
    capture.release()
    return count


def read_frames(path: Path, indices: Sequence[int]) -> dict[int, np.ndarray]:
    """The wanted frames as RGB; the others are only grabbed (no colour conversion), and decoding stops early."""
    import cv2

    wanted = set(indices)
    capture = _capture(path)
    frames = {}
    for i in range(max(wanted) + 1):
        if not capture.grab():
            break
        if i in wanted:
            frames[i] = cv2.cvtColor(capture.retrieve()[1], cv2.COLOR_BGR2RGB)
    capture.release()
    return frames


# --- The measuring instrument: dlib's detector, 68-point predictor and face descriptor ------------------------

def dlib_models() -> Path:
    """The folder of dlib's models in the face-recognition-models package (found, not imported: its
    __init__ needs pkg_resources)."""
    import importlib.util

    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        raise UserError("the evaluation needs dlib's models: pip install face-recognition-models")
    return Path(list(spec.submodule_search_locations)[0]) / "models"


class FaceJudge:
    """dlib exactly as the protocol fixes it: HOG detection with one upsampling on the whole image, the
    largest face, the 68-point predictor, the ResNet descriptor. (Not `core.landmarks.detect`, which tunes
    detection for the product and so would measure other points than the protocol's.)"""

    def __init__(self):
        import dlib

        models = dlib_models()
        self.detector = dlib.get_frontal_face_detector()
        self.predictor = dlib.shape_predictor(str(models / "shape_predictor_68_face_landmarks.dat"))
        self.recogniser = dlib.face_recognition_model_v1(str(models / "dlib_face_recognition_resnet_model_v1.dat"))

    def shape(self, image: np.ndarray):
        faces = self.detector(image, 1)
        if not faces:
            return None
        return self.predictor(image, max(faces, key=lambda r: r.width() * r.height()))

    def landmarks(self, image: np.ndarray) -> Optional[np.ndarray]:
        shape = self.shape(image)
        return None if shape is None else np.array([[p.x, p.y] for p in shape.parts()], np.float32)

    def judge(self, crop: np.ndarray) -> tuple[Optional[np.ndarray], Optional[np.ndarray]]:
        """(landmarks, face descriptor) of a crop, both None where no face is found."""
        shape = self.shape(crop)
        if shape is None:
            return None, None
        points = np.array([[p.x, p.y] for p in shape.parts()], np.float32)
        return points, np.array(self.recogniser.compute_face_descriptor(crop, shape))


_JUDGE: Optional[FaceJudge] = None


def _the_judge() -> FaceJudge:
    global _JUDGE
    if _JUDGE is None:
        _JUDGE = FaceJudge()
    return _JUDGE


def _judge_crop(crop: np.ndarray):
    return _the_judge().judge(crop)


class _InProcess:
    """The executor interface, run at once in this process (workers=0: no start-up cost, for small runs)."""

    def submit(self, fn, *args) -> Future:
        future = Future()
        future.set_result(fn(*args))
        return future

    def shutdown(self, wait: bool = True, cancel_futures: bool = False) -> None:
        pass


def _start_worker() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle: it shuts the pool down
    _the_judge()


def _executor(workers: int):
    if workers <= 0:
        return _InProcess()
    # spawn, not fork: a model method may have started torch's thread pools, which do not survive a fork.
    return ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"), initializer=_start_worker)


# --- Metrics -------------------------------------------------------------------------------------------------

def _unit(image: np.ndarray) -> np.ndarray:
    return image.astype(np.float64) / 255.0


def l1(generated: np.ndarray, real: np.ndarray) -> float:
    return float(np.abs(_unit(generated) - _unit(real)).mean())


def psnr(generated: np.ndarray, real: np.ndarray) -> float:
    mse = float(((_unit(generated) - _unit(real)) ** 2).mean())
    return float(10 * np.log10(1.0 / max(mse, 1e-10)))  # identical images: 100 dB rather than infinity


def ssim(generated: np.ndarray, real: np.ndarray) -> float:
    from skimage.metrics import structural_similarity

    return float(structural_similarity(_unit(generated), _unit(real), channel_axis=2, data_range=1.0))


def keypoint_distance(generated: np.ndarray, real: np.ndarray) -> float:
    """AKD: mean Euclidean distance between corresponding landmarks, in crop pixels."""
    return float(np.linalg.norm(generated.astype(np.float64) - real, axis=1).mean())


def identity_distance(generated: np.ndarray, real: np.ndarray) -> float:
    return float(np.linalg.norm(generated - real))


# --- Methods -------------------------------------------------------------------------------------------------

def _reference_crop(references, reference_points):
    """The protocol crop of the first reference, its box, and the landmarks in it."""
    from core.landmarks.align import crop_box, crop_image

    box = crop_box(reference_points[0])
    return crop_image(references[0], box, SIZE), box, _crop_points(reference_points[0], box)


def _crop_points(points: np.ndarray, box) -> np.ndarray:
    """Image -> crop coordinates, in float64 and in the reference implementation's order of operations.

    Not `align.to_crop` (float32, matrix form): the warp's output is truncated to uint8, so a last-bit
    difference in a coordinate flips pixels that sit exactly on an integer, and dlib's AKD on the result
    moves by a few hundredths of a pixel away from the protocol's published figures.
    """
    x, y, side = box
    return (np.asarray(points, np.float64) - [x, y]) * SIZE / side


def copy_method(references, reference_points, drivers) -> list[np.ndarray]:
    """The reference crop itself, for every driver."""
    crop, _, _ = _reference_crop(references, reference_points)
    return [crop] * len(drivers)


def piecewise_affine_warp(image: np.ndarray, source: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Move `source` landmarks of a crop onto `target`: one affine map per triangle of a Delaunay mesh over
    the 68 points and 8 fixed points on the crop border (corners and edge midpoints), edges replicated."""
    from skimage.transform import PiecewiseAffineTransform, warp

    size = image.shape[0]
    end, mid = size - 1, size / 2
    border = np.array([[0, 0], [mid, 0], [end, 0], [end, mid], [end, end], [mid, end], [0, end], [0, mid]])
    # skimage's warp maps output pixels to input pixels, so the transform goes from target to source.
    transform = PiecewiseAffineTransform.from_estimate(
        np.vstack([target, border]).astype(np.float64), np.vstack([source, border]).astype(np.float64))
    if not transform:  # a degenerate driver (coincident points): no mesh to warp along, the reference stands
        return image.copy()
    out = warp(_unit(image), transform, output_shape=image.shape[:2], mode="edge")
    # Truncated, not rounded, to uint8: the protocol's reference implementation does so, and its figures stand.
    return (np.clip(out, 0, 1) * 255).astype(np.uint8)


def warp_method(references, reference_points, drivers) -> list[np.ndarray]:
    """The reference crop warped piecewise-affinely from its landmarks onto each driver's."""
    crop, box, points = _reference_crop(references, reference_points)
    return [piecewise_affine_warp(crop, points, _crop_points(d, box)) for d in drivers]


def model_method(prior: Optional[str] = None, preset: str = "fast", device: str = "auto",
                 progress: Optional[Progress] = None) -> Method:
    """Fine-tune a person model on the references (from `prior`), then render the drivers."""

    def generate(references, reference_points, drivers) -> list[np.ndarray]:
        from core.training.finetune import fit_person

        person = fit_person(list(references), list(reference_points), preset=preset, device=device,
                            prior=prior, progress=progress)
        return list(person.render_crops(np.stack(drivers).astype(np.float32)))

    return generate


@dataclass(frozen=True)
class DumpedCrops:
    """Crops another program wrote for the test frames, read rather than generated: ROOT/<video stem>/
    gen_%04d.png for test frame k, and where present its own crop of the real frame, real_%04d.png."""

    root: Path

    def read_case(self, case: VideoCase, notes: list[str]) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """(generated crops, ground truths) of a video. The program's own crop of the real frame is the truth
        where present (its resampling may differ from ours); a note flags one that frames another view."""
        generated, truths = [], []
        for k, real in zip(case.keys, case.reals):
            folder = self.root / case.stem
            generated_path, real_path = folder / f"gen_{k:04d}.png", folder / f"real_{k:04d}.png"
            if not generated_path.is_file():
                raise UserError(f"{generated_path} is missing: dir:{self.root} needs gen_%04d.png for every test "
                                "frame of every video, written with the same --shots and --frames")
            generated.append(_read_crop(generated_path))
            if real_path.is_file():
                theirs = _read_crop(real_path)
                if (agreement := ssim(theirs, real)) < 0.6:
                    notes.append(f"test frame {k}: {real_path} differs from the protocol's crop (SSIM {agreement:.2f})")
                real = theirs
            truths.append(real)
        return generated, truths


def _read_crop(path: Path) -> np.ndarray:
    import cv2

    bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if bgr is None or bgr.shape[:2] != (SIZE, SIZE):
        raise UserError(f"{path} is not a {SIZE}x{SIZE} image: write the protocol's crops at {SIZE} pixels")
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def parse_methods(spec: str, prior: Optional[str] = None, preset: str = "fast", device: str = "auto",
                  progress: Optional[Progress] = None) -> dict[str, Method | DumpedCrops]:
    """'copy,warp,model,dir:PATH' -> {name: method}, in the order given."""
    methods: dict[str, Method | DumpedCrops] = {}
    for name in (s.strip() for s in spec.split(",")):
        if name == "copy":
            methods[name] = copy_method
        elif name == "warp":
            methods[name] = warp_method
        elif name == "model":
            methods[name] = model_method(prior, preset, device, progress)
        elif name.startswith("dir:") and len(name) > 4:
            root = Path(name[4:])
            if not root.is_dir():
                raise UserError(f"{name}: {root} is not a folder; give the folder that holds <video stem>/gen_*.png")
            methods[name] = DumpedCrops(root)
        else:
            raise UserError(f"unknown method {name!r}: choose from copy, warp, model, dir:PATH (comma-separated)")
    if not methods:
        raise UserError("no method given: pass --methods, e.g. copy,warp,model")
    return methods


# --- The evaluation ------------------------------------------------------------------------------------------

class Unscorable(Exception):
    """A video the protocol cannot score (too short, no face where one is needed); the others go on."""


@dataclass
class VideoCase:
    """What the protocol takes from one video: the references and the test frames' drivers and crops.

    `keys[j]` numbers test frame j among all N test frames, so that k stays the same when frames where dlib
    finds no face are skipped (file names of dumped crops use it).
    """

    stem: str
    references: list[np.ndarray]          # full frames
    reference_points: list[np.ndarray]    # (68, 2) each, in the frames' pixels
    box: tuple[float, float, float]       # the crop, from the first reference
    keys: list[int]
    drivers: list[np.ndarray]             # (68, 2) each, in the frames' pixels
    reals: list[np.ndarray]               # the real test frames' crops
    notes: list[str] = field(default_factory=list)


def load_case(path: Path, shots: int, frames: int) -> VideoCase:
    """Select, decode and landmark the frames of one video; Unscorable says why it cannot be used."""
    from core.landmarks.align import crop_box, crop_image

    count = count_frames(path)
    if count < 2:
        raise Unscorable(f"{count} frame(s): too short to split into reference and test halves")
    ref_idx, test_idx = reference_indices(count, shots), test_indices(count, frames)
    images = read_frames(path, ref_idx + test_idx)
    if len(images) < len(set(ref_idx + test_idx)):
        raise Unscorable("frames stopped decoding before the end: re-encode the video")
    found = {i: _the_judge().landmarks(images[i]) for i in sorted(images)}
    if found[ref_idx[0]] is None:
        raise Unscorable("no face in the first reference frame")
    notes = []
    references = [i for i in ref_idx if found[i] is not None]
    if len(references) < len(ref_idx):
        notes.append(f"no face in {len(ref_idx) - len(references)} of {len(ref_idx)} reference frames: left out")
    keys = [k for k, i in enumerate(test_idx) if found[i] is not None]
    if not keys:
        raise Unscorable("no face in any test frame")
    if len(keys) < len(test_idx):
        notes.append(f"no face in {len(test_idx) - len(keys)} of {len(test_idx)} test frames: skipped")
    box = crop_box(found[ref_idx[0]])
    return VideoCase(path.stem, [images[i] for i in references], [found[i] for i in references], box, keys,
                     [found[test_idx[k]] for k in keys], [crop_image(images[test_idx[k]], box, SIZE) for k in keys],
                     notes)


@dataclass
class VideoResult:
    """One video's scores: {method: {metric: mean over its test frames}}, or why it could not be scored."""

    video: str
    frames: int = 0
    scores: dict[str, dict[str, Optional[float]]] = field(default_factory=dict)
    error: Optional[str] = None
    notes: list[str] = field(default_factory=list)
    sheet: Optional[np.ndarray] = None  # this video's rows of the contact sheet


@dataclass
class _ScoredFrame:
    """One test frame of one method: pixel metrics now; AKD and ID once the dlib workers have judged."""

    pixels: dict[str, float]
    generated: Future
    real: Future


def evaluate(videos: Sequence[str | os.PathLike], methods: dict[str, Method | DumpedCrops], shots: int = 1,
             frames: int = 16, dump: Optional[Path] = None, contact_sheet: bool = False, workers: int = 2,
             progress: Optional[Progress] = None) -> list[VideoResult]:
    """Score every method on every video under the protocol.

    dlib's descriptors run in `workers` processes (0: in this one) while the methods move on to the next
    video. `dump` writes the last method's crops and the real crops as DUMP/<video stem>/{gen,real}_%04d.png;
    `contact_sheet` keeps each video's rows for `write_contact_sheet`.
    """
    if shots < 1 or frames < 1:
        raise UserError("--shots and --frames must be at least 1")
    paths = [Path(v) for v in videos]
    for path in paths:
        if not path.is_file():
            raise UserError(f"{path} does not exist: give paths of video files")
    dlib_models()  # a missing package is the user's to fix, not a broken worker pool's traceback
    executor = _executor(workers)
    try:
        finishing = []
        for done, path in enumerate(paths):
            report(progress, done, len(paths), f"evaluate: {path.name}")
            try:
                case = load_case(path, shots, frames)
            except Unscorable as e:
                finishing.append(lambda r=VideoResult(path.name, error=str(e)): r)
                continue
            finishing.append(_score_case(path.name, case, methods, executor, dump, contact_sheet))
        report(progress, len(paths), len(paths), "evaluate: waiting for dlib")
        return [finish() for finish in finishing]
    finally:
        executor.shutdown(wait=True, cancel_futures=True)


def _score_case(video, case: VideoCase, methods, executor, dump, contact_sheet) -> Callable[[], VideoResult]:
    """Run the methods on one video and submit their crops to dlib; returns what waits for dlib and scores."""
    judged: dict[bytes, Future] = {}  # by content: the copy crop and the real crops are judged once

    def judge(crop: np.ndarray) -> Future:
        key = hashlib.sha1(crop.tobytes()).digest()
        if key not in judged:
            judged[key] = executor.submit(_judge_crop, crop)
        return judged[key]

    result = VideoResult(video, frames=len(case.keys), notes=list(case.notes))
    scored: dict[str, list[_ScoredFrame]] = {}
    crops: dict[str, list[np.ndarray]] = {}
    for name, method in methods.items():
        if isinstance(method, DumpedCrops):
            generated, truths = method.read_case(case, result.notes)
        else:
            generated, truths = list(method(case.references, case.reference_points, case.drivers)), case.reals
        if len(generated) != len(case.drivers) or any(g.shape != (SIZE, SIZE, 3) for g in generated):
            raise UserError(f"the {name} method did not return one {SIZE}x{SIZE} RGB crop per driver")
        crops[name] = generated
        scored[name] = [_ScoredFrame({"l1": l1(g, t), "psnr": psnr(g, t), "ssim": ssim(g, t)}, judge(g), judge(t))
                        for g, t in zip(generated, truths)]
    if dump is not None:
        for k, generated, real in zip(case.keys, crops[list(methods)[-1]], case.reals):
            _write_png(dump / case.stem / f"gen_{k:04d}.png", generated)
            _write_png(dump / case.stem / f"real_{k:04d}.png", real)
    if contact_sheet:
        result.sheet = _sheet_rows(video, case.reals, [c for name, c in crops.items() if name != "copy"])

    def finish() -> VideoResult:
        result.scores = {name: _video_scores(frames) for name, frames in scored.items()}
        return result

    return finish


def _video_scores(frames: list[_ScoredFrame]) -> dict[str, Optional[float]]:
    values = {m: [] for m in ("l1", "psnr", "ssim", "akd", "id")}
    missed = 0
    for frame in frames:
        for m, v in frame.pixels.items():
            values[m].append(v)
        (g_points, g_descriptor), (r_points, r_descriptor) = frame.generated.result(), frame.real.result()
        if g_points is None or r_points is None:
            missed += 1
        else:
            values["akd"].append(keypoint_distance(g_points, r_points))
            values["id"].append(identity_distance(g_descriptor, r_descriptor))
    scores = {m: (float(np.mean(v)) if v else None) for m, v in values.items()}
    scores["akd_miss"] = missed / len(frames)
    return scores


def summarize(results: Sequence[VideoResult]) -> dict[str, dict[str, Optional[float]]]:
    """{method: {metric: mean over the scored videos of their per-video means}}."""
    scored = [r for r in results if r.error is None]
    summary = {}
    for name in (scored[0].scores if scored else {}):
        values = {m: [r.scores[name][m] for r in scored if r.scores[name][m] is not None] for m in METRICS}
        summary[name] = {m: (float(np.mean(v)) if v else None) for m, v in values.items()}
    return summary


def format_table(results: Sequence[VideoResult], per_video: bool = False) -> str:
    """A Markdown table of the summary, and with `per_video` one row per video and method."""
    formats = {"l1": "{:.4f}", "psnr": "{:.2f}", "ssim": "{:.3f}", "akd": "{:.2f}", "id": "{:.3f}",
               "akd_miss": "{:.3f}"}

    def cells(scores):
        return " | ".join("n/a" if scores[m] is None else formats[m].format(scores[m]) for m in METRICS)

    header = "| L1 | PSNR | SSIM | AKD px | ID | AKD miss |"
    rule = "| --- " * 7 + "|"
    lines = ["| method " + header, rule]
    lines += [f"| {name} | {cells(s)} |" for name, s in summarize(results).items()]
    if per_video:
        lines += ["", "| video | frames | method " + header, "| --- | --- " + rule]
        for r in results:
            if r.error is not None:
                lines.append(f"| {r.video} | 0 | not scored: {r.error} |")
            lines += [f"| {r.video} | {r.frames} | {name} | {cells(s)} |" for name, s in r.scores.items()]
    return "\n".join(lines)


# --- Outputs -------------------------------------------------------------------------------------------------

THUMB = 128   # contact-sheet tile, in pixels
LABEL = 18    # height of the sheet's caption strips


def _caption(text: str, width: int) -> np.ndarray:
    import cv2

    strip = np.full((LABEL, width, 3), 255, np.uint8)
    cv2.putText(strip, text, (4, LABEL - 5), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (0, 0, 0), 1, cv2.LINE_AA)
    return strip


def _sheet_rows(video: str, reals: list[np.ndarray], generated: list[list[np.ndarray]]) -> np.ndarray:
    """The video's name, then one row per test frame: real | each method but copy (which only repeats the
    reference), at THUMB pixels."""
    import cv2

    def tile(image):
        return cv2.resize(image, (THUMB, THUMB), interpolation=cv2.INTER_AREA)

    rows = [np.hstack([tile(real)] + [tile(crops[j]) for crops in generated]) for j, real in enumerate(reals)]
    return np.vstack([_caption(video, rows[0].shape[1])] + rows)


def write_contact_sheet(path: Path, results: Sequence[VideoResult]) -> None:
    """Every video's rows under a header naming the columns. It shows real people: keep it out of the repo."""
    sheets = [r.sheet for r in results if r.sheet is not None]
    if not sheets:
        return
    columns = ["real"] + [name for name in next(r.scores for r in results if r.sheet is not None) if name != "copy"]
    header = np.hstack([_caption(name, THUMB) for name in columns])
    _write_png(path, np.vstack([header] + sheets))


def _write_png(path: Path, image: np.ndarray) -> None:
    """Write to a temporary name in the same folder, then rename into place."""
    import cv2

    ok, data = cv2.imencode(".png", cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
    if not ok:
        raise UserError(f"cannot encode {path} as PNG: the image is {image.shape}")
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        with os.fdopen(fd, "wb") as f:
            f.write(data.tobytes())
        os.replace(tmp, path)
    except OSError as e:
        raise UserError(f"cannot write {path} ({e.strerror}): choose another folder") from e
    finally:
        if tmp is not None and os.path.exists(tmp):
            os.unlink(tmp)


def _outside_benchmarks(path: Path) -> Path:
    """Sheets and crops of real people must never land in the committed benchmarks/ folder."""
    if path.resolve().is_relative_to(ROOT / "benchmarks"):
        raise UserError(f"{path} is inside benchmarks/, which is committed: write images of people under out/")
    return path


# --- Command line --------------------------------------------------------------------------------------------

def add_arguments(parser) -> None:
    parser.add_argument("videos", nargs="+", metavar="VIDEO", help="talking-head videos (one person, static camera)")
    parser.add_argument("--shots", type=int, default=1, metavar="T", help="reference frames per video (default 1)")
    parser.add_argument("--frames", type=int, default=16, metavar="N", help="test frames per video (default 16)")
    parser.add_argument("--methods", default="copy,warp,model",
                        help="comma-separated: copy, warp, model, dir:PATH (default copy,warp,model)")
    parser.add_argument("--person-prior", metavar="PATH", help="the prior the model method fine-tunes from")
    parser.add_argument("--preset", default="fast", help="fine-tuning preset of the model method (default fast)")
    parser.add_argument("--device", default="auto", help="device of the model method: auto, cpu, cuda (default auto)")
    parser.add_argument("--dump", type=Path, metavar="DIR",
                        help="write the last method's crops as DIR/<video stem>/gen_%%04d.png and the real ones as real_%%04d.png")
    parser.add_argument("--contact-sheet", type=Path, metavar="PNG", default=ROOT / "out" / "evaluation_sheet.png",
                        help="rows = test frames, columns = real | each method but copy (default out/evaluation_sheet.png)")
    parser.add_argument("--json", type=Path, metavar="OUT", help="write per-video and summary scores as JSON")
    parser.add_argument("--workers", type=int, default=min(2, os.cpu_count() or 1),
                        help="processes running dlib (default: up to 2; 0 runs it in this process)")
    parser.add_argument("--verbose", action="store_true", help="also print one row per video and method")


def run(args) -> int:
    from core.progress import TqdmProgress

    fit_bar = TqdmProgress("fine-tune")

    def fitting(done: int, total: int, message: str) -> None:
        fit_bar(done, total, message)
        if done == total:
            fit_bar.close()  # the next video's fine-tuning starts a bar of its own

    methods = parse_methods(args.methods, args.person_prior, args.preset, args.device, fitting)
    dump = _outside_benchmarks(args.dump) if args.dump else None
    sheet = _outside_benchmarks(args.contact_sheet)
    if args.json and not args.json.resolve().parent.is_dir():
        raise UserError(f"cannot write {args.json}: its folder does not exist; create it first")
    bar = TqdmProgress("evaluate")
    try:
        results = evaluate(args.videos, methods, args.shots, args.frames, dump=dump, contact_sheet=True,
                           workers=args.workers, progress=bar)
    finally:
        bar.close()
        fit_bar.close()
    for r in results:
        for note in r.notes + ([f"not scored: {r.error}"] if r.error else []):
            print(f"{r.video}: {note}", file=sys.stderr)
    if all(r.error is not None for r in results):
        raise UserError("no video could be scored: see the reasons above")
    print(f"Self-reenactment, T={args.shots}, N={args.frames}, {sum(r.error is None for r in results)} videos")
    print(format_table(results, per_video=args.verbose))
    write_contact_sheet(sheet, results)
    print(f"contact sheet: {sheet}")
    if args.json:
        from core.landmarks.jsonio import write_json_atomic

        write_json_atomic(args.json, {
            "protocol": {"shots": args.shots, "frames": args.frames, "crop": SIZE},
            "summary": summarize(results),
            "videos": [{"video": r.video, "frames": r.frames, "error": r.error, "notes": r.notes, "scores": r.scores}
                       for r in results],
        })
    return 0
