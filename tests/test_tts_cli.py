"""``voicecoach say`` and ``voicecoach prepare`` end to end, with the real voice."""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import wave
from pathlib import Path

import numpy as np
import pytest

from tests.alsa_file_device import make_device
from voicecoach.cli import main
from voicecoach.cli.speak_cmd import run_prepare
from voicecoach.tts.piper import default_voice_path

pytestmark = pytest.mark.slow


def read_wav(path: Path) -> tuple[np.ndarray, int]:
    with wave.open(str(path)) as f:
        assert f.getnchannels() == 1 and f.getsampwidth() == 2
        data = np.frombuffer(f.readframes(f.getnframes()), dtype="<i2") / 32768.0
        return data, f.getframerate()


def test_say_writes_a_wav_of_the_spoken_text(tmp_path: Path) -> None:
    out = tmp_path / "say.wav"
    code = main(["say", "Good. Now relax your shoulders.", "--out", str(out)])
    assert code == 0
    audio, rate = read_wav(out)
    assert rate == 22_050
    assert 1.2 < len(audio) / rate < 5.0
    assert np.sqrt(np.mean(audio**2)) > 0.02


def test_say_with_a_slower_rate_takes_longer(tmp_path: Path) -> None:
    normal, slow = tmp_path / "n.wav", tmp_path / "s.wav"
    text = "Breathe in slowly through your nose."
    assert main(["say", text, "--out", str(normal), "--no-cache"]) == 0
    assert main(["say", text, "--out", str(slow), "--no-cache", "--length-scale", "1.4"]) == 0
    assert len(read_wav(slow)[0]) > 1.2 * len(read_wav(normal)[0])


def test_say_with_a_missing_voice_names_the_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "nobody.onnx"
    code = main(["say", "Hello.", "--voice", str(missing), "--out", str(tmp_path / "x.wav")])
    assert code == 4
    err = capsys.readouterr().err
    assert str(missing) in err and "--voice" in err


def test_say_with_a_corrupt_voice_names_the_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    model = tmp_path / "broken.onnx"
    model.write_bytes(default_voice_path().read_bytes()[:50_000])
    shutil.copy(f"{default_voice_path()}.json", f"{model}.json")
    code = main(["say", "Hello.", "--voice", str(model), "--out", str(tmp_path / "x.wav")])
    assert code == 4
    err = capsys.readouterr().err
    assert str(model) in err and "corrupt" in err


def test_say_plays_through_an_output_device(tmp_path: Path) -> None:
    dev = make_device(tmp_path)
    proc = subprocess.run(
        [sys.executable, "-m", "voicecoach", "say", "Hold.", "--device", dev.device],
        env=dev.env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    audio = dev.samples()
    voiced = np.flatnonzero(np.abs(audio) > 0.05)
    # "Hold." is about 0.29 s of voice. The null device behind the file is not paced in
    # real time, and once (CI, 2026-11-28) 0.2 s of it came out: content, not timing.
    assert len(voiced) and 0.1 < (voiced[-1] - voiced[0]) / dev.rate < 1.5


def prepare_args(cache: Path, *routines: str, all_: bool = False) -> argparse.Namespace:
    return argparse.Namespace(
        routines=list(routines),
        all=all_,
        voice=None,
        length_scale=None,
        sentence_pause=0.3,
        volume=1.0,
        cache_dir=cache,
    )


def test_prepare_renders_then_finds_everything_cached(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    texts = {"demo": ["One.", "Two.", "Hold.", "Relax.", "Breathe in. Breathe out."]}
    asked: list[tuple[list[str], bool]] = []

    def texts_for(ids: list[str], all_routines: bool) -> dict[str, list[str]]:
        asked.append((list(ids), all_routines))
        return texts

    assert run_prepare(prepare_args(tmp_path, "demo"), texts_for) == 0
    assert "0 already cached, 5 rendered" in capsys.readouterr().err
    assert run_prepare(prepare_args(tmp_path, "demo"), texts_for) == 0
    assert "5 already cached, 0 rendered" in capsys.readouterr().err
    assert asked == [(["demo"], False)] * 2
    assert len(list(tmp_path.rglob("*.pcm"))) == 5


def test_prepare_needs_routines_or_all(tmp_path: Path) -> None:
    assert run_prepare(prepare_args(tmp_path), lambda ids, a: {}) == 2


def test_prepare_reports_an_unwritable_cache(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    blocked = tmp_path / "cache"
    blocked.write_text("not a folder")
    assert run_prepare(prepare_args(blocked, "x"), lambda ids, a: {"x": ["One."]}) == 1
    assert "--cache-dir" in capsys.readouterr().err


def test_prepare_says_which_prompts_were_not_stored_and_what_to_do(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from voicecoach.cli.speak_cmd import prepare
    from voicecoach.tts.base import FakeVoice, VoiceSettings
    from voicecoach.tts.cache import PromptCache, prompt_key

    settings, voice = VoiceSettings(cache_dir=tmp_path), FakeVoice()
    in_the_way = PromptCache(tmp_path).path_for(prompt_key(voice.identity, settings, "Two."))
    in_the_way.mkdir(parents=True)
    assert prepare(settings, {"x": ["One.", "Two.", "Three."]}, sys.stderr, voice=voice) == 1
    err = capsys.readouterr().err
    assert "2 rendered" in err and "1 could not be stored" in err
    assert "make it writable" not in err  # the folder is writable: not that advice


def test_say_refuses_nothing_to_say_and_an_out_folder_that_does_not_exist(
    tmp_path: Path,
) -> None:
    with pytest.raises(SystemExit, match="nothing to say"):
        main(["say", "  ", "--out", str(tmp_path / "x.wav")])
    missing = tmp_path / "no" / "such"
    with pytest.raises(SystemExit, match=f"the folder {missing} does not exist"):
        main(["say", "Hello.", "--out", str(missing / "x.wav")])
    assert not (tmp_path / "x.wav").exists()


def test_say_to_a_folder_or_a_full_disk_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Both were a traceback (IsADirectoryError, OSError) after the text was synthesized.
    with pytest.raises(SystemExit, match=f"cannot write {tmp_path}: it is a folder; give a file"):
        main(["say", "Hello.", "--out", str(tmp_path)])
    full = Path("/dev/full")  # every write fails, as on a full disk
    if not full.exists():
        pytest.skip("no /dev/full here")
    with pytest.raises(SystemExit, match="cannot write /dev/full: No space left on device; choo"):
        main(["say", "Hello.", "--out", str(full)])
    assert "Traceback" not in capsys.readouterr().err


def test_prepare_all_covers_every_available_routine(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from voicecoach.cli.speak_cmd import _routine_texts, prepare
    from voicecoach.dialogue import fixed_texts
    from voicecoach.routines import available_routines, get_routine
    from voicecoach.tts.base import FakeVoice, VoiceSettings

    routines, _ = available_routines()
    by_routine = _routine_texts([], True)
    assert set(by_routine) == set(routines) and len(by_routine) >= 2
    one = next(iter(routines))
    assert _routine_texts([one], False) == {one: fixed_texts(get_routine(one))}

    # Every text of every routine goes into the cache (a fake voice keeps this quick).
    settings = VoiceSettings(cache_dir=tmp_path)
    assert prepare(settings, by_routine, sys.stderr, voice=FakeVoice()) == 0
    total = len({t for texts in by_routine.values() for t in texts})
    assert f"{total} prompts: 0 already cached, {total} rendered" in capsys.readouterr().err
    assert len(list(tmp_path.rglob("*.pcm"))) == total
