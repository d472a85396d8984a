"""The small typed values that flow between the parts of voicecoach.

Events go into the dialogue manager; actions come out of it. All are frozen
dataclasses tagged by a ``type`` string, serialised only at the edges
(:func:`to_dict` for transcripts and logs).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, ClassVar

from .commands import Intent

# ---------------------------------------------------------------- events (in)


@dataclass(frozen=True)
class CommandHeard:
    """The user said a command."""

    type: ClassVar[str] = "command-heard"
    intent: Intent
    text: str = ""
    """The words heard (or typed)."""
    confidence: float = 1.0
    """0..1, as the recognizer reports it; 1.0 for typed text."""


@dataclass(frozen=True)
class NotUnderstood:
    """The user said something, but it was not a command."""

    type: ClassVar[str] = "not-understood"
    text: str = ""


@dataclass(frozen=True)
class Tick:
    """Time passes. The dialogue manager checks its deadlines against ``now``."""

    type: ClassVar[str] = "tick"


@dataclass(frozen=True)
class PlaybackFinished:
    """The speaker has really finished playing utterance ``utterance_id``.

    ``cut``: it (and what was queued before it) did not play to the end: the speaker
    failed under it and a new one took its place. The coach goes on, but does not count
    what was cut as heard (the introduction is said again from the line that was cut).
    """

    type: ClassVar[str] = "playback-finished"
    utterance_id: int
    cut: bool = False


@dataclass(frozen=True)
class Start:
    """Begin the session (the first event the dialogue manager sees)."""

    type: ClassVar[str] = "start"


@dataclass(frozen=True)
class InputEnded:
    """No more input will come (stdin closed, the process is shutting down)."""

    type: ClassVar[str] = "input-ended"


Event = CommandHeard | NotUnderstood | Tick | PlaybackFinished | Start | InputEnded

# --------------------------------------------------------------- actions (out)


@dataclass(frozen=True)
class Say:
    """Speak ``text``. When it has really been played, send ``PlaybackFinished(id)``."""

    type: ClassVar[str] = "say"
    text: str
    utterance_id: int


@dataclass(frozen=True)
class PlayCue:
    """Play a short earcon: one of :data:`CUES`."""

    type: ClassVar[str] = "cue"
    name: str


#: The earcons the coach uses.
CUES = ("heard", "not_understood", "hold_start", "hold_end", "session_end")


@dataclass(frozen=True)
class StopSpeaking:
    """Silence the speaker now and drop everything queued for it."""

    type: ClassVar[str] = "stop-speaking"


@dataclass(frozen=True)
class StartTimer:
    """Send a ``Tick`` at session time ``at`` (seconds). Replaces a timer of the same name."""

    type: ClassVar[str] = "start-timer"
    name: str
    at: float


@dataclass(frozen=True)
class CancelTimer:
    """Forget the timer ``name``."""

    type: ClassVar[str] = "cancel-timer"
    name: str


@dataclass(frozen=True)
class ExerciseOutcome:
    """An exercise ended: ``outcome`` is one of :data:`OUTCOMES`.

    ``stopped``: the session was stopped in the middle of it, so it is still to do;
    ``ended_early``: the user said "next" before its repetitions were over.
    """

    type: ClassVar[str] = "exercise-outcome"
    index: int
    exercise_id: str
    outcome: str


@dataclass(frozen=True)
class PainReported:
    """The user reported pain during an exercise (1-based repetition, 0 if none yet)."""

    type: ClassVar[str] = "pain-reported"
    exercise_id: str | None
    repetition: int


@dataclass(frozen=True)
class SessionEnded:
    """The session is over. ``status`` is one of :data:`SESSION_STATUSES`."""

    type: ClassVar[str] = "session-ended"
    status: str


SESSION_STATUSES = ("completed", "stopped", "ended_for_pain", "declined", "interrupted")
OUTCOMES = ("done", "skipped", "pain", "stopped", "ended_early")


def kept_outcome(earlier: str | None, later: str) -> str:
    """The outcome a session keeps for an exercise that ends ``later`` after ``earlier``
    (``None``: it had not ended before in this session).

    A later outcome replaces an earlier one, except that an exercise once ``done``
    stays done, and ``skipped`` replaces nothing: going back to an exercise and
    skipping it undoes nothing that was done. The coach's record and the session log
    both keep outcomes by this rule, so they agree.
    """
    if earlier is None:
        return later
    if earlier == "done" or later == "skipped":
        return earlier
    return later


Action = (
    Say
    | PlayCue
    | StopSpeaking
    | StartTimer
    | CancelTimer
    | ExerciseOutcome
    | PainReported
    | SessionEnded
)


def to_dict(value: Any) -> dict[str, Any]:
    """Serialise an event or action for a transcript or log line."""
    out: dict[str, Any] = {"type": value.type}
    for f in dataclasses.fields(value):
        item = getattr(value, f.name)
        out[f.name] = item.value if isinstance(item, Intent) else item
    return out


__all__ = [
    "CUES",
    "OUTCOMES",
    "SESSION_STATUSES",
    "Action",
    "CancelTimer",
    "CommandHeard",
    "Event",
    "ExerciseOutcome",
    "InputEnded",
    "NotUnderstood",
    "PainReported",
    "PlayCue",
    "PlaybackFinished",
    "Say",
    "SessionEnded",
    "Start",
    "StartTimer",
    "StopSpeaking",
    "Tick",
    "kept_outcome",
    "to_dict",
]
