"""The demo end to end (real recognizer, real Joe voice, espeak-ng user) on a short routine."""

from __future__ import annotations

import json
import wave
from pathlib import Path

import pytest

import voicecoach.asr
from tests.routine_fixtures import tiny_routine
from voicecoach.asr.base import AsrSettings
from voicecoach.runtime.demo import ScriptLine, run_demo
from voicecoach.tts.base import VoiceSettings
from voicecoach.tts.speaker import Speaker

SHORT_SCRIPT = (
    ScriptLine("yes"),
    ScriptLine("it hurts", "after:Hold.", 1.2),
    ScriptLine("no"),
    ScriptLine("where am i"),
    ScriptLine("next"),
    ScriptLine("stop", "after:Press and hold", 1.5),
    ScriptLine("yes"),
)


def real_recognizer():  # type: ignore[no-untyped-def]
    load = getattr(voicecoach.asr, "load_recognizer", None)
    if load is None:
        pytest.skip("voicecoach.asr.load_recognizer is not there yet")
    return load(AsrSettings(engine="pocketsphinx"))


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
    assert heard[:2] == ["yes", "hurt"]
    assert result.status == "stopped"
    assert result.self_triggers == []
    with wave.open(str(tmp_path / "session.wav")) as w:
        assert w.getframerate() == 16_000
        assert w.getnframes() / 16_000 == pytest.approx(result.session_seconds, abs=0.1)
    assert "self-triggers: 0" in result.summary()
