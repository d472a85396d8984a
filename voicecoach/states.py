"""The coach's states and its transition table.

:class:`State` is where the conversation is, :class:`Rest` how a wait between
exercises ends. :data:`TRANSITIONS` says, for each state, which intents are handled
and by which of :class:`~voicecoach.dialogue.Coach`'s methods (by name); the help a
state speaks lists the commands its row handles that do something where the help is
heard (:func:`help_text`).
"""

from __future__ import annotations

from enum import Enum

from . import script
from .commands import Intent


class State(str, Enum):
    """Where the conversation is."""

    NOT_STARTED = "not_started"
    INTRO = "intro"
    """Speaking the introduction, preparation and safety texts."""
    ASK_CONSENT = "ask_consent"
    """Waiting for yes/no to "have you talked to your doctor about these exercises?"."""
    ASK_PAIN_FREE = "ask_pain_free"
    """Waiting for yes/no to "are you free of acute pain today?", asked after the doctor
    question and apart from it: one question about both got a "yes" for its first half."""
    ASK_RESUME = "ask_resume"
    """Waiting for yes/no to "continue where you stopped last time?"."""
    ANNOUNCE = "announce"
    """Speaking an exercise's title, position and steps."""
    EXERCISE = "exercise"
    """Counting repetitions, holds, relaxation and breathing on the beat."""
    WAIT_NEXT = "wait_next"
    """Between exercises, waiting for "next"."""
    PAUSED = "paused"
    CONFIRM_STOP = "confirm_stop"
    ASK_PAIN = "ask_pain"
    """After a pain report: skip this exercise (yes) or repeat it more gently (no)?"""
    ENDING = "ending"
    """Saying goodbye; the session's status is already decided."""
    ENDED = "ended"


class Rest(str, Enum):
    """How the wait between exercises (``State.WAIT_NEXT``) ends."""

    ASK = "ask"
    """On "next"; a silence brings a re-prompt, and a long one the self-pause."""
    AUTO = "auto"
    """By itself after a short rest (a routine that moves on by itself), or on "next"."""
    QUIET = "quiet"
    """Only when the person goes on ("next", "yes", "continue"), after a pain report:
    the coach stays quiet as long as the person rests, as when paused, with no re-prompt
    and no "I'll pause here"."""


#: States in which the coach is waiting for the user to answer or go on.
WAITING_STATES = frozenset(
    {
        State.ASK_CONSENT,
        State.ASK_PAIN_FREE,
        State.ASK_RESUME,
        State.WAIT_NEXT,
        State.PAUSED,
        State.CONFIRM_STOP,
        State.ASK_PAIN,
    }
)

#: The waiting states that ask a question: an answer to "help" or "where am I" there
#: is followed by the question again (its short form), so it is never left unasked.
QUESTION_STATES = frozenset(
    {
        State.ASK_CONSENT,
        State.ASK_PAIN_FREE,
        State.ASK_RESUME,
        State.CONFIRM_STOP,
        State.ASK_PAIN,
    }
)

_ANYTIME = {Intent.HURT: "_hurt", Intent.HELP: "_help"}
_MOVING = {
    Intent.PAUSE: "_pause",
    Intent.STOP: "_ask_stop",
    Intent.WHERE: "_where",
}
_TEMPO = {Intent.SLOWER: "_slower", Intent.FASTER: "_faster"}

