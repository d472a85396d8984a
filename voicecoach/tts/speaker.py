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
import threading
from collections.abc import Mapping
from dataclasses import dataclass

from ..audio.chunk import AudioChunk
from ..audio.sinks import Sink
from .base import Voice, VoiceSettings, apply_gain
from .cache import PromptCache, prompt_key
from .cues import render_cues
from .render import join_chunks, render_sentences

_LOGGER = logging.getLogger(__name__)


@dataclass(frozen=True)
class _Job:
    gen: int
    text: str = ""
    utterance_id: int | None = None
    cue: str | None = None


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

    def play_cue(self, name: str, *, at_once: bool = False) -> None:
        """Play the earcon ``name`` (one of ``voicecoach.events.CUES``) after queued
        audio; ``at_once``: now, over it (the sink's ``play_over``)."""
        if name not in self.cues:
            raise KeyError(f"unknown cue {name!r}")
        if at_once:
            self.sink.play_over(self.cues[name])
            return
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

    @property
    def busy(self) -> bool:
        """Whether asked-for audio is still being rendered or handed to the sink."""
        return self.threaded and self._jobs.unfinished_tasks > 0

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


__all__ = ["Speaker"]
