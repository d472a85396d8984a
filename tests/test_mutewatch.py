"""A muted microphone (only digital silence, even while the coach speaks) is told from a
quiet room; on made-up signals (silence, a tone with noise as the coach's echo). The live
loop's use of it is tested in tests/test_live_faults.py."""

from __future__ import annotations

import numpy as np

from voicecoach.audio.chunk import AudioChunk
from voicecoach.runtime.mutewatch import MicChange, MuteWatch

STEP = 0.02


def chunks(signal: np.ndarray, start: float = 0.0) -> list[AudioChunk]:
    """``signal`` (float, -1..1, 16 kHz) as the microphone's 20 ms int16 chunks."""
    n = int(STEP * 16_000)
    pcm = np.clip(np.round(signal * 32767), -32768, 32767).astype("<i2")
    return [
        AudioChunk(pcm[i : i + n].tobytes(), 16_000, timestamp=start + i / 16_000)
        for i in range(0, len(pcm), n)
    ]


def watch(watcher: MuteWatch, signal: np.ndarray, coach_heard: bool) -> list[MicChange]:
    found = [watcher.feed(chunk, coach_heard) for chunk in chunks(signal)]
    return [change for change in found if change is not None]


def seconds(s: float) -> np.ndarray:
    return np.zeros(int(s * 16_000))


def test_digital_silence_while_the_coach_speaks_is_a_muted_microphone_said_once():
    watcher = MuteWatch(after=10.0)
    assert watch(watcher, seconds(9.9), coach_heard=True) == []
    assert watch(watcher, seconds(0.2), coach_heard=True) == [MicChange.MUTED]
    assert watch(watcher, seconds(30), coach_heard=True) == []  # once, not every 10 s
    assert watcher.muted


def test_digital_silence_while_the_coach_is_quiet_is_a_quiet_room():
    # A microphone that gates its own silence gives zeros in a quiet room for as long
    # as nobody speaks; the coach's voice opens it.
    watcher = MuteWatch(after=10.0)
    assert watch(watcher, seconds(600), coach_heard=False) == []
    rng = np.random.default_rng(1)
    echo = 0.05 * np.sin(2 * np.pi * 220 * np.arange(16_000 * 30) / 16_000)
    echo += rng.normal(0, 0.002, echo.size)
    assert watch(watcher, echo, coach_heard=True) == []
    assert not watcher.muted


def test_the_count_starts_again_at_any_sound():
    watcher = MuteWatch(after=10.0)
    breath = np.random.default_rng(2).normal(0, 0.001, 1600)  # -60 dBFS, a tenth of a second
    for _ in range(5):
        assert watch(watcher, np.concatenate([seconds(6), breath]), coach_heard=True) == []


def test_the_first_sound_after_a_muted_microphone_is_it_back():
    watcher = MuteWatch(after=2.0)
    watch(watcher, seconds(3), coach_heard=True)
    noise = np.random.default_rng(3).normal(0, 0.001, 16_000)
    assert watch(watcher, noise, coach_heard=False) == [MicChange.BACK]
    assert not watcher.muted
    assert watch(watcher, seconds(2.1), coach_heard=True) == [MicChange.MUTED]  # muted again
