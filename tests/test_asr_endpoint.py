"""The frame-level segmenter behind the PocketSphinx engine's endpointing."""

from __future__ import annotations

import pytest

from voicecoach.asr.endpoint import Mark, Segmenter, TalkGate


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


# ------------------------------------------------------------------ the talk gate


def gate_all(gate: TalkGate, frames: list[tuple[bool, float]]) -> list[bool]:
    return [gate.push(flag, level) for flag, level in frames]


def test_the_talk_gate_passes_the_detector_in_a_quiet_room() -> None:
    gate = TalkGate(history=10, busy=0.6, margin=8.0)
    # Room tone at 20 dB, a word at 25-60 dB: the detector's flags, unchanged.
    frames = [(False, 20.0)] * 8 + [(True, 25.0), (True, 60.0), (True, 30.0)] + [(False, 20.0)] * 4
    assert gate_all(gate, frames) == [flag for flag, _ in frames]
    assert not gate.active


def test_the_talk_gate_waits_for_a_full_history() -> None:
    gate = TalkGate(history=10, busy=0.6, margin=8.0)
    # Nine frames of talk at 40 dB: not enough to know the room talks on.
    assert gate_all(gate, [(True, 40.0)] * 9) == [True] * 9
    assert gate.push(True, 40.0) is False and gate.active


def test_over_background_talk_only_louder_speech_counts() -> None:
    gate = TalkGate(history=20, busy=0.6, margin=8.0)
    gate_all(gate, [(True, 40.0), (True, 44.0)] * 10)  # a television: median 42 dB
    assert gate.active
    assert gate.push(True, 49.0) is False  # its own loud syllable: under 42 + 8
    assert gate.push(True, 55.0) is True  # the user, nearer the microphone
    assert gate.push(False, 70.0) is False  # what the detector calls silence stays so


def test_the_talk_gate_lets_go_when_the_background_stops() -> None:
    gate = TalkGate(history=10, busy=0.6, margin=8.0)
    gate_all(gate, [(True, 40.0)] * 10)
    # The television goes off: once fewer than 6 of the last 10 frames were speech,
    # quiet speech counts again.
    assert gate_all(gate, [(False, 10.0)] * 4) == [False] * 4
    assert gate.active
    assert gate.push(False, 10.0) is False and not gate.active
    assert gate.push(True, 30.0) is True


@pytest.mark.parametrize(
    ("history", "busy", "spread"), [(0, 0.6, 1), (10, 0.0, 1), (10, 1.5, 1), (10, 0.6, 0)]
)
def test_a_talk_gate_needs_sane_settings(history: int, busy: float, spread: int) -> None:
    with pytest.raises(ValueError, match="talk gate"):
        TalkGate(history=history, busy=busy, margin=8.0, spread=spread)


def test_a_loud_frame_carries_the_weaker_frames_after_it() -> None:
    """A word's weak sounds (an "h", a final "s") fall under the gate's bar; ``spread``
    frames from a loud one still count, if the detector calls them speech."""
    gate = TalkGate(history=20, busy=0.6, margin=8.0, spread=3)
    gate_all(gate, [(True, 40.0), (True, 44.0)] * 10)  # median 42 dB
    after = gate_all(gate, [(True, 60.0), (True, 45.0), (True, 45.0), (True, 45.0), (False, 45.0)])
    assert after == [True, True, True, False, False]
    assert gate_all(gate, [(True, 60.0), (False, 45.0), (True, 45.0)]) == [True, False, True]


def test_the_background_talks_pauses_do_not_lower_the_bar() -> None:
    """The bar is the median level of the frames the detector calls speech: a television
    whose talk is a third pauses is still judged by its talk."""
    gate = TalkGate(history=30, busy=0.6, margin=12.0)
    talk = [(True, 40.0 + i) for i in range(20)]  # 40-59 dB: median 49.5
    gate_all(gate, talk + [(False, 10.0)] * 10)
    assert gate.active
    # 58 dB is 12 above the median of all 30 frames (44.5) but not above the talk's.
    assert gate.push(True, 58.0) is False
    assert gate.push(True, 66.0) is True
