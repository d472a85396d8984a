"""``scripts/pi_smoke.py`` (the engines on a handful of inputs) and how
``scripts/emulate_pi.py`` compares two machines' results. The emulation itself needs
QEMU and a gigabyte of downloads, so it is run by hand (docs/raspberry-pi.md)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))

import emulate_pi  # noqa: E402

pytestmark = pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="needs espeak-ng")


@pytest.mark.slow
def test_smoke_runs_the_engines_on_the_inputs(tmp_path: Path) -> None:
    inputs = tmp_path / "inputs"
    (inputs / "commands").mkdir(parents=True)
    (inputs / "korean").mkdir()
    for name, voice, text in (("hurts", "en-gb", "it hurts"), ("bird", "en-us", "bird")):
        wav = inputs / "commands" / f"{name}.wav"
        subprocess.run(["espeak-ng", "-v", voice, "-w", str(wav), text], check=True)
    subprocess.run(
        ["espeak-ng", "-v", "ko+f3", "-w", str(inputs / "korean" / "다음.wav"), "다음"],
        check=True,
    )
    out = tmp_path / "here.json"
    subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "pi_smoke.py"), "--inputs", str(inputs),
         "--out", str(out)],
        check=True, capture_output=True, timeout=300,
    )  # fmt: skip
    got = json.loads(out.read_text(encoding="utf-8"))
    assert got["recognize"]["whole"]["hurts.wav"][0] == "hurt"
    assert got["recognize"]["whole"]["bird.wav"][0] is None
    assert "hurt" in got["recognize"]["streamed"]["hurts.wav"]
    assert got["vosk_korean"]["다음"] == ["next", "다음"]
    assert got["speak"]["rate"] == 22050 and got["speak"]["seconds"] > 2
    assert "audio_out" not in got  # only with --with-audio
    assert set(got["seconds"]) == {"recognize", "speak", "vosk_korean"}


def test_comparison_reports_verdicts_not_times_paths_or_the_voices_noise() -> None:
    here = {
        "machine": "x86_64",
        "seconds": {"recognize": 7.0},
        "recognize": {"describe": "model /a", "whole": {"a.wav": ["hurt", "it hurts"]}},
        "speak": {"rate": 22050, "seconds": 3.41, "rms_dbfs": -18.3},
    }
    there = json.loads(json.dumps(here))
    there.update(machine="aarch64", seconds={"recognize": 530.0})
    there["recognize"]["describe"] = "model /b"
    there["speak"].update(seconds=3.45, rms_dbfs=-18.1)  # Piper draws noise each run
    assert emulate_pi.differences(here, there) + emulate_pi.speech_differs(here, there) == []
    there["recognize"]["whole"]["a.wav"] = [None, "it hurts"]
    assert emulate_pi.differences(here, there) == [
        "/recognize/whole/a.wav: here ['hurt', 'it hurts'], emulated [None, 'it hurts']"
    ]
    there["speak"]["seconds"] = 2.9
    assert len(emulate_pi.speech_differs(here, there)) == 1
    assert emulate_pi.speech_differs(here, {"speak": {"error": "OSError: x"}})


def test_demo_summary_reads_the_transcript(tmp_path: Path) -> None:
    rows = [
        {"t": 43.8, "kind": "scripted", "text": "yes", "command": "yes"},
        {"t": 44.5, "kind": "heard", "text": "yes", "command": "yes"},
        {"t": 45.1, "kind": "ignored", "text": "go", "command": None},
        {"t": 90.1, "kind": "held", "text": "pain", "command": "hurt"},
        {"t": 46.0, "kind": "said", "text": "Good."},
    ]
    (tmp_path / "transcript.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    summary = emulate_pi.demo_summary(tmp_path)
    assert summary == {"heard": [[44.5, "yes"]], "said": 1, "ignored": 1, "held": 1}


def test_demos_must_act_on_the_same_commands_at_about_the_same_times() -> None:
    here = {"heard": [[44.72, "yes"], [205.40, "help"]], "said": 52, "ignored": 32, "held": 2}
    there = {"heard": [[44.72, "yes"], [205.42, "help"]], "said": 52, "ignored": 33, "held": 2}
    assert emulate_pi.demo_differs(here, there) == []  # an utterance ended a step later
    assert emulate_pi.demo_differs(here, {**there, "heard": [[44.72, "yes"], [205.6, "help"]]})
    assert emulate_pi.demo_differs(here, {**there, "heard": [[44.72, "yes"], [205.4, "next"]]})
    assert emulate_pi.demo_differs(here, {**there, "heard": [[44.72, "yes"]]})
    assert emulate_pi.demo_differs(here, {**there, "said": 51})
