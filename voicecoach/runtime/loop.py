"""The core of the live session: audio chunks in, the coach's actions carried out.

:class:`LiveSession` joins a recognizer, the pure :class:`~voicecoach.dialogue.Coach`,
a :class:`~voicecoach.tts.speaker.Speaker` and its sink. It owns no thread and no
device and reads time only from the clock it is given, so the same core runs on the
real clock (:mod:`.realtime`) and on a virtual one (:mod:`.demo`, the tests):

- :meth:`LiveSession.feed` takes a 16 kHz mono chunk stamped with clock time, runs the
  recognizer and delivers what it heard, after the echo guard (:mod:`.echo`);
- :meth:`LiveSession.poll` turns finished playback into ``PlaybackFinished``, due
  timers into ``Tick``, and a failed voice into a spoken fallback.

A safety command the recognizer reads provisionally while the coach speaks (from its
partial result, before the utterance has ended:
:attr:`~voicecoach.asr.base.Recognition.provisional`) silences the coach at once, a
barge-in heard about a quarter of a second sooner; the coach is not told. The
utterance's final result decides: acted on, the coach stops as it would have; not, the
coach says the lines it was cut in again from their start, with the cues and the
loop's own lines (a notice, a fallback) that waited behind them, then what it said
meanwhile (a hold, :class:`_Hold`).

Errors in the recognizer or the voice are logged and spoken as a short fallback; the
coach is not told, so the session keeps its place.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from .. import script
from ..asr.base import Recognition, Recognizer
from ..audio.aec import EchoCanceller
from ..audio.chunk import AudioChunk
from ..audio.sinks import Clock, Sink, audible
from ..commands import SAFETY_INTENTS, Intent
from ..events import (
    Action,
    CommandHeard,
    Event,
    InputEnded,
    NotUnderstood,
    PlaybackFinished,
    PlayCue,
    Say,
    Start,
    StopSpeaking,
    Tick,
)
from ..script import (
    MIC_BACK,
    MIC_CHOSEN_MISSING,
    MIC_LOST,
    MIC_MISSING,
    MIC_MUTED,
    RECOGNIZER_FALLBACK,
    SPEAKER_BACK,
    VOICE_FALLBACK,
)
from ..session import NOT_BEGUN, SessionRecorder, TimerTable
from ..tts.speaker import Speaker
from .doubletalk import DoubleTalk, ResidualCheck, TapSink
from .echo import EchoGuard
from .mutewatch import MicChange, MuteWatch
from .settings import LiveSettings

log = logging.getLogger(__name__)

# The loop's own lines (in script, so that the voice renders them ahead with the
# coach's); ids below zero mark them, and the coach never hears about them.
FALLBACK_TEXTS = (
    RECOGNIZER_FALLBACK,
    VOICE_FALLBACK,
    MIC_LOST,
    MIC_MISSING,
    MIC_CHOSEN_MISSING,
    MIC_MUTED,
    MIC_BACK,
    SPEAKER_BACK,
)


@dataclass(frozen=True)
class TranscriptEntry:
    """One line of the session transcript (``transcript.jsonl``)."""

    t: float
    """Seconds into the session (0 for what came before it began: the notices while
    the coach waited for a microphone)."""
    kind: str
    """``heard``, ``said``, ``cue``, ``scripted``, ``fault``, ``ignored``, ``held`` (the
    coach silenced for a provisional safety command) or ``resumed`` (the hold ended
    without it: the cut lines are said again)."""
    text: str
    command: str | None = None
    """The intent, for ``heard``, ``ignored`` and ``scripted``."""
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """The JSON object of this line."""
        out: dict[str, Any] = {"t": round(self.t, 3), "kind": self.kind, "text": self.text}
        if self.command is not None or self.kind in ("heard", "scripted", "ignored"):
            out["command"] = self.command
        out.update(self.extra)
        return out


Transcript = Callable[[TranscriptEntry], None]

HOLD_LIMIT = 3.0
"""Seconds the coach stays silenced for a provisional safety command whose final result
has not come (longer than the longest command and the silence that ends it): then it
carries on."""

HOLD_REST = 5.0
"""Seconds after a hold the final result did not act on during which no new hold
starts (a safety command then acts on its final result, as without holds): someone
talking over the coach in phrases would otherwise make it start its line again after
each one."""


@dataclass
class _Hold:
    """The coach silenced for a provisional safety command, until its final result."""

    since: float
    """Clock time the coach was silenced."""
    lines: list[tuple[int, str]]
    """The coach's lines that were cut, in order (utterance id, text)."""
    cues: list[tuple[int, str]] = field(default_factory=list)
    """The cues that were queued behind those lines and so never played (the utterance
    id of the line each followed, cue name)."""
    later: list[tuple[float, Say | PlayCue]] = field(default_factory=list)
    """What the coach said or played meanwhile (``Say``, ``PlayCue``), in order, each
    with the clock time it was due."""
    notices: list[tuple[int, str]] = field(default_factory=list)
    """The loop's own lines that were cut (a device notice, a fallback), in order: the
    utterance id of the coach's line each was queued behind (0: none), text."""


