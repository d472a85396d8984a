"""Transcript tests of the dialogue manager's navigation: pause and continue, stop, skip,
go back and repeat, the wait between exercises, resuming a session and its end."""

from __future__ import annotations

import pytest

from tests.dialogue_helpers import (
    ROUTINE,
    cmd,
    last_say_id,
    run_beats_until,
    says,
    to_exercise,
    to_pain_free,
    where,
)
from tests.routine_fixtures import tiny_routine
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
    StartTimer,
    StopSpeaking,
    Tick,
)
from voicecoach.routines import builtin_routines
from voicecoach.routines.model import Advance


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


@pytest.mark.parametrize("between", [False, True])
def test_where_at_the_stop_question_says_where_before_the_question_again(between):
    # "how many left?" is what one asks before deciding to stop; at "Do you want to end
    # the session now?" it got the list of commands ("You can say: yes, no, ...").
    coach = Coach(ROUTINE)
    t = to_exercise(coach)
    if between:
        coach.step(cmd(Intent.NEXT), t + 0.5)  # exercise one ended early
    coach.step(cmd(Intent.STOP), t + 1)
    coach.step(PlaybackFinished(coach._next_id), t + 1.5)  # the question played
    assert coach.state is State.CONFIRM_STOP
    expected = "Next is exercise two of three" if between else "Exercise one of three"
    assert where(coach, t + 2).startswith(expected)
    assert Intent.WHERE in coach.listening_for()
    assert coach.state is State.CONFIRM_STOP
    acts = coach.step(cmd(Intent.NO), t + 3)  # the place is kept
    assert says(acts) == ([script.WAIT_REPROMPT] if between else [script.RESUMING])


def test_pause_at_the_stop_question_pauses_and_continue_goes_back_to_the_exercise():
    # Asked "Do you want to end the session now?", "pause" / "wait" / "hold on" got the
    # list of commands: the one question of an exercise where a pause was not taken.
    coach = Coach(ROUTINE)
    t = to_exercise(coach)
    coach.step(cmd(Intent.STOP), t + 1)
    coach.step(PlaybackFinished(coach._next_id), t + 1.5)  # the question played
    acts = coach.step(cmd(Intent.PAUSE), t + 2)
    assert says(acts) == [script.PAUSED]
    assert coach.state is State.PAUSED
    assert says(coach.step(cmd(Intent.WHERE), t + 3))[0].startswith("Exercise one")
    acts = coach.step(cmd(Intent.RESUME), t + 60)
    assert says(acts) == [script.RESUMING]
    assert coach.state is State.EXERCISE


def test_go_back_in_the_first_exercise_says_it_starts_it_again():
    # There is no exercise before the first: "go back" restarted it without a word
    # of why, as if the command had been misheard as "repeat".
    coach = Coach(ROUTINE)
    t = to_exercise(coach)
    acts = coach.step(cmd(Intent.PREVIOUS), t + 1)
    assert says(acts) == [script.FIRST_AGAIN, script.announce(ROUTINE, 0)]
    assert coach.index == 0 and coach.state is State.ANNOUNCE
    coach.step(cmd(Intent.NEXT), t + 2)  # the exercise starts at once
    acts = coach.step(cmd(Intent.PREVIOUS), t + 3)
    assert says(acts)[0] == script.FIRST_AGAIN


def test_stop_yes_ends_as_stopped_and_marks_the_exercise_stopped_not_skipped():
    coach = Coach(ROUTINE)
    to_exercise(coach)
    coach.step(cmd(Intent.STOP), 23.0)
    acts = coach.step(cmd(Intent.YES), 25.0)
    assert ExerciseOutcome(0, "turn", "stopped") in acts
    assert SessionEnded("stopped") in acts
    assert script.STOPPED in says(acts)


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
