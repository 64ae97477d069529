"""Audio to expression curves: load the sound, recognise its phonemes, turn them into ARKit weights."""
from __future__ import annotations

import os

from ..errors import UserError
from ..progress import Progress
from .audio import load_audio
from .curves import MAX_FPS, ExpressionCurves
from .loudness import log_loudness
from .phonemes import SILENCE, recognise
from .visemes import KEYS, expression_weights

SILENT_DB = -55.0       # a file whose loudest 10 ms stay below this (dBFS) holds no speech
MAX_INTENSITY = 2.0


def lipsync(path: str | os.PathLike, fps: float = 25.0, transcript: str | None = None, intensity: float = 1.0,
            progress: Progress | None = None, recogniser: str = "phones") -> ExpressionCurves:
    """Expression curves at `fps` for the speech in `path` (WAV, MP3 or a video's audio track).

    `recogniser`: "phones" (any language) or "words" (English words, then their phones); a transcript, where
    given, is aligned instead."""
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
    weights = expression_weights(phonemes, audio, fps, intensity, progress)
    settings = {"intensity": float(intensity), "transcript": bool(transcript and transcript.strip()),
                "recogniser": f"{_recogniser()} ({'alignment' if transcript and transcript.strip() else recogniser})"}
    return ExpressionCurves(float(fps), list(KEYS), weights, phonemes, audio.source, audio.duration, settings)


def _recogniser() -> str:
    try:
        from importlib.metadata import version

        return f"pocketsphinx {version('pocketsphinx')}"
    except Exception:  # noqa: BLE001  (metadata missing in an unusual install)
        return "pocketsphinx"

