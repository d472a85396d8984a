"""Acoustic echo cancellation: take the coach's own voice out of the microphone signal.

On a device with no echo cancellation the microphone hears the coach at about the
user's level. The endpointer then joins the user's "it hurts" and the coach's count
into one long span, which the recognizer rejects: a pain report said over the coach
would be lost. The coach knows exactly what it played, so it can subtract its echo.

- :class:`ReferenceBuffer` keeps what the speaker played as 16 kHz mono samples on the
  clock (written by :class:`~voicecoach.runtime.doubletalk.TapSink`).
- :class:`AdaptiveFilter` is a partitioned-block frequency-domain adaptive filter
  (the "multidelay" filter of Soo and Pang, as in Speex's echo canceller) that learns
  the path from the speaker to the microphone: output latency, the distance, the
  room's reflections. It keeps two copies: a *background* filter that always adapts,
  and a *foreground* filter that makes the output and takes the background's
  coefficients only while they cancel better. When the user talks over the coach the
  background filter goes astray (the user's voice looks like a changed echo path);
  the foreground one does not follow it, and the background is reset to the
  foreground once it is clearly worse. So double talk neither hurts the user's voice
  nor undoes what was learned.
- :class:`EchoCanceller` runs the filter on the microphone's chunks, reading the
  reference at the chunks' clock times.

What it cannot do: remove echo that is not a linear function of what was played
(a distorting speaker, clipping), echo arriving later than the filter's length, or
echo when the reference's timing is off by more than ``lead`` (the reference is then
later than the echo, and no causal filter can predict it).
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .chunk import ASR_RATE, AudioChunk, lowpass_taps


@dataclass(frozen=True)
class AecSettings:
    """How the echo canceller is built."""

    block: int = 160
    """Samples per filter block at 16 kHz (10 ms): the unit of adaptation."""
    length: float = 0.4
    """Seconds of echo path the filter models (output-delay error, room reverberation)."""
    lead: float = 0.05
    """Seconds the reference is read ahead of the microphone, so an echo up to this much
    *earlier* than the playback time the sink reported is still cancelled. The
    microphone waits for the reference this far ahead of it (see ``ready``)."""
    suppress: bool = True
    """Take blocks that hold only residual echo down to the room's noise
    (:class:`ResidualSuppressor`)."""
    suppress_margin: float = 4.0
    """A block is taken for residual echo while its energy is under this many times
    what the echo estimate predicts is left (plus noise); lower keeps more of a quiet
    user's voice over the coach and lets more echo through."""
    suppress_lookahead: int = 2
    """Blocks the suppressor looks ahead before it replaces one: a block just before
    the user's voice passes, so a word's weak first sound is kept. While the coach is
    heard the output runs this many blocks late (20 ms); in silence, not at all."""
    skip_silence: bool = True
    """Skip the filter's transforms once nothing has played for longer than it spans
    (the result is the same: see :meth:`AdaptiveFilter.process`); False always runs
    them (to compare)."""
    settle: float = 1.0
    """Seconds after a change of the echo path's timing (the speaker's reported times
    or the microphone's jumped) during which blocks are not clean: the double-talk
    check neither learns from nor judges them (:attr:`BlockLog` ``clean``)."""
    step: float = 0.5
    """Normalised step size of the background filter (0 < step < 1; larger adapts
    faster and follows the user's voice more during double talk)."""

    def __post_init__(self) -> None:
        if self.block <= 0 or self.length <= 0 or self.lead < 0 or self.suppress_lookahead < 0:
            raise ValueError(
                "block and length must be positive, lead and suppress_lookahead not negative"
            )
        if not 0 < self.step < 2:
            raise ValueError("step must be between 0 and 2")

    @property
    def partitions(self) -> int:
        """Number of blocks the filter spans."""
        return max(1, math.ceil(self.length * ASR_RATE / self.block))


