"""A whole file as one utterance (``voicecoach recognize``): its level, the quiet put
after it, and its pieces of speech, each decided as a stream decides an utterance.

The recognizer (:meth:`.PocketSphinxRecognizer.recognize_utterance`) brings the file
into the level the recognizer was tuned for (:func:`at_file_level`), puts quiet after a
quiet file (:data:`FILE_TAIL`), cuts it where a stream would be cut
(:func:`speech_spans`) and takes the command its pieces agree on (:func:`one_command`).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import NamedTuple

import numpy as np

from ..audio.chunk import ASR_RATE, AudioChunk
from .base import Recognition
from .endpoint import Mark, Segmenter
from .verify import block_power

LEVELS = (-34.0, -15.0)
"""dBFS (RMS): the range a whole file's level (:func:`file_level`, its loudest 30 ms
but for clicks) is brought into before it is decoded (:func:`at_file_level`): that of
the evaluation set's commands (10th to 90th percentile; median -25). Much of what
decides is bound to the level (the noise floor's fill at -66 dBFS, the voice
detector, the classifier), and a recording's level depends on the microphone and its
gain. Measured when it was added (the figures with everything since:
``scripts/bench_recordings.py``, in ``docs/evaluation-set.md``):
- Clean commands (dev split, whole files) at their own level / 10 / 20 / 35 dB
  quieter / pushed into clipping, heard: 94 / 89 / 84 / 20 / 88 % as they were,
  95 / 92 / 93 / 90 / 95 % brought into the range. At 10 dB SNR and 20 dB quieter:
  52 -> 61 % (62 % at their own level).
- Flite commands (2 talkers x 7) 40 / 45 dB under their usual level, over hiss at
  -80 dBFS: 4 / 0 -> 11 / 9 of 14 heard (one of them, rms's "next", taken for "yes").
- On the set itself nothing changes (whole files, recall / command taken for another
  / false accepts): dev 66.3 / 2.6 / 6.7 -> 66.4 / 2.6 / 6.7 %, test 64.1 / 3.1 /
  11.3 -> 64.1 / 3.0 / 11.3 %. One test file of faint distant talk (-58 dBFS), which
  was dropped, is raised and taken for "hold on" (as it is with 6 dB more).
- Putting every file at one level (-25 dBFS) did as well outside the range but moved
  decisions within it (38 single words and noises of the test split changed their
  verdict): test 64.9 / 3.3 / 12.6 %.

Streams are not scaled: the live microphone's level is set by its gain, and
``voicecoach check`` measures it."""

FILE_TAIL = 0.5
"""Seconds of quiet put after a whole file whose background is quiet
(:func:`is_quiet_between`) before it is decoded (the noise floor fills it), so that
the voice detector ends speech that runs to the file's end there, as it ends a
stream's, and the decoder and the classifier hear the words' end.
- Clean commands (dev split) cut at their last sound: 89.8 -> 93.9 % heard; placed in
  1 s clips: 91.8 -> 93.9 %; espeak-ng commands cut so (3 voices x 10): 24 -> 30 of
  30 (a final "t" or "p" was lost).
- On the set (whole files): dev 66.4 / 2.6 / 6.7 % either way; test 64.1 / 3.0 / 11.3
  -> 64.0 / 3.0 / 11.2 %, clean commands 83.5 -> 81.7 % (the set's files end 0.35 s
  after the words, so their verdicts move: 4 of 109 changed in the classifier's
  second chance, 2 heard fewer).
- Put after every file, noisy ones too, the sudden quiet after the noise cost: dev
  66.4 -> 63.0 %, test 64.1 -> 61.4 % recall."""

QUIET_BETWEEN = 30.0
"""dB under a file's level (:func:`file_level`) its quietest 100 ms must be for its
background to count as quiet (:func:`is_quiet_between`)."""

MAX_GAIN = 20.0
"""Most dB a whole file is raised by (:func:`at_file_level`), so that a faint room is
not raised to the level of speech."""

_LEVEL_BLOCK = 480  # 30 ms
_LEVEL_RANK = 3  # the third loudest block: a click or a knock fills one or two
_QUIET_BLOCK = 1600  # 100 ms: the quietest stretch between the words


def file_level(chunk: AudioChunk) -> float | None:
    """dBFS (RMS) of a file's third loudest 30 ms (a click, far louder than the words
    for a few milliseconds, does not count); None for digital silence or under 30 ms."""
    power = np.sort(block_power(np.frombuffer(chunk.audio, dtype="<i2"), _LEVEL_BLOCK))
    if not len(power):
        return None
    loud = float(power[-min(_LEVEL_RANK, len(power))])
    return None if loud <= 0.0 else 10.0 * math.log10(loud / 32768.0**2)


def is_quiet_between(chunk: AudioChunk) -> bool:
    """Whether the file's quietest 100 ms are :data:`QUIET_BETWEEN` dB or more under
    its level: a quiet room between the words, not noise that goes on."""
    level = file_level(chunk)
    blocks = block_power(np.frombuffer(chunk.audio, dtype="<i2"), _QUIET_BLOCK)
    if level is None or not len(blocks):
        return True
    power = float(np.min(blocks))
    return power <= 0.0 or 10.0 * math.log10(power / 32768.0**2) <= level - QUIET_BETWEEN


def at_file_level(chunk: AudioChunk) -> AudioChunk:
    """A whole file (16 kHz mono) scaled so that its level (:func:`file_level`) falls
    within :data:`LEVELS`, raised by at most :data:`MAX_GAIN` dB; unchanged where it
    already does."""
    level = file_level(chunk)
    if level is None:
        return chunk
    low, high = LEVELS
    gain = min(low - level, MAX_GAIN) if level < low else min(high - level, 0.0)
    if gain == 0.0:
        return chunk
    x = np.frombuffer(chunk.audio, dtype="<i2").astype(np.float64)
    y = np.clip(np.rint(x * 10.0 ** (gain / 20.0)), -32768, 32767).astype("<i2")
    return AudioChunk(y.tobytes(), ASR_RATE, timestamp=chunk.timestamp)


class Span(NamedTuple):
    """A piece of a whole file's speech as the endpointer found it (seconds in the file)."""

    start: float
    """Where the endpointer hands it over (a window before the talker)."""
    talker: float
    """Where the talker started."""
    end: float
    """Its end: after its last speech and one silent frame."""
    verdict: float
    """Where a stream's verdict on it would come (the long silence found)."""


