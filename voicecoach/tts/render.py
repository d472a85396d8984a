"""How a text becomes the coach's audio: sentence chunks, trimmed, paused, at volume.

Both live speech (:class:`~voicecoach.tts.speaker.Speaker`) and ahead-of-time
rendering (``voicecoach prepare``) go through :func:`render_sentences`, so a cached
prompt sounds like the live one.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import numpy as np

from ..audio.chunk import AudioChunk
from .base import Voice, VoiceSettings, apply_gain, split_sentences, trim_silence

FIRST_CLAUSE_WORDS = 6
"""A first sentence longer than this is synthesized clause by clause when live."""

CLAUSE_PAUSE = 0.15
"""Seconds of silence at a split clause break: with the trimmed edges about the
0.15-0.3 s Piper leaves at a comma inside a sentence."""

_CLAUSE_END = re.compile(r"[,;:](?=\s)")


def split_first_clause(text: str) -> tuple[str, str]:
    """Split a long first sentence after its first clause: ``(head, rest)``.

    Live synthesis time grows with the length of the first sentence; its first clause
    (up to a comma, semicolon or colon after at least three words) is ready sooner and
    ends on a natural break. ``rest`` is empty when there is nothing worth splitting.
    """
    sentences = split_sentences(text)
    if not sentences or len(sentences[0].split()) <= FIRST_CLAUSE_WORDS:
        return text, ""
    for match in _CLAUSE_END.finditer(text):
        head = text[: match.end()].strip()
        if len(head.split()) >= 3 and len(head) < len(sentences[0]):
            return head, text[match.end() :].strip()
    return text, ""


def render_sentences(
    voice: Voice, settings: VoiceSettings, text: str, first_clause: bool = False
) -> Iterator[AudioChunk]:
    """``text`` as the coach says it: one chunk per sentence, at the settings' volume.

    Each sentence is trimmed of the voice's own leading and trailing silence
    (:func:`~voicecoach.tts.base.trim_silence`), so speech starts with playback.

    Every sentence after the first starts with ``settings.sentence_pause`` of
    silence, so the pause sits between sentences and never after the last one (the
    end of an utterance is the end of its speech). With ``first_clause`` a long
    first sentence comes as two chunks (:func:`split_first_clause`), so live speech
    starts sooner; its clause break gets :data:`CLAUSE_PAUSE`, not the sentence pause.
    """
    head, rest = split_first_clause(text) if first_clause else (text, "")
    pause = np.zeros(int(round(settings.sentence_pause * voice.sample_rate)), dtype="<i2")

    def chunks() -> Iterator[tuple[AudioChunk, bool]]:
        # (chunk, continues the previous sentence): only the rest of a split first
        # sentence continues; every other chunk after the first starts a sentence.
        for chunk in voice.synthesize(head):
            yield chunk, False
        for i, chunk in enumerate(voice.synthesize(rest) if rest else ()):
            yield chunk, i == 0

    clause_pause = np.zeros(int(round(CLAUSE_PAUSE * voice.sample_rate)), dtype="<i2")
    for i, (chunk, continues) in enumerate(chunks()):
        chunk = apply_gain(trim_silence(chunk), settings.volume)
        gap = clause_pause if continues else pause if i else None
        if gap is not None and len(gap):
            chunk = AudioChunk(gap.tobytes() + chunk.audio, chunk.rate, 2, 1)
        yield chunk


def join_chunks(chunks: list[AudioChunk]) -> AudioChunk:
    """One chunk holding ``chunks`` back to back (all must share one format)."""
    first = chunks[0]
    return AudioChunk(b"".join(c.audio for c in chunks), first.rate, first.width, first.channels)


__all__ = [
    "CLAUSE_PAUSE",
    "FIRST_CLAUSE_WORDS",
    "join_chunks",
    "render_sentences",
    "split_first_clause",
]
