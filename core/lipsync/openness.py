"""How far the jaw opens, learned: a ridge regression from the sound and the phones to the mouth's opening.

The phone targets of `visemes` say how open each vowel is, but a recogniser's phones are often wrong and how
wide a mouth opens is mostly the vowel's openness times how loud it is said. This model reads both from the
sound itself, on the 100 Hz grid of `visemes`:

- **spectrum**: `MEL_BANDS` log-mel band levels (25 ms windows) relative to the file's loud speech (its 95th
  percentile of frame level), floored `FLOOR_DB` below it, so a file's gain does not matter; an open vowel
  puts its energy in the first formant's band (300 to 1000 Hz), closed and fricative sounds do not;
- **loudness**: the voice band's normalised level (`loudness.voice_loudness`);
- **phones**: the coarticulated rule-based `jawOpen` and lip closing of `visemes` (so p, b, m still count)
  and a one-hot of the phone;

each smoothed and read at a few moments around the frame (`AUDIO_OFFSETS`, `PHONE_OFFSETS`: the mouth moves
ahead of its sound). Features are standardised, then multiplied by a speech gate (the voice band within
`GATE_SPAN_DB` of the loud speech, widened by `GATE_REACH` each way), and the gate is the model's only
intercept: digital silence gives exactly 0, a closed and relaxed mouth.

The weights (`jaw_model.npz`, a few KB, next to this module) are fitted by
`benchmarks/lipsync_accuracy.py --fit` on the clips of the training identities of the shared media (the
split of `core.training.split`); the target is each clip's mouth opening from its landmarks (inner-lip gap
over eye span), scaled per clip so that its 5th percentile is 0 and its 95th is 1. `docs/EXPRESSION_CURVES.md`
has the model note. The file holds plain arrays and a JSON config (no pickles).
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Sequence

import numpy as np

from .loudness import frame_windows, normalised, voice_loudness
from .phonemes import PHONES, SILENCE, SPOKEN_NOISE, Phoneme

MODEL_FILE = Path(__file__).with_name("jaw_model.npz")
MODEL_FORMAT = "talking-heads-jaw-model"
MODEL_VERSION = 1
GRID = 100                         # Hz, the grid of `visemes`
MEL_BANDS = 24
FFT = 512
WINDOW = 400                       # samples of 16 kHz: 25 ms
FLOOR_DB = 60.0
GATE_SPAN_DB = 40.0
GATE_REACH = 15                    # grid steps (150 ms) the gate is widened each way
SMOOTH = 5                         # grid steps of the box that smooths the audio features
AUDIO_OFFSETS = (-20, -12, -6, 0, 6, 12, 20)   # grid steps (10 ms) at which the audio features are read
PHONE_OFFSETS = (-10, 0, 10)
PHONE_SMOOTH = 9
INVENTORY: tuple[str, ...] = (SILENCE, SPOKEN_NOISE, *sorted(PHONES))


@dataclass(frozen=True)
class JawModel:
    """`pred = gate x (standardised features @ weights + bias)`; `config` names the feature settings."""

    mean: np.ndarray
    scale: np.ndarray
    weights: np.ndarray
    bias: float
    config: dict

    def predict(self, features: np.ndarray, gate: np.ndarray) -> np.ndarray:
        z = (features - self.mean) / self.scale
        return gate * (z @ self.weights + self.bias)

    def save(self, path: str | Path) -> None:
        from ..atomic import atomic_path

        with atomic_path(path) as tmp:
            with open(tmp, "xb") as f:
                np.savez_compressed(f, format=np.array(MODEL_FORMAT), version=np.array(MODEL_VERSION),
                                    config=np.array(json.dumps(self.config, sort_keys=True)),
                                    mean=self.mean.astype(np.float32), scale=self.scale.astype(np.float32),
                                    weights=self.weights.astype(np.float32), bias=np.array(self.bias, np.float32))

    @classmethod
    def load(cls, path: str | Path = MODEL_FILE) -> JawModel:
        with np.load(path, allow_pickle=False) as data:
            if str(data["format"]) != MODEL_FORMAT or int(data["version"]) > MODEL_VERSION:
                raise ValueError(f"{path} is not a jaw model of version {MODEL_VERSION} or older")
            return cls(data["mean"].astype(np.float64), data["scale"].astype(np.float64),
                       data["weights"].astype(np.float64), float(data["bias"]), json.loads(str(data["config"])))


@lru_cache(maxsize=4)
def shipped_model(path: str = str(MODEL_FILE)) -> JawModel | None:
    """The model shipped next to this module, or None where it is missing."""
    return JawModel.load(path) if Path(path).is_file() else None


def mel_filters(rate: int, bands: int = MEL_BANDS, fft: int = FFT, low: float = 80.0, high: float = 7600.0
                ) -> np.ndarray:
    """(bands, fft // 2 + 1) triangular mel filters."""
    mel = lambda f: 2595.0 * np.log10(1.0 + f / 700.0)          # noqa: E731
    hz = lambda m: 700.0 * (10.0 ** (m / 2595.0) - 1.0)         # noqa: E731
    edges = hz(np.linspace(mel(low), mel(min(high, rate / 2)), bands + 2))
    freqs = np.fft.rfftfreq(fft, 1.0 / rate)
    lower, centre, upper = edges[:-2, None], edges[1:-1, None], edges[2:, None]
    rise = (freqs[None, :] - lower) / (centre - lower)
    fall = (upper - freqs[None, :]) / (upper - centre)
    return np.clip(np.minimum(rise, fall), 0.0, None)


def _box(x: np.ndarray, width: int) -> np.ndarray:
    """Centred moving average along axis 0 (edges repeated)."""
    if width <= 1:
        return x
    pad = width // 2
    padded = np.pad(x, ((pad, width - 1 - pad),) + ((0, 0),) * (x.ndim - 1), mode="edge")
    c = np.cumsum(np.concatenate([np.zeros((1,) + x.shape[1:]), padded]), axis=0)
    return (c[width:] - c[:-width]) / width


def _shifted(x: np.ndarray, offsets: Sequence[int]) -> np.ndarray:
    """(N, len(offsets) x F): x read at n + offset for each offset (edges repeated)."""
    n = len(x)
    index = np.clip(np.arange(n)[:, None] + np.asarray(offsets)[None, :], 0, n - 1)
    return x[index].reshape(n, -1)


def audio_features(samples: np.ndarray, rate: int, count: int) -> tuple[np.ndarray, np.ndarray]:
    """(features (count, MEL_BANDS + 1), gate (count,)) on the grid: time k / GRID."""
    windows = frame_windows(samples, rate, GRID, count, width=WINDOW / (rate / GRID)).astype(np.float64)
    windows = windows[:, :WINDOW] * np.hanning(WINDOW)[None, :]
    power = np.abs(np.fft.rfft(windows, n=FFT, axis=1)) ** 2
    mel = power @ mel_filters(rate).T
    mel_db = 10.0 * np.log10(mel + 1e-12)
    total_db = 10.0 * np.log10(power.sum(axis=1) + 1e-12)
    top = np.percentile(total_db, 95) if count else 0.0
    mel_db = np.maximum(mel_db - top, -FLOOR_DB)
    freqs = np.fft.rfftfreq(FFT, 1.0 / rate)
    low = (freqs >= 200.0) & (freqs <= 1100.0)           # where the first formant moves with the jaw
    first_formant = (power[:, low] @ freqs[low]) / (power[:, low].sum(axis=1) + 1e-12) / 1000.0
    centroid = np.log((power @ freqs) / (power.sum(axis=1) + 1e-12) + 50.0)
    spectrum = np.fft.rfft(windows, n=2 * FFT, axis=1)
    autocorrelation = np.fft.irfft(np.abs(spectrum) ** 2, axis=1)[:, : FFT]
    lags = slice(int(rate / 400), int(rate / 70))       # a voice's pitch, 70 to 400 Hz
    voicing = autocorrelation[:, lags].max(axis=1) / (autocorrelation[:, 0] + 1e-12)
    voice_db = voice_loudness(samples, rate, GRID, count)
    voice = normalised(voice_db, 30.0)
    vtop = np.percentile(voice_db, 95) if count else 0.0
    active = np.clip((voice_db - (vtop - GATE_SPAN_DB)) / 10.0, 0.0, 1.0)
    index = np.clip(np.arange(count)[:, None] + np.arange(-GATE_REACH, GATE_REACH + 1)[None, :], 0, count - 1)
    gate = _box(active[index].max(axis=1), SMOOTH)
    return np.concatenate([mel_db, np.stack([voice, first_formant, centroid, voicing], axis=1)], axis=1), gate


def phone_features(phonemes: Sequence[Phoneme], count: int) -> np.ndarray:
    """(count, len(INVENTORY)) one-hot of the phone at each grid time."""
    out = np.zeros((count, len(INVENTORY)))
    column = {p: i for i, p in enumerate(INVENTORY)}
    for p in phonemes:
        lo, hi = max(0, int(round(p.start * GRID))), min(count, int(round(p.end * GRID)))
        if hi > lo:
            out[lo:hi, column.get(p.name, 0)] = 1.0
    return out


def features(samples: np.ndarray, rate: int, phonemes: Sequence[Phoneme], rule_jaw: np.ndarray,
             rule_close: np.ndarray, count: int) -> tuple[np.ndarray, np.ndarray]:
    """(features (count, F), gate (count,)) on the grid, as the model reads them."""
    audio, gate = audio_features(samples, rate, count)
    phones = phone_features(phonemes, count)
    jaw = rule_jaw[:count]
    rules = np.stack([jaw, rule_close[:count] * jaw, jaw * audio[:, MEL_BANDS]], axis=1)
    parts = [_shifted(_box(audio, SMOOTH), AUDIO_OFFSETS),
             _shifted(_box(np.concatenate([rules, phones], axis=1), PHONE_SMOOTH), PHONE_OFFSETS)]
    return np.concatenate(parts, axis=1), gate


def fit(x: np.ndarray, gate: np.ndarray, y: np.ndarray, sample_weight: np.ndarray, ridge: float,
        config: dict) -> JawModel:
    """Ridge regression of `y` on the gated, standardised features (weighted rows; the gate is the intercept)."""
    w = sample_weight / sample_weight.sum()
    mean = (w[:, None] * x).sum(axis=0)
    scale = np.sqrt((w[:, None] * (x - mean) ** 2).sum(axis=0))
    scale = np.where(scale > 1e-6, scale, 1.0)
    design = np.concatenate([gate[:, None] * (x - mean) / scale, gate[:, None]], axis=1)
    gram = design.T @ (w[:, None] * design)
    penalty = ridge * np.eye(design.shape[1])
    penalty[-1, -1] = 0.0
    solution = np.linalg.solve(gram + penalty, design.T @ (w * y))
    return JawModel(mean, scale, solution[:-1], float(solution[-1]), config)
