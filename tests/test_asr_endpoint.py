"""The frame-level segmenter behind the PocketSphinx engine's endpointing."""

from __future__ import annotations

import pytest

from voicecoach.asr.endpoint import Mark, Segmenter


def push_all(seg: Segmenter, flags: str) -> list[tuple[int, Mark]]:
    """Push ``flags`` ('s' speech, '.' silence); the marks other than NONE, by frame."""
    out = []
    for i, flag in enumerate(flags):
        mark = seg.push(flag == "s")
        if mark is not Mark.NONE:
            out.append((i, mark))
    return out


def test_starts_a_window_back_once_the_window_is_speech() -> None:
    seg = Segmenter(window=10)
    marks = push_all(seg, "." * 5 + "s" * 10)
    assert marks == [(14, Mark.START)]
    assert seg.in_speech and seg.start_frame == 5


def test_a_short_burst_does_not_start() -> None:
    seg = Segmenter(window=10)
    assert push_all(seg, ("s" * 9 + ".") * 3) == []
    assert not seg.in_speech


def test_a_start_ratio_of_its_own_starts_sooner() -> None:
    seg = Segmenter(window=10, start_ratio=0.6)
    marks = push_all(seg, "." * 5 + "s" * 7)
    assert marks == [(11, Mark.START)]
    # A window back, with the silence before the speech; the speech itself at frame 5.
    assert seg.start_frame == 2 and seg.speech_frame == 5


def test_a_burst_of_too_few_frames_still_does_not_start() -> None:
    seg = Segmenter(window=10, start_ratio=0.6)
    assert push_all(seg, ("s" * 6 + "....") * 3) == []


def test_the_frames_of_an_utterance_ended_at_a_pause_do_not_start_the_next() -> None:
    seg = Segmenter(window=10, start_ratio=0.6)
    push_all(seg, "s" * 12 + ".")
    seg.end()
    # Without forgetting them, the window (9 of 10 speech) would start at once.
    assert push_all(seg, "s" * 6) == []
    assert push_all(seg, "s") == [(0, Mark.START)]


def test_long_silence_ends_after_one_silent_frame_of_the_speech() -> None:
    seg = Segmenter(window=10)
    marks = push_all(seg, "s" * 12 + "." * 12)
    # A pause mark at each silent frame, the end at the tenth.
    assert marks == [(9, Mark.START), *((i, Mark.PAUSE) for i in range(12, 21)), (21, Mark.END)]
    assert not seg.in_speech and seg.end_frame == 13


def test_the_caller_can_end_at_the_pause() -> None:
    seg = Segmenter(window=10)
    marks = push_all(seg, "s" * 12 + "." * 4)
    assert marks[-1] == (15, Mark.PAUSE) and seg.silence == 4
    assert seg.end_here == 13
    seg.end()
    assert not seg.in_speech and seg.end_frame == 13
    assert push_all(seg, "." * 20) == []


def test_speech_in_a_pause_carries_on_and_pauses_again() -> None:
    seg = Segmenter(window=10)
    marks = push_all(seg, "s" * 10 + ".." + "s" * 3 + ".")
    assert marks == [(9, Mark.START), (10, Mark.PAUSE), (11, Mark.PAUSE), (15, Mark.PAUSE)]
    assert seg.in_speech and seg.silence == 1 and seg.end_here == 16


@pytest.mark.parametrize(("window", "ratio"), [(2, 0.9), (10, 0.01), (10, 1.0)])
def test_impossible_settings_are_refused(window: int, ratio: float) -> None:
    with pytest.raises(ValueError):
        Segmenter(window, ratio)
