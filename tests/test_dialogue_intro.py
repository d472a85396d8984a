"""Transcript tests of the dialogue manager, from the start to the first exercise: the
intro and its safety text, the consent questions, "help", "where am I" (an answer not
queued twice), re-prompts, the self-pause and a late yes or no after it, and commands
not understood."""

from __future__ import annotations

import copy

import pytest

from tests.dialogue_helpers import (
    ROUTINE,
    cmd,
    last_say_id,
    run_beats_until,
    said_at_the_next_rest,
    says,
    silence,
    to_consent,
    to_exercise,
    to_pain_free,
    where,
)
from voicecoach import script
from voicecoach.commands import Intent
from voicecoach.dialogue import Coach, State, fixed_texts
from voicecoach.events import (
    CancelTimer,
    ExerciseOutcome,
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
        PainReported(None, 0),  # the day remembers it, as "it hurts" said here
        SessionEnded("declined"),
        Say(script.DECLINED_PAIN, 6),
        PlayCue("session_end"),
    ]
    assert coach.state is State.ENDING and coach.outcomes == {}


def test_where_reports_exercise_and_repetition():
    coach = Coach(ROUTINE)
    to_exercise(coach)
    at = run_beats_until(coach, "Repetition two.", 22.0)
    timers = dict(coach._timers)
    # Counting, the answer waits for the end of the repetition (see the tests of
    # answers during an exercise below), and the schedule runs on as it was.
    assert coach.step(cmd(Intent.WHERE), at + 0.5) == [PlayCue("heard")]
    assert coach.state is State.EXERCISE and coach._timers == timers
    assert said_at_the_next_rest(coach) == ["Exercise one of three, repetition two of two."]


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
    [text] = said_at_the_next_rest(coach2)
    assert "skip" in text and "slower" in text and "yes," not in text


_SAID_AS = {name: intent for intent, name in script._HELP_ITEMS.items()}


def _offered(help_said: str) -> list[Intent]:
    """The intents a help text names."""
    listed = help_said.removeprefix("You can say: ").split(". And say it hurts")[0]
    return [_SAID_AS[name] for name in listed.split(", ")]


def _does_something(coach: Coach, intent: Intent, now: float) -> bool:
    """Whether ``intent`` said now does more than the "heard" earcon (on a copy)."""
    acts = copy.deepcopy(coach).step(cmd(intent), now)
    return bool(acts) and acts != [PlayCue("heard")]


def test_help_in_the_introduction_offers_only_what_works_when_it_is_heard():
    # Help asked for during the introduction is said after it, safety text and all.
    # There "yes", "next" and "skip", which pass over the introduction up to the
    # safety text, did nothing but the earcon, and the help offered them.
    coach = Coach(ROUTINE)
    intro_end = coach.step(Start(), 0.0)[-1].utterance_id
    [help_said] = says(coach.step(cmd(Intent.HELP), 3.0))
    coach.step(PlaybackFinished(intro_end), 40.0)  # the help plays now
    assert coach.state is State.INTRO
    assert help_said == (
        "You can say: repeat, pause, where am I, stop. And say it hurts at any moment to stop."
    )
    assert all(_does_something(coach, i, 41.0) for i in _offered(help_said))
    assert help_said in fixed_texts(ROUTINE)


def test_help_when_paused_offers_no_only_where_it_answers_a_question():
    # Paused by the person, "no" only brings the help again; the help offered it.
    coach = Coach(ROUTINE)
    t = to_consent(coach)
    coach.step(cmd(Intent.PAUSE), t + 1)
    coach.step(PlaybackFinished(coach._next_id), t + 3)
    [help_said] = says(coach.step(cmd(Intent.HELP), t + 4))
    assert help_said == (
        "You can say: yes, next, continue, repeat, pause, where am I, stop. "
        "And say it hurts at any moment to stop."
    )
    coach.step(PlaybackFinished(coach._next_id), t + 10)
    assert all(_does_something(coach, i, t + 11) for i in _offered(help_said))
    # Paused by the coach at the unanswered question, "no" answers it: offered.
    coach = Coach(ROUTINE)
    t = self_paused_at(coach, to_consent(coach))
    [help_said] = says(coach.step(cmd(Intent.HELP), t + 1))
    assert _offered(help_said)[:2] == [Intent.YES, Intent.NO]
    assert help_said in fixed_texts(ROUTINE)


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
    assert says(acts) == [script.PAUSED_SELF_QUESTION]
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


def test_where_names_the_place_in_every_state():
    coach = Coach(ROUTINE)
    coach.step(Start(), 0.0)
    assert where(coach, 1.0) == script.where_start(ROUTINE)  # the intro
    t = to_exercise(coach := Coach(ROUTINE))
    coach.step(cmd(Intent.SKIP), t + 1)  # exercise one skipped, not done
    coach.step(cmd(Intent.NEXT), t + 2)  # exercise two begins now,
    coach.step(cmd(Intent.NEXT), t + 2.5)  # and is finished early
    assert where(coach, t + 3) == "Next is exercise three of three: Tilt."
    coach.step(cmd(Intent.PAUSE), t + 4)
    assert where(coach, t + 5) == "Next is exercise three of three: Tilt."
    coach.step(cmd(Intent.NEXT), t + 6)
    assert coach.state is State.ANNOUNCE
    assert where(coach, t + 7) == "Exercise three of three."
    coach.step(cmd(Intent.HURT), t + 8)
    coach.step(cmd(Intent.PAUSE), t + 9)  # paused at the skip-or-repeat question
    assert where(coach, t + 10) == "Exercise three of three."
    texts = set(fixed_texts(ROUTINE))
    assert script.where_start(ROUTINE) in texts
    assert "Next is exercise three of three: Tilt." in texts


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
    else:  # the safety text is playing: it plays on, with no earcon saying "taken"
        assert acts == []
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
    if question is not State.ASK_PAIN:  # there "repeat" is an answer (test_dialogue_pain)
        assert says(coach.step(cmd(Intent.REPEAT), t + 10)) == list(
            coach._question(question, False)
        )


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
