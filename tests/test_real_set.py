"""Tests for the real-voice set's builder (scripts/make_real_set.py): its labels, and a
build from Debian packages made here (dpkg-deb) in the layout of the real ones, holding
espeak-ng speech, so the unpacking, reading, de-duplication and manifest are the real
code's."""

from __future__ import annotations

import gzip
import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from voicecoach.commands import Intent

SCRIPTS = Path(__file__).resolve().parent.parent / "scripts"
sys.path.insert(0, str(SCRIPTS))

import evalset_lib as lib  # noqa: E402
import make_real_set as real  # noqa: E402


@pytest.mark.parametrize(
    "text, want",
    [
        ("pause", ("command", "pause", "pause")),
        ("no", ("command", "no", "no")),
        ("Press 5 to repeat the current message.", ("embedded", None, None)),
        ("Please try again", ("embedded", None, None)),
        ("Hold time", ("speech", None, "hold time")),
        ("Goodbye!", ("word", None, "goodbye")),
        ("slash [/]", ("word", None, "slash")),
        ('IAX (note: does not say "2")', ("word", None, "iax")),
        ("[ascending tones]", ("noise", None, None)),
        ("(10 seconds of silence)", ("silence", None, None)),
    ],
)
def test_a_recording_is_labelled_from_its_words(text: str, want: tuple) -> None:
    category, expected, phrase = real.label(text)
    assert (category, expected) == want[:2]
    if want[2] is not None:
        assert phrase == want[2]


def _speak(text: str, voice: str = "en-us") -> tuple[np.ndarray, int]:
    out = subprocess.run(
        ["espeak-ng", "-v", voice, "--stdout", text], capture_output=True, check=True
    ).stdout
    x, rate = lib.decode_wav_bytes(out)
    return x, rate


def _deb(cache: Path, package: str, files: dict[str, object]) -> None:
    """A .deb of ``package`` in ``cache`` with ``files`` (path -> audio (x, rate), bytes)."""
    root = cache / "build" / package
    (root / "DEBIAN").mkdir(parents=True)
    (root / "DEBIAN/control").write_text(
        f"Package: {package}\nVersion: 1.0-1\nArchitecture: all\n"
        "Maintainer: test <test@example.org>\nDescription: test package\n"
    )
    files = {f"usr/share/doc/{package}/copyright": b"licence text\n", **files}
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            x, rate = content  # type: ignore[misc]
            sf.write(path, x, rate)  # the format from the suffix: .wav or .ogg (Vorbis)
    subprocess.run(
        [
            "dpkg-deb",
            "--build",
            "--root-owner-group",
            str(root),
            str(cache / f"{package}_1.0-1_all.deb"),
        ],
        check=True,
        capture_output=True,
    )


@pytest.mark.skipif(
    not (shutil.which("espeak-ng") and shutil.which("dpkg-deb")),
    reason="espeak-ng or dpkg-deb missing (scripts/install.sh --test installs espeak-ng)",
)
def test_a_set_is_built_from_the_packages_in_the_cache(tmp_path: Path) -> None:
    cache, out = tmp_path / "cache", tmp_path / "real"
    pause, no, letter = _speak("pause"), _speak("no", "en-gb"), _speak("bee", "en-gb")
    transcript = (
        "; Core Asterisk Sounds\n\ndictate/pause: pause\n"
        "vm-press: Press 5 to repeat.\nbeep: [a tone]\n"
    )
    _deb(cache, "asterisk-core-sounds-en-wav", {
        f"{real.ASTERISK}/dictate/pause.wav": pause,
        f"{real.ASTERISK}/vm-press.wav": _speak("press 5 to repeat"),
        f"{real.ASTERISK}/beep.wav": (0.3 * np.sin(np.arange(8000) / 3.0), 8000),
    })  # fmt: skip
    _deb(cache, "asterisk-core-sounds-en", {real.ASTERISK_TEXT: gzip.compress(transcript.encode())})
    _deb(cache, "klettres-data", {f"{real.KLETTRES}/en_GB/syllab/no.ogg": no})
    _deb(cache, "ktuberling-data", {f"{real.KTUBERLING}/pizzeria_olive.ogg": _speak("olive")})
    _deb(cache, "tuxpaint-stamps-default", {  # one letter in two forms: one recording
        f"{real.TUXPAINT}/animals/pig_desc.ogg": _speak("pig"),
        f"{real.TUXPAINT}/symbols/filled/b_filled_en_GB.ogg": letter,
        f"{real.TUXPAINT}/symbols/outlined/b_outline_en_GB.ogg": letter,
    })  # fmt: skip
    _deb(cache, "alsa-utils", {
        f"{real.ALSA}/Front_Left.wav": _speak("front left"),
        f"{real.ALSA}/Noise.wav": (0.1 * np.random.default_rng(0).standard_normal(8000), 48000),
    })  # fmt: skip

    counts = real.build(out, cache)

    assert not lib.validate_manifest(out / "manifest.jsonl", [i.value for i in Intent])
    rows = [json.loads(line) for line in (out / "manifest.jsonl").read_text().splitlines()]
    got = {(r["speaker"], r["phrase"], r["category"], r["expected"], r["split"]) for r in rows}
    assert got == {
        ("asterisk:allison", "pause", "command", "pause", "dev"),
        ("asterisk:allison", "press 5 to repeat", "embedded", None, "dev"),
        ("asterisk:allison", "a tone", "noise", None, "dev"),
        ("klettres:en_GB", "no", "command", "no", "test"),
        ("ktuberling:en", "olive", "word", None, "test"),
        ("tuxpaint:desc", "pig", "word", None, "test"),
        ("tuxpaint:en_GB", "b", "word", None, "test"),
        ("alsa:alsa", "front left", "speech", None, "test"),
    }
    assert sum(counts.values()) == len(rows) == 8
    assert sorted(p.name for p in (out / "licences").iterdir())[0].endswith(".copyright")
    # A rebuild replaces the set whole; a folder that is not a set is left alone.
    stale = out / "test/word/9999_stale.wav"
    stale.write_bytes(b"old")
    assert sum(real.build(out, cache).values()) == 8 and not stale.exists()
    other = tmp_path / "mine"
    other.mkdir()
    (other / "notes.txt").write_text("keep me")
    with pytest.raises(SystemExit, match="not an evaluation set"):
        real.build(other, cache)
    assert (other / "notes.txt").read_text() == "keep me"
    # Read back as the benchmark reads it: the words are there, at 16 kHz.
    first = next(r for r in rows if r["phrase"] == "pause")
    x = lib.read_wav(out / first["file"])
    assert abs(len(x) / lib.RATE - len(pause[0]) / pause[1]) < 0.01
    assert np.sqrt(np.mean(x**2)) > 0.01


