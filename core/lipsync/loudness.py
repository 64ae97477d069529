"""Loudness envelopes of speech at a frame rate: how much sound, and how much of it is voiced.

`log_loudness` is the plain measure (RMS in dB per frame); `voice_loudness` keeps the 250 Hz to 3 kHz band
where vowels carry their energy, so that hiss (s, sh, f) and rumble count less than an open mouth does.
"""
from __future__ import annotations

import numpy as np

FLOOR_DB = -100.0


def frame_windows(samples: np.ndarray, rate: int, fps: float, count: int, width: float = 1.0) -> np.ndarray:
    """(count, W) windows of `samples`, the i-th centred on time i / fps, `width` frames wide (zero padded)."""
    hop = rate / fps
    size = max(16, int(round(hop * width)))
    centres = np.round(np.arange(count) * hop).astype(np.int64)
    pad = size
    padded = np.pad(np.asarray(samples, dtype=np.float32), (pad, pad + size))
    starts = centres - size // 2 + pad
    index = starts[:, None] + np.arange(size)[None, :]
    return padded[index]


def log_loudness(samples: np.ndarray, rate: int, fps: float, count: int) -> np.ndarray:
    """RMS level in dB (count,) of one frame's worth of samples centred on each frame's time."""
    windows = frame_windows(samples, rate, fps, count)
    rms = np.sqrt(np.mean(windows.astype(np.float64) ** 2, axis=1))
    return np.maximum(20 * np.log10(rms + 1e-10), FLOOR_DB)


def voice_loudness(samples: np.ndarray, rate: int, fps: float, count: int, low: float = 250.0,
                   high: float = 3000.0) -> np.ndarray:
    """Level in dB (count,) of the `low`..`high` Hz band, in windows of two frames centred on each frame."""
    windows = frame_windows(samples, rate, fps, count, width=2.0).astype(np.float64)
    windows *= np.hanning(windows.shape[1])[None, :]
    spectrum = np.abs(np.fft.rfft(windows, axis=1)) ** 2
    freqs = np.fft.rfftfreq(windows.shape[1], 1.0 / rate)
    band = (freqs >= low) & (freqs <= high)
    power = spectrum[:, band].sum(axis=1) / windows.shape[1] ** 2
    return np.maximum(10 * np.log10(power + 1e-20), FLOOR_DB)


def normalised(level_db: np.ndarray, span_db: float = 30.0) -> np.ndarray:
    """Levels (dB) mapped to [0, 1]: 1 at the loud end of the speech (its 95th percentile), 0 at `span_db`
    below it and under; a file's own gain does not matter."""
    level_db = np.asarray(level_db, dtype=np.float64)
    if level_db.size == 0:
        return level_db
    top = np.percentile(level_db, 95)
    return np.clip((level_db - (top - span_db)) / span_db, 0.0, 1.0)
