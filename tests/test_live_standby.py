"""The standby between sessions in the real-time runner (run_with_standby), on a virtual
clock: a session declined, the standby, "ready" and "yes", a second session; a stop in
standby; a microphone unplugged and back in standby."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from tests.routine_fixtures import tiny_routine
from voicecoach import script
from voicecoach.asr.base import FakeRecognizer, Recognition
from voicecoach.audio.chunk import AudioChunk
from voicecoach.audio.sinks import MemorySink, VirtualClock
from voicecoach.commands import Intent
from voicecoach.dialogue import Coach, State
from voicecoach.errors import AudioDeviceError
from voicecoach.runtime.loop import LiveSession
from voicecoach.runtime.realtime import LiveRunner, run_with_standby
from voicecoach.session import SessionLog, start_coaching
from voicecoach.standby import Standby, StandbyState
from voicecoach.tts.base import FakeVoice
from voicecoach.tts.speaker import Speaker


class Mic:
    """A quiet room's noise on a virtual clock, and a louder noise standing in for the
    person's voice in ``voice`` (clock time windows); ``unplugged`` makes its stream
    fail and the device refuse to open."""

    def __init__(self, clock: VirtualClock) -> None:
        self.clock = clock
        self.voice: list[tuple[float, float]] = []
        self.unplugged = False
        self.is_open = True
        self.dead = False
        self.opened = 0

    def open(self) -> None:
        if self.unplugged:
            raise AudioDeviceError("no microphone whose name contains 'USB'")
        self.opened += 1
        self.is_open, self.dead = True, False

    def close(self) -> None:
        self.is_open = False

    def read(self, timeout: float = 0.05) -> list[AudioChunk]:
        t = self.clock()
        self.clock.set(t + timeout)
        if self.unplugged and self.is_open:
            self.dead = True
        if self.dead or not self.is_open:
            return []
        rng = np.random.default_rng(int(t * 1000))
        noise = rng.normal(0, 30, int(round(timeout * 16_000)))
        times = t + np.arange(noise.size) / 16_000
        for start, end in self.voice:
            inside = (times >= start) & (times < end)
            noise[inside] = rng.normal(0, 5000, int(inside.sum()))
        return [AudioChunk(noise.astype("<i2").tobytes(), 16_000, 2, 1, t)]

    @property
    def fault(self) -> str | None:
        return "the microphone stream ended (device error or unplugged)" if self.dead else None


class Rig:
    """run_live's loop of sessions on a virtual clock, with a scripted recognizer and a
    log on disk; ``user`` is called before each turn of the runner."""

    def __init__(self, tmp_path: Path, user: Callable[[Rig], None]) -> None:
        self.clock = VirtualClock()
        self.sink = MemorySink(22_050, self.clock)
        self.speaker = Speaker(FakeVoice(amplitude=0.2), self.sink, cues={}, threaded=False)
        self.speaker.cues = {
            name: AudioChunk(bytes(2 * 2205), 22_050)
            for name in ("heard", "not_understood", "hold_start", "hold_end", "session_end")
        }
        self.recognizer = FakeRecognizer()
        self.log_path = tmp_path / "log.sqlite3"
        self.mic = Mic(self.clock)
        self.stop = threading.Event()
        self.said: list[str] = []
        self.sessions: list[LiveSession] = []
        self.ended: list[str] = []
        self.early_end: list[frozenset[Intent] | None] = []
        """What the recognizer let end an utterance early when the user spoke in standby."""
        self.user = user
        self.runner = LiveRunner(
            self.new_session(), self.mic, self.stop, sleep=self.sleep, read_timeout=0.05
        )
        step = self.runner.step

        def turn() -> None:
            if self.clock() > 600:
                self.stop.set()  # a test that went wrong
            self.user(self)
            step()

        self.runner.step = turn  # type: ignore[method-assign]

    def sleep(self, seconds: float) -> None:
        self.clock.set(self.clock() + seconds)

    def _session(self, dialogue: Coach | Standby, recorder: object = None) -> LiveSession:
        session = LiveSession(
            dialogue,
            self.recognizer,
            self.speaker,
            self.clock,
            recorder,  # type: ignore[arg-type]
            transcript=lambda e: self.said.append(e.text) if e.kind == "said" else None,
        )
        self.sessions.append(session)
        return session

    def new_session(self) -> LiveSession:
        # As `voicecoach run` begins each session: the place, the day's pain reports.
        coach, recorder = start_coaching(self.log_path, tiny_routine())
        return self._session(coach, recorder)

    def new_standby(self, after_pain: bool) -> LiveSession:
        return self._session(Standby(after_pain=after_pain))

    def run(self) -> str:
        return run_with_standby(self.runner, self.new_session, self.new_standby, self.ended.append)

    @property
    def dialogue(self) -> Coach | Standby:
        return self.runner.session.coach  # type: ignore[return-value]

    def quiet(self) -> bool:
        """The dialogue waits and nothing has played for a second."""
        return (
            self.dialogue.waiting_for_user
            and not self.sink.is_playing()
            and self.clock() > self.sink.last_audio_end + 1.0
        )

    def say(self, intent: Intent | None, text: str) -> None:
        """The person says ``text``: the recognizer hears it in half a second from now."""
        end = self.clock() + 0.5
        self.recognizer.script.append(Recognition(intent, text, 0.9, end - 0.4, end))
        self.mic.voice.append((end - 0.4, end))


def answer(rig: Rig, said: list[str]) -> None:
    """A person who declines the first session, then asks for another and says yes;
    stop once the second session asks its first question."""
    dialogue = rig.dialogue
    if not rig.quiet() or rig.recognizer.script:
        return
    if isinstance(dialogue, Coach) and dialogue.state is State.ASK_CONSENT:
        if len(rig.sessions) == 1:
            rig.say(Intent.NO, "no")
            said.append("no")
        else:
            rig.stop.set()
    elif isinstance(dialogue, Standby) and dialogue.state is StandbyState.LISTENING:
        rig.say(Intent.NEXT, "ready")
        said.append("ready")
        rig.early_end.append(rig.recognizer.early)
    elif isinstance(dialogue, Standby) and dialogue.state is StandbyState.ASKING:
        rig.say(Intent.YES, "yes")
        said.append("yes")
        rig.early_end.append(rig.recognizer.early)


def test_declined_then_ready_and_yes_begin_a_second_session(tmp_path: Path) -> None:
    spoken: list[str] = []
    rig = Rig(tmp_path, lambda r: answer(r, spoken))
    status = rig.run()
    assert spoken == ["no", "ready", "yes"]
    # The standby only listens: any command ends an utterance after a short pause (the
    # reply comes sooner), not only the safety ones the goodbye's playback left set.
    assert rig.early_end == [None, None]
    assert rig.ended == ["declined", "interrupted"] and status == "interrupted"
    i = rig.said.index(script.DECLINED)
    assert rig.said[i + 1 :].count(script.STANDBY) == 1
    assert rig.said[i + 1 : i + 3] == [script.STANDBY, script.STANDBY_QUESTION]
    # The second session begins as any does: its introduction, then the question.
    second = rig.said[i + 3 :]
    assert second[: len(script.intro(tiny_routine()))] == script.intro(tiny_routine())
    assert script.CONSENT_QUESTION in second
    with SessionLog(rig.log_path) as db:
        statuses = [s.status for s in db.sessions()]
    assert sorted(statuses) == ["declined", "interrupted"]
    # One speaker, one echo path: the canceller and the level check learned in the
    # first session carry on through the standby into the second.
    first, *others = rig.sessions
    assert first.canceller is not None
    assert all(s.canceller is first.canceller for s in others)
    assert all(s.doubletalk is first.doubletalk for s in others)


def test_without_a_yes_the_standby_says_nothing_more_and_a_stop_ends_it(tmp_path: Path) -> None:
    events: list[str] = []

    def user(rig: Rig) -> None:
        dialogue = rig.dialogue
        if not rig.quiet() or rig.recognizer.script:
            return
        if isinstance(dialogue, Coach) and dialogue.state is State.ASK_CONSENT:
            rig.say(Intent.NO, "no")
        elif isinstance(dialogue, Standby) and dialogue.state is StandbyState.LISTENING:
            if "ready" not in events:
                rig.say(Intent.NEXT, "ready")  # a false accept, perhaps
                events.append("ready")
            elif rig.clock() > rig.sink.last_audio_end + 60:
                rig.stop.set()  # a minute of standby after the question
        elif isinstance(dialogue, Standby) and "no answer" not in events:
            events.append("no answer")  # nobody answers the question

    rig = Rig(tmp_path, user)
    rig.run()
    assert rig.ended == ["declined"]
    i = rig.said.index(script.DECLINED)
    assert rig.said[i + 1 :] == [script.STANDBY, script.STANDBY_QUESTION]  # and silence
    assert isinstance(rig.dialogue, Standby)
    assert rig.dialogue.state is StandbyState.LISTENING  # back, after no answer
    with SessionLog(rig.log_path) as db:
        assert [s.status for s in db.sessions()] == ["declined"]


def test_a_microphone_unplugged_in_standby_is_reopened_and_heard(tmp_path: Path) -> None:
    marks: dict[str, float] = {}

    def user(rig: Rig) -> None:
        dialogue = rig.dialogue
        if "unplugged" in marks and "back" not in marks and rig.clock() > marks["unplugged"] + 5:
            rig.mic.unplugged = False  # plugged in again
            marks["back"] = rig.clock()
        if not rig.quiet() or rig.recognizer.script:
            return
        if isinstance(dialogue, Coach) and dialogue.state is State.ASK_CONSENT:
            if len(rig.sessions) == 1:
                rig.say(Intent.NO, "no")
            else:
                rig.stop.set()
        elif isinstance(dialogue, Standby) and dialogue.state is StandbyState.LISTENING:
            if "unplugged" not in marks:
                rig.mic.unplugged = True
                marks["unplugged"] = rig.clock()
            elif "back" in marks and script.MIC_BACK in rig.said:
                rig.say(Intent.NEXT, "ready")
        elif isinstance(dialogue, Standby) and dialogue.state is StandbyState.ASKING:
            rig.say(Intent.YES, "yes")

    rig = Rig(tmp_path, user)
    rig.run()
    assert rig.ended == ["declined", "interrupted"]
    i = rig.said.index(script.STANDBY)
    assert rig.said[i + 1 : i + 4] == [script.MIC_LOST, script.MIC_BACK, script.STANDBY_QUESTION]
    assert rig.mic.opened == 1  # reopened by the runner
    assert script.CONSENT_QUESTION in rig.said[i + 4 :]


@pytest.mark.parametrize("provisional", [False, True])
@pytest.mark.parametrize(
    ("intent", "words", "then"),
    [(Intent.HURT, "it hurts", [script.STANDBY_PAIN]), (Intent.STOP, "stop", [])],
)
def test_it_hurts_or_stop_over_the_standbys_question_cuts_it_and_starts_nothing(
    tmp_path: Path, intent: Intent, words: str, then: list[str], provisional: bool
) -> None:
    """The question is cut, not played on (nor said again after the loop's hold for a
    provisional result) while a "yes" no longer answers it; "it hurts" is answered,
    "stop" only silences."""
    marks: dict[str, float] = {}

    def user(rig: Rig) -> None:
        dialogue = rig.dialogue
        if "hurt" in marks:
            if rig.quiet() and rig.clock() > marks["hurt"] + 30:
                rig.stop.set()
            return
        if isinstance(dialogue, Standby) and dialogue.state is StandbyState.ASKING:
            if rig.sink.is_playing() and not rig.recognizer.script:
                marks["hurt"] = t = rig.clock()
                if provisional:  # read early from the partial result: a hold
                    rig.recognizer.script.append(
                        Recognition(intent, words, 0.0, t, t + 0.2, partial=True, provisional=True)
                    )
                rig.say(intent, words)  # over the question
            return
        if not rig.quiet() or rig.recognizer.script:
            return
        if isinstance(dialogue, Coach) and dialogue.state is State.ASK_CONSENT:
            rig.say(Intent.NO, "no")
        elif isinstance(dialogue, Standby) and dialogue.state is StandbyState.LISTENING:
            rig.say(Intent.NEXT, "ready")

    rig = Rig(tmp_path, user)
    rig.run()
    i = rig.said.index(script.DECLINED)
    assert rig.said[i + 1 :] == [script.STANDBY, script.STANDBY_QUESTION, *then]
    # The question was cut when the command was heard, not played to its end.
    assert any(marks["hurt"] < t < marks["hurt"] + 1.0 for t in rig.sink.stops), rig.sink.stops
    assert rig.ended == ["declined"]  # no session began
    assert isinstance(rig.dialogue, Standby) and rig.dialogue.state is StandbyState.LISTENING


def test_after_a_session_ended_for_pain_the_standby_does_not_invite_exercise(
    tmp_path: Path,
) -> None:
    """The goodbye of a session ended for pain says to see a doctor before exercising
    again: the standby after it does not say "when you want to exercise again"."""
    heard: list[float] = []

    def user(rig: Rig) -> None:
        dialogue = rig.dialogue
        if isinstance(dialogue, Standby):
            if rig.quiet():
                rig.stop.set()
            return
        if rig.recognizer.script:
            return
        if dialogue.state is State.EXERCISE and len(heard) < 2:
            if not heard or rig.clock() > heard[-1] + 3:
                rig.say(Intent.HURT, "it hurts")  # over the counting
                heard.append(rig.clock())
        elif rig.quiet() and dialogue.state in (State.ASK_CONSENT, State.ASK_PAIN_FREE):
            rig.say(Intent.YES, "yes")
        elif rig.quiet() and dialogue.state is State.ASK_PAIN:
            rig.say(Intent.NO, "no")  # repeat it more gently
        elif rig.quiet() and dialogue.state is State.WAIT_NEXT:
            rig.say(Intent.NEXT, "next")

    rig = Rig(tmp_path, user)
    rig.run()
    assert rig.ended == ["ended_for_pain"]
    assert rig.said[-2:] == [script.PAIN_END, script.STANDBY_AFTER_PAIN]


@pytest.mark.parametrize(("answer", "words"), [(Intent.NO, "no"), (Intent.HURT, "it hurts")])
def test_after_a_decline_for_pain_the_standby_does_not_invite_exercise(
    tmp_path: Path, answer: Intent, words: str
) -> None:
    """Declined at "are you free of acute pain today?" ("we will not exercise today"),
    the standby said "When you want to exercise again, say ready", as after a decline at
    the doctor question: both are logged as declined. It is quiet, as after a session
    ended for pain; a session asked for then begins with a reminder of the pain."""

    def user(rig: Rig) -> None:
        dialogue = rig.dialogue
        if not rig.quiet() or rig.recognizer.script:
            return
        if isinstance(dialogue, Coach) and len(rig.sessions) > 1:
            rig.stop.set()  # the second session has asked its first question
        elif isinstance(dialogue, Coach) and dialogue.state is State.ASK_CONSENT:
            rig.say(Intent.YES, "yes")
        elif isinstance(dialogue, Coach) and dialogue.state is State.ASK_PAIN_FREE:
            rig.say(answer, words)
        elif isinstance(dialogue, Standby) and dialogue.state is StandbyState.LISTENING:
            rig.say(Intent.NEXT, "ready")
        elif isinstance(dialogue, Standby) and dialogue.state is StandbyState.ASKING:
            rig.say(Intent.YES, "yes")

    rig = Rig(tmp_path, user)
    rig.run()
    assert rig.ended == ["declined", "interrupted"]
    i = rig.said.index(script.DECLINED_PAIN)
    assert rig.said[i + 1 : i + 3] == [script.STANDBY_AFTER_PAIN, script.STANDBY_QUESTION]
    second = rig.said[i + 3 :]
    assert second.index(script.PAIN_EARLIER) == len(script.intro(tiny_routine()))
    assert second[-1] == script.CONSENT_QUESTION
