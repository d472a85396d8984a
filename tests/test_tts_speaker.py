"""The speaker: sentence streaming, cues in order, barge-in, errors; fake voice, real sinks."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest

from voicecoach.audio.chunk import AudioChunk
from voicecoach.audio.sinks import MemorySink, VirtualClock
from voicecoach.events import CUES
from voicecoach.tts.base import FakeVoice, Voice, VoiceSettings, split_sentences, trim_silence
from voicecoach.tts.cache import PromptCache
from voicecoach.tts.prepare import prepare_prompts
from voicecoach.tts.render import CLAUSE_PAUSE, split_first_clause
from voicecoach.tts.speaker import Speaker

RATE = 16_000


class GatedVoice(FakeVoice):
    """A fake voice that waits for permission before each sentence after the first."""

    def __init__(self) -> None:
        super().__init__(sample_rate=RATE, amplitude=0.3)
        self.gate = threading.Semaphore(0)
        self.rendered: list[str] = []

    def synthesize(self, text: str) -> Iterator[AudioChunk]:
        for i, (sentence, chunk) in enumerate(
            zip(split_sentences(text), super().synthesize(text), strict=True)
        ):
            if i:
                assert self.gate.acquire(timeout=10)
            self.rendered.append(sentence)
            yield chunk


def wait_for(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.005)


def make(
    voice: FakeVoice, threaded: bool = False, **settings: object
) -> tuple[Speaker, MemorySink]:
    sink = MemorySink(RATE, VirtualClock(0.0))
    s = VoiceSettings(use_cache=False, **settings)  # type: ignore[arg-type]
    return Speaker(voice, sink, s, None, threaded=threaded), sink


def test_fake_voice_is_a_voice_with_one_chunk_per_sentence() -> None:
    v = FakeVoice(sample_rate=RATE)
    assert isinstance(v, Voice)
    chunks = list(v.synthesize("Breathe in. Hold it! Now relax?"))
    assert len(chunks) == 3
    assert chunks[0].duration == pytest.approx(0.7)  # two words, 0.35 s each
    assert not any(c.samples().any() for c in chunks)  # silence


def test_say_plays_each_sentence_with_the_pause_between_and_reports_the_end() -> None:
    v = FakeVoice(sample_rate=RATE, amplitude=0.3)
    sp, sink = make(v, sentence_pause=0.5)
    sp.say("Turn your head left. Now back.", 1)
    segs = sink.segments
    assert len(segs) == 2
    first = 4 * 0.35
    assert segs[0].start == 0.0 and segs[0].end(RATE) == pytest.approx(first)
    # The second sentence starts with the pause: its speech begins 0.5 s after the first.
    assert segs[1].start == pytest.approx(first)
    speech = np.flatnonzero(np.abs(segs[1].samples) > 100)
    assert speech[0] / RATE == pytest.approx(0.5, abs=0.01)
    assert sink.pending_finish(1) == pytest.approx(first + 0.5 + 0.7)


def test_volume_scales_the_voice_and_the_cues() -> None:
    loud, sink_loud = make(FakeVoice(sample_rate=RATE, amplitude=0.4))
    soft, sink_soft = make(FakeVoice(sample_rate=RATE, amplitude=0.4), volume=0.5)
    for sp in (loud, soft):
        sp.say("Hold.", 1)
        sp.play_cue("heard")
    a, b = sink_loud.timeline(), sink_soft.timeline()
    assert np.abs(b).max() == pytest.approx(np.abs(a).max() / 2, rel=0.01)
    cue_loud, cue_soft = sink_loud.segments[-1].samples, sink_soft.segments[-1].samples
    assert np.abs(cue_soft).max() == pytest.approx(np.abs(cue_loud).max() / 2, rel=0.01)


def test_cues_queue_after_speech_and_are_not_reported() -> None:
    sp, sink = make(FakeVoice(sample_rate=RATE))
    sp.say("Hold.", 1)
    for name in CUES:
        sp.play_cue(name)
    assert [s.utterance_id for s in sink.segments] == [1] + [None] * len(CUES)
    assert sink.segments[1].start == pytest.approx(sink.segments[0].end(RATE))
    with pytest.raises(KeyError):
        sp.play_cue("fanfare")


def test_first_sentence_plays_while_the_next_is_synthesized() -> None:
    v = GatedVoice()
    sp, sink = make(v, threaded=True)
    sp.say("Lie down. Relax your shoulders. Breathe.", 1)
    # The voice is blocked before sentence 2, yet sentence 1 is already at the sink.
    wait_for(lambda: bool(sink.segments))
    assert len(sink.segments) == 1 and v.rendered == ["Lie down."]
    v.gate.release()
    v.gate.release()
    assert sp.wait_idle(10)
    assert len(sink.segments) == 3 and sink.pending_finish(1) is not None
    sp.close()


def test_stop_silences_and_abandons_the_rest_of_the_utterance() -> None:
    v = GatedVoice()
    sp, sink = make(v, threaded=True)
    clock = sink.clock
    assert isinstance(clock, VirtualClock)
    sp.say("Lie down. Relax your shoulders. Breathe.", 1)
    sp.say("This was queued.", 2)
    wait_for(lambda: bool(sink.segments))
    clock.set(0.3)
    sp.stop()
    sp.play_cue("heard")  # what the dialogue manager does after a barge-in
    v.gate.release()  # let the voice finish its sentence: it must not reach the sink
    assert sp.wait_idle(10)
    ids = [s.utterance_id for s in sink.segments]
    assert ids == [1, None]
    assert sink.segments[0].stopped and sink.segments[0].end(RATE) == pytest.approx(0.3)
    assert sink.segments[1].start == pytest.approx(0.3)  # the cue plays at once
    assert v.rendered == ["Lie down.", "Relax your shoulders."]  # "Breathe." never rendered
    assert "This was queued." not in v.calls
    clock.set(100.0)
    assert sink.poll_finished() == []
    sp.close()


class BrokenVoice(FakeVoice):
    def synthesize(self, text: str) -> Iterator[AudioChunk]:
        raise RuntimeError("model exploded")
        yield  # pragma: no cover


def test_worker_error_is_kept_and_the_utterance_still_ends() -> None:
    sp, sink = make(BrokenVoice(sample_rate=RATE), threaded=True)
    sp.say("Hold.", 5)
    assert sp.wait_idle(10)
    assert isinstance(sp.last_error, RuntimeError)
    assert sink.poll_finished() == [5]  # the dialogue goes on instead of waiting forever
    sp.close()


def test_live_synthesis_fills_the_cache_for_next_time(tmp_path: Path) -> None:
    v = FakeVoice(sample_rate=RATE, amplitude=0.2)
    sink = MemorySink(RATE, VirtualClock())
    settings = VoiceSettings(cache_dir=tmp_path)
    sp = Speaker(v, sink, settings, PromptCache(tmp_path), threaded=False)
    sp.say("Breathe in. Breathe out.", 1)
    cached = sp.cached("Breathe in. Breathe out.")
    assert cached is not None
    assert cached.duration == pytest.approx(2 * 0.7 + settings.sentence_pause, abs=1e-3)


@pytest.mark.parametrize(
    ("text", "head", "rest"),
    [
        ("Hold.", "Hold.", ""),
        ("Turn to the left, then back.", "Turn to the left, then back.", ""),
        (
            "Slowly turn your head to the left, as far as is comfortable.",
            "Slowly turn your head to the left,",
            "as far as is comfortable.",
        ),
        (
            "Good, now relax. Turn left, then right, then back.",
            "Good, now relax. Turn left, then right, then back.",
            "",
        ),
        (
            "Lie down on your back and relax: breathe calmly.",
            "Lie down on your back and relax:",
            "breathe calmly.",
        ),
    ],
)
def test_split_first_clause_only_splits_a_long_first_sentence(
    text: str, head: str, rest: str
) -> None:
    assert split_first_clause(text) == (head, rest)


def test_live_speech_starts_with_the_first_clause_and_keeps_sentence_pauses() -> None:
    v = FakeVoice(sample_rate=RATE, amplitude=0.3)
    sp, sink = make(v, sentence_pause=0.5)
    sp.say("Slowly turn your head to the left, as far as is comfortable. Hold.", 1)
    assert v.calls == ["Slowly turn your head to the left,", "as far as is comfortable. Hold."]
    segs = sink.segments
    assert len(segs) == 3
    lead = [np.flatnonzero(np.abs(s.samples) > 100)[0] / RATE for s in segs]
    assert lead[0] < 0.01
    assert lead[1] == pytest.approx(CLAUSE_PAUSE, abs=0.01)  # a comma's pause, not a sentence's
    assert lead[2] == pytest.approx(0.5, abs=0.01)  # the next sentence does


def test_prepared_prompts_are_rendered_whole(tmp_path: Path) -> None:
    # ``voicecoach prepare`` (prepare_prompts) asks the voice for the whole text, not
    # split at its first clause as live speech is, and a session then plays it from
    # the cache. (This tested only Speaker.render, which nothing called; it is gone.)
    text = "Slowly turn your head to the left, as far as is comfortable."
    v = FakeVoice(sample_rate=RATE)
    settings, cache = VoiceSettings(cache_dir=tmp_path), PromptCache(tmp_path)
    assert prepare_prompts(v, settings, cache, [text]).rendered == 1
    assert v.calls == [text]
    sp = Speaker(v, MemorySink(RATE, VirtualClock()), settings, cache, threaded=False)
    sp.say(text, 1)
    assert (sp.cache_hits, v.calls) == (1, [text])
    sp.close()


def test_trim_silence_keeps_a_margin_and_fades_the_cut() -> None:
    rate = RATE
    t = np.arange(rate // 2) / rate
    speech = 0.5 * np.sin(2 * np.pi * 200 * t)
    padded = np.concatenate([np.zeros(int(0.3 * rate)), speech, np.zeros(int(0.4 * rate))])
    chunk = AudioChunk.from_float(
        padded + 0.001 * np.sin(2 * np.pi * 50 * np.arange(len(padded)) / rate), rate
    )
    trimmed = trim_silence(chunk, keep_lead=0.02, keep_trail=0.06)
    assert trimmed.duration == pytest.approx(0.02 + 0.5 + 0.06, abs=0.002)
    out = trimmed.samples()[:, 0]
    assert abs(out[0]) < 1e-3 and abs(out[-1]) < 1e-3
    silent = AudioChunk.from_float(np.zeros(1000), rate)
    assert trim_silence(silent) is silent


@pytest.mark.parametrize("bad", [{"length_scale": 0.0}, {"sentence_pause": -0.1}, {"volume": 9.0}])
def test_voice_settings_refuse_nonsense(bad: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        VoiceSettings(**bad)  # type: ignore[arg-type]


def test_importing_the_voice_layer_loads_no_engine() -> None:
    import subprocess
    import sys

    code = (
        "import sys, voicecoach.tts, voicecoach.tts.speaker, voicecoach.tts.prepare, "
        "voicecoach.audio.sinks, voicecoach.cli.speak_cmd\n"
        "heavy = [m for m in ('piper', 'onnxruntime', 'sounddevice') if m in sys.modules]\n"
        "assert not heavy, heavy"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
