"""Earcons: every cue exists, is short and soft, click-free, and clearly different."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from voicecoach.events import CUES
from voicecoach.tts.cues import PEAK, cue_samples, render_cues

RATE = 22_050


def pitch(samples: np.ndarray) -> float:
    """Dominant frequency (Hz) of a stretch of samples."""
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(len(samples)), n=1 << 16))
    return float(np.argmax(spectrum) * RATE / (1 << 16))


def centroid(samples: np.ndarray) -> float:
    spectrum = np.abs(np.fft.rfft(samples))
    freqs = np.fft.rfftfreq(len(samples), 1 / RATE)
    return float((spectrum * freqs).sum() / spectrum.sum())


def pitch_track(samples: np.ndarray, parts: int) -> list[float]:
    """Dominant pitch of each of ``parts`` equal parts."""
    return [pitch(part) for part in np.array_split(samples, parts)]


@pytest.mark.parametrize("name", CUES)
def test_cue_is_short_soft_and_click_free(name: str) -> None:
    audio = cue_samples(name, RATE)
    assert 0.15 <= len(audio) / RATE <= 0.8
    assert np.abs(audio).max() == pytest.approx(PEAK, rel=1e-3)
    # Starts and ends at zero: no step when the sink switches to or from it.
    assert abs(audio[0]) < 1e-3 and abs(audio[-1]) < 1e-3
    # A click is a broadband jump; these notes only have partials below ~3.2 kHz.
    power = np.abs(np.fft.rfft(audio)) ** 2
    freqs = np.fft.rfftfreq(len(audio), 1 / RATE)
    assert power[freqs > 6000].sum() < 1e-4 * power.sum()
    # No sample-to-sample step larger than the steepest partial can make.
    assert np.abs(np.diff(audio)).max() < 2 * np.pi * 3200 * PEAK / RATE * 1.5


def test_heard_rises_and_not_understood_falls() -> None:
    first, second = pitch_track(cue_samples("heard", RATE), 2)
    assert second > first * 1.2
    first, second = pitch_track(cue_samples("not_understood", RATE), 2)
    assert second < first / 1.2


def test_hold_start_and_hold_end_differ_in_pitch() -> None:
    start = pitch(cue_samples("hold_start", RATE))
    end = pitch(cue_samples("hold_end", RATE))
    assert start > end * 1.3


def test_session_end_is_three_rising_notes() -> None:
    audio = cue_samples("session_end", RATE)
    n = int(0.14 * RATE)
    notes = [pitch(audio[:n]), pitch(audio[n : 2 * n]), pitch(audio[2 * n :])]
    assert notes[0] < notes[1] < notes[2]
    assert notes[2] == pytest.approx(2 * notes[0], rel=0.03)  # ends on the octave


def test_cues_are_clearly_different_from_each_other() -> None:
    features = {
        name: (len(audio) / RATE, pitch(audio), centroid(audio))
        for name, audio in ((n, cue_samples(n, RATE)) for n in CUES)
    }
    for a, b in itertools.combinations(CUES, 2):
        dur_a, pitch_a, cent_a = features[a]
        dur_b, pitch_b, cent_b = features[b]
        # Differ clearly in pitch, brightness or length (at least one of them).
        assert (
            abs(pitch_a - pitch_b) > 0.1 * min(pitch_a, pitch_b)
            or abs(cent_a - cent_b) > 0.1 * min(cent_a, cent_b)
            or abs(dur_a - dur_b) > 0.1
        ), (a, b, features[a], features[b])


def test_render_cues_gives_int16_chunks_at_the_rate() -> None:
    chunks = render_cues(16_000)
    assert set(chunks) == set(CUES)
    for chunk in chunks.values():
        assert chunk.rate == 16_000 and chunk.width == 2 and chunk.channels == 1
        assert chunk.frames > 0


def test_unknown_cue_is_a_key_error() -> None:
    with pytest.raises(KeyError, match="unknown cue"):
        cue_samples("fanfare", RATE)
