"""A chunk of audio that says what it is.

Every chunk carries its sample rate, channel count, sample width and its time in the
stream, so code downstream never guesses. Conversion happens once, at the boundary
(:meth:`AudioChunk.to_mono16k`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

ASR_RATE = 16_000


@dataclass(frozen=True)
class AudioChunk:
    """Interleaved little-endian signed PCM samples."""

    audio: bytes
    """Raw PCM bytes, interleaved when ``channels > 1``."""
    rate: int
    """Samples per second per channel."""
    width: int = 2
    """Bytes per sample (2 = int16)."""
    channels: int = 1
    """Channel count."""
    timestamp: float = 0.0
    """Seconds into the stream of the first sample."""

    @property
    def frames(self) -> int:
        """Number of sample frames (samples per channel)."""
        return len(self.audio) // (self.width * self.channels)

    @property
    def duration(self) -> float:
        """Length in seconds."""
        return self.frames / self.rate

    @property
    def end(self) -> float:
        """Stream time just after the last sample."""
        return self.timestamp + self.duration

    def samples(self) -> np.ndarray:
        """The samples as float32 in -1..1, shape (frames, channels)."""
        if self.width != 2:
            raise ValueError(f"only 16-bit audio is supported, got {self.width * 8}-bit")
        data = np.frombuffer(self.audio, dtype="<i2").astype(np.float32) / 32768.0
        return data.reshape(-1, self.channels)

    @classmethod
    def from_float(cls, samples: np.ndarray, rate: int, timestamp: float = 0.0) -> AudioChunk:
        """Build an int16 chunk from float samples in -1..1, shape (frames,) or (frames, ch)."""
        arr = np.asarray(samples, dtype=np.float32)
        channels = 1 if arr.ndim == 1 else arr.shape[1]
        pcm = np.clip(np.round(arr * 32767.0), -32768, 32767).astype("<i2")
        return cls(pcm.tobytes(), rate, 2, channels, timestamp)

    def to_mono16k(self) -> AudioChunk:
        """This chunk as 16 kHz mono int16, the recognizers' format."""
        if self.rate == ASR_RATE and self.channels == 1 and self.width == 2:
            return self
        mono = self.samples().mean(axis=1)
        return AudioChunk.from_float(resample(mono, self.rate, ASR_RATE), ASR_RATE, 0.0)._at(
            self.timestamp
        )

    def _at(self, timestamp: float) -> AudioChunk:
        return AudioChunk(self.audio, self.rate, self.width, self.channels, timestamp)


def resample(samples: np.ndarray, src_rate: int, dst_rate: int) -> np.ndarray:
    """Resample mono float samples by linear interpolation.

    Good enough for speech going into a 16 kHz recognizer. A stateless per-chunk
    resampler leaves a tiny seam at chunk edges; streaming callers that care should
    use :class:`StreamResampler`.
    """
    if src_rate == dst_rate or len(samples) == 0:
        return np.asarray(samples, dtype=np.float32)
    n_out = int(round(len(samples) * dst_rate / src_rate))
    x_out = np.arange(n_out, dtype=np.float64) * (src_rate / dst_rate)
    return np.interp(x_out, np.arange(len(samples)), samples).astype(np.float32)


def lowpass_taps(cutoff: float, half: int = 24) -> np.ndarray:
    """A Hann-windowed sinc low-pass of ``2 * half + 1`` taps; ``cutoff`` as a fraction
    of the sample rate (0.5 = Nyquist)."""
    n = np.arange(-half, half + 1)
    taps = 2 * cutoff * np.sinc(2 * cutoff * n) * np.hanning(2 * half + 3)[1:-1]
    return (taps / taps.sum()).astype(np.float32)


class StreamFir:
    """A FIR filter over a stream: each call's output carries on from the last call's
    (the filter keeps the last ``len(taps) - 1`` input samples); as many samples out as
    in, ``len(taps) // 2`` samples late for symmetric taps."""

    def __init__(self, taps: np.ndarray) -> None:
        self.taps = taps
        self._history = np.zeros(len(taps) - 1, dtype=taps.dtype)

    def process(self, samples: np.ndarray) -> np.ndarray:
        """Filter ``samples``; the result has the taps' dtype."""
        if len(samples) == 0:
            return np.zeros(0, dtype=self.taps.dtype)
        joined = np.concatenate([self._history, samples])
        self._history = joined[len(joined) - len(self._history) :]
        return np.convolve(joined, self.taps, mode="valid").astype(self.taps.dtype)


class StreamResampler:
    """Linear resampler that keeps its phase across chunks (no seams, no drift).

    Going down in rate, the input is low-passed first (a streaming FIR, just under the
    new Nyquist frequency): interpolation alone folds everything between the new and
    the old Nyquist frequency into the band (a 48 kHz microphone's 8-24 kHz into 0-8
    kHz), which is noise to the recognizer and echo the echo canceller cannot model.
    The filter delays the signal by ``half`` input samples (0.5 ms at 48 kHz).
    """

    def __init__(self, src_rate: int, dst_rate: int, phase: float = 0.0) -> None:
        """``phase``: where the first output sample falls, in input samples (of the
        filtered input: see :attr:`delay`)."""
        self.src_rate = src_rate
        self.dst_rate = dst_rate
        self._step = src_rate / dst_rate
        self._pos = phase  # position of the next output sample, in input samples of _buf
        self._buf = np.zeros(0, dtype=np.float32)
        self._filter: StreamFir | None = None
        self.delay = self.filter_delay(src_rate, dst_rate)
        """Input samples the output lags the input by (the low-pass filter's delay)."""
        if self.delay:
            self._filter = StreamFir(lowpass_taps(0.47 * dst_rate / src_rate, self.delay))

    @staticmethod
    def filter_delay(src_rate: int, dst_rate: int) -> int:
        """The :attr:`delay` of a resampler between these rates (0 unless going down)."""
        return max(16, int(round(16 * src_rate / dst_rate))) if dst_rate < src_rate else 0

    def _lowpass(self, samples: np.ndarray) -> np.ndarray:
        return samples if self._filter is None else self._filter.process(samples)

    def process(self, samples: np.ndarray) -> np.ndarray:
        """Feed mono float samples, get the resampled ones available so far."""
        if self.src_rate == self.dst_rate:
            return np.asarray(samples, dtype=np.float32)
        filtered = self._lowpass(np.asarray(samples, dtype=np.float32))
        self._buf = np.concatenate([self._buf, filtered])
        last = len(self._buf) - 1
        if last < 1 or self._pos > last:
            return np.zeros(0, dtype=np.float32)
        n = int((last - self._pos) // self._step) + 1
        x = self._pos + np.arange(n) * self._step
        out = np.interp(x, np.arange(len(self._buf)), self._buf).astype(np.float32)
        self._pos += n * self._step
        drop = int(self._pos)  # keep the sample before the next output position
        drop = max(0, min(drop, len(self._buf) - 1))
        self._buf = self._buf[drop:]
        self._pos -= drop
        return out
