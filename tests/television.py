"""A television for tests: a real reader who talks on (pocketsphinx-testdata's LibriVox
recordings, looped). ``scripts/install.sh --test`` installs them; tests skip without."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

LIBRIVOX = Path("/usr/share/pocketsphinx/test/data/librivox")


def active_rms(audio: np.ndarray) -> float:
    """RMS over the 20 ms frames within 30 dB of the loudest (the talk, not its pauses)."""
    frames = audio[: len(audio) // 320 * 320].reshape(-1, 320).astype(np.float64)
    power = np.mean(frames * frames, axis=1)
    return float(np.sqrt(np.mean(power[power > power.max() / 1000])))


def television(seconds: float) -> np.ndarray:
    """``seconds`` of the reader at 16 kHz, float, active RMS 1."""
    files = sorted(LIBRIVOX.glob("*.wav"))
    if not files:
        pytest.skip("needs Debian's pocketsphinx-testdata")
    talk = np.concatenate([sf.read(f, dtype="float32")[0] for f in files])
    n = int(seconds * 16_000)
    talk = np.tile(talk, n // len(talk) + 1)[:n]
    return talk / active_rms(talk)
