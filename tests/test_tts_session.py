"""A whole coaching session through the voice: every fixed text comes from the cache.

The dialogue manager drives a Speaker (fake voice, real cache) into a MemorySink on a
virtual clock, with a minimal loop like the live one: Say/PlayCue/StopSpeaking go to
the speaker, the sink's finished utterances come back as PlaybackFinished.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.routine_fixtures import tiny_routine
from voicecoach import script as lines
from voicecoach.audio.sinks import MemorySink, VirtualClock
from voicecoach.commands import Intent
from voicecoach.dialogue import Coach, fixed_texts
from voicecoach.events import (
    CommandHeard,
    Event,
    PlaybackFinished,
    PlayCue,
    Say,
    Start,
    StopSpeaking,
    Tick,
)
from voicecoach.routines.model import Advance
from voicecoach.session import TimerTable
from voicecoach.tts.base import FakeVoice, VoiceSettings
from voicecoach.tts.cache import PromptCache
from voicecoach.tts.prepare import prepare_prompts
from voicecoach.tts.speaker import Speaker


def run_session(
    coach: Coach,
    speaker: Speaker,
    sink: MemorySink,
    clock: VirtualClock,
    script: list[Intent] | None = None,
    texts: dict[int, str] | None = None,
) -> list[int]:
    """Drive a session to its end; when the coach waits, say the next scripted command
    it listens for, else "next" (or "yes"). Returns the ids of the lines said (and puts
    their texts in ``texts``)."""
    timers = TimerTable()
    script = list(script or [])
    said: list[int] = []

    def deliver(event: Event) -> None:
        for action in coach.step(event, clock()):
            timers.apply(action)
            if isinstance(action, Say):
                said.append(action.utterance_id)
                if texts is not None:
                    texts[action.utterance_id] = action.text
                speaker.say(action.text, action.utterance_id)
            elif isinstance(action, PlayCue):
                speaker.play_cue(action.name)
            elif isinstance(action, StopSpeaking):
                speaker.stop()

    deliver(Start())
    for _ in range(10_000):
        if coach.finished:
            return said
        finished = sink.poll_finished()
        for uid in finished:
            deliver(PlaybackFinished(uid))
        if finished:
            continue
        if timers.pop_due(clock()):
            deliver(Tick())
            continue
        if coach.waiting_for_user:
            heard = coach.listening_for()
            intent = Intent.NEXT if Intent.NEXT in heard else Intent.YES
            while script:
                candidate = script.pop(0)
                if candidate in heard:
                    intent = candidate
                    break
            deliver(CommandHeard(intent, intent.value))
            continue
        due = [t for t in (timers.next_due(), sink.next_finish()) if t is not None]
        assert due, "the session is stuck"
        clock.set(max(clock(), min(due)))
    raise AssertionError("the session did not end")


CHATTY = [Intent.HELP, Intent.WHERE, Intent.REPEAT, Intent.SLOWER, Intent.SLOWER] * 3 + [
    Intent.FASTER,
    Intent.WHERE,
    Intent.PREVIOUS,
    Intent.HELP,
    Intent.SKIP,
] * 2


@pytest.mark.parametrize(
    ("advance", "script"),
    [(Advance.WAIT, []), (Advance.AUTO, []), (Advance.WAIT, CHATTY)],
    ids=["wait", "auto", "chatty"],
)
def test_after_prepare_every_prompt_of_a_session_is_a_cache_hit(
    tmp_path: Path, advance: Advance, script: list[Intent]
) -> None:
    routine = tiny_routine(advance)
    voice = FakeVoice(amplitude=0.1)
    settings = VoiceSettings(cache_dir=tmp_path)
    cache = PromptCache(tmp_path)
    prepared = prepare_prompts(voice, settings, cache, fixed_texts(routine))
    assert prepared.rendered == prepared.total > 20

    clock = VirtualClock()
    sink = MemorySink(voice.sample_rate, clock)
    speaker = Speaker(voice, sink, settings, cache, threaded=False)
    calls_before = len(voice.calls)
    said = run_session(Coach(routine), speaker, sink, clock, script)

    assert speaker.cache_hits > 10
    assert speaker.cache_misses == 0, "a session waited for synthesis of a fixed prompt"
    assert len(voice.calls) == calls_before
    # Everything said was played, whole (nothing stops it here), back to back on the
    # virtual clock: no line starts before the one before it has ended.
    segments = sink.segments
    assert {s.utterance_id for s in segments if s.utterance_id is not None} == set(said)
    assert len(said) > 20 and not any(s.stopped for s in segments)
    for a, b in zip(segments, segments[1:], strict=False):
        assert b.start >= a.end(sink.rate) - 1e-9
    assert clock() > 10.0


@pytest.mark.parametrize("earlier", [1, 2])
def test_after_prepare_a_session_on_a_day_with_pain_is_all_cache_hits(
    tmp_path: Path, earlier: int
) -> None:
    # The reminder of pain reported earlier today, and the goodbye of a session that the
    # day's next report ends, are rendered ahead like every other fixed prompt.
    routine = tiny_routine()
    voice = FakeVoice(amplitude=0.1)
    settings = VoiceSettings(cache_dir=tmp_path)
    cache = PromptCache(tmp_path)
    prepare_prompts(voice, settings, cache, fixed_texts(routine))
    clock = VirtualClock()
    sink = MemorySink(voice.sample_rate, clock)
    speaker = Speaker(voice, sink, settings, cache, threaded=False)
    texts: dict[int, str] = {}
    coach = Coach(routine, pain_today=earlier)
    said = run_session(coach, speaker, sink, clock, [Intent.YES, Intent.YES, Intent.HURT], texts)
    assert coach.status == "ended_for_pain"
    assert speaker.cache_misses == 0, "a session waited for synthesis of a fixed prompt"
    spoken = [texts[uid] for uid in said]
    reminder = lines.PAIN_EARLIER_MORE if earlier > 1 else lines.PAIN_EARLIER
    goodbye = lines.PAIN_END_AGAIN if earlier > 1 else lines.PAIN_END
    assert reminder in spoken and spoken[-1] == goodbye
