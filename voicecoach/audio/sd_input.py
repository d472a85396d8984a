"""The microphone: a sounddevice input stream at the device's own rate and channels.

The stream's callback only copies each block into a :class:`BlockQueue` with the
clock time it arrived (it holds the newest ``MicSettings.max_queue_seconds`` of them).
:meth:`Microphone.read`, on the loop's thread, converts blocks to 16 kHz mono
(:class:`BlockConverter`, one :class:`StreamResampler` so there are no seams) and
stamps each chunk with the clock time of its first sample, so the rest of the program
never sees the device's format.

A microphone can fail in two ways: PortAudio reports an error or ends the stream (a
USB card pulled out), or the stream stays "active" but stops delivering audio. Both
become :attr:`Microphone.fault`, a sentence for the log; the owner closes the
microphone and opens it again by name when the device returns.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import AudioDeviceError
from .chunk import ASR_RATE, AudioChunk, StreamResampler
from .devices import DeviceInfo, find_device, import_sounddevice

_LOGGER = logging.getLogger(__name__)

Clock = Callable[[], float]


@dataclass(frozen=True)
class MicSettings:
    """Which microphone and how to read it."""

    device: int | str | None = None
    """Index, (part of the) name, or None for the default input device."""
    block_seconds: float = 0.02
    """Length of one block from the device; short blocks keep replies quick."""
    max_channels: int = 2
    """Open at most this many channels (they are averaged to mono)."""
    stall_timeout: float = 2.0
    """Seconds without any audio after which the stream counts as failed."""
    max_queue_seconds: float = 10.0
    """Audio buffered beyond this (the loop fell behind, or nobody reads the microphone)
    is dropped, oldest first."""
    resync_after: float = 0.25
    """Re-anchor timestamps when the device clock and the loop clock drift this far."""
    gain_db: float = 0.0
    """Decibels added to everything the microphone delivers, as a higher capture level
    would (what passes full scale is clipped), for a microphone too quiet at its highest
    capture level or with no capture control at all. ``voicecoach check`` measures the
    speech's level with it and says how much is missing. The recognizer brings a whole
    file into its level range but not a live stream: commands streamed 20 dB under the
    evaluation set's level are heard 77.6 % against 92.9 % (dev split,
    ``scripts/bench_recordings.py --streaming``)."""

    def __post_init__(self) -> None:
        if not MIN_GAIN_DB <= self.gain_db <= MAX_GAIN_DB:
            raise ValueError(
                f"a microphone gain of {self.gain_db:g} dB is out of range: use "
                f"{MIN_GAIN_DB:g} to {MAX_GAIN_DB:g} dB"
            )


MIN_GAIN_DB = -20.0
MAX_GAIN_DB = 40.0
"""The microphone gain's range. 40 dB up brings even a 16-bit converter's own noise
(about -101 dBFS) to a quiet room's level (-61 dBFS); more helps no microphone that
works."""


EARLY_SLACK = 0.001
"""Seconds a block may seem to arrive before the anchor allows without moving it (the
resampler's output does not split evenly into blocks)."""
DRIFT_WINDOW = 100
"""Blocks (2 s of 20 ms blocks) over which the least late of them tells how far the
device's clock has fallen behind the loop clock."""
DRIFT_LIMIT = 0.02
"""Seconds the least late block of a whole window may come after the anchor allows
before the anchor moves on to it, as the speaker's timeline does (``TIMELINE_JUMP`` in
:mod:`.sd_output`). A device whose clock runs slow against the loop clock (100 ppm) puts
its samples' stamps 6 ms a minute too early otherwise, and the echo canceller, which
looks for the echo at most ``AecSettings.lead`` (50 ms) before the time a block is
stamped, removed nothing once they were about 60 ms early: 10 minutes into a session."""


class BlockConverter:
    """Native-format blocks -> 16 kHz mono :class:`AudioChunk` with clock timestamps.

    Timestamps count samples from an anchor (the clock time of the first sample), so
    they do not jitter with callback scheduling. A block's callback can come late (it
    waits for the interpreter) but never early, so a block that arrives sooner than the
    anchor allows moves the anchor back to it: a late first callback would otherwise
    leave every timestamp late by as much, and the echo canceller would hold each block
    back until the speaker's reference caught up with it. A device clock that runs slow
    against the loop clock makes every block late by a little more each time: once even
    the least late block of :data:`DRIFT_WINDOW` comes :data:`DRIFT_LIMIT` after the
    anchor allows, the anchor moves on by that much. A jump of more than
    ``resync_after`` (a stall, blocks dropped) re-anchors at once.
    """

    def __init__(
        self, rate: int, channels: int, resync_after: float = 0.25, gain_db: float = 0.0
    ) -> None:
        """``gain_db``: decibels added to the samples (:attr:`MicSettings.gain_db`)."""
        self.rate = rate
        self.channels = channels
        self.resync_after = resync_after
        self._gain = 10.0 ** (gain_db / 20.0)
        self._resampler = StreamResampler(rate, ASR_RATE)
        self._anchor: float | None = None  # clock time of output sample 0
        self._out = 0  # 16 kHz samples produced since the anchor
        self._least_late = math.inf  # of the blocks in the current drift window
        self._window = 0  # blocks in it

    def convert(self, block: np.ndarray, arrived: float) -> AudioChunk:
        """Convert one int16 block of shape (frames, channels) that arrived at ``arrived``."""
        frames = len(block)
        first = arrived - frames / self.rate  # clock time of the block's first sample
        expected = None if self._anchor is None else self._anchor + self._out / ASR_RATE
        if expected is None or abs(expected - first) > self.resync_after:
            if expected is not None:
                _LOGGER.info("microphone clock re-anchored by %+.3f s", first - expected)
            self._anchor, self._out = first, 0
            expected = first
            self._least_late, self._window = math.inf, 0
        elif first < expected - EARLY_SLACK:
            assert self._anchor is not None
            self._anchor -= expected - first
            expected = first
            self._least_late, self._window = math.inf, 0
        else:
            self._least_late = min(self._least_late, first - expected)
            self._window += 1
            if self._window >= DRIFT_WINDOW:
                if self._least_late > DRIFT_LIMIT:
                    assert self._anchor is not None
                    _LOGGER.info("microphone clock behind by %.3f s; followed", self._least_late)
                    self._anchor += self._least_late
                    expected += self._least_late
                self._least_late, self._window = math.inf, 0
        mono = block.astype(np.float32).mean(axis=1) if block.ndim == 2 else block
        scaled = np.asarray(mono, dtype=np.float32) * np.float32(self._gain / 32768.0)
        out = self._resampler.process(scaled)
        self._out += len(out)
        return AudioChunk.from_float(out, ASR_RATE, expected)


Block = tuple[np.ndarray, float, str]
"""A device block as the callback copied it: samples, clock time it arrived, status."""


class BlockQueue:
    """The blocks the device callback delivered, waiting for the loop's thread.

    At most ``limit`` are held; the callback adding one more drops the oldest. A loop
    that falls behind, or a microphone left open while nobody reads it (a coach that
    stays up between sessions), would otherwise queue every block: 50 a second, 12 MB
    a minute at 48 kHz stereo.
    """

    def __init__(self, limit: int) -> None:
        self.limit = max(1, limit)
        self._blocks: deque[Block] = deque()
        self._ready = threading.Condition()
        self.dropped = 0
        """Blocks dropped since the last :meth:`take`."""

    def put(self, block: Block) -> None:
        """Add a block (the device callback: a copy and a lock, nothing more)."""
        with self._ready:
            if len(self._blocks) >= self.limit:
                self._blocks.popleft()
                self.dropped += 1
            self._blocks.append(block)
            self._ready.notify()

    def take(self, timeout: float) -> tuple[list[Block], int]:
        """Every block held, oldest first, waiting up to ``timeout`` for the first; and
        how many were dropped since the last call."""
        with self._ready:
            if not self._blocks:
                self._ready.wait(timeout)
            blocks, self._blocks = list(self._blocks), deque()
            dropped, self.dropped = self.dropped, 0
        return blocks, dropped

    def empty(self) -> bool:
        """True while no block waits."""
        return not self._blocks


class Microphone:
    """A sounddevice input stream that delivers 16 kHz mono chunks on the caller's thread."""

    def __init__(self, settings: MicSettings | None = None, clock: Clock = time.monotonic) -> None:
        self.settings = settings or MicSettings()
        self.clock = clock
        self.device: DeviceInfo | None = None
        self._stream: Any = None
        self._queue = BlockQueue(self._queue_limit())
        self._converter: BlockConverter | None = None
        self._last_data = 0.0
        self._ended = False

    # -- life cycle

    def open(self, start: bool = True) -> None:
        """Find the device by its setting and open the stream at its native format; start
        it, unless ``start`` is False (then :meth:`start` does). Raises
        :class:`~voicecoach.errors.DeviceMissing` if it is not connected, and
        :class:`AudioDeviceError` if it is but will not open."""
        sd = import_sounddevice()
        self.device = find_device(self.settings.device, "input", sd)
        rate = int(self.device.default_samplerate)
        channels = max(1, min(self.device.max_input_channels, self.settings.max_channels))
        self._queue = BlockQueue(self._queue_limit())
        self._ended = False
        try:
            self._stream = sd.InputStream(
                device=self.device.index,
                samplerate=rate,
                channels=channels,
                dtype="int16",
                blocksize=max(1, int(rate * self.settings.block_seconds)),
                callback=self._callback,
                finished_callback=self._finished,
            )
        except Exception as err:  # PortAudioError, ValueError: the device refused
            self._stream = None
            raise self._refused(err) from err
        self._converter = BlockConverter(
            rate, channels, self.settings.resync_after, self.settings.gain_db
        )
        if start:
            self.start()

    def start(self) -> None:
        """Start the stream :meth:`open` opened with ``start=False``."""
        assert self._stream is not None and self.device is not None
        try:
            self._stream.start()
        except Exception as err:  # PortAudioError: the device refused
            self.close()
            raise self._refused(err) from err
        self._last_data = self.clock()
        _LOGGER.info(
            "microphone open: %s, %d Hz, %d ch",
            self.device.name,
            self._stream.samplerate,
            self._stream.channels,
        )

    def _refused(self, err: Exception) -> AudioDeviceError:
        name = self.device.name if self.device is not None else self.settings.device
        return AudioDeviceError(
            f"cannot open the microphone {name!r} ({err}): it is connected but will not "
            "open. Close any other program that uses it, or choose another with "
            "--input-device (see `voicecoach devices`)"
        )

    def close(self) -> None:
        """Stop and close the stream (safe to call twice, and after a failure)."""
        stream, self._stream = self._stream, None
        if stream is None:
            return
        try:
            stream.abort()
            stream.close()
        except Exception as err:  # a device already gone may refuse even this
            _LOGGER.debug("closing the microphone: %s", err)

    @property
    def is_open(self) -> bool:
        """True between :meth:`open` and :meth:`close`."""
        return self._stream is not None

    # -- the audio thread: copy only

    def _callback(self, indata: np.ndarray, frames: int, time_info: Any, status: Any) -> None:
        self._queue.put((indata.copy(), self.clock(), str(status) if status else ""))

    def _queue_limit(self) -> int:
        """Blocks of :attr:`MicSettings.max_queue_seconds` (more are dropped, oldest first)."""
        return int(self.settings.max_queue_seconds / max(self.settings.block_seconds, 1e-3))

    def _finished(self) -> None:
        self._ended = True

    # -- the loop's thread

    def read(self, timeout: float = 0.05) -> list[AudioChunk]:
        """Every chunk that arrived, converted; waits up to ``timeout`` for the first."""
        chunks: list[AudioChunk] = []
        if self._stream is None or self._converter is None:
            return chunks
        items, dropped = self._queue.take(timeout)
        if not items:
            return chunks
        if dropped:
            _LOGGER.warning("the loop fell behind: dropped %d microphone blocks", dropped)
        for block, arrived, status in items:
            if status:
                _LOGGER.debug("microphone status: %s", status)
            chunks.append(self._converter.convert(block, arrived))
        self._last_data = self.clock()
        return chunks

    @property
    def fault(self) -> str | None:
        """Why the microphone is failing, or None while it delivers audio."""
        if self._stream is None:
            return "the microphone is closed"
        if self._ended or not self._stream.active:
            return "the microphone stream ended (device error or unplugged)"
        silent_for = self.clock() - self._last_data
        if self._queue.empty() and silent_for > self.settings.stall_timeout:
            return f"the microphone delivered no audio for {silent_for:.1f} s"
        return None


__all__ = [
    "MAX_GAIN_DB",
    "MIN_GAIN_DB",
    "Block",
    "BlockConverter",
    "BlockQueue",
    "MicSettings",
    "Microphone",
]
