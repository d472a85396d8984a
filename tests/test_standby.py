"""The standby between sessions (voicecoach.standby): events in, actions out."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from voicecoach import script
from voicecoach.commands import Intent
from voicecoach.events import (
    CancelTimer,
    CommandHeard,
    Event,
    InputEnded,
    NotUnderstood,
    PlaybackFinished,
    Say,
    Start,
    StartTimer,
    StopSpeaking,
    Tick,
)
from voicecoach.standby import START, Standby, StandbyOptions, StandbyState

WAIT = StandbyOptions().answer_wait


def asked(standby: Standby, at: float = 100.0) -> int:
    """Start ``standby``, let its line play, hear "ready": the question's utterance id."""
    [line] = standby.step(Start(), 0.0)
    assert isinstance(line, Say)
    standby.step(PlaybackFinished(line.utterance_id), 3.0)
    acts = standby.step(CommandHeard(Intent.NEXT, "ready"), at)
    assert acts == [CancelTimer("answer"), Say(script.STANDBY_QUESTION, line.utterance_id + 1)]
    return line.utterance_id + 1


def test_it_says_its_line_once_and_then_only_listens() -> None:
    standby = Standby()
    assert standby.step(Start(), 0.0) == [Say(script.STANDBY, 1)]
    assert standby.step(PlaybackFinished(1), 3.0) == []
    assert standby.state is StandbyState.LISTENING and standby.waiting_for_user
    # No reminders: an hour of ticks says nothing.
    assert all(standby.step(Tick(), t) == [] for t in range(0, 3600, 7))
    assert set(standby.listening_for()) == {
        Intent.NEXT,
        Intent.HELP,
        Intent.WHERE,
        Intent.HURT,
        Intent.STOP,
        Intent.PAUSE,
    }


def test_ready_asks_and_only_yes_starts_a_session() -> None:
    standby = Standby()
    question = asked(standby)
    assert set(standby.listening_for()) == {
        Intent.YES,
        Intent.NO,
        Intent.HURT,
        Intent.HELP,
        Intent.WHERE,
        Intent.STOP,
        Intent.PAUSE,
    }
    assert not standby.finished
    assert standby.step(PlaybackFinished(question), 103.0) == [StartTimer("answer", 103.0 + WAIT)]
    assert standby.step(CommandHeard(Intent.YES, "yes"), 105.0) == [CancelTimer("answer")]
    assert standby.finished and standby.status == START
    assert standby.step(CommandHeard(Intent.NEXT), 106.0) == []  # over


def test_no_anything_else_or_silence_returns_to_listening_quietly() -> None:
    answers: list[Event] = [
        CommandHeard(Intent.NO, "no"),
        CommandHeard(Intent.STOP, "stop"),
        CommandHeard(Intent.NEXT, "next"),
        NotUnderstood("the television"),
    ]
    for answer in answers:
        standby = Standby()
        question = asked(standby)
        standby.step(PlaybackFinished(question), 103.0)
        assert standby.step(answer, 104.0) == [CancelTimer("answer")], answer
        assert standby.state is StandbyState.LISTENING and standby.status is None
        # A "yes" now is no answer to anything: nothing happens.
        assert standby.step(CommandHeard(Intent.YES), 105.0) == []
        assert not standby.finished

    standby = Standby()
    question = asked(standby)
    standby.step(PlaybackFinished(question), 103.0)
    assert standby.step(Tick(), 103.0 + WAIT - 0.1) == []
    assert standby.step(Tick(), 103.0 + WAIT) == [CancelTimer("answer")]  # said nothing
    assert standby.state is StandbyState.LISTENING
    assert standby.step(CommandHeard(Intent.YES), 120.0) == []


def test_the_wait_for_the_answer_runs_from_the_end_of_the_question() -> None:
    # The question still plays: a tick then does not end the wait.
    standby = Standby()
    question = asked(standby, at=100.0)
    assert standby.step(Tick(), 100.0 + WAIT + 1) == []
    assert standby.state is StandbyState.ASKING
    standby.step(PlaybackFinished(question), 100.0 + WAIT + 2)
    assert standby.step(CommandHeard(Intent.YES), 100.0 + 2 * WAIT) == [CancelTimer("answer")]
    assert standby.finished


