"""A session in text: commands typed or piped in, the coach's words printed.

It runs the real dialogue manager on a discrete-event clock. A simulated speaker
plays each ``Say`` for roughly as long as it would take to speak, then reports
``PlaybackFinished``, so the coach behaves as it would with a voice. With a virtual
clock a whole routine plays in well under a second; with the real clock it waits.

Input lines: a plain line is delivered when the coach next waits for the user (the
short rest of a routine that moves on by itself is no wait: it ends by itself); a line
``@SECONDS words`` is delivered at that session time (so a pain report can land in
the middle of a hold). Lines are taken in order, so a timed line waits for the lines
before it (a warning says when that made it late). Empty lines and ``#`` comments are
skipped, and so, with a warning, is a line starting with ``@`` that gives no time.
When the input ends and the coach waits for more, the session ends.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import queue
import re
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import TextIO

from .commands import SAFETY_INTENTS, typed_intent
from .dialogue import Coach
from .events import (
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
from .session import SessionRecorder, TimerTable

log = logging.getLogger(__name__)

_TIMED = re.compile(r"^@\s*(\d+(?:\.\d*)?)\s+(.*)$")


@dataclass(frozen=True)
class InputLine:
    """One line of user input: ``at`` is a session time, or None for "when asked"."""

    text: str
    at: float | None = None


def parse_line(raw: str) -> InputLine | None:
    """Parse one input line; ``None`` for blank lines and comments."""
    # A file of typed lines saved by Windows Notepad starts with a byte-order mark.
    line = raw.lstrip("\ufeff").strip()
    if not line or line.startswith("#"):
        return None
    m = _TIMED.match(line)
    if m:
        return InputLine(m.group(2).strip(), float(m.group(1)))
    if line.startswith("@"):
        log.warning("skipped %r: a timed line is written @SECONDS words, like @75 it hurts", line)
        return None
    return InputLine(line)


def to_event(text: str) -> Event:
    """A typed line as the event a recognizer would produce."""
    intent = typed_intent(text)
    if intent is None:
        return NotUnderstood(text)
    return CommandHeard(intent, text, 1.0)


@dataclass(frozen=True)
class TextSettings:
    """How the text session simulates speaking."""

    words_per_second: float = 2.6
    """Speaking speed of the simulated voice."""
    sentence_gap: float = 0.3
    """Silence added after each utterance, in seconds."""
    max_session_seconds: float = 6 * 3600.0
    """A virtual session that runs longer than this is ended (a guard, never reached)."""


class TextSession:
    """Runs a :class:`Coach` against text input on a virtual or real clock."""

    def __init__(
        self,
        coach: Coach,
        out: Callable[[str], None],
        recorder: SessionRecorder | None = None,
        settings: TextSettings | None = None,
        realtime: bool = False,
        timestamps: bool = False,
    ) -> None:
        self.coach = coach
        self.out = out
        self.recorder = recorder
        self.settings = settings or TextSettings()
        self.realtime = realtime
        self.timestamps = timestamps
        self.now = 0.0
        self.timers = TimerTable()
        self._queue: list[tuple[float, int, Event]] = []  # (time, seq, event)
        self._seq = itertools.count()
        self._busy_until = 0.0  # the simulated speaker is busy until then
        self._playing: set[int] = set()
        self._t0 = 0.0

    # ------------------------------------------------------------------ run

    def run(self, lines: Iterable[str]) -> str:
        """Run the whole session over ``lines``; return its final status."""
        source = _LineSource(lines, threaded=self.realtime)
        self._t0 = time.monotonic()
        self._deliver(Start())
        while not self.coach.finished:
            self._drain_due()
            if self.coach.finished:
                break
            head = source.peek(block=not self.realtime)
            if head is not None and self._ready(head):
                source.pop()
                if head.at is not None and head.at < self.now - 0.05:
                    log.warning(
                        "'@%g %s' is late, at %.1f s: lines are taken in order, and the "
                        "ones before it waited until then",
                        head.at,
                        head.text,
                        self.now,
                    )
                self._deliver(to_event(head.text))
                continue
            if source.exhausted and self._waiting():
                break
            nxt = self._next_time(head)
            if nxt is None and (source.exhausted or not self.realtime):
                break
            if nxt is not None and nxt - self.now > self.settings.max_session_seconds:
                log.warning("session ran past %.0f s of session time; ending it", nxt)
                break
            if self.realtime and self._wait_for_input(source, nxt):
                continue
            assert nxt is not None
            self.now = max(self.now, nxt)
        return self.end()

    def end(self) -> str:
        """End the session now (the input ran out, Ctrl-C, SIGTERM); return its status.

        The coach is told the input ended, so what the session got to is recorded as
        when the input runs out: an exercise that hurt, at the question that follows
        the pain report, is ``pain``, and the next start offers the one after it."""
        if not self.coach.finished:
            self._deliver(InputEnded())
        if self.recorder is not None:
            self.recorder.close()
            return self.recorder.status or "interrupted"
        return self.coach.status or "interrupted"

    def _ready(self, line: InputLine) -> bool:
        if line.at is not None:
            return line.at <= self.now
        if self.realtime and typed_intent(line.text) in SAFETY_INTENTS:
            return True  # typed live, a safety command cannot wait its turn
        return self._waiting()

    def _waiting(self) -> bool:
        """The coach waits for the user, and nothing but the user will move it on: the
        short rest of a routine that moves on by itself ends with the rest's timer."""
        return self.coach.waiting_for_user and all(name != "auto" for name, _ in self.timers)

    def _next_time(self, head: InputLine | None) -> float | None:
        times = [t for t in (self.timers.next_due(),) if t is not None]
        if self._queue:
            times.append(self._queue[0][0])
        if head is not None and head.at is not None:
            times.append(head.at)
        return min(times) if times else None

    def _wait_for_input(self, source: _LineSource, until: float | None) -> bool:
        """Real time: sleep until ``until`` or until a line arrives (True)."""
        timeout = None if until is None else max(0.0, self._t0 + until - time.monotonic())
        arrived = source.wait(timeout)
        if arrived:
            self.now = max(self.now, time.monotonic() - self._t0)
        return arrived

    def _drain_due(self) -> None:
        while True:
            if self._queue and self._queue[0][0] <= self.now:
                _, _, event = heapq.heappop(self._queue)
                if isinstance(event, PlaybackFinished) and event.utterance_id not in self._playing:
                    continue  # stopped before it finished
                if isinstance(event, PlaybackFinished):
                    self._playing.discard(event.utterance_id)
                self._deliver(event)
            elif self.timers.pop_due(self.now):
                self._deliver(Tick())
            else:
                return

    # --------------------------------------------------------------- actions

    def _deliver(self, event: Event) -> None:
        if isinstance(event, CommandHeard) and self.recorder is not None:
            self.recorder.heard(event, self.now)
        if isinstance(event, (CommandHeard, NotUnderstood)):
            log.debug("%.1f user: %s", self.now, event)
        for action in self.coach.step(event, self.now):
            self._carry_out(action)

    def _carry_out(self, action: Action) -> None:
        self.timers.apply(action)
        if self.recorder is not None:
            self.recorder.apply(action)
        if isinstance(action, Say):
            self._print(f"coach: {action.text}")
            start = max(self.now, self._busy_until)
            words = len(action.text.split())
            end = start + words / self.settings.words_per_second + self.settings.sentence_gap
            self._busy_until = end
            self._playing.add(action.utterance_id)
            heapq.heappush(
                self._queue, (end, next(self._seq), PlaybackFinished(action.utterance_id))
            )
        elif isinstance(action, PlayCue):
            self._print(f"cue: {action.name}")
        elif isinstance(action, StopSpeaking):
            self._playing.clear()
            self._busy_until = self.now

    def _print(self, line: str) -> None:
        self.out(f"[{self.now:7.1f}] {line}" if self.timestamps else line)


