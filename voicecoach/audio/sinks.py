"""Where the coach's audio goes: the :class:`Sink` protocol and the in-memory sinks.

A sink plays chunks tagged with an utterance id, in order. It tells the caller when
an utterance has *actually finished at the speaker* (:meth:`Sink.poll_finished`),
because the microphone logic depends on that moment, not on when the audio was
handed over; and when the last audible sample of anything ends
(:attr:`Sink.last_audio_end`), so the live loop can ignore the microphone while the
coach speaks and for a tail after. :meth:`Sink.stop` silences at once and drops the
queue (barge-in); utterances cut this way are never reported as finished.

Every sink tells time with a clock (a callable returning seconds). The live loop
passes its session clock; :class:`MemorySink` and :class:`FileSink` also work on a
:class:`VirtualClock`, placing audio at the session time they are given, so a demo
or a test can run a whole session faster than real time.

The sounddevice implementation lives in :mod:`voicecoach.audio.sd_output` (it imports
sounddevice).
"""

from __future__ import annotations

import math
import threading
import time
import wave
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

from .chunk import AudioChunk, resample

Clock = Callable[[], float]
"""A source of time in seconds (``time.monotonic``, a session clock, a virtual clock)."""


@runtime_checkable
class Sink(Protocol):
    """Plays audio in order and reports when it has really been heard."""

    clock: Clock
    """The time base of :meth:`poll_finished` and :attr:`last_audio_end`."""

    def play(self, chunk: AudioChunk, utterance_id: int | None = None) -> None:
        """Queue ``chunk`` after everything queued so far. Returns without waiting.

        ``utterance_id`` None marks audio nobody needs to hear about (a cue).
        """
        ...

    def play_over(self, chunk: AudioChunk) -> None:
        """Play ``chunk`` at once, mixed over whatever plays or is queued meanwhile: an
        earcon that must not wait for the line queued before it (the "heard" cue over
        the coach). Not an utterance, never reported; :meth:`stop` cuts it too."""
        ...

    def end(self, utterance_id: int) -> None:
        """No more audio follows for ``utterance_id``: report it once its last sample is heard.

        An utterance that never had any audio is reported once everything queued
        before it has played.
        """
        ...

    def stop(self) -> None:
        """Silence within 50 ms and drop the queue; cut utterances are never reported."""
        ...

    def poll_finished(self) -> list[int]:
        """Utterances whose last sample has left the speaker since the last call, in order."""
        ...

    def is_playing(self) -> bool:
        """True while audio is audible at the speaker or queued for it."""
        ...

    @property
    def last_audio_end(self) -> float:
        """Clock time at which the latest queued audio ends (-inf if none yet).

        After :meth:`stop`, the time the audio was cut.
        """
        ...

    def close(self) -> None:
        """Release the device or flush the file; the sink is unusable afterwards."""
        ...


def audible(sink: Sink, tail: float = 0.0) -> bool:
    """True while ``sink`` plays, and for ``tail`` seconds after its last audio ended.

    The live loop ignores the microphone while this holds, so the coach's own voice
    (and the room's echo of it) is not taken for a command.
    """
    return sink.is_playing() or sink.clock() < sink.last_audio_end + tail


class VirtualClock:
    """A clock that moves only when told: for demos and tests faster than real time."""

    def __init__(self, start: float = 0.0) -> None:
        self.now = start

    def __call__(self) -> float:
        """The current virtual time."""
        return self.now

    def advance(self, seconds: float) -> float:
        """Move forward by ``seconds``; returns the new time."""
        if seconds < 0:
            raise ValueError("a clock does not go backwards")
        self.now += seconds
        return self.now

    def set(self, now: float) -> None:
        """Move forward to ``now``."""
        if now < self.now:
            raise ValueError("a clock does not go backwards")
        self.now = now


@dataclass
class Segment:
    """One chunk as placed on a :class:`MemorySink` timeline."""

    utterance_id: int | None
    start: float
    """Clock time of the first sample."""
    samples: np.ndarray
    """int16 mono samples at the sink's rate (shortened if the segment was cut)."""
    stopped: bool = False
    """True if :meth:`MemorySink.stop` cut this segment short."""

    def end(self, rate: int) -> float:
        """Clock time just after the last sample."""
        return self.start + len(self.samples) / rate


def to_sink_rate(chunk: AudioChunk, rate: int) -> np.ndarray:
    """Mono float32 samples of ``chunk`` resampled to ``rate``."""
    samples = chunk.samples()
    mono = samples[:, 0] if chunk.channels == 1 else samples.mean(axis=1)
    return resample(mono, chunk.rate, rate)


def _pcm16(samples: np.ndarray) -> np.ndarray:
    return np.clip(np.round(samples * 32767.0), -32768, 32767).astype(np.int16)


