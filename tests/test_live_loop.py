"""The live loop on a virtual clock: scripted recognitions in, what the coach did out.

FakeRecognizer + a fake voice that plays a quiet tone of speech-like length + a
MemorySink on a VirtualClock: a minute of session runs in well under a second.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pytest

from tests.espeak_voice import EspeakVoice
from tests.routine_fixtures import tiny_routine
from voicecoach import script
from voicecoach.asr.base import FakeRecognizer, Recognition
from voicecoach.audio.aec import AecSettings
from voicecoach.audio.chunk import ASR_RATE, AudioChunk
from voicecoach.audio.sinks import MemorySink, VirtualClock, audible
from voicecoach.commands import SAFETY_INTENTS, Intent
from voicecoach.dialogue import Coach, State
from voicecoach.routines import builtin_routines
from voicecoach.routines.model import Routine
from voicecoach.runtime.demo import DemoSettings, Room
from voicecoach.runtime.loop import (
    HOLD_LIMIT,
    HOLD_REST,
    MIC_BACK,
    RECOGNIZER_FALLBACK,
    VOICE_FALLBACK,
    LiveSession,
)
from voicecoach.runtime.settings import LiveSettings
from voicecoach.runtime.virtual import drive
from voicecoach.session import SessionLog, SessionRecorder
from voicecoach.tts.base import FakeVoice
from voicecoach.tts.speaker import Speaker

SAFETY_TEXT = "Stop if anything hurts."  # tiny_routine's safety line, said in the intro
EPOCH = datetime(2024, 5, 6, 9, 0, tzinfo=timezone.utc)
"""The date and time the rig's session log records at virtual clock time 0."""
_AEC = AecSettings()
HEARD_LAG = _AEC.lead + _AEC.suppress_lookahead * _AEC.block / ASR_RATE
"""How far behind the clock the recognizer hears, in the rig, while the coach is heard
(in silence, ``lead`` only): the echo canceller waits for the reference it reads
``lead`` (50 ms) ahead of the microphone, which a memory sink (no output latency) has
written only up to now, and the residual suppressor holds two 10 ms blocks back."""


class FakeUser:
    """The user's voice at the microphone: a noise burst in each window they speak."""

    def __init__(self, level: float = 0.15) -> None:
        self.level = level
        self.windows: list[tuple[float, float]] = []
        self.rng = np.random.default_rng(1)

    def audio(self, t: float, frames: int) -> np.ndarray:
        out = np.zeros(frames, dtype=np.float32)
        times = t + np.arange(frames) / 16_000
        for start, end in self.windows:
            inside = (times >= start) & (times < end)
            out[inside] = self.rng.normal(0.0, self.level, int(inside.sum()))
        return out


class Rig:
    """A session on a virtual clock with everything it did recorded.

    The microphone hears the coach's echo (as in the demo's room) and, while the
    scripted user speaks, a burst of noise standing in for their voice; the fake
    recognizer reports what they "said".
    """

    def __init__(
        self,
        tmp_path: Path,
        settings: LiveSettings | None = None,
        recognizer: FakeRecognizer | None = None,
        voice: FakeVoice | None = None,
        room: DemoSettings | None = None,
        routine: Routine | None = None,
    ) -> None:
        self.clock = VirtualClock()
        self.sink = MemorySink(22_050, self.clock)
        self.voice = voice or FakeVoice(amplitude=0.2)
        self.speaker = Speaker(self.voice, self.sink, cues={}, threaded=False)
        self.speaker.cues = {
            name: AudioChunk(bytes(2 * 2205), 22_050)
            for name in ("heard", "not_understood", "hold_start", "hold_end", "session_end")
        }
        self.recognizer = recognizer or FakeRecognizer()
        # The log's dates and times run on the virtual clock too.
        self.log = SessionLog(
            tmp_path / "log.sqlite3",
            wall=lambda: EPOCH + timedelta(seconds=self.clock()),
            clock=self.clock,
        )
        self.session_id = self.log.start("tiny")
        self.coach = Coach(routine or tiny_routine())
        self.lines: list[dict] = []
        self.user = FakeUser()
        room = room or DemoSettings(noise_rms=0.001)
        self.room = Room(self.sink, self.user, room)  # type: ignore[arg-type]
        self.session = LiveSession(
            self.coach,
            self.recognizer,
            self.speaker,
            self.clock,
            SessionRecorder(self.log, self.session_id),
            settings,
            transcript=lambda e: self.lines.append(e.to_json()),
        )

    def run(self, until: float) -> None:
        if self.clock() == 0.0 and not self.lines:
            self.session.start()
        drive(self.session, self.clock, self.room.mic, until)

    def run_until_quiet(self, limit: float = 60.0) -> None:
        """Run until the coach waits and its audio (and echo tail) is over."""
        end = self.clock() + limit
        while self.clock() < end and not (
            self.coach.waiting_for_user and self.clock() > self.sink.last_audio_end + 0.5
        ):
            self.run(until=self.clock() + 0.1)

    def to_exercises(self, limit: float = 120.0) -> None:
        """Start the session, hear the introduction out, and say "yes" to both safety
        questions: the first exercise is announced."""
        self.run(until=1.0)
        self.run_until_quiet(limit=limit)
        self.say_at(Intent.YES, "yes", self.clock() + 1.0)
        self.pain_free_yes(limit=limit)

    def run_until_said(self, text: str, step: float = 0.05) -> None:
        """Run until the coach has begun saying ``text``."""
        while not any(e["text"] == text for e in self.kinds("said")):
            self.run(until=self.clock() + step)

    def first_starts(self, after: float) -> dict[int, float]:
        """When each utterance played after clock time ``after`` first sounded (not
        counting pieces cut off), by utterance id."""
        firsts: dict[int, float] = {}
        for seg in self.sink.segments:
            if seg.start > after and seg.utterance_id is not None and not seg.stopped:
                firsts.setdefault(seg.utterance_id, seg.start)
        return firsts

    def pain_free_yes(self, limit: float = 60.0) -> None:
        """After a "yes" to the doctor question (said or about to be), and once the coach
        has asked about acute pain and waits in silence: "yes"; the exercises begin."""
        end = self.clock() + 5.0
        while self.coach.state is State.ASK_CONSENT and self.clock() < end:
            self.run(until=self.clock() + 0.1)
        self.run_until_quiet(limit)
        assert self.coach.state is State.ASK_PAIN_FREE
        self.say_at(Intent.YES, "yes", self.clock() + 1.0)
        self.run(until=self.clock() + 1.5)
        assert self.coach.state is State.ANNOUNCE

    def say_at(
        self,
        intent: Intent | None,
        text: str,
        end: float,
        length: float = 0.5,
        user: bool = True,
    ) -> None:
        """The recognizer will report ``text`` as spoken until clock time ``end``;
        ``user=False``: it heard it in the coach's echo, nobody spoke."""
        self.recognizer.script.append(Recognition(intent, text, 0.9, end - length, end))
        if user:
            self.user.windows.append((end - length, end))

    def segment_of(self, text: str) -> tuple[float, float]:
        uid = next(line["uid"] for line in self.said_with_ids() if line["text"] == text)
        segs = [s for s in self.sink.segments if s.utterance_id == uid]
        return segs[0].start, segs[-1].end(self.sink.rate)

    def into_second_line(self, seconds: float = 1.0) -> float:
        """Start the session; the clock time ``seconds`` into the coach's second line."""
        self.run(until=0.5)
        start, _ = self.segment_of(self.kinds("said")[1]["text"])
        return start + seconds

    def said_with_ids(self) -> list[dict]:
        # Say ids are sequential from 1 in the coach; pair them with the transcript.
        said = [line for line in self.lines if line["kind"] == "said" and "fallback" not in line]
        return [dict(line, uid=i) for i, line in enumerate(said, start=1)]

    def kinds(self, kind: str) -> list[dict]:
        return [line for line in self.lines if line["kind"] == kind]


