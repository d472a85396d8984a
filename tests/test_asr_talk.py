"""The talk attenuator in front of Vosk, with PocketSphinx's real voice activity detector."""

from __future__ import annotations

import numpy as np

from tests.television import television
from voicecoach.asr.talk import TALK_ATTENUATION, TALK_HISTORY, new_attenuator


def pcm(audio: np.ndarray) -> bytes:
    return np.clip(audio * 32767, -32768, 32767).astype("<i2").tobytes()


def through(audio: np.ndarray, block: int = 320) -> bytes:
    """``audio`` through a fresh attenuator in ``block``-sample chunks."""
    talk = new_attenuator()
    assert talk is not None
    data = pcm(audio)
    return b"".join(talk.process(data[i : i + 2 * block]) for i in range(0, len(data), 2 * block))


def test_a_quiet_room_passes_untouched() -> None:
    rng = np.random.default_rng(3)
    seconds = int(TALK_HISTORY) + 4
    room = rng.normal(0, 0.002, 16_000 * seconds).astype(np.float32)
    tone = 0.3 * np.sin(2 * np.pi * 220 * np.arange(8000) / 16_000).astype(np.float32)
    at = 16_000 * (seconds - 2)
    room[at : at + 8000] += tone  # a loud half second once the history is full
    assert through(room) == pcm(room)


def test_background_talk_is_turned_down_once_it_talks_on() -> None:
    talk = 0.1 * television(TALK_HISTORY + 8)
    out = np.frombuffer(through(talk), dtype="<i2").astype(np.float64)
    x = np.frombuffer(pcm(talk), dtype="<i2").astype(np.float64)
    assert len(out) == len(x)
    # The first TALK_HISTORY seconds are only listened to; after them most of the talk
    # is turned down by the attenuation, and nothing is turned up.
    first = slice(0, int(16_000 * TALK_HISTORY))
    assert np.array_equal(out[first], x[first])
    later = slice(int(16_000 * (TALK_HISTORY + 1)), len(x))
    ratio = np.sum(out[later] ** 2) / np.sum(x[later] ** 2)
    assert ratio < 10 ** (-TALK_ATTENUATION / 20)
    assert np.all(np.abs(out) <= np.abs(x) + 1)


def test_chunk_size_does_not_change_the_output() -> None:
    talk = 0.1 * television(TALK_HISTORY + 8)
    assert through(talk, block=160) == through(talk, block=4000)