class ReferenceBuffer:
    """What the speaker played, as 16 kHz mono float samples indexed by clock time.

    Sample ``i`` plays at clock time ``i / 16000``. Only the last ``keep`` seconds are
    kept; reading outside what was written gives silence.
    """

    def __init__(self, keep: float = 30.0) -> None:
        self.size = int(keep * ASR_RATE)
        self._buf = np.zeros(self.size, dtype=np.float32)
        self._last = 0  # one past the highest sample index written
        self._first = 0  # lowest index still held
        self._read_to = -(2**62)  # one past the highest sample index read
        self.late_to = -(2**62)
        """One past the last sample of sound written after it had been read as silence:
        a canceller that reads ``lead`` ahead without waiting for the reference (no
        ``ready``, or one that stopped waiting, ``READY_STALL``) can have read silence
        where a line then starts. The live loop's canceller waits until the reference
        is complete: a device's sink reports what it will play ahead of time, and a
        memory sink (the demo's) only from now on
        (:meth:`~voicecoach.runtime.doubletalk.TapSink.complete_until`)."""
        self.moved_at = -(2**62)
        """Sample index from which what was played moved on the clock against what came
        before (:meth:`moved`)."""

    def moved(self, t: float) -> None:
        """Note that what plays from clock time ``t`` on was placed on a timeline moved
        against the one before (the speaker's reported times jumped: an underrun, or
        a device clock that drifted from the loop's). For the echo canceller the echo
        path changed there by the move."""
        self.moved_at = max(self.moved_at, self.index(t))

    @staticmethod
    def index(t: float) -> int:
        """Sample index of clock time ``t``."""
        return int(round(t * ASR_RATE))

    def add(self, start: float, samples: np.ndarray) -> None:
        """Mix ``samples`` (16 kHz mono float) in from clock time ``start``."""
        i = self.index(start)
        n = len(samples)
        if n == 0:
            return
        if i < self._read_to and np.any(np.abs(samples[: self._read_to - i]) > 1e-4):
            self.late_to = max(self.late_to, min(i + n, self._read_to))
        if n > self.size:  # only the newest part fits
            samples, i, n = samples[-self.size :], i + n - self.size, self.size
        end = i + n
        if end > self._last:
            self._clear(max(self._last, end - self.size), end)  # recycled slots
            self._last = end
            self._first = max(self._first, end - self.size)
        lo = max(i, self._first)
        if lo >= end:
            return
        pos = np.arange(lo, end) % self.size
        self._buf[pos] += samples[lo - i :]

    def read(self, start: int, n: int) -> np.ndarray:
        """``n`` samples from sample index ``start`` (silence where nothing is held)."""
        out = np.zeros(n, dtype=np.float32)
        self._read_to = max(self._read_to, start + n)
        lo, hi = max(start, self._first), min(start + n, self._last)
        if hi > lo:
            out[lo - start : hi - start] = self._buf[np.arange(lo, hi) % self.size]
        return out

    def clear_from(self, t: float) -> None:
        """Forget everything from clock time ``t`` on (the speaker was silenced)."""
        i = max(self.index(t), self._first)
        if i < self._last:
            self._clear(i, self._last)
            self._last = i

    def _clear(self, lo: int, hi: int) -> None:
        if hi > lo:
            self._buf[np.arange(lo, hi) % self.size] = 0.0


def to_reference(samples: np.ndarray, rate: int) -> np.ndarray:
    """Mono float samples at ``rate`` -> 16 kHz, low-passed below 7.6 kHz first.

    Linear interpolation alone would fold the voice's 8-11 kHz into the band as
    aliases that the microphone's signal does not have, and the filter cannot cancel.
    """
    x = np.asarray(samples, dtype=np.float32)
    if rate == ASR_RATE or len(x) == 0:
        return x
    if rate > ASR_RATE:
        x = np.convolve(x, lowpass_taps(0.95 * (ASR_RATE / 2) / rate), mode="same")
    n_out = int(round(len(x) * ASR_RATE / rate))
    pos = np.arange(n_out, dtype=np.float64) * (rate / ASR_RATE)
    return np.interp(pos, np.arange(len(x)), x).astype(np.float32)