def test_the_coachs_own_stop_does_not_stop_it(tmp_path: Path) -> None:
    rig = Rig(tmp_path)
    rig.run(until=2.0)
    start, end = rig.segment_of(SAFETY_TEXT)
    # The echo of "Stop if anything hurts." is recognized as "stop" right at its start.
    rig.say_at(Intent.STOP, "stop", start + 0.45, user=False)
    rig.run(until=end + 1.0)
    assert rig.coach.state is State.ASK_CONSENT  # carried on to the question
    assert [r.intent for r, _ in rig.session.ignored] == [Intent.STOP]
    assert rig.session.ignored[0][1] == "the coach's own words"
    assert not rig.sink.stops
    assert rig.log.commands(rig.session_id) == []


def test_a_command_the_check_chose_is_logged_as_that_command_with_the_words_read(
    tmp_path: Path,
) -> None:
    # PocketSphinx's command check took "no" where its grammar read "help": the
    # transcript and the session log said text "help", command "no".
    rig = Rig(tmp_path)
    rig.run(until=60)
    rig.run_until_quiet()
    assert rig.coach.state is State.ASK_CONSENT
    at = rig.clock() + 1.0
    rig.recognizer.script.append(Recognition(Intent.NO, "no", 0.9, at - 0.5, at, read="help"))
    rig.user.windows.append((at - 0.5, at))
    rig.run(until=at + 0.5)
    [heard] = rig.kinds("heard")
    assert (heard["text"], heard["command"], heard["read"]) == ("no", "no", "help")
    assert [(i, t) for _, i, t in rig.log.commands(rig.session_id)] == [("no", "no")]


def test_the_coachs_own_words_read_as_another_command_by_the_check_are_its_own(
    tmp_path: Path,
) -> None:
    # The echo guard compares the words the grammar read with the coach's, not the
    # phrase of the command the check chose: the coach's "Stop if anything hurts."
    # read "stop", taken for "pause", is still its own words.
    rig = Rig(tmp_path, LiveSettings(echo_cancelled=True))
    rig.run(until=2.0)
    start, end = rig.segment_of(SAFETY_TEXT)
    rig.recognizer.script.append(
        Recognition(Intent.PAUSE, "pause", 0.9, start + 0.1, start + 0.45, read="stop")
    )
    rig.run(until=end + 1.0)
    assert [why for _, why in rig.session.ignored] == ["the coach's own words"]
    assert rig.session.ignored[0][0].read == "stop"
    assert rig.coach.state is State.ASK_CONSENT and not rig.sink.stops


def test_a_user_it_hurts_as_the_coach_says_pain_is_acted_on(tmp_path: Path) -> None:
    # "Tilt towards the side where you feel pain": a person saying "it hurts" then was
    # taken for the coach's own "pain" and ignored. Only the words heard count as its
    # own; its "pain" heard back as "it hurts" is left to the level check.
    routine = replace(tiny_routine(), safety="Tilt only as far as you can without pain.")
    rig = Rig(tmp_path, routine=routine)
    rig.run(until=0.5)
    start, end = rig.segment_of(routine.safety)
    rig.say_at(Intent.HURT, "pain", end, user=False)  # its own word, heard back
    rig.say_at(Intent.HURT, "it hurts", end + 0.2, user=False)  # misheard echo
    rig.run(until=end + 1.0)
    assert [why for _, why in rig.session.ignored] == [
        "the coach's own words",
        "only the coach's echo was heard",
    ]
    assert not rig.sink.stops
    rig = Rig(tmp_path / "user", routine=routine)
    rig.run(until=0.5)
    start, end = rig.segment_of(routine.safety)
    rig.say_at(Intent.HURT, "it hurts", end - 0.1)  # the person, as the coach says "pain"
    rig.run(until=end + 1.0)
    assert rig.session.ignored == []
    assert rig.sink.stops and [c[1] for c in rig.log.commands(rig.session_id)] == ["hurt"]


def test_the_coachs_own_stop_read_early_does_not_stop_it(tmp_path: Path) -> None:
    """The same "stop" as an early (partial) result, as a streaming recognizer gives it,
    with a sound of the user's over it: the double-talk check would let it through, so
    only knowing the coach's own words keeps the coach going."""
    rig = Rig(tmp_path)
    rig.run(until=2.0)
    start, end = rig.segment_of(SAFETY_TEXT)
    rig.user.windows.append((start + 0.1, start + 0.45))
    rig.recognizer.script.append(
        Recognition(Intent.STOP, "stop", 0.6, start + 0.1, start + 0.45, partial=True)
    )
    rig.run(until=end + 1.0)
    assert rig.session.acted == [] and not rig.sink.stops
    assert rig.coach.state is State.ASK_CONSENT


