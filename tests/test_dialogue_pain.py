"""Transcript tests of the dialogue manager's safety: "it hurts" at any moment, the skip
or repeat-more-gently question, and what the coach says and records after it."""

from __future__ import annotations

import pytest

from tests.dialogue_helpers import (
    ROUTINE,
    cmd,
    run_beats_until,
    says,
    silence,
    to_consent,
    to_exercise,
    to_pain_free,
    where,
)
from voicecoach import script
from voicecoach.commands import Intent
from voicecoach.dialogue import Coach, State, exercise_programme
from voicecoach.events import (
    CancelTimer,
    ExerciseOutcome,
    InputEnded,
    NotUnderstood,
    PainReported,
    PlaybackFinished,
    PlayCue,
    Say,
    SessionEnded,
    Start,
    StartTimer,
    StopSpeaking,
    Tick,
)


def test_pain_during_a_hold_stops_everything_and_asks_to_skip():
    coach = Coach(ROUTINE)
    to_exercise(coach)
    coach.step(cmd(Intent.SKIP), 23.0)  # to exercise 2, which has a hold
    coach.step(PlaybackFinished(coach._next_id), 30.0)
    t = run_beats_until(coach, "Hold.", 30.0)
    acts = coach.step(cmd(Intent.HURT), t + 0.5)
    n = coach._next_id
    assert acts == [
        StopSpeaking(),
        CancelTimer("beat"),
        PainReported("press", 1),
        ExerciseOutcome(1, "press", "pain"),  # recorded at once: a power cut may follow
        Say(script.PAIN_STOP, n - 1),
        Say(script.PAIN_ASK, n),
    ]
    assert coach.state is State.ASK_PAIN
    # Nothing moves on by itself: no timer runs until the question has been played,
    # and then only the re-prompt.
    assert coach.step(Tick(), t + 100) == []
    assert coach.step(PlaybackFinished(n), t + 101) == [StartTimer("reprompt", t + 121)]


def test_pain_then_yes_skips_and_waits_for_next():
    coach = Coach(ROUTINE)
    to_exercise(coach)
    acts = coach.step(cmd(Intent.HURT), 23.0)
    assert ExerciseOutcome(0, "turn", "pain") in acts  # with the report, not the answer
    coach.step(PlaybackFinished(coach._next_id), 30.0)
    acts = coach.step(cmd(Intent.YES), 31.0)
    assert coach.outcomes == {0: "pain"}
    assert says(acts) == [script.PAIN_SKIPPED, script.WAIT_AFTER_PAIN]
    assert coach.state is State.WAIT_NEXT and coach.pending == 1
    coach.step(PlaybackFinished(coach._next_id), 40.0)
    # Even a routine that moves on by itself waits after pain, quietly: no timer runs.
    assert coach._timers == {}


def test_pain_then_no_repeats_the_exercise_more_slowly():
    coach = Coach(ROUTINE)
    to_exercise(coach)
    coach.step(cmd(Intent.HURT), 23.0)
    acts = coach.step(cmd(Intent.NO), 31.0)
    assert says(acts) == [script.PAIN_GENTLER, script.WAIT_AFTER_PAIN]
    assert coach.tempo == 1.25
    acts = coach.step(cmd(Intent.NEXT), 40.0)
    assert says(acts) == [script.announce(ROUTINE, 0)]


def test_second_pain_report_ends_the_session():
    coach = Coach(ROUTINE)
    to_exercise(coach)
    coach.step(cmd(Intent.HURT), 23.0)
    coach.step(cmd(Intent.NO), 24.0)
    coach.step(cmd(Intent.NEXT), 25.0)
    coach.step(PlaybackFinished(coach._next_id), 30.0)
    acts = coach.step(cmd(Intent.HURT), 31.0)
    assert acts[0] == StopSpeaking()
    assert PainReported("turn", 1) in acts
    assert coach.outcomes == {0: "pain"}  # since the first report
    assert SessionEnded("ended_for_pain") in acts
    assert script.PAIN_END in says(acts)
    assert coach.status == "ended_for_pain"