def test_help_says_the_line_again_and_other_commands_nothing() -> None:
    standby = Standby()
    standby.step(Start(), 0.0)
    standby.step(PlaybackFinished(1), 3.0)
    for intent in Intent:
        if intent not in (Intent.NEXT, Intent.HELP, Intent.HURT, Intent.WHERE):
            assert standby.step(CommandHeard(intent), 10.0) == [], intent
    assert standby.step(NotUnderstood("hello"), 11.0) == []
    assert standby.step(CommandHeard(Intent.HELP), 12.0) == [Say(script.STANDBY, 2)]
    assert standby.state is StandbyState.LISTENING


def test_stop_or_an_answer_over_the_question_silences_it() -> None:
    # Heard over the question ("stop" always; "no", "next" with --echo-cancelled):
    # the question is over, so it must not play on while "yes" no longer answers it.
    for answer in (
        CommandHeard(Intent.STOP, "stop"),
        CommandHeard(Intent.PAUSE, "wait"),
        CommandHeard(Intent.NO, "no"),
        CommandHeard(Intent.NEXT, "next"),
    ):
        standby = Standby()
        asked(standby)
        assert standby.step(answer, 101.0) == [StopSpeaking(), CancelTimer("answer")], answer
        assert standby.state is StandbyState.LISTENING

    # "help" over it, or after it: the standby line again, the question dropped.
    standby = Standby()
    question = asked(standby)
    assert standby.step(CommandHeard(Intent.HELP), 101.0) == [
        StopSpeaking(),
        CancelTimer("answer"),
        Say(script.STANDBY, question + 1),
    ]
    assert standby.state is StandbyState.LISTENING
    standby = Standby()
    question = asked(standby)
    standby.step(PlaybackFinished(question), 103.0)
    assert standby.step(CommandHeard(Intent.HELP), 104.0) == [
        CancelTimer("answer"),
        Say(script.STANDBY, question + 1),
    ]


def test_where_am_i_says_no_session_runs_and_how_to_start_one() -> None:
    standby = Standby()
    standby.step(Start(), 0.0)
    standby.step(PlaybackFinished(1), 3.0)
    assert Intent.WHERE in standby.listening_for()  # the recognizer listens for it
    assert standby.step(CommandHeard(Intent.WHERE, "where am i"), 10.0) == [
        Say(script.STANDBY_WHERE, 2)
    ]
    # Asked while the question is asked: the question is dropped ("ready" asks again).
    standby = Standby()
    question = asked(standby)
    assert Intent.WHERE in standby.listening_for()
    assert standby.step(CommandHeard(Intent.WHERE, "how many left"), 101.0) == [
        StopSpeaking(),
        CancelTimer("answer"),
        Say(script.STANDBY_WHERE, question + 1),
    ]
    assert standby.state is StandbyState.LISTENING and not standby.finished


def test_stop_over_the_standby_line_silences_it_and_otherwise_does_nothing() -> None:
    for intent in (Intent.STOP, Intent.PAUSE):
        standby = Standby()
        standby.step(Start(), 0.0)
        assert standby.step(CommandHeard(intent), 1.0) == [StopSpeaking()], intent
        assert standby.step(CommandHeard(intent), 2.0) == [], intent  # nothing plays now
        assert standby.state is StandbyState.LISTENING


