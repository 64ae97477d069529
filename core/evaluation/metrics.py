"""The protocol's metrics on crops (RGB uint8) and on dlib's landmarks and descriptors (PSNR is
`core.metrics.psnr`, shared with the watermark's checks)."""
from __future__ import annotations

import numpy as np


def unit(image: np.ndarray) -> np.ndarray:
    return image.astype(np.float64) / 255.0


def l1(generated: np.ndarray, real: np.ndarray) -> float:
    return float(np.abs(unit(generated) - unit(real)).mean())


def ssim(generated: np.ndarray, real: np.ndarray) -> float:
    from skimage.metrics import structural_similarity

    return float(structural_similarity(unit(generated), unit(real), channel_axis=2, data_range=1.0))


def keypoint_distance(generated: np.ndarray, real: np.ndarray) -> float:
    """AKD: mean Euclidean distance between corresponding landmarks, in crop pixels."""
    return float(np.linalg.norm(generated.astype(np.float64) - real, axis=1).mean())


def identity_distance(generated: np.ndarray, real: np.ndarray) -> float:
    return float(np.linalg.norm(generated - real))