def test_a_user_it_hurts_mid_speech_cuts_the_coach_off(tmp_path: Path) -> None:
    rig = Rig(tmp_path)
    rig.run(until=0.5)
    first_start, first_end = rig.segment_of(rig.kinds("said")[1]["text"])
    assert first_end - first_start > 1.5
    rig.say_at(Intent.HURT, "it hurts", first_start + 1.0)
    rig.run(until=first_start + 1.2)
    # Cut within one 20 ms step of the recognizer hearing the end of "it hurts".
    assert rig.sink.stops
    assert rig.sink.stops[0] == pytest.approx(first_start + 1.0 + HEARD_LAG, abs=0.021)
    assert any(seg.stopped for seg in rig.sink.segments)
    rig.run(until=first_start + 8)
    assert rig.coach.state is State.PAUSED
    assert rig.log.sessions()[0].pain_reports == 1
    assert [c[1] for c in rig.log.commands(rig.session_id)] == ["hurt"]


def test_a_non_safety_command_while_the_coach_speaks_is_ignored(tmp_path: Path) -> None:
    rig = Rig(tmp_path)
    rig.run(until=0.5)
    rig.say_at(Intent.NEXT, "next", 1.5)
    rig.run(until=2.0)
    assert rig.coach.state is State.INTRO
    assert rig.session.ignored[0][1] == "the coach was speaking"
    assert not rig.sink.stops
    # The transcript says why, and what the recognizer made of it.
    [entry] = [line for line in rig.lines if line["kind"] == "ignored"]
    r = rig.session.ignored[0][0]
    assert entry["reason"] == "the coach was speaking" and entry["command"] == "next"
    assert entry["confidence"] == round(r.confidence, 3)
    assert entry["seconds"] == round(r.end - r.start, 3) and "end" in entry


def test_the_echo_of_an_earcon_is_not_taken_for_the_user(tmp_path: Path) -> None:
    # "where am I" in a quiet moment of an exercise: the coach only plays the "heard"
    # earcon (the answer waits for the rest). The earcon's echo came out as a
    # non-command whose result came just after the earcon's tail, and the coach played
    # "didn't catch that" right after "heard you".
    routine = tiny_routine()
    slow = replace(routine.exercises[0], tempo=6.0)
    rig = Rig(tmp_path, routine=replace(routine, exercises=(slow, *routine.exercises[1:])))
    rig.to_exercises()
    rig.run_until_said("Turn to the left.")
    _, line_end = rig.segment_of("Turn to the left.")
    rig.say_at(Intent.WHERE, "where am i", line_end + 1.0)
    rig.run(until=line_end + 1.1)
    assert rig.kinds("cue")[-1]["text"] == "heard"  # and nothing else is said yet
    cue_end = rig.sink.last_audio_end
    assert cue_end < line_end + 1.2
    rig.recognizer.script.append(
        Recognition(
            None, "go", 0.6, line_end + 1.0, cue_end + rig.session.settings.echo_tail + 0.05
        )
    )
    rig.run(until=cue_end + 1.0)
    assert rig.coach.state is State.EXERCISE
    assert "not_understood" not in [c["text"] for c in rig.kinds("cue")]
    assert [why for _, why in rig.session.ignored] == ["not a command, while the coach spoke"]


def test_with_echo_cancellation_any_command_barges_in(tmp_path: Path) -> None:
    rig = Rig(tmp_path, LiveSettings(echo_cancelled=True))
    rig.run(until=0.5)
    rig.say_at(Intent.NEXT, "next", 1.5)
    rig.run(until=2.0)
    assert rig.sink.stops == [pytest.approx(1.5, abs=0.021)]
    # "next" skipped the introduction, up to the safety text, which is never skipped.
    assert rig.coach.state is State.INTRO
    assert rig.kinds("said")[-1]["text"] == SAFETY_TEXT


def test_with_echo_cancellation_the_heard_earcon_plays_at_once_over_the_coach(
    tmp_path: Path,
) -> None:
    # "slower" said over "Turn to the left.": the coach goes on (the pace changes from
    # the next beat), and its "heard" earcon is the one sign the person was heard.
    rig = Rig(tmp_path, LiveSettings(echo_cancelled=True))
    rig.to_exercises()
    rig.run_until_said("Turn to the left.")
    start, line_end = rig.segment_of("Turn to the left.")
    said = start + 0.4
    assert line_end > said + 0.5
    rig.say_at(Intent.SLOWER, "slower", said)
    rig.run(until=line_end + 0.5)
    assert rig.kinds("heard")[-1]["command"] == "slower"
    assert not rig.sink.stops  # the coach's line was not cut
    [cue] = [s for s in rig.sink.segments if s.utterance_id is None and s.start > said]
    assert cue.start < said + 0.1  # not after the line, 0.5 s and more later


def test_a_command_after_the_coach_and_its_echo_tail_is_acted_on(tmp_path: Path) -> None:
    rig = Rig(tmp_path)
    rig.run(until=60)  # the intro, then the consent question and silence
    rig.run_until_quiet()  # (a re-prompt may be playing)
    assert rig.coach.state is State.ASK_CONSENT and rig.coach.waiting_for_user
    rig.say_at(Intent.YES, "yes", rig.clock() + 1.0)
    rig.run(until=rig.clock() + 1.5)
    assert rig.coach.state is State.ASK_PAIN_FREE  # on to the acute pain question
    assert rig.kinds("heard")[0]["command"] == "yes"


def test_a_session_log_that_fails_mid_session_does_not_stop_the_coach(tmp_path: Path) -> None:
    rig = Rig(tmp_path)
    rig.run(until=60)
    rig.run_until_quiet()
    assert rig.coach.state is State.ASK_CONSENT
    rig.log._db.execute("PRAGMA query_only = ON")  # from now on every write fails in SQLite
    rig.say_at(Intent.YES, "yes", rig.clock() + 1.0)
    rig.run(until=rig.clock() + 1.5)
    assert rig.coach.state is State.ASK_PAIN_FREE  # the failed write of "yes" changed nothing
    assert rig.session.recorder is not None and rig.session.recorder.failed is not None
    assert rig.session.end() == "interrupted"


