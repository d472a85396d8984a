"""Not hearing itself: when the coach played, and whether a command is its own words.

Without echo cancellation the coach's voice reaches the microphone, and its script
says things like "stop the movement", "pause" and "say it hurts at any moment". The
guard keeps a short history of what was played and when:

- an utterance starts when it is handed to the speaker or when the one before it
  ends, whichever is later, and ends when the sink reports it finished (or was cut);
  until then its end is estimated from its length in words;
- a word's time inside an utterance is estimated by its character position, assuming
  an even speaking rate.

A recognized command is taken for the coach's own words when the phrase heard occurs in
an utterance at an estimated time within ``echo_slack`` of the command.

The trade-off: a person who says "stop" within about a second of the coach saying
"stop" is not heard (they say it again, or say "it hurts", which the script says
rarely); in exchange the coach never stops itself. Character-position timing is rough
(long pauses between sentences skew it), which is why the slack is a full second.
"""

from __future__ import annotations

import re
from collections import deque
from dataclasses import dataclass

from ..commands import PHRASES, Intent, normalize
from .settings import LiveSettings


@dataclass
class Played:
    """One coach utterance as the guard tracks it."""

    uid: int
    text: str
    said_at: float
    start: float
    """Clock time the audio starts (estimated)."""
    end: float | None = None
    """Clock time the audio ended (reported finished or cut); None while playing."""
    estimate: float = 0.0
    """Estimated duration in seconds."""

    def until(self) -> float:
        """The end, or the estimated end while it is still playing."""
        return self.end if self.end is not None else self.start + self.estimate


class EchoGuard:
    """What the coach played recently, for telling its own words from the user's."""

    def __init__(self, settings: LiveSettings, keep: float = 60.0) -> None:
        self.settings = settings
        self.keep = keep
        self._played: deque[Played] = deque()

    def said(self, uid: int, text: str, now: float) -> None:
        """The coach handed ``text`` to the speaker at ``now``."""
        start = max([now] + [p.until() for p in self._played])
        words = max(1, len(text.split()))
        self._played.append(
            Played(uid, text, now, start, None, words / self.settings.words_per_second)
        )
        while self._played and self._played[0].until() < now - self.keep:
            self._played.popleft()

    def cue(self, seconds: float, now: float, over: bool = False) -> None:
        """The coach played an earcon of ``seconds`` at ``now`` (after what it says, or,
        ``over``, at once over it).

        Its echo is the coach's sound as much as a line's: alone (the "heard" earcon for
        a "where am I" kept for the next rest), it came out as a non-command whose result
        came just after the earcon's tail, and the coach played "didn't catch that"."""
        start = now if over else max([now] + [p.until() for p in self._played])
        self._played.append(Played(0, "", now, start, None, seconds))

    def finished(self, uid: int, now: float) -> None:
        """The sink reported ``uid`` finished at ``now``."""
        for p in self._played:
            if p.uid == uid and p.end is None:
                p.end = now
                if p.start >= now:  # the estimate placed it too late
                    p.start = max(p.said_at, now - p.estimate)

    def stopped(self, now: float) -> None:
        """The speaker was silenced at ``now``: everything still playing ends here."""
        for p in self._played:
            if p.end is None:
                p.start = min(p.start, now)  # never played if it had not started yet
                p.end = now

    def speaking_during(self, start: float, end: float, tail: float) -> bool:
        """True if any utterance played (plus ``tail``) overlaps ``start``..``end``."""
        return any(p.start <= end and start <= p.until() + tail for p in self._played)

    def own_words(self, intent: Intent, heard: str, start: float, end: float) -> bool:
        """True if the coach said the words ``heard`` near ``start..end``; when they are
        none of ``intent``'s phrases (the command check chose the intent), any of them.

        Only the words heard: the coach's "pain" ("tilt towards the side where you feel
        pain") made a person's "it hurts" said with it its echo, so the pain report was
        ignored. The coach's words heard back as another phrase of the same command are
        the level check's to reject (:class:`~.doubletalk.DoubleTalk`).
        """
        slack = self.settings.echo_slack
        words = normalize(heard)
        phrases = {normalize(p) for p in PHRASES[intent]}
        if words in phrases:
            phrases = {words}
        elif words:
            phrases.add(words)
        for p in self._played:
            if p.start > end + slack or p.until() < start - slack:
                continue
            text = normalize(p.text)
            if not text:
                continue
            span = max(p.until() - p.start, 1e-3)
            for phrase in phrases:
                for m in re.finditer(rf"\b{re.escape(phrase)}\b", text):
                    centre = (m.start() + m.end()) / 2 / len(text)
                    t = p.start + span * centre
                    if start - slack <= t <= end + slack:
                        return True
        return False


__all__ = ["EchoGuard", "Played"]
