"""The similarity (rotation, uniform scale, translation; no reflection) that best maps one set of 2D points
onto another: how the generic 3D face is fitted to a face, and how retargeting splits a head's motion from its
expression."""
from __future__ import annotations

import numpy as np


def similarity(source: np.ndarray, target: np.ndarray) -> np.ndarray:
    """The 3x3 similarity (rotation, uniform scale, translation; no reflection) that maps `source` points
    (K, 2) onto `target` (K, 2) in the least-squares sense (Umeyama 1991)."""
    src, dst = np.asarray(source, dtype=np.float64), np.asarray(target, dtype=np.float64)
    mu_s, mu_d = src.mean(0), dst.mean(0)
    s, d = src - mu_s, dst - mu_d
    u, sig, vt = np.linalg.svd(d.T @ s / len(src))
    sign = np.diag([1.0, np.sign(np.linalg.det(u @ vt)) or 1.0])
    rotation = u @ sign @ vt
    scale = np.trace(np.diag(sig) @ sign) / max((s ** 2).sum() / len(src), 1e-12)
    m = np.eye(3)
    m[:2, :2] = scale * rotation
    m[:2, 2] = mu_d - scale * rotation @ mu_s
    return m
