"""Transcript tests of the dialogue manager for the second review's findings."""

from __future__ import annotations

from dataclasses import replace

from tests.dialogue_helpers import (
    ROUTINE,
    cmd,
    run_beats_until,
    says,
    to_consent,
    to_exercise,
    to_pain_free,
)
from voicecoach import script
from voicecoach.commands import Intent
from voicecoach.dialogue import Coach, State
from voicecoach.events import (
    CancelTimer,
    ExerciseOutcome,
    InputEnded,
    PlaybackFinished,
    PlayCue,
    Say,
    SessionEnded,
    Start,
    StartTimer,
    Tick,
)
from voicecoach.routines.model import Breathing, Exercise


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
    assert ExerciseOutcome(0, "turn", "pain") in acts
    assert SessionEnded("stopped") in acts
    assert coach.outcomes == {0: "pain"}


def test_a_stop_from_a_pause_while_waiting_to_repeat_it_records_it_as_pain():
    coach = Coach(ROUTINE)
    t = hurt_then_gentler(coach)
    coach.step(cmd(Intent.PAUSE), t + 1)
    coach.step(cmd(Intent.STOP), t + 2)
    acts = coach.step(cmd(Intent.YES), t + 4)
    assert ExerciseOutcome(0, "turn", "pain") in acts
    assert coach.outcomes == {0: "pain"}


def test_a_session_cut_off_while_waiting_to_repeat_the_exercise_that_hurt_records_pain():
    coach = Coach(ROUTINE)
    t = hurt_then_gentler(coach)
    acts = coach.step(InputEnded(), t + 1)
    assert acts == [ExerciseOutcome(0, "turn", "pain"), SessionEnded("interrupted")]


def test_a_session_cut_off_at_the_pain_question_records_pain():
    # As a stop answered there does.
    coach = Coach(ROUTINE)
    t = to_exercise(coach)
    coach.step(cmd(Intent.HURT), t + 1)
    acts = coach.step(InputEnded(), t + 2)
    assert ExerciseOutcome(0, "turn", "pain") in acts
    assert acts[-1] == SessionEnded("interrupted")


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


def test_next_while_an_answer_is_given_after_the_last_repetition_of_cues_only_is_done():
    # Exercise 1 of the test routine is movement cues only: no beat is a rest. The end
    # of its repetition, where a kept answer is given, is its rest; "next" there said
    # the exercise ended early.
    coach = Coach(ROUTINE)
    t = to_exercise(coach)
    t = run_beats_until(coach, "Repetition two.", t)
    coach.step(cmd(Intent.WHERE), t + 0.5)
    where = script.where_exercise(ROUTINE, 0, 2)
    t = run_beats_until(coach, where, t)
    acts = coach.step(cmd(Intent.NEXT), t + 0.5)
    assert ExerciseOutcome(0, "turn", "done") in acts


def test_a_pause_while_an_answer_is_given_after_a_repetition_goes_on_with_the_next():
    # It did the repetition again, as if paused in its movement.
    coach = Coach(ROUTINE)
    t = to_exercise(coach)
    coach.step(cmd(Intent.WHERE), t + 0.5)
    t = run_beats_until(coach, script.where_exercise(ROUTINE, 0, 1), t)
    coach.step(cmd(Intent.PAUSE), t + 0.5)
    coach.step(PlaybackFinished(coach._next_id), t + 2)
    acts = coach.step(cmd(Intent.RESUME), t + 3)
    assert says(acts) == [script.RESUMING]
    acts = coach.step(PlaybackFinished(coach._next_id), t + 4)
    assert says(acts) == ["Repetition two."]


def test_a_pause_while_an_answer_is_given_after_the_last_repetition_ends_the_exercise():
    coach = Coach(ROUTINE)
    t = to_exercise(coach)
    t = run_beats_until(coach, "Repetition two.", t)
    coach.step(cmd(Intent.WHERE), t + 0.5)
    t = run_beats_until(coach, script.where_exercise(ROUTINE, 0, 2), t)
    coach.step(cmd(Intent.PAUSE), t + 0.5)
    coach.step(PlaybackFinished(coach._next_id), t + 2)
    coach.step(cmd(Intent.RESUME), t + 3)
    acts = coach.step(PlaybackFinished(coach._next_id), t + 4)
    assert ExerciseOutcome(0, "turn", "done") in acts
    assert coach.state is State.WAIT_NEXT and coach.pending == 1


