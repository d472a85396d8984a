"""The played power per frame of a whole stream, for the level check
(:class:`~voicecoach.runtime.doubletalk.DoubleTalk`) in tests and benchmarks."""

from __future__ import annotations

import numpy as np

from voicecoach.audio.chunk import ASR_RATE
from voicecoach.runtime.doubletalk import _binned_power


class PlayedPower:
    """What :class:`DoubleTalk` reads of a tap: the power per 20 ms frame of
    ``reference`` (16 kHz mono), played in full from clock time 0."""

    def __init__(self, reference: np.ndarray) -> None:
        first, self._power = _binned_power(reference, 0.0, ASR_RATE)
        assert first == 0

    def reference(self, first: int, last: int) -> np.ndarray:
        """Played power in frames ``first..last`` inclusive (none outside the stream)."""
        out = np.zeros(last - first + 1)
        lo, hi = max(first, 0), min(last + 1, len(self._power))
        if hi > lo:
            out[lo - first : hi - first] = self._power[lo:hi]
        return out