def test_pain_before_the_first_exercise_pauses_until_the_user_goes_on():
    # At the resume question: consent is given, no exercise has started. (At the
    # consent question itself pain ends the session: see the test below.)
    coach = Coach(ROUTINE, resume_from=1)
    t = to_pain_free(coach)
    coach.step(cmd(Intent.YES), t + 1)
    coach.step(PlaybackFinished(coach._next_id), t + 5)
    acts = coach.step(cmd(Intent.HURT), t + 6)
    assert acts[:3] == [StopSpeaking(), CancelTimer("reprompt"), PainReported(None, 0)]
    assert says(acts) == [script.PAIN_REST]
    assert coach.state is State.PAUSED
    coach.step(PlaybackFinished(coach._next_id), 20.0)
    assert coach.step(Tick(), 500.0) == []  # paused: no re-prompts, nothing moves
    acts = coach.step(cmd(Intent.RESUME), 501.0)
    assert says(acts) == [script.resume_question(1)]  # back to the question


def test_pain_between_exercises_says_next_goes_on_and_next_starts_the_next_one():
    # It said "Say continue when you want to go on"; "continue" then only brought
    # "Say next when you are ready", a second command to go on.
    coach = Coach(ROUTINE)
    t = to_exercise(coach)
    coach.step(cmd(Intent.NEXT), t + 1)  # the first exercise ended early
    coach.step(PlaybackFinished(coach._next_id), t + 3)
    assert coach.state is State.WAIT_NEXT
    acts = coach.step(cmd(Intent.HURT), t + 4)
    assert says(acts) == [script.PAIN_REST_NEXT]
    coach.step(PlaybackFinished(coach._next_id), t + 10)
    acts = coach.step(cmd(Intent.NEXT), t + 60)
    assert says(acts)[0].startswith("Exercise two of three")


@pytest.mark.parametrize("question", [to_consent, to_pain_free])
@pytest.mark.parametrize("first", [[], [Intent.PAUSE], [Intent.STOP]])
def test_pain_at_the_consent_question_declines_as_a_no_would(first, question):
    # "are you free of acute pain today?" - "it hurts" is a no, also said at the doctor
    # question before it. It used to get "Stop and rest ... Say continue when you want
    # to go on".
    coach = Coach(ROUTINE)
    t = question(coach)
    for intent in first:  # paused, or asked whether to stop, at the question
        coach.step(cmd(intent), t + 0.5)
        coach.step(PlaybackFinished(coach._next_id), t + 0.8)
    acts = coach.step(cmd(Intent.HURT), t + 1)
    n = coach._next_id
    assert acts == [
        StopSpeaking(),
        CancelTimer("reprompt"),
        PainReported(None, 0),
        SessionEnded("declined"),
        Say(script.DECLINED_PAIN, n),
        PlayCue("session_end"),
    ]
    assert coach.state is State.ENDING and coach.pain_reports == 1


def test_where_after_pain_and_repeat_more_gently_names_the_exercise_to_come():
    # The demo's case: "it hurts" in exercise two, "no" (repeat it more gently), "where
    # am I". It used to answer "We have not started yet. There are three exercises."
    coach = Coach(ROUTINE)
    t = to_exercise(coach)
    coach.step(cmd(Intent.SKIP), t + 1)
    coach.step(cmd(Intent.HURT), t + 2)
    coach.step(cmd(Intent.NO), t + 3)
    assert where(coach, t + 4) == "Next is exercise two of three: Press and hold."


def test_a_pain_skip_of_the_last_exercise_ends_the_session_without_well_done():
    # It said "Rest as long as you need. Say next when you are ready to go on." with
    # nothing to go on to, and "next" then gave "That was the last exercise. Well done."
    coach = Coach(ROUTINE, resume_from=2)
    t = to_pain_free(coach)
    coach.step(cmd(Intent.YES), t + 1)
    coach.step(cmd(Intent.YES), t + 2)  # continue from exercise three, the last
    coach.step(cmd(Intent.HURT), t + 3)
    coach.step(PlaybackFinished(coach._next_id), t + 10)  # the skip-or-repeat question
    acts = coach.step(cmd(Intent.YES), t + 11)  # skip it
    n = coach._next_id
    assert acts == [
        CancelTimer("reprompt"),
        PlayCue("heard"),
        Say(script.PAIN_SKIPPED, n - 1),
        SessionEnded("completed"),
        Say(script.COMPLETED_AFTER_PAIN, n),
        PlayCue("session_end"),
    ]
    assert "Well done" not in script.COMPLETED_AFTER_PAIN
    assert coach.state is State.ENDING and coach.outcomes == {2: "pain"}
    coach.step(PlaybackFinished(n), t + 20)
    assert coach.finished


