"""Phonemes with their times, recognised offline by PocketSphinx.

Without a transcript the recogniser decodes *phones* (`mode="phones"`: its English acoustic model with the
bundled phone language model, no words), so speech in other languages still gives usable mouth shapes; or,
for English, *words* (`mode="words"`: the bundled English language model and dictionary) whose phones are
then aligned to the audio, which recognises English phones more reliably at about three times the cost.
With a transcript it force-aligns the words to the audio and reads the phones of the alignment.

Phones are CMU ARPAbet without stress (`AA`, `P`, `SH`, ...); pauses and noises are `SIL`, and speech
the recogniser cannot tell apart (its "spoken noise") is `SPN`. The audio is
decoded in chunks of at most `CHUNK_SECONDS`, cut at the quietest moment near each chunk's end, so the work
reports progress and can be cancelled between chunks.
"""
from __future__ import annotations

import re
import warnings
from dataclasses import dataclass

import numpy as np

from ..errors import UserError
from ..progress import Progress, report
from .audio import RATE, Audio

SILENCE = "SIL"
SPOKEN_NOISE = "SPN"
CHUNK_SECONDS = 8.0
FRAME = 0.01                      # PocketSphinx's frame step (100 frames per second)
PHONES = frozenset(
    "AA AE AH AO AW AY B CH D DH EH ER EY F G HH IH IY JH K L M N NG OW OY P R S SH T TH UH UW V W Y Z ZH".split())


@dataclass(frozen=True)
class Phoneme:
    """One phone from `start` to `end` seconds; `name` is an ARPAbet phone or `SIL`."""

    name: str
    start: float
    end: float


def model_paths() -> dict[str, str]:
    """The bundled English model's files (acoustic model folder, phone LM, dictionary)."""
    from pocketsphinx import get_model_path

    return {"hmm": get_model_path("en-us/en-us"), "allphone": get_model_path("en-us/en-us-phone.lm.bin"),
            "dict": get_model_path("en-us/cmudict-en-us.dict")}


MODES = ("phones", "words")


def recognise(audio: Audio, transcript: str | None = None, progress: Progress | None = None,
              mode: str = "phones") -> list[Phoneme]:
    """Phonemes of `audio` (mono, `RATE` Hz), covering it from 0 to its end, silences included."""
    if audio.rate != RATE:
        raise ValueError(f"audio must be {RATE} Hz, got {audio.rate}")
    if mode not in MODES:
        raise UserError(f"unknown recogniser {mode!r}; use one of {', '.join(MODES)}")
    pcm = (np.clip(audio.samples, -1.0, 1.0) * 32767).astype("<i2")
    phones = None
    if transcript is not None and transcript.strip():
        phones = _align(pcm, transcript, audio.source, progress)
    if phones is None:
        phones = _decode_words(pcm, progress) if mode == "words" else _decode_phones(pcm, progress)
    return _tidy(phones, audio.duration)


# --- phone decoding --------------------------------------------------------------------------------------

def _decode_phones(pcm: np.ndarray, progress: Progress | None) -> list[Phoneme]:
    from pocketsphinx import Decoder

    paths = model_paths()
    decoder = Decoder(hmm=paths["hmm"], allphone=paths["allphone"], dict=paths["dict"], lm=None,
                      samprate=RATE, lw=2.0, pip=0.3, beam=1e-20, pbeam=1e-20, backtrace=False,
                      loglevel="FATAL")
    cuts = chunk_bounds(pcm)
    phones: list[Phoneme] = []
    for k, (a, b) in enumerate(cuts):
        report(progress, k, len(cuts), "phonemes: decoding")
        decoder.start_utt()
        decoder.process_raw(pcm[a:b].tobytes(), full_utt=True)
        decoder.end_utt()
        offset = a / RATE
        for seg in decoder.seg():
            phones.append(Phoneme(_phone_name(seg.word), offset + seg.start_frame * FRAME,
                                  offset + (seg.end_frame + 1) * FRAME))
    report(progress, len(cuts), len(cuts), "phonemes: decoding")
    return phones


def _decode_words(pcm: np.ndarray, progress: Progress | None) -> list[Phoneme]:
    """English words with the bundled language model, then their phones aligned, chunk by chunk."""
    from pocketsphinx import Decoder

    paths = model_paths()
    decoder = Decoder(hmm=paths["hmm"], dict=paths["dict"], samprate=RATE, loglevel="FATAL")
    cuts = chunk_bounds(pcm)
    phones: list[Phoneme] = []
    for k, (a, b) in enumerate(cuts):
        report(progress, k, len(cuts), "phonemes: recognising words")
        data = pcm[a:b].tobytes()
        decoder.activate_search()
        decoder.start_utt()
        decoder.process_raw(data, full_utt=True)
        decoder.end_utt()
        hyp = decoder.hyp()
        if hyp is None or not hyp.hypstr.strip():
            continue
        try:
            decoder.set_alignment()
            decoder.start_utt()
            decoder.process_raw(data, full_utt=True)
            decoder.end_utt()
            offset = a / RATE
            phones += [Phoneme(_phone_name(p.name), offset + p.start * FRAME, offset + (p.start + p.duration) * FRAME)
                       for word in decoder.get_alignment() for p in word]
        except RuntimeError:   # an unalignable hypothesis: keep the chunk's word timing as silence
            continue
    report(progress, len(cuts), len(cuts), "phonemes: recognising words")
    return phones


