"""Everything the coach says, as text.

The dialogue manager builds its speech only from these functions, so
:func:`fixed_texts` can list every sentence a routine can produce and the voice can
render them ahead of a session.
"""

from __future__ import annotations

from .commands import Intent
from .routines.model import Routine

_ONES = (
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
)
_TENS = ("-", "-", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety")


def number_word(n: int) -> str:
    """``n`` (0..999) in words: 42 -> "forty-two"."""
    if n < 0 or n > 999:
        raise ValueError(f"number out of range: {n}")
    if n < 20:
        return _ONES[n]
    if n < 100:
        tens, ones = divmod(n, 10)
        return _TENS[tens] + (f"-{_ONES[ones]}" if ones else "")
    hundreds, rest = divmod(n, 100)
    return f"{_ONES[hundreds]} hundred" + (f" and {number_word(rest)}" if rest else "")


def count(n: int) -> str:
    """A spoken count: "One."."""
    return number_word(n).capitalize() + "."


_COUNTS = frozenset(count(n) for n in range(1000))


def is_count(text: str) -> bool:
    """Whether ``text`` is a hold's count (:func:`count`): a line that says only what
    second it is, stale once its second has passed."""
    return text in _COUNTS


def repetition(n: int) -> str:
    """Announce a repetition: "Repetition two."."""
    return f"Repetition {number_word(n)}."


def times(n: int) -> str:
    """ "once", "twice", "three times"."""
    return {1: "once", 2: "twice"}.get(n, f"{number_word(n)} times")


def seconds(n: int) -> str:
    """ "one second", "five seconds"."""
    return f"{number_word(n)} second" + ("" if n == 1 else "s")


# ------------------------------------------------------------------ session texts

# Two questions, asked in turn, so that each one-word answer answers one thing: a
# single question about the doctor "and" the pain got a "yes" meant for its first half.
CONSENT_QUESTION = (
    "Before we start: have you talked to your doctor about these exercises? Please say yes or no."
)
CONSENT_REPROMPT = "Please answer yes or no. Have you talked to your doctor about these exercises?"
PAIN_FREE_QUESTION = "And are you free of acute pain today? Please say yes or no."
PAIN_FREE_REPROMPT = "Please answer yes or no. Are you free of acute pain today?"
DECLINED = "Then we will not exercise today. Please talk to your doctor first. Take care. Goodbye."
DECLINED_PAIN = (
    "Then we will not exercise today: these exercises are not for a day with acute pain. "
    "Take care. Goodbye."
)
STARTING = "Good. Let's begin."
NOT_UNDERSTOOD = "Sorry, I didn't catch that. Please say it again, or say help."
PAUSED = "Paused. Take your time. Say continue when you are ready."
PAUSED_SELF = "I haven't heard from you, so I'll pause here. Say continue when you are ready."
PAUSED_SELF_QUESTION = (
    "I haven't heard from you, so I'll pause here. Say yes or no when you are ready."
)
RESUMING = "Let's continue."
FIRST_AGAIN = "This is the first exercise. We start it again."
"""Said before the first exercise starts again for "go back" in it."""
PLACE_LOST = (
    "I can't find where you stopped last time: the exercises have changed since. "
    "We'll start from the first one."
)
CONFIRM_STOP = "Do you want to end the session now? Please say yes or no."
CONFIRM_STOP_REPROMPT = "Should I end the session? Please say yes or no."
STOPPED = "All right, we'll stop here. Rest for a moment before you get up. Goodbye."
COMPLETED = (
    "That was the last exercise. Well done. "
    "Rest for a moment, breathe calmly, and get up slowly. Goodbye."
)
COMPLETED_AFTER_PAIN = (
    "That was the last exercise, so the session ends here. "
    "Rest for a moment, breathe calmly, and get up slowly. Goodbye."
)
WELL_DONE = "Well done."
WAIT_NEXT = "When you are ready for the next exercise, say next."
WAIT_REPROMPT = "Say next when you are ready, or say help."
WAIT_AFTER_PAIN = "Rest as long as you need. Say next when you are ready to go on."
AUTO_NEXT = "Rest for a moment. The next exercise starts shortly."
HOLD = "Hold."
RELEASE = "And release."
HOLD_BREATH = "Breathe in, and hold."
RELEASE_BREATH = "Breathe out, and release."
BREATHE_IN = "Breathe in."
BREATHE_OUT = "Breathe out."
RESTART_REP = "Let's do this repetition again."

PAIN_STOP = (
    "Stop the movement now. Relax and rest. "
    "If you try it again, make the movement smaller and gentler."
)
PAIN_ASK = "Do you want to skip this exercise? Say yes to skip it, or no to repeat it more gently."
PAIN_ASK_REPROMPT = "Should we skip this exercise? Please say yes or no."
PAIN_ASK_HELP = (
    "You can say: yes, or skip, to skip this exercise; no, or repeat, to repeat it more "
    "gently; pause; where am I; stop. And say it hurts at any moment to stop."
)
PAIN_REST = (
    "Stop and rest. Nothing will happen until you are ready. "
    "Say continue when you want to go on, or stop to end the session."
)
PAIN_REST_NEXT = (
    "Stop and rest. Nothing will happen until you are ready. "
    "Say next when you want to go on, or stop to end the session."
)
"""Pain reported between exercises, where "next" starts the next one ("continue" only
brought back "say next when you are ready")."""
PAIN_SKIPPED = "We'll skip this exercise."
PAIN_AT_GOODBYE = (
    "Stop, and rest where you are. Get up only when you are ready, and slowly. "
    "If the pain stays, please talk to your doctor. Goodbye."
)
PAIN_GENTLER = (
    "We'll repeat it more gently and more slowly. "
    "Move only as far as is comfortable, and stop if it hurts."
)
PAIN_END = (
    "You have reported pain twice today, so we will stop the session here. "
    "Rest now, and please see a doctor about this pain before you exercise again. Goodbye."
)
PAIN_END_AGAIN = (
    "You have reported pain again today, so we will stop the session here. "
    "Rest now, and please see a doctor about this pain before you exercise again. Goodbye."
)
"""A pain report after two earlier today: :data:`PAIN_END`'s "twice" would be wrong."""
# A session on a day with pain reported earlier (in another session, or "no" to the acute
# pain question): said after the introduction's safety text, before the questions that
# still decide whether the session goes on. The advice is the sessions' own
# (DECLINED_PAIN, PAIN_AT_GOODBYE, PAIN_END).
PAIN_EARLIER = (
    "You reported pain earlier today. These exercises are not for a day with acute pain, "
    "and if the pain stays, please talk to your doctor. "
    "If it hurts again today, we will stop the session."
)
PAIN_EARLIER_MORE = (
    "You have reported pain more than once today. "
    "Please see a doctor about this pain before you exercise again. "
    "If it hurts again today, we will stop the session."
)

SLOWER = "All right, slower."
FASTER = "All right, a little faster."
SLOWEST = "This is already the slowest pace."
FASTEST = "This is already the fastest pace."

_HELP_ITEMS: dict[Intent, str] = {
    Intent.NEXT: "next",
    Intent.REPEAT: "repeat",
    Intent.PAUSE: "pause",
    Intent.RESUME: "continue",
    Intent.SKIP: "skip",
    Intent.PREVIOUS: "go back",
    Intent.SLOWER: "slower",
    Intent.FASTER: "faster",
    Intent.WHERE: "where am I",
    Intent.STOP: "stop",
    Intent.YES: "yes",
    Intent.NO: "no",
}


def help_text(intents: tuple[Intent, ...]) -> str:
    """Name the commands that make sense now; "it hurts" is always offered."""
    names = [_HELP_ITEMS[i] for i in intents if i in _HELP_ITEMS]
    listed = ", ".join(names)
    return f"You can say: {listed}. And say it hurts at any moment to stop."


def announce(routine: Routine, index: int) -> str:
    """The text that introduces exercise ``index`` (0-based)."""
    ex = routine.exercises[index]
    total = number_word(len(routine.exercises))
    parts = [
        f"Exercise {number_word(index + 1)} of {total}: {_dot(ex.title)}",
        _dot(ex.position),
        *(_dot(step) for step in ex.steps),
        f"We will do this {times(ex.repetitions)}.",
    ]
    if ex.hold_seconds:
        parts.append(f"Each time, hold for {seconds(ex.hold_seconds)}.")
    return " ".join(parts)


def relax(n: int) -> str:
    """Announce a relaxation period."""
    return f"Relax for {seconds(n)}."


def where_exercise(routine: Routine, index: int, rep: int) -> str:
    """Where the user is during an exercise (``rep`` 1-based, 0 = not started)."""
    total = len(routine.exercises)
    ex = routine.exercises[index]
    text = f"Exercise {number_word(index + 1)} of {number_word(total)}"
    if rep:
        text += f", repetition {number_word(rep)} of {number_word(ex.repetitions)}"
    return text + "."


def where_start(routine: Routine) -> str:
    """Where the user is before the first exercise."""
    return f"We have not started yet. There are {number_word(len(routine.exercises))} exercises."


def where_next(routine: Routine, index: int) -> str:
    """Where the user is between exercises: exercise ``index`` (0-based) comes next.

    It names that exercise rather than counting exercises "done", since some before
    it may have been skipped. (The coach never waits between exercises with none to
    come: the session ends after the last one.)
    """
    total = len(routine.exercises)
    title = _dot(routine.exercises[index].title)
    return f"Next is exercise {number_word(index + 1)} of {number_word(total)}: {title}"


def resume_question(index: int) -> str:
    """Offer to continue where the last session stopped (``index`` 0-based)."""
    return (
        f"Last time you stopped at exercise {number_word(index + 1)}. "
        "Continue from there? Please say yes or no."
    )


def resume_reprompt(index: int) -> str:
    """Repeat the resume offer."""
    return f"Shall we continue from exercise {number_word(index + 1)}? Please say yes or no."


def intro(routine: Routine) -> list[str]:
    """The texts spoken at the start, before the consent questions."""
    prep = "You will need: " + "; ".join(p.rstrip(".") for p in routine.preparation) + "."
    return [_dot(routine.intro), prep, _dot(routine.safety)]


def _dot(text: str) -> str:
    text = " ".join(text.split())
    return text if text.endswith((".", "!", "?")) else text + "."


# ---------------------------------------------------------------- the live loop's own
# Said by the live loop (:mod:`voicecoach.runtime.loop`), not the coach: a fallback
# when the recognizer or the voice fails, and the devices' notices. Here so that
# ``voicecoach prepare`` renders them too (:func:`voicecoach.dialogue.fixed_texts`):
# a Pi that synthesized "my voice failed" live would need the voice that just failed.
RECOGNIZER_FALLBACK = "Sorry, I had trouble listening. Please say that again."
VOICE_FALLBACK = "Sorry, my voice failed for a moment."
MIC_LOST = "I can't hear you: the microphone stopped. I'll keep trying."
MIC_MISSING = "I can't hear you: no microphone is connected. Please plug it in, and we'll begin."
# Other microphones are there (on a Pi with PipeWire always, as "pulse" and "default"):
# the one chosen is unplugged or misnamed; the log names the others.
MIC_CHOSEN_MISSING = (
    "I can't hear you: the microphone I was set up with is not connected. "
    "Please plug it in, and we'll begin."
)
# The microphone delivers nothing but digital silence, even while the coach speaks: its
# capture is switched off or its volume is at zero (voicecoach.runtime.mutewatch).
MIC_MUTED = (
    "I hear nothing at all from the microphone. It may be muted, or its volume turned "
    "all the way down. I'll carry on, and listen for it."
)
MIC_BACK = "I can hear you again."
SPEAKER_BACK = "Sorry, the speaker stopped for a moment. Let's carry on."

# ------------------------------------------------------------- between sessions
# Said by the standby between sessions (``voicecoach run --standby``,
# :mod:`voicecoach.standby`): once when it begins, and when a command asks for a new
# session ("ready", as "next"), which only a "yes" to the question starts.
STANDBY = "I'll be here. When you want to exercise again, say ready."
STANDBY_QUESTION = "Shall we start a new session? Please say yes or no."
# After a session that ended because of pain, ended for pain (its goodbye said to see a
# doctor before exercising again) or declined for acute pain ("we will not exercise
# today"): no invitation to exercise.
STANDBY_AFTER_PAIN = "I'll be here. Rest now."
# A pain report in standby: no session runs, but a person may still be on the rug, or
# trying a movement alone. The words are the sessions' own (PAIN_STOP, PAIN_AT_GOODBYE).
STANDBY_PAIN = (
    "Stop the movement now, and rest where you are. Get up only when you are ready, "
    "and slowly. If the pain stays, please talk to your doctor."
)
STANDBY_WHERE = "No session is running now. When you want to exercise again, say ready."