def test_a_pain_skip_before_the_last_exercise_waits_for_next():
    coach = Coach(ROUTINE, resume_from=1)
    t = to_pain_free(coach)
    coach.step(cmd(Intent.YES), t + 1)
    coach.step(cmd(Intent.YES), t + 2)  # continue from exercise two
    coach.step(cmd(Intent.HURT), t + 3)
    acts = coach.step(cmd(Intent.YES), t + 4)
    assert says(acts) == [script.PAIN_SKIPPED, script.WAIT_AFTER_PAIN]
    assert coach.state is State.WAIT_NEXT and coach.pending == 2
    assert where(coach, t + 5) == "Next is exercise three of three: Tilt."


def test_after_pain_the_advice_and_the_offer_to_repeat_now_agree():
    # PAIN_STOP said "Next time, make the movement smaller", and the coach then offered
    # to repeat the exercise now.
    coach = Coach(ROUTINE)
    t = to_exercise(coach)
    assert says(coach.step(cmd(Intent.HURT), t + 1)) == [
        "Stop the movement now. Relax and rest. "
        "If you try it again, make the movement smaller and gentler.",
        "Do you want to skip this exercise? Say yes to skip it, or no to repeat it more gently.",
    ]


@pytest.mark.parametrize("end", ["stopped", "completed"])
def test_pain_during_the_goodbye_is_recorded_and_answered(end):
    # The goodbye tells the person to rest and get up: "it hurts" then only silenced it,
    # with no word and no record of the report.
    coach = Coach(ROUTINE, resume_from=2 if end == "completed" else None)
    t = to_pain_free(coach)
    if end == "completed":
        coach.step(cmd(Intent.YES), t + 1)
        coach.step(cmd(Intent.YES), t + 2)  # continue from exercise three, the last
        coach.step(cmd(Intent.NEXT), t + 3)  # no more announcement
        coach.step(cmd(Intent.NEXT), t + 3.5)  # done with it
    else:
        coach.step(cmd(Intent.YES), t + 1)
        coach.step(cmd(Intent.STOP), t + 2)
        coach.step(cmd(Intent.YES), t + 3)
    assert coach.state is State.ENDING and coach.status == end
    acts = coach.step(cmd(Intent.HURT), t + 4)
    n = coach._next_id
    exercise = ROUTINE.exercises[coach.index].id
    assert acts == [StopSpeaking(), PainReported(exercise, 0), Say(script.PAIN_AT_GOODBYE, n)]
    assert coach.pain_reports == 1 and coach.status == end
    coach.step(PlaybackFinished(n), t + 10)
    assert coach.state is State.ENDED


def test_where_at_the_skip_or_repeat_question_says_where_not_the_commands():
    # It answered with the help list ("You can say: yes, no, ...").
    coach = Coach(ROUTINE)
    t = to_exercise(coach)
    coach.step(cmd(Intent.HURT), t + 1)
    assert coach.state is State.ASK_PAIN
    assert where(coach, t + 2).startswith("Exercise one of three")