class FlakyRecognizer(FakeRecognizer):
    """Raises once, at the first chunk after ``fail_at``."""

    fail_at: float = 1e9

    def accept(self, chunk: AudioChunk) -> list[Recognition]:
        if chunk.timestamp >= self.fail_at:
            self.fail_at = 1e9
            raise RuntimeError("decoder crashed")
        return super().accept(chunk)


def test_a_recognizer_error_is_spoken_as_a_fallback_and_the_session_keeps_its_place(
    tmp_path: Path,
) -> None:
    flaky = FlakyRecognizer()
    rig = Rig(tmp_path, recognizer=flaky)
    rig.run(until=60)
    assert rig.coach.state is State.ASK_CONSENT
    flaky.fail_at = rig.clock()
    rig.run(until=rig.clock() + 5)
    fallbacks = [line for line in rig.kinds("said") if line.get("fallback")]
    assert [line["text"] for line in fallbacks] == [RECOGNIZER_FALLBACK]
    assert rig.kinds("fault")[0]["text"] == "recognizer: decoder crashed"
    assert rig.coach.state is State.ASK_CONSENT  # same place
    rig.run_until_quiet()
    rig.say_at(Intent.YES, "yes", rig.clock() + 1.0)
    rig.run(until=rig.clock() + 1.5)
    assert rig.coach.state is State.ASK_PAIN_FREE


class BrokenVoice(FakeVoice):
    """Fails on one text."""

    def synthesize(self, text: str):  # type: ignore[no-untyped-def]
        if text == SAFETY_TEXT:
            raise RuntimeError("onnxruntime exploded")
        return super().synthesize(text)


def test_a_voice_error_is_logged_the_coach_goes_on(tmp_path: Path) -> None:
    rig = Rig(tmp_path, voice=BrokenVoice(amplitude=0.2))
    rig.run(until=60)
    assert rig.kinds("fault")[0]["text"] == "voice: onnxruntime exploded"
    assert [line["text"] for line in rig.kinds("said") if line.get("fallback")] == [VOICE_FALLBACK]
    assert rig.coach.state is State.ASK_CONSENT  # the broken line did not block the coach


def test_ending_saves_the_session_as_interrupted(tmp_path: Path) -> None:
    rig = Rig(tmp_path)
    rig.run(until=3)
    assert rig.session.end() == "interrupted"
    assert rig.log.sessions()[0].status == "interrupted"
    assert rig.session.finished


def test_sessions_in_a_row_with_one_speaker_share_one_tap(tmp_path: Path) -> None:
    """A process that stays up (``run --standby``) builds a session per session with the
    same speaker: each one uses the tap it finds on the speaker. A tap of its own
    around the taps of the sessions before grew a chain, a 60 s reference buffer (5 MB)
    deeper per session, and every chunk played went through all of them."""
    rig = Rig(tmp_path)
    rig.run(until=3)
    rig.session.end()
    for _ in range(3):
        session = LiveSession(Coach(tiny_routine()), rig.recognizer, rig.speaker, rig.clock)
        session.start()
        drive(session, rig.clock, rig.room.mic, rig.clock() + 3)
        assert session.tap is rig.session.tap and session.tap.inner is rig.sink
        session.end()


def test_the_recognizer_listens_for_what_the_coach_handles_plus_safety(tmp_path: Path) -> None:
    rig = Rig(tmp_path)
    rig.run(until=60)
    assert rig.recognizer.active is not None
    assert {Intent.YES, Intent.NO, Intent.STOP, Intent.PAUSE, Intent.HURT} <= rig.recognizer.active
    assert Intent.SLOWER not in rig.recognizer.active


@pytest.mark.parametrize("echo_cancelled", [False, True])
def test_only_safety_commands_end_early_while_the_coach_is_heard(
    tmp_path: Path, echo_cancelled: bool
) -> None:
    rig = Rig(tmp_path, LiveSettings(echo_cancelled=echo_cancelled))
    rig.run(until=0.5)
    assert rig.sink.is_playing()
    assert rig.recognizer.early == (None if echo_cancelled else SAFETY_INTENTS)
    rig.run(until=60)
    rig.run_until_quiet()  # the consent question (or a re-prompt), then its echo tail is over
    assert rig.coach.waiting_for_user and rig.clock() > rig.sink.last_audio_end + 0.5
    assert rig.recognizer.early is None


def test_between_the_coachs_cues_only_safety_commands_end_early(tmp_path: Path) -> None:
    """Quiet is not enough: between the cues of an exercise the coach is quiet but asks
    nothing, and talk there (to someone else, to oneself) should not be cut into whole
    commands at its short pauses."""
    rig = Rig(tmp_path)
    rig.run_until_quiet()
    assert rig.coach.state is State.ASK_CONSENT
    rig.say_at(Intent.YES, "yes", end=rig.clock() + 0.6)
    rig.pain_free_yes()
    tail = LiveSettings().echo_tail
    seen = []
    was_between = False
    while rig.clock() < 45:  # the first exercise's cues, 2 s apart, from about 29 s
        rig.run(until=rig.clock() + 0.1)
        between = not rig.coach.waiting_for_user and not audible(rig.sink, tail)
        if between and was_between:  # not just changed: the last chunk saw the same
            seen.append(rig.recognizer.early)
        was_between = between
    assert len(seen) > 5
    assert set(seen) == {SAFETY_INTENTS}


def test_a_safety_command_heard_only_in_the_coachs_echo_is_ignored(tmp_path: Path) -> None:
    rig = Rig(tmp_path)
    rig.run(until=0.5)
    start, end = rig.segment_of(rig.kinds("said")[1]["text"])  # no "hurt" in its words
    # The recognizer maps a stretch of the coach's voice to "it hurts"; nobody spoke.
    rig.say_at(Intent.HURT, "it hurts", start + 2.0, user=False)
    rig.run(until=end + 1.0)
    assert rig.session.ignored[0][1] == "only the coach's echo was heard"
    assert not rig.sink.stops
    assert rig.coach.state is State.INTRO
    # The log says which check judged it, with its score and factor.
    (entry,) = rig.kinds("ignored")
    check, score = entry["doubletalk"].split()[:2]
    assert check in ("level", "residual") and float(score.split("/")[0]) < float(
        score.split("/")[1]
    )


