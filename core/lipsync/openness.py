"""How far the jaw opens, learned: a ridge regression from the sound and two recognisers' phones.

The phone targets of `visemes` say how open each vowel is, but a recogniser's phones are often wrong, and how
wide a mouth opens depends on the sound as much as on the phone. This model reads, on the 100 Hz grid of
`visemes` (`GRID`):

- **the sound**: `MEL_BANDS` log-mel band levels (25 ms windows) relative to the file's loud speech, floored
  `FLOOR_DB` below it; the voice band's normalised loudness (`loudness.voice_loudness`); the centroid of
  200 to 1100 Hz (the first formant rises as the jaw drops); the spectral centroid; voicing (the
  autocorrelation's peak at a voice's pitch). Each is standardised over the file's speech (its mean and
  spread where the speech gate is open), so a microphone's or a speaker's colouring matters less;
- **the phones** of each recogniser in `STREAMS` (phone decoding, and English words or a transcript's
  alignment): the coarticulated rule-based jaw opening and lip closing of `visemes`, the jaw opening times
  loudness, and a one-hot of the phone;

each smoothed and read at a few moments around the frame (`AUDIO_OFFSETS`, `PHONE_OFFSETS`: the mouth moves
ahead of its sound, and a syllable's shape spans its neighbours). The prediction is
`output_scale x max(0, gate x (standardised features . weights + bias))`: the speech gate (the voice band
within `GATE_SPAN_DB` of the loud speech, widened by `GATE_REACH` each way) multiplies everything and the
gate is the only intercept, so silence gives exactly 0, a closed and relaxed mouth.

`fit` learns the weights from clips whose mouth opening is known (inner-lip gap over eye span, from
landmarks): a ridge regression of each clip's z-scored opening on its features, both centred per clip (what
is learned is the movement within a clip, which is what a correlation scores; a person's resting opening and
a video's scale do not count), each clip weighted by 1 / sqrt(its frames). Web videos are often a few frames
out of sync, so a first fit measures each clip's lag (within `MAX_SHIFT` frames) and a second fit uses the
openings moved by it (less the median lag). `output_scale` puts the prediction on the rule-based jawOpen's
scale (the same 95th percentile during speech). `benchmarks/lipsync_accuracy.py --fit` fits the shipped
weights (`jaw_model.npz`, next to this module: plain arrays and a JSON config, no pickles) on the clips of
the training identities of the shared media; `docs/EXPRESSION_CURVES.md` has the model note.
"""
from __future__ import annotations

import io
import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Mapping, NamedTuple, Sequence

import numpy as np

from ..atomic import write_atomic
from ..errors import UserError, one_line
from .loudness import frame_windows, normalised, voice_loudness
from .phonemes import PHONES, SILENCE, SPOKEN_NOISE, Phoneme

MODEL_FILE = Path(__file__).with_name("jaw_model.npz")
MODEL_FORMAT = "talking-heads-jaw-model"
MODEL_VERSION = 1
STREAMS = ("phones", "words")      # the recognisers whose phones the model reads, in this order
GRID = 100                         # Hz, the grid of `visemes`
MEL_BANDS = 24
FFT = 512
WINDOW = 400                       # samples at 16 kHz: 25 ms
FLOOR_DB = 60.0
GATE_SPAN_DB = 40.0
GATE_REACH = 15                    # grid steps (150 ms) the speech gate is widened each way
SMOOTH = 5                         # grid steps of the box that smooths the sound's features
AUDIO_OFFSETS = (-16, -8, 0, 8, 16)            # grid steps (10 ms) at which the sound's features are read
PHONE_SMOOTH = 9
PHONE_OFFSETS = (-10, 0, 10)
INVENTORY: tuple[str, ...] = (SILENCE, SPOKEN_NOISE, *sorted(PHONES))
RIDGE = 2.0
MAX_SHIFT = 6                      # video frames a training clip's sound may be out of sync
CONFIG = {"streams": list(STREAMS), "grid": GRID, "mel_bands": MEL_BANDS, "fft": FFT, "window": WINDOW,
          "floor_db": FLOOR_DB, "gate_span_db": GATE_SPAN_DB, "gate_reach": GATE_REACH, "smooth": SMOOTH,
          "audio_offsets": list(AUDIO_OFFSETS), "phone_smooth": PHONE_SMOOTH,
          "phone_offsets": list(PHONE_OFFSETS), "inventory": list(INVENTORY)}


