"""The speaker: a :class:`~voicecoach.audio.sinks.Sink` on a sounddevice output stream.

The stream runs all the time and its callback only copies queued samples into the
output buffer (silence when idle), so starting a prompt costs no device set-up.
A block reaches the speaker, by PortAudio's report, at now plus the stream's output
latency (``outputBufferDacTime - currentTime``). The stream's frames play one after
another, so frame ``n`` plays at a fixed start plus ``n`` over the rate: the reports
only place that start (see ``TIMELINE_JUMP``). When the callback writes an
utterance's last sample it notes the moment that sample will reach the speaker;
:meth:`SoundDeviceSink.poll_finished` reports the utterance once the clock passes
that moment.

The callback also keeps what it wrote, with that time (:meth:`OutputBuffer.take_played`):
the echo canceller's reference. Placing the reference when a chunk is handed over
instead (now plus the nominal latency) is off by up to a block plus whatever the
device buffers beyond its nominal latency, differently for every utterance; the
canceller then has to learn the echo path again at each one, and the echo it leaves
meanwhile at the start of a long announcement held an utterance open past the longest
command, so a "stop" said then was lost.

:meth:`SoundDeviceSink.stop` bumps a generation counter; the next callback, at most
one block later, drops everything older and writes silence. The worst case until
silence is one block plus the output latency (:attr:`SoundDeviceSink.stop_bound`).

The queue logic is :class:`OutputBuffer`, free of any device, so it can be driven
block by block in tests exactly as PortAudio drives it.
"""

from __future__ import annotations

import contextlib
import logging
import math
import threading
import time
from collections import deque
from collections.abc import Iterator
from typing import Any, NamedTuple

import numpy as np

from ..errors import AudioDeviceError, EngineUnavailable
from .chunk import AudioChunk
from .sinks import Clock, to_sink_rate

_LOGGER = logging.getLogger(__name__)


TIMELINE_WINDOW = 100
"""Blocks (1.2 s of 256 frames at 22.05 kHz) over which the reported times are checked
against the stream's timeline."""
TIMELINE_JUMP = 0.02
"""The timeline moves only when the reported times of a whole window (their 90th
percentile) are this far (seconds) from it: the stream skipped (an underrun) or the
device's clock drifted from the loop's. Otherwise it stays fixed to the stream's
frames, as the microphone's does (:class:`~voicecoach.audio.sd_input.BlockConverter`):
the echo canceller's filter holds the echo path to a fraction of a millisecond, and a
reference that moved by 0.2 ms between utterances already left half the echo at each
one's start. A high percentile, not the mean: a device that reports no latency and
fills its buffer in bursts (ALSA's file plugin) reports each block when it is written,
anywhere up to a buffer ahead of when it plays, and the least-ahead blocks are the
closest to the truth."""
PLAYED_BLOCKS = 4096
"""Most blocks of written audio kept for :meth:`OutputBuffer.take_played` (47 s of
256-frame blocks at 22.05 kHz)."""