def test_before_the_echo_delay_is_known_the_echo_gain_is_not_underestimated(
    tmp_path: Path,
) -> None:
    """Before the delay was found, the microphone's power was compared frame by frame
    with the wrong frames of the coach's speech, and the gain came out at a third of
    the true one here (0.029 against 0.082, kept for 3 s; half in bench_live's rig).
    With the echo thought that much quieter, the echo of the coach's words can pass for
    the user's voice: most likely what let a "hold on" in bench_live's introduction
    stop the coach. Until the delay is known the gain is now the energy ratio."""
    room = DemoSettings(noise_rms=0.001, echo_delay=0.15, reflection_gain=0.0, reverb_ratio=0.0)
    rig = Rig(tmp_path, voice=EspeakVoice(), room=room)  # real speech: its power varies
    gains = []
    while rig.clock() < 12:
        rig.run(until=rig.clock() + 0.1)
        gains.append(rig.session.doubletalk.echo_gain)
    final = gains[-1]
    assert final is not None
    assert rig.session.doubletalk.lag == 8  # frames of 20 ms: the echo 0.15 s late
    assert all(g is None or 0.8 * final < g < 1.25 * final for g in gains)


def test_an_echo_much_later_than_the_device_reports_is_still_known_for_the_coachs(
    tmp_path: Path,
) -> None:
    """A device whose output reaches the speaker 0.8 s after the time it reports: the
    echo canceller cannot follow that, but the level check finds the delay, so an "it
    hurts" heard only in the echo is ignored and the user's own is acted on."""
    room = DemoSettings(noise_rms=0.001, echo_delay=0.8, reflection_delay=0.824)
    rig = Rig(tmp_path, room=room)
    rig.run(until=0.5)
    lines = [line["text"] for line in rig.kinds("said")]
    start, _ = rig.segment_of(lines[2])  # after 2 lines of the coach to learn from
    rig.say_at(Intent.HURT, "it hurts", start + 0.8 + 1.0, user=False)
    rig.run(until=start + 2.5)
    assert rig.session.ignored[-1][1] == "only the coach's echo was heard"
    assert not rig.sink.stops
    rig.say_at(Intent.HURT, "it hurts", start + 3.5)
    rig.run(until=start + 4.5)
    assert rig.sink.stops
    assert rig.log.sessions()[0].pain_reports == 1


def test_a_partial_it_hurts_over_the_coach_cuts_it_before_the_utterance_ends(
    tmp_path: Path,
) -> None:
    rig = Rig(tmp_path)
    begin = rig.into_second_line()
    rig.user.windows.append((begin, begin + 0.6))
    rig.recognizer.script += [
        Recognition(Intent.HURT, "it hurts", 0.6, begin, begin + 0.3, partial=True),
        Recognition(Intent.HURT, "it hurts", 0.9, begin, begin + 0.6),
    ]
    rig.run(until=begin + 2.0)
    assert rig.sink.stops[0] == pytest.approx(begin + 0.3 + HEARD_LAG, abs=0.021)
    assert [c.intent for c in rig.session.acted] == [Intent.HURT]  # once, not twice
    assert rig.log.sessions()[0].pain_reports == 1


def test_a_partial_non_safety_command_waits_for_the_final_result(tmp_path: Path) -> None:
    rig = Rig(tmp_path)
    rig.run(until=60)
    rig.run_until_quiet()
    t = rig.clock() + 1.0
    rig.user.windows.append((t - 0.5, t))
    rig.recognizer.script += [
        Recognition(Intent.NO, "no", 0.5, t - 0.5, t - 0.2, partial=True),
        Recognition(Intent.YES, "yes", 0.9, t - 0.5, t),
    ]
    rig.run(until=t + 0.5)
    assert [c.intent for c in rig.session.acted] == [Intent.YES]


def provisional(intent: Intent, text: str, start: float, end: float) -> Recognition:
    """What PocketSphinx gives when its partial result first reads a safety command."""
    return Recognition(intent, text, 0.0, start, end, partial=True, provisional=True)


def test_a_provisional_it_hurts_silences_the_coach_and_its_final_result_acts(
    tmp_path: Path,
) -> None:
    rig = Rig(tmp_path)
    begin = rig.into_second_line()
    rig.user.windows.append((begin, begin + 0.5))
    rig.recognizer.script += [
        provisional(Intent.HURT, "it hurts", begin, begin + 0.4),
        Recognition(Intent.HURT, "it hurts", 0.9, begin, begin + 0.7),
    ]
    rig.run(until=begin + 3.0)
    # Silenced at the provisional reading, not 0.3 s later at the final result.
    assert rig.sink.stops[0] == pytest.approx(begin + 0.4 + HEARD_LAG, abs=0.021)
    assert [line["command"] for line in rig.kinds("held")] == ["hurt"]
    assert not rig.kinds("resumed")
    assert [c.intent for c in rig.session.acted] == [Intent.HURT]
    assert rig.coach.state is State.PAUSED
    assert rig.log.sessions()[0].pain_reports == 1


def test_a_provisional_command_the_final_result_drops_lets_the_coach_say_its_line_again(
    tmp_path: Path,
) -> None:
    """The coach, cut off in a line, says it again from its start once the final result
    is not a command, then goes on as it would have."""
    rig = Rig(tmp_path)
    begin = rig.into_second_line()
    line = rig.kinds("said")[1]["text"]
    rig.user.windows.append((begin, begin + 0.5))
    rig.recognizer.script += [
        provisional(Intent.STOP, "stop", begin, begin + 0.3),
        Recognition(None, "top", 0.4, begin, begin + 0.7),
    ]
    rig.run(until=begin + 0.5)
    assert rig.sink.stops == [pytest.approx(begin + 0.3 + HEARD_LAG, abs=0.021)]
    assert not rig.sink.is_playing()  # silent while the final result is awaited
    rig.run(until=60)
    segments = [s for s in rig.sink.segments if s.utterance_id == 2]
    first = [s for s in segments if s.start < begin + 0.3]
    again = [s for s in segments if s.start >= begin + 0.3]
    assert first[-1].stopped and not any(s.stopped for s in again)
    assert again[0].start == pytest.approx(begin + 0.7 + HEARD_LAG, abs=0.041)
    played = sum(len(s.samples) for s in first)
    assert sum(len(s.samples) for s in again) > played  # the whole line, from its start
    assert [e["text"] for e in rig.kinds("resumed")] == [line + " " + SAFETY_TEXT]
    assert rig.coach.state is State.ASK_CONSENT  # the introduction finished after all
    assert rig.session.acted == [] and rig.log.commands(rig.session_id) == []
    texts = [e["text"] for e in rig.kinds("said")]
    assert texts[1:6] == [line, SAFETY_TEXT, line, SAFETY_TEXT, texts[5]]