@dataclass(frozen=True)
class JawModel:
    """`predict`: `output_scale x max(0, gate x ((features - mean) / scale . weights + bias))`; `config` is
    the feature settings it was fitted with (`CONFIG`), `note` says how, `fitted_on` names the clips."""

    mean: np.ndarray
    scale: np.ndarray
    weights: np.ndarray
    bias: float
    output_scale: float = 1.0
    config: dict | None = None
    note: str = ""
    fitted_on: tuple[str, ...] = ()

    def linear(self, features: np.ndarray, gate: np.ndarray) -> np.ndarray:
        return gate * (((features - self.mean) / self.scale) @ self.weights + self.bias)

    def predict(self, features: np.ndarray, gate: np.ndarray) -> np.ndarray:
        return self.output_scale * np.maximum(self.linear(features, gate), 0.0)

    def save(self, path: str | Path = MODEL_FILE) -> None:
        buffer = io.BytesIO()
        np.savez_compressed(buffer, format=np.array(MODEL_FORMAT), version=np.array(MODEL_VERSION),
                            config=np.array(json.dumps(self.config or CONFIG, sort_keys=True)),
                            note=np.array(self.note), fitted_on=np.array(list(self.fitted_on), dtype=str),
                            mean=self.mean.astype(np.float32), scale=self.scale.astype(np.float32),
                            weights=self.weights.astype(np.float32), bias=np.array(self.bias, np.float32),
                            output_scale=np.array(self.output_scale, np.float32))
        write_atomic(path, buffer.getvalue())

    @classmethod
    def load(cls, path: str | Path = MODEL_FILE) -> JawModel:
        """The model in `path`; ValueError where it is not one, or was fitted with other feature settings."""
        with np.load(path, allow_pickle=False) as data:
            if "format" not in data or str(data["format"]) != MODEL_FORMAT or int(data["version"]) > MODEL_VERSION:
                raise ValueError(f"{path} is not a jaw model of version {MODEL_VERSION} or older")
            config = json.loads(str(data["config"]))
            if config != json.loads(json.dumps(CONFIG)):
                raise ValueError(f"{path} was fitted with other feature settings than this code computes; fit it "
                                 f"again (benchmarks/lipsync_accuracy.py --fit)")
            model = cls(data["mean"].astype(np.float64), data["scale"].astype(np.float64),
                        data["weights"].astype(np.float64), float(data["bias"]), float(data["output_scale"]),
                        config, str(data["note"]), tuple(str(n) for n in data["fitted_on"]))
        if model.weights.shape != model.mean.shape or model.mean.shape != model.scale.shape:
            raise ValueError(f"{path}: its arrays do not match")
        return model


@lru_cache(maxsize=1)
def shipped_model() -> JawModel:
    """The model shipped next to this module (`MODEL_FILE`); a UserError where it is missing or damaged."""
    try:
        return JawModel.load(MODEL_FILE)
    except (OSError, ValueError, KeyError) as e:
        raise UserError(f"the learned jaw model cannot be read ({one_line(e)}); reinstall Neural Talking Heads, "
                        f"or use the rule-based jaw (--jaw rules)") from None


# --- features ------------------------------------------------------------------------------------------------

def mel_filters(rate: int, bands: int = MEL_BANDS, fft: int = FFT, low: float = 80.0, high: float = 7600.0
                ) -> np.ndarray:
    """(bands, fft // 2 + 1) triangular mel filters."""
    def mel(f):
        return 2595.0 * np.log10(1.0 + f / 700.0)

    edges = 700.0 * (10.0 ** (np.linspace(mel(low), mel(min(high, rate / 2)), bands + 2) / 2595.0) - 1.0)
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