def test_repeat_while_an_answer_is_given_does_the_repetition_again_even_if_paused():
    # "repeat" in the rest means this repetition again; a pause during its "let's do
    # that repetition again" must not take the repetition as done.
    coach = Coach(ROUTINE)
    t = to_exercise(coach)
    coach.step(cmd(Intent.WHERE), t + 0.5)
    t = run_beats_until(coach, script.where_exercise(ROUTINE, 0, 1), t)
    coach.step(cmd(Intent.REPEAT), t + 0.5)
    coach.step(cmd(Intent.PAUSE), t + 1)
    coach.step(PlaybackFinished(coach._next_id), t + 2)
    coach.step(cmd(Intent.RESUME), t + 3)
    acts = coach.step(PlaybackFinished(coach._next_id), t + 4)
    assert says(acts) == ["Repetition one."]


# -- a held-back answer comes at the earliest rest


def breathing_routine(hold: int = 0):
    """One exercise: two movement cues, a hold of ``hold`` seconds (none if 0), the
    breathing after it and a relaxation."""
    return replace(
        ROUTINE,
        exercises=(
            Exercise(
                id="breathe",
                title="Move and breathe",
                position="Lie on your back.",
                steps=("Raise your arms, lower them, and breathe.",),
                repetitions=2,
                cues=("Raise your arms.", "And lower them."),
                tempo=3.0,
                hold_seconds=hold,
                breathing=Breathing(inhale=3, exhale=4, when="after"),
                relax_seconds=5,
            ),
        ),
    )


def said_in_order(coach: Coach, t: float, until: str) -> list[str]:
    """Tick along the schedule, playing whatever is said at once, until ``until`` is
    said; return everything said meanwhile."""
    said: list[str] = []
    while until not in said:
        if coach._await is not None:
            acts = coach.step(PlaybackFinished(coach._await), t)
        else:
            t = coach._timers["beat"]
            acts = coach.step(Tick(), t)
        said += says(acts)
    return said


def test_an_answer_asked_during_the_movement_comes_before_the_breathing_after_it():
    # It waited for the end of the repetition, the breathing and relaxation too: at the
    # slowest pace in the first exercise of neck-complex, some fifty seconds.
    routine = breathing_routine()
    coach = Coach(routine)
    t = to_exercise(coach)
    coach.step(cmd(Intent.WHERE), t + 0.5)  # during "Repetition one."
    where = script.where_exercise(routine, 0, 1)
    said = said_in_order(coach, t, "Repetition two.")
    assert said == [
        "Raise your arms.",
        "And lower them.",
        where,
        script.BREATHE_IN,
        script.BREATHE_OUT,
        script.relax(5),
        "Repetition two.",
    ]


def test_an_answer_asked_during_a_breath_in_comes_after_its_breath_out():
    routine = breathing_routine()
    coach = Coach(routine)
    t = to_exercise(coach)
    t = run_beats_until(coach, script.BREATHE_IN, t)
    coach.step(cmd(Intent.WHERE), t + 0.5)
    said = said_in_order(coach, t, "Repetition two.")
    where = script.where_exercise(routine, 0, 1)
    assert said == [script.BREATHE_OUT, where, script.relax(5), "Repetition two."]


def test_an_answer_asked_during_a_hold_comes_after_its_release_not_before():
    routine = breathing_routine(hold=3)
    coach = Coach(routine)
    t = to_exercise(coach)
    t = run_beats_until(coach, "And lower them.", t)
    coach.step(cmd(Intent.WHERE), t + 0.5)
    said = said_in_order(coach, t, "Repetition two.")
    where = script.where_exercise(routine, 0, 1)
    assert said == [
        script.HOLD,
        script.count(2),
        script.count(1),
        script.RELEASE,
        where,
        script.BREATHE_IN,
        script.BREATHE_OUT,
        script.relax(5),
        "Repetition two.",
    ]