class Written(NamedTuple):
    """Audio a device callback wrote."""

    time: float
    """Clock time at which its first sample reaches the speaker."""
    frame: int
    """The stream frame it starts at (the next block's audio continues it only if it
    starts at ``frame + len(samples)``)."""
    samples: np.ndarray
    """Float32 mono samples at the sink's rate."""


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
        # Audio mixed over the queue (play_over): handed to the callback through
        # _over_new, then held in _over, which only the callback touches.
        self._over_new: deque[_Item] = deque()
        self._over: list[_Item] = []
        self._gen = 0
        self._finished: deque[tuple[float, int, int]] = deque()  # (time, uid, gen)
        self._stopped_at: dict[int, float] = {}  # generation -> clock time of its stop()
        self.last_end = -math.inf
        """Clock time when the latest written audio leaves the speaker."""
        self._lock = threading.Lock()
        self._frames_out = 0  # stream frames written so far, audio and silence
        self._anchor: float | None = None  # clock time at which stream frame 0 plays
        self._reports: list[float] = []  # frame 0's time by each block's report
        # Audio written, for the echo reference. Bounded for a sink whose reference
        # nobody takes.
        self._played: deque[Written] = deque(maxlen=PLAYED_BLOCKS)

    def play(self, samples: np.ndarray, utterance_id: int | None) -> None:
        """Queue float32 mono samples at :attr:`rate`."""
        with self._lock:
            self._items.append(_Item(self._gen, utterance_id, samples))

    def play_over(self, samples: np.ndarray) -> None:
        """Mix float32 mono samples at :attr:`rate` over the output from the next block."""
        with self._lock:
            self._over_new.append(_Item(self._gen, None, samples))

    def end(self, utterance_id: int) -> None:
        """Queue the end mark of ``utterance_id``."""
        with self._lock:
            self._items.append(_Item(self._gen, utterance_id, None))

    def stop(self, now: float) -> None:
        """Drop the queue; the next :meth:`fill` writes silence."""
        with self._lock:
            closed = self._gen
            self._stopped_at[closed] = now
            self._gen += 1
            self._items.clear()
            self._over_new.clear()
            self.last_end = min(self.last_end, now)
            # A stop time is needed only while end marks of its generation may still be
            # polled: those waiting in _finished (oldest first, generations in order),
            # and the one just closed, whose last end mark a callback running now may
            # note after this. Kept for all, the map grew by one entry per stop for as
            # long as the coach ran (days in standby).
            keep_from = min(self._finished[0][2], closed) if self._finished else closed
            for gen in [gen for gen in self._stopped_at if gen < keep_from]:
                del self._stopped_at[gen]

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

    def restart(self) -> None:
        """The stream starts again after a stop: its frames no longer follow on in time
        from those written before, so the next block anchors the timeline afresh.
        (Called while the stream is stopped: no callback runs meanwhile.)"""
        self._anchor = None
        self._reports.clear()

    def busy(self) -> bool:
        """True while samples or end marks wait to be written."""
        return bool(self._items or self._over_new or self._over) or self._current is not None

    def _timeline(self, dac_time: float) -> float:
        """The clock time at which the next frame plays, on a timeline fixed to the
        stream's frames (``dac_time`` is the time reported for it; see
        ``TIMELINE_JUMP``)."""
        at = self._frames_out / self.rate
        start = dac_time - at  # when frame 0 played, by this block's report
        if self._anchor is None:
            self._anchor = start
        self._reports.append(start)
        if len(self._reports) >= TIMELINE_WINDOW:
            high = float(np.percentile(self._reports, 90))
            self._reports.clear()
            if abs(high - self._anchor) > TIMELINE_JUMP:
                _LOGGER.info("speaker timeline moved by %+.3f s", high - self._anchor)
                self._anchor = high
        return self._anchor + at

    @property
    def decided_until(self) -> float:
        """Clock time up to which the output is written (audio or silence)."""
        if self._anchor is None:
            return -math.inf
        return self._anchor + self._frames_out / self.rate

    def take_played(self) -> list[Written]:
        """The audio written since the last call, in order."""
        out = []
        while self._played:
            out.append(self._played.popleft())
        return out

    def fill(self, out: np.ndarray, dac_time: float) -> None:
        """Fill ``out`` (1-D float32) with queued audio, silence after it.

        ``dac_time`` is the clock time at which ``out[0]`` will reach the speaker, as
        reported for this block (the block is placed on the stream's timeline, which
        these reports only anchor: see :meth:`_timeline`).
        """
        dac_time = self._timeline(dac_time)
        first_frame = self._frames_out
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
        audio_frames = max(audio_frames, self._mix_over(out))
        if audio_frames:
            self.last_end = dac_time + audio_frames / self.rate
            self._played.append(Written(dac_time, first_frame, out[:audio_frames].copy()))
        self._frames_out += frames  # last: decided_until never covers a block not handed over

    def _mix_over(self, out: np.ndarray) -> int:
        """Mix what is played over the queue into ``out``; the frames it reached."""
        while self._over_new:
            self._over.append(self._over_new.popleft())
        reached = 0
        for item in self._over:
            assert item.samples is not None
            if item.gen != self._gen:  # cut by stop()
                item.pos = len(item.samples)
                continue
            n = min(len(out), len(item.samples) - item.pos)
            out[:n] += item.samples[item.pos : item.pos + n]
            item.pos += n
            reached = max(reached, n)
        self._over = [
            item for item in self._over if item.samples is not None and item.pos < len(item.samples)
        ]
        if reached:
            np.clip(out[:reached], -1.0, 1.0, out=out[:reached])
        return reached


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
                f": {err}; list devices with 'voicecoach devices' and choose one by "
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

    def play_over(self, chunk: AudioChunk) -> None:
        """Mix ``chunk`` over the output from the next block on."""
        self._buffer.play_over(to_sink_rate(chunk, self.rate).astype(np.float32))

    def end(self, utterance_id: int) -> None:
        """Report ``utterance_id`` once the audio queued so far has reached the speaker."""
        self._buffer.end(utterance_id)

    def stop(self) -> None:
        """Silence within one block plus the output latency; drop the queue."""
        self._buffer.stop(self.clock())

    @property
    def decided_until(self) -> float:
        """Clock time up to which the output is written: the audio up to then is all in
        what :meth:`take_played` has given or will give next (infinite once the stream
        has stopped, as nothing more will be written)."""
        if not self._stream.active:
            return math.inf
        return self._buffer.decided_until

    def take_played(self) -> list[Written]:
        """What reached the output since the last call, in order (the echo reference)."""
        return self._buffer.take_played()

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

    @contextlib.contextmanager
    def paused(self) -> Iterator[None]:
        """The stream stopped for the duration, and started again after.

        For opening another stream: with this one running, PortAudio 19.6 (ALSA) now
        and then crashes (SIGSEGV in Pa_OpenStream) when the other fails to open,
        instead of reporting it. Pause only while nothing plays: while stopped the
        stream writes nothing, and queued audio waits. Started again, its timeline is
        anchored afresh (:meth:`OutputBuffer.restart`). A stream that will not start
        again is left stopped: :attr:`active` is False, and the speaker is reopened.
        """
        try:
            self._stream.stop()  # what the device has taken plays out first
        except Exception as err:  # a vanished device may refuse even this
            _LOGGER.debug("stopping the output stream: %s", err)
        try:
            yield
        finally:
            self._buffer.restart()
            try:
                self._stream.start()
            except Exception as err:
                _LOGGER.warning("the output stream did not start again: %s", err)

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


__all__ = ["OutputBuffer", "SoundDeviceSink", "Written"]
