"""A coach voice for tests that must not depend on Piper's randomness: espeak-ng.

Piper samples its rendering, so the same line sounds a little different on every
run; a test of what the recognizer makes of the coach's echo would then pass or fail
by chance. espeak-ng renders a text the same way every time. Real speech, not a tone.
"""

from __future__ import annotations

import io
import subprocess
import wave
from collections.abc import Iterator
from functools import cache

import numpy as np
import soundfile as sf

from voicecoach.audio.chunk import ASR_RATE, AudioChunk, resample
from voicecoach.tts.base import split_sentences


@cache
def _settle() -> None:
    """Run espeak-ng once and throw its audio away.

    Its first run with a fresh ``XDG_CONFIG_HOME`` (each test session has one, see
    conftest.py) creates a ``pulse`` folder there and renders slightly different audio
    (a different waveform every session, same length); every later run renders the same.
    Without this, the first word a session rendered changed from run to run, and a test
    near a threshold passed or failed by chance.
    """
    subprocess.run(["espeak-ng", "--stdout", "settle"], capture_output=True, check=True)


class EspeakVoice:
    """The :class:`~voicecoach.tts.base.Voice` protocol over the espeak-ng command."""

    def __init__(self, voice: str = "en-us", speed: int = 160) -> None:
        self.voice = voice
        self.speed = speed

    @property
    def sample_rate(self) -> int:
        """espeak-ng's native rate."""
        return 22_050

    @property
    def identity(self) -> str:
        """Names the voice and speed (the prompt cache's key)."""
        return f"espeak-ng:{self.voice}:{self.speed}"

    def synthesize(self, text: str) -> Iterator[AudioChunk]:
        """One chunk per sentence."""
        _settle()
        for sentence in split_sentences(text):
            wav = subprocess.run(
                ["espeak-ng", "-v", self.voice, "-s", str(self.speed), "--stdout", sentence],
                capture_output=True,
                check=True,
                timeout=30,
            ).stdout
            with wave.open(io.BytesIO(wav)) as w:
                assert w.getframerate() == self.sample_rate
                yield AudioChunk(w.readframes(w.getnframes()), self.sample_rate, 2, 1)


def espeak(text: str, speed: int = 150, voice: str = "en-us+f3") -> np.ndarray:
    """``text`` in espeak-ng's ``voice`` at ``speed`` words a minute: the recognizer's
    16 kHz, float, peak 0.5."""
    _settle()
    proc = subprocess.run(
        ["espeak-ng", "-v", voice, "-s", str(speed), "--stdout", text],
        capture_output=True,
        check=True,
    )
    audio, rate = sf.read(io.BytesIO(proc.stdout), dtype="float32")
    audio = resample(audio, rate, ASR_RATE)
    return 0.5 * audio / np.max(np.abs(audio))