def test_the_schedule_waits_for_the_answer_before_the_first_rest_beat():
    routine = breathing_routine()
    coach = Coach(routine)
    t = to_exercise(coach)
    coach.step(cmd(Intent.WHERE), t + 0.5)
    t = run_beats_until(coach, "And lower them.", t)
    at = coach._timers["beat"]
    acts = coach.step(Tick(), at)
    assert says(acts) == [script.where_exercise(routine, 0, 1)]
    assert coach._timers == {}  # the breath in waits for the answer to be played
    acts = coach.step(PlaybackFinished(coach._next_id), at + 3)
    assert acts == [Say(script.BREATHE_IN, coach._next_id), StartTimer("beat", at + 6)]
    assert not any(isinstance(a, CancelTimer) for a in acts)


# -- "repeat" at the pain question


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


# -- silence at a question: after pain no self-pause; after one, yes and no still answer


def silence(coach: Coach, t: float, seconds: float) -> tuple[float, list[str]]:
    """Let ``seconds`` pass with nobody speaking, every line played out; return the
    time and what the coach said."""
    said: list[str] = []
    end = t + seconds
    while coach._timers and min(coach._timers.values()) <= end:
        t = min(coach._timers.values())
        acts = coach.step(Tick(), t)
        said += says(acts)
        if coach._await is not None:
            t += 3
            coach.step(PlaybackFinished(coach._await), t)
    return max(t, end), said


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
    assert ExerciseOutcome(0, "turn", "pain") in acts
    assert says(acts) == [script.PAIN_SKIPPED, script.WAIT_AFTER_PAIN]


def test_after_pain_help_at_the_question_brings_the_one_re_prompt_again():
    coach = Coach(ROUTINE)
    t = at_pain_question(coach)
    t, _ = silence(coach, t, 300)
    coach.step(cmd(Intent.HELP), t + 1)
    coach.step(PlaybackFinished(coach._next_id), t + 10)
    t, said = silence(coach, t + 10, 300)
    assert said == [script.PAIN_ASK_REPROMPT]


def self_paused_at(coach: Coach, t: float) -> float:
    question = coach.state
    t, said = silence(coach, t, 200)
    assert said[-1] in (script.PAUSED_SELF, script.PAUSED_SELF_QUESTION)
    assert coach.state is State.PAUSED and said.count(said[0]) == 3, (question, said)
    return t


def test_yes_after_a_self_pause_at_the_doctor_question_answers_it():
    coach = Coach(ROUTINE)
    t = self_paused_at(coach, to_consent(coach))
    acts = coach.step(cmd(Intent.YES), t + 1)
    assert says(acts) == [script.PAIN_FREE_QUESTION]
    assert coach.state is State.ASK_PAIN_FREE


def test_no_after_a_self_pause_at_the_doctor_question_declines():
    coach = Coach(ROUTINE)
    t = self_paused_at(coach, to_consent(coach))
    acts = coach.step(cmd(Intent.NO), t + 1)
    assert SessionEnded("declined") in acts and script.DECLINED in says(acts)


def test_no_after_a_self_pause_at_the_resume_question_starts_from_the_first():
    coach = Coach(ROUTINE, resume_from=1)
    t = to_pain_free(coach)
    coach.step(cmd(Intent.YES), t + 1)
    coach.step(PlaybackFinished(coach._next_id), t + 5)
    assert coach.state is State.ASK_RESUME
    t = self_paused_at(coach, t + 5)
    acts = coach.step(cmd(Intent.NO), t + 1)
    assert says(acts) == [script.STARTING, script.announce(ROUTINE, 0)]


def test_yes_or_no_after_a_self_pause_at_the_stop_question_answers_it():
    for answer in (Intent.YES, Intent.NO):
        coach = Coach(ROUTINE)
        t = to_exercise(coach)
        coach.step(cmd(Intent.STOP), t + 1)
        coach.step(PlaybackFinished(coach._next_id), t + 4)
        t = self_paused_at(coach, t + 4)
        acts = coach.step(cmd(answer), t + 1)
        if answer is Intent.YES:
            assert SessionEnded("stopped") in acts
            assert ExerciseOutcome(0, "turn", "stopped") in acts
        else:
            assert says(acts) == [script.RESUMING] and coach.state is State.EXERCISE