def place_reference(samples: np.ndarray, rate: int, start: float) -> tuple[float, np.ndarray]:
    """Mono float samples at ``rate`` that play from clock time ``start``, as 16 kHz
    reference samples on the clock's own grid (sample ``i`` at time ``i / 16000``):
    (the time of the first, the samples).

    The chunks of one stretch of speech, placed one by one this way and mixed in a
    :class:`ReferenceBuffer`, add up to the whole stretch resampled at once: each
    chunk's low-pass runs over its whole length and past its edges (the mixing adds
    the overlaps), and every chunk is read at the grid's times, not from its own first
    sample. Resampled from its own first sample, a chunk starting between two grid
    samples was put up to half a sample off (31 microseconds, a third of a cycle at
    3 kHz), and at each new line the filter met what looked like a changed echo path:
    its leftover rose to half the echo for a fifth of a second.
    """
    x = np.asarray(samples, dtype=np.float64)
    if len(x) == 0:
        return start, np.zeros(0, dtype=np.float32)
    lead = 0
    if rate > ASR_RATE:
        taps = lowpass_taps(0.95 * (ASR_RATE / 2) / rate)
        x = np.convolve(x, taps.astype(np.float64), mode="full")
        lead = len(taps) // 2  # x[j] is the signal at input position j - lead
    first_time = start - lead / rate
    last_time = start + (len(x) - 1 - lead) / rate
    first = math.ceil(first_time * ASR_RATE - 1e-6)
    last = math.floor(last_time * ASR_RATE + 1e-6)
    grid = np.arange(first, last + 1, dtype=np.float64) / ASR_RATE
    pos = (grid - first_time) * rate
    out = np.interp(pos, np.arange(len(x)), x, left=0.0, right=0.0)
    return first / ASR_RATE, out.astype(np.float32)