def test_a_pain_report_is_always_answered_and_starts_no_session() -> None:
    standby = Standby()
    standby.step(Start(), 0.0)
    # Over the standby's own line: silenced, then what to do now.
    assert standby.step(CommandHeard(Intent.HURT, "it hurts"), 1.0) == [
        StopSpeaking(),
        Say(script.STANDBY_PAIN, 2),
    ]
    # Said again while that answer plays: it is being answered, nothing restarts it.
    assert standby.step(CommandHeard(Intent.HURT, "ouch"), 2.0) == []
    standby.step(PlaybackFinished(2), 9.0)
    assert standby.step(CommandHeard(Intent.HURT, "it hurts"), 30.0) == [
        Say(script.STANDBY_PAIN, 3)
    ]
    assert standby.state is StandbyState.LISTENING and not standby.finished

    # Over the question: silenced, the question dropped, the answer said.
    standby = Standby()
    question = asked(standby)
    assert standby.step(CommandHeard(Intent.HURT, "pain"), 101.0) == [
        StopSpeaking(),
        CancelTimer("answer"),
        Say(script.STANDBY_PAIN, question + 1),
    ]
    assert standby.state is StandbyState.LISTENING
    assert standby.step(PlaybackFinished(question), 101.5) == []  # cut: no wait begins
    assert standby.step(CommandHeard(Intent.YES), 110.0) == []  # a yes starts nothing now
    assert not standby.finished and standby.status is None

    # After the question played, waiting for the answer.
    standby = Standby()
    question = asked(standby)
    standby.step(PlaybackFinished(question), 103.0)
    assert standby.step(CommandHeard(Intent.HURT, "it hurts"), 104.0) == [
        CancelTimer("answer"),
        Say(script.STANDBY_PAIN, question + 1),
    ]
    assert standby.step(Tick(), 103.0 + WAIT) == []
    assert standby.state is StandbyState.LISTENING and not standby.finished


def television(standby: Standby, readies: list[float], until: float) -> list[float]:
    """Run ``standby`` to ``until`` with a television false-accepting "ready" at
    ``readies`` and nobody answering; each line plays 3 s. The times it asked."""
    pending: dict[int, float] = {}  # utterance id -> when it has played
    asked_at: list[float] = []
    ticks = [i * 0.5 for i in range(int(until * 2) + 1)]
    events = sorted([(t, 1) for t in readies] + [(t, 0) for t in ticks])
    for now, kind in events:
        for uid, done in sorted(pending.items()):
            if done <= now:
                del pending[uid]
                standby.step(PlaybackFinished(uid), done)
        acts = standby.step(CommandHeard(Intent.NEXT, "ready") if kind else Tick(), now)
        for act in acts:
            if isinstance(act, Say):
                pending[act.utterance_id] = now + 3.0
                if act.text == script.STANDBY_QUESTION:
                    asked_at.append(now)
    return asked_at


def test_a_television_saying_ready_now_and_then_gets_the_question_once() -> None:
    standby = Standby()
    standby.step(Start(), 0.0)
    standby.step(PlaybackFinished(1), 3.0)
    # Ten false "ready"s in two minutes, far enough apart not to be a person repeating.
    readies = [20.0 + 12.0 * i for i in range(10)]
    assert television(standby, readies, 150.0) == [20.0]


def test_after_an_unanswered_question_ready_said_twice_asks_again() -> None:
    quiet = StandbyOptions().quiet_after
    again = StandbyOptions().again_within
    for answer in (None, CommandHeard(Intent.NO, "no"), NotUnderstood("mm")):
        standby = Standby()
        question = asked(standby, at=100.0)
        standby.step(PlaybackFinished(question), 103.0)
        end = 103.0 + WAIT if answer is None else 105.0
        assert standby.step(answer or Tick(), end) == [CancelTimer("answer")]
        # A single "ready" is not taken for the person...
        assert standby.step(CommandHeard(Intent.NEXT, "ready"), end + 20.0) == []
        assert standby.step(CommandHeard(Intent.NEXT, "ready"), end + 21.0 + again) == []
        # ... but one said again, as a person does when nothing happens, is.
        acts = standby.step(CommandHeard(Intent.NEXT, "ready"), end + 24.0 + again)
        assert Say(script.STANDBY_QUESTION, question + 1) in acts
        standby.step(PlaybackFinished(question + 1), end + 27.0 + again)
        assert standby.step(CommandHeard(Intent.YES), end + 28.0 + again) == [CancelTimer("answer")]
        assert standby.finished

    # Once the quiet time has passed, one "ready" asks again.
    standby = Standby()
    question = asked(standby, at=100.0)
    standby.step(CommandHeard(Intent.NO, "no"), 101.0)
    assert standby.step(CommandHeard(Intent.NEXT, "ready"), 101.0 + quiet - 1) == []
    acts = standby.step(CommandHeard(Intent.NEXT, "ready"), 101.0 + quiet + again + 1)
    assert Say(script.STANDBY_QUESTION, question + 1) in acts

    # "help" and "where am I" tell the person to say ready: the next one asks.
    for intent in (Intent.HELP, Intent.WHERE):
        standby = Standby()
        question = asked(standby, at=100.0)
        standby.step(CommandHeard(Intent.NO, "no"), 101.0)
        [line] = standby.step(CommandHeard(intent), 110.0)
        standby.step(PlaybackFinished(question + 1), 114.0)
        acts = standby.step(CommandHeard(Intent.NEXT, "ready"), 200.0)
        assert Say(script.STANDBY_QUESTION, question + 2) in acts, intent


