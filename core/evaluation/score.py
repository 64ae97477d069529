"""The scoring: every method on every video under the protocol, while dlib judges in its worker processes."""
from __future__ import annotations

import hashlib
import os
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional, Sequence

import numpy as np

from ..errors import UserError
from ..images import write_png
from ..metrics import psnr
from ..progress import Progress, report
from .judge import dlib_models, executor, judge_crop
from .methods import DumpedCrops, Method
from .metrics import identity_distance, keypoint_distance, l1, ssim
from .protocol import SIZE, Unscorable, VideoCase, VideoResult, load_case
from .report import sheet_rows


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
    pool = executor(workers)
    try:
        finishing = []
        for done, path in enumerate(paths):
            report(progress, done, len(paths), f"evaluate: {path.name}")
            try:
                case = load_case(path, shots, frames)
            except Unscorable as e:
                finishing.append(lambda r=VideoResult(path.name, error=str(e)): r)
                continue
            finishing.append(_score_case(path.name, case, methods, pool, dump, contact_sheet))
        report(progress, len(paths), len(paths), "evaluate: waiting for dlib")
        return [finish() for finish in finishing]
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _score_case(video, case: VideoCase, methods, pool, dump, contact_sheet) -> Callable[[], VideoResult]:
    """Run the methods on one video and submit their crops to dlib; returns what waits for dlib and scores."""
    judged: dict[bytes, Future] = {}  # by content: the copy crop and the real crops are judged once

    def judge(crop: np.ndarray) -> Future:
        key = hashlib.sha1(crop.tobytes()).digest()
        if key not in judged:
            judged[key] = pool.submit(judge_crop, crop)
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
            write_png(dump / case.stem / f"gen_{k:04d}.png", generated)
            write_png(dump / case.stem / f"real_{k:04d}.png", real)
    if contact_sheet:
        result.sheet = sheet_rows(video, case.reals, [c for name, c in crops.items() if name != "copy"])

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