class AdaptiveFilter:
    """Two-path partitioned-block frequency-domain NLMS filter (see the module doc).

    :meth:`process` takes one block of microphone and reference samples and returns the
    microphone block with the predicted echo taken out.
    """

    def __init__(self, settings: AecSettings | None = None) -> None:
        self.settings = settings or AecSettings()
        n, p = self.settings.block, self.settings.partitions
        self.n = n
        bins = n + 1
        self._x_prev = np.zeros(n, dtype=np.float64)
        self._X = np.zeros((p, bins), dtype=np.complex128)  # newest block first
        self._power = np.zeros((p, bins))  # |X|^2 per partition, for the normalisation
        self.foreground = np.zeros((p, bins), dtype=np.complex128)
        self.background = np.zeros((p, bins), dtype=np.complex128)
        self._davg1 = self._davg2 = self._dvar1 = self._dvar2 = 0.0
        # Regularisation: reference power below about -60 dBFS per bin adapts nothing.
        self._delta = 2 * n * 1e-6 * p
        self.echo = np.zeros(n)
        """The foreground's echo estimate of the last block (what it subtracted)."""
        self.adapted = False
        """True once the filter has adapted about its own length's worth."""
        self._adapt_sum = 0.0
        self._e_prev = np.zeros(n)
        self._y_prev = np.zeros(n)
        self._pey = 0.0
        self._pyy = 1e-12
        self._window = np.hanning(2 * n)  # for the spectra the leak is judged on
        self._silent = 0  # blocks in a row whose reference was silence

    def _echo(self, weights: np.ndarray) -> np.ndarray:
        y = np.fft.irfft(np.sum(weights * self._X, axis=0), 2 * self.n)
        return y[self.n :]

    def process(self, mic: np.ndarray, ref: np.ndarray) -> np.ndarray:
        """One block: ``mic`` and ``ref`` of :attr:`n` float samples -> the residual."""
        n = self.n
        ref = np.asarray(ref, dtype=np.float64)
        mic = np.asarray(mic, dtype=np.float64)
        self._silent = self._silent + 1 if not ref.any() else 0
        if self._silent > self.settings.partitions and self.settings.skip_silence:
            return self._process_silent(mic)
        spectrum = np.fft.rfft(np.concatenate([self._x_prev, ref]))
        self._x_prev = ref
        self._X = np.roll(self._X, 1, axis=0)
        self._X[0] = spectrum
        self._power = np.roll(self._power, 1, axis=0)
        self._power[0] = spectrum.real**2 + spectrum.imag**2

        y_f = self._echo(self.foreground)
        y_b = self._echo(self.background)
        e_f = mic - y_f
        e_b = mic - y_b

        # Background: normalised LMS in the frequency domain, gradient constrained to
        # the first half of each partition (a linear, not circular, convolution), at a
        # rate per frequency that falls when the error holds more than residual echo.
        err = np.fft.rfft(np.concatenate([np.zeros(n), e_b]))
        norm = np.sum(self._power, axis=0) + self._delta
        rate = self._rate(ref, e_f, y_f)
        grad = np.conj(self._X) * (err * rate / norm)
        g = np.fft.irfft(grad, 2 * n, axis=1)
        g[:, n:] = 0.0
        self.background += np.fft.rfft(g, axis=1)

        self._choose(e_f, e_b, y_f - y_b)
        self.echo = y_f
        return e_f.astype(np.float32)

    def _process_silent(self, mic: np.ndarray) -> np.ndarray:
        """:meth:`process` once nothing has played for longer than the filter spans:
        every partition of the reference then holds silence, so both filters predict
        no echo and adapt by nothing (their gradient is a multiple of the reference).
        The same result without the transforms: the coach waits for the user most of
        a session, and the standby between sessions always."""
        zero = np.zeros(self.n)
        if self._x_prev.any():  # the reference's last sound leaves the partitions
            self._x_prev = zero
        self._X[:] = 0.0
        self._power[:] = 0.0
        self._e_prev, self._y_prev = mic, zero
        self._choose(mic, mic, zero)
        self.echo = zero
        return mic.astype(np.float32)

    def _rate(self, ref: np.ndarray, e_f: np.ndarray, y_f: np.ndarray) -> np.ndarray | float:
        """Step size per frequency bin: high while the error is mostly echo, low while
        the user talks over the coach (double talk).

        The share of echo left in the error is judged as in Speex: a *leak* factor,
        how much of the echo estimate's power spectrum still shows in the error's
        (their covariance over bins, smoothed), times the echo estimate. Until the
        filter has adapted a filter's length worth, the rate follows the reference's
        energy against the error's instead (the leak means nothing yet).
        """
        s_xx = float(ref @ ref)
        s_ee = float(e_f @ e_f) + 1e-10
        s_yy = float(y_f @ y_f)
        step = self.settings.step
        if not self.adapted:
            r = step * min(1.0, 0.25 * s_xx / s_ee)
            self._adapt_sum += r
            if self._adapt_sum > self.settings.partitions:
                self.adapted = True
            return r
        window = self._window
        ep = np.abs(np.fft.rfft(window * np.concatenate([self._e_prev, e_f]))) ** 2
        yp = np.abs(np.fft.rfft(window * np.concatenate([self._y_prev, y_f]))) ** 2
        self._e_prev, self._y_prev = e_f, y_f
        de, dy = ep - ep.mean(), yp - yp.mean()
        a = min(0.05 * s_yy / s_ee, 0.05)
        self._pey = (1 - a) * self._pey + a * float(de @ dy)
        self._pyy = max((1 - a) * self._pyy + a * float(dy @ dy), 1e-12)
        leak = min(max(self._pey / self._pyy, 0.005), 1.0)
        rer = min((1e-4 * s_xx + 3.0 * leak * s_yy) / s_ee, 0.5)
        residual = leak * yp
        share = (0.7 * residual + 0.3 * rer * ep) / (ep + 1e-10)
        return step * np.minimum(share, 1.0)

    def _choose(self, e_f: np.ndarray, e_b: np.ndarray, diff: np.ndarray) -> None:
        """Copy background -> foreground when it cancels better, or reset it when worse.

        The test weighs the gap between the two errors' energies against how much the
        two filters' outputs differ, over one block and two smoothed horizons, so a
        chance difference in one block does not flip the filters.
        """
        s_ff = float(e_f @ e_f)
        s_ee = float(e_b @ e_b)
        s_bf = float(diff @ diff)
        gap = s_ff - s_ee
        self._davg1 = 0.6 * self._davg1 + 0.4 * gap
        self._davg2 = 0.85 * self._davg2 + 0.15 * gap
        self._dvar1 = 0.36 * self._dvar1 + 0.16 * s_ff * s_bf
        self._dvar2 = 0.7225 * self._dvar2 + 0.0225 * s_ff * s_bf
        better = (
            gap * abs(gap) > s_ff * s_bf
            or self._davg1 * abs(self._davg1) > 0.5 * self._dvar1
            or self._davg2 * abs(self._davg2) > 0.25 * self._dvar2
        )
        worse = (
            -gap * abs(gap) > 8 * s_ff * s_bf
            or -self._davg1 * abs(self._davg1) > 4 * self._dvar1
            or -self._davg2 * abs(self._davg2) > 4 * self._dvar2
        )
        if better and s_bf > 0:
            self.foreground[:] = self.background
        elif worse:
            self.background[:] = self.foreground
        else:
            return
        self._davg1 = self._davg2 = self._dvar1 = self._dvar2 = 0.0


