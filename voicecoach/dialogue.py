"""The dialogue manager: a pure state machine that coaches one routine.

``Coach.step(event, now)`` takes one event and the current session time in seconds
and returns the actions to carry out. It never touches audio, threads, sleeps or the
wall clock, so a test can drive an hour-long session in milliseconds.

Time inside the coach is explicit: to be woken later it emits ``StartTimer(name, at)``
and the runtime sends a ``Tick`` at (or after) ``at``. Counting sits on a fixed schedule:
each beat's deadline is computed from the previous deadline, never from when a Tick
happened to arrive or from how long a spoken count took, so counting does not drift.

This module holds :class:`Coach`, its :class:`CoachOptions` and :func:`fixed_texts`
(every text a session can say). The states and the transition table live in
:mod:`voicecoach.states`, an exercise's timed programme in :mod:`voicecoach.programme`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from . import script
from .commands import Intent
from .events import (
    Action,
    CancelTimer,
    CommandHeard,
    Event,
    ExerciseOutcome,
    InputEnded,
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
    kept_outcome,
)
from .programme import Beat, counted, exercise_programme, speech_seconds
from .routines.model import Advance, Exercise, Routine
from .states import (
    QUESTION_STATES,
    TRANSITIONS,
    WAITING_STATES,
    Rest,
    State,
    help_text,
    help_texts,
)

__all__ = [
    "QUESTION_STATES",
    "Coach",
    "CoachOptions",
    "State",
    "counted",
    "exercise_programme",
    "fixed_texts",
]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CoachOptions:
    """How the coach behaves; the defaults are the product's."""

    reprompt_after: float = 20.0
    """Seconds of silence after a question before the coach asks again."""
    max_reprompts: int = 3
    """Unanswered re-prompts before the coach pauses itself."""
    pain_reprompts: int = 1
    """Unanswered re-prompts of the question after a pain report (skip, or repeat more
    gently?) before the coach waits for the answer in silence, as long as it takes; it
    never pauses itself there."""
    auto_advance_after: float = 5.0
    """Seconds between exercises when a routine moves on by itself."""
    tempo_step: float = 0.25
    """How much one "slower" or "faster" stretches or shrinks the movement cues' beat."""
    min_tempo: float = 0.5
    """The fastest pace, as a multiplier of the movement cues' beat (0.5 = twice as fast).
    Holds, breathing and rest are never paced: they take the seconds the coach says."""
    max_tempo: float = 2.0
    """The slowest pace, as a multiplier of the movement cues' beat (2.0 = half as fast)."""


