"""Speech-like audio made in the tests (core.lipsync refuses silence): vowels synthesised in numpy, as
tests/test_lipsync.py makes them."""
import wave
from pathlib import Path

import numpy as np

RATE = 16000


def write_wav(path: Path, samples: np.ndarray) -> Path:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes((np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes())
    return path


def vowel(seconds: float, formants=(750, 1200, 2500), pitch: float = 120.0, seed: int = 0) -> np.ndarray:
    """An 'ah'-like vowel: a glottal pulse train with a little jitter through three formant resonators."""
    from scipy.signal import lfilter

    rng = np.random.default_rng(seed)
    n = int(seconds * RATE)
    source = np.zeros(n)
    t = 0.0
    while t < n:
        source[int(t)] = 1.0
        t += RATE / (pitch * (1 + 0.02 * rng.standard_normal()))
    signal = source
    for f, bandwidth in zip(formants, (90, 110, 170)):
        r = np.exp(-np.pi * bandwidth / RATE)
        signal = lfilter([1 - r], [1, -2 * r * np.cos(2 * np.pi * f / RATE), r * r], signal)
    signal *= np.hanning(n) ** 0.3
    return (0.5 * signal / np.abs(signal).max()).astype(np.float32)


def vowels() -> np.ndarray:
    """Silence, 'ah', silence, 'ah', silence (1, 0.6, 1, 0.6, 1 s)."""
    quiet = np.zeros(RATE, np.float32)
    return np.concatenate([quiet, vowel(0.6), quiet, vowel(0.6, seed=1), quiet])