def speech_spans(
    audio: bytes,
    frame_bytes: int,
    frame_seconds: float,
    segmenter: Segmenter,
    is_speech: Callable[[bytes], bool],
) -> list[Span]:
    """The pieces of speech in ``audio`` (16-bit samples), found by ``segmenter`` over
    ``is_speech``'s verdict on each frame, as a stream's endpointing finds them."""
    seg, fb, fs = segmenter, frame_bytes, frame_seconds
    spans: list[Span] = []
    talker = 0
    for i in range(0, len(audio) - fb + 1, fb):
        mark = seg.push(is_speech(audio[i : i + fb]))
        if mark is Mark.START:
            talker = seg.speech_frame
        elif mark is Mark.END:
            spans.append(
                Span(seg.start_frame * fs, talker * fs, seg.end_frame * fs, seg.frames * fs)
            )
    if seg.in_speech:
        # Speech to the end, tail and all: it ends where silence would end it.
        seg.end()
        spans.append(
            Span(seg.start_frame * fs, talker * fs, seg.end_frame * fs, len(audio) / 2 / ASR_RATE)
        )
    return spans


def one_command(pieces: list[Recognition]) -> Recognition:
    """A whole file's result from its pieces of speech, each decided alone: the command
    if every piece that gives one gives the same, else none (words of all pieces)."""
    taken = [r for r in pieces if r.intent is not None]
    if taken and all(r.intent is taken[0].intent for r in taken):
        return taken[0]
    text = " ".join(r.text for r in pieces if r.text)
    return Recognition(
        None, text, max(r.confidence for r in pieces), pieces[0].start, pieces[-1].end
    )