@pytest.mark.parametrize("answer", [Intent.NO, Intent.YES])
def test_an_exercise_that_hurt_goes_no_further_when_done_again(answer):
    # After "it hurts", repeating it more gently (no), or skipping it (yes) and then
    # "repeat", said "Repetition two. A little further this time." all the same.
    coach = Coach(ROUTINE)
    t = to_exercise(coach)
    coach.step(cmd(Intent.SKIP), t + 1)  # to exercise two, which has a progression line
    coach.step(cmd(Intent.HURT), t + 2)
    coach.step(cmd(answer), t + 3)
    if answer is Intent.YES:
        coach.step(cmd(Intent.REPEAT), t + 4)  # between exercises: the one just skipped
    else:
        coach.step(cmd(Intent.NEXT), t + 4)
    coach.step(PlaybackFinished(coach._next_id), t + 10)
    assert coach.index == 1
    # Said plainly: run_beats_until fails if "Repetition two." never comes alone.
    run_beats_until(coach, "Repetition two.", t + 10)
    # The exercise itself keeps its line: in a new session it goes further again.
    assert "Repetition two. A little further this time." in [
        b.text for b in exercise_programme(ROUTINE.exercises[1])
    ]


@pytest.mark.parametrize("answer", [Intent.YES, Intent.NO])
def test_after_pain_the_coach_waits_quietly_for_next(answer):
    # The review's case (`@105 it hurts`, "no", then `@300 next`): after "Rest as long as
    # you need. Say next when you are ready to go on." came three re-prompts and "I
    # haven't heard from you, so I'll pause here." to a person resting after pain.
    coach = Coach(ROUTINE)
    t = to_exercise(coach)
    coach.step(cmd(Intent.SKIP), t + 1)  # exercise two, not the last
    coach.step(cmd(Intent.HURT), t + 2)
    coach.step(PlaybackFinished(coach._next_id), t + 10)
    acts = coach.step(cmd(answer), t + 11)
    assert says(acts)[-1] == script.WAIT_AFTER_PAIN
    assert coach.state is State.WAIT_NEXT
    assert coach.step(PlaybackFinished(coach._next_id), t + 20) == []
    for later in (40, 100, 300, 1000):
        assert coach.step(Tick(), t + later) == []
    assert coach.state is State.WAIT_NEXT and coach.waiting_for_user
    # Something not understood is answered once, and the quiet goes on.
    assert says(coach.step(NotUnderstood("mm"), t + 1001)) == [script.NOT_UNDERSTOOD]
    assert coach.step(PlaybackFinished(coach._next_id), t + 1004) == []
    assert coach.step(Tick(), t + 2000) == []
    pending = 2 if answer is Intent.YES else 1
    assert says(coach.step(cmd(Intent.NEXT), t + 2001)) == [script.announce(ROUTINE, pending)]
    coach.step(cmd(Intent.NEXT), t + 2002)  # begin now
    coach.step(cmd(Intent.NEXT), t + 2003)  # and end it early
    coach.step(PlaybackFinished(coach._next_id), t + 2005)
    if answer is Intent.YES:  # the hurt one skipped, that was the last: no wait follows
        assert coach.state is State.ENDED
        return
    # The quiet is for the wait after pain only: the next wait for "next" re-prompts.
    assert coach.state is State.WAIT_NEXT
    assert coach.step(Tick(), t + 2024) == []
    assert says(coach.step(Tick(), t + 2025)) == [script.WAIT_REPROMPT]


def hurt_then_gentler(coach: Coach) -> float:
    """A pain report in exercise 1, "no" (repeat it more gently) and its lines played;
    return the time the coach waits from."""
    t = to_exercise(coach)
    coach.step(cmd(Intent.HURT), t + 1)
    coach.step(PlaybackFinished(coach._next_id), t + 8)
    acts = coach.step(cmd(Intent.NO), t + 9)
    assert says(acts) == [script.PAIN_GENTLER, script.WAIT_AFTER_PAIN]
    coach.step(PlaybackFinished(coach._next_id), t + 15)
    assert coach.state is State.WAIT_NEXT and coach.pending == 0
    return t + 15


def test_a_stop_while_waiting_to_repeat_the_exercise_that_hurt_records_it_as_pain():
    # It recorded nothing, so the next start offered an older session's place.
    coach = Coach(ROUTINE)
    t = hurt_then_gentler(coach)
    coach.step(cmd(Intent.STOP), t + 1)
    coach.step(PlaybackFinished(coach._next_id), t + 3)
    acts = coach.step(cmd(Intent.YES), t + 4)
    assert not [a for a in acts if isinstance(a, ExerciseOutcome)]  # not "stopped"
    assert SessionEnded("stopped") in acts
    assert coach.outcomes == {0: "pain"}


