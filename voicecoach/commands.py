"""The command vocabulary: every phrase the coach understands and the intent it means.

This is the one place the vocabulary lives. The dialogue manager speaks in intents;
each recognizer builds its grammar from :data:`PHRASES`; the text session matches typed
lines with :func:`match_intent`.
"""

from __future__ import annotations

import re
from enum import Enum


class Intent(str, Enum):
    """What the user asked for. The values are the names other parts of the product use."""

    NEXT = "next"
    REPEAT = "repeat"
    PAUSE = "pause"
    RESUME = "resume"
    STOP = "stop"
    SKIP = "skip"
    PREVIOUS = "previous"
    SLOWER = "slower"
    FASTER = "faster"
    HURT = "hurt"
    YES = "yes"
    NO = "no"
    HELP = "help"
    WHERE = "where"

    def __str__(self) -> str:
        return self.value


#: Phrases per intent, lower case, words separated by single spaces, no punctuation
#: (apostrophes kept). The first phrase is the one help texts mention.
PHRASES: dict[Intent, tuple[str, ...]] = {
    Intent.NEXT: ("next", "next one", "done", "ready"),
    Intent.REPEAT: ("repeat", "again", "say that again"),
    Intent.PAUSE: ("pause", "wait", "hold on"),
    Intent.RESUME: ("continue", "resume", "go", "go on"),
    Intent.STOP: ("stop", "stop the session", "that's enough"),
    Intent.SKIP: ("skip", "skip this one"),
    Intent.PREVIOUS: ("go back", "previous"),
    Intent.SLOWER: ("slower",),
    Intent.FASTER: ("faster",),
    Intent.HURT: ("it hurts", "that hurts", "ouch", "pain"),
    Intent.YES: ("yes", "yeah"),
    Intent.NO: ("no", "nope"),
    Intent.HELP: ("help", "what can i say"),
    Intent.WHERE: ("where am i", "how many left"),
}

#: Intents that must work at any moment, even while the coach is speaking:
#: they stop the movement or the coach.
SAFETY_INTENTS: frozenset[Intent] = frozenset({Intent.STOP, Intent.PAUSE, Intent.HURT})

_PHRASE_TO_INTENT: dict[str, Intent] = {
    phrase: intent for intent, phrases in PHRASES.items() for phrase in phrases
}
# Longest phrases first, so "skip this one" wins over "skip" and "go back" over "go".
_BY_LENGTH = sorted(_PHRASE_TO_INTENT, key=lambda p: (-len(p.split()), -len(p)))
# When a line holds several commands, safety wins: a person who says
# "wait it hurts" must be treated as hurting.
_PRIORITY = [Intent.HURT, Intent.STOP, Intent.PAUSE]


def all_phrases() -> list[str]:
    """Every phrase in a stable order (intent order, then phrase order)."""
    return [phrase for phrases in PHRASES.values() for phrase in phrases]


def phrase_words() -> list[str]:
    """Every distinct word used by any phrase, sorted."""
    return sorted({word for phrase in all_phrases() for word in phrase.split()})


def normalize(text: str) -> str:
    """Lower-case ``text``, keep letters, digits and apostrophes, fold white space."""
    text = text.lower().replace("\u2019", "'")
    text = re.sub(r"[^a-z0-9' ]+", " ", text)
    return " ".join(word.strip("'") for word in text.split() if word.strip("'"))


#: Words that turn the command after them around ("don't stop", "I can't go on").
_NEGATORS = frozenset(
    {"don't", "dont", "doesn't", "doesnt", "didn't", "not", "never", "can't", "cant", "cannot"}
    | {"won't", "wont"}
)
#: Of them, those that turn a word of pain right after them around ("it doesn't hurt").
_PAIN_NEGATORS = frozenset({"don't", "dont", "doesn't", "doesnt", "didn't", "not", "never"})
#: Words that report pain in a typed line, beyond the spoken phrases ("my neck hurts").
_PAIN_WORDS = frozenset({"hurt", "hurts", "hurting", "pain", "painful", "ouch"})
#: Those a negation may turn around ("ouch" never is).
_NEGATABLE_PAIN = frozenset({"hurt", "hurts", "hurting", "painful"})


def typed_intent(text: str) -> Intent | None:
    """The intent of a line a person typed, read as a person would read it.

    As :func:`match_intent`, but a command right after a negation is not one ("no,
    don't stop" is no; "don't skip" is nothing), and any word of pain is a pain report
    ("my neck hurts", "it really hurts"), which wins over everything else. A pain report
    is only undone by the plainest negations, safety first: "no pain" (as two words;
    "no, pain" is pain), "doesn't hurt", "not painful"; never "ouch", and never a
    negation before "it hurts" ("I can't, it hurts" is pain).
    """
    words = normalize(re.sub(r"\bno\s+pain\b", " nopain ", text.lower())).split()
    kept: list[str] = []
    i = 0
    while i < len(words):
        word, rest = words[i], words[i + 1 :]
        span = 0
        if word in _NEGATORS and rest:
            if rest[0] in _NEGATABLE_PAIN:
                span = 1 if word in _PAIN_NEGATORS else 0
            else:
                phrase = next((p for p in _BY_LENGTH if rest[: len(p.split())] == p.split()), None)
                if phrase is not None and _PHRASE_TO_INTENT[phrase] is not Intent.HURT:
                    span = len(phrase.split())
        if span:
            kept.append("|")  # the negation and what it turns around; no phrase across
            i += 1 + span
            continue
        kept.append(word)
        i += 1
    if any(w in _PAIN_WORDS for w in kept):
        return Intent.HURT
    found = [
        intent for part in " ".join(kept).split("|") if (intent := match_intent(part)) is not None
    ]
    for intent in _PRIORITY:
        if intent in found:
            return intent
    return found[0] if found else None


def intent_of_phrase(phrase: str) -> Intent | None:
    """The intent of an exact vocabulary phrase (after :func:`normalize`), else ``None``."""
    return _PHRASE_TO_INTENT.get(normalize(phrase))


def match_intent(text: str) -> Intent | None:
    """The intent a typed or transcribed line asks for, or ``None``.

    An exact phrase wins. Otherwise a phrase found as whole words inside the line
    counts ("next please", "ouch that hurts"), with the safety intents first. This is
    for typed text and for transcripts that are already grammar-restricted; it is not
    how free speech should be spotted (see :mod:`voicecoach.asr`).
    """
    norm = normalize(text)
    if not norm:
        return None
    exact = _PHRASE_TO_INTENT.get(norm)
    if exact is not None:
        return exact
    padded = f" {norm} "
    found = [_PHRASE_TO_INTENT[p] for p in _BY_LENGTH if f" {p} " in padded]
    if not found:
        return None
    for intent in _PRIORITY:
        if intent in found:
            return intent
    return found[0]
