"""The coach's mouth: voice + prompt cache + cues + sink.

:meth:`Speaker.say` plays a cached rendering at once if there is one; otherwise it
synthesizes one sentence at a time and hands each to the sink as soon as it is ready,
so the first sentence plays while the next is synthesized. :meth:`Speaker.stop`
silences the sink and abandons the rest of the utterance between two sentences.

The live loop calls :meth:`say`, :meth:`play_cue` and :meth:`stop` for the dialogue
manager's ``Say``, ``PlayCue`` and ``StopSpeaking``, and turns the sink's
``poll_finished()`` ids into ``PlaybackFinished`` events.

By default the work runs on one worker thread, in the order asked, so the caller
never waits for synthesis. With ``threaded=False`` each call finishes its work
before returning: deterministic, for tests and demos on a virtual clock.
"""

from __future__ import annotations

import logging
import queue
import re
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

import numpy as np

from ..audio.chunk import AudioChunk
from ..audio.sinks import Sink
from .base import Voice, VoiceSettings, apply_gain, split_sentences, trim_silence
from .cache import PromptCache, prompt_key
from .cues import render_cues

_LOGGER = logging.getLogger(__name__)


@dataclass(frozen=True)
class _Job:
    gen: int
    text: str = ""
    utterance_id: int | None = None
    cue: str | None = None


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


class Speaker:
    """Speaks texts and cues into a sink, from the prompt cache when it can."""

    def __init__(
        self,
        voice: Voice,
        sink: Sink,
        settings: VoiceSettings | None = None,
        cache: PromptCache | None = None,
        cues: Mapping[str, AudioChunk] | None = None,
        threaded: bool = True,
    ) -> None:
        self.voice = voice
        self.sink = sink
        self.settings = settings or VoiceSettings()
        self.cache = cache if self.settings.use_cache else None
        self.cues = dict(cues) if cues is not None else dict(render_cues(voice.sample_rate))
        if self.settings.volume != 1.0:
            self.cues = {k: apply_gain(v, self.settings.volume) for k, v in self.cues.items()}
        self.threaded = threaded
        self.last_error: BaseException | None = None
        """The latest error of the worker thread (the utterance was ended without audio)."""
        self.cache_hits = 0
        self.cache_misses = 0
        self._gen = 0
        self._lock = threading.Lock()  # makes "still current? then play" atomic with stop()
        self._jobs: queue.Queue[_Job | None] = queue.Queue()
        self._worker: threading.Thread | None = None
        if threaded:
            self._worker = threading.Thread(target=self._run, name="speaker", daemon=True)
            self._worker.start()

    @classmethod
    def from_settings(cls, settings: VoiceSettings, sink: Sink, threaded: bool = True) -> Speaker:
        """The Piper voice and prompt cache ``settings`` name, loaded, speaking into ``sink``.

        Raises :class:`~voicecoach.errors.ModelError` naming the voice file if it is
        missing or corrupt. Give the sink the voice's rate (22050 Hz for the default
        voice) to avoid resampling; any other rate works.
        """
        from .piper import PiperVoice

        voice = PiperVoice.from_settings(settings)
        voice.load()
        return cls(voice, sink, settings, PromptCache.from_settings(settings), threaded=threaded)

    # -- what the live loop calls

    def say(self, text: str, utterance_id: int) -> None:
        """Speak ``text``; the sink reports ``utterance_id`` when it has been heard."""
        self._submit(_Job(self._gen, text=text, utterance_id=utterance_id))

    def play_cue(self, name: str) -> None:
        """Play the earcon ``name`` (one of ``voicecoach.events.CUES``) after queued audio."""
        if name not in self.cues:
            raise KeyError(f"unknown cue {name!r}")
        self._submit(_Job(self._gen, cue=name))

    def stop(self) -> None:
        """Silence now: drop queued work, cut the sink, abandon the utterance in progress."""
        with self._lock:
            self._gen += 1
            while True:
                try:
                    self._jobs.get_nowait()
                    self._jobs.task_done()
                except queue.Empty:
                    break
            self.sink.stop()

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Wait until all asked-for audio has been handed to the sink; False on timeout."""
        if not self.threaded:
            return True
        done = threading.Event()

        def join() -> None:
            self._jobs.join()
            done.set()

        threading.Thread(target=join, daemon=True).start()
        return done.wait(timeout)

    def close(self) -> None:
        """Stop the worker thread (the sink stays open: its owner closes it)."""
        if self._worker is not None:
            self._jobs.put(None)
            self._worker.join(timeout=5.0)
            self._worker = None

    # -- rendering

    def cache_key(self, text: str) -> str:
        """The prompt-cache key of ``text`` for this voice and these settings."""
        return prompt_key(self.voice.identity, self.settings, text)

    def cached(self, text: str) -> AudioChunk | None:
        """The verified cached rendering of ``text``, if any."""
        return self.cache.get(self.cache_key(text)) if self.cache is not None else None

    def render(self, text: str) -> AudioChunk:
        """``text`` fully rendered (all sentences, pauses between) and stored in the cache."""
        audio = join_chunks(list(render_sentences(self.voice, self.settings, text)))
        if self.cache is not None:
            self.cache.put(self.cache_key(text), audio, text)
        return audio

    # -- work

    def _submit(self, job: _Job) -> None:
        if self.threaded:
            self._jobs.put(job)
        else:
            self._do(job)

    def _run(self) -> None:
        while True:
            job = self._jobs.get()
            try:
                if job is None:
                    return
                self._do(job)
            except Exception as err:  # keep speaking later utterances; the loop sees last_error
                _LOGGER.exception("speaking failed")
                self.last_error = err
                if job is not None and job.utterance_id is not None:
                    self._end(job)
            finally:
                self._jobs.task_done()

    def _play(self, job: _Job, chunk: AudioChunk) -> bool:
        with self._lock:
            if job.gen != self._gen:
                return False
            self.sink.play(chunk, job.utterance_id)
            return True

    def _end(self, job: _Job) -> None:
        with self._lock:
            if job.gen == self._gen and job.utterance_id is not None:
                self.sink.end(job.utterance_id)

    def _do(self, job: _Job) -> None:
        if job.gen != self._gen:
            return
        if job.cue is not None:
            self._play(job, self.cues[job.cue])
            return
        cached = self.cached(job.text)
        if cached is not None:
            self.cache_hits += 1
            self._play(job, cached)
            self._end(job)
            return
        self.cache_misses += 1
        chunks: list[AudioChunk] = []
        live = render_sentences(self.voice, self.settings, job.text, first_clause=True)
        for chunk in live:
            if not self._play(job, chunk):
                return  # stopped: the rest is never synthesized
            chunks.append(chunk)
        self._end(job)
        if chunks and self.cache is not None:
            self.cache.put(self.cache_key(job.text), join_chunks(chunks), job.text)


__all__ = ["Speaker", "join_chunks", "render_sentences"]