def test_what_the_coach_says_during_a_hold_waits_for_its_end(tmp_path: Path) -> None:
    """An exercise's next beat, due while the coach is silenced, is said after the
    line that was cut."""
    rig = Rig(tmp_path)
    rig.run(until=60)
    rig.run_until_quiet()
    rig.say_at(Intent.YES, "yes", rig.clock() + 1.0)
    rig.pain_free_yes()
    while not any(e["text"] == "Turn to the left." for e in rig.kinds("said")):
        rig.run(until=rig.clock() + 0.1)
    turn = next(e for e in rig.kinds("said") if e["text"] == "Turn to the left.")
    begin = turn["t"] + 0.3
    rig.user.windows.append((begin, begin + 1.5))
    rig.recognizer.script += [
        provisional(Intent.PAUSE, "pause", begin, begin + 0.4),
        Recognition(None, "paws up", 0.4, begin, begin + 2.5),
    ]
    rig.run(until=begin + 2.4)
    texts = [e["text"] for e in rig.kinds("said")]
    assert rig.kinds("held") and texts[-1] == "Turn to the left."  # the next beat waits
    rig.run(until=begin + 6)
    texts = [e["text"] for e in rig.kinds("said")]
    i = texts.index("Turn to the left.")
    assert texts[i : i + 3] == ["Turn to the left.", "Turn to the left.", "Back to the middle."]


def test_a_cue_waiting_behind_a_cut_line_plays_after_it_when_the_coach_carries_on(
    tmp_path: Path,
) -> None:
    """The hold's start earcon, queued behind "Breathe out." (a slow voice), is dropped
    with the line when a provisional command silences the coach; once the final result
    is not a command, it plays again after the line, before "Hold."."""
    tiny = tiny_routine()
    press = replace(tiny.exercises[1], repetitions=1)  # breathing, then a hold
    routine = replace(tiny, exercises=(press,))
    rig = Rig(tmp_path, voice=FakeVoice(amplitude=0.2, seconds_per_word=2.0), routine=routine)
    rig.speaker.cues["hold_start"] = AudioChunk(bytes(2 * 3000), 22_050)  # told apart
    rig.to_exercises()
    while not any(e["text"] == "hold_start" for e in rig.kinds("cue")):
        rig.run(until=rig.clock() + 0.1)
    begin = rig.clock() + 0.1
    uids = {e["text"]: e["uid"] for e in rig.said_with_ids()}  # before any line is said again
    breathe_out, hold = uids["Breathe out."], uids["Hold."]
    assert rig.segment_of("Breathe out.")[1] > begin  # the earcon waits behind it
    rig.user.windows.append((begin, begin + 0.5))
    rig.recognizer.script += [
        provisional(Intent.PAUSE, "pause", begin, begin + 0.3),
        Recognition(None, "paws", 0.4, begin, begin + 0.8),
    ]
    rig.run(until=begin + 40)
    assert rig.kinds("held") and rig.kinds("resumed")

    def played(uid: int | None, samples: int | None = None) -> list[float]:
        return [
            s.start
            for s in rig.sink.segments
            if s.utterance_id == uid
            and not s.stopped
            and (samples is None or len(s.samples) == samples)
        ]

    cue = played(None, 3000)
    assert len(cue) == 1 and cue[0] > begin  # it never played before the hold
    assert max(played(breathe_out)) < cue[0] < min(played(hold))


def test_a_hold_over_a_count_skips_the_counts_it_silenced(tmp_path: Path) -> None:
    """A provisional "pause" over "Seven." that turns out to be nothing: the coach
    carries on with the count it has reached, and the counts keep a second apart (said
    again back to back, "Seven. Six. Five. Four." came 0.4 s apart)."""
    tiny = tiny_routine()
    press = replace(tiny.exercises[1], repetitions=1, hold_seconds=10, breathing=None)
    rig = Rig(tmp_path, routine=replace(tiny, exercises=(press,)))
    rig.to_exercises()
    rig.run_until_said("Seven.")
    begin = rig.clock() + 0.1
    rig.user.windows.append((begin, begin + 0.3))
    rig.recognizer.script += [
        provisional(Intent.PAUSE, "pause", begin, begin + 0.2),
        Recognition(None, "paws", 0.4, begin, begin + 2.7),
    ]
    rig.run(until=begin + 15)
    assert rig.kinds("held") and rig.kinds("resumed")
    said = [e["text"] for e in rig.kinds("said")]
    counts = [t for t in said if t in {script.count(n) for n in range(1, 10)}]
    # "Seven." cut; "Six." and "Five." came during the hold, and their seconds are
    # over when it ends (2.5 s later): the count goes on with "Four." when it is due.
    assert counts == ["Nine.", "Eight.", "Seven.", "Four.", "Three.", "Two.", "One."]
    # Played after the hold: one segment per line, the counts a second apart.
    starts = sorted(rig.first_starts(begin + 0.2).values())[:4]  # "Four." to "One."
    assert len(starts) == 4
    assert all(b - a > 0.9 for a, b in zip(starts, starts[1:], strict=False))