NOISE_RISE = 10 ** (0.03 / 10)
"""How much the suppressor's noise floor may rise per 10 ms block: 3 dB a second, so
a room that gets louder (a fan switched on) is followed within seconds, and a second
of the user's words lifts it no more than that."""


class ResidualSuppressor:
    """Replaces blocks that hold nothing but what is left of the echo with room noise.

    A linear filter leaves echo some 15-25 dB down: quiet, but still speech to a voice
    activity detector, which then opens an utterance on it or joins it to the user's
    words. Turning it down is not enough (a detector that normalises level still
    hears speech in it), so such a block is swapped for comfort noise at the room's
    noise floor. Per 10 ms block, the residual's energy is compared with what the
    echo estimate predicts is left of it (the median ratio over the last seconds of
    the coach's speech: the user rarely talks over it) plus the room's noise. A block
    within ``margin`` of that is replaced; a block clearly above it (the user talking)
    passes unchanged, and so do the ``lookahead`` blocks before it: a word's weak
    first sound (the "h" of "hold on" or "it hurts") is under the margin, and without
    it the recognizer heard "go on" and "help".

    Looking ahead means holding blocks back, so while the coach is heard the output
    runs ``lookahead`` blocks behind the input. While it is quiet nothing is held: the
    first quiet block releases what was held, and a reply to the user waiting in
    silence is not delayed.
    """

    def __init__(
        self, margin: float = 4.0, history: int = 500, seed: int = 0, lookahead: int = 2
    ) -> None:
        if lookahead < 0:
            raise ValueError("the suppressor's lookahead must not be negative")
        self.margin = margin
        self.lookahead = lookahead
        self._ratios: deque[float] = deque(maxlen=history)
        self._noise: float | None = None
        self._gain = 1.0
        self._rng = np.random.default_rng(seed)
        self._held: deque[tuple[np.ndarray, bool]] = deque()  # (residual, someone talks)

    @property
    def held(self) -> int:
        """Samples held back, waiting for the blocks after them."""
        return sum(len(r) for r, _ in self._held)

    def process(self, residual: np.ndarray, echo: np.ndarray) -> np.ndarray:
        """One block: the residual after the filter, and the echo it subtracted. Returns
        the blocks now decided, in order: none while the first blocks are held back,
        one, or (when the coach falls quiet) everything held and this one."""
        s_ee = float(residual @ residual) + 1e-12
        s_yy = float(echo @ echo)
        if self._noise is None:
            self._noise = s_ee
        if s_yy < 0.1 * self._noise:
            # The coach is quiet: track the room's noise, down at once, up by at most
            # NOISE_RISE a block. A step towards each block's energy instead let the
            # user's words between the coach's (40 times the noise) lift it 9 dB within
            # a word, and the comfort noise then kept the voice detector on.
            self._noise = min(s_ee, self._noise * NOISE_RISE)
            out = [self._release() for _ in range(len(self._held))]
            self._gain = 1.0
            return np.concatenate([*out, residual]) if out else residual
        self._ratios.append(min(s_ee / s_yy, 1.0))
        ratio = float(np.median(self._ratios))
        expected = ratio * s_yy + self._noise
        self._held.append((residual, s_ee > self.margin * expected))
        if len(self._held) <= self.lookahead:
            return residual[:0]
        return self._release()

    def _release(self) -> np.ndarray:
        """The oldest held block, passed if someone talks in it or in the blocks held
        after it, else taken towards comfort noise."""
        residual, _ = self._held[0]
        gain = 1.0 if any(talks for _, talks in self._held) else 0.0
        self._held.popleft()
        # Open at once, close over a few blocks (no clicks at the end of a word).
        self._gain = gain if gain >= self._gain else 0.5 * self._gain
        if self._gain >= 1.0:
            return residual
        assert self._noise is not None
        level = math.sqrt(self._noise / len(residual) * (1.0 - self._gain**2))
        comfort = self._rng.normal(0.0, level, len(residual))
        return self._gain * residual + comfort

    def drop_held(self) -> None:
        """Forget the blocks held back (the stream jumped: they lead nowhere)."""
        self._held.clear()