class MemorySink:
    """A sink that renders into a timeline in memory, at the times its clock gives.

    A chunk starts when it is played or when the audio queued before it ends,
    whichever is later, exactly as on a real speaker with no output latency. An
    utterance finishes at its last chunk's start plus duration; :meth:`stop` at time
    ``t`` cuts the audio at ``t``. With ``clock=time.monotonic`` (the default) it
    behaves in real time; with a :class:`VirtualClock` the caller decides what time
    it is.
    """

    def __init__(self, rate: int = 22_050, clock: Clock = time.monotonic) -> None:
        self.rate = rate
        self.clock = clock
        self.segments: list[Segment] = []
        """Everything played, in order (cut segments shortened and marked)."""
        self.stops: list[float] = []
        """Clock times of every :meth:`stop`."""
        self._queue_end = -math.inf
        self._over_end = -math.inf  # end of the audio played over the queue
        self._open: dict[int, float] = {}  # utterance -> end of its audio so far
        self._finishing: list[tuple[float, int]] = []  # (finish time, utterance), in order
        self._lock = threading.Lock()

    def play(self, chunk: AudioChunk, utterance_id: int | None = None) -> None:
        """Place ``chunk`` on the timeline after the audio queued before it."""
        pcm = _pcm16(to_sink_rate(chunk, self.rate))
        with self._lock:
            start = max(self.clock(), self._queue_end)
            self.segments.append(Segment(utterance_id, start, pcm))
            self._queue_end = start + len(pcm) / self.rate
            if utterance_id is not None:
                self._open[utterance_id] = self._queue_end

    def play_over(self, chunk: AudioChunk) -> None:
        """Place ``chunk`` on the timeline now, over what plays (mixed)."""
        pcm = _pcm16(to_sink_rate(chunk, self.rate))
        with self._lock:
            now = self.clock()
            self.segments.append(Segment(None, now, pcm))
            self._over_end = max(self._over_end, now + len(pcm) / self.rate)

    def end(self, utterance_id: int) -> None:
        """Report ``utterance_id`` when its last sample has played."""
        with self._lock:
            now = self.clock()
            finish = self._open.pop(utterance_id, max(now, self._queue_end))
            self._finishing.append((finish, utterance_id))

    def stop(self) -> None:
        """Cut everything after now; pending utterances are never reported."""
        with self._lock:
            now = self.clock()
            self.stops.append(now)
            kept: list[Segment] = []
            for seg in self.segments:
                if seg.end(self.rate) <= now:
                    kept.append(seg)
                elif seg.start < now:
                    seg.samples = seg.samples[: int(round((now - seg.start) * self.rate))]
                    seg.stopped = True
                    kept.append(seg)
                # segments not started yet are dropped entirely
            self.segments = kept
            self._queue_end = min(self._queue_end, now)
            self._over_end = min(self._over_end, now)
            self._open.clear()
            self._finishing = [(f, u) for f, u in self._finishing if f <= now]

    def poll_finished(self) -> list[int]:
        """Utterances whose finish time has come, in order."""
        with self._lock:
            now = self.clock()
            done = [u for f, u in self._finishing if f <= now]
            self._finishing = [(f, u) for f, u in self._finishing if f > now]
            return done

    def is_playing(self) -> bool:
        """True until the clock passes the end of the queued audio."""
        with self._lock:
            return self.clock() < max(self._queue_end, self._over_end)

    @property
    def last_audio_end(self) -> float:
        """End time of the latest queued audio (the cut time after a stop)."""
        return max(self._queue_end, self._over_end)

    def next_finish(self) -> float | None:
        """When the next ended utterance will be reported (for a virtual-clock driver)."""
        with self._lock:
            return min((f for f, _ in self._finishing), default=None)

    def pending_finish(self, utterance_id: int) -> float | None:
        """When ``utterance_id`` will be reported finished, if it has been ended."""
        with self._lock:
            return next((f for f, u in self._finishing if u == utterance_id), None)

    def timeline(self, start: float = 0.0, end: float | None = None) -> np.ndarray:
        """Mixed float32 samples from clock time ``start`` to ``end`` (default: the last)."""
        with self._lock:
            segments = list(self.segments)
        if end is None:
            end = max((s.end(self.rate) for s in segments), default=start)
        n = max(0, int(round((end - start) * self.rate)))
        out = np.zeros(n, dtype=np.float32)
        for seg in segments:
            i = int(round((seg.start - start) * self.rate))
            data = seg.samples.astype(np.float32) / 32768.0
            lo, hi = max(i, 0), min(i + len(data), n)
            if hi > lo:
                out[lo:hi] += data[lo - i : hi - i]
        return out

    def write_wav(self, path: Path, start: float = 0.0) -> None:
        """Write the timeline from ``start`` as a mono 16-bit WAV file."""
        pcm = np.clip(np.round(self.timeline(start) * 32767.0), -32768, 32767).astype("<i2")
        # Opened here: a file wave.open cannot open leaves a half-made writer whose
        # cleanup prints a second traceback ("'Wave_write' object has no attribute '_file'").
        with open(path, "wb") as raw, wave.open(raw, "wb") as f:
            f.setnchannels(1)
            f.setsampwidth(2)
            f.setframerate(self.rate)
            f.writeframes(pcm.tobytes())

    def close(self) -> None:
        """Nothing to release."""


class FileSink(MemorySink):
    """A :class:`MemorySink` that writes its timeline to a WAV file on :meth:`close`.

    The file starts at clock time ``origin`` (default: the clock's time when the sink
    is made), so silences between utterances are kept as they would be heard.
    """

    def __init__(
        self,
        path: Path,
        rate: int = 22_050,
        clock: Clock = time.monotonic,
        origin: float | None = None,
    ) -> None:
        super().__init__(rate, clock)
        self.path = Path(path)
        self.origin = clock() if origin is None else origin

    def close(self) -> None:
        """Write the WAV file."""
        self.write_wav(self.path, self.origin)


__all__ = [
    "Clock",
    "audible",
    "FileSink",
    "MemorySink",
    "Segment",
    "Sink",
    "VirtualClock",
    "to_sink_rate",
]
