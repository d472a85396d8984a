"""Driving a :class:`~.loop.LiveSession` on a virtual clock (the demo, the tests).

The microphone is a function of time: ``mic(t, seconds)`` returns the 16 kHz audio the
microphone would have captured from clock time ``t`` for ``seconds``. Each step moves
the clock to the end of that window first, because a real microphone delivers a block
only once it has been captured.
"""

from __future__ import annotations

from collections.abc import Callable

from ..audio.chunk import AudioChunk
from ..audio.sinks import VirtualClock
from .loop import LiveSession

MicFunction = Callable[[float, float], AudioChunk]


def drive(
    session: LiveSession,
    clock: VirtualClock,
    mic: MicFunction,
    until: float,
    step: float = 0.02,
    on_step: Callable[[float], None] | None = None,
) -> None:
    """Run ``session`` until it finishes or the clock reaches ``until``.

    ``on_step(t)`` runs before each window is captured (a scripted user decides there
    whether to start speaking).
    """
    while not session.finished and clock() < until:
        t = clock()
        if on_step is not None:
            on_step(t)
        chunk = mic(t, step)
        clock.set(t + step)
        session.feed(chunk)
        session.poll()


def silence(t: float, seconds: float) -> AudioChunk:
    """A microphone that hears nothing."""
    frames = int(round(seconds * 16_000))
    return AudioChunk(bytes(2 * frames), 16_000, 2, 1, t)


__all__ = ["MicFunction", "drive", "silence"]