def test_a_stop_from_a_pause_while_waiting_to_repeat_it_records_it_as_pain():
    coach = Coach(ROUTINE)
    t = hurt_then_gentler(coach)
    coach.step(cmd(Intent.PAUSE), t + 1)
    coach.step(cmd(Intent.STOP), t + 2)
    acts = coach.step(cmd(Intent.YES), t + 4)
    assert not [a for a in acts if isinstance(a, ExerciseOutcome)]  # not "stopped"
    assert coach.outcomes == {0: "pain"}


def test_a_session_cut_off_while_waiting_to_repeat_the_exercise_that_hurt_records_pain():
    coach = Coach(ROUTINE)
    t = hurt_then_gentler(coach)
    acts = coach.step(InputEnded(), t + 1)
    assert acts == [SessionEnded("interrupted")]
    assert coach.outcomes == {0: "pain"}


def test_a_session_cut_off_at_the_pain_question_records_pain():
    # As a stop answered there does.
    coach = Coach(ROUTINE)
    t = to_exercise(coach)
    acts = coach.step(cmd(Intent.HURT), t + 1)
    assert ExerciseOutcome(0, "turn", "pain") in acts  # at once: a power cut may follow
    acts = coach.step(InputEnded(), t + 2)
    assert acts == [SessionEnded("interrupted")]
    assert coach.outcomes == {0: "pain"}


def test_the_exercise_that_hurt_stopped_part_way_through_its_repeat_is_stopped():
    coach = Coach(ROUTINE)
    t = hurt_then_gentler(coach)
    coach.step(cmd(Intent.NEXT), t + 1)
    coach.step(PlaybackFinished(coach._next_id), t + 5)
    acts = coach.step(cmd(Intent.STOP), t + 6)
    acts = coach.step(cmd(Intent.YES), t + 7)
    # Stopped part way through the repeat: it is where to go on from.
    assert ExerciseOutcome(0, "turn", "stopped") in acts


def test_a_stop_between_exercises_after_one_done_records_nothing_more():
    coach = Coach(ROUTINE)
    t = to_exercise(coach)
    acts = coach.step(cmd(Intent.NEXT), t + 1)  # ends exercise 1 early
    assert ExerciseOutcome(0, "turn", "ended_early") in acts
    coach.step(PlaybackFinished(coach._next_id), t + 5)
    coach.step(cmd(Intent.STOP), t + 6)
    acts = coach.step(cmd(Intent.YES), t + 7)
    assert not any(isinstance(a, ExerciseOutcome) for a in acts)


# -- an answer given at the end of a repetition of an exercise with no rest beats


def at_pain_question(coach: Coach) -> float:
    t = to_exercise(coach)
    coach.step(cmd(Intent.HURT), t + 1)
    coach.step(PlaybackFinished(coach._next_id), t + 8)
    assert coach.state is State.ASK_PAIN and coach.waiting_for_user
    return t + 8


def test_repeat_at_the_pain_question_repeats_the_exercise_more_gently():
    # "Say yes to skip it, or no to repeat it more gently." - "repeat (it more gently)"
    # asked the question again.
    coach = Coach(ROUTINE)
    t = at_pain_question(coach)
    acts = coach.step(cmd(Intent.REPEAT), t + 1)
    assert says(acts) == [script.PAIN_GENTLER, script.WAIT_AFTER_PAIN]
    assert coach.tempo == 1.25
    assert coach.state is State.WAIT_NEXT and coach.pending == 0
    coach.step(PlaybackFinished(coach._next_id), t + 5)
    assert says(coach.step(cmd(Intent.NEXT), t + 6)) == [script.announce(ROUTINE, 0)]


