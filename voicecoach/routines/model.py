"""What a routine is, once loaded and validated. See ``docs/routine-format.md``."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class Advance(str, Enum):
    """How the coach moves on after an exercise."""

    WAIT = "wait"
    """Wait for the user to say "next"."""
    AUTO = "auto"
    """Move on by itself after a short pause."""


@dataclass(frozen=True)
class Breathing:
    """A breathing cue: "Breathe in.", ``inhale`` seconds later "Breathe out.", then
    ``exhale`` seconds (silent: nothing is counted aloud)."""

    inhale: int
    exhale: int
    when: str = "after"
    """``before`` the movement (e.g. "inhale, then on the exhale tilt") or ``after`` it."""


@dataclass(frozen=True)
class Exercise:
    """One exercise of a routine."""

    id: str
    title: str
    position: str
    """The starting position, spoken once before the steps."""
    steps: tuple[str, ...]
    """Short spoken sentences explaining the movement, spoken once before the repetitions."""
    repetitions: int
    cues: tuple[str, ...] = ()
    """Short phrases spoken on the beat in every repetition ("Turn to the left.")."""
    neutral: frozenset[int] = frozenset()
    """The cues (0-based indexes into ``cues``) after which the person is back in the
    starting position, so an answer held back for a rest may be given there, before
    the movement goes on; by default only once the movement is over."""
    hold_seconds: int = 0
    """Hold the position this long in every repetition (counted down); 0 = no hold."""
    hold_breath: bool = False
    """Hold the breath through the hold: breathe in as it begins, out at its release."""
    relax_seconds: int = 0
    """Relax this long after every repetition (announced and timed); 0 = none."""
    breathing: Breathing | None = None
    tempo: float = 2.0
    """Seconds per beat for the cues, at normal speed."""
    advance: Advance = Advance.WAIT
    progression: str = ""
    """Said before repetitions after the first ("A little further this time.")."""
    after: str = ""
    """Said once when the exercise is finished (e.g. the self-massage after exercise 2)."""


@dataclass(frozen=True)
class Routine:
    """A routine: the texts around the exercises and the exercises in order."""

    id: str
    title: str
    intro: str
    preparation: tuple[str, ...]
    safety: str
    exercises: tuple[Exercise, ...]
    format_version: int = 1
    source: str = "built-in"
    """Where it was loaded from: ``built-in`` or a file path."""