class BlockLog:
    """The canceller's work per filter block, for telling the user from the echo
    (:class:`~voicecoach.runtime.doubletalk.ResidualCheck`): the clock time of each
    block, and the energy of the microphone, of the echo estimate the filter took out,
    and of what was left (before the residual suppressor). The last ``keep`` seconds
    are kept.
    """

    def __init__(self, keep: float = 60.0, block: int = 160) -> None:
        self.block = block
        self.size = max(1, int(keep * ASR_RATE / block))
        self._data = np.zeros((6, self.size))  # start (s), mic, echo, residual, cross, clean
        self._n = 0  # blocks ever added

    def add(
        self,
        start: float,
        mic: np.ndarray,
        echo: np.ndarray,
        residual: np.ndarray,
        clean: bool = True,
    ) -> None:
        """One block: its start on the clock, its three signals, and whether the filter
        had the whole reference for it (see :attr:`ReferenceBuffer.late_to`)."""
        i = self._n % self.size
        mic = mic.astype(np.float64)
        residual = residual.astype(np.float64)
        self._data[:, i] = (
            start,
            float(mic @ mic),
            float(echo @ echo),
            float(residual @ residual),
            float(residual @ echo),
            float(clean),
        )
        self._n += 1

    def since(self, t: float) -> np.ndarray:
        """Rows (start, mic, echo, residual, residual x echo, clean) of the blocks from
        clock time ``t`` on, oldest first (a 6 x n array)."""
        n = min(self._n, self.size)
        order = (np.arange(self._n - n, self._n)) % self.size
        data = self._data[:, order]
        return data[:, data[0] >= t]

    def clear(self) -> None:
        """Forget every block (a new echo path: another speaker)."""
        self._n = 0


READY_STALL = 0.25
"""Seconds the microphone may run ahead of the complete reference before the canceller
stops waiting for it (the output stopped: a device error)."""


