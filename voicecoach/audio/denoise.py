"""Stationary noise suppression for the recognizer: a streaming Wiener filter.

PocketSphinx's acoustic model was trained on quiet speech; a fan, traffic or hiss at
10 dB below the voice takes most of its accuracy (its own ``remove_noise`` is already
on). Worse, in steady noise above about -35 dBFS (a fan near a cheap microphone) its
voice activity detector calls everything speech, so no utterance ever ends and nothing
is heard at all. Taking the steady part of the noise out of the spectrum first helps
with both.

On the evaluation set's test split, streamed as the live loop feeds it
(``scripts/bench_asr.py eval/full --streaming``, with ``--no-denoise`` for the "before";
the rejection threshold retuned with it, see the PocketSphinx module): recall 34.2 ->
45.6 %, commands taken for another command 34.2 -> 27.1 %, false accepts 34.8 -> 35.8 %.

How: short-time spectra (30 ms square-root Hann windows, 15 ms hop, overlap-add); a
per-bin noise estimate, the mean power of the first quarter second, then a running
mean of the bins under three times the estimate, creeping up slowly elsewhere (about
1 dB a second, so a held vowel is not learnt as noise); a Wiener gain on a
decision-directed a-priori SNR (Ephraim and Malah), which passes at once a bin 10 dB
over the noise (a plosive's burst) and is floored at -20 dB so that the noise left is
smooth rather than "musical". The noise is taken down to about :data:`QUIET` and no
further: a quiet room's audio passes untouched.

Stream in, stream out: :meth:`NoiseSuppressor.process` returns as many samples as it
is given, at least :data:`DELAY` samples late (the first ones are silence).
"""

from __future__ import annotations

import numpy as np

from .chunk import ASR_RATE

WINDOW = 480
"""Samples per analysis window (30 ms at 16 kHz, PocketSphinx's voice activity frame)."""

HOP = WINDOW // 2
"""Samples between windows."""

DELAY = WINDOW
"""Least samples by which the output lags the input: a hop of overlap-add, and a hop
of input that may not be whole yet when as many samples must come out as went in."""

GAIN_FLOOR = 0.1
"""Least gain per bin (-20 dB): more suppression leaves musical noise behind."""

QUIET = -50.0
"""Noise level (dBFS) the filter takes the noise down to and no further: quieter
noise passes untouched, so speech in a quiet room reaches the recognizer as it was
(suppression there changed the odd word and gained nothing)."""

SMOOTHING = 0.98
"""Weight of the last frame's clean-speech estimate in the a-priori SNR."""

ONSET = 10.0
"""Posterior SNR above which a bin is passed at once (a noise bin exceeds it with a
chance of about 5 in 100 000)."""

NOISE_LIKE = 3.0
"""A bin counts as noise when its power is under this many times the noise estimate
(an exponentially distributed noise bin stays under it 95 % of the time)."""

FOLLOW = 0.1
"""Share of the way the noise estimate moves toward a noise-like bin's power, per frame
(a time constant of about 0.15 s)."""

RISE = 1.004
"""Factor by which the noise estimate creeps up per frame when the bin is louder
(about 1.2 dB a second at 66.7 windows a second)."""

WARM_UP = 16
"""Frames (about 0.25 s) over which the first noise estimate is the mean power heard,
before it starts to follow the noise-like bins."""

_TINY = 1e-3  # power floor (int16 scale), keeps digital silence from dividing by zero


