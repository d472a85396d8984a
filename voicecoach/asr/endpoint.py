"""Where an utterance starts and ends, from a voice-activity flag per frame.

:class:`Segmenter` follows PocketSphinx's endpointer (``ps_endpointer.c``): speech
starts when more than ``ratio`` of the last ``window`` frames are speech and ends when
fewer than ``1 - ratio`` of them are, that is after about ``window`` frames of silence.
Unlike the C endpointer, the start may have a ratio of its own (``start_ratio``): at
0.9 of 10 frames all 10 must be speech, and a short word ("wait", "go") may never
get there.
Before that end it reports each silent frame as a :attr:`Mark.PAUSE`, and the caller
may end the utterance there (:meth:`Segmenter.end`), e.g. when the words so far are
already a whole command. Unlike the C endpointer it holds no audio, so the caller can
decode each frame as it arrives instead of a window late.

The flags come with a hangover: PocketSphinx's detector (WebRTC's) keeps flagging
speech for 5 frames of 30 ms after a run of 7 or more speech frames in its two loose
modes, 3 in its strict ones. So an utterance ends about 0.15 + ``window`` seconds after
its last speech, and a pause within it must be that long to split it. Shortening the
hangover shortens that pause as well. Each way tried raised false accepts on the dev
split, streamed, because talk got cut into pieces that sound like commands:
- mode 2: results came about 60 ms sooner, and false accepts went from 33.6 to 35.0 %;
- mode 3 with ``AsrSettings.phrase_silence`` at 0.1 s, with the command check by
  speech embedding: 30 espeak-ng commands in faint noise gave their result 203 ms
  after the words' end (-25 dB from the peak) at the median instead of 263 ms, but on
  the dev split, streamed, recall fell from 66.2 to 59.9 % and false accepts rose from
  10.2 to 15.1 % (sentences with command words in them 4.3 -> 21.9 %);
- a tail check that counts speech frames within 3 dB of the noise floor as silence:
  results came about 140 ms sooner, and false accepts went from 33.6 to 41.2 %;
- ending a whole command inside the hangover, once the decoder's alignment put the
  early end's silence after its words (``AsrSettings.phrase_silence``, 0.15 s): the
  median result 10 ms sooner, false accepts 20.6 -> 30.3 % (dev split, streamed). For
  the safety commands alone at 0.1 s (the live loop's setting over the coach), 20 ms
  sooner, and the safety commands taken from what must be rejected 11.5 -> 18.1 %
  (test split 12.6 -> 19.5 %), most from sentences with command words in them and
  other talk.
  Over the coach (``scripts/bench_aec.py --seconds 600``, seeds 1 and 2) the
  canceller's leftover echo keeps the detector on after the user's words, and there it
  helped more: barge-ins heard 88.4 -> 93.0 % and 86.8 -> 86.8 %, wait p50 212 -> 193
  and 208 -> 189 ms, the longest 890 -> 357 ms in seed 2; but the echo alone gave a
  safety command more in each seed (in the first 1.5 s), and the decoder's partial
  alignment is not to be trusted while sound goes on: an espeak-ng "pause" was cut
  before its final "z", which then made an utterance of its own.

:class:`TalkGate` sits between the detector and the segmenter. The detector calls any
talk speech, a television's or a radio's as well as the user's; with one playing in the
room an utterance never ends, runs past the longest command and is thrown away, so the
user is not heard at all. While nearly all of the last several seconds were "speech",
the gate passes only frames clearly louder than that talk's typical level: the user
nearer the microphone than the television.

Counts are in frames; the caller turns them into seconds. Pure: no audio, no clock.
"""

from __future__ import annotations

import statistics
from collections import deque
from enum import Enum


class Mark(Enum):
    """What a frame did to the utterance."""

    NONE = "none"
    START = "start"
    """Speech started at :attr:`Segmenter.start_frame` (a window back)."""
    PAUSE = "pause"
    """A silent frame (:attr:`Segmenter.silence` in a row) before the end; still in
    speech unless the caller ends the utterance."""
    END = "end"
    """The long silence ended the utterance at :attr:`Segmenter.end_frame`."""