def test_a_package_that_cannot_be_fetched_says_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(SystemExit, match="apt-get update"):
        real.fetch("voicecoach-no-such-package", tmp_path)


@pytest.mark.skipif(
    not (shutil.which("espeak-ng") and shutil.which("dpkg-deb")),
    reason="espeak-ng or dpkg-deb missing (scripts/install.sh --test installs espeak-ng)",
)
def test_the_training_set_holds_only_what_a_user_would_not_say(tmp_path: Path) -> None:
    cache, out = tmp_path / "cache", tmp_path / "train"
    voices = f"{real.HEDGEWARS}/Default"
    _deb(cache, "hedgewars-data", {
        f"{voices}/Incoming.ogg": _speak("incoming"),
        f"{voices}/Ouch.ogg": _speak("ouch"),
        f"{voices}/Ow2.ogg": _speak("ow"),
        f"{voices}/Ooff1.ogg": _speak("oof"),
        f"{voices}/Yessir.ogg": _speak("yes sir"),
        f"{voices}/Leavemealone.ogg": _speak("leave me alone"),
    })  # fmt: skip
    prompts = {
        "fr": ("activated: activé\ndictate/pause: pause\nbeep: [un bip]\n", "fr"),
        "it": ("goodbye: arrivederci\nvm-no: no\n", "it"),
        "ru": ("goodbye: до свидания\nstop: стоп\n", "ru"),
    }
    for language, (transcript, voice) in prompts.items():
        folder = f"usr/share/asterisk/sounds/{real.ASTERISK_OTHER[language][0]}"
        files: dict[str, object] = {}
        for line in transcript.splitlines():
            name, text = (part.strip() for part in line.split(":", 1))
            files[f"{folder}/{name}.wav"] = _speak(text.strip("[]"), voice)
        _deb(cache, f"asterisk-core-sounds-{language}-wav", files)
        doc = f"usr/share/doc/asterisk-core-sounds-{language}/core-sounds-{language}.txt.gz"
        _deb(cache, f"asterisk-core-sounds-{language}", {doc: gzip.compress(transcript.encode())})

    counts = real.build(out, cache, training=True)

    rows = [json.loads(line) for line in (out / "manifest.jsonl").read_text().splitlines()]
    got = {(r["speaker"], r["phrase"], r["category"], r["expected"], r["split"]) for r in rows}
    assert got == {
        ("hedgewars:default", "incoming", "word", None, "dev"),
        ("hedgewars:default", "leavemealone", "word", None, "dev"),
        ("asterisk-fr:june", "fr: activé", "word", None, "dev"),
        ("asterisk-fr:june", "un bip", "noise", None, "dev"),
        ("asterisk-it:carlo", "it: arrivederci", "word", None, "dev"),
        ("asterisk-ru:ivrvoice", "ru: до свидания", "speech", None, "dev"),
    }
    assert sum(counts.values()) == len(rows) == 6
    assert not lib.validate_manifest(out / "manifest.jsonl", [i.value for i in Intent])
