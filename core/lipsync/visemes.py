"""Phonemes to ARKit mouth expressions per frame: viseme targets, coarticulation, loudness and intensity.

**Targets.** Each ARPAbet phone has a viseme: a target weight for the ARKit keys in `KEYS` (`TARGETS`).
Diphthongs (`AY`, `OW`, ...) move from one target to another over their span.

**Coarticulation** follows Cohen and Massaro's dominance model: every phone pulls each key towards its target
with a *dominance* that is its strength inside the phone's span and falls off exponentially outside it,
earlier for anticipation (`ANTICIPATION`) than after (`CARRY_OVER`); a key's value at a moment is the
dominance-weighted mean of the targets. Strong dominance makes a shape reach its target whatever its
neighbours: bilabials (p, b, m) close the lips, f and v tuck the lower lip, rounded sounds purse the lips
ahead of time, while t, d, k, h take the shape of the vowels around them. Silence has the neutral target, so
pauses relax the mouth.

**Loudness.** How far the jaw opens follows the sound a little as well as the phone: `jawOpen` is the
phone's openness scaled by `LOUDNESS_FLOOR` + the rest x the voice band's loudness (`loudness.voice_loudness`),
so quiet stretches that the recogniser misread open the mouth less and loud syllables open it wider.

**The learned jaw.** Given `jaw_streams` (the phones of each recogniser `openness.STREAMS` names), `jawOpen`
comes from `openness`'s model instead: it reads the sound itself and both recognisers' phones and was fitted
on talking-head clips (benchmarks/RESULTS.md has how much better it follows real mouths). The other keys, and
the lip closing of p, b and m, still come from the phones' targets.

**Lead.** Mouths move ahead of the sound they make (the lips part and the jaw drops before the vowel is
heard); every shape comes `LEAD` seconds before its phone.

**mouthClose** follows ARKit: it closes the lips *against* `jawOpen` (the lips meet when mouthClose equals
jawOpen). Phones give a closing fraction, and mouthClose = fraction x jawOpen, so closed lips stay closed
whatever the loudness did to the jaw.

**Intensity** scales every weight (1 = as designed, 0.5 = half as articulated); weights are clipped to [0, 1].
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from ..progress import Progress, report
from .audio import Audio
from .loudness import normalised, voice_loudness
from .openness import JawModel, Stream, features, shipped_model
from .phonemes import SILENCE, SPOKEN_NOISE, Phoneme

# The ARKit blendshapes lip sync drives. Left and right are the subject's, as in ARKit and
# `core.face.expressions`.
KEYS: tuple[str, ...] = (
    "jawOpen", "mouthClose", "mouthFunnel", "mouthPucker",
    "mouthSmileLeft", "mouthSmileRight", "mouthStretchLeft", "mouthStretchRight",
    "mouthRollLower", "mouthRollUpper", "mouthShrugLower", "mouthShrugUpper",
    "mouthPressLeft", "mouthPressRight", "mouthLowerDownLeft", "mouthLowerDownRight",
    "mouthUpperUpLeft", "mouthUpperUpRight",
)
# Internal channels: a symmetric key is one channel; "close" is the lip-closing fraction of jawOpen.
CHANNELS = ("jaw", "close", "funnel", "pucker", "smile", "stretch", "rollLower", "rollUpper", "shrugLower",
            "shrugUpper", "press", "lowerDown", "upperUp")
_GROUP = {c: ("jaw" if c == "jaw" else "close" if c == "close" else "lips") for c in CHANNELS}
_KEY_CHANNEL = {
    "jawOpen": "jaw", "mouthClose": "close", "mouthFunnel": "funnel", "mouthPucker": "pucker",
    "mouthSmileLeft": "smile", "mouthSmileRight": "smile", "mouthStretchLeft": "stretch",
    "mouthStretchRight": "stretch", "mouthRollLower": "rollLower", "mouthRollUpper": "rollUpper",
    "mouthShrugLower": "shrugLower", "mouthShrugUpper": "shrugUpper", "mouthPressLeft": "press",
    "mouthPressRight": "press", "mouthLowerDownLeft": "lowerDown", "mouthLowerDownRight": "lowerDown",
    "mouthUpperUpLeft": "upperUp", "mouthUpperUpRight": "upperUp",
}

# Viseme targets per phone (channels left out are 0). Openness of vowels after the usual vowel-height
# charts: AA most open, IY and UW least.
_V = dict
TARGETS: dict[str, dict[str, float]] = {
    SILENCE: {},
    SPOKEN_NOISE: _V(jaw=0.40, lowerDown=0.10),    # speech the recogniser could not tell: a middle vowel
    # vowels
    "AA": _V(jaw=0.70, lowerDown=0.15),
    "AE": _V(jaw=0.55, stretch=0.25, smile=0.10, lowerDown=0.20, upperUp=0.10),
    "AH": _V(jaw=0.45, lowerDown=0.10),
    "AO": _V(jaw=0.55, funnel=0.35, pucker=0.10),
    "EH": _V(jaw=0.40, stretch=0.20, smile=0.10, lowerDown=0.15),
    "ER": _V(jaw=0.25, funnel=0.35, pucker=0.20),
    "IH": _V(jaw=0.25, smile=0.25, stretch=0.20),
    "IY": _V(jaw=0.15, smile=0.45, stretch=0.30),
    "UH": _V(jaw=0.25, funnel=0.35, pucker=0.20),
    "UW": _V(jaw=0.12, funnel=0.35, pucker=0.75),
    # consonants
    "P": _V(jaw=0.10, close=1.0, press=0.35, rollLower=0.10, rollUpper=0.10),
    "B": _V(jaw=0.10, close=1.0, press=0.30, rollLower=0.10, rollUpper=0.10),
    "M": _V(jaw=0.08, close=1.0, press=0.20),
    "F": _V(jaw=0.10, rollLower=0.60, upperUp=0.25, shrugUpper=0.10),
    "V": _V(jaw=0.10, rollLower=0.55, upperUp=0.20, shrugUpper=0.10),
    "TH": _V(jaw=0.15, upperUp=0.10),
    "DH": _V(jaw=0.15, upperUp=0.10),
    "S": _V(jaw=0.08, stretch=0.30, smile=0.10),
    "Z": _V(jaw=0.08, stretch=0.30, smile=0.10),
    "SH": _V(jaw=0.12, funnel=0.55, pucker=0.25, upperUp=0.15, shrugUpper=0.10),
    "ZH": _V(jaw=0.12, funnel=0.55, pucker=0.25, upperUp=0.15, shrugUpper=0.10),
    "CH": _V(jaw=0.12, funnel=0.50, pucker=0.25, upperUp=0.15),
    "JH": _V(jaw=0.12, funnel=0.50, pucker=0.25, upperUp=0.15),
    "T": _V(jaw=0.15, stretch=0.10),
    "D": _V(jaw=0.15, stretch=0.10),
    "N": _V(jaw=0.15, stretch=0.05),
    "NG": _V(jaw=0.20),
    "K": _V(jaw=0.20),
    "G": _V(jaw=0.20),
    "L": _V(jaw=0.25),
    "R": _V(jaw=0.18, funnel=0.35, pucker=0.30),
    "W": _V(jaw=0.10, pucker=0.85, funnel=0.35),
    "Y": _V(jaw=0.12, smile=0.35, stretch=0.20),
    "HH": _V(jaw=0.35),
}
# Diphthongs glide from the first target to the second.
DIPHTHONGS = {"AW": ("AA", "UW"), "AY": ("AA", "IY"), "EY": ("EH", "IY"), "OW": ("AO", "UW"), "OY": ("AO", "IY")}

# Dominance (strength of the pull) of each phone on the jaw, on the lips' shape and on their closing;
# unlisted phones are vowels.
VOWEL_DOMINANCE = (2.0, 1.0, 3.0)
_DOMINANCE = {
    SILENCE: (1.0, 1.0, 1.0),
    "P": (6.0, 10.0, 10.0), "B": (6.0, 10.0, 10.0), "M": (6.0, 10.0, 10.0),
    "F": (3.0, 6.0, 1.0), "V": (3.0, 6.0, 1.0),
    "W": (1.0, 4.0, 1.0), "UW": (2.0, 3.0, 3.0), "R": (0.7, 2.0, 1.0),
    "SH": (1.0, 3.0, 1.0), "ZH": (1.0, 3.0, 1.0), "CH": (1.0, 3.0, 1.0), "JH": (1.0, 3.0, 1.0),
    "HH": (0.2, 0.2, 0.2),
    **{p: (0.7, 0.3, 1.0) for p in ("T", "D", "N", "NG", "K", "G", "L", "TH", "DH", "S", "Z", "Y")},
}
SHORT_PAUSE = 0.15          # a silence shorter than this inside speech (a stop's closure) barely pulls
# Seconds (e-folding times) over which a phone's dominance rises before it and lingers after it, per group:
# lips round and the jaw drops ahead of the sound; the lips part and close fast.
ANTICIPATION = {"jaw": 0.07, "lips": 0.08, "close": 0.03}
CARRY_OVER = {"jaw": 0.05, "lips": 0.05, "close": 0.02}
REACH = 0.35                # seconds beyond a phone's span where its dominance is still computed

RATE = 100                  # the internal time grid (Hz), PocketSphinx's frame rate
LOUDNESS_FLOOR = 0.7        # jawOpen keeps this fraction of the phone's openness in quiet parts
LEAD = 0.08                 # seconds the mouth moves ahead of the sound it makes (global, all phones)
LOUDNESS_SPAN_DB = 30.0


def expression_weights(phonemes: Sequence[Phoneme], audio: Audio, fps: float, intensity: float = 1.0,
                       progress: Progress | None = None,
                       jaw_streams: dict[str, Sequence[Phoneme]] | None = None,
                       jaw_model: JawModel | None = None) -> np.ndarray:
    """Weights (frames, len(KEYS)) float32 in [0, 1] at `fps`; frame i is the moment i / fps of the audio,
    and there are ceil(duration x fps) frames.

    `jaw_streams`: each recogniser's phones (`openness.STREAMS`) for the learned jawOpen, with `jaw_model`
    (default: the shipped one); without them jawOpen is the phones' openness times loudness."""
    count = frame_count(audio.duration, fps)
    grid_count = int(np.ceil(audio.duration * RATE)) + 1
    channels = coarticulate(_led(phonemes), grid_count, progress)
    if jaw_streams is not None:
        channels["jaw"] = learned_jaw(audio, jaw_streams, grid_count, jaw_model or shipped_model(),
                                      {id(phonemes): channels})
    else:
        loud = np.interp(np.arange(grid_count) + LEAD * RATE, np.arange(grid_count),
                         loudness_envelope(audio, grid_count))
        channels["jaw"] = channels["jaw"] * (LOUDNESS_FLOOR + (1.0 - LOUDNESS_FLOOR) * loud)
    grid = np.stack([channels[c] for c in CHANNELS], axis=1)
    frames = resample(grid, RATE, fps, count)
    values = {c: frames[:, i] for i, c in enumerate(CHANNELS)}
    scale = max(0.0, float(intensity))
    jaw = np.clip(values["jaw"] * scale, 0.0, 1.0)
    out = np.zeros((count, len(KEYS)), dtype=np.float32)
    for k, key in enumerate(KEYS):
        channel = _KEY_CHANNEL[key]
        if channel == "close":
            out[:, k] = np.clip(values["close"], 0.0, 1.0) * jaw
        elif channel == "jaw":
            out[:, k] = jaw
        else:
            out[:, k] = np.clip(values[channel] * scale, 0.0, 1.0)
    return out


