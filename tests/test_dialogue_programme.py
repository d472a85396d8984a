"""Transcript tests of the dialogue manager counting an exercise: its timed programme,
holds and breathing, pace, the fixed texts, and answers kept back for the next rest."""

from __future__ import annotations

import inspect
import itertools
from dataclasses import replace

import pytest

from tests.dialogue_helpers import (
    ROUTINE,
    cmd,
    last_say_id,
    run_beats_until,
    said_at_the_next_rest,
    says,
    to_exercise,
    to_pain_free,
)
from voicecoach import script
from voicecoach.commands import Intent
from voicecoach.dialogue import Coach, CoachOptions, State, counted, exercise_programme, fixed_texts
from voicecoach.events import (
    CancelTimer,
    ExerciseOutcome,
    PlaybackFinished,
    PlayCue,
    Say,
    StartTimer,
    Tick,
)
from voicecoach.routines import builtin_routines
from voicecoach.routines.model import Breathing, Exercise


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


def test_slower_and_faster_are_bounded():
    coach = Coach(ROUTINE, CoachOptions(tempo_step=0.5, max_tempo=2.0, min_tempo=0.5))
    t = to_pain_free(coach)
    coach.step(cmd(Intent.YES), t + 1)  # during the announcement: answered at once
    assert says(coach.step(cmd(Intent.SLOWER), t + 2.1)) == [script.SLOWER]
    assert says(coach.step(cmd(Intent.SLOWER), t + 2.2)) == []  # the same, still to play
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
    assert said_at_the_next_rest(coach) == [script.FASTEST]  # the latest answer only


def test_every_spoken_text_is_a_fixed_text():
    texts = set(fixed_texts(ROUTINE))
    assert script.CONSENT_QUESTION in texts
    assert "Repetition two. A little further this time." in texts
    assert "Fourteen." not in texts  # the tiny routine has no 15 s hold
    assert "Exercise three of three, repetition one of one." in texts


def test_the_offer_to_continue_is_rendered_for_the_exercises_it_can_name():
    # A saved place at the first exercise is no place to continue from: the coach
    # starts there anyway and never asks. "Last time you stopped at exercise one." and
    # its reprompt were rendered into the prompt cache for every routine all the same.
    for routine in builtin_routines().values():
        texts = set(fixed_texts(routine))
        assert script.resume_question(0) not in texts
        assert script.resume_reprompt(0) not in texts
        for index in range(1, len(routine.exercises)):
            assert {script.resume_question(index), script.resume_reprompt(index)} <= texts
        coach = Coach(routine, resume_from=0)
        said = says(coach.step(cmd(Intent.YES), to_pain_free(coach) + 1))
        assert script.resume_question(0) not in said and script.STARTING in said
        assert coach.state is State.ANNOUNCE and coach.index == 0


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
    assert said_at_the_next_rest(coach) == [_ANSWERS[Intent.HELP]]
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
    assert said_at_the_next_rest(coach) == [
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


def neutral_routine():
    """One exercise of four movement cues, back in the starting position after the
    second (marked ``neutral``), then the breathing."""
    routine = breathing_routine()
    [ex] = routine.exercises
    cues = ("Turn to the left.", "Back to the middle.", "Turn to the right.", "Back again.")
    return replace(routine, exercises=(replace(ex, cues=cues, neutral=frozenset({1})),))


def test_an_answer_in_the_movement_comes_after_a_cue_marked_as_back_at_the_start():
    # In neck-complex's first exercise (seven cues) "where am I" said at its first cue
    # waited for all seven: some forty seconds at the slowest pace.
    routine = neutral_routine()
    coach = Coach(routine)
    t = to_exercise(coach)
    coach.step(cmd(Intent.WHERE), t + 0.5)
    where = script.where_exercise(routine, 0, 1)
    said = said_in_order(coach, t, "Repetition two.")
    assert said[:5] == [
        "Turn to the left.",
        "Back to the middle.",
        where,
        "Turn to the right.",
        "Back again.",
    ]
    assert said.count(where) == 1


def test_a_pause_while_answering_at_a_neutral_cue_does_the_repetition_again():
    # The movement is not over there: unlike an answer at the rest, the repetition is
    # not done, so going on starts it again, and "next" ends the exercise early.
    routine = neutral_routine()
    coach = Coach(routine)
    t = to_exercise(coach)
    coach.step(cmd(Intent.WHERE), t + 0.5)
    t = run_beats_until(coach, script.where_exercise(routine, 0, 1), t)
    coach.step(cmd(Intent.PAUSE), t + 0.5)
    coach.step(PlaybackFinished(coach._next_id), t + 2)
    coach.step(cmd(Intent.RESUME), t + 3)
    acts = coach.step(PlaybackFinished(coach._next_id), t + 4)
    assert says(acts) == ["Repetition one."]
    coach.step(cmd(Intent.WHERE), t + 5)
    t = run_beats_until(coach, script.where_exercise(routine, 0, 1), t + 5)
    acts = coach.step(cmd(Intent.NEXT), t + 0.5)
    assert ExerciseOutcome(0, "breathe", "ended_early") in acts


# -- "repeat" at the pain question
