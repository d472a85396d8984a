"""The speaker: a :class:`~voicecoach.audio.sinks.Sink` on a sounddevice output stream.

The stream runs all the time and its callback only copies queued samples into the
output buffer (silence when idle), so starting a prompt costs no device set-up.
When the callback writes an utterance's last sample it notes the moment that sample
will reach the speaker: now plus the stream's reported output latency (PortAudio's
``outputBufferDacTime - currentTime``) plus its offset in the block.
:meth:`SoundDeviceSink.poll_finished` reports the utterance once the clock passes
that moment.

:meth:`SoundDeviceSink.stop` bumps a generation counter; the next callback, at most
one block later, drops everything older and writes silence. The worst case until
silence is one block plus the output latency (:attr:`SoundDeviceSink.stop_bound`).

The queue logic is :class:`OutputBuffer`, free of any device, so it can be driven
block by block in tests exactly as PortAudio drives it.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections import deque
from typing import Any

import numpy as np

from ..errors import AudioDeviceError, EngineUnavailable
from .chunk import AudioChunk
from .sinks import Clock, to_sink_rate

_LOGGER = logging.getLogger(__name__)


class _Item:
    __slots__ = ("gen", "uid", "samples", "pos")

    def __init__(self, gen: int, uid: int | None, samples: np.ndarray | None) -> None:
        self.gen = gen
        self.uid = uid
        self.samples = samples  # None marks the end of utterance ``uid``
        self.pos = 0


class OutputBuffer:
    """The queue between the caller and an audio callback.

    :meth:`play`, :meth:`end`, :meth:`stop` and :meth:`poll` are called from the
    caller's threads (under a lock); :meth:`fill` from the audio callback, which
    takes no lock and only copies samples and notes times.
    """

    def __init__(self, rate: int) -> None:
        self.rate = rate
        self._items: deque[_Item] = deque()
        self._current: _Item | None = None
        self._gen = 0
        self._finished: deque[tuple[float, int, int]] = deque()  # (time, uid, gen)
        self._stopped_at: dict[int, float] = {}  # generation -> clock time of its stop()
        self.last_end = -math.inf
        """Clock time when the latest written audio leaves the speaker."""
        self._lock = threading.Lock()

    def play(self, samples: np.ndarray, utterance_id: int | None) -> None:
        """Queue float32 mono samples at :attr:`rate`."""
        with self._lock:
            self._items.append(_Item(self._gen, utterance_id, samples))

    def end(self, utterance_id: int) -> None:
        """Queue the end mark of ``utterance_id``."""
        with self._lock:
            self._items.append(_Item(self._gen, utterance_id, None))

    def stop(self, now: float) -> None:
        """Drop the queue; the next :meth:`fill` writes silence."""
        with self._lock:
            self._stopped_at[self._gen] = now
            self._gen += 1
            self._items.clear()
            self.last_end = min(self.last_end, now)

    def poll(self, now: float) -> list[int]:
        """Utterances whose last sample has reached the speaker by ``now``, in order."""
        with self._lock:
            done: list[int] = []
            while self._finished and self._finished[0][0] <= now:
                at, uid, gen = self._finished.popleft()
                # An utterance of an earlier generation counts only if it ended before
                # the stop() that closed that generation.
                if gen == self._gen or at <= self._stopped_at.get(gen, -math.inf):
                    done.append(uid)
            return done

    def busy(self) -> bool:
        """True while samples or end marks wait to be written."""
        return bool(self._items) or self._current is not None

    def fill(self, out: np.ndarray, dac_time: float) -> None:
        """Fill ``out`` (1-D float32) with queued audio, silence after it.

        ``dac_time`` is the clock time at which ``out[0]`` will reach the speaker.
        """
        # self._gen is read afresh at each decision: stop() may bump it meanwhile, and
        # items queued after that carry the new generation and must not be dropped.
        frames = len(out)
        filled = 0
        audio_frames = 0
        while filled < frames:
            item = self._current
            if item is None or item.gen != self._gen:
                item = None
                while self._items:
                    candidate = self._items.popleft()
                    if candidate.gen == self._gen:
                        item = candidate
                        break
                self._current = item
                if item is None:
                    break
            if item.samples is None:
                if item.uid is not None:
                    self._finished.append((dac_time + filled / self.rate, item.uid, item.gen))
                self._current = None
                continue
            n = min(frames - filled, len(item.samples) - item.pos)
            out[filled : filled + n] = item.samples[item.pos : item.pos + n]
            item.pos += n
            filled += n
            audio_frames = filled
            if item.pos >= len(item.samples):
                self._current = None
        out[filled:] = 0.0
        if audio_frames:
            self.last_end = dac_time + audio_frames / self.rate


class SoundDeviceSink:
    """Plays through a PortAudio output device; implements the ``Sink`` protocol.

    ``device`` is a device index, a (part of a) device name as sounddevice accepts,
    or None for the default output. Small blocks keep barge-in quick: 256 frames at
    22.05 kHz is 12 ms.
    """

    def __init__(
        self,
        device: int | str | None = None,
        rate: int = 22_050,
        clock: Clock = time.monotonic,
        blocksize: int = 256,
        latency: str | float = "low",
    ) -> None:
        try:
            import sounddevice as sd
        except (ImportError, OSError) as err:  # OSError: PortAudio library missing
            raise EngineUnavailable(
                "sounddevice/PortAudio is not available: run 'pip install sounddevice' and "
                "install the PortAudio library (apt install libportaudio2)"
            ) from err
        self.rate = rate
        self.clock = clock
        self._buffer = OutputBuffer(rate)
        try:
            self._stream = sd.OutputStream(
                samplerate=rate,
                channels=1,
                dtype="float32",
                device=device,
                blocksize=blocksize,
                latency=latency,
                callback=self._callback,
            )
            self._stream.start()
        except (sd.PortAudioError, ValueError) as err:
            raise AudioDeviceError(
                f"cannot open the output device {device if device is not None else '(default)'}"
                f": {err}; list devices with 'python -m sounddevice' and choose one by "
                "name or number"
            ) from err
        _LOGGER.info(
            "output stream open: device=%s rate=%d block=%d latency=%.1f ms",
            device,
            rate,
            blocksize,
            self._stream.latency * 1000,
        )

    @property
    def active(self) -> bool:
        """False once the stream has stopped by itself (device error, card unplugged)."""
        return bool(self._stream.active)

    @property
    def output_latency(self) -> float:
        """The stream's output latency in seconds, as PortAudio reports it."""
        return float(self._stream.latency)

    @property
    def stop_bound(self) -> float:
        """Worst-case seconds from :meth:`stop` until silence at the speaker."""
        return self._stream.blocksize / self.rate + self.output_latency

    def play(self, chunk: AudioChunk, utterance_id: int | None = None) -> None:
        """Queue ``chunk``; resampled here (not in the callback) if its rate differs."""
        self._buffer.play(to_sink_rate(chunk, self.rate).astype(np.float32), utterance_id)

    def end(self, utterance_id: int) -> None:
        """Report ``utterance_id`` once the audio queued so far has reached the speaker."""
        self._buffer.end(utterance_id)

    def stop(self) -> None:
        """Silence within one block plus the output latency; drop the queue."""
        self._buffer.stop(self.clock())

    def poll_finished(self) -> list[int]:
        """Utterances whose last sample has reached the speaker, in order."""
        return self._buffer.poll(self.clock())

    def is_playing(self) -> bool:
        """True while audio is queued or has not yet left the speaker."""
        return self._buffer.busy() or self.clock() < self._buffer.last_end

    @property
    def last_audio_end(self) -> float:
        """Clock time when the latest written audio leaves the speaker."""
        return self._buffer.last_end

    def close(self) -> None:
        """Stop and close the stream."""
        self.stop()
        try:
            self._stream.stop()
        finally:
            self._stream.close()

    def __enter__(self) -> SoundDeviceSink:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _callback(self, outdata: np.ndarray, frames: int, time_info: Any, status: Any) -> None:
        latency = max(0.0, time_info.outputBufferDacTime - time_info.currentTime)
        self._buffer.fill(outdata[:, 0], self.clock() + latency)


__all__ = ["OutputBuffer", "SoundDeviceSink"]
