"""Telling a muted microphone from a quiet room.

A USB microphone whose capture switch is off, or whose volume is at zero, delivers a
stream of exact zeros: it opens, it delivers audio on time, and nothing is ever heard.
The person on the floor says "yes" and the coach asks again, with no screen to show why.
A quiet room is not the same: a microphone that gates its own silence delivers zeros
too, but the coach's own voice from the speaker opens it. So the microphone is taken as
muted once it has delivered nothing but digital silence (no sample above
:data:`SILENT_PEAK`) through :attr:`MuteWatch.after` seconds of the coach being heard,
and as working again at its first sound. Not used where the system cancels the echo
(``LiveSettings.echo_cancelled``): there the coach's voice is taken out before the
stream reaches voicecoach.
"""

from __future__ import annotations

import enum

import numpy as np

from ..audio.chunk import AudioChunk

SILENT_PEAK = 1
"""The largest sample (int16) of digital silence: a muted capture gives zeros; a live
microphone's own noise alone is above this."""


class MicChange(enum.Enum):
    """What :meth:`MuteWatch.feed` found."""

    MUTED = "muted"
    BACK = "back"


class MuteWatch:
    """Watches a 16-bit microphone stream for digital silence while the coach is heard."""

    def __init__(self, after: float = 10.0) -> None:
        self.after = after
        """Seconds of the coach heard with only digital silence from the microphone."""
        self.muted = False
        self._flat = 0.0  # seconds of coach heard with digital silence, since the last sound

    def feed(self, chunk: AudioChunk, coach_heard: bool) -> MicChange | None:
        """Take a chunk (int16); ``coach_heard``: the coach's audio was playing. Returns
        :attr:`MicChange.MUTED` once when the microphone is found muted, and
        :attr:`MicChange.BACK` at its first sound after that."""
        if chunk.width != 2:
            raise ValueError(f"16-bit audio expected, not {8 * chunk.width}-bit")
        samples = np.frombuffer(chunk.audio, dtype="<i2")
        if samples.size and int(np.abs(samples.astype(np.int32)).max()) > SILENT_PEAK:
            self._flat = 0.0
            if self.muted:
                self.muted = False
                return MicChange.BACK
            return None
        if coach_heard and not self.muted:
            self._flat += chunk.duration
            if self._flat >= self.after:
                self.muted = True
                return MicChange.MUTED
        return None