#: The transition table: in each state, which intents are handled and by what.
#: An intent missing from a state's row is answered with that state's help text
#: when the coach is waiting, and ignored (logged) while it is speaking or counting.
TRANSITIONS: dict[State, dict[Intent, str]] = {
    State.INTRO: {
        **_ANYTIME,
        **_MOVING,
        Intent.NEXT: "_skip_intro",
        Intent.YES: "_skip_intro",
        Intent.SKIP: "_skip_intro",
        Intent.REPEAT: "_start_intro",
    },
    State.ASK_CONSENT: {
        **_ANYTIME,
        **_MOVING,
        Intent.YES: "_consent_yes",
        Intent.NO: "_consent_no",
        Intent.REPEAT: "_reask",
    },
    State.ASK_PAIN_FREE: {
        **_ANYTIME,
        **_MOVING,
        Intent.YES: "_pain_free_yes",
        Intent.NO: "_pain_free_no",
        Intent.REPEAT: "_reask",
    },
    State.ASK_RESUME: {
        **_ANYTIME,
        **_MOVING,
        Intent.YES: "_resume_yes",
        Intent.NO: "_resume_no",
        Intent.REPEAT: "_reask",
    },
    State.ANNOUNCE: {
        **_ANYTIME,
        **_MOVING,
        **_TEMPO,
        Intent.NEXT: "_begin_now",
        Intent.REPEAT: "_restart_exercise",
        Intent.SKIP: "_skip_exercise",
        Intent.PREVIOUS: "_previous_exercise",
    },
    State.EXERCISE: {
        **_ANYTIME,
        **_MOVING,
        **_TEMPO,
        Intent.NEXT: "_finish_early",
        Intent.REPEAT: "_restart_repetition",
        Intent.SKIP: "_skip_exercise",
        Intent.PREVIOUS: "_previous_exercise",
    },
    State.WAIT_NEXT: {
        **_ANYTIME,
        **_MOVING,
        **_TEMPO,
        Intent.NEXT: "_go_on",
        Intent.YES: "_go_on",
        Intent.RESUME: "_go_on",
        Intent.SKIP: "_skip_pending",
        Intent.REPEAT: "_repeat_last",
        Intent.PREVIOUS: "_previous_pending",
    },
    State.PAUSED: {
        **_ANYTIME,
        Intent.RESUME: "_unpause",
        Intent.NEXT: "_unpause_next",
        Intent.YES: "_paused_yes",
        Intent.NO: "_paused_no",
        Intent.PAUSE: "_reask",
        Intent.REPEAT: "_reask",
        Intent.STOP: "_ask_stop",
        Intent.WHERE: "_where",
    },
    State.CONFIRM_STOP: {
        **_ANYTIME,
        Intent.YES: "_stop_yes",
        Intent.STOP: "_stop_yes",
        Intent.NO: "_stop_no",
        Intent.RESUME: "_stop_no",
        Intent.PAUSE: "_pause",  # neither: a pause, the question left unanswered
        Intent.REPEAT: "_reask",
        Intent.WHERE: "_where",  # "how many left?" is asked before deciding to stop
    },
    State.ASK_PAIN: {
        **_ANYTIME,
        Intent.YES: "_pain_skip",
        Intent.SKIP: "_pain_skip",
        Intent.NO: "_pain_gentler",
        Intent.REPEAT: "_pain_gentler",  # "repeat it more gently"
        Intent.STOP: "_ask_stop",
        Intent.PAUSE: "_pause",
        Intent.WHERE: "_where",
    },
    State.ENDING: {Intent.HURT: "_hurt_at_goodbye"},
    State.ENDED: {},
    State.NOT_STARTED: {},
}

# Help lists these, in this order, where the state handles them.
_HELP_ORDER = (
    Intent.YES,
    Intent.NO,
    Intent.NEXT,
    Intent.RESUME,
    Intent.REPEAT,
    Intent.PAUSE,
    Intent.SKIP,
    Intent.PREVIOUS,
    Intent.SLOWER,
    Intent.FASTER,
    Intent.WHERE,
    Intent.STOP,
)


#: Commands a state handles that its help leaves out: where the help is heard, they
#: do nothing. Asked for in the introduction, the help is said after the lines already
#: on their way, so it is heard after the safety text, where "yes", "next" and "skip"
#: (which pass over the introduction up to the safety text) no longer do anything.
#: Paused, "no" answers only a question the coach paused itself at (``question_left``
#: of :func:`help_text`); otherwise it brings the help again.
_NOT_IN_HELP: dict[State, frozenset[Intent]] = {
    State.INTRO: frozenset({Intent.YES, Intent.NEXT, Intent.SKIP}),
    State.PAUSED: frozenset({Intent.NO}),
}


def help_text(state: State, question_left: bool = False) -> str:
    """The help a state gives: the commands it handles that do something where the
    help is heard, in the order help lists them. ``question_left``: paused at a
    question the coach paused itself at, which "yes" and "no" still answer.

    At the pain question it says what each answer does there ("repeat" repeats the
    exercise more gently, it does not ask the question again)."""
    if state is State.ASK_PAIN:
        return script.PAIN_ASK_HELP
    row = TRANSITIONS[state]
    left_out = _NOT_IN_HELP.get(state, frozenset())
    if question_left:
        left_out = left_out - {Intent.NO}
    return script.help_text(tuple(i for i in _HELP_ORDER if i in row and i not in left_out))


def help_texts() -> list[str]:
    """Every help text a state can give (for rendering ahead), without duplicates."""
    texts = [help_text(s, left) for s in State if speaks_help(s) for left in (False, True)]
    return list(dict.fromkeys(texts))


def speaks_help(state: State) -> bool:
    """Whether help can be spoken in ``state``: asked for, or when the coach waits and
    hears a command the state does not handle. (Saying goodbye, it cannot.)"""
    return Intent.HELP in TRANSITIONS[state] or state in WAITING_STATES