def test_help_at_the_pain_question_says_what_each_answer_does():
    coach = Coach(ROUTINE)
    t = at_pain_question(coach)
    acts = coach.step(cmd(Intent.HELP), t + 1)
    assert says(acts) == [script.PAIN_ASK_HELP, script.PAIN_ASK_REPROMPT]
    assert "repeat, to repeat it more gently" in script.PAIN_ASK_HELP
    # Every answer it names is one the question takes, and means what it says.
    for word, intent in (("yes", Intent.YES), ("skip", Intent.SKIP), ("no", Intent.NO)):
        assert word in script.PAIN_ASK_HELP and intent in coach.listening_for()
    for word in ("pause", "where am I", "stop"):
        assert word in script.PAIN_ASK_HELP
    # A command the question does not take gets the same help.
    coach.step(PlaybackFinished(coach._next_id), t + 9)
    acts = coach.step(cmd(Intent.FASTER), t + 10)
    assert says(acts)[0] == script.PAIN_ASK_HELP


def test_the_pain_questions_help_is_rendered_ahead():
    from voicecoach.dialogue import fixed_texts

    assert script.PAIN_ASK_HELP in fixed_texts(ROUTINE)


def test_the_pain_question_has_one_help_and_only_it_is_rendered():
    # The pain question answers "help" (and a command it does not take) with
    # PAIN_ASK_HELP; the generic list for it ("You can say: yes, no, repeat, pause,
    # skip, ...", with no word on what "repeat" or "skip" do there) was never said,
    # yet rendered into every routine's prompt cache.
    from voicecoach.dialogue import fixed_texts
    from voicecoach.states import help_text, help_texts

    assert help_text(State.ASK_PAIN) == script.PAIN_ASK_HELP
    assert help_text(State.ASK_PAIN, question_left=True) == script.PAIN_ASK_HELP
    never_said = script.help_text(
        (Intent.YES, Intent.NO, Intent.REPEAT, Intent.PAUSE, Intent.SKIP, Intent.WHERE, Intent.STOP)
    )
    assert never_said not in help_texts() and never_said not in fixed_texts(ROUTINE)
    assert script.PAIN_ASK_HELP in help_texts()


# -- silence at a question: after pain no self-pause; after one, yes and no still answer


def test_after_pain_an_unanswered_question_is_asked_again_once_then_waits_quietly():
    # It re-asked three times, then "I haven't heard from you, so I'll pause here.";
    # after that "no" got the help list and "yes" only asked again.
    coach = Coach(ROUTINE)
    t = at_pain_question(coach)
    t, said = silence(coach, t, 1000)
    assert said == [script.PAIN_ASK_REPROMPT]
    assert coach.state is State.ASK_PAIN and coach.waiting_for_user
    assert coach._timers == {}
    acts = coach.step(cmd(Intent.NO), t + 1)
    assert says(acts) == [script.PAIN_GENTLER, script.WAIT_AFTER_PAIN]


def test_after_pain_a_late_yes_still_skips_the_exercise():
    coach = Coach(ROUTINE)
    t = at_pain_question(coach)
    t, _ = silence(coach, t, 300)
    acts = coach.step(cmd(Intent.YES), t + 1)
    assert coach.outcomes == {0: "pain"}
    assert says(acts) == [script.PAIN_SKIPPED, script.WAIT_AFTER_PAIN]


def test_after_pain_help_at_the_question_brings_the_one_re_prompt_again():
    coach = Coach(ROUTINE)
    t = at_pain_question(coach)
    t, _ = silence(coach, t, 300)
    coach.step(cmd(Intent.HELP), t + 1)
    coach.step(PlaybackFinished(coach._next_id), t + 10)
    t, said = silence(coach, t + 10, 300)
    assert said == [script.PAIN_ASK_REPROMPT]


def test_the_exercise_that_hurt_repeated_more_gently_to_its_end_is_done():
    # Recorded as pain at the report, it is done once the gentler repeat is over.
    coach = Coach(ROUTINE)
    t = hurt_then_gentler(coach)
    assert coach.outcomes == {0: "pain"}
    coach.step(cmd(Intent.NEXT), t + 1)
    coach.step(PlaybackFinished(coach._next_id), t + 10)
    while coach.state is State.EXERCISE:
        acts = coach.step(Tick(), coach._timers["beat"])
    assert ExerciseOutcome(0, "turn", "done") in acts
    assert coach.outcomes == {0: "done"}


# -- pain reported earlier today, in another session


