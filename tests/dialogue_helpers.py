"""Shared helpers of the dialogue manager's transcript tests (tests/test_dialogue_*.py):
the tiny routine, command events, what the coach says, and drives to the consent
questions, the first exercise, the next rest."""

from __future__ import annotations

from tests.routine_fixtures import tiny_routine
from voicecoach.commands import Intent
from voicecoach.dialogue import QUESTION_STATES, Coach
from voicecoach.events import CommandHeard, PlaybackFinished, Say, Start, Tick

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


def said_at_the_next_rest(coach: Coach) -> list[str]:
    """Tick along the schedule until the coach says something other than a beat of
    its programme; return what it says then."""
    beats = {b.text for b in coach._programme}
    while True:
        texts = says(coach.step(Tick(), coach._timers["beat"]))
        if set(texts) - beats:
            return texts


def where(coach: Coach, now: float) -> str:
    """The answer to "where am I" (at a question, the question asked again follows)."""
    text, *again = says(coach.step(cmd(Intent.WHERE), now))
    assert len(again) == (coach.state in QUESTION_STATES)
    return text


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