COUNT_FRESH = 0.5
"""Seconds after it was due that a hold's count ("Seven.") is still said when the coach
carries on after a hold; an older one is dropped (:meth:`LiveSession._carry_on`)."""


def _words(r: Recognition) -> str:
    """The words a recognizer read, which the echo guard compares with the coach's: not
    the phrase of a command the command check chose over them (:attr:`Recognition.read`)."""
    return r.read if r.read is not None else r.text


class Dialogue(Protocol):
    """What the loop needs of the dialogue it runs: the coach
    (:class:`~voicecoach.dialogue.Coach`), or the standby between sessions
    (:class:`~voicecoach.standby.Standby`)."""

    status: str | None
    """How it ended, once decided."""

    @property
    def finished(self) -> bool:
        """True once it is over (its last line said)."""
        ...

    @property
    def waiting_for_user(self) -> bool:
        """True while it only listens (any command may then end an utterance early)."""
        ...

    def listening_for(self) -> tuple[Intent, ...]:
        """The intents that do something now."""
        ...

    def step(self, event: Event, now: float) -> list[Action]:
        """Handle one event at clock time ``now``; return the actions."""
        ...


@dataclass
class _EchoPath:
    """The loop's knowledge of the echo, kept on the speaker's tap between sessions."""

    doubletalk: DoubleTalk
    canceller: EchoCanceller | None
    """Takes the coach's echo out of the microphone signal (None: not done here)."""