def audio_features(samples: np.ndarray, rate: int, count: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(features (count, MEL_BANDS + 4), speech gate (count,), loudness (count,) in [0, 1]) on the grid (time
    k / GRID), the features standardised over the file's speech."""
    windows = frame_windows(samples, rate, GRID, count, width=WINDOW / (rate / GRID)).astype(np.float64)
    windows = windows[:, :WINDOW] * np.hanning(WINDOW)[None, :]
    spectrum = np.fft.rfft(windows, n=2 * FFT, axis=1)
    power = np.abs(spectrum[:, ::2]) ** 2                  # the FFT-size spectrum (even bins of the doubled)
    freqs = np.fft.rfftfreq(FFT, 1.0 / rate)
    mel_db = 10.0 * np.log10(power @ mel_filters(rate).T + 1e-12)
    top = np.percentile(10.0 * np.log10(power.sum(axis=1) + 1e-12), 95)
    mel_db = np.maximum(mel_db - top, -FLOOR_DB)
    low = (freqs >= 200.0) & (freqs <= 1100.0)
    first_formant = (power[:, low] @ freqs[low]) / (power[:, low].sum(axis=1) + 1e-12) / 1000.0
    centroid = np.log((power @ freqs) / (power.sum(axis=1) + 1e-12) + 50.0)
    autocorrelation = np.fft.irfft(np.abs(spectrum) ** 2, axis=1)[:, :FFT]
    pitch = slice(int(rate / 400), int(rate / 70))         # a voice's pitch period, 70 to 400 Hz
    voicing = autocorrelation[:, pitch].max(axis=1) / (autocorrelation[:, 0] + 1e-12)
    voice_db = voice_loudness(samples, rate, GRID, count)
    active = np.clip((voice_db - (np.percentile(voice_db, 95) - GATE_SPAN_DB)) / 10.0, 0.0, 1.0)
    gate = _box(_shifted(active[:, None], range(-GATE_REACH, GATE_REACH + 1)).max(axis=1), SMOOTH)
    loud = normalised(voice_db)
    features = np.concatenate([mel_db, np.stack([loud, first_formant, centroid, voicing], axis=1)], axis=1)
    weight = gate / max(gate.sum(), 1e-9)
    mean = weight @ features
    spread = np.sqrt(weight @ (features - mean) ** 2)
    return (features - mean) / (spread + 1e-3), gate, loud


def phone_features(phonemes: Sequence[Phoneme], count: int) -> np.ndarray:
    """(count, len(INVENTORY)) one-hot of the phone at each grid time."""
    out = np.zeros((count, len(INVENTORY)))
    column = {p: i for i, p in enumerate(INVENTORY)}
    for p in phonemes:
        lo, hi = max(0, int(round(p.start * GRID))), min(count, int(round(p.end * GRID)))
        if hi > lo:
            out[lo:hi, column.get(p.name, 0)] = 1.0
    return out


class Stream(NamedTuple):
    """One recogniser's phones and the rule-based channels `visemes` makes of them (on the grid)."""

    phonemes: Sequence[Phoneme]
    jaw: np.ndarray
    close: np.ndarray


def features(samples: np.ndarray, rate: int, streams: Mapping[str, Stream], count: int
             ) -> tuple[np.ndarray, np.ndarray]:
    """(features (count, F), speech gate (count,)) on the grid, as the model reads them."""
    sound, gate, loud = audio_features(samples, rate, count)
    parts = [_shifted(_box(sound, SMOOTH), AUDIO_OFFSETS)]
    for name in STREAMS:
        stream = streams[name]
        jaw = stream.jaw[:count]
        rules = np.stack([jaw, stream.close[:count] * jaw, jaw * loud], axis=1)
        phones = np.concatenate([rules, phone_features(stream.phonemes, count)], axis=1)
        parts.append(_shifted(_box(phones, PHONE_SMOOTH), PHONE_OFFSETS))
    return np.concatenate(parts, axis=1), gate


# --- fitting ---------------------------------------------------------------------------------------------------

class Clip(NamedTuple):
    """A training clip at its video frames: `features` (N, F) and `gate` (N,) resampled from the grid, the
    mouth's `opening` (N,) and which frames are `valid`; `reference` (N,) the rule-based jawOpen."""

    features: np.ndarray
    gate: np.ndarray
    opening: np.ndarray
    valid: np.ndarray
    reference: np.ndarray


def best_lag(x: np.ndarray, y: np.ndarray, valid: np.ndarray, max_lag: int) -> tuple[float, int]:
    """(Pearson r, lag) of x[n] against y[n + lag] at the lag within +-max_lag that correlates best (valid
    frames only; (-1, 0) where no lag has 10 valid frames)."""
    best = (-1.0, 0)
    n = len(x)
    for lag in range(-max_lag, max_lag + 1):
        i = np.arange(max(0, -lag), min(n, n - lag))
        keep = valid[i] & valid[i + lag]
        a, b = x[i][keep], y[i + lag][keep]
        if len(a) < 10 or a.std() == 0 or b.std() == 0:
            continue
        r = float(np.corrcoef(a, b)[0, 1])
        if r > best[0]:
            best = (r, lag)
    return best


def _moved(clip: Clip, lag: int) -> Clip:
    """The clip with its opening read `lag` frames later (frames that fall outside are invalid)."""
    n = len(clip.opening)
    index = np.arange(n) + lag
    inside = (index >= 0) & (index < n)
    index = np.clip(index, 0, n - 1)
    return clip._replace(opening=clip.opening[index], valid=clip.valid & clip.valid[index] & inside)


def _ridge(clips: Sequence[Clip], ridge: float) -> JawModel:
    rows = np.concatenate([c.features[c.valid] for c in clips])
    mean, scale = rows.mean(axis=0), rows.std(axis=0) + 1e-6
    size = rows.shape[1] + 1
    gram, rhs, total = np.zeros((size, size)), np.zeros(size), 0.0
    for c in clips:
        g = c.gate[c.valid]
        design = np.concatenate([g[:, None] * (c.features[c.valid] - mean) / scale, g[:, None]], axis=1)
        y = c.opening[c.valid]
        design -= design.mean(axis=0)
        y = (y - y.mean()) / (y.std() + 1e-9)
        weight = 1.0 / np.sqrt(len(y))
        gram += weight * design.T @ design
        rhs += weight * design.T @ y
        total += weight * len(y)
    penalty = ridge * np.eye(size)
    penalty[-1, -1] = 1e-9            # the gate, the intercept, is barely shrunk (it is lost where the gate is 1)
    solution = np.linalg.solve(gram / total + penalty, rhs / total)
    return JawModel(mean, scale, solution[:-1], float(solution[-1]), 1.0, dict(CONFIG))


def fit(clips: Sequence[Clip], ridge: float = RIDGE, max_shift: int = MAX_SHIFT, note: str = "",
        names: Sequence[str] = ()) -> JawModel:
    """The model fitted on `clips` (named `names`; see the module's description); clips with fewer than 10
    valid frames are left out."""
    names = list(names) or [str(i) for i in range(len(clips))]
    usable = [i for i, c in enumerate(clips) if c.valid.sum() >= 10 and c.opening[c.valid].std() > 0]
    clips, names = [clips[i] for i in usable], [names[i] for i in usable]
    if not clips:
        raise ValueError("no clip to fit the jaw model on")
    model = _ridge(clips, ridge)
    if max_shift:
        lags = [best_lag(model.linear(c.features, c.gate), c.opening, c.valid, max_shift)[1] for c in clips]
        middle = int(np.median(lags))
        model = _ridge([_moved(c, lag - middle) for c, lag in zip(clips, lags)], ridge)
    speech = [c.valid & (c.gate > 0.5) for c in clips]
    predicted = np.concatenate([np.maximum(model.linear(c.features, c.gate), 0)[s] for c, s in zip(clips, speech)])
    reference = np.concatenate([c.reference[s] for c, s in zip(clips, speech)])
    output_scale = float(np.percentile(reference, 95) / max(np.percentile(predicted, 95), 1e-6))
    return JawModel(model.mean, model.scale, model.weights, model.bias, output_scale, dict(CONFIG), note,
                    tuple(names))
