"""Image similarity shared by the evaluation and the watermark's checks."""
from __future__ import annotations

import numpy as np

from .errors import UserError

WHITE = {np.dtype(np.uint8): 255.0, np.dtype(np.uint16): 65535.0}


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    """Peak signal-to-noise ratio in dB of the colour channels of two images of the same dtype (uint8, uint16
    or float in [0, 1]). Identical images score 100 dB rather than infinity."""
    a, b = np.asarray(a), np.asarray(b)
    if a.dtype != b.dtype or a.shape[:2] != b.shape[:2]:
        raise UserError(f"images to compare must match: {a.shape} {a.dtype} against {b.shape} {b.dtype}")
    white = WHITE.get(a.dtype, 1.0)
    mse = float(np.mean((a[..., :3].astype(np.float64) - b[..., :3]) ** 2)) / white ** 2
    return float(10 * np.log10(1.0 / max(mse, 1e-10)))