class NoiseSuppressor:
    """A streaming Wiener filter for 16 kHz mono int16 audio (see the module doc).

    The noise estimate starts as the mean of the first :data:`WARM_UP` windows and
    adapts from then on. One instance per stream.
    """

    def __init__(self, delay: int = DELAY) -> None:
        """Start with no noise estimate (the first WARM_UP windows set it); the output
        is ``delay`` samples late (at least :data:`DELAY`; more keeps a caller's frame
        grid where it was)."""
        if delay < DELAY:
            raise ValueError(f"the output cannot be less than {DELAY} samples late")
        self._window = np.sqrt(np.hanning(WINDOW + 1)[:WINDOW])
        self._noise = np.zeros(WINDOW // 2 + 1)
        self._clean = np.ones(WINDOW // 2 + 1)  # last frame's |gain|^2 * posterior SNR
        self._frames = 0
        self._input = np.zeros(WINDOW - HOP)  # the window's history before the next hop
        self._pending = np.zeros(0)  # input samples not yet a whole hop
        self._overlap = np.zeros(WINDOW - HOP)  # the next hop's share of the last window
        # Output not handed out yet; overlap-add itself is a hop late.
        self._ready = np.zeros(delay - HOP)

    def process(self, samples: np.ndarray) -> np.ndarray:
        """Suppress noise in ``samples`` (int16); as many samples out, ``delay`` late."""
        n = len(samples)
        pending = np.concatenate([self._pending, samples.astype(np.float64)])
        hops = len(pending) // HOP
        out = [self._ready]
        for k in range(hops):
            out.append(self._frame(pending[k * HOP : (k + 1) * HOP]))
        self._pending = pending[hops * HOP :]
        ready = np.concatenate(out)
        self._ready = ready[n:]
        return np.clip(np.rint(ready[:n]), -32768, 32767).astype(np.int16)

    def _frame(self, hop: np.ndarray) -> np.ndarray:
        """Take in one hop; return the hop of output it completes."""
        frame = np.concatenate([self._input, hop])
        self._input = frame[HOP:]
        spectrum = np.fft.rfft(frame * self._window)
        power = spectrum.real**2 + spectrum.imag**2
        self._frames += 1
        if self._frames <= WARM_UP:
            noise = self._noise + (power - self._noise) / self._frames
        else:
            follow = self._noise + FOLLOW * (power - self._noise)
            noise = np.where(power < NOISE_LIKE * self._noise, follow, self._noise * RISE)
        self._noise = noise = np.maximum(noise, _TINY)
        posterior = power / noise
        prior = SMOOTHING * self._clean + (1 - SMOOTHING) * np.maximum(posterior - 1.0, 0.0)
        # A bin this far above the noise is speech starting (a plosive's burst), not a
        # noise peak: pass it now instead of after the smoothing catches up.
        prior = np.where(posterior > ONSET, np.maximum(prior, posterior - 1.0), prior)
        gain = np.maximum(prior / (prior + 1.0), self._least_gain(noise))
        self._clean = gain * gain * posterior
        shaped = np.fft.irfft(gain * spectrum, WINDOW) * self._window
        done = self._overlap + shaped[:HOP]
        self._overlap = shaped[HOP:]
        return done

    def _least_gain(self, noise: np.ndarray) -> float:
        """The gain that takes noise of this spectrum to :data:`QUIET` (1 if quieter)."""
        # Parseval over the one-sided spectrum of a window whose square averages 1/2.
        total = 2.0 * noise.sum() - noise[0] - noise[-1]
        level = total / (WINDOW * WINDOW * 0.5)  # mean square, int16 units
        quiet = (32768.0 * 10 ** (QUIET / 20)) ** 2
        return float(np.clip(np.sqrt(quiet / max(level, _TINY)), GAIN_FLOOR, 1.0))


class NoiseFloor:
    """Faint steady noise in place of digital silence in 16 kHz mono int16 audio, so
    that a recognizer never hears digital zero (see ``AsrSettings.noise_floor``).

    The noise goes into each 10 ms block (on the stream's own grid) that is quieter
    than the noise itself: digital silence, or nearly. A microphone's own noise, or
    a room's, is louder, and passes untouched. The noise is a fixed second of Gaussian
    noise, repeated: the same audio in gives the same audio out after :meth:`restart`.
    """

    BLOCK = 160

    def __init__(self, rms: float, seconds: float = 1.0, seed: int = 0) -> None:
        """``rms``: the noise's level, full scale = 1."""
        if rms <= 0:
            raise ValueError("the noise floor's level must be positive")
        rng = np.random.default_rng(seed)
        self._noise = rng.standard_normal(int(seconds * ASR_RATE)) * (rms * 32768.0)
        self._level = (rms * 32768.0) ** 2  # mean square, int16 units
        self._at = 0  # samples of the stream so far

    def process(self, samples: np.ndarray) -> np.ndarray:
        """``samples`` (int16) with digital silence filled; as many samples out."""
        out = samples.astype(np.float64)
        n, b = len(out), self.BLOCK
        start = 0
        filled = False
        while start < n:
            # Up to the next block edge of the stream's grid (a block that two calls
            # share is judged in two parts).
            stop = min(n, start + b - (self._at + start) % b)
            part = out[start:stop]
            if np.mean(part * part) < self._level:
                idx = (self._at + np.arange(start, stop)) % len(self._noise)
                part += self._noise[idx]
                filled = True
            start = stop
        self._at += n
        if not filled:
            return samples.astype(np.int16, copy=False)
        return np.clip(np.rint(out), -32768, 32767).astype(np.int16)

    def restart(self) -> None:
        """Start the noise from its beginning (a new stream)."""
        self._at = 0


def denoise(samples: np.ndarray) -> np.ndarray:
    """A whole recording (int16) through a fresh :class:`NoiseSuppressor`, not delayed."""
    ns = NoiseSuppressor()
    out = ns.process(np.concatenate([samples.astype(np.int16), np.zeros(DELAY, np.int16)]))
    return out[DELAY:]