def test_yes_after_a_self_pause_between_exercises_goes_on():
    coach = Coach(ROUTINE)
    t = to_exercise(coach)
    coach.step(cmd(Intent.NEXT), t + 1)  # ends exercise 1
    coach.step(PlaybackFinished(coach._next_id), t + 5)
    assert coach.state is State.WAIT_NEXT
    t, said = silence(coach, t + 5, 200)
    assert said[-1] == script.PAUSED_SELF  # "say next" is no yes-or-no question
    acts = coach.step(cmd(Intent.YES), t + 1)
    assert says(acts) == [script.announce(ROUTINE, 1)]


def test_after_a_pause_asked_for_at_a_question_yes_goes_on_and_no_gets_help():
    # Only a self-pause keeps the question: a pause the person asked for is as before.
    coach = Coach(ROUTINE)
    t = to_consent(coach)
    coach.step(cmd(Intent.PAUSE), t + 1)
    coach.step(PlaybackFinished(coach._next_id), t + 3)
    acts = coach.step(cmd(Intent.NO), t + 4)
    assert says(acts)[0].startswith("You can say") and coach.state is State.PAUSED
    coach.step(PlaybackFinished(coach._next_id), t + 8)
    acts = coach.step(cmd(Intent.YES), t + 9)
    assert says(acts) == [script.CONSENT_QUESTION]


def test_a_pause_after_a_self_pause_forgets_the_question():
    coach = Coach(ROUTINE)
    t = self_paused_at(coach, to_consent(coach))
    coach.step(cmd(Intent.RESUME), t + 1)  # the question again
    coach.step(cmd(Intent.PAUSE), t + 2)
    coach.step(PlaybackFinished(coach._next_id), t + 4)
    acts = coach.step(cmd(Intent.YES), t + 5)
    assert says(acts) == [script.CONSENT_QUESTION]  # "continue", not the answer


# -- answers said while the coach speaks are not said twice


def test_help_said_twice_during_the_introduction_is_answered_once():
    coach = Coach(ROUTINE)
    acts = coach.step(Start(), 0.0)
    intro_end = acts[-1].utterance_id
    first = coach.step(cmd(Intent.HELP), 3.0)
    assert len(says(first)) == 1 and says(first)[0].startswith("You can say")
    assert coach.step(cmd(Intent.HELP), 15.0) == [PlayCue("heard")]
    coach.step(PlaybackFinished(intro_end), 20.0)
    # Once it has been played, it is said again when asked again.
    acts = coach.step(PlaybackFinished(coach._next_id), 25.0)
    assert says(acts) == [script.CONSENT_QUESTION]
    acts = coach.step(cmd(Intent.HELP), 26.0)
    assert says(acts)[0].startswith("You can say")


def test_where_said_twice_during_an_announcement_is_answered_once():
    coach = Coach(ROUTINE)
    t = to_pain_free(coach)
    coach.step(cmd(Intent.YES), t + 1)
    where = script.where_exercise(ROUTINE, 0, 0)
    assert says(coach.step(cmd(Intent.WHERE), t + 3)) == [where]
    assert coach.step(cmd(Intent.WHERE), t + 10) == [PlayCue("heard")]
    # Both kinds are answered, each once; then the exercise begins.
    assert says(coach.step(cmd(Intent.HELP), t + 11))[0].startswith("You can say")
    acts = coach.step(PlaybackFinished(coach._next_id), t + 20)
    assert says(acts) == ["Repetition one."]


def test_help_at_a_question_twice_while_it_plays_asks_the_question_again_once():
    coach = Coach(ROUTINE)
    t = to_consent(coach)
    acts = coach.step(cmd(Intent.HELP), t + 1)
    assert says(acts)[1:] == [script.CONSENT_REPROMPT]
    assert coach.step(cmd(Intent.HELP), t + 2) == [PlayCue("heard")]
    acts = coach.step(PlaybackFinished(coach._next_id), t + 9)
    assert acts == [StartTimer("reprompt", t + 29)]