class Coach:
    """Coaches one routine. Feed it events with :meth:`step`; carry out what it returns.

    While an exercise counts, nothing but its beats is said: an answer to "help",
    "where am I", "slower" or "faster" (whose pace changes at once) is kept, and given
    at the next rest, as soon as the movement and any hold are over (see
    :meth:`_at_rest`), or sooner after a cue the routine marks as back in the starting
    position (``Exercise.neutral``); the schedule waits for it there, so a hold (a held breath above
    all) lasts the seconds the coach said, every count keeps its second and the
    relaxation its length. The
    "heard" earcon acknowledges the command at once; a change of flow (pause, stop,
    next, it hurts, ...) drops an answer not yet given.
    """

    def __init__(
        self,
        routine: Routine,
        options: CoachOptions | None = None,
        resume_from: int | None = None,
        place_lost: bool = False,
        pain_today: int = 0,
    ) -> None:
        """``resume_from``: the exercise (0-based) to offer to continue from;
        ``place_lost``: the last session's place was not found in the routine (it was
        edited since), which the coach says before it starts from the first exercise;
        ``pain_today``: the pain reports logged earlier today, in other sessions."""
        if not routine.exercises:
            raise ValueError(f"routine {routine.id!r} has no exercises")
        self.routine = routine
        self.options = options or CoachOptions()
        self.resume_from = (
            resume_from if resume_from and 0 < resume_from < len(routine.exercises) else None
        )
        self.place_lost = place_lost and self.resume_from is None
        self.state = State.NOT_STARTED
        self.status: str | None = None
        """The session's final status once decided (see ``events.SESSION_STATUSES``)."""
        self.ended_by_pain = False
        """Whether the session ended because of pain: ended for pain, or declined for
        acute pain today (logged ``declined``, as a decline at the doctor question is).
        Its goodbye invites no more exercise, and the standby after it does not either."""
        self.index = -1
        """The exercise being done or last done (0-based); -1 before the first."""
        self.pending = 0
        """In WAIT_NEXT: the exercise "next" starts."""
        self.rest = Rest.ASK
        """In WAIT_NEXT: how the wait ends."""
        self.rep = 0
        self.tempo = 1.0
        self.pain_today = max(pain_today, 0)
        """Pain reports earlier today, in other sessions: the session begins with a
        reminder of them, and the one that makes two today ends it."""
        self.pain_reports = 0
        """Pain reports in this session."""
        self.hurt: set[int] = set()
        """The exercises (0-based) a pain report came in: done again, they go no further
        each repetition (no ``progression`` line)."""
        self.outcomes: dict[int, str] = {}
        """Each exercise's outcome (by 0-based index) as the session log keeps it
        (:func:`~.events.kept_outcome`: done stays done, a skip replaces nothing)."""
        self._programme: tuple[Beat, ...] = ()
        self._beat = 0
        self._return_to = State.NOT_STARTED  # what PAUSED / CONFIRM_STOP go back to
        self._stop_from = State.NOT_STARTED
        self._unanswered: State | None = None  # the question a self-pause left pending
        self._reprompts = 0
        self._not_understood = 0
        self._timers: dict[str, float] = {}
        self._next_id = 0
        self._outstanding: set[int] = set()  # said, not yet reported finished
        self._await: int | None = None  # utterance whose end runs the continuation
        self._then = ""
        self._now = 0.0
        self._intro_lines: dict[int, int] = {}  # utterance id -> line of _intro_texts()
        self._intro_heard = 0  # intro lines played to the end, in order
        self._breath_held = False  # "Breathe in, and hold." said, its release not yet
        self._deferred: dict[str, str] = {}  # answers kept for the next rest, by kind
        self._said_answers: dict[str, tuple[int, str]] = {}  # the last said, by kind
        self._answering = False  # in the room made after a beat for kept answers

    # ------------------------------------------------------------ public view

    @property
    def finished(self) -> bool:
        """True once the session is over and the goodbye has been spoken."""
        return self.state is State.ENDED

    @property
    def waiting_for_user(self) -> bool:
        """True when the coach has asked something and is only listening."""
        return self.state in WAITING_STATES and self._await is None

    def listening_for(self) -> tuple[Intent, ...]:
        """The intents that do something in the current state."""
        row = TRANSITIONS[self.state]
        return tuple(i for i in Intent if i in row)

    # ------------------------------------------------------------------ step

    def step(self, event: Event, now: float) -> list[Action]:
        """Handle one event at session time ``now`` (seconds); return the actions."""
        self._now = now
        if self.state is State.ENDED:
            return []
        if isinstance(event, Start):
            return self._start_intro() if self.state is State.NOT_STARTED else []
        if isinstance(event, InputEnded):
            return self._input_ended()
        if self.state is State.NOT_STARTED:
            return []
        if isinstance(event, PlaybackFinished):
            return self._playback_finished(event.utterance_id, event.cut)
        if isinstance(event, Tick):
            return self._tick(now)
        if isinstance(event, CommandHeard):
            return self._command(event.intent)
        if isinstance(event, NotUnderstood):
            return self._not_understood_event()
        raise TypeError(f"not an event: {event!r}")

    # ------------------------------------------------------- event handlers

    def _command(self, intent: Intent) -> list[Action]:
        handler = TRANSITIONS[self.state].get(intent)
        if handler is None:
            log.info("ignored %s in %s", intent.value, self.state.value)
            if self.waiting_for_user:
                return [*self._cancel("reprompt"), *self._help()]
            return []
        self._not_understood = 0
        if intent is Intent.HURT:
            self._reprompts = 0
            return getattr(self, handler)()  # nothing may come before stopping
        acts: list[Action] = []
        if self.state in WAITING_STATES:
            acts += self._cancel("reprompt")
            self._reprompts = 0
        done = getattr(self, handler)()
        if done is None:  # the command does nothing here: no earcon saying it was taken
            log.info("nothing to do for %s in %s", intent.value, self.state.value)
            return acts
        acts += done
        # The "heard you" earcon goes after any silencing, so the silencing cannot cut it.
        at = next(
            (i for i, a in enumerate(acts) if not isinstance(a, (StopSpeaking, CancelTimer))),
            len(acts),
        )
        acts.insert(at, PlayCue("heard"))
        return acts

    def _not_understood_event(self) -> list[Action]:
        if self.state in (State.ENDING, State.NOT_STARTED):
            return []
        self._not_understood += 1
        acts: list[Action] = [PlayCue("not_understood")]
        if self._not_understood == 1 and self.waiting_for_user:
            acts += self._cancel("reprompt")
            acts += self._say(script.NOT_UNDERSTOOD)
            self._continue_with("listen")
        return acts

    def _playback_finished(self, utterance_id: int, cut: bool = False) -> list[Action]:
        # Playback is in order: everything said before this utterance has finished too.
        for uid, line in self._intro_lines.items():
            if uid <= utterance_id and uid in self._outstanding and not cut:  # played in full
                self._intro_heard = max(self._intro_heard, line + 1)
        self._outstanding = {u for u in self._outstanding if u > utterance_id}
        if utterance_id != self._await:
            return []
        self._await = None
        if cut and self.state is State.INTRO:
            # The speaker failed under the introduction: say again what was cut, so the
            # safety text is heard before the consent question.
            self._then = ""
            return self._say_intro()
        then, self._then = self._then, ""
        return getattr(self, f"_then_{then}")()

    def _tick(self, now: float) -> list[Action]:
        # Fire every due timer in deadline order, including ones that a fired timer
        # set and that are already due (a late tick catches up on the schedule).
        acts: list[Action] = []
        while True:
            due = [(at, name) for name, at in self._timers.items() if at <= now]
            if not due:
                break
            at, name = min(due)
            del self._timers[name]
            acts += getattr(self, f"_timer_{name}")(at)
        # A timer set and fired within this tick is not handed to the runtime, which
        # would keep it after the coach has moved on (the last beat of an exercise a
        # late tick ran through stayed in the table after the exercise ended).
        return [
            a for a in acts if not isinstance(a, StartTimer) or self._timers.get(a.name) == a.at
        ]

    def _input_ended(self) -> list[Action]:
        acts: list[Action] = []
        for name in list(self._timers):
            acts += self._cancel(name)
        if self.status is None:
            # An exercise that hurt was recorded as pain with the report (:meth:`_hurt`).
            acts += self._end_status("interrupted")
        self.state = State.ENDED
        return acts

    # --------------------------------------------------------------- helpers

    def _say(self, *texts: str) -> list[Action]:
        acts: list[Action] = []
        for text in texts:
            self._next_id += 1
            self._outstanding.add(self._next_id)
            acts.append(Say(text, self._next_id))
        return acts

    def _continue_with(self, then: str) -> None:
        """Run ``_then_<then>`` when the last thing said has been played."""
        self._await = self._next_id
        self._then = then

    def _timer(self, name: str, at: float) -> list[Action]:
        at = round(at, 6)  # keep schedules exact and comparable across platforms
        self._timers[name] = at
        return [StartTimer(name, at)]

    def _cancel(self, name: str) -> list[Action]:
        if self._timers.pop(name, None) is None:
            return []
        return [CancelTimer(name)]

    def _hush(self) -> list[Action]:
        """Stop speech, timers and pending continuations: the flow changes now."""
        acts: list[Action] = []
        if self._outstanding:
            acts.append(StopSpeaking())
            self._outstanding.clear()
        for name in list(self._timers):
            acts += self._cancel(name)
        self._await = None
        self._then = ""
        self._deferred.clear()  # the flow changes: an answer kept back is not given
        return acts + self._let_breath_go()

    def _let_breath_go(self) -> list[Action]:
        """ "Breathe out." if the person is holding their breath for a hold that is now
        cut short (pause, stop, a pain report, next, ...): nobody should be left holding
        it while the coach asks a question."""
        if not self._breath_held:
            return []
        self._breath_held = False
        return self._say(script.BREATHE_OUT)

    def _ask(self, state: State, *texts: str) -> list[Action]:
        """Switch to a waiting ``state`` and say ``texts``; listen once they are played."""
        self.state = state
        acts = self._say(*texts)
        self._continue_with("listen")
        return acts

    def _then_listen(self) -> list[Action]:
        if self.state is State.WAIT_NEXT and self.rest is Rest.QUIET:
            return []  # after pain: no re-prompt, the person rests as long as they need
        return self._timer("reprompt", self._now + self.options.reprompt_after)

    def _end_status(self, status: str) -> list[Action]:
        self.status = status
        return [SessionEnded(status)]

    def _end(self, status: str, text: str) -> list[Action]:
        acts = self._end_status(status)
        acts += self._say(text)
        acts.append(PlayCue("session_end"))
        self.state = State.ENDING
        self._continue_with("ended")
        return acts

    def _hurt_at_goodbye(self) -> list[Action]:
        """A pain report during the goodbye (which may be telling the person to get up):
        silence it, record the report, and say what to do now. The session's status
        is already decided and stays as it is."""
        acts: list[Action] = [StopSpeaking()]
        self._outstanding.clear()
        acts.append(self._report_pain(0))
        acts += self._say(script.PAIN_AT_GOODBYE)
        self._continue_with("ended")
        return acts

    def _then_ended(self) -> list[Action]:
        self.state = State.ENDED
        return []

    def _record(self, outcome: str) -> list[Action]:
        """Record ``outcome`` for the current exercise by the session's rule; the action
        goes out only when the record changes, so it never says "skipped" of an
        exercise the record keeps done."""
        if self.index < 0:
            return []
        earlier = self.outcomes.get(self.index)
        kept = kept_outcome(earlier, outcome)
        if kept == earlier:
            return []
        self.outcomes[self.index] = kept
        return [ExerciseOutcome(self.index, self._exercise.id, kept)]

    @property
    def _exercise(self) -> Exercise:
        return self.routine.exercises[self.index]

    def _in_exercise(self, state: State) -> bool:
        return state in (State.ANNOUNCE, State.EXERCISE)

    # ------------------------------------------------------------- intro part

    def _start_intro(self) -> list[Action]:
        self._intro_heard = 0
        return self._hush() + self._say_intro()

    def _say_intro(self) -> list[Action]:
        """Say the introduction from the first line not yet heard in full, then ask.

        Going back to the introduction after a pause, a cancelled stop or a pain report
        picks it up at the line that was cut, so the safety text is always spoken in
        full before the consent question.
        """
        texts = self._intro_texts()
        if self._intro_heard >= len(texts):
            return self._then_consent()
        self.state = State.INTRO
        acts = self._say(*texts[self._intro_heard :])
        ids = [a.utterance_id for a in acts if isinstance(a, Say)]
        self._intro_lines = {uid: self._intro_heard + i for i, uid in enumerate(ids)}
        self._continue_with("consent")
        return acts

    def _intro_texts(self) -> list[str]:
        """The introduction; on a day with pain reported earlier, then a reminder of it,
        after the safety text (so "next" never passes over it) and before the questions
        that decide whether the session goes on."""
        texts = script.intro(self.routine)
        if self.pain_today:
            texts.append(script.PAIN_EARLIER_MORE if self.pain_today > 1 else script.PAIN_EARLIER)
        return texts

    def _skip_intro(self) -> list[Action] | None:
        # "next" passes over the introduction and the list of things needed, never the
        # safety text: once it plays, it plays to the end, then comes the question.
        # Said during it, it does nothing (None): not even the "heard" earcon.
        safety = len(script.intro(self.routine)) - 1  # a reminder of pain follows it
        if self._intro_heard >= safety:
            return None
        self._intro_heard = safety
        return self._hush() + self._say_intro()

    def _then_consent(self) -> list[Action]:
        return self._ask(State.ASK_CONSENT, script.CONSENT_QUESTION)

    def _consent_yes(self) -> list[Action]:
        return self._ask(State.ASK_PAIN_FREE, script.PAIN_FREE_QUESTION)

    def _consent_no(self) -> list[Action]:
        return self._hush() + self._end("declined", script.DECLINED)

    def _pain_free_yes(self) -> list[Action]:
        if self.resume_from is not None:
            return self._ask(State.ASK_RESUME, script.resume_question(self.resume_from))
        if self.place_lost:
            return self._say(script.PLACE_LOST, script.STARTING) + self._start_exercise(0)
        return self._say(script.STARTING) + self._start_exercise(0)

    def _pain_free_no(self) -> list[Action]:
        # Not free of acute pain today: a pain report, as "it hurts" said here is, so
        # the day remembers it.
        acts = self._hush()
        acts.append(self._report_pain(0))
        if self._pain_ends_session():
            return acts + self._end_for_pain()
        return acts + self._decline_for_pain()

    def _resume_yes(self) -> list[Action]:
        assert self.resume_from is not None
        return self._say(script.STARTING) + self._start_exercise(self.resume_from)

    def _resume_no(self) -> list[Action]:
        return self._say(script.STARTING) + self._start_exercise(0)

    def _reask(self) -> list[Action]:
        return self._hush() + self._ask(self.state, *self._question(self.state, again=False))

    def _question(self, state: State, again: bool) -> tuple[str, ...]:
        """What a waiting state asks (``again``: the shorter re-prompt)."""
        if state is State.ASK_CONSENT:
            return (script.CONSENT_REPROMPT if again else script.CONSENT_QUESTION,)
        if state is State.ASK_PAIN_FREE:
            return (script.PAIN_FREE_REPROMPT if again else script.PAIN_FREE_QUESTION,)
        if state is State.ASK_RESUME:
            assert self.resume_from is not None
            ask = script.resume_reprompt if again else script.resume_question
            return (ask(self.resume_from),)
        if state is State.CONFIRM_STOP:
            return (script.CONFIRM_STOP_REPROMPT if again else script.CONFIRM_STOP,)
        if state is State.ASK_PAIN:
            return (script.PAIN_ASK_REPROMPT if again else script.PAIN_ASK,)
        if state is State.PAUSED:
            return (script.PAUSED,)  # never asked again: paused is quiet
        # WAIT_NEXT
        if again:
            return (script.WAIT_REPROMPT,)
        return (script.WAIT_NEXT,)

    def _timer_reprompt(self, at: float) -> list[Action]:
        if self.state not in WAITING_STATES:
            return []
        if self.state is State.PAUSED:
            # Paused means the user asked for quiet (or went quiet): stay quiet.
            return []
        if self.state is State.ASK_PAIN:
            if self._reprompts >= self.options.pain_reprompts:
                return []  # after pain, quiet: a late yes or no still answers it
        elif self._reprompts >= self.options.max_reprompts:
            self._reprompts = 0
            self._unanswered = self.state
            self._return_to = self._interrupted()
            if self.state in QUESTION_STATES:  # its yes or no still answers it
                return self._ask(State.PAUSED, script.PAUSED_SELF_QUESTION)
            return self._ask(State.PAUSED, script.PAUSED_SELF)
        self._reprompts += 1
        return self._ask(self.state, *self._question(self.state, again=True))

    # ---------------------------------------------------------- the exercises

    def _start_exercise(self, index: int) -> list[Action]:
        acts = self._hush_timers()
        if index >= len(self.routine.exercises):
            return acts + self._end("completed", script.COMPLETED)
        self.index = max(0, index)
        self.rep = 0
        self._beat = 0
        self._answering = False
        self._programme = exercise_programme(self._exercise, progress=self.index not in self.hurt)
        self.state = State.ANNOUNCE
        acts += self._say(script.announce(self.routine, self.index))
        self._continue_with("begin")
        return acts

    def _hush_timers(self) -> list[Action]:
        acts: list[Action] = []
        for name in list(self._timers):
            acts += self._cancel(name)
        return acts

    def _then_begin(self) -> list[Action]:
        self.state = State.EXERCISE
        self._beat = 0
        return self._fire(self._now)

    def _begin_now(self) -> list[Action]:
        return self._hush() + self._then_begin()

    def _fire(self, at: float) -> list[Action]:
        """Carry out the current beat, scheduled at ``at``; wake up for the next one."""
        beat = self._programme[self._beat]
        self.rep = beat.rep
        self._answering = False
        if beat.text in (script.HOLD_BREATH, script.RELEASE_BREATH):
            self._breath_held = beat.text == script.HOLD_BREATH
        acts: list[Action] = []
        if beat.cue:
            acts.append(PlayCue(beat.cue))
        if beat.text:
            acts += self._say(beat.text)
        length = beat.length
        if beat.paced:
            # Faster never makes a cue's slot shorter than the cue takes to say: the
            # coach would fall behind its own schedule, with no time left to move.
            length = max(beat.length * self.tempo, speech_seconds(beat.text))
        return acts + self._timer("beat", at + length)

    def _timer_beat(self, at: float) -> list[Action]:
        if self.state is not State.EXERCISE:
            return []
        if self._deferred and (self._at_rest() or self._programme[self._beat].neutral):
            # The answers kept back are given now; the schedule waits until they have
            # been played, so no hold, breath or relaxation is shortened by them.
            acts = self._say(*self._deferred.values())
            self._deferred.clear()
            self._answering = True
            self._continue_with("next_beat")
            return acts
        return self._next_beat(at)

    def _next_beat(self, at: float) -> list[Action]:
        self._beat += 1
        if self._beat >= len(self._programme):
            return self._exercise_done()
        return self._fire(at)

    def _then_next_beat(self) -> list[Action]:
        return self._next_beat(self._now)

    def _at_rest(self) -> bool:
        """Whether the beat just over leaves the person at rest, where the schedule can
        make room for an answer: the earliest is the repetition's first rest beat
        (``Beat.rest``), right after a hold's release or, with no hold, before it (the
        breathing after the movement, or the relaxation); then after any rest beat but
        a breath in (its breath out follows), and the end of a repetition (after its
        relaxation, if it has one). Never inside a hold, nor among the movement cues:
        a cue's return ("and back to the middle") may be the next one."""
        beat = self._programme[self._beat]
        following = self._beat + 1
        if following >= len(self._programme) or self._programme[following].rep != beat.rep:
            return True
        if beat.rest:
            return beat.text != script.BREATHE_IN
        after = self._programme[following]
        # The release is a hold's first rest beat: before it, the hold goes on.
        return after.rest and after.cue != "hold_end"

    def _exercise_done(self, outcome: str = "done") -> list[Action]:
        acts = self._record(outcome)
        texts = [t for t in (self._exercise.after, script.WELL_DONE) if t]
        following = self.index + 1
        if following >= len(self.routine.exercises):
            return acts + self._say(*texts[:-1]) + self._end("completed", script.COMPLETED)
        self.pending = following
        if self._exercise.advance is Advance.AUTO:
            self.rest = Rest.AUTO
            return acts + self._auto_rest(*texts)
        self.rest = Rest.ASK
        return acts + self._say(*texts) + self._ask(State.WAIT_NEXT, script.WAIT_NEXT)

    def _then_auto(self) -> list[Action]:
        return self._timer("auto", self._now + self.options.auto_advance_after)

    def _timer_auto(self, at: float) -> list[Action]:
        if self.state is not State.WAIT_NEXT or self.rest is not Rest.AUTO:
            return []
        return self._start_exercise(self.pending)

    def _finish_early(self) -> list[Action]:
        # The user says they are done with this one: go on, and say in the record
        # that it ended before its repetitions did, unless they were all done (said
        # in the rest after the last one).
        return self._hush() + self._exercise_done("done" if self._all_done() else "ended_early")

    def _all_done(self) -> bool:
        """Whether every repetition's movement and hold is over: the coach is in the
        rest after the last one (:meth:`_resting`)."""
        return self._resting() and self.rep >= self._exercise.repetitions

    def _resting(self) -> bool:
        """Whether the current repetition's movement and hold are over: in one of its
        rest beats (``Beat.rest``), or while kept answers are given at a rest
        (:meth:`_at_rest`): also the end of a repetition of an exercise that has no
        rest beats (movement cues only) is its rest there. Answers given at a neutral
        cue (``Beat.neutral``) come in the middle of the movement, not at its rest."""
        return self._programme[self._beat].rest or (self._answering and self._at_rest())

    def _restart_repetition(self) -> list[Action]:
        # "repeat" means this repetition again, also in the rest after it.
        acts = self._hush()
        self.state = State.EXERCISE
        self._beat = self._first_beat(max(self.rep, 1))
        self._answering = False
        acts += self._say(script.RESTART_REP)
        self._continue_with("repetition")
        return acts

    def _first_beat(self, rep: int) -> int:
        return next(i for i, beat in enumerate(self._programme) if beat.rep == rep)

    def _then_repetition(self) -> list[Action]:
        self.state = State.EXERCISE
        self._beat = self._first_beat(max(self.rep, 1))
        return self._fire(self._now)

    def _then_resume(self) -> list[Action]:
        """Go on after a pause or a cancelled stop in an exercise. A repetition cut in
        its movement or hold is done again from its start (safer than going on in the
        middle of a hold); one cut in its rest (:meth:`_resting`: its release, the
        breathing after it, the relaxation, or kept answers being given after its
        movement) is done, so the next one starts, or the exercise ends if it was the
        last."""
        if not self._resting():
            return self._then_repetition()
        self.state = State.EXERCISE
        if self._all_done():
            return self._exercise_done()
        self._beat = self._first_beat(self.rep + 1)
        return self._fire(self._now)

    def _restart_exercise(self) -> list[Action]:
        return self._hush() + self._start_exercise(self.index)

    def _skip_exercise(self) -> list[Action]:
        return self._hush() + self._record("skipped") + self._start_exercise(self.index + 1)

    def _previous_exercise(self) -> list[Action]:
        # In an exercise "go back" means the one before it ("repeat" restarts this one);
        # in the first, there is none: it starts again, and the coach says why.
        acts = self._hush()
        if self.index == 0:
            acts += self._say(script.FIRST_AGAIN)
        return acts + self._start_exercise(max(self.index - 1, 0))

    def _go_on(self) -> list[Action]:
        return self._hush() + self._start_exercise(self.pending)

    def _skip_pending(self) -> list[Action]:
        # Between exercises "skip" passes over the exercise that would come next.
        acts = self._hush()
        if self.pending < len(self.routine.exercises):
            self.index = self.pending
            acts += self._record("skipped")
        return acts + self._start_exercise(self.pending + 1)

    def _previous_pending(self) -> list[Action]:
        # Between exercises "go back" means the one before the exercise "next" starts:
        # the one just finished (or skipped for pain), as "repeat" does there too; after
        # "repeat it more gently", which waits to start the same exercise, the one
        # before it. Said again in the exercise it starts, it goes back one more.
        return self._hush() + self._start_exercise(max(self.pending - 1, 0))

    def _repeat_last(self) -> list[Action]:
        return self._hush() + self._start_exercise(self.index)

    # ----------------------------------------------------- pause, stop, pain

    def _pause(self) -> list[Action]:
        acts = self._hush()
        self._unanswered = None
        self._return_to = self._interrupted()
        return acts + self._ask(State.PAUSED, script.PAUSED)

    def _interrupted(self) -> State:
        """What a pause goes back to: the state now, but for the stop question the one
        it interrupted (a pause leaves the question unanswered: continuing goes back to
        the exercise, and "where am I", a pain report or a later stop know where that
        is)."""
        return self._exercise_context() if self.state is State.CONFIRM_STOP else self.state

    def _unpause(self) -> list[Action]:
        self._unanswered = None
        return self._hush() + self._return(self._return_to)

    def _paused_yes(self) -> list[Action]:
        late = self._late_answer(Intent.YES)
        return self._unpause() if late is None else late

    def _paused_no(self) -> list[Action]:
        late = self._late_answer(Intent.NO)
        return self._help() if late is None else late

    def _late_answer(self, intent: Intent) -> list[Action] | None:
        """After the coach paused itself at an unanswered question, "yes" or "no" is
        the answer to it, as if it were still asked (the doctor question, "continue
        where you stopped?", "end the session now?", ...); ``None`` when there is no
        such question, or it does not take ``intent``."""
        question = self._unanswered
        handler = None if question is None else TRANSITIONS[question].get(intent)
        if question is None or handler is None:
            return None
        self._unanswered = None
        acts = self._hush()
        self.state = question
        return acts + getattr(self, handler)()

    def _unpause_next(self) -> list[Action]:
        # Paused between exercises, "next" is the answer the coach was waiting for.
        if self._return_to is State.WAIT_NEXT:
            return self._go_on()
        return self._unpause()

    def _auto_rest(self, *before: str) -> list[Action]:
        """The short rest of a routine that moves on by itself (after ``before``)."""
        self.state = State.WAIT_NEXT
        acts = self._say(*before, script.AUTO_NEXT)
        self._continue_with("auto")
        return acts

    def _return(self, state: State) -> list[Action]:
        """Go back to ``state`` after a pause or a cancelled stop, keeping the place."""
        if state is State.INTRO:
            return self._say_intro()
        if state in (State.ASK_CONSENT, State.NOT_STARTED):
            return self._then_consent()
        if state is State.ANNOUNCE:
            return self._start_exercise(self.index)
        if state is State.EXERCISE:
            self.state = State.EXERCISE
            acts = self._say(script.RESUMING)
            self._continue_with("resume")
            return acts
        if state is State.WAIT_NEXT:
            # Back to waiting: only "next" (or, in a routine that moves on by itself,
            # the rest starting again) leads to the next exercise.
            if self.rest is Rest.AUTO:
                return self._auto_rest()
            return self._ask(State.WAIT_NEXT, script.WAIT_REPROMPT)
        if state is State.PAUSED:
            return self._ask(State.PAUSED, script.PAUSED)
        return self._ask(state, *self._question(state, again=False))

    def _ask_stop(self) -> list[Action]:
        acts = self._hush()
        self._stop_from = self.state
        return acts + self._ask(State.CONFIRM_STOP, script.CONFIRM_STOP)

    def _stop_yes(self) -> list[Action]:
        acts = self._hush()
        # Stopped at the exercise that hurt (at the pain question, or waiting to repeat
        # it more gently), it stays pain, as recorded with the report (:meth:`_hurt`).
        if self._in_exercise(self._exercise_context()):
            acts += self._record("stopped")  # not skipped: it is where to go on from
        return acts + self._end("stopped", script.STOPPED)

    def _stop_no(self) -> list[Action]:
        return self._hush() + self._return(self._stop_from)

    def _exercise_context(self) -> State:
        """The state that a pause or stop question interrupted."""
        state = self.state
        if state is State.CONFIRM_STOP:
            state = self._stop_from
        if state is State.PAUSED:
            state = self._return_to
        return state

    def _pain_ends_session(self) -> bool:
        """Whether pain has been reported twice today, in this session or before it."""
        return self.pain_today + self.pain_reports >= 2

    def _end_for_pain(self) -> list[Action]:
        self.ended_by_pain = True
        text = script.PAIN_END_AGAIN if self.pain_today >= 2 else script.PAIN_END
        return self._end("ended_for_pain", text)

    def _decline_for_pain(self) -> list[Action]:
        self.ended_by_pain = True
        return self._end("declined", script.DECLINED_PAIN)

    def _report_pain(self, repetition: int) -> PainReported:
        """Count a pain report; the event that records it (in the current or last
        exercise, if any)."""
        self.pain_reports += 1
        return PainReported(self._exercise.id if self.index >= 0 else None, repetition)

    def _hurt(self) -> list[Action]:
        # Safety first: silence and cancel everything, unconditionally.
        acts: list[Action] = [StopSpeaking()]
        self._outstanding.clear()
        for name in list(self._timers):
            acts += self._cancel(name)
        self._await = None
        self._then = ""
        self._deferred.clear()
        acts += self._let_breath_go()
        self._unanswered = None
        context = self._exercise_context()
        in_exercise = self._in_exercise(context) or self.state is State.ASK_PAIN
        acts.append(self._report_pain(self.rep if in_exercise else 0))
        if in_exercise:
            # Recorded with the report, not at the answer to the question that follows:
            # a power cut there would leave the exercise that hurt to be offered again.
            # Repeated more gently to its end, it is done after all.
            self.hurt.add(self.index)
            acts += self._record("pain")
        if self._pain_ends_session():
            return acts + self._end_for_pain()
        self.rest = Rest.QUIET  # whatever comes next waits for the person, quietly
        if context in (State.ASK_CONSENT, State.ASK_PAIN_FREE):
            # Pain before consent is given answers "are you free of acute pain today?"
            # (asked or still to come): no exercise today.
            return acts + self._decline_for_pain()
        if in_exercise:
            return acts + self._say(script.PAIN_STOP) + self._ask(State.ASK_PAIN, script.PAIN_ASK)
        self._return_to = context
        rest = script.PAIN_REST_NEXT if context is State.WAIT_NEXT else script.PAIN_REST
        return acts + self._ask(State.PAUSED, rest)

    def _pain_skip(self) -> list[Action]:
        acts = self._hush()  # the exercise was recorded as pain with the report
        self.pending = self.index + 1
        self.rest = Rest.QUIET
        if self.pending >= len(self.routine.exercises):
            # Nothing to go on to: the session ends here, as after a last exercise done,
            # but without "well done" for an exercise that hurt.
            acts += self._say(script.PAIN_SKIPPED)
            return acts + self._end("completed", script.COMPLETED_AFTER_PAIN)
        return acts + self._ask(State.WAIT_NEXT, script.PAIN_SKIPPED, script.WAIT_AFTER_PAIN)

    def _pain_gentler(self) -> list[Action]:
        acts = self._hush()
        self.tempo = min(self.tempo + self.options.tempo_step, self.options.max_tempo)
        self.pending = self.index
        self.rest = Rest.QUIET
        return acts + self._ask(State.WAIT_NEXT, script.PAIN_GENTLER, script.WAIT_AFTER_PAIN)

    # ------------------------------------------------ help, where, tempo

    def _help(self) -> list[Action]:
        # Paused by the coach at a question, "no" still answers it: the help says so.
        left = self._unanswered is not None and Intent.NO in TRANSITIONS[self._unanswered]
        return self._answer(help_text(self.state, question_left=left), "help")

    def _answer(self, text: str, kind: str) -> list[Action]:
        """Say ``text`` (an answer of ``kind``: help, where or tempo) without changing
        the flow.

        While the exercise's schedule runs it is kept for the next rest (see
        :meth:`_at_rest`), one of each kind, the latest: said at once, it would queue
        before the counts, which would then come late and rush, and a held breath
        would be held longer than the coach said. Whatever was to follow the line being
        said (the exercise's first beat after its announcement, the consent question
        after the introduction) follows the answer. A question is asked again (its
        short form) after it; a waiting state listens again.

        Said at once, it is not said again while it is still to be played, or playing:
        "help" said twice during the introduction is answered once.
        """
        if self.state is State.EXERCISE and self._await is None:
            self._deferred.pop(kind, None)
            self._deferred[kind] = text
            return []
        earlier = self._said_answers.get(kind)
        if earlier is not None and earlier[0] in self._outstanding and earlier[1] == text:
            return []
        acts = self._say(text)
        self._said_answers[kind] = (self._next_id, text)
        if self.state in QUESTION_STATES:
            acts += self._say(*self._question(self.state, again=True))
            self._continue_with("listen")
        elif self._await is not None:
            self._await = self._next_id
        elif self.state in WAITING_STATES:
            self._continue_with("listen")
        return acts

    def _where(self) -> list[Action]:
        # Answer for the place a pause (or pain report) interrupted, not the pause.
        context = self._exercise_context()
        if self._in_exercise(context) or context is State.ASK_PAIN:
            text = script.where_exercise(self.routine, self.index, self.rep)
        elif context is State.WAIT_NEXT:
            text = script.where_next(self.routine, self.pending)
        else:  # the introduction and the questions before the first exercise
            text = script.where_start(self.routine)
        return self._answer(text, "where")

    def _slower(self) -> list[Action]:
        if self.tempo >= self.options.max_tempo:
            return self._answer(script.SLOWEST, "tempo")
        self.tempo = min(self.tempo + self.options.tempo_step, self.options.max_tempo)
        return self._answer(script.SLOWER, "tempo")

    def _faster(self) -> list[Action]:
        if self.tempo <= self.options.min_tempo:
            return self._answer(script.FASTEST, "tempo")
        self.tempo = max(self.tempo - self.options.tempo_step, self.options.min_tempo)
        return self._answer(script.FASTER, "tempo")


def fixed_texts(routine: Routine) -> list[str]:
    """Every text the coach can say in a session of ``routine``, without duplicates.

    The voice renders these ahead of a session (``voicecoach prepare``), so the coach
    never waits for synthesis of a fixed prompt.
    """
    texts: list[str] = []
    texts += script.intro(routine)
    n = len(routine.exercises)
    for index, ex in enumerate(routine.exercises):
        texts.append(script.announce(routine, index))
        # Both ways an exercise is counted: with its progression line, and without it
        # once it hurt (repeated more gently: "Repetition two." alone).
        for progress in (True, False):
            texts += [beat.text for beat in exercise_programme(ex, progress) if beat.text]
        if ex.after:
            texts.append(ex.after)
        texts += [script.where_exercise(routine, index, rep) for rep in range(ex.repetitions + 1)]
        if index:  # a place saved at the first exercise is not offered (Coach.resume_from)
            texts += [script.resume_question(index), script.resume_reprompt(index)]
    texts.append(script.where_start(routine))
    texts += [script.where_next(routine, index) for index in range(n)]
    texts += help_texts()
    texts += [
        value for name, value in vars(script).items() if name.isupper() and isinstance(value, str)
    ]
    return list(dict.fromkeys(t for t in texts if t))
