"""Audio to expression curves: load the sound, recognise its phonemes, turn them into ARKit weights (jawOpen
learned from the sound and both recognisers' phones unless `jaw="rules"`)."""
from __future__ import annotations

import os

from ..errors import UserError
from ..progress import Progress
from .audio import Audio, load_audio
from .curves import MAX_FPS, ExpressionCurves
from .loudness import log_loudness
from .openness import STREAMS
from .phonemes import SILENCE, Phoneme, recognise
from .visemes import KEYS, expression_weights

SILENT_DB = -55.0       # a file whose loudest 10 ms stay below this (dBFS) holds no speech
MAX_INTENSITY = 2.0
JAWS = ("learned", "rules")


def lipsync(path: str | os.PathLike, fps: float = 25.0, transcript: str | None = None, intensity: float = 1.0,
            progress: Progress | None = None, recogniser: str = "phones", jaw: str = "learned") -> ExpressionCurves:
    """Expression curves at `fps` for the speech in `path` (WAV, MP3 or a video's audio track).

    `recogniser`: "phones" (any language) or "words" (English words, then their phones); a transcript, where
    given, is aligned instead. Their phones make the file's phonemes and the mouth's shapes. `jaw`: "learned"
    (jawOpen from the sound and both recognisers' phones, `openness`; the other recogniser runs as well) or
    "rules" (the phones' openness times loudness)."""
    if jaw not in JAWS:
        raise UserError(f"unknown jaw {jaw!r}; use one of {', '.join(JAWS)}")
    if not (isinstance(fps, (int, float)) and 0 < fps <= MAX_FPS):
        raise UserError(f"--fps must be above 0 and at most {MAX_FPS:g}, got {fps}")
    if not 0 <= intensity <= MAX_INTENSITY:
        raise UserError(f"--intensity must be between 0 and {MAX_INTENSITY:g}, got {intensity}")
    audio = load_audio(path, progress)
    level = log_loudness(audio.samples, audio.rate, 100, max(1, int(audio.duration * 100)))
    if level.max() < SILENT_DB:
        raise UserError(f"no speech in {audio.source}: it is silent; use a recording with speech in it")
    phonemes = recognise(audio, transcript, progress, recogniser)
    if not any(p.name != SILENCE for p in phonemes):
        raise UserError(f"no speech found in {audio.source}; use a recording with speech in it")
    aligned = bool(transcript and transcript.strip())
    streams = jaw_streams(audio, phonemes, "words" if aligned else recogniser, progress) if jaw == "learned" else None
    weights = expression_weights(phonemes, audio, fps, intensity, progress, jaw_streams=streams)
    settings = {"intensity": float(intensity), "transcript": aligned,
                "recogniser": f"{_recogniser()} ({'alignment' if aligned else recogniser})", "jaw": jaw}
    return ExpressionCurves(float(fps), list(KEYS), weights, phonemes, audio.source, audio.duration, settings)


def jaw_streams(audio: Audio, phonemes: list[Phoneme], own: str, progress: Progress | None = None
                ) -> dict[str, list[Phoneme]]:
    """The phones of each recogniser the learned jaw reads (`openness.STREAMS`): `phonemes` stand for the
    recogniser `own` (a transcript's alignment for the word recogniser), the others are run on `audio`."""
    streams = {own: phonemes}
    for mode in STREAMS:
        if mode not in streams:
            streams[mode] = recognise(audio, None, progress, mode)
    return streams


def _recogniser() -> str:
    try:
        from importlib.metadata import version

        return f"pocketsphinx {version('pocketsphinx')}"
    except Exception:  # noqa: BLE001  (metadata missing in an unusual install)
        return "pocketsphinx"

