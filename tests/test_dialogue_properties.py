"""Property tests: random sessions keep the coach's safety and bookkeeping invariants."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.routine_fixtures import tiny_routine
from voicecoach import script
from voicecoach.commands import Intent
from voicecoach.dialogue import Coach, State, exercise_programme, fixed_texts
from voicecoach.events import (
    OUTCOMES,
    SESSION_STATUSES,
    CancelTimer,
    CommandHeard,
    ExerciseOutcome,
    InputEnded,
    NotUnderstood,
    PlaybackFinished,
    Say,
    SessionEnded,
    Start,
    StartTimer,
    StopSpeaking,
    Tick,
)
from voicecoach.routines.model import Advance, Routine
from voicecoach.session import SessionLog, SessionRecorder, TimerTable


def with_a_neutral_cue(routine: Routine) -> Routine:
    """``routine`` whose first exercise comes back to the start mid-movement (a cue
    marked ``neutral``, where a held-back answer may be given)."""
    turn, *rest = routine.exercises
    cues = ("Turn to the left.", "Back to the middle.", "Turn to the right.", "Back again.")
    return replace(routine, exercises=(replace(turn, cues=cues, neutral=frozenset({1})), *rest))


ROUTINES = [
    tiny_routine(Advance.WAIT),
    tiny_routine(Advance.AUTO),
    with_a_neutral_cue(tiny_routine(Advance.WAIT)),
]
FIXED = [set(fixed_texts(r)) for r in ROUTINES]
BEAT_TEXTS = [
    {b.text for ex in r.exercises for b in exercise_programme(ex) if b.text} for r in ROUTINES
]

# A step is: a command, something not understood, the speaker finishing what it
# is playing, or time passing (to the next timer, or by a random amount).
steps = st.lists(
    st.one_of(
        st.sampled_from(list(Intent)).map(lambda i: ("cmd", i)),
        st.just(("noise", None)),
        st.just(("finish", None)),
        st.just(("finish", None)),
        st.just(("cut", None)),
        st.just(("timer", None)),
        st.just(("timer", None)),
        st.floats(min_value=0.1, max_value=40).map(lambda s: ("wait", s)),
    ),
    max_size=120,
)


class Harness:
    """Drives a coach like a runtime: a speaker queue and a timer table."""

    def __init__(self, routine_index: int, resume: int | None) -> None:
        self.routine = ROUTINES[routine_index]
        self.fixed = FIXED[routine_index]
        self.beat_texts = BEAT_TEXTS[routine_index]
        self.coach = Coach(self.routine, resume_from=resume)
        self.now = 0.0
        self.speaking: list[int] = []
        self.timers = TimerTable()
        self.ended: list[str] = []
        self.outcomes: list[ExerciseOutcome] = []
        self.texts: dict[int, str] = {}
        self.safety = script.intro(self.routine)[-1]
        self.safety_heard = False  # the safety text played to its end at least once
        self.cut: set[int] = set()  # utterances silenced or cut before their end
        self.yes_to: list[State] = []  # the consent questions answered yes, in order
        log = SessionLog(Path(":memory:"))  # the session log, written as the runtime does
        self.recorder = SessionRecorder(log, log.start(self.routine.id))

    def feed(self, event):
        if isinstance(event, PlaybackFinished):
            if event.cut:
                self.cut |= {u for u in self.texts if u <= event.utterance_id}
            self.safety_heard |= any(
                text == self.safety and uid <= event.utterance_id and uid not in self.cut
                for uid, text in self.texts.items()
            )
        state_before = self.coach.state
        # Paused by itself at a question, the coach takes a yes as the answer to it.
        asked = self.coach._unanswered if state_before is State.PAUSED else state_before
        timers_before = dict(self.timers)
        acts = self.coach.step(event, self.now)
        yes = isinstance(event, CommandHeard) and event.intent is Intent.YES
        if yes and asked in (State.ASK_CONSENT, State.ASK_PAIN_FREE):
            self.yes_to.append(asked)
        for a in acts:
            self.timers.apply(a)
            self.recorder.apply(a)
            if isinstance(a, Say):
                assert a.text in self.fixed, a.text
                if a.text == script.CONSENT_QUESTION:
                    assert self.safety_heard, "asked for consent before the safety text"
                self.speaking.append(a.utterance_id)
                self.texts[a.utterance_id] = a.text
            elif isinstance(a, StopSpeaking):
                self.cut |= set(self.speaking)
                self.speaking.clear()
            elif isinstance(a, SessionEnded):
                self.ended.append(a.status)
            elif isinstance(a, ExerciseOutcome):
                self.outcomes.append(a)
        self.check(event, acts, state_before, timers_before)
        return acts

    def check(self, event, acts, state_before, timers_before):
        coach = self.coach
        if state_before is State.ENDED:
            assert acts == []
        hurt = isinstance(event, CommandHeard) and event.intent is Intent.HURT
        if hurt and state_before not in (State.ENDED, State.NOT_STARTED):
            # Pain stops speech first, and cancels every timer that was running.
            assert acts[0] == StopSpeaking()
            for name in timers_before:
                assert CancelTimer(name) in acts
            # Nothing on the beat, and no timer but a re-prompt, until the user speaks.
            assert not any(isinstance(a, Say) and a.text in self.beat_texts for a in acts)
            assert not any(isinstance(a, StartTimer) for a in acts)
        if coach.state is not State.NOT_STARTED and coach.index >= 0:
            assert 0 <= coach.rep <= self.routine.exercises[coach.index].repetitions
        if coach.state is State.WAIT_NEXT:
            # It never waits for "next" with no exercise to come (after the last one,
            # done, skipped or skipped for pain, the session ends).
            assert coach.pending < len(self.routine.exercises)
        if coach.index >= 0:
            # No exercise without a yes to each consent question, the doctor one first.
            assert self.yes_to == [State.ASK_CONSENT, State.ASK_PAIN_FREE]
        assert len(self.ended) <= 1
        for o in self.outcomes:
            assert o.outcome in OUTCOMES
        # The coach's record of outcomes is the log's: done stays done, a skip
        # replaces nothing.
        rows = self.recorder.log._db.execute("SELECT idx, outcome FROM exercises").fetchall()
        assert coach.outcomes == dict(rows)

    def pain_pending(self) -> bool:
        return self.coach.state is State.ASK_PAIN


# 2000 random sessions take about 4 s. At 300, a CI run once drew a case (a tick 12 s
# late through a whole exercise) that earlier runs had missed; 160,000 drawn in long
# runs since found nothing more.
@settings(
    max_examples=2000,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(steps, st.sampled_from(range(len(ROUTINES))), st.sampled_from([None, 1, 2]))
def test_random_sessions_keep_the_invariants(script, routine_index, resume):
    h = Harness(routine_index, resume)
    h.feed(Start())
    after_pain = False
    for kind, value in script:
        if kind == "cmd":
            acts = h.feed(CommandHeard(value, value.value))
            if value is Intent.HURT and h.coach.state is State.ASK_PAIN:
                after_pain = True
            elif value is not Intent.HURT:
                after_pain = False
        elif kind == "noise":
            h.feed(NotUnderstood("mumble"))
        elif kind == "finish":
            if h.speaking:
                h.feed(PlaybackFinished(h.speaking.pop(0)))
        elif kind == "cut":  # the speaker fails under what it plays; a new one goes on
            if h.speaking:
                last, h.speaking = h.speaking[-1], []
                h.feed(PlaybackFinished(last, cut=True))
        elif kind == "timer":
            due = h.timers.next_due()
            if due is not None:
                h.now = max(h.now, due)
                h.timers.pop_due(h.now)
                acts = h.feed(Tick())
                if after_pain:
                    # After pain nothing moves on by itself: time only brings re-prompts
                    # or the self-pause, never the next beat or exercise.
                    assert not any(isinstance(a, Say) and a.text in h.beat_texts for a in acts)
                    assert not any(isinstance(a, ExerciseOutcome) for a in acts)
        else:
            h.now += value
            if h.timers.pop_due(h.now):
                h.feed(Tick())
    # However it went, the session ends in a logged state.
    h.feed(InputEnded())
    assert h.coach.finished
    assert len(h.ended) == 1 and h.ended[0] in SESSION_STATUSES
    assert h.feed(CommandHeard(Intent.NEXT, "next")) == []


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.sampled_from([Intent.SLOWER, Intent.FASTER, Intent.WHERE]), max_size=30),
    st.sampled_from([0, 2]),  # answers kept for the rest, or given at a neutral cue too
)
def test_a_full_session_counts_every_repetition_exactly_once(tempo_changes, routine_index):
    h = Harness(routine_index, None)
    h.feed(Start())
    said: list[str] = []
    pending = list(tempo_changes)
    while not h.coach.finished:
        if h.coach.waiting_for_user:
            acts = h.feed(CommandHeard(Intent.YES, "yes"))
        elif h.speaking:
            acts = h.feed(PlaybackFinished(h.speaking.pop(0)))
        elif pending and h.coach.state is State.EXERCISE:
            acts = h.feed(CommandHeard(pending.pop(), "tempo"))
        else:
            due = h.timers.next_due()
            assert due is not None, h.coach.state
            h.now = max(h.now, due)
            h.timers.pop_due(h.now)
            acts = h.feed(Tick())
        said += [a.text for a in acts if isinstance(a, Say)]
    from voicecoach import script

    announced = [t for t in said if t.startswith("Exercise ") and ":" in t]
    assert announced == [script.announce(h.routine, i) for i in range(len(h.routine.exercises))]
    rep_lines = [t.split(".")[0] for t in said if t.startswith("Repetition ")]
    expected = [
        f"Repetition {w}"
        for ex in h.routine.exercises
        for w in ["one", "two", "three", "four", "five"][: ex.repetitions]
    ]
    assert rep_lines == expected
    assert [o.outcome for o in h.outcomes] == ["done"] * len(h.routine.exercises)
    assert h.ended == ["completed"]


def test_a_late_tick_through_an_exercise_leaves_no_timer_behind():
    """The case hypothesis found: a tick 12 s late runs through every beat of the first
    exercise to its end. The timers set and fired within that tick are not handed to
    the runtime; before, the last beat's stayed in its table after the exercise ended,
    and "it hurts" then cancelled no timer the runtime still had."""
    h = Harness(0, None)
    h.feed(Start())
    h.feed(CommandHeard(Intent.NEXT, "next"))  # past the intro, to the safety text
    h.feed(PlaybackFinished(h.speaking.pop(0)))  # which plays out; then the question
    for intent in (Intent.YES, Intent.YES, Intent.NEXT):  # the doctor, the pain, begin
        h.feed(CommandHeard(intent, intent.value))
    assert h.coach.state is State.EXERCISE and dict(h.timers)
    h.now += 12.0
    assert h.timers.pop_due(h.now)
    acts = h.feed(Tick())
    assert any(isinstance(a, ExerciseOutcome) for a in acts)
    assert h.coach.state is State.WAIT_NEXT
    assert dict(h.timers) == {}
    h.feed(CommandHeard(Intent.HURT, "it hurts"))  # Harness.check: every timer cancelled
