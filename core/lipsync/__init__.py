"""Lip sync from audio: speech -> phonemes (PocketSphinx, offline) -> ARKit mouth expressions per frame.

- `audio`: WAV / MP3 / a video's audio track -> mono 16 kHz float (PyAV)
- `phonemes`: phone decoding, or forced alignment to a transcript (PocketSphinx's bundled English model)
- `visemes`: phoneme -> viseme -> ARKit weights, with coarticulation, loudness and intensity
- `loudness`: per-frame loudness envelopes
- `openness`: the learned jawOpen (a ridge regression from the sound and both recognisers' phones;
  its weights, `jaw_model.npz`, were fitted on the shared media's training identities)
- `curves`: the expression-curve file (docs/EXPRESSION_CURVES.md)
- `sync`: the whole chain, `lipsync(path, fps, transcript, intensity, progress)`
"""
from .audio import Audio, load_audio
from .curves import ExpressionCurves
from .phonemes import Phoneme, recognise
from .sync import lipsync
from .visemes import KEYS, expression_weights

__all__ = ["Audio", "ExpressionCurves", "KEYS", "Phoneme", "expression_weights", "lipsync", "load_audio",
           "recognise"]