class EchoCanceller:
    """Takes the played reference out of 16 kHz mono microphone chunks on the clock.

    Chunks of any length go in; what comes out is whole filter blocks, so a chunk may
    come out shorter or longer than it went in (a few milliseconds are held back, and
    while the coach is heard the suppressor's lookahead as well), with its timestamp
    at its first sample. A gap or jump in the chunks' times restarts the
    block grid there; the filter keeps what it learned.

    ``ready`` (optional) gives the clock time up to which the reference is complete. The
    filter reads each block of the reference once, when it is the newest (``lead``
    ahead of the microphone block), and keeps it for the whole echo path: a block read
    before the speaker's callback had written it would stay silence in the filter, and
    the echo of everything in it would go through uncancelled. So a microphone block
    waits until the reference it needs is complete, unless the reference has stopped
    coming (``READY_STALL`` behind the microphone: a dead output device).
    """

    def __init__(
        self,
        reference: ReferenceBuffer,
        settings: AecSettings | None = None,
        ready: Callable[[], float] | None = None,
    ) -> None:
        self.reference = reference
        self.ready = ready
        self.settings = settings or AecSettings()
        self.filter = AdaptiveFilter(self.settings)
        self.suppressor = (
            ResidualSuppressor(
                self.settings.suppress_margin, lookahead=self.settings.suppress_lookahead
            )
            if self.settings.suppress
            else None
        )
        self.log = BlockLog(block=self.settings.block)
        """Energies per block, for the double-talk check."""
        self._pending = np.zeros(0, dtype=np.float32)
        self._start: int | None = None  # sample index (clock) of _pending[0]
        self._lead = int(round(self.settings.lead * ASR_RATE))
        self._unclean_until = -(2**62)  # blocks starting before this lacked reference
        self._moved_span = (-(2**62), -(2**62))  # blocks starting in it: the path moved

    def _note_late(self) -> None:
        """Blocks whose filter holds silence where sound was played later (written
        after it had been read, :attr:`ReferenceBuffer.late_to`) are not clean: the
        echo of that sound is not cancelled until it has passed through the filter."""
        span = self.settings.partitions * self.settings.block
        late_to = getattr(self.reference, "late_to", None)
        if late_to is not None:
            self._unclean_until = max(self._unclean_until, late_to + span)
        moved_at = getattr(self.reference, "moved_at", None)
        if moved_at is not None:
            self._moved(moved_at)

    def _moved(self, at: int) -> None:
        """The echo path changed at sample ``at`` (the reference's timeline or the
        microphone's moved): blocks until the filter has had ``settle`` to follow are not
        clean. In ``scripts/bench_doubletalk.py --delay-step`` the filter's leftover
        stood as high as a user's voice for about 0.6 s after such a change."""
        if at > self._moved_span[0]:
            self._moved_span = (at, at + int(self.settings.settle * ASR_RATE))

    def process(self, chunk: AudioChunk) -> AudioChunk | None:
        """The chunk with the echo removed, or None while nothing is ready (less than a
        block, or only what the suppressor holds back)."""
        if chunk.rate != ASR_RATE or chunk.channels != 1:
            raise ValueError("the echo canceller takes 16 kHz mono chunks")
        samples = chunk.samples()[:, 0]
        first = ReferenceBuffer.index(chunk.timestamp)
        expected = None if self._start is None else self._start + len(self._pending)
        if expected is None or abs(first - expected) > self.settings.block:
            if expected is not None:
                self._moved(first)  # the microphone's timeline jumped
            self._pending = samples
            self._start = first
            if self.suppressor is not None:
                self.suppressor.drop_held()
        else:
            self._pending = np.concatenate([self._pending, samples])
        assert self._start is not None
        n = self.filter.n
        blocks = len(self._pending) // n
        ready = self.ready() if self.ready is not None else math.inf
        if blocks and ready < math.inf:
            newest = self._start + len(self._pending)  # one past the newest mic sample
            complete = ReferenceBuffer.index(ready) if ready > -math.inf else -(2**62)
            if newest - complete < READY_STALL * ASR_RATE:
                # Block b needs the reference up to _start + (b + 1) * n + lead.
                blocks = min(blocks, max(0, (complete - self._lead - self._start) // n))
        if blocks == 0:
            return None
        self._note_late()
        parts = []
        for b in range(blocks):
            at = self._start + b * n
            ref = self.reference.read(at + self._lead, n)
            mic = self._pending[b * n : (b + 1) * n]
            residual = self.filter.process(mic, ref)
            moved = self._moved_span[0] <= at < self._moved_span[1]
            clean = at >= self._unclean_until and not moved
            self.log.add(at / ASR_RATE, mic, self.filter.echo, residual, clean)
            if self.suppressor is not None:
                residual = self.suppressor.process(residual, self.filter.echo)
            parts.append(residual)
        self._pending = self._pending[blocks * n :]
        self._start += blocks * n
        out = np.concatenate(parts).astype(np.float32, copy=False)
        if len(out) == 0:
            return None  # held back by the suppressor
        # What comes out ends where the suppressor's held blocks begin.
        end = self._start - (self.suppressor.held if self.suppressor is not None else 0)
        return AudioChunk.from_float(out, ASR_RATE, (end - len(out)) / ASR_RATE)


__all__ = [
    "AdaptiveFilter",
    "AecSettings",
    "BlockLog",
    "EchoCanceller",
    "ReferenceBuffer",
    "ResidualSuppressor",
    "place_reference",
    "to_reference",
]
