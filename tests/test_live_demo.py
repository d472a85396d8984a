"""The demo end to end (real recognizer, real Joe voice, espeak-ng user) on a short routine."""

from __future__ import annotations

import json
import wave
from pathlib import Path

import pytest

import voicecoach.asr
from tests.routine_fixtures import tiny_routine
from voicecoach.asr.base import AsrSettings
from voicecoach.runtime.demo import DemoSettings, ScriptLine, run_demo
from voicecoach.tts.base import VoiceSettings
from voicecoach.tts.speaker import Speaker

# The user speaks while the coach is quiet: in the breathing pause before a hold, or
# when asked. (Over the coach, see the barge-in test below.) The tiny routine's first
# exercise has no hold: "next" leads to the second one's.
SHORT_SCRIPT = (
    ScriptLine("yes"),  # the safety question
    ScriptLine("next"),  # after exercise one
    ScriptLine("it hurts", "after:Breathe out.", 1.2),  # exercise two, before its hold
    ScriptLine("no"),  # repeat it more gently
    ScriptLine("where am i"),
    ScriptLine("next"),  # exercise two again
    ScriptLine("stop", "after:Breathe out.", 1.2),
    ScriptLine("yes"),  # yes, end the session
)


def real_recognizer():  # type: ignore[no-untyped-def]
    return voicecoach.asr.load_recognizer(AsrSettings(engine="pocketsphinx"))


@pytest.mark.slow
def test_demo_runs_a_short_routine_with_the_real_parts(tmp_path: Path) -> None:
    recognizer = real_recognizer()
    voice = VoiceSettings()
    result = run_demo(
        tiny_routine(),
        recognizer,
        lambda sink: Speaker.from_settings(voice, sink, threaded=False),
        tmp_path,
        script=SHORT_SCRIPT,
    )
    rows = [json.loads(line) for line in (tmp_path / "transcript.jsonl").read_text().splitlines()]
    assert {"t", "kind", "text"} <= set(rows[0])
    kinds = {r["kind"] for r in rows}
    assert {"scripted", "heard", "said", "cue"} <= kinds
    heard = [r["command"] for r in rows if r["kind"] == "heard"]
    assert heard == ["yes", "next", "hurt", "no", "where", "next", "stop", "yes"]
    assert result.status == "stopped"
    assert result.self_triggers == []
    with wave.open(str(tmp_path / "session.wav")) as w:
        assert w.getframerate() == 16_000
        assert w.getnframes() / 16_000 == pytest.approx(result.session_seconds, abs=0.1)
    assert "self-triggers: 0" in result.summary()


@pytest.mark.slow
@pytest.mark.xfail(
    strict=True,
    reason="PocketSphinx without echo cancellation: its endpointer joins the user's words "
    "to the echo of the coach's count into one span, which is rejected (text '' or a "
    "command with too little coverage); measured at user peaks 0.35-0.9",
)
def test_it_hurts_over_the_coachs_count_is_heard(tmp_path: Path) -> None:
    # The demo's room: the coach's echo at 0.3 of its output level. "Hold." is followed
    # by "Two." and "One." a second apart, so "it hurts" overlaps the count.
    script = (
        ScriptLine("yes"),
        ScriptLine("next"),
        ScriptLine("it hurts", "after:Hold.", 1.2),
    )
    result = run_demo(
        tiny_routine(),
        real_recognizer(),
        lambda sink: Speaker.from_settings(VoiceSettings(), sink, threaded=False),
        None,
        script=script,
        settings=DemoSettings(max_seconds=75.0),
    )
    assert [h["command"] for h in result.heard] == ["yes", "next", "hurt"]