class _LineSource:
    """Input lines, read lazily (virtual clock) or by a reader thread (real clock)."""

    def __init__(self, lines: Iterable[str], threaded: bool) -> None:
        self._iter: Iterator[str] = iter(lines)
        self._head: InputLine | None = None
        self.exhausted = False
        self._threaded = threaded
        self._q: queue.Queue[InputLine | None] = queue.Queue()
        if threaded:
            threading.Thread(target=self._reader, daemon=True).start()

    def _reader(self) -> None:
        for raw in self._iter:
            line = parse_line(raw)
            if line is not None:
                self._q.put(line)
        self._q.put(None)

    def peek(self, block: bool = True) -> InputLine | None:
        """The next line without taking it; ``None`` if none (yet)."""
        if self._head is not None or self.exhausted:
            return self._head
        if self._threaded:
            try:
                item = self._q.get_nowait()
            except queue.Empty:
                return None
            self._take(item)
            return self._head
        if not block:
            return None
        for raw in self._iter:
            line = parse_line(raw)
            if line is not None:
                self._head = line
                return line
        self.exhausted = True
        return None

    def _take(self, item: InputLine | None) -> None:
        if item is None:
            self.exhausted = True
        else:
            self._head = item

    def pop(self) -> None:
        """Take the head line."""
        self._head = None

    def wait(self, timeout: float | None) -> bool:
        """Threaded: block until a line (or the end) arrives or ``timeout``; True if one did."""
        if self._head is not None or self.exhausted:
            return True
        try:
            item = self._q.get(timeout=timeout)
        except queue.Empty:
            return False
        self._take(item)
        return True


def print_to(stream: TextIO) -> Callable[[str], None]:
    """An output function that writes a line and flushes (so a pipe sees it at once)."""

    def out(line: str) -> None:
        stream.write(line + "\n")
        stream.flush()

    return out