class LiveSession:
    """One coached session, driven by :meth:`feed` and :meth:`poll` (see the module doc)."""

    def __init__(
        self,
        coach: Dialogue,
        recognizer: Recognizer,
        speaker: Speaker,
        clock: Clock,
        recorder: SessionRecorder | None = None,
        settings: LiveSettings | None = None,
        transcript: Transcript | None = None,
    ) -> None:
        self.coach = coach
        self.recognizer = recognizer
        self.speaker = speaker
        # The speaker's sink is wrapped so the loop knows what was played (the echo
        # reference of the double-talk check); a speaker that served a session before
        # (the standby and the sessions after it) keeps its tap and what it recorded.
        self.tap = speaker.sink if isinstance(speaker.sink, TapSink) else TapSink(speaker.sink)
        speaker.sink = self.tap
        self.clock = clock
        self.recorder = recorder
        self.settings = settings or LiveSettings()
        self.transcript = transcript
        self.timers = TimerTable()
        self.echo = EchoGuard(self.settings)
        # What an earlier session on this speaker learned of the echo path (the
        # canceller's filter, the echo's delay and gain) still holds: a session after
        # the standby does not start from nothing.
        learned = self.tap.learned
        if isinstance(learned, _EchoPath):
            self.doubletalk, self.canceller = learned.doubletalk, learned.canceller
        else:
            self.doubletalk = DoubleTalk(self.tap, self.settings.double_talk_factor)
            self.canceller = None
            if self.settings.cancel_echo and not self.settings.echo_cancelled:
                self.canceller = EchoCanceller(self.tap.played, ready=self.tap.complete_until)
                self.doubletalk.residual = ResidualCheck(self.canceller.log)
            self.tap.learned = _EchoPath(self.doubletalk, self.canceller)
        self.mutewatch: MuteWatch | None = None
        """Says when the microphone delivers only digital silence (None: not watched)."""
        if self.settings.mute_after > 0 and not self.settings.echo_cancelled:
            self.mutewatch = MuteWatch(self.settings.mute_after)
        self.origin = clock()
        """Clock time of session time 0, set by :meth:`start` (transcript times are
        relative to it)."""
        self.begun = False
        """True once :meth:`start` has begun the session; before it (waiting for a
        microphone) session time stays 0."""
        self.acted: list[CommandHeard] = []
        """Commands the coach was given, in order."""
        self.ignored: list[tuple[Recognition, str]] = []
        """Recognitions not acted on, with the reason."""
        self._active: frozenset[Intent] | None = None
        self._early_end: frozenset[Intent] | None = None  # what may end an utterance early
        self._own_id = 0
        self._last_fallback = -1e9
        self._seen_voice_error: BaseException | None = None
        self._stream_offset: float | None = None
        self._fed_seconds = 0.0
        self._last_chunk_end = 0.0
        self._ended = False
        self._playing: set[int] = set()  # the coach's utterances not yet finished
        self._early: tuple[float, Intent] | None = None  # acted on from a partial result
        self._lines: dict[int, str] = {}  # the texts of the utterances in self._playing
        # Cues queued behind a line still playing: (that line's utterance id, cue name).
        self._cues_behind: list[tuple[int, str]] = []
        self._last_said = 0  # utterance id of the last line given to the speaker
        # The loop's own lines not yet finished: utterance id -> (the coach's line it
        # was queued behind, 0 if none; text). A hold cuts them as the coach's lines.
        self._notices: dict[int, tuple[int, str]] = {}
        self._hold: _Hold | None = None  # the coach silenced for a provisional command
        self._resumed_at = -math.inf  # clock time the last hold ended without acting
        # After a hold's lines are said again: counts are dropped until the speaker has
        # caught up (see _carry_on).
        self._catching_up = False

    # ---------------------------------------------------------------- state

    @property
    def sink(self) -> Sink:
        """Where the coach's audio goes (the speaker's sink)."""
        return self.speaker.sink

    @property
    def finished(self) -> bool:
        """True once the coach has ended and its goodbye has been played (or ended)."""
        return self._ended or (self.coach.finished and not self.sink.is_playing())

    def session_time(self, at: float | None = None) -> float:
        """Seconds since the session began, of clock time ``at`` (default now); 0 before
        it began."""
        if not self.begun:
            return 0.0
        return (self.clock() if at is None else at) - self.origin

    def next_deadline(self) -> float | None:
        """The next clock time :meth:`poll` has work (a timer or a finishing utterance)."""
        times = [t for t in (self.timers.next_due(),) if t is not None]
        if self._hold is not None:
            times.append(self._hold.since + HOLD_LIMIT)
        next_finish = getattr(self.sink, "next_finish", None)
        if callable(next_finish):
            nf = next_finish()
            if nf is not None:
                times.append(nf)
        return min(times, default=None)

    # ----------------------------------------------------------- life cycle

    def start(self) -> None:
        """Begin: the coach's introduction. Session time 0 is now, and so is the start
        in the session log: a wait for the microphone before it is not session time."""
        self.origin = self.clock()
        self.begun = True
        if self.recorder is not None:
            self.recorder.began()
        self._deliver(Start())

    def end(self, status: str = "interrupted") -> str:
        """End the session now (Ctrl-C, SIGTERM, end of the demo); returns the status.

        One that never began (stopped while waiting for a microphone) is
        :data:`~voicecoach.session.NOT_BEGUN`, whatever ``status`` says: nothing was
        coached, so the coach is not told, and the log gives it no length.
        """
        if not self.begun:
            status = NOT_BEGUN
        if not self._ended:
            self._ended = True
            self._hold = None
            if self.begun and not self.coach.finished:
                self._deliver(InputEnded())
            try:
                self.speaker.stop()
            except Exception:  # a dead device must not stop the log from being saved
                log.exception("silencing the speaker at the end")
            if self.recorder is not None:
                self.recorder.close(status)
        if self.recorder is not None and self.recorder.status:
            return self.recorder.status
        return self.coach.status or status

    # ---------------------------------------------------------------- audio in

    def feed(self, chunk: AudioChunk) -> None:
        """Run the recognizer on a 16 kHz mono chunk stamped with clock time; act on it."""
        if self.coach.finished:
            return
        if self.mutewatch is not None:
            change = self.mutewatch.feed(chunk, self.sink.is_playing())
            if change is not None:
                self._mic_changed(change)
        # The double-talk check compares the microphone as it is with what was played;
        # the recognizer hears what is left once the coach's echo is taken out.
        self.tap.sync()
        self.doubletalk.feed(chunk)
        if self.canceller is not None:
            cleaned = self.canceller.process(chunk)
            if cleaned is None:
                return
            chunk = cleaned
        self._last_chunk_end = chunk.end
        try:
            self._early_end_for()
            results = self.recognizer.accept(chunk)
        except Exception as err:
            self._recognizer_failed(err)
            return
        finally:
            self._fed_seconds += chunk.duration
        for result in results:
            if result.provisional:
                self._silence_for(result)
            elif result.partial:
                self._partial(result)
            else:
                if not self._already_acted(result):
                    self._heard(result)
                if self._hold is not None:
                    self._carry_on()  # the final result did not stop the coach

    def _silence_for(self, r: Recognition) -> None:
        """A provisional safety command while the coach plays: silence it now (a hold)
        unless the command is the coach's own words or only its echo was heard."""
        if self._hold is not None or r.intent not in SAFETY_INTENTS or not self.sink.is_playing():
            return
        if self.clock() < self._resumed_at + HOLD_REST:
            return
        start, end = self._times(r)
        if self.echo.own_words(r.intent, _words(r), start, end):
            return
        if self.doubletalk.user_present(start, end) is False:
            return
        now = self.clock()
        cut = [(uid, self._lines[uid]) for uid in sorted(self._playing) if uid in self._lines]
        cues = [(uid, name) for uid, name in self._cues_behind if uid in self._playing]
        self._cues_behind = []
        self._hold = _Hold(now, cut, cues, notices=list(self._notices.values()))
        self._notices = {}
        self.speaker.stop()
        self.echo.stopped(now)
        assert r.intent is not None
        self._log_entry("held", r.text, r.intent.value, {"end": end})

    def _carry_on(self) -> None:
        """End a hold the coach did not act on: the lines it cut, again from their
        start, each followed by the cues and the loop's own lines (a notice, a fallback)
        that were queued behind it, then what the coach said meanwhile. An own line cut
        that was not behind one of the coach's comes first.

        But not a count (:func:`.script.is_count`) due more than :data:`COUNT_FRESH`
        ago: said again back to back after a hold of up to :data:`HOLD_LIMIT` seconds,
        "Seven. Six. Five. Four." came 0.4 s apart where the person holds for a second
        each. A count only says what second it is; the next one comes on time. (The
        coach never waits for a count's playback: its beats run on timers.) Nor a
        count that comes due while the lines said again still play, or what queued
        behind them (:meth:`_sound`): a movement cue said again took 3.7 s, and the
        hold's counts then came 0.4 s apart and its breath was held 4.5 s, not ten.
        """
        hold, self._hold = self._hold, None
        if hold is None:
            return
        now = self._resumed_at = self.clock()
        lines = [(uid, text) for uid, text in hold.lines if uid in self._playing]
        # Ids below zero are the loop's own lines (:meth:`_sound` gives them new ones).
        said_again = {uid for uid, _ in lines}
        replay: list[tuple[float, Say | PlayCue]] = [
            (hold.since, Say(text, -1)) for after, text in hold.notices if after not in said_again
        ]
        for uid, text in lines:
            replay.append((hold.since, Say(text, uid)))
            replay += [(hold.since, PlayCue(name)) for after, name in hold.cues if after == uid]
            replay += [(hold.since, Say(note, -1)) for after, note in hold.notices if after == uid]
        kept: list[Say | PlayCue] = []
        for due, action in replay + hold.later:
            late = now - due > COUNT_FRESH
            if late and isinstance(action, Say) and script.is_count(action.text):
                self._playing.discard(action.utterance_id)
                self._lines.pop(action.utterance_id, None)
                continue
            kept.append(action)
        cut = {uid for uid, _ in hold.lines}
        again = [
            a.text
            for a in kept
            if isinstance(a, Say) and (a.utterance_id in cut or a.utterance_id < 0)
        ]
        self._log_entry("resumed", " ".join(again))
        for action in kept:
            self._sound(action)
        self._catching_up = any(isinstance(a, Say) for a in kept)

    def _partial(self, r: Recognition) -> None:
        """An early result: a safety command over the coach acts now, without waiting for
        the end of the utterance (barge-in would otherwise wait out the endpoint)."""
        if r.intent not in SAFETY_INTENTS or not audible(self.sink, self.settings.echo_tail):
            return
        start, end = self._times(r)
        if self.echo.own_words(r.intent, _words(r), start, end):
            return
        if self.doubletalk.user_present(start, end) is not True:
            return  # unsure: wait for the final result and decide there
        self._early = (start, r.intent)
        self._act(r, end, self.doubletalk.verdict)

    def _already_acted(self, r: Recognition) -> bool:
        """True for the final result of an utterance already acted on as a partial."""
        if self._early is None:
            return False
        start, intent = self._early
        self._early = None
        return r.intent is intent and abs(self._times(r)[0] - start) < 0.5

    def _times(self, r: Recognition) -> tuple[float, float]:
        """A recognition's start and end on the clock.

        Engines count stream time either from the chunks' timestamps or from their own
        sample count; the second is detected and shifted onto the clock.
        """
        if r.end <= self._last_chunk_end + 0.5 and r.end >= self._last_chunk_end - 30.0:
            return r.start, r.end
        if self._stream_offset is None:
            self._stream_offset = self._last_chunk_end - self._fed_seconds
        return r.start + self._stream_offset, r.end + self._stream_offset

    def _heard(self, r: Recognition) -> None:
        start, end = self._times(r)
        tail = self.settings.echo_tail
        speaking = audible(self.sink, tail) or self.echo.speaking_during(start, end, tail)
        if r.intent is None:
            if speaking:
                self._ignore(r, "not a command, while the coach spoke")
            else:
                self._deliver(NotUnderstood(r.text))
            return
        verdict = None
        if speaking:
            if self.echo.own_words(r.intent, _words(r), start, end):
                self._ignore(r, "the coach's own words")
                return
            if r.intent not in SAFETY_INTENTS and not self.settings.echo_cancelled:
                self._ignore(r, "the coach was speaking")
                return
            if not self.settings.echo_cancelled:
                present = self.doubletalk.user_present(start, end)
                verdict = self.doubletalk.verdict
                if present is False:
                    self._ignore(r, "only the coach's echo was heard", verdict)
                    return
            # Barge-in: the coach answers a change of flow with StopSpeaking, which is
            # carried out within this call; an intent it ignores must not cut it off.
        self._act(r, end, verdict)

    def _act(self, r: Recognition, end: float, verdict: str | None = None) -> None:
        """Deliver ``r``'s command; ``verdict``: how the echo check judged it (logged)."""
        assert r.intent is not None
        event = CommandHeard(r.intent, r.text, r.confidence)
        self.acted.append(event)
        extra: dict[str, Any] = {"confidence": round(r.confidence, 3), "end": end}
        extra["partial"] = r.partial
        if r.read is not None:
            extra["read"] = r.read
        if verdict is not None:
            extra["doubletalk"] = verdict
        self._log_entry("heard", r.text, r.intent.value, extra)
        if self.recorder is not None:
            self.recorder.heard(event, self.session_time())
        self._deliver(event)

    def _ignore(self, r: Recognition, reason: str, verdict: str | None = None) -> None:
        log.info("ignored %r (%s): %s", r.text, r.intent, reason)
        self.ignored.append((r, reason))
        command = r.intent.value if r.intent is not None else None
        start, end = self._times(r)
        extra: dict[str, Any] = {"reason": reason, "confidence": round(r.confidence, 3)}
        extra["end"] = end
        if verdict is not None:
            extra["doubletalk"] = verdict
        extra["seconds"] = round(end - start, 3)  # how long the utterance ran
        if r.read is not None:
            extra["read"] = r.read
        self._log_entry("ignored", r.text, command, extra)

    # -------------------------------------------------------------- time

    def poll(self) -> None:
        """Report finished playback, fire due timers, notice a failed voice."""
        now = self.clock()
        if self._hold is not None and now >= self._hold.since + HOLD_LIMIT:
            log.warning("no final result for the command that silenced the coach")
            self._carry_on()
        for uid in self.sink.poll_finished():
            self.echo.finished(uid, now)
            self._notices.pop(uid, None)
            if uid > 0:
                self._playing = {u for u in self._playing if u > uid}
                self._lines = {u: t for u, t in self._lines.items() if u in self._playing}
                self._cues_behind = [(u, n) for u, n in self._cues_behind if u > uid]
                self._deliver(PlaybackFinished(uid))
        if self.timers.pop_due(now):
            self._deliver(Tick())
        err = self.speaker.last_error
        if err is not None and err is not self._seen_voice_error:
            self._seen_voice_error = err
            self._voice_failed(err)

    # ----------------------------------------------------------- the coach

    def _deliver(self, event: Event) -> None:
        now = self.clock()
        for action in self.coach.step(event, now):
            self._carry_out(action, now)
        self._listen_for()

    def _listen_for(self) -> None:
        active = frozenset(self.coach.listening_for()) | SAFETY_INTENTS
        if active != self._active:
            self._active = active
            try:
                self.recognizer.set_active(active)
            except Exception as err:
                self._recognizer_failed(err)

    def _early_end_for(self) -> None:
        """Any whole command may end an utterance after a short pause (the reply comes
        sooner) only while the coach waits for the user and is no longer heard, or when
        the system cancels the echo; otherwise only a safety command, the only ones
        acted on over the coach, so the canceller's leftover echo is cut as before."""
        quiet = self.coach.waiting_for_user and not audible(self.sink, self.settings.echo_tail)
        early = None if quiet or self.settings.echo_cancelled else SAFETY_INTENTS
        if early != self._early_end:
            self._early_end = early
            self.recognizer.set_early_end(early)

    def _carry_out(self, action: Action, now: float) -> None:
        self.timers.apply(action)
        if self.recorder is not None:
            self.recorder.apply(action)
        if isinstance(action, Say):
            self._playing.add(action.utterance_id)
            self._lines[action.utterance_id] = action.text
            self._sound(action)
        elif isinstance(action, PlayCue):
            self._sound(action)
        elif isinstance(action, StopSpeaking):
            self._hold = None  # what was cut stays cut
            self._catching_up = False
            self.speaker.stop()
            self.echo.stopped(now)
            self._playing.clear()
            self._lines.clear()
            self._cues_behind = []
            self._notices = {}  # the loop's own lines are cut with the coach's

    def _sound(self, action: Say | PlayCue) -> None:
        """Say a line or play a cue, or keep it for the end of a hold; after a hold,
        drop a count while the speaker catches up (:meth:`_carry_on`)."""
        if self._catching_up and not self.sink.is_playing():
            self._catching_up = False
        if self._hold is not None:
            self._hold.later.append((self.clock(), action))
        elif self._catching_up and isinstance(action, Say) and script.is_count(action.text):
            log.debug("count %r dropped: the speaker is still behind after a hold", action.text)
            self._playing.discard(action.utterance_id)
            self._lines.pop(action.utterance_id, None)
        elif isinstance(action, Say) and action.utterance_id < 0:
            self.say_own(action.text)  # a notice a hold cut, said again
        elif isinstance(action, Say):
            self._say(action.utterance_id, action.text)
        else:
            self._log_entry("cue", action.name)
            # "Heard" for a command that lets the coach go on (with --echo-cancelled,
            # "slower" over its line) plays at once, over the line: behind it, it came
            # seconds late, and the person could not tell they were heard.
            over = action.name == "heard" and self._coach_speaking()
            if self._last_said in self._playing and not over:  # it plays after that line
                self._cues_behind.append((self._last_said, action.name))
            cue = self.speaker.cues.get(action.name)
            self.echo.cue(cue.duration if cue is not None else 0.0, self.clock(), over)
            try:
                self.speaker.play_cue(action.name, at_once=over)
            except Exception as err:
                self._voice_failed(err)

    def _coach_speaking(self) -> bool:
        """Whether a line of the coach's is playing (or queued) now."""
        return self._last_said in self._playing and self.sink.is_playing()

    def _say(self, uid: int, text: str) -> None:
        self._last_said = uid
        self.echo.said(uid, text, self.clock())
        self._log_entry("said", text)
        try:
            self.speaker.say(text, uid)
        except Exception as err:  # an unthreaded speaker raises here
            self.sink.end(uid)  # the coach must not wait for it
            self._voice_failed(err)

    # ------------------------------------------------------------ faults

    def say_own(self, text: str) -> None:
        """Speak a line of the loop's own (a fallback or a device notice)."""
        self._own_id -= 1
        self.echo.said(self._own_id, text, self.clock())
        self._log_entry("said", text, extra={"fallback": True})
        try:
            self.speaker.say(text, self._own_id)
            # Said during a hold, it plays at once, before the cut lines said again.
            queued = self._hold is None and self._last_said in self._playing
            self._notices[self._own_id] = (self._last_said if queued else 0, text)
        except Exception:
            log.exception("cannot speak %r", text)
            try:
                self.speaker.play_cue("not_understood")
            except Exception:
                log.debug("no cue either", exc_info=True)

    def _fallback(self, text: str) -> None:
        now = self.clock()
        if now - self._last_fallback < self.settings.fallback_interval:
            return
        self._last_fallback = now
        self.say_own(text)

    def _recognizer_failed(self, err: BaseException) -> None:
        log.error("the recognizer failed: %s", err, exc_info=err)
        self._log_entry("fault", f"recognizer: {err}")
        try:
            self.recognizer.reset()
        except Exception:
            log.debug("reset failed too", exc_info=True)
        self._fallback(RECOGNIZER_FALLBACK)
        self._carry_on()  # no final result will come for a held command

    def _voice_failed(self, err: BaseException) -> None:
        log.error("the voice failed: %s", err, exc_info=err)
        self._log_entry("fault", f"voice: {err}")
        self._fallback(VOICE_FALLBACK)

    def device_lost(self, what: str, reason: str) -> None:
        """An audio device failed; say so if the speaker still works, and log it."""
        log.warning("%s lost: %s", what, reason)
        self._log_entry("fault", f"{what}: {reason}")
        if what == "microphone":
            self.say_own(MIC_LOST)

    def device_missing(self, what: str, reason: str, chosen: bool = False) -> None:
        """An audio device is not there at the start; say so, and log it. ``chosen``:
        the one asked for by name or number is not there, but others are."""
        log.warning("no %s yet (%s); waiting for one", what, reason)
        self._log_entry("fault", f"{what}: {reason}")
        if what == "microphone":
            self.say_own(MIC_CHOSEN_MISSING if chosen else MIC_MISSING)

    def _mic_changed(self, change: MicChange) -> None:
        """The microphone was found muted (only digital silence while the coach was
        heard), or sounds again after that; say so, and log it."""
        if change is MicChange.MUTED:
            seconds = self.settings.mute_after
            log.warning("the microphone gives only digital silence (%g s of the coach)", seconds)
            self._log_entry("fault", f"microphone: only digital silence for {seconds:g} s")
            self.say_own(MIC_MUTED)
        else:
            self.device_back("microphone")

    def device_back(self, what: str) -> None:
        """A failed device works again."""
        log.warning("%s is back", what)
        self._log_entry("fault", f"{what}: back")
        self.say_own(MIC_BACK if what == "microphone" else SPEAKER_BACK)

    def replace_sink(self, sink: Sink) -> None:
        """Carry on with a new output sink (the old one failed).

        What was queued on the old sink is lost; the coach is told it finished, cut
        (``PlaybackFinished(cut=True)``), so it does not wait for audio that will never
        play and says the introduction again from the line that was cut.
        """
        now = self.clock()
        self._hold = None  # everything queued counts as played, cut or not
        self._catching_up = False
        self._notices = {}
        self.speaker.stop()
        self.tap = TapSink(sink)
        self.speaker.sink = self.tap
        self.doubletalk.tap = self.tap
        self.tap.learned = _EchoPath(self.doubletalk, self.canceller)
        if self.canceller is not None:
            self.canceller.reference = self.tap.played  # what it learned still holds
            self.canceller.ready = self.tap.complete_until
        self.echo.stopped(now)
        if self._playing:
            # Playback is in order: the last one finished means all of them did.
            last, self._playing = max(self._playing), set()
            self._lines.clear()
            self._cues_behind = []
            self._deliver(PlaybackFinished(last, cut=True))

    def _log_entry(
        self,
        kind: str,
        text: str,
        command: str | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        if self.transcript is None:
            return
        extra = dict(extra or {})
        if "end" in extra:
            extra["end"] = round(extra["end"] - self.origin, 3)
        self.transcript(TranscriptEntry(self.session_time(), kind, text, command, extra))


__all__ = [
    "FALLBACK_TEXTS",
    "Dialogue",
    "MIC_BACK",
    "MIC_CHOSEN_MISSING",
    "MIC_LOST",
    "MIC_MISSING",
    "MIC_MUTED",
    "RECOGNIZER_FALLBACK",
    "SPEAKER_BACK",
    "VOICE_FALLBACK",
    "LiveSession",
    "Transcript",
    "TranscriptEntry",
]
