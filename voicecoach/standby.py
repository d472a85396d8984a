"""The standby between sessions: a small pure state machine, like the coach.

After a session the coach ended (goodbye, or the safety questions declined),
``voicecoach run --standby`` does not exit: :class:`Standby` says once that the coach
is still here (:data:`~voicecoach.script.STANDBY`; after a session that ended because
of pain, only :data:`~voicecoach.script.STANDBY_AFTER_PAIN`: one ended for pain, whose
goodbye said to see a doctor before exercising again, or declined for acute pain,
"we will not exercise today") and then listens, with nothing more
said by itself. A command that asks for a new session ("ready", "next": the NEXT
intent) does not start one at once, since a recognizer false-accepts room talk now and
then: the coach asks (:data:`~voicecoach.script.STANDBY_QUESTION`) and only "yes"
starts it. Anything else, or silence for :attr:`StandbyOptions.answer_wait` seconds
after the question, goes back to listening without a word; the question is cut if it
still plays (a "stop" over it, or with ``--echo-cancelled`` any command), so it is
never heard when "yes" no longer answers it.

For :attr:`StandbyOptions.quiet_after` seconds after a question that got no "yes", one
"ready" asks nothing: only a second within :attr:`StandbyOptions.again_within` seconds
does, as a person says it again when nothing happens, so a television that
false-accepts "ready" now and then does not have the question asked again and again.

"help" says the standby line again; "where am I" says that no session is running and
how to start one (:data:`~voicecoach.script.STANDBY_WHERE`). Both drop a question being
asked, and both end "say ready", so the next "ready" asks, quiet time or not. "stop"
or "pause" has nothing to stop: it silences what the standby is saying, if anything,
and says nothing.

A pain report ("it hurts", the HURT intent) is always answered, in any state: the
standby silences whatever it is saying and says :data:`~voicecoach.script.STANDBY_PAIN`
(stop the movement, rest, get up slowly: the sessions' own words), drops a question it
was asking, and stays in standby: no session starts. One heard while that line still
plays is already being answered and does not start it again.

``Standby.step(event, now) -> actions`` has the coach's contract (the same events and
actions, time passed in as a value), so the live loop drives it as it drives a session
(:class:`~voicecoach.runtime.loop.LiveSession`), with the same devices, recognizer
and voice. :attr:`Standby.finished` with :attr:`Standby.status` ``START`` means a new
session should begin.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from enum import Enum

from . import script
from .commands import Intent
from .events import (
    Action,
    CancelTimer,
    CommandHeard,
    Event,
    InputEnded,
    NotUnderstood,
    PlaybackFinished,
    Say,
    Start,
    StartTimer,
    StopSpeaking,
    Tick,
)

log = logging.getLogger(__name__)

START = "start"
""":attr:`Standby.status` once "yes" has answered the question: begin a new session."""

_ANSWER = "answer"  # the timer that ends the wait for an answer to the question


class StandbyState(str, Enum):
    """Where the standby is."""

    NOT_STARTED = "not_started"
    LISTENING = "listening"
    """Waiting (as long as it takes) for a command that asks for a new session."""
    ASKING = "asking"
    """Asked whether to start a new session; waiting for "yes"."""
    STARTING = "starting"
    """"Yes" heard: a new session begins (:attr:`Standby.finished`)."""


#: What each state does with each intent (an intent missing from a row does nothing).
TRANSITIONS: dict[StandbyState, dict[Intent, str]] = {
    StandbyState.LISTENING: {
        Intent.NEXT: "_ready",
        Intent.HELP: "_remind",
        Intent.WHERE: "_where",
        Intent.HURT: "_hurt",
        Intent.STOP: "_hush",
        Intent.PAUSE: "_hush",
    },
    StandbyState.ASKING: {
        Intent.YES: "_start",
        Intent.NO: "_back",
        Intent.HURT: "_hurt",
        Intent.HELP: "_remind",
        Intent.WHERE: "_where",
        Intent.STOP: "_back",
        Intent.PAUSE: "_back",
    },
}


@dataclass(frozen=True)
class StandbyOptions:
    """How the standby behaves; the defaults are the product's."""

    answer_wait: float = 10.0
    """Seconds after the question has played during which a "yes" starts a session;
    then the standby listens again in silence (no re-prompt)."""
    quiet_after: float = 600.0
    """Seconds after a question that got no "yes" (silence, "no", anything else) during
    which one "ready" does not ask it again: a television that false-accepts "ready"
    now and then would have it asked over and over. Two do (:attr:`again_within`)."""
    again_within: float = 8.0
    """Seconds within which a second "ready" after one left unanswered in the quiet
    time asks the question: a person whose "ready" seems unheard says it again soon;
    a television's false accepts seldom come this close."""