def chunk_bounds(pcm: np.ndarray, chunk_seconds: float = CHUNK_SECONDS, search_seconds: float = 2.0
                 ) -> list[tuple[int, int]]:
    """Sample ranges covering `pcm`, each at most `chunk_seconds`, cut at the quietest 10 ms frame of the
    last `search_seconds` before each limit."""
    n, step = len(pcm), int(FRAME * RATE)
    limit, search = int(chunk_seconds * RATE), int(search_seconds * RATE)
    bounds, start = [], 0
    while n - start > limit:
        lo, hi = start + limit - search, start + limit
        frames = pcm[lo:hi].astype(np.float64).reshape(-1, step)
        cut = lo + int(np.argmin((frames ** 2).mean(axis=1))) * step + step // 2
        bounds.append((start, cut))
        start = cut
    bounds.append((start, n))
    return bounds


# --- forced alignment to a transcript ----------------------------------------------------------------------

def transcript_words(text: str, lookup) -> tuple[list[str], list[str]]:
    """The transcript's words in the dictionary (lower case, punctuation dropped) and those it lacks."""
    words = re.findall(r"[a-z0-9']+", text.lower().replace("\u2019", "'"))
    known, unknown = [], []
    for word in words:
        word = word.strip("'")
        if not word:
            continue
        (known if lookup(word) is not None else unknown).append(word)
    return known, unknown


def _align(pcm: np.ndarray, transcript: str, source: str, progress: Progress | None) -> list[Phoneme] | None:
    from pocketsphinx import Decoder

    paths = model_paths()
    decoder = Decoder(hmm=paths["hmm"], dict=paths["dict"], samprate=RATE, loglevel="FATAL")
    words, unknown = transcript_words(transcript, decoder.lookup_word)
    if unknown:
        warnings.warn(f"the English dictionary lacks {len(unknown)} transcript word(s) ({', '.join(unknown[:5])}"
                      f"{', ...' if len(unknown) > 5 else ''}); they are left out of the alignment")
    if not words:
        raise UserError("the transcript has no words the English dictionary knows; leave out --transcript to "
                        "decode the phonemes from the sound alone")
    block = 2 * RATE
    steps = 2 * (-(-len(pcm) // block))
    done = 0

    def feed() -> None:
        nonlocal done
        decoder.start_utt()
        for i in range(0, len(pcm), block):
            decoder.process_raw(pcm[i:i + block].tobytes())
            done += 1
            report(progress, done, steps, "phonemes: aligning the transcript")
        decoder.end_utt()

    try:
        decoder.set_align_text(" ".join(words))
        feed()
        decoder.set_alignment()
        feed()
        alignment = decoder.get_alignment()
        phones = [Phoneme(_phone_name(p.name), p.start * FRAME, (p.start + p.duration) * FRAME)
                  for word in alignment for p in word]
    except RuntimeError as e:
        warnings.warn(f"the transcript could not be aligned to {source} ({e}); decoding phonemes from the "
                      f"sound alone")
        return None
    if not any(p.name != SILENCE for p in phones):
        warnings.warn(f"the transcript could not be aligned to {source}; decoding phonemes from the sound alone")
        return None
    return phones


# --- clean-up ----------------------------------------------------------------------------------------------

def _phone_name(name: str) -> str:
    name = re.sub(r"\d", "", name.upper())
    if name == "+SPN+":
        return SPOKEN_NOISE
    return name if name in PHONES else SILENCE


def _tidy(phones: list[Phoneme], duration: float) -> list[Phoneme]:
    """Sorted, non-overlapping, gaps filled with silence, neighbouring silences merged, clipped to the audio."""
    out: list[Phoneme] = []
    t = 0.0
    for p in sorted(phones, key=lambda p: p.start):
        start, end = max(p.start, t), min(p.end, duration)
        if end <= start + 1e-6:
            continue
        if start > t + 1e-6:
            out.append(Phoneme(SILENCE, t, start))
        out.append(Phoneme(p.name, start, end))
        t = end
    if duration > t + 1e-6:
        out.append(Phoneme(SILENCE, t, duration))
    merged: list[Phoneme] = []
    for p in out:
        if merged and p.name == SILENCE and merged[-1].name == SILENCE:
            merged[-1] = Phoneme(SILENCE, merged[-1].start, p.end)
        else:
            merged.append(p)
    return [Phoneme(p.name, round(p.start, 4), round(p.end, 4)) for p in merged]
