"""Where an utterance starts and ends, from a voice-activity flag per frame.

:class:`Segmenter` follows PocketSphinx's endpointer (``ps_endpointer.c``): speech
starts when more than ``ratio`` of the last ``window`` frames are speech and ends when
fewer than ``1 - ratio`` of them are, that is after about ``window`` frames of silence.
Before that end it reports each silent frame as a :attr:`Mark.PAUSE`, and the caller
may end the utterance there (:meth:`Segmenter.end`), e.g. when the words so far are
already a whole command. Unlike the C endpointer it holds no audio, so the caller can
decode each frame as it arrives instead of a window late.

The flags come with a hangover: PocketSphinx's detector (WebRTC's) keeps flagging
speech for 5 frames of 30 ms after a run of 7 or more speech frames in its two loose
modes, 3 in its strict ones. So an utterance ends about 0.15 + ``window`` seconds after
its last speech, and a pause within it must be that long to split it. Shortening the
hangover shortens that pause as well. Both ways tried raised false accepts on the dev
split, streamed, because talk got cut into pieces that sound like commands:
- mode 2: results came about 60 ms sooner, and false accepts went from 33.6 to 35.0 %;
- a tail check that counts speech frames within 3 dB of the noise floor as silence:
  results came about 140 ms sooner, and false accepts went from 33.6 to 41.2 %.

Counts are in frames; the caller turns them into seconds. Pure: no audio, no clock.
"""

from __future__ import annotations

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

    def __init__(self, window: int, ratio: float = 0.9) -> None:
        """``window`` in frames; ``ratio`` as in PocketSphinx's endpointer."""
        self.window = window
        # The C endpointer's integer thresholds, so both start and end alike.
        self.start_frames = int(ratio * window)
        self.end_frames = int((1.0 - ratio) * window + 0.5)
        if not 0 < self.start_frames < window or not 0 < self.end_frames < window:
            raise ValueError(f"ratio {ratio} makes endpointing impossible with {window} frames")
        self._flags: deque[bool] = deque(maxlen=window)
        self.frames = 0
        """Frames pushed so far."""
        self.in_speech = False
        self.start_frame = 0
        """First frame of the current (or last) utterance."""
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
        """End the utterance now, at :attr:`end_here`."""
        self.in_speech = False
        self.end_frame = self.end_here


__all__ = ["Mark", "Segmenter"]