def test_after_a_session_ended_for_pain_it_does_not_invite_exercise() -> None:
    # The goodbye said "please see a doctor about this pain before you exercise again":
    # no "when you want to exercise again, say ready" right after it.
    standby = Standby(after_pain=True)
    assert standby.step(Start(), 0.0) == [Say(script.STANDBY_AFTER_PAIN, 1)]
    assert "exercise" not in script.STANDBY_AFTER_PAIN
    standby.step(PlaybackFinished(1), 2.0)
    acts = standby.step(CommandHeard(Intent.NEXT, "ready"), 100.0)  # still possible
    assert Say(script.STANDBY_QUESTION, 2) in acts
    assert Standby(after_pain=False).step(Start(), 0.0) == [Say(script.STANDBY, 1)]


def test_nothing_before_start_and_nothing_at_the_end_of_input() -> None:
    standby = Standby()
    assert standby.step(CommandHeard(Intent.NEXT), 0.0) == []
    assert standby.step(Tick(), 1.0) == []
    assert standby.step(InputEnded(), 2.0) == []
    assert standby.step(Start(), 3.0) == [Say(script.STANDBY, 1)]
    assert standby.step(Start(), 4.0) == []
    assert standby.step(InputEnded(), 5.0) == []


def test_the_texts_are_rendered_ahead_with_every_routine() -> None:
    from voicecoach.dialogue import fixed_texts
    from voicecoach.routines import builtin_routines

    for routine in builtin_routines().values():
        assert {script.STANDBY, script.STANDBY_QUESTION} <= set(fixed_texts(routine))


_EVENTS = st.one_of(
    st.builds(CommandHeard, st.sampled_from(list(Intent))),
    st.builds(NotUnderstood),
    st.just(Tick()),
    st.builds(PlaybackFinished, st.integers(1, 4)),
)


@given(st.lists(st.tuples(_EVENTS, st.floats(0, 30)), max_size=40))
def test_a_session_starts_only_on_a_yes_right_after_the_question(
    steps: list[tuple[Event, float]],
) -> None:
    """Whatever is heard: a session starts only on a "yes" to the question, which only
    "next" asks; the standby speaks only when asked to ("next", "help", "where am I") or
    told of pain,
    never by itself on a tick, and says at most one line per event."""
    standby = Standby()
    standby.step(Start(), 0.0)
    now = 0.0
    for event, dt in steps:
        now += dt
        was = standby.state
        acts = standby.step(event, now)
        said = [a for a in acts if isinstance(a, Say)]
        assert len(said) <= 1
        if said:
            assert isinstance(event, CommandHeard)
            assert event.intent in (Intent.NEXT, Intent.HELP, Intent.HURT, Intent.WHERE)
            assert was is StandbyState.LISTENING or event.intent is not Intent.NEXT
        if isinstance(event, CommandHeard) and event.intent is Intent.HURT:
            assert said or acts == []  # answered, unless its answer is playing now
        # Silencing comes first, before anything else is said or set.
        assert not any(isinstance(a, StopSpeaking) for a in acts[1:])
        if standby.finished:
            assert isinstance(event, CommandHeard) and event.intent is Intent.YES
            assert was is StandbyState.ASKING
            break
        if standby.state is StandbyState.ASKING and was is not StandbyState.ASKING:
            assert isinstance(event, CommandHeard) and event.intent is Intent.NEXT
