"""The sRGB transfer curves (IEC 61966-2-1): between sRGB-encoded values and linear light, floats in [0, 1].

Frames are written as sRGB, EXR holds linear light, and Blender's colour sockets take linear values while its
byte images hold sRGB: every conversion between them goes through these two."""
from __future__ import annotations

import numpy as np


def srgb_to_linear(x: np.ndarray) -> np.ndarray:
    """The sRGB decoding curve, float in [0, 1] -> linear light."""
    x = np.asarray(x, np.float32)
    return np.where(x <= 0.04045, x / 12.92, ((x + 0.055) / 1.055) ** 2.4).astype(np.float32)


def linear_to_srgb(x: np.ndarray) -> np.ndarray:
    """Linear light -> sRGB-encoded, clipped to [0, 1]."""
    x = np.clip(np.asarray(x, np.float32), 0.0, 1.0)
    return np.where(x <= 0.0031308, x * 12.92, 1.055 * x ** (1 / 2.4) - 0.055).astype(np.float32)
