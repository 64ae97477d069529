"""What an evaluation shows: the summary over videos, Markdown tables and the contact sheet."""
from __future__ import annotations

from pathlib import Path
from typing import Optional, Sequence

import numpy as np

from ..images import write_png
from .protocol import METRICS, VideoResult


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


def sheet_rows(video: str, reals: list[np.ndarray], generated: list[list[np.ndarray]]) -> np.ndarray:
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
    write_png(path, np.vstack([header] + sheets))