def test_counts_due_while_a_cut_line_is_said_again_are_left_out(tmp_path: Path) -> None:
    """A provisional "stop" in the movement cue before a hold, then nothing: the cue is
    said again, and the hold's counts that came due meanwhile are left out, so the rest
    keep a second apart (they queued behind it and came 0.4 s apart)."""
    tiny = tiny_routine()
    cue = "Press, and move your head back, keeping your chin level."
    press = replace(
        tiny.exercises[1], repetitions=1, cues=(cue,), tempo=2.0, hold_seconds=10, breathing=None
    )
    rig = Rig(tmp_path, routine=replace(tiny, exercises=(press,)))
    uid_of: dict[int, str] = {}  # what the speaker was given, by utterance id
    say = rig.speaker.say

    def given(text: str, uid: int) -> None:
        uid_of[uid] = text
        say(text, uid)

    rig.speaker.say = given  # type: ignore[method-assign]
    rig.to_exercises()
    rig.run_until_said(cue)
    begin = rig.clock() + 1.0
    rig.user.windows.append((begin, begin + 0.3))
    rig.recognizer.script += [
        provisional(Intent.STOP, "stop", begin, begin + 0.2),
        Recognition(None, "top", 0.3, begin, begin + 2.6),
    ]
    rig.run(until=begin + 20)
    assert rig.kinds("held") and [e["text"] for e in rig.kinds("resumed")] == [cue]
    said = [e["text"] for e in rig.kinds("said")]
    counts = [t for t in said if script.is_count(t)]
    assert counts and counts == sorted(set(counts), key=counts.index)  # each once
    assert "Nine." not in counts  # due while the cue was said again
    firsts = rig.first_starts(begin)
    count_starts = sorted(t for uid, t in firsts.items() if script.is_count(uid_of.get(uid, "")))
    assert len(count_starts) == len(counts)
    assert all(b - a > 0.9 for a, b in zip(count_starts, count_starts[1:], strict=False))


def test_a_hold_with_no_final_result_ends_on_its_own(tmp_path: Path) -> None:
    rig = Rig(tmp_path)
    begin = rig.into_second_line()
    rig.user.windows.append((begin, begin + 0.5))
    rig.recognizer.script.append(provisional(Intent.HURT, "it hurts", begin, begin + 0.4))
    rig.run(until=begin + 0.4 + HOLD_LIMIT - 0.1)
    assert not rig.kinds("resumed") and not rig.sink.is_playing()
    rig.run(until=begin + 0.4 + HOLD_LIMIT + 0.1)
    assert len(rig.kinds("resumed")) == 1 and rig.sink.is_playing()
    assert rig.session.acted == []


def test_no_hold_for_the_coachs_own_words_its_echo_or_a_silent_coach(tmp_path: Path) -> None:
    rig = Rig(tmp_path)
    rig.run(until=2.0)
    start, end = rig.segment_of(SAFETY_TEXT)
    # "Stop if anything hurts.": its own "stop", while a sound of the user's is heard over
    # it, so that only knowing the coach's own words keeps it going (with nobody
    # speaking, the double-talk check alone would).
    rig.user.windows.append((start + 0.1, start + 0.45))
    rig.recognizer.script.append(provisional(Intent.STOP, "stop", start + 0.1, start + 0.45))
    # Another line's echo read as "pause", nobody speaking.
    rig.recognizer.script.append(provisional(Intent.PAUSE, "pause", end + 0.5, end + 0.9))
    rig.run(until=60)
    rig.run_until_quiet()
    # The coach waits in silence: nothing to silence.
    t = rig.clock() + 1.0
    rig.user.windows.append((t - 0.4, t))
    rig.recognizer.script.append(provisional(Intent.STOP, "stop", t - 0.4, t))
    rig.run(until=t + 0.5)
    assert not rig.kinds("held") and not rig.sink.stops


def test_a_notice_of_the_loops_own_cut_by_a_hold_is_said_again(tmp_path: Path) -> None:
    """The loop's own lines are cut by a hold as the coach's are, but only the coach's
    were said again after it: a provisional "stop" over "I can hear you again." that
    came to nothing, and the person never heard that the microphone works again."""
    rig = Rig(tmp_path)
    rig.run(until=60)
    rig.run_until_quiet()
    assert rig.coach.state is State.ASK_CONSENT and not rig.sink.is_playing()
    rig.session.device_back("microphone")
    begin = rig.clock() + 0.5
    rig.user.windows.append((begin, begin + 0.5))
    rig.recognizer.script += [
        provisional(Intent.STOP, "stop", begin, begin + 0.3),
        Recognition(None, "top", 0.4, begin, begin + 0.7),
    ]
    rig.run(until=begin + 5)
    [cut] = rig.sink.stops
    assert rig.kinds("held") and begin + 0.3 <= cut < begin + 0.4
    notices = [e["text"] for e in rig.kinds("said") if e.get("fallback")]
    assert notices == [MIC_BACK, MIC_BACK]
    again = [s for s in rig.sink.segments if s.start > cut]
    assert again and {s.utterance_id for s in again} == {-2} and not any(s.stopped for s in again)
    assert [e["text"] for e in rig.kinds("resumed")] == [MIC_BACK]


def test_a_notice_queued_behind_the_coachs_line_is_said_after_it_again(tmp_path: Path) -> None:
    """A fallback queued behind the line the coach was saying, both cut by a hold that
    came to nothing: the line is said again, then the fallback."""
    flaky = FlakyRecognizer()
    rig = Rig(tmp_path, recognizer=flaky)
    begin = rig.into_second_line(0.5)
    line = rig.kinds("said")[1]["text"]
    flaky.fail_at = begin
    rig.run(until=begin + 0.1)
    assert [e["text"] for e in rig.kinds("said")][-1] == RECOGNIZER_FALLBACK
    stop = begin + 0.5
    rig.user.windows.append((stop, stop + 0.5))
    rig.recognizer.script += [
        provisional(Intent.STOP, "stop", stop, stop + 0.3),
        Recognition(None, "top", 0.4, stop, stop + 0.7),
    ]
    rig.run(until=60)
    assert rig.kinds("held")
    texts = [e["text"] for e in rig.kinds("said")]
    i = len(texts) - 1 - texts[::-1].index(line)
    assert texts[i : i + 3] == [line, SAFETY_TEXT, RECOGNIZER_FALLBACK]
    assert rig.coach.state is State.ASK_CONSENT