def _led(phonemes: Sequence[Phoneme]) -> list[Phoneme]:
    """The phonemes `LEAD` seconds earlier: the mouth moves ahead of its sound."""
    return [Phoneme(p.name, p.start - LEAD, p.end - LEAD) for p in phonemes]


def jaw_features(audio: Audio, jaw_streams: dict[str, Sequence[Phoneme]], grid_count: int,
                 known: dict[int, dict[str, np.ndarray]] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The learned jaw's (features, gate) on the internal grid; `known` maps id(phonemes) to the channels
    already coarticulated from them."""
    streams = {}
    for name, phones in jaw_streams.items():
        channels = (known or {}).get(id(phones)) or coarticulate(_led(phones), grid_count)
        streams[name] = Stream(phones, channels["jaw"], channels["close"])
    return features(audio.samples, audio.rate, streams, grid_count)


def learned_jaw(audio: Audio, jaw_streams: dict[str, Sequence[Phoneme]], grid_count: int, model: JawModel,
                known: dict[int, dict[str, np.ndarray]] | None = None) -> np.ndarray:
    """jawOpen (grid_count,) on the internal grid from the sound and each recogniser's phones."""
    x, gate = jaw_features(audio, jaw_streams, grid_count, known)
    return model.predict(x, gate)


def frame_count(duration: float, fps: float) -> int:
    return max(1, int(np.ceil(duration * fps - 1e-9)))


def loudness_envelope(audio: Audio, count: int) -> np.ndarray:
    """The voice band's loudness (count,) on the internal grid, in [0, 1]."""
    level = voice_loudness(audio.samples, audio.rate, RATE, count)
    return normalised(level, LOUDNESS_SPAN_DB)


def _segments(phonemes: Sequence[Phoneme]) -> list[tuple[str, float, float, tuple[float, float, float]]]:
    """(target phone, start, end, (jaw, lips, close) dominance), diphthongs split in two."""
    out = []
    names = [p.name for p in phonemes]
    for i, p in enumerate(phonemes):
        if p.name in DIPHTHONGS:
            first, second = DIPHTHONGS[p.name]
            middle = p.start + 0.5 * (p.end - p.start)
            out.append((first, p.start, middle, VOWEL_DOMINANCE))
            out.append((second, middle, p.end, VOWEL_DOMINANCE))
            continue
        dominance = _DOMINANCE.get(p.name, VOWEL_DOMINANCE)
        inside = 0 < i < len(names) - 1
        if p.name == SILENCE and inside and p.end - p.start < SHORT_PAUSE:
            dominance = (0.3, 0.3, 0.3)
        out.append((p.name if p.name in TARGETS else SILENCE, p.start, p.end, dominance))
    return out


def coarticulate(phonemes: Sequence[Phoneme], count: int, progress: Progress | None = None
                 ) -> dict[str, np.ndarray]:
    """Each channel's blended value (count,) on the internal grid (time k / RATE)."""
    t = np.arange(count) / RATE
    numerators = {c: np.zeros(count) for c in CHANNELS}
    groups = ("jaw", "lips", "close")
    denominators = {g: np.full(count, 1e-6) for g in groups}
    members = {g: [c for c in CHANNELS if _GROUP[c] == g] for g in groups}
    segments = _segments(phonemes)
    for n, (name, start, end, dominances) in enumerate(segments):
        lo = max(0, int(np.floor((start - REACH) * RATE)))
        hi = min(count, int(np.ceil((end + REACH) * RATE)) + 1)
        if hi <= lo:
            continue
        tt = t[lo:hi]
        before = np.clip(start - tt, 0.0, None)
        after = np.clip(tt - end, 0.0, None)
        target = TARGETS[name]
        for group, dominance in zip(groups, dominances):
            d = dominance * np.exp(-before / ANTICIPATION[group] - after / CARRY_OVER[group])
            denominators[group][lo:hi] += d
            for channel in members[group]:
                value = target.get(channel, 0.0)
                if value:
                    numerators[channel][lo:hi] += d * value
        if n % 500 == 0:
            report(progress, n, len(segments), "visemes: blending")
    report(progress, len(segments), max(1, len(segments)), "visemes: blending")
    return {c: numerators[c] / denominators[_GROUP[c]] for c in CHANNELS}


def resample(grid: np.ndarray, rate: float, fps: float, count: int) -> np.ndarray:
    """Box-average (N, C) values sampled at `rate` over each output frame's span (centred on i / fps)."""
    n = len(grid)
    cumulative = np.concatenate([np.zeros((1, grid.shape[1])), np.cumsum(grid, axis=0)])
    edges = (np.arange(count + 1) - 0.5) / fps * rate + 0.5   # in grid-sample units, cell edges
    edges = np.clip(edges, 0.0, n)
    idx = np.arange(n + 1, dtype=np.float64)
    integral = np.stack([np.interp(edges, idx, cumulative[:, c]) for c in range(grid.shape[1])], axis=1)
    width = np.maximum(np.diff(edges), 1e-9)[:, None]
    return (integral[1:] - integral[:-1]) / width
