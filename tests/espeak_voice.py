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

import numpy as np
import soundfile as sf

from voicecoach.audio.chunk import ASR_RATE, AudioChunk, resample
from voicecoach.tts.base import split_sentences


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


def espeak(text: str, speed: int = 150) -> np.ndarray:
    """``text`` in espeak-ng's en-us+f3 voice at ``speed`` words a minute: the recognizer's
    16 kHz, float, peak 0.5."""
    proc = subprocess.run(
        ["espeak-ng", "-v", "en-us+f3", "-s", str(speed), "--stdout", text],
        capture_output=True,
        check=True,
    )
    audio, rate = sf.read(io.BytesIO(proc.stdout), dtype="float32")
    audio = resample(audio, rate, ASR_RATE)
    return 0.5 * audio / np.max(np.abs(audio))