def test_a_recognizer_error_during_a_hold_lets_the_coach_carry_on(tmp_path: Path) -> None:
    """No final result comes after the recognizer failed and was reset: the coach says
    its cut lines again, after its fallback line, without waiting out the hold."""
    flaky = FlakyRecognizer()
    rig = Rig(tmp_path, recognizer=flaky)
    begin = rig.into_second_line()
    line = rig.kinds("said")[1]["text"]
    rig.user.windows.append((begin, begin + 0.5))
    rig.recognizer.script.append(provisional(Intent.HURT, "it hurts", begin, begin + 0.4))
    rig.run(until=begin + 0.5)
    assert rig.kinds("held") and not rig.sink.is_playing()
    flaky.fail_at = rig.clock()
    rig.run(until=begin + 1.0)
    assert rig.kinds("fault")[0]["text"] == "recognizer: decoder crashed"
    texts = [e["text"] for e in rig.kinds("said")]
    assert texts[-3:] == [RECOGNIZER_FALLBACK, line, SAFETY_TEXT]
    assert rig.sink.is_playing()
    rig.run(until=60)
    assert rig.coach.state is State.ASK_CONSENT


def test_after_a_hold_that_came_to_nothing_the_next_safety_command_acts_on_its_final(
    tmp_path: Path,
) -> None:
    """For HOLD_REST seconds after a hold the final result did not act on, a provisional
    command silences nothing (talk in phrases would restart the line after each); a
    safety command then cuts the coach off on its final result, as without holds."""
    rig = Rig(tmp_path)
    # Louder than the coach: this early in the session the double-talk check has not
    # yet told the echo's delay, and its estimate of the echo counts talk as echo.
    rig.user.level = 0.4
    begin = rig.into_second_line()
    rig.user.windows += [(begin, begin + 0.5), (begin + 1.5, begin + 2.2)]
    rig.recognizer.script += [
        provisional(Intent.STOP, "stop", begin, begin + 0.3),
        Recognition(None, "stock", 0.4, begin, begin + 0.7),
        provisional(Intent.HURT, "it hurts", begin + 1.5, begin + 1.9),
        Recognition(Intent.HURT, "it hurts", 0.9, begin + 1.5, begin + 2.2),
    ]
    rig.run(until=begin + 3.0)
    assert len(rig.kinds("held")) == 1 and len(rig.kinds("resumed")) == 1
    assert rig.sink.stops[1] == pytest.approx(begin + 2.2 + HEARD_LAG, abs=0.021)  # not 1.9
    assert [c.intent for c in rig.session.acted] == [Intent.HURT]
    assert HOLD_REST > 2.2 - 0.7


@pytest.mark.parametrize(("intent", "text"), [(Intent.HELP, "help"), (Intent.WHERE, "where am i")])
def test_help_in_a_held_breath_leaves_the_hold_and_the_rest_their_seconds(
    tmp_path: Path, intent: Intent, text: str
) -> None:
    """The review's case, heard at the speaker: with echo cancellation (any command
    may barge in) "help" 3.5 s into the head glide's held breath was said at once; the
    counts queued behind it, so the breath was let out about 15 s after it was taken,
    and the five-second relaxation lasted 1.4 s. The answer now comes after the
    release, and the schedule waits for it."""
    rig = Rig(
        tmp_path,
        LiveSettings(echo_cancelled=True),
        routine=builtin_routines()["self-correction"],
    )
    rig.run(until=60)
    rig.run_until_quiet(120)
    rig.say_at(Intent.YES, "yes", rig.clock() + 1.0)
    rig.pain_free_yes()
    while not any(e["text"] == "Breathe in, and hold." for e in rig.kinds("said")):
        rig.run(until=rig.clock() + 0.1)
    hold, _ = rig.segment_of("Breathe in, and hold.")
    rig.say_at(intent, text, hold + 3.5)
    rig.run(until=hold + 40)
    assert [c.intent for c in rig.session.acted][-1] is intent
    starts = {}
    for line in rig.said_with_ids():
        segs = [s for s in rig.sink.segments if s.utterance_id == line["uid"]]
        if segs and segs[0].start >= hold:
            starts.setdefault(line["text"], segs[0].start)
    # Every count a second after the one before (the first comes when the longer line
    # "Breathe in, and hold." has been said), and the breath let out ten seconds after
    # it was taken.
    for n in range(7, 0, -1):
        assert starts[script.count(n)] - starts[script.count(n + 1)] == pytest.approx(1.0)
    assert starts["Breathe out, and release."] - hold == pytest.approx(10.0, abs=0.05)
    answer = next(t for t in starts if t.startswith(("You can say", "Exercise one")))
    _, answer_end = rig.segment_of(answer)
    assert starts[answer] > starts["Breathe out, and release."]
    relax = starts["Relax for five seconds."]
    assert relax >= answer_end
    next_rep = next(at for t, at in starts.items() if t.startswith("Repetition two."))
    assert next_rep - relax == pytest.approx(5.0, abs=0.05)


def test_it_hurts_no_louder_than_the_echo_at_the_start_of_a_held_breath_is_acted_on(
    tmp_path: Path,
) -> None:
    """The scenario review's case: "it hurts" said in the first seconds of a held
    breath, over "Breathe in, and hold.", no louder than the coach's echo. The level
    check on the microphone as it is took such a command for the coach's own echo 3
    times of 3 in the demo's room (the breath was held on); here, the user 4 dB under
    the echo, it found 1.1 times its prediction where it asks for 2. In what the echo
    canceller left the user's words stand some 18 dB above the echo's remains, and that
    check now answers first."""
    rig = Rig(tmp_path, voice=EspeakVoice(), routine=builtin_routines()["self-correction"])
    rig.run(until=60)
    rig.run_until_quiet(120)
    rig.say_at(Intent.YES, "yes", rig.clock() + 1.0)
    rig.pain_free_yes()
    rig.run_until_said(script.HOLD_BREATH)
    hold, end = rig.segment_of(script.HOLD_BREATH)
    # The user's voice at 0.6 of the echo's level over the words.
    played = rig.room._played(hold, 16_000)  # the line's first second, queued already
    echo = np.convolve(played, rig.room.response)[4_000:16_000]
    rig.user.level = 0.6 * float(np.sqrt(np.mean(echo**2)))
    rig.say_at(Intent.HURT, "it hurts", hold + 1.0, length=0.8)
    rig.run(until=hold + 3.0)
    assert [why for _, why in rig.session.ignored if why.startswith("only")] == []
    assert [c.intent for c in rig.session.acted][-1] is Intent.HURT