class Standby:
    """The standby between sessions; see the module doc."""

    def __init__(self, options: StandbyOptions | None = None, after_pain: bool = False) -> None:
        """``after_pain``: the session before it ended because of pain (ended for pain,
        or declined for acute pain: :attr:`~voicecoach.dialogue.Coach.ended_by_pain`),
        so its first line does not invite exercise."""
        self.options = options or StandbyOptions()
        self.after_pain = after_pain
        self.state = StandbyState.NOT_STARTED
        self.status: str | None = None
        """:data:`START` once a new session should begin, else None."""
        self._next_id = 0
        self._question: int | None = None  # utterance id of the question being asked
        self._answer_by: float | None = None  # when the wait for its answer ends
        self._playing: set[int] = set()  # utterance ids said and not yet finished
        self._pain_line: int | None = None  # utterance id of the last STANDBY_PAIN
        self._now = 0.0  # the time of the event being handled
        self._quiet_until = -math.inf  # one "ready" asks nothing until then
        self._unasked: float | None = None  # when a "ready" last asked nothing

    # ------------------------------------------------------------ public view

    @property
    def finished(self) -> bool:
        """True once "yes" has asked for a new session."""
        return self.state is StandbyState.STARTING

    @property
    def waiting_for_user(self) -> bool:
        """True while listening or waiting for the answer (the standby only listens)."""
        return self.state in (StandbyState.LISTENING, StandbyState.ASKING)

    def listening_for(self) -> tuple[Intent, ...]:
        """The intents that do something in the current state."""
        row = TRANSITIONS.get(self.state, {})
        return tuple(i for i in Intent if i in row)

    # ------------------------------------------------------------------ step

    def step(self, event: Event, now: float) -> list[Action]:
        """Handle one event at time ``now`` (seconds); return the actions."""
        self._now = now
        if self.state is StandbyState.STARTING or isinstance(event, InputEnded):
            return []
        if isinstance(event, Start):
            if self.state is not StandbyState.NOT_STARTED:
                return []
            self.state = StandbyState.LISTENING
            if self.after_pain:
                return self._say(script.STANDBY_AFTER_PAIN)
            return self._say(script.STANDBY)
        if self.state is StandbyState.NOT_STARTED:
            return []
        if isinstance(event, CommandHeard):
            handler = TRANSITIONS[self.state].get(event.intent)
            if handler is None:
                log.info("standby: ignored %s in %s", event.intent.value, self.state.value)
                return self._back() if self.state is StandbyState.ASKING else []
            acts: list[Action] = getattr(self, handler)()
            return acts
        if isinstance(event, NotUnderstood):
            return self._back() if self.state is StandbyState.ASKING else []
        if isinstance(event, PlaybackFinished):
            # Playback is in order: everything said before it has finished too.
            self._playing = {u for u in self._playing if u > event.utterance_id}
            if self.state is StandbyState.ASKING and event.utterance_id == self._question:
                # The wait for the answer runs from the end of the question.
                self._answer_by = now + self.options.answer_wait
                return [StartTimer(_ANSWER, self._answer_by)]
            return []
        if isinstance(event, Tick):
            if self._answer_by is not None and now >= self._answer_by:
                log.info("standby: no answer to the question; listening again")
                return self._back()
            return []
        raise TypeError(f"not an event: {event!r}")

    # ------------------------------------------------------------ handlers

    def _say(self, text: str) -> list[Action]:
        self._next_id += 1
        self._playing.add(self._next_id)
        return [Say(text, self._next_id)]

    def _hush(self) -> list[Action]:
        """Silence what the standby is saying, if anything."""
        if not self._playing:
            return []
        self._playing.clear()
        return [StopSpeaking()]

    def _ready(self) -> list[Action]:
        """ "ready": ask, unless a question went unanswered lately and this is the first
        "ready" in :attr:`StandbyOptions.again_within` seconds."""
        now = self._now
        recent = self._unasked is not None and now - self._unasked <= self.options.again_within
        if now < self._quiet_until and not recent:
            log.info("standby: one ready soon after an unanswered question; not asking")
            self._unasked = now
            return []
        self._unasked = None
        return self._ask()

    def _ask(self) -> list[Action]:
        self.state = StandbyState.ASKING
        acts = [CancelTimer(_ANSWER), *self._say(script.STANDBY_QUESTION)]
        self._question, self._answer_by = self._next_id, None
        return acts

    def _remind(self) -> list[Action]:
        return self._told_to_say_ready(script.STANDBY)

    def _where(self) -> list[Action]:
        return self._told_to_say_ready(script.STANDBY_WHERE)

    def _told_to_say_ready(self, text: str) -> list[Action]:
        """Say ``text``, which ends "say ready": the next "ready" asks, quiet time or not."""
        acts = self._back() if self.state is StandbyState.ASKING else self._hush()
        self._quiet_until, self._unasked = -math.inf, None
        return acts + self._say(text)

    def _start(self) -> list[Action]:
        self.state = StandbyState.STARTING
        self.status = START
        self._question = self._answer_by = None
        return [CancelTimer(_ANSWER)]

    def _hurt(self) -> list[Action]:
        """A pain report: say what to do now (once at a time), whatever was going on."""
        if self._pain_line in self._playing:
            log.info("standby: pain reported again while its answer plays")
            return []
        log.warning("standby: pain reported; answered, no session started")
        acts = self._hush()  # nothing may come before stopping
        if self.state is StandbyState.ASKING:
            acts += self._back()  # the question is dropped
        acts += self._say(script.STANDBY_PAIN)
        self._pain_line = self._next_id
        return acts

    def _back(self) -> list[Action]:
        """Listen again, quietly: a "no", another command, words that are none, or no
        answer at all. A question still playing is cut, and a quiet time begins."""
        self.state = StandbyState.LISTENING
        self._question = self._answer_by = None
        self._quiet_until = self._now + self.options.quiet_after
        return [*self._hush(), CancelTimer(_ANSWER)]


__all__ = ["START", "TRANSITIONS", "Standby", "StandbyOptions", "StandbyState"]