def intro_said(coach: Coach) -> list[str]:
    """What the coach says from its start up to its first question, every line played."""
    said: list[str] = []
    acts = coach.step(Start(), 0.0)
    while coach.state is State.INTRO:
        said += says(acts)
        acts = coach.step(PlaybackFinished(coach._next_id), 10.0 * len(said))
    return said + says(acts)


@pytest.mark.parametrize(
    ("earlier", "reminder"), [(1, script.PAIN_EARLIER), (2, script.PAIN_EARLIER_MORE)]
)
def test_a_session_on_a_day_with_pain_begins_with_a_reminder(earlier, reminder):
    # It began as any session does, with no word of the pain reported today.
    said = intro_said(Coach(ROUTINE, pain_today=earlier))
    safety = script.intro(ROUTINE)
    assert said == [*safety, reminder, script.CONSENT_QUESTION]
    assert intro_said(Coach(ROUTINE)) == [*safety, script.CONSENT_QUESTION]


def test_next_in_the_introduction_does_not_pass_over_the_reminder():
    coach = Coach(ROUTINE, pain_today=1)
    coach.step(Start(), 0.0)
    acts = coach.step(cmd(Intent.NEXT), 1.0)
    assert says(acts) == [script.intro(ROUTINE)[-1], script.PAIN_EARLIER]


def test_the_questions_still_decide_on_a_day_with_pain():
    coach = Coach(ROUTINE, pain_today=2)
    to_exercise(coach)
    assert coach.state is State.EXERCISE


def test_one_pain_report_earlier_today_and_the_first_here_ends_the_session():
    # One report in each of two sessions on the same day never ended one.
    coach = Coach(ROUTINE, pain_today=1)
    t = to_exercise(coach)
    acts = coach.step(cmd(Intent.HURT), t + 1)
    assert PainReported("turn", 1) in acts
    assert SessionEnded("ended_for_pain") in acts
    assert script.PAIN_END in says(acts)


def test_a_report_after_two_earlier_today_ends_the_session_saying_again():
    coach = Coach(ROUTINE, pain_today=2)
    t = to_exercise(coach)
    acts = coach.step(cmd(Intent.HURT), t + 1)
    assert SessionEnded("ended_for_pain") in acts
    assert says(acts) == [script.PAIN_END_AGAIN]


def test_no_to_the_acute_pain_question_is_a_pain_report():
    coach = Coach(ROUTINE)
    t = to_pain_free(coach)
    acts = coach.step(cmd(Intent.NO), t + 1)
    assert PainReported(None, 0) in acts
    assert SessionEnded("declined") in acts and says(acts) == [script.DECLINED_PAIN]
    # The second of the day ends the session for pain, as "it hurts" there does.
    for answer in (Intent.NO, Intent.HURT):
        coach = Coach(ROUTINE, pain_today=1)
        t = to_pain_free(coach)
        acts = coach.step(cmd(answer), t + 1)
        assert SessionEnded("ended_for_pain") in acts and script.PAIN_END in says(acts)


def test_the_coach_says_when_a_session_ended_because_of_pain():
    # For the standby after it, which invites no more exercise then: a decline for
    # acute pain is logged "declined", as a decline at the doctor question is.
    coach = Coach(ROUTINE)
    t = to_consent(coach)
    coach.step(cmd(Intent.NO), t + 1)  # not talked to the doctor
    assert coach.status == "declined" and not coach.ended_by_pain
    for answer in (Intent.NO, Intent.HURT):
        coach = Coach(ROUTINE)
        t = to_pain_free(coach)
        coach.step(cmd(answer), t + 1)
        assert coach.status == "declined" and coach.ended_by_pain
    coach = Coach(ROUTINE, pain_today=1)
    t = to_exercise(coach)
    coach.step(cmd(Intent.HURT), t + 1)
    assert coach.status == "ended_for_pain" and coach.ended_by_pain
    coach = Coach(ROUTINE)
    t = to_exercise(coach)
    coach.step(cmd(Intent.HURT), t + 1)
    coach.step(cmd(Intent.STOP), t + 2)
    coach.step(cmd(Intent.YES), t + 3)
    assert coach.status == "stopped" and not coach.ended_by_pain
