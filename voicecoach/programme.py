"""The timed programme of an exercise: the beats the coach counts, at tempo 1.0.

:func:`exercise_programme` turns an :class:`~voicecoach.routines.model.Exercise` into
:class:`Beat` values (what to say or play, and how long until the next beat); the coach
walks them on a fixed schedule and stretches only the paced (movement) beats.
"""

from __future__ import annotations

from dataclasses import dataclass

from . import script
from .routines.model import Exercise


@dataclass(frozen=True)
class Beat:
    """One step of an exercise's timed programme."""

    rep: int
    """The repetition this beat belongs to (1-based)."""
    length: float
    """Seconds until the next beat (a paced beat's at tempo 1.0)."""
    text: str = ""
    """What to say at the beat, if anything."""
    cue: str = ""
    """Which earcon to play at the beat, if any."""
    paced: bool = False
    """A movement cue: "slower" and "faster" stretch or shrink its length. Holds,
    breathing and rest keep the seconds the routine (and the coach) states."""
    rest: bool = False
    """After the repetition's movement and hold: the hold's release, the breathing
    after it and the relaxation. A repetition interrupted here is done: going on
    starts the next one."""
    neutral: bool = False
    """A movement cue after which the person is back in the starting position
    (``Exercise.neutral``): an answer held back for a rest may be given after it."""


def speech_seconds(text: str) -> float:
    """A generous estimate of how long a phrase takes to say, so a long cue gets a
    longer slot. It shapes the schedule only; it is never waited for."""
    return round(0.6 + 0.4 * len(text.split()), 3)


def counted(left: int) -> bool:
    """Whether a hold's count says the number ``left`` (seconds to go) aloud: every one
    up to twenty; above that every fifth, and above sixty every tenth, since "seventy-
    three" or "one hundred and nineteen" take a second or more to say and the next
    number is due a second later. The silent seconds are still counted."""
    return left <= 20 or left % (10 if left > 60 else 5) == 0


def exercise_programme(ex: Exercise, progress: bool = True) -> tuple[Beat, ...]:
    """The beats of an exercise, every repetition, at tempo 1.0; without its
    ``progression`` line ("a little further this time") when not ``progress``.

    Only the movement cues are paced; a hold is counted one second per number and
    takes exactly its ``hold_seconds``, and breathing and relaxing take their seconds.
    """
    beats: list[Beat] = []
    for rep in range(1, ex.repetitions + 1):
        first = script.repetition(rep)
        if rep > 1 and ex.progression and progress:
            first = f"{first} {ex.progression}"
        beats.append(Beat(rep, max(1.0, speech_seconds(first)), text=first))
        if ex.breathing and ex.breathing.when == "before":
            beats += _breathing(rep, ex)
        for i, cue in enumerate(ex.cues):
            length = max(ex.tempo, speech_seconds(cue))
            beats.append(Beat(rep, length, text=cue, paced=True, neutral=i in ex.neutral))
        if ex.hold_seconds:
            # A held breath is held for the hold only: in as it begins, out at release.
            hold, release = (
                (script.HOLD_BREATH, script.RELEASE_BREATH)
                if ex.hold_breath
                else (script.HOLD, script.RELEASE)
            )
            beats.append(Beat(rep, 1.0, text=hold, cue="hold_start"))
            for left in range(ex.hold_seconds - 1, 0, -1):
                beats.append(Beat(rep, 1.0, text=script.count(left) if counted(left) else ""))
            # A longer release line ("Breathe out, and release.") gets the time it takes.
            beats.append(
                Beat(
                    rep,
                    max(1.5, speech_seconds(release)),
                    text=release,
                    cue="hold_end",
                    rest=True,
                )
            )
        if ex.breathing and ex.breathing.when != "before":
            beats += _breathing(rep, ex, rest=True)
        if ex.relax_seconds:
            relax = script.relax(ex.relax_seconds)
            beats.append(Beat(rep, float(ex.relax_seconds), text=relax, rest=True))
    return tuple(beats)


def _breathing(rep: int, ex: Exercise, rest: bool = False) -> list[Beat]:
    assert ex.breathing is not None
    return [
        Beat(rep, float(ex.breathing.inhale), text=script.BREATHE_IN, rest=rest),
        Beat(rep, float(ex.breathing.exhale), text=script.BREATHE_OUT, rest=rest),
    ]
