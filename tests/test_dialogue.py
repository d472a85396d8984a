"""Transcript tests of the dialogue manager: events in, the exact ordered actions out."""

from __future__ import annotations

import inspect
import itertools

import pytest
from routine_fixtures import tiny_routine

from voicecoach import script
from voicecoach.commands import Intent
from voicecoach.dialogue import (
    QUESTION_STATES,
    Coach,
    CoachOptions,
    State,
    counted,
    exercise_programme,
    fixed_texts,
)
from voicecoach.events import (
    CancelTimer,
    CommandHeard,
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
from voicecoach.routines import builtin_routines
from voicecoach.routines.model import Advance

ROUTINE = tiny_routine()


def cmd(intent: Intent) -> CommandHeard:
    return CommandHeard(intent, intent.value)


def says(actions):
    return [a.text for a in actions if isinstance(a, Say)]


def last_say_id(actions) -> int:
    return [a for a in actions if isinstance(a, Say)][-1].utterance_id


def to_consent(coach: Coach) -> float:
    """Start, play the intro and the doctor question; return the time the coach listens
    from."""
    acts = coach.step(Start(), 0.0)
    acts = coach.step(PlaybackFinished(last_say_id(acts)), 8.0)
    coach.step(PlaybackFinished(last_say_id(acts)), 12.0)
    return 12.0


def to_pain_free(coach: Coach) -> float:
    """Answer yes to the doctor question and play the acute pain question; return the
    time the coach listens from (its "yes" gives consent)."""
    t = to_consent(coach)
    acts = coach.step(cmd(Intent.YES), t + 0.5)
    coach.step(PlaybackFinished(last_say_id(acts)), t + 3)
    return t + 3


def to_exercise(coach: Coach) -> float:
    """Answer yes twice and play the announcement of exercise 1; return the time."""
    t = to_pain_free(coach)
    acts = coach.step(cmd(Intent.YES), t + 1)
    coach.step(PlaybackFinished(last_say_id(acts)), t + 10)
    return t + 10


def run_beats_until(coach: Coach, text: str, now: float) -> float:
    """Tick along the schedule until the coach says ``text``; return that time."""
    while True:
        at = coach._timers["beat"]
        acts = coach.step(Tick(), at)
        if text in says(acts):
            return at


def test_start_speaks_intro_then_asks_consent_then_listens():
    coach = Coach(ROUTINE)
    acts = coach.step(Start(), 0.0)
    assert acts == [
        Say("A short test routine.", 1),
        Say("You will need: a rug; a small pillow.", 2),
        Say("Stop if anything hurts.", 3),
    ]
    assert coach.state is State.INTRO
    assert coach.step(PlaybackFinished(3), 8.0) == [Say(script.CONSENT_QUESTION, 4)]
    assert coach.state is State.ASK_CONSENT
    assert not coach.waiting_for_user  # still asking
    assert coach.step(PlaybackFinished(4), 12.0) == [StartTimer("reprompt", 32.0)]
    assert coach.waiting_for_user


def test_yes_to_both_questions_starts_the_first_exercise_and_counts_on_the_beat():
    coach = Coach(ROUTINE)
    to_consent(coach)
    # The doctor and the acute pain are asked about in turn, each answered on its own.
    acts = coach.step(cmd(Intent.YES), 13.0)
    assert acts == [CancelTimer("reprompt"), PlayCue("heard"), Say(script.PAIN_FREE_QUESTION, 5)]
    assert coach.state is State.ASK_PAIN_FREE
    assert coach.step(PlaybackFinished(5), 15.0) == [StartTimer("reprompt", 35.0)]
    acts = coach.step(cmd(Intent.YES), 16.0)
    assert acts == [
        CancelTimer("reprompt"),
        PlayCue("heard"),
        Say(script.STARTING, 6),
        Say(script.announce(ROUTINE, 0), 7),
    ]
    assert coach.step(PlaybackFinished(6), 17.0) == []  # not the last one: keep waiting
    assert coach.step(PlaybackFinished(7), 22.0) == [
        Say("Repetition one.", 8),
        StartTimer("beat", 23.4),
    ]
    # Ticks before the deadline do nothing; the next beat is scheduled from the
    # deadline, not from the late tick, so counting never drifts.
    assert coach.step(Tick(), 23.0) == []
    assert coach.step(Tick(), 23.9) == [Say("Turn to the left.", 9), StartTimer("beat", 25.6)]


def test_the_consent_questions_ask_one_thing_each():
    # The one question "have you discussed these exercises with your doctor, and are you
    # free of acute pain today?" got a "yes" meant for its first half.
    for text in (script.CONSENT_QUESTION, script.CONSENT_REPROMPT):
        assert "doctor" in text and "pain" not in text
    for text in (script.PAIN_FREE_QUESTION, script.PAIN_FREE_REPROMPT):
        assert "acute pain" in text and "doctor" not in text


def test_no_to_consent_declines_politely():
    coach = Coach(ROUTINE)
    to_consent(coach)
    acts = coach.step(cmd(Intent.NO), 13.0)
    assert acts == [
        CancelTimer("reprompt"),
        PlayCue("heard"),
        SessionEnded("declined"),
        Say(script.DECLINED, 5),
        PlayCue("session_end"),
    ]
    assert coach.state is State.ENDING
    coach.step(PlaybackFinished(5), 20.0)
    assert coach.finished
    assert coach.step(cmd(Intent.YES), 21.0) == []


def test_yes_to_the_doctor_but_no_to_free_of_acute_pain_declines():
    # The person who has talked to their doctor but is in pain today: before, their
    # "yes" to the doctor half of one question started the exercises.
    coach = Coach(ROUTINE, resume_from=1)
    t = to_pain_free(coach)
    acts = coach.step(cmd(Intent.NO), t + 1)
    assert acts == [
        CancelTimer("reprompt"),
        PlayCue("heard"),
        SessionEnded("declined"),
        Say(script.DECLINED_PAIN, 6),
        PlayCue("session_end"),
    ]
    assert coach.state is State.ENDING and coach.outcomes == {}


def test_hold_counts_down_each_second_with_cues():
    programme = exercise_programme(ROUTINE.exercises[1])
    first_rep = [(b.text, b.cue, b.length) for b in programme if b.rep == 1]
    assert first_rep == [
        ("Repetition one.", "", 1.4),
        ("Breathe in.", "", 2.0),
        ("Breathe out.", "", 3.0),
        ("Hold.", "hold_start", 1.0),
        ("Two.", "", 1.0),
        ("One.", "", 1.0),
        ("And release.", "hold_end", 1.5),
        ("Relax for two seconds.", "", 2.0),
    ]
    second = [b.text for b in programme if b.rep == 2]
    assert second[0] == "Repetition two. A little further this time."


def test_a_held_breath_is_held_for_the_hold_and_let_out_at_its_release():
    from dataclasses import replace

    press = replace(ROUTINE.exercises[1], breathing=None, hold_breath=True)
    first_rep = [(b.text, b.cue, b.length) for b in exercise_programme(press) if b.rep == 1]
    assert first_rep == [
        ("Repetition one.", "", 1.4),
        ("Breathe in, and hold.", "hold_start", 1.0),
        ("Two.", "", 1.0),
        ("One.", "", 1.0),
        ("Breathe out, and release.", "hold_end", 2.2),  # the time its four words take
        ("Relax for two seconds.", "", 2.0),
    ]
    assert {script.HOLD_BREATH, script.RELEASE_BREATH} <= set(fixed_texts(ROUTINE))


def test_counting_has_no_drift_over_a_long_hold():
    from voicecoach.routines.model import Exercise, Routine

    ex = Exercise("h", "Hold", "Sit.", ("Hold still.",), 1, hold_seconds=15)
    routine = Routine("r", "R", "Intro.", ("a chair",), "Safety.", (ex,))
    coach = Coach(routine)
    to_exercise(coach)
    hold_at = run_beats_until(coach, "Hold.", 0)
    seen = []
    while "beat" in coach._timers:
        at = coach._timers["beat"]
        # Ticks arrive late by a varying amount, as on a busy device.
        acts = coach.step(Tick(), at + 0.05 * (len(seen) % 3))
        seen += [(round(at - hold_at, 6), t) for t in says(acts)]
        if "And release." in says(acts):
            break
    assert seen[0] == (1.0, "Fourteen.")
    assert seen[13] == (14.0, "One.")
    assert seen[14] == (15.0, "And release.")


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
    coach.step(cmd(Intent.HURT), 23.0)
    coach.step(PlaybackFinished(coach._next_id), 30.0)
    acts = coach.step(cmd(Intent.YES), 31.0)
    assert ExerciseOutcome(0, "turn", "pain") in acts
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
    assert ExerciseOutcome(0, "turn", "pain") in acts
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


def test_pause_and_continue_restart_the_current_repetition():
    coach = Coach(ROUTINE)
    to_exercise(coach)
    t = run_beats_until(coach, "Repetition two.", 22.0)
    acts = coach.step(cmd(Intent.PAUSE), t + 1)
    assert acts == [
        StopSpeaking(),
        CancelTimer("beat"),
        PlayCue("heard"),
        Say(script.PAUSED, coach._next_id),
    ]
    assert coach.state is State.PAUSED
    acts = coach.step(cmd(Intent.RESUME), t + 60)
    assert says(acts) == [script.RESUMING]
    acts = coach.step(PlaybackFinished(coach._next_id), t + 62)
    assert says(acts) == ["Repetition two."]


def test_where_reports_exercise_and_repetition():
    coach = Coach(ROUTINE)
    to_exercise(coach)
    at = run_beats_until(coach, "Repetition two.", 22.0)
    timers = dict(coach._timers)
    # Counting, the answer waits for the end of the repetition (see the tests of
    # answers during an exercise below), and the schedule runs on as it was.
    assert coach.step(cmd(Intent.WHERE), at + 0.5) == [PlayCue("heard")]
    assert coach.state is State.EXERCISE and coach._timers == timers
    assert _said_at_the_next_rest(coach) == ["Exercise one of three, repetition two of two."]


def test_help_names_the_commands_that_make_sense_now():
    coach = Coach(ROUTINE)
    to_consent(coach)
    acts = coach.step(cmd(Intent.HELP), 13.0)
    assert says(acts) == [
        "You can say: yes, no, repeat, pause, where am I, stop. "
        "And say it hurts at any moment to stop.",
        script.CONSENT_REPROMPT,  # and the question, asked again
    ]
    to_exercise(coach2 := Coach(ROUTINE))
    coach2.step(cmd(Intent.HELP), 23.0)
    [text] = _said_at_the_next_rest(coach2)
    assert "skip" in text and "slower" in text and "yes," not in text


def test_stop_asks_for_confirmation_and_no_keeps_the_place():
    coach = Coach(ROUTINE)
    to_exercise(coach)
    acts = coach.step(cmd(Intent.STOP), 23.0)
    assert says(acts) == [script.CONFIRM_STOP]
    assert coach.state is State.CONFIRM_STOP
    acts = coach.step(cmd(Intent.NO), 25.0)
    assert says(acts) == [script.RESUMING]
    acts = coach.step(PlaybackFinished(coach._next_id), 27.0)
    assert says(acts) == ["Repetition one."]


def test_stop_yes_ends_as_stopped_and_marks_the_exercise_stopped_not_skipped():
    coach = Coach(ROUTINE)
    to_exercise(coach)
    coach.step(cmd(Intent.STOP), 23.0)
    acts = coach.step(cmd(Intent.YES), 25.0)
    assert ExerciseOutcome(0, "turn", "stopped") in acts
    assert SessionEnded("stopped") in acts
    assert script.STOPPED in says(acts)


def test_silence_reprompts_three_times_then_pauses():
    coach = Coach(ROUTINE)
    t = to_consent(coach)
    for n in range(3):
        t += 20
        acts = coach.step(Tick(), t)
        assert says(acts) == [script.CONSENT_REPROMPT], n
        t += 5
        coach.step(PlaybackFinished(coach._next_id), t)
    t += 20
    acts = coach.step(Tick(), t)
    assert says(acts) == [script.PAUSED_SELF]
    assert coach.state is State.PAUSED
    coach.step(PlaybackFinished(coach._next_id), t + 5)
    assert coach.step(Tick(), t + 1000) == []
    # Going on from the self-pause returns to the question that went unanswered.
    assert says(coach.step(cmd(Intent.RESUME), t + 1001)) == [script.CONSENT_QUESTION]


def test_not_understood_asks_once_and_keeps_the_place():
    coach = Coach(ROUTINE)
    t = to_consent(coach)
    acts = coach.step(NotUnderstood("bird"), t + 1)
    assert acts == [
        PlayCue("not_understood"),
        CancelTimer("reprompt"),
        Say(script.NOT_UNDERSTOOD, 5),
    ]
    coach.step(PlaybackFinished(5), t + 4)
    assert coach.step(NotUnderstood("house"), t + 5) == [PlayCue("not_understood")]
    assert coach.state is State.ASK_CONSENT
    assert says(coach.step(cmd(Intent.YES), t + 6)) == [script.PAIN_FREE_QUESTION]


def test_not_understood_during_exercise_does_not_interrupt_counting():
    coach = Coach(ROUTINE)
    to_exercise(coach)
    timers = dict(coach._timers)
    assert coach.step(NotUnderstood("mumble"), 22.5) == [PlayCue("not_understood")]
    assert coach._timers == timers


def test_slower_and_faster_are_bounded():
    coach = Coach(ROUTINE, CoachOptions(tempo_step=0.5, max_tempo=2.0, min_tempo=0.5))
    t = to_pain_free(coach)
    coach.step(cmd(Intent.YES), t + 1)  # during the announcement: answered at once
    assert says(coach.step(cmd(Intent.SLOWER), t + 2.1)) == [script.SLOWER]
    assert says(coach.step(cmd(Intent.SLOWER), t + 2.2)) == [script.SLOWER]
    assert says(coach.step(cmd(Intent.SLOWER), t + 2.3)) == [script.SLOWEST]
    assert coach.tempo == 2.0
    # The exercise begins once the answers have been played; the next beat is
    # stretched by the new tempo.
    acts = coach.step(PlaybackFinished(coach._next_id), 30.0)
    assert acts == [Say("Repetition one.", coach._next_id), StartTimer("beat", 31.4)]
    acts = coach.step(Tick(), 31.4)
    assert StartTimer("beat", round(31.4 + 2.2 * 2.0, 6)) in acts
    for _ in range(4):  # counting: the pace changes at once, the answer waits
        assert coach.step(cmd(Intent.FASTER), 32.0) == [PlayCue("heard")]
    assert coach.tempo == 0.5
    assert _said_at_the_next_rest(coach) == [script.FASTEST]  # the latest answer only


def _said_at_the_next_rest(coach: Coach) -> list[str]:
    """Tick along the schedule until the coach says something other than a beat of
    its programme; return what it says then."""
    beats = {b.text for b in coach._programme}
    while True:
        texts = says(coach.step(Tick(), coach._timers["beat"]))
        if set(texts) - beats:
            return texts


def test_auto_advance_moves_on_after_a_pause():
    routine = tiny_routine(Advance.AUTO)
    coach = Coach(routine)
    to_exercise(coach)
    run_beats_until(coach, "Back to the middle.", 22.0)
    run_beats_until(coach, "Back to the middle.", 22.0)
    at = coach._timers["beat"]
    acts = coach.step(Tick(), at)
    assert ExerciseOutcome(0, "turn", "done") in acts
    assert says(acts) == [script.WELL_DONE, script.AUTO_NEXT]
    coach.step(PlaybackFinished(coach._next_id), at + 5)
    assert coach._timers == {"auto": at + 10}
    acts = coach.step(Tick(), at + 10)
    assert says(acts) == [script.announce(routine, 1)]


def test_resume_offer_after_consent():
    coach = Coach(ROUTINE, resume_from=2)
    t = to_pain_free(coach)
    acts = coach.step(cmd(Intent.YES), t + 1)
    assert says(acts) == [script.resume_question(2)]
    acts = coach.step(cmd(Intent.YES), t + 2)
    assert says(acts) == [script.STARTING, script.announce(ROUTINE, 2)]


def test_resume_declined_starts_from_the_top():
    coach = Coach(ROUTINE, resume_from=1)
    t = to_pain_free(coach)
    coach.step(cmd(Intent.YES), t + 1)
    acts = coach.step(cmd(Intent.NO), t + 2)
    assert says(acts) == [script.STARTING, script.announce(ROUTINE, 0)]


def test_input_ended_logs_interrupted_once():
    coach = Coach(ROUTINE)
    to_exercise(coach)
    acts = coach.step(InputEnded(), 30.0)
    assert acts == [CancelTimer("beat"), SessionEnded("interrupted")]
    assert coach.finished
    assert coach.step(InputEnded(), 31.0) == []


def test_skip_previous_and_repeat_between_exercises():
    coach = Coach(ROUTINE)
    to_exercise(coach)
    coach.step(cmd(Intent.NEXT), 23.0)  # done early with exercise 1
    assert coach.state is State.WAIT_NEXT and coach.outcomes == {0: "ended_early"}
    assert says(coach.step(cmd(Intent.REPEAT), 24.0)) == [script.announce(ROUTINE, 0)]
    acts = coach.step(cmd(Intent.SKIP), 25.0)
    # Skipping it now undoes nothing: it keeps the outcome it ended with (as in the log).
    assert not any(isinstance(a, ExerciseOutcome) for a in acts)
    assert coach.outcomes == {0: "ended_early"}
    assert coach.index == 1
    assert says(coach.step(cmd(Intent.PREVIOUS), 26.0)) == [script.announce(ROUTINE, 0)]


def test_a_done_exercise_gone_back_to_and_skipped_stays_done():
    # Coach.outcomes said "skipped" and an ExerciseOutcome said so, while the session
    # log kept "done".
    coach = Coach(ROUTINE)
    to_exercise(coach)
    while "beat" in coach._timers:  # exercise one, all its repetitions
        acts = coach.step(Tick(), coach._timers["beat"])
    assert ExerciseOutcome(0, "turn", "done") in acts
    now = coach._now
    coach.step(cmd(Intent.PREVIOUS), now + 1)  # back to it
    acts = coach.step(cmd(Intent.SKIP), now + 2)  # and skipped as it is announced
    assert acts == [
        StopSpeaking(),
        PlayCue("heard"),
        Say(script.announce(ROUTINE, 1), coach._next_id),
    ]
    assert coach.outcomes == {0: "done"}


def test_go_back_between_exercises_starts_the_one_just_done_and_again_the_one_before():
    # "go back" after exercise two started exercise one, passing over the one just done.
    coach = Coach(ROUTINE)
    t = to_exercise(coach)
    coach.step(cmd(Intent.NEXT), t + 1)  # exercise one ended early
    coach.step(cmd(Intent.NEXT), t + 2)  # exercise two is announced,
    coach.step(cmd(Intent.NEXT), t + 2.5)  # begins now,
    coach.step(cmd(Intent.NEXT), t + 3)  # and ends early
    assert coach.state is State.WAIT_NEXT and coach.pending == 2
    coach.step(PlaybackFinished(coach._next_id), t + 6)
    acts = coach.step(cmd(Intent.PREVIOUS), t + 7)
    assert acts == [
        CancelTimer("reprompt"),
        PlayCue("heard"),
        Say(script.announce(ROUTINE, 1), coach._next_id),
    ]
    # In that exercise, "go back" goes back one more; "repeat" restarts the exercise.
    assert says(coach.step(cmd(Intent.PREVIOUS), t + 8)) == [script.announce(ROUTINE, 0)]
    assert says(coach.step(cmd(Intent.REPEAT), t + 9)) == [script.announce(ROUTINE, 0)]


def test_go_back_while_waiting_to_repeat_more_gently_starts_the_one_before():
    # After "it hurts" and "no" (repeat it more gently) the coach waits to start the same
    # exercise again: "next" and "repeat" start it, "go back" the one before it.
    for intent, index in ((Intent.NEXT, 1), (Intent.REPEAT, 1), (Intent.PREVIOUS, 0)):
        coach = Coach(ROUTINE)
        t = to_exercise(coach)
        coach.step(cmd(Intent.SKIP), t + 1)  # to exercise two
        coach.step(cmd(Intent.HURT), t + 2)
        coach.step(cmd(Intent.NO), t + 3)
        assert coach.state is State.WAIT_NEXT and coach.pending == 1
        assert says(coach.step(cmd(intent), t + 4)) == [script.announce(ROUTINE, index)]


def test_last_exercise_completes_the_session():
    coach = Coach(ROUTINE, resume_from=2)
    t = to_pain_free(coach)
    coach.step(cmd(Intent.YES), t + 1)
    acts = coach.step(cmd(Intent.YES), t + 2)
    coach.step(PlaybackFinished(last_say_id(acts)), t + 10)
    acts = []
    while "beat" in coach._timers:
        acts = coach.step(Tick(), coach._timers["beat"])
    assert ExerciseOutcome(2, "tilt", "done") in acts
    assert SessionEnded("completed") in acts
    assert says(acts) == ["Stroke the side of your neck gently.", script.COMPLETED]


def test_every_spoken_text_is_a_fixed_text():
    texts = set(fixed_texts(ROUTINE))
    assert script.CONSENT_QUESTION in texts
    assert "Repetition two. A little further this time." in texts
    assert "Fourteen." not in texts  # the tiny routine has no 15 s hold
    assert "Exercise three of three, repetition one of one." in texts


def test_every_variant_of_every_programme_is_a_fixed_text():
    # "Repetition two." ... "Repetition five." (the self-correction exercises repeated
    # more gently after a pain report, without their progression line) were missing,
    # so a Pi synthesised them live right after the pain report. Every flag of
    # exercise_programme is a variant the coach can say: all of them are enumerated.
    flags = list(inspect.signature(exercise_programme).parameters.values())[1:]
    assert flags and all(isinstance(f.default, bool) for f in flags), flags
    for routine in (ROUTINE, *builtin_routines().values()):
        texts = set(fixed_texts(routine))
        for ex in routine.exercises:
            for values in itertools.product((True, False), repeat=len(flags)):
                kwargs = {f.name: v for f, v in zip(flags, values, strict=True)}
                said = {b.text for b in exercise_programme(ex, **kwargs) if b.text}
                assert not said - texts, (routine.id, ex.id, kwargs, said - texts)


@pytest.mark.parametrize("index", [0, 1, 2])
def test_everything_said_repeating_an_exercise_more_gently_is_a_fixed_text(index):
    # The session itself: "it hurts", "no" (repeat it more gently), "next", and the
    # exercise done again to its end, in a routine where every exercise has a
    # progression line (so "Repetition two." is said alone only there).
    routine = builtin_routines()["self-correction"]
    assert all(ex.progression for ex in routine.exercises)
    texts = set(fixed_texts(routine))
    coach = Coach(routine)
    t = to_exercise(coach)
    for _ in range(index):
        coach.step(cmd(Intent.SKIP), t + 1)
    said = says(coach.step(cmd(Intent.HURT), t + 2))
    said += says(coach.step(cmd(Intent.NO), t + 3))
    said += says(coach.step(cmd(Intent.NEXT), t + 4))
    said += [text for _, text in _timed_lines(coach, t + 20)]
    assert "Repetition two." in said
    assert not [text for text in said if text not in texts]


def test_routine_without_exercises_is_refused():
    from voicecoach.routines.model import Routine

    with pytest.raises(ValueError):
        Coach(Routine("x", "X", "i", (), "s", ()))


def _intro_cut(coach: Coach, heard: int, how: list[Intent], back: list[Intent]) -> list[str]:
    """Start, let ``heard`` intro lines play to the end, interrupt with ``how`` and go
    back with ``back``; return what the coach says from going back to the question."""
    acts = coach.step(Start(), 0.0)
    for uid in [a.utterance_id for a in acts if isinstance(a, Say)][:heard]:
        coach.step(PlaybackFinished(uid), 2.0 * uid)
    for intent in how:
        coach.step(cmd(intent), 7.0)
        coach.step(PlaybackFinished(coach._next_id), 8.0)  # "Paused." etc. played out
    said: list[str] = []
    for intent in back:
        said = says(coach.step(cmd(intent), 9.0))
        if coach.state is not State.INTRO:
            coach.step(PlaybackFinished(coach._next_id), 10.0)
    while coach.state is State.INTRO:
        acts = coach.step(PlaybackFinished(coach._next_id), 30.0)
        said += says(acts)
    return said


@pytest.mark.parametrize(
    ("how", "back"),
    [
        ([Intent.PAUSE], [Intent.RESUME]),
        ([Intent.STOP], [Intent.NO]),
        ([Intent.HURT], [Intent.RESUME]),
        ([Intent.PAUSE, Intent.STOP], [Intent.NO, Intent.RESUME]),
    ],
)
@pytest.mark.parametrize("heard", [0, 1, 2])
def test_an_interrupted_intro_goes_on_from_the_cut_line_to_the_safety_text(heard, how, back):
    # Going back to the introduction used to jump to the consent question, so the
    # safety text was never spoken when the user paused, stopped or hurt during it.
    coach = Coach(ROUTINE)
    said = _intro_cut(coach, heard, how, back)
    assert said == [*script.intro(ROUTINE)[heard:], script.CONSENT_QUESTION]
    assert coach.state is State.ASK_CONSENT


def test_repeat_during_the_intro_starts_it_again_after_a_pause():
    coach = Coach(ROUTINE)
    said = _intro_cut(coach, 2, [Intent.PAUSE], [Intent.RESUME, Intent.REPEAT])
    assert said == [*script.intro(ROUTINE), script.CONSENT_QUESTION]


def _timed_lines(coach: Coach, now: float) -> list[tuple[float, str]]:
    """Play the announcement out at ``now``, then tick along the schedule to the end of
    the exercise: (time, text) of every line said."""
    assert coach.state is State.ANNOUNCE and coach._await is not None
    seen = [(now, t) for t in says(coach.step(PlaybackFinished(coach._await), now))]
    while coach.state is State.EXERCISE and "beat" in coach._timers:
        at = coach._timers["beat"]
        seen += [(at, t) for t in says(coach.step(Tick(), at))]
    return seen


def _gaps(seen: list[tuple[float, str]]) -> dict[str, float]:
    """Seconds from each line of the first repetition to the line after it."""
    return {t: round(seen[i + 1][0] - at, 6) for i, (at, t) in enumerate(seen[:-1]) if i < 8}


@pytest.mark.parametrize(
    ("pace", "tempo"),
    [([], 1.0), ([Intent.SLOWER] * 4, 2.0), ([Intent.FASTER] * 4, 0.5), ([Intent.HURT], 1.25)],
)
def test_the_pace_changes_the_movement_cues_only_never_holds_breaths_or_rest(pace, tempo):
    # "slower" and "faster" (and "repeat it more gently" after pain) used to stretch
    # every beat: "hold for fifteen seconds" ran 30 s at the slowest pace, counted two
    # seconds apart, and "Relax for two seconds" took 4 s.
    from voicecoach.routines.model import Exercise, Routine

    press = ROUTINE.exercises[1]  # a 3 s hold, breathing 2 + 3 s before, relax 2 s
    long_hold = Exercise("h", "Hold", "Sit.", ("Hold still.",), 1, hold_seconds=15)
    routine = Routine("r", "R", "Intro.", ("a chair",), "Safety.", (press, long_hold))
    coach = Coach(routine)
    t = to_pain_free(coach)
    coach.step(cmd(Intent.YES), t + 1)
    for intent in pace:
        coach.step(cmd(intent), t + 2)
    if pace == [Intent.HURT]:
        coach.step(cmd(Intent.NO), t + 3)  # repeat it more gently: a slower pace
        coach.step(cmd(Intent.NEXT), t + 4)
    assert coach.tempo == tempo
    assert _gaps(_timed_lines(coach, 30.0)) == {
        "Repetition one.": 1.4,
        "Breathe in.": 2.0,
        "Breathe out.": 3.0,
        "Hold.": 1.0,
        "Two.": 1.0,
        "One.": 1.0,
        "And release.": 1.5,
        "Relax for two seconds.": 2.0,
    }
    coach.step(cmd(Intent.NEXT), 200.0)  # on to the 15 s hold
    seen = _timed_lines(coach, 210.0)
    hold = next(at for at, text in seen if text == "Hold.")
    release = next(at for at, text in seen if text == "And release.")
    counts = [round(at - hold, 6) for at, _ in seen if hold <= at <= release]
    assert counts == [float(n) for n in range(16)]  # Fourteen ... One, release at 15 s
    # The movement cues do follow the pace, but never get less time than they take to
    # say ("Turn to the left.": 2.2 s).
    coach = Coach(ROUTINE)
    t = to_pain_free(coach)
    coach.step(cmd(Intent.YES), t + 1)
    coach.tempo = tempo
    assert _gaps(_timed_lines(coach, 30.0))["Turn to the left."] == max(round(2.2 * tempo, 6), 2.2)


@pytest.mark.parametrize("slower", [0, 4])
def test_the_head_glide_holds_the_breath_for_its_ten_seconds_only_at_any_pace(slower):
    # The review's case (self-correction, exercise one): "Breathe in, and hold your
    # breath." was a cue before the movement cue, so the breath was held for that cue
    # (4.6 s, 9.2 s at the slowest pace) and the ten-second count, about 17.6 s at the
    # normal pace, and no line said to breathe out.
    routine = builtin_routines()["self-correction"]
    coach = Coach(routine)
    t = to_pain_free(coach)
    coach.step(cmd(Intent.YES), t + 1)
    for _ in range(slower):
        coach.step(cmd(Intent.SLOWER), t + 2)
    assert coach.tempo == 1.0 + 0.25 * slower
    seen = _timed_lines(coach, 60.0)
    breath = [
        (at, text)
        for at, text in seen
        if "breathe in" in text.lower() or "breathe out" in text.lower()
    ]
    assert [text for _, text in breath] == [script.HOLD_BREATH, script.RELEASE_BREATH] * 5
    held = {
        round(out - into, 6) for (into, _), (out, _) in zip(breath[::2], breath[1::2], strict=True)
    }
    assert held == {float(routine.exercises[0].hold_seconds)} == {10.0}
    # The breath is taken after the movement, as the hold begins.
    texts = [text for _, text in seen]
    first = texts.index(script.HOLD_BREATH)
    assert texts[first - 1] == routine.exercises[0].cues[-1]
    assert texts[first + 1 : first + 10] == [script.count(n) for n in range(9, 0, -1)]


def test_no_built_in_exercise_holds_the_breath_past_its_hold():
    # Walk every built-in exercise's schedule at the normal and the slowest pace: a
    # line that says to hold the breath is followed by one that says to breathe out,
    # no later than the hold's seconds plus one short line.
    for routine in builtin_routines().values():
        for ex in routine.exercises:
            for tempo in (1.0, CoachOptions().max_tempo):
                at, holding = 0.0, None
                for beat in exercise_programme(ex):
                    said = beat.text.lower()
                    if holding is not None and "breathe out" in said:
                        assert at - holding <= ex.hold_seconds + 1.5, (ex.id, tempo)
                        holding = None
                    if "hold your breath" in said or said == script.HOLD_BREATH.lower():
                        assert holding is None, ex.id
                        holding = at
                    at += beat.length * tempo if beat.paced else beat.length
                assert holding is None, f"{ex.id}: nothing says to breathe out"


def _to_wait_next(coach: Coach, after_pain: bool) -> float:
    """Exercise one ends (by a pain report and "skip", or done early); the coach waits."""
    t = to_exercise(coach)
    if after_pain:
        coach.step(cmd(Intent.HURT), t + 1)
        coach.step(cmd(Intent.YES), t + 2)
    else:
        coach.step(cmd(Intent.NEXT), t + 1)
    coach.step(PlaybackFinished(coach._next_id), t + 5)
    assert coach.state is State.WAIT_NEXT and coach.pending == 1
    return t + 5


@pytest.mark.parametrize("after_pain", [True, False])
@pytest.mark.parametrize(
    "detour", [[Intent.STOP, Intent.NO], [Intent.PAUSE, Intent.RESUME], [Intent.HURT, Intent.YES]]
)
def test_between_exercises_a_pause_or_cancelled_stop_goes_back_to_waiting_for_next(
    after_pain, detour
):
    # Between exercises (and right after a pain report) "stop" -> "no" used to start
    # the next exercise at once, though the coach had said it would wait for "next".
    coach = Coach(ROUTINE)
    t = _to_wait_next(coach, after_pain)
    if detour[0] is Intent.HURT and after_pain:
        detour = [Intent.HURT]  # a second report ends the session: nothing to go back to
    acts: list = []
    for intent in detour:
        acts = coach.step(cmd(intent), t + 1)
    if detour == [Intent.HURT]:
        assert coach.status == "ended_for_pain"
        return
    assert says(acts) == [script.WAIT_REPROMPT]
    assert coach.state is State.WAIT_NEXT
    coach.step(PlaybackFinished(coach._next_id), t + 3)
    # It listens; nothing starts by itself, and after pain nothing re-prompts either.
    hurt = after_pain or Intent.HURT in detour
    assert coach._timers == ({} if hurt else {"reprompt": t + 23})
    assert says(coach.step(cmd(Intent.NEXT), t + 4)) == [script.announce(ROUTINE, 1)]


def test_next_while_paused_between_exercises_goes_on():
    coach = Coach(ROUTINE)
    t = _to_wait_next(coach, after_pain=True)
    coach.step(cmd(Intent.PAUSE), t + 1)
    assert says(coach.step(cmd(Intent.NEXT), t + 2)) == [script.announce(ROUTINE, 1)]


def test_a_paused_automatic_rest_starts_its_rest_again():
    routine = tiny_routine(Advance.AUTO)
    coach = Coach(routine)
    t = to_exercise(coach)
    coach.step(cmd(Intent.NEXT), t + 1)  # done early: the automatic rest starts
    coach.step(cmd(Intent.PAUSE), t + 2)
    acts = coach.step(cmd(Intent.RESUME), t + 30)
    assert says(acts) == [script.AUTO_NEXT]
    coach.step(PlaybackFinished(coach._next_id), t + 33)
    assert coach._timers == {"auto": t + 38}
    assert says(coach.step(Tick(), t + 38)) == [script.announce(routine, 1)]


def _where(coach: Coach, now: float) -> str:
    """The answer to "where am I" (at a question, the question asked again follows)."""
    text, *again = says(coach.step(cmd(Intent.WHERE), now))
    assert len(again) == (coach.state in QUESTION_STATES)
    return text


def test_where_after_pain_and_repeat_more_gently_names_the_exercise_to_come():
    # The demo's case: "it hurts" in exercise two, "no" (repeat it more gently), "where
    # am I". It used to answer "We have not started yet. There are three exercises."
    coach = Coach(ROUTINE)
    t = to_exercise(coach)
    coach.step(cmd(Intent.SKIP), t + 1)
    coach.step(cmd(Intent.HURT), t + 2)
    coach.step(cmd(Intent.NO), t + 3)
    assert _where(coach, t + 4) == "Next is exercise two of three: Press and hold."


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
        ExerciseOutcome(2, "tilt", "pain"),
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
    assert _where(coach, t + 5) == "Next is exercise three of three: Tilt."


def test_where_names_the_place_in_every_state():
    coach = Coach(ROUTINE)
    coach.step(Start(), 0.0)
    assert _where(coach, 1.0) == script.where_start(ROUTINE)  # the intro
    t = to_exercise(coach := Coach(ROUTINE))
    coach.step(cmd(Intent.SKIP), t + 1)  # exercise one skipped, not done
    coach.step(cmd(Intent.NEXT), t + 2)  # exercise two begins now,
    coach.step(cmd(Intent.NEXT), t + 2.5)  # and is finished early
    assert _where(coach, t + 3) == "Next is exercise three of three: Tilt."
    coach.step(cmd(Intent.PAUSE), t + 4)
    assert _where(coach, t + 5) == "Next is exercise three of three: Tilt."
    coach.step(cmd(Intent.NEXT), t + 6)
    assert coach.state is State.ANNOUNCE
    assert _where(coach, t + 7) == "Exercise three of three."
    coach.step(cmd(Intent.HURT), t + 8)
    coach.step(cmd(Intent.PAUSE), t + 9)  # paused at the skip-or-repeat question
    assert _where(coach, t + 10) == "Exercise three of three."
    texts = set(fixed_texts(ROUTINE))
    assert script.where_start(ROUTINE) in texts
    assert "Next is exercise three of three: Tilt." in texts


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


def test_no_help_text_without_commands_is_listed_or_said():
    # The goodbye state's row (only "it hurts") gave "You can say: . And say it hurts
    # ..." among the fixed texts, rendered and cached though no state can say it.
    from voicecoach.routines.loader import builtin_routines

    for routine in (ROUTINE, *builtin_routines().values()):
        assert not [t for t in fixed_texts(routine) if "You can say: ." in t], routine.id
    coach = Coach(ROUTINE)
    to_exercise(coach)
    coach.step(cmd(Intent.STOP), 23.0)
    coach.step(cmd(Intent.YES), 24.0)
    assert coach.state is State.ENDING
    assert coach.step(cmd(Intent.HELP), 25.0) == []  # saying goodbye: no help


@pytest.mark.parametrize("intent", [Intent.NEXT, Intent.YES, Intent.SKIP])
@pytest.mark.parametrize("heard", [0, 1, 2])
def test_skipping_the_intro_never_skips_the_safety_text(intent, heard):
    # "next", "yes" or "skip" during the introduction went straight to the consent
    # question, so the safety and contraindications text was never spoken.
    coach = Coach(ROUTINE)
    acts = coach.step(Start(), 0.0)
    for uid in [a.utterance_id for a in acts if isinstance(a, Say)][:heard]:
        coach.step(PlaybackFinished(uid), 2.0 * uid)
    acts = coach.step(cmd(intent), 7.0)
    safety = script.intro(ROUTINE)[-1]
    if heard < 2:  # the intro or the list is cut; the safety text follows at once
        assert acts == [StopSpeaking(), PlayCue("heard"), Say(safety, coach._next_id)]
    else:  # the safety text is playing: it plays on
        assert acts == [PlayCue("heard")]
    assert coach.state is State.INTRO
    acts = coach.step(PlaybackFinished(coach._next_id), 20.0)
    assert says(acts) == [script.CONSENT_QUESTION]


def test_a_speaker_that_fails_under_the_intro_has_it_said_again_from_the_cut_line():
    coach = Coach(ROUTINE)
    acts = coach.step(Start(), 0.0)
    first, _, safety = [a for a in acts if isinstance(a, Say)]
    coach.step(PlaybackFinished(first.utterance_id), 3.0)  # line one heard in full
    # The speaker dies under line two; a new one takes its place, the rest counted cut.
    again = coach.step(PlaybackFinished(safety.utterance_id, cut=True), 4.0)
    assert says(again) == [
        "You will need: a rug; a small pillow.",
        "Stop if anything hurts.",
    ]
    assert coach.state is State.INTRO
    # Only once the safety text has really played comes the question.
    done = coach.step(PlaybackFinished(last_say_id(again)), 9.0)
    assert says(done) == [script.CONSENT_QUESTION]


def _silent_at_the_stop_question(coach: Coach) -> float:
    """In exercise one, "stop", then silence until the coach pauses by itself."""
    t = to_exercise(coach)
    acts = coach.step(cmd(Intent.STOP), t + 1)
    assert says(acts) == [script.CONFIRM_STOP]
    t += 2
    coach.step(PlaybackFinished(last_say_id(acts)), t)
    for _ in range(4):
        t += 21
        acts = coach.step(Tick(), t)
        t += 3
        if acts:
            coach.step(PlaybackFinished(last_say_id(acts)), t)
    assert coach.state is State.PAUSED
    return t


def test_paused_by_silence_at_the_stop_question_continue_goes_back_to_the_exercise():
    coach = Coach(ROUTINE)
    t = _silent_at_the_stop_question(coach)
    assert says(coach.step(cmd(Intent.WHERE), t + 1))[0].startswith("Exercise one")
    acts = coach.step(cmd(Intent.RESUME), t + 2)
    assert says(acts) == [script.RESUMING]
    assert coach.state is State.EXERCISE


def test_paused_by_silence_at_the_stop_question_pain_asks_about_the_exercise():
    coach = Coach(ROUTINE)
    t = _silent_at_the_stop_question(coach)
    acts = coach.step(cmd(Intent.HURT), t + 1)
    assert acts[0] == StopSpeaking()
    assert says(acts) == [script.PAIN_STOP, script.PAIN_ASK]
    assert coach.state is State.ASK_PAIN


def test_paused_by_silence_at_the_stop_question_stop_and_no_do_not_go_round():
    coach = Coach(ROUTINE)
    t = _silent_at_the_stop_question(coach)
    coach.step(cmd(Intent.STOP), t + 1)
    coach.step(cmd(Intent.NO), t + 2)  # back to the pause
    acts = coach.step(cmd(Intent.RESUME), t + 3)
    assert coach.state is State.EXERCISE and says(acts) == [script.RESUMING]


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
    assert _where(coach, t + 2).startswith("Exercise one of three")


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


def test_repeated_more_gently_the_press_against_the_hand_asks_for_no_more_pressure():
    # After "it hurts" and "no" (repeat it more gently) in self-correction three, the
    # announcement said again "Each time you repeat it, press a little more firmly."
    routine = builtin_routines()["self-correction"]
    coach = Coach(routine)
    t = to_exercise(coach)
    coach.step(cmd(Intent.SKIP), t + 1)
    coach.step(cmd(Intent.SKIP), t + 2)
    assert routine.exercises[coach.index].id == "hand-press-tilt"
    coach.step(cmd(Intent.HURT), t + 3)
    coach.step(cmd(Intent.NO), t + 4)
    said = says(coach.step(cmd(Intent.NEXT), t + 5))
    assert said == [script.announce(routine, 2)]
    said += [text for _, text in _timed_lines(coach, t + 20)]
    assert "Repetition five." in said
    assert not [text for text in said if "firmly" in text or "each time you" in text.lower()]


def test_at_the_fastest_pace_every_cue_still_has_the_time_it_takes_to_say():
    # The review's case: at the fastest pace the head glide's cues came back to back
    # and the coach fell up to 12.7 s behind its own schedule.
    routine = builtin_routines()["self-correction"]
    coach = Coach(routine)
    t = to_pain_free(coach)
    coach.step(cmd(Intent.YES), t + 1)
    for _ in range(4):
        coach.step(cmd(Intent.FASTER), t + 2)
    assert coach.tempo == 0.5
    seen = _timed_lines(coach, 60.0)
    cues = set(routine.exercises[0].cues)
    for (at, text), (after, _) in zip(seen, seen[1:], strict=False):
        if text in cues:
            assert after - at >= 0.6 + 0.4 * len(text.split()) - 1e-9, (text, after - at)


def test_a_long_hold_says_only_the_numbers_there_is_time_to_say():
    # A two-minute hold counted "One hundred and nineteen." one second after "Hold.":
    # saying the numbers took longer than the seconds they counted.
    from voicecoach.routines.model import Exercise

    ex = Exercise("h", "Hold", "Sit.", ("Hold still.",), 1, hold_seconds=120)
    beats = exercise_programme(ex)
    start = next(i for i, b in enumerate(beats) if b.text == script.HOLD)
    hold = beats[start : start + 120]
    assert [b.length for b in hold] == [1.0] * 120  # still two minutes, a second a beat
    said = [120 - i for i, b in enumerate(hold) if b.text and i > 0]
    assert said == [*range(110, 60, -10), *range(60, 20, -5), *range(20, 0, -1)]
    assert all(counted(n) for n in said)
    assert [b.text for b in hold if b.text][1:4] == [
        "One hundred and ten.",
        "One hundred.",
        "Ninety.",
    ]


@pytest.mark.parametrize(
    ("intent", "then"),
    [
        (Intent.HURT, script.PAIN_STOP),
        (Intent.PAUSE, script.PAUSED),
        (Intent.STOP, script.CONFIRM_STOP),
        (Intent.NEXT, None),
    ],
)
def test_a_held_breath_cut_short_is_let_go_first(intent, then):
    # A pause, stop, pain report or "next" during the head glide's held breath left the
    # person holding it while the coach talked on or asked a question.
    routine = builtin_routines()["self-correction"]
    coach = Coach(routine)
    t = to_pain_free(coach)
    coach.step(cmd(Intent.YES), t + 1)
    coach.step(PlaybackFinished(coach._await), t + 20)
    at = run_beats_until(coach, script.HOLD_BREATH, t + 20)
    texts = says(coach.step(cmd(intent), at + 3.5))
    assert texts[0] == script.BREATHE_OUT
    if then is not None:
        assert texts[1] == then
    # Once only, and not outside a held breath.
    assert script.BREATHE_OUT not in says(coach.step(cmd(Intent.PAUSE), at + 20))


def test_the_tilt_is_held_the_fifteen_seconds_it_announces():
    # A cue "Try to relax your neck." came after the tilt and before "Hold.": the head
    # stayed tilted 2-4 s more than the fifteen seconds the coach announced.
    ex = builtin_routines()["self-correction"].exercises[1]
    beats = exercise_programme(ex)
    hold = next(i for i, b in enumerate(beats) if b.text == script.HOLD)
    assert "tilt your head" in beats[hold - 1].text
    assert "relax your neck" in beats[hold - 1].text.lower()  # the article's advice kept


def _in_the_rest(coach: Coach, rep: int) -> float:
    """Tick exercise one (the head glide) of self-correction to the relaxation after
    repetition ``rep``; return its time."""
    t = to_pain_free(coach)
    coach.step(cmd(Intent.YES), t + 1)
    coach.step(PlaybackFinished(coach._await), t + 20)
    while True:
        at = run_beats_until(coach, script.relax(5), t + 20)
        if coach.rep == rep:
            return at


@pytest.mark.parametrize("detour", [[Intent.PAUSE, Intent.RESUME], [Intent.STOP, Intent.NO]])
def test_a_pause_in_the_rest_after_a_repetition_goes_on_with_the_next(detour):
    # The review's case (`@115 pause`, then "continue"): "Relax for five seconds.",
    # "Paused.", "Let's continue." and "Repetition one." again: the person did the
    # repetition they had finished a second time.
    routine = builtin_routines()["self-correction"]
    coach = Coach(routine)
    at = _in_the_rest(coach, 1)
    for intent in detour:
        acts = coach.step(cmd(intent), at + 1.2)
    assert says(acts) == [script.RESUMING]
    acts = coach.step(PlaybackFinished(coach._next_id), at + 3)
    n = coach._next_id
    assert acts == [
        Say("Repetition two. Move a little further this time, if it feels comfortable.", n),
        StartTimer("beat", round(at + 3 + 5.4, 6)),  # the time its twelve words take
    ]
    assert coach.state is State.EXERCISE and coach.rep == 2


def test_a_pause_in_the_rest_after_the_last_repetition_ends_the_exercise_done():
    routine = builtin_routines()["self-correction"]
    coach = Coach(routine)
    at = _in_the_rest(coach, 5)
    coach.step(cmd(Intent.PAUSE), at + 1)
    coach.step(cmd(Intent.RESUME), at + 10)
    acts = coach.step(PlaybackFinished(coach._next_id), at + 12)
    assert ExerciseOutcome(0, "head-back-glide", "done") in acts
    assert says(acts) == [routine.exercises[0].after, script.WELL_DONE, script.WAIT_NEXT]
    assert coach.state is State.WAIT_NEXT and coach.pending == 1


def test_a_pause_in_the_breathing_after_the_movement_goes_on_with_the_next_repetition():
    # neck-complex, `@130 pause` in repetition one's last "Breathe out.": "continue"
    # started the whole thirty-second repetition again.
    routine = builtin_routines()["neck-complex"]
    coach = Coach(routine)
    t = to_pain_free(coach)
    coach.step(cmd(Intent.YES), t + 1)
    coach.step(PlaybackFinished(coach._await), t + 40)
    at = run_beats_until(coach, script.BREATHE_OUT, t + 40)
    assert coach.rep == 1
    coach.step(cmd(Intent.PAUSE), at + 1)
    coach.step(cmd(Intent.RESUME), at + 5)
    acts = coach.step(PlaybackFinished(coach._next_id), at + 7)
    assert says(acts) == ["Repetition two."]


@pytest.mark.parametrize("detour", [[Intent.PAUSE, Intent.RESUME], [Intent.STOP, Intent.NO]])
def test_a_pause_in_a_hold_still_does_that_repetition_again(detour):
    # Going on in the middle of a hold is not safe: the repetition starts again.
    routine = builtin_routines()["self-correction"]
    coach = Coach(routine)
    at = _in_the_rest(coach, 1)
    at = run_beats_until(coach, script.HOLD_BREATH, at)
    assert coach.rep == 2
    for intent in detour:
        coach.step(cmd(intent), at + 3)
    acts = coach.step(PlaybackFinished(coach._next_id), at + 6)
    assert says(acts) == [
        "Repetition two. Move a little further this time, if it feels comfortable."
    ]


def test_repeat_in_the_rest_after_a_repetition_does_that_one_again():
    # "repeat" asks for the repetition just done, also after a pause before it starts.
    routine = builtin_routines()["self-correction"]
    coach = Coach(routine)
    at = _in_the_rest(coach, 1)
    assert says(coach.step(cmd(Intent.REPEAT), at + 1)) == [script.RESTART_REP]
    coach.step(cmd(Intent.PAUSE), at + 2)
    coach.step(cmd(Intent.RESUME), at + 3)
    acts = coach.step(PlaybackFinished(coach._next_id), at + 5)
    assert says(acts) == ["Repetition one."]


@pytest.mark.parametrize(("rep", "outcome"), [(5, "done"), (4, "ended_early")])
def test_next_in_the_rest_after_the_last_repetition_records_the_exercise_done(rep, outcome):
    # The review's case (`@225 next`): every repetition had been done, yet the log said
    # ended_early, which the README defines as "next" before the repetitions were over.
    routine = builtin_routines()["self-correction"]
    coach = Coach(routine)
    at = _in_the_rest(coach, rep)
    acts = coach.step(cmd(Intent.NEXT), at + 1)
    n = coach._next_id
    assert acts == [
        StopSpeaking(),
        CancelTimer("beat"),
        PlayCue("heard"),
        ExerciseOutcome(0, "head-back-glide", outcome),
        Say(routine.exercises[0].after, n - 2),
        Say(script.WELL_DONE, n - 1),
        Say(script.WAIT_NEXT, n),
    ]
    assert coach.outcomes == {0: outcome}


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
    # The quiet is for the wait after pain only: the next wait for "next" re-prompts.
    coach.step(cmd(Intent.NEXT), t + 2002)  # begin now
    coach.step(cmd(Intent.NEXT), t + 2003)  # and end it early
    coach.step(PlaybackFinished(coach._next_id), t + 2005)
    if coach.state is State.WAIT_NEXT:
        assert coach._timers == {"reprompt": t + 2025}


def _at_question(question: State) -> tuple[Coach, float]:
    """A coach asking ``question``, played to its end; the time it listens from."""
    coach = Coach(ROUTINE, resume_from=1)
    if question is State.ASK_CONSENT:
        return coach, to_consent(coach)
    t = to_pain_free(coach)
    if question is State.ASK_RESUME:
        coach.step(cmd(Intent.YES), t + 1)
    elif question in (State.ASK_PAIN, State.CONFIRM_STOP):
        coach.step(cmd(Intent.YES), t + 1)
        coach.step(cmd(Intent.YES), t + 2)  # start from the top
        coach.step(cmd(Intent.HURT if question is State.ASK_PAIN else Intent.STOP), t + 3)
    coach.step(PlaybackFinished(coach._next_id), t + 10)
    assert coach.state is question and coach.waiting_for_user
    return coach, t + 10


@pytest.mark.parametrize(
    ("question", "again"),
    [
        (State.ASK_CONSENT, script.CONSENT_REPROMPT),
        (State.ASK_PAIN_FREE, script.PAIN_FREE_REPROMPT),
        (State.ASK_RESUME, script.resume_reprompt(1)),
        (State.ASK_PAIN, script.PAIN_ASK_REPROMPT),
        (State.CONFIRM_STOP, script.CONFIRM_STOP_REPROMPT),
    ],
)
@pytest.mark.parametrize("intent", [Intent.HELP, Intent.WHERE, Intent.NEXT])
def test_an_answer_at_a_question_is_followed_by_the_question_again(question, again, intent):
    # The review's case (`@105 it hurts`, "where am i"): "Exercise one of three,
    # repetition one of five." and then silence; "help" at the resume question listed
    # the commands and never asked again. "next", which no question takes, gets the
    # help text, and the question again too.
    coach, t = _at_question(question)
    acts = coach.step(cmd(intent), t + 1)
    n = coach._next_id
    takes = intent in coach.listening_for()
    heard = [PlayCue("heard")] if takes else []  # the earcon for a command it takes
    answer = says(acts)[0]
    assert answer.startswith("You can say") is (intent is not Intent.WHERE or not takes)
    assert acts == [CancelTimer("reprompt"), *heard, Say(answer, n - 1), Say(again, n)]
    assert coach.state is question and not coach.waiting_for_user
    # Once asked, the coach listens as after any question, re-prompt and all.
    assert coach.step(PlaybackFinished(n), t + 9) == [StartTimer("reprompt", t + 29)]
    assert says(coach.step(cmd(Intent.REPEAT), t + 10)) == list(coach._question(question, False))


_GLIDE = builtin_routines()["self-correction"]
_ANSWERS = {
    Intent.HELP: "You can say: next, repeat, pause, skip, go back, slower, faster, where am I, "
    "stop. And say it hurts at any moment to stop.",
    Intent.WHERE: "Exercise one of three, repetition one of five.",
    Intent.SLOWER: script.SLOWER,
    Intent.FASTER: script.FASTER,
}


def _glide_started() -> tuple[Coach, float]:
    """The head glide (self-correction, exercise one) begun; the time."""
    coach = Coach(_GLIDE)
    t = to_pain_free(coach)
    coach.step(cmd(Intent.YES), t + 1)
    coach.step(PlaybackFinished(coach._await), t + 20)
    return coach, t + 20


def _tick_until(coach: Coach, text: str, since: float) -> list[tuple[float, list[str]]]:
    """Tick along the schedule until the coach says ``text``: (seconds since
    ``since``, texts) at each beat."""
    seen: list[tuple[float, list[str]]] = []
    while True:
        at = coach._timers["beat"]
        seen.append((round(at - since, 6), says(coach.step(Tick(), at))))
        if text in seen[-1][1]:
            return seen


@pytest.mark.parametrize("intent", list(_ANSWERS))
@pytest.mark.parametrize("when", ["hold", "cue"])
def test_an_answer_in_a_held_breath_waits_for_its_release_and_the_rest_keeps_its_time(intent, when):
    # The review's case: "help" (or "where am I") 3.5 s into the head glide's held
    # breath was said at once; the speaker queued the counts behind it, so the breath
    # was held about 15 s instead of the ten announced, the counts came 0.4 s apart and
    # the five-second relaxation shrank to 1.4 s. Said during the movement cue, the
    # answer waits the same way: after the cue comes the held breath.
    coach, t = _glide_started()
    asked = run_beats_until(coach, _GLIDE.exercises[0].cues[0], t) + 0.5
    if when == "hold":
        hold = run_beats_until(coach, script.HOLD_BREATH, t)
        asked = hold + 3.5
    timers = dict(coach._timers)
    # At once only the "heard" earcon; the schedule runs on untouched.
    assert coach.step(cmd(intent), asked) == [PlayCue("heard")]
    assert coach._timers == timers
    if when == "cue":
        hold = run_beats_until(coach, script.HOLD_BREATH, t)
    counts = [(float(s), [script.count(10 - s)]) for s in range(1, 10)]
    assert _tick_until(coach, script.RELEASE_BREATH, hold) == [
        *counts,
        (10.0, [script.RELEASE_BREATH]),  # the breath held exactly its ten seconds
    ]
    # After the release (its 2.2 s), the answer; the schedule waits for it to be played.
    at = coach._timers["beat"]
    assert at == round(hold + 12.2, 6)
    acts = coach.step(Tick(), at)
    n = coach._next_id
    assert acts == [Say(_ANSWERS[intent], n)]
    assert coach._timers == {}
    assert coach.step(Tick(), at + 5) == []  # nothing happens while it is said
    # Played at `done`, the relaxation starts and takes its full five seconds.
    done = at + 6.3
    assert coach.step(PlaybackFinished(n), done) == [
        Say(script.relax(5), n + 1),
        StartTimer("beat", round(done + 5, 6)),
    ]
    assert says(coach.step(Tick(), round(done + 5, 6)))[0].startswith("Repetition two.")


def test_an_answer_in_the_relaxation_waits_for_its_end_and_the_next_repetition_for_it():
    coach, t = _glide_started()
    relax = run_beats_until(coach, script.relax(5), t)
    assert coach.step(cmd(Intent.WHERE), relax + 1) == [PlayCue("heard")]
    at = coach._timers["beat"]
    assert at == relax + 5  # the relaxation keeps its five seconds
    acts = coach.step(Tick(), at)
    n = coach._next_id
    assert acts == [Say("Exercise one of three, repetition one of five.", n)]
    acts = coach.step(PlaybackFinished(n), at + 3)
    assert says(acts)[0].startswith("Repetition two.")


def test_an_answer_after_the_last_repetition_comes_before_the_exercise_ends():
    coach = Coach(ROUTINE)
    to_exercise(coach)
    run_beats_until(coach, "Repetition two.", 22.0)
    coach.step(cmd(Intent.HELP), coach._now + 0.5)
    assert _said_at_the_next_rest(coach) == [_ANSWERS[Intent.HELP]]
    acts = coach.step(PlaybackFinished(coach._next_id), coach._now + 8)
    assert ExerciseOutcome(0, "turn", "done") in acts
    assert says(acts) == [script.WELL_DONE, script.WAIT_NEXT]


def test_several_answers_kept_back_are_given_once_each_the_latest_of_a_kind():
    coach, t = _glide_started()
    hold = run_beats_until(coach, script.HOLD_BREATH, t)
    for intent in (Intent.WHERE, Intent.SLOWER, Intent.HELP, Intent.FASTER, Intent.WHERE):
        assert coach.step(cmd(intent), hold + 2) == [PlayCue("heard")]
    assert coach.tempo == 1.0
    # In the order last asked; "slower" then "faster": the pace is back where it was.
    assert _said_at_the_next_rest(coach) == [
        _ANSWERS[Intent.HELP],
        script.FASTER,
        _ANSWERS[Intent.WHERE],
    ]


@pytest.mark.parametrize("intent", [Intent.PAUSE, Intent.NEXT, Intent.HURT])
def test_an_answer_kept_back_is_dropped_when_the_flow_changes(intent):
    coach, t = _glide_started()
    hold = run_beats_until(coach, script.HOLD_BREATH, t)
    coach.step(cmd(Intent.WHERE), hold + 2)
    acts = coach.step(cmd(intent), hold + 3)
    assert _ANSWERS[Intent.WHERE] not in says(acts)
    if intent is Intent.PAUSE:
        coach.step(cmd(Intent.RESUME), hold + 10)
        coach.step(PlaybackFinished(coach._next_id), hold + 12)
        assert _ANSWERS[Intent.WHERE] not in [
            t for _, ts in _tick_until(coach, script.relax(5), hold) for t in ts
        ]


def test_an_answer_during_the_announcement_comes_before_the_first_repetition():
    # The exercise's schedule began when the announcement ended, with the answer still
    # to play: "Repetition one." and the cue after it queued behind it and came late.
    coach = Coach(ROUTINE)
    t = to_pain_free(coach)
    acts = coach.step(cmd(Intent.YES), t + 1)
    announcement = last_say_id(acts)
    acts = coach.step(cmd(Intent.WHERE), t + 2)
    assert says(acts) == ["Exercise one of three."]
    assert coach.step(PlaybackFinished(announcement), t + 10) == []
    assert coach.step(PlaybackFinished(coach._next_id), t + 12) == [
        Say("Repetition one.", coach._next_id),
        StartTimer("beat", t + 13.4),
    ]
