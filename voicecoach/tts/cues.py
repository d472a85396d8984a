"""Earcons, generated in code: short, soft, and clearly different from each other.

Each note is a sine with two quiet overtones (a warm, bell-like timbre rather than a
beep) under a smooth envelope: a raised-cosine attack, an exponential decay and a
raised-cosine release, so every note starts and ends at zero and nothing clicks.

- ``heard``: a quick rising two-tone (E5 -> A5), "got it".
- ``not_understood``: a falling two-tone (A4 -> E4), lower and a little longer.
- ``hold_start``: one bright chime (G5) that rings out.
- ``hold_end``: the same chime a fifth lower (C5), so start and end differ by pitch.
- ``session_end``: a three-note close rising to the octave (C5 -> E5 -> C6).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from ..audio.chunk import AudioChunk
from ..events import CUES

PEAK = 0.35
"""Peak level of a cue: clearly audible but below the voice, which peaks near 1."""

# (frequency in Hz, seconds) for each note, and seconds of decay time constant.
_NOTES: dict[str, tuple[Sequence[tuple[float, float]], float]] = {
    "heard": (((659.25, 0.08), (880.0, 0.12)), 0.08),
    "not_understood": (((440.0, 0.12), (329.63, 0.20)), 0.12),
    "hold_start": (((783.99, 0.40),), 0.15),
    "hold_end": (((523.25, 0.40),), 0.15),
    "session_end": (((523.25, 0.14), (659.25, 0.14), (1046.5, 0.45)), 0.18),
}

_OVERTONES = ((2.0, 0.25), (3.0, 0.08))  # (multiple of the fundamental, relative level)
_ATTACK = 0.006
_RELEASE = 0.02


def _note(freq: float, seconds: float, decay: float, rate: int) -> np.ndarray:
    n = int(round(seconds * rate))
    t = np.arange(n) / rate
    wave = np.sin(2 * np.pi * freq * t)
    for multiple, level in _OVERTONES:
        # Overtones decay faster than the fundamental, as in a struck bell.
        wave += level * np.exp(-t / (decay / multiple)) * np.sin(2 * np.pi * freq * multiple * t)
    env = np.exp(-t / decay) * 0.6 + 0.4 * np.exp(-t / (4 * decay))
    n_attack = max(2, int(_ATTACK * rate))
    n_release = max(2, int(_RELEASE * rate))
    env[:n_attack] *= 0.5 - 0.5 * np.cos(np.linspace(0, np.pi, n_attack))
    env[-n_release:] *= 0.5 + 0.5 * np.cos(np.linspace(0, np.pi, n_release))
    return (wave * env).astype(np.float32)


def cue_samples(name: str, rate: int) -> np.ndarray:
    """The float samples (-1..1, mono) of cue ``name`` at ``rate``.

    Raises ``KeyError`` for a name not in :data:`voicecoach.events.CUES`.
    """
    if name not in _NOTES:
        raise KeyError(f"unknown cue {name!r}; the cues are {', '.join(CUES)}")
    notes, decay = _NOTES[name]
    audio = np.concatenate([_note(freq, secs, decay, rate) for freq, secs in notes])
    return (audio * (PEAK / float(np.max(np.abs(audio))))).astype(np.float32)


def render_cues(rate: int, names: Sequence[str] = CUES) -> Mapping[str, AudioChunk]:
    """Every cue in ``names`` as an int16 chunk at ``rate``."""
    return {name: AudioChunk.from_float(cue_samples(name, rate), rate) for name in names}


__all__ = ["PEAK", "cue_samples", "render_cues"]