class Segmenter:
    """Speech start and end from per-frame voice activity (see the module doc)."""

    def __init__(self, window: int, ratio: float = 0.9, start_ratio: float | None = None) -> None:
        """``window`` in frames; ``ratio`` as in PocketSphinx's endpointer; ``start_ratio``
        (default ``ratio``) the share of speech frames above which speech starts."""
        self.window = window
        # The C endpointer's integer thresholds.
        self.start_frames = int((ratio if start_ratio is None else start_ratio) * window)
        self.end_frames = int((1.0 - ratio) * window + 0.5)
        if not 0 < self.start_frames < window or not 0 < self.end_frames < window:
            raise ValueError(
                f"ratio {ratio} (start {start_ratio}) makes endpointing impossible "
                f"with {window} frames"
            )
        self._flags: deque[bool] = deque(maxlen=window)
        self.frames = 0
        """Frames pushed so far."""
        self.in_speech = False
        self.start_frame = 0
        """First frame of the current (or last) utterance: a window back from its start,
        as PocketSphinx's endpointer hands audio over (with any silence before the speech)."""
        self.speech_frame = 0
        """The first speech frame in that window: where the talker started."""
        self.end_frame = 0
        """Frame just after the current (or last) utterance: its first silent frame, included."""
        self._last_speech = -1

    @property
    def silence(self) -> int:
        """Silent frames since the last speech frame (of the utterance in progress)."""
        return self.frames - 1 - self._last_speech

    def push(self, is_speech: bool) -> Mark:
        """Take the next frame's flag."""
        self._flags.append(is_speech)
        self.frames += 1
        if is_speech:
            self._last_speech = self.frames - 1
        count = sum(self._flags)
        if not self.in_speech:
            if count > self.start_frames:
                self.in_speech = True
                self.start_frame = self.frames - len(self._flags)
                self.speech_frame = self.start_frame + self._flags.index(True)
                return Mark.START
            return Mark.NONE
        if count < self.end_frames:
            self.end()
            return Mark.END
        if self.silence > 0:
            return Mark.PAUSE
        return Mark.NONE

    @property
    def end_here(self) -> int:
        """Where the utterance would end if it ended now: after its last speech frame and
        one silent frame (as PocketSphinx's endpointer counts it)."""
        return min(self._last_speech + 2, self.frames)

    def end(self) -> None:
        """End the utterance now, at :attr:`end_here`. Its frames no longer count towards
        the next start (ended early at a pause, the window still holds its speech)."""
        self.in_speech = False
        self.end_frame = self.end_here
        self._flags.clear()


class TalkGate:
    """Voice activity that ignores continuous background talk (see the module doc).

    It keeps the last ``history`` frames' levels (dB) and detector flags. While at
    least ``busy`` of them were flagged speech (the room is never quiet: something
    talks on), a frame counts as speech only if the detector flags it and its level is
    at least ``margin`` dB above the median level of the flagged ones, the background
    talk's (its pauses left out), or if it comes fewer than ``spread`` frames after
    such a loud frame (a word's weak sounds, an "h" or a final "s", are far below its
    vowels).
    Otherwise the detector's flag passes unchanged, so in a quiet room, or before
    ``history`` frames have been heard, nothing changes.

    A user who talks on for most of ``history`` turns the gate on too: what they say
    right after, at their own level, is not heard until their talk has mostly left
    the history.
    """

    def __init__(self, history: int, busy: float, margin: float, spread: int = 1) -> None:
        if history < 1 or spread < 1 or not 0.0 < busy <= 1.0:
            raise ValueError(
                "a talk gate needs history >= 1, spread >= 1 and 0 < busy <= 1, "
                f"not {history}, {spread}, {busy}"
            )
        self.history = history
        self.busy = busy
        self.margin = margin
        self.spread = spread
        self._loud = 0  # frames since the last loud one
        self._levels: deque[float] = deque(maxlen=history)
        self._flags: deque[bool] = deque(maxlen=history)
        self._speech = 0  # flags set among self._flags

    @property
    def active(self) -> bool:
        """Whether the background talks on (the last frame was gated)."""
        return len(self._flags) == self.history and self._speech >= self.busy * self.history

    def push(self, is_speech: bool, level: float) -> bool:
        """Take the next frame's detector flag and level (dB); whether it is speech."""
        if len(self._flags) == self.history and self._flags[0]:
            self._speech -= 1
        self._flags.append(is_speech)
        self._levels.append(level)
        self._speech += is_speech
        if not self.active:
            return is_speech
        talk = statistics.median(lv for lv, f in zip(self._levels, self._flags, strict=True) if f)
        self._loud = 0 if level >= talk + self.margin else self._loud + 1
        return is_speech and self._loud < self.spread


__all__ = ["Mark", "Segmenter", "TalkGate"]
