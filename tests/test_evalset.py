"""Tests for the evaluation-set builder (scripts/make_eval_set.py, scripts/evalset_lib.py).

Real espeak-ng, Flite and Festival speech throughout; the SNR is re-measured here with
an independent implementation of the documented definition.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import wave
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from voicecoach.commands import PHRASES, Intent, all_phrases, intent_of_phrase, normalize

SCRIPTS = Path(__file__).resolve().parent.parent / "scripts"
sys.path.insert(0, str(SCRIPTS))

import evalset_lib as lib  # noqa: E402
import make_eval_set as mk  # noqa: E402

pytestmark = pytest.mark.skipif(
    not all(shutil.which(p) for p in ("espeak-ng", "flite", "text2wave")),
    reason="espeak-ng, flite or festival not installed (scripts/install.sh --test installs them)",
)

INTENTS = [i.value for i in Intent]


def _snr(speech: np.ndarray, noise: np.ndarray) -> float:
    """SNR as documented, written out again: 20 ms frames within 30 dB of the loudest."""
    n = len(speech) // 320
    e = (speech[: n * 320].astype(np.float64) ** 2).reshape(n, 320).mean(axis=1)
    active = np.repeat(e >= e.max() / 1000.0, 320)
    s = speech[: n * 320][active].astype(np.float64)
    v = noise[: n * 320][active].astype(np.float64)
    return 10 * np.log10(np.mean(s**2) / np.mean(v**2))


@pytest.fixture(scope="module")
def speech() -> np.ndarray:
    """Real espeak speech with 0.4 s of silence either side, as the builder pads it."""
    return lib.pad(lib.espeak("stop the session", "en-gb+m3", 150, 50), 0.4, 0.4)


@pytest.fixture(scope="module")
def babble() -> np.ndarray:
    """A real babble track, built the way the set builds it (short, to stay fast)."""
    return mk.build_babble("dev", 8.0, seed=5)


@pytest.mark.parametrize("kind", ["white", "pink", "babble"])
@pytest.mark.parametrize("snr", [20, 10, 5])
def test_mixer_hits_requested_snr_on_espeak_speech(speech, babble, kind, snr):
    rng = np.random.default_rng(snr)
    noise = lib.noise_segment(kind, len(speech), rng, babble)
    mix = lib.mix_at_snr(speech, noise, snr)
    assert abs(_snr(speech, mix - speech) - snr) < 0.5


def test_snr_survives_level_scaling_and_16_bit_file(speech, babble, tmp_path):
    rng = np.random.default_rng(1)
    mix = lib.mix_at_snr(speech, lib.noise_segment("babble", len(speech), rng, babble), 5)
    quiet, gain = lib.set_level(mix, -40.0, reference=speech)
    lib.write_wav(tmp_path / "a.wav", quiet)
    back = lib.read_wav(tmp_path / "a.wav")
    assert abs(_snr(speech * gain, back - speech * gain) - 5) < 0.5
    # The speech level asked for is the level the speech has in the file.
    assert abs(10 * np.log10(lib.active_power(speech * gain)) + 40) < 0.5


def test_loud_mix_is_limited_not_clipped(speech):
    loud, _ = lib.set_level(speech, -3.0)
    assert np.max(np.abs(loud)) <= lib.PEAK_LIMIT + 1e-6


def _frame_db(x: np.ndarray, frame: int = 800) -> np.ndarray:
    n = len(x) // frame
    e = (x[: n * frame].astype(np.float64) ** 2).reshape(n, frame).mean(axis=1)
    return 10 * np.log10(e + 1e-12)


def test_babble_is_non_stationary_and_speech_like(babble, speech):
    rng = np.random.default_rng(0)
    pink = lib.pink_noise(len(babble), rng)
    white = lib.white_noise(len(babble), rng)
    b, p = _frame_db(babble), _frame_db(pink)
    # Level moves with syllables, far more than stationary noise...
    assert np.std(b) > 1.5
    assert np.std(b) > 3 * np.std(p)
    assert np.std(b) > 3 * np.std(_frame_db(white))
    # ...but several overlapping talkers leave no pauses, unlike one talker.
    assert np.mean(b < np.median(b) - 20) < 0.02
    one = lib.espeak(mk.TALK[0], "en-us+m1", 160, 50)
    assert np.std(b) < np.std(_frame_db(one))

    # Speech spectrum: most energy below 1 kHz, much less at 4-8 kHz than pink noise has.
    def low_high(x: np.ndarray) -> float:
        spec = np.abs(np.fft.rfft(x)) ** 2
        f = np.fft.rfftfreq(len(x), 1 / lib.RATE)
        return 10 * np.log10(
            spec[(f > 80) & (f < 1000)].sum() / spec[(f > 4000) & (f < 8000)].sum()
        )

    assert low_high(babble) > low_high(pink) + 5

    # Envelope modulation peaks at syllable rates (2-8 Hz), not flat like noise.
    def syllable_share(x: np.ndarray) -> float:
        env = np.sqrt(np.convolve(x.astype(np.float64) ** 2, np.ones(160) / 160, "same"))[::160]
        m = np.abs(np.fft.rfft(env - env.mean())) ** 2
        f = np.fft.rfftfreq(len(env), 160 / lib.RATE)
        return m[(f >= 2) & (f <= 8)].sum() / m[(f > 0.5) & (f <= 50)].sum()

    assert syllable_share(babble) > 2 * syllable_share(pink)


def test_babble_texts_hold_no_command_words():
    cw = mk.command_words()
    for text in mk.TALK:
        assert not set(mk.words_of(text)) & cw, text


def test_breath_and_cough_are_audible_bursts_with_envelopes():
    rng = np.random.default_rng(3)
    for x in (lib.breath("inhale", rng), lib.breath("exhale", rng), lib.cough(rng, 2)):
        d = _frame_db(x, 320)
        assert len(x) > 0.3 * lib.RATE
        assert d.max() - np.percentile(d, 10) > 10  # a burst, not a steady hiss
    inhale, exhale = lib.breath("inhale", rng), lib.breath("exhale", rng)
    # An inhale peaks late, an exhale early.
    assert np.argmax(_frame_db(inhale, 320)) > len(inhale) / 320 / 2
    assert np.argmax(_frame_db(exhale, 320)) < len(exhale) / 320 / 2


def test_voice_variants_exist_and_splits_are_disjoint():
    out = subprocess.run(["espeak-ng", "--version"], capture_output=True, text=True).stdout
    data = Path(out.split("Data at:")[1].strip())
    variants = {p.name for p in (data / "voices" / "!v").iterdir()}
    # espeak-ng silently falls back to the default voice for an unknown variant.
    assert set(mk.DEV_VARIANTS) <= variants
    assert set(mk.TEST_VARIANTS) <= variants
    assert not set(mk.DEV_VARIANTS) & set(mk.TEST_VARIANTS)
    listing = subprocess.run(["espeak-ng", "--voices=en"], capture_output=True, text=True).stdout
    langs = {line.split()[1] for line in listing.splitlines()[1:] if line.strip()}
    assert set(mk.ACCENTS) <= langs


def test_talker_voices_are_installed_and_speak():
    # Flite falls back to its default voice for a name it lacks: check the listing.
    listed = subprocess.run(["flite", "-lv"], capture_output=True, text=True).stdout.split()
    names = []
    for split in lib.SPLITS:
        for engine, name, f0 in mk.TALKER_VOICES[split]:
            assert engine != "flite" or name in listed, name
            names.append(name)
            x = mk.Voice(engine, name, pitch=f0, stretch=1.15).say("say that again")
            assert 0.5 < len(x) / lib.RATE < 3.0, name
            assert np.max(np.abs(x)) > 0.05, name
    assert len(set(names)) == len(names)


def test_reject_texts_are_not_vocabulary_phrases():
    phrases = set(all_phrases())
    for text in mk.EMBEDDED + mk.WORDS + mk.TALK + mk.SIGHS:
        assert normalize(text) not in phrases, text
    mk.check_texts()  # the builder's own guard passes


TINY = mk.Size(
    voices=1, joe=0, embedded_voices=1, word_voices=1, talk_voices=1,
    human_pieces=1, noises=6, silences=4, babble_seconds=6.0, subsample=0.1, talkers=1,
)  # fmt: skip


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> tuple[Path, list[dict], list[str]]:
    out = tmp_path_factory.mktemp("evalset") / "tiny"
    records, problems = mk.build(out, TINY, seed=11, jobs=1)
    return out, records, problems


def test_tiny_manifest_validates(tiny):
    out, records, problems = tiny
    assert problems == []
    lines = (out / "manifest.jsonl").read_text().splitlines()
    assert len(lines) == len(records) > 80
    cats = set()
    for line in lines:
        rec = json.loads(line)
        assert list(rec) == [
            "file", "expected", "phrase", "category", "speaker", "split", "noise", "snr", "seconds",
        ]  # fmt: skip
        cats.add(rec["category"])
        assert rec["split"] in ("dev", "test")
        assert rec["noise"] in ("none", "white", "pink", "babble")
        assert rec["snr"] in (None, 20, 10, 5)
        with wave.open(str(out / rec["file"]), "rb") as w:
            assert (w.getnchannels(), w.getsampwidth(), w.getframerate()) == (1, 2, 16000)
            assert abs(w.getnframes() / 16000 - rec["seconds"]) < 0.01
            x = np.frombuffer(w.readframes(w.getnframes()), "<i2")
        assert np.max(np.abs(x)) < 32767  # never clipped
        if rec["category"] != "silence":
            assert np.max(np.abs(x)) > 30  # and not empty
    assert cats == set(lib.CATEGORIES)
    entries = lib.load_manifest(out / "manifest.jsonl")
    assert [e.to_json() for e in entries] == lines


def test_tiny_labels_match_the_vocabulary(tiny):
    _, records, _ = tiny
    for split in ("dev", "test"):
        spoken = {
            r["phrase"] for r in records if r["category"] == "command" and r["split"] == split
        }
        assert spoken == set(all_phrases())
    for rec in records:
        if rec["category"] == "command":
            assert rec["expected"] == intent_of_phrase(rec["phrase"]).value
            assert rec["phrase"] in PHRASES[Intent(rec["expected"])]
        else:
            assert rec["expected"] is None
            assert intent_of_phrase(rec["phrase"]) is None
    voice = {r["split"]: set() for r in records}
    for r in records:
        if not r["speaker"].startswith("synth"):
            voice[r["split"]].add(":".join(r["speaker"].split(":")[:2]))
    assert not voice["dev"] & voice["test"]


def test_tiny_noise_conditions_are_balanced(tiny):
    _, records, _ = tiny
    cmd = [r for r in records if r["category"] == "command" and r["split"] == "dev"]
    conds = {(r["noise"], r["snr"]) for r in cmd}
    assert conds == set(mk.NOISE_CONDITIONS)


def test_validator_catches_broken_records(tiny):
    out, _, _ = tiny
    lines = (out / "manifest.jsonl").read_text().splitlines()
    good = json.loads(lines[0])
    bad = [
        {**good, "expected": "jump"},
        {**good, "snr": 15},
        {**good, "noise": "none", "snr": 10},
        {**good, "category": "noise"},  # a reject with an expected intent
        {**good, "file": "../x.wav"},
        {k: v for k, v in good.items() if k != "speaker"},
    ]
    for rec in bad:
        assert lib.validate_record(rec, INTENTS), rec
    assert lib.validate_record(good, INTENTS) == []
    broken = out.parent / "broken"
    broken.mkdir()
    rec = {**good, "file": "missing.wav"}
    (broken / "manifest.jsonl").write_text(json.dumps(rec) + "\n")
    assert any(
        "cannot read" in p for p in lib.validate_manifest(broken / "manifest.jsonl", INTENTS)
    )


def test_same_seed_same_plan():
    a = mk.plan(replace(TINY, joe=0), 3, {})
    b = mk.plan(replace(TINY, joe=0), 3, {})
    assert [(j.file, j.speaker, j.noise, j.snr, j.voice) for j in a] == [
        (j.file, j.speaker, j.noise, j.snr, j.voice) for j in b
    ]


@pytest.mark.skipif(shutil.which("sox") is None, reason="needs sox (scripts/install.sh --test)")
def test_room_copy_keeps_labels_and_adds_a_rooms_tail(tiny, tmp_path):
    import make_room_set

    out, records, _ = tiny
    copy = tmp_path / "room"
    rows = make_room_set.build(out, copy, {"test"}, seed=3, jobs=1)
    tests = [r for r in records if r["split"] == "test"]
    assert [r["file"] for r in rows] == [r["file"] for r in tests]
    assert all(r["expected"] == t["expected"] and r["room"].count("reverb") == 1
               for r, t in zip(rows, tests, strict=True))  # fmt: skip
    assert not copy.with_name("room.partial").exists()
    lines = (copy / "manifest.jsonl").read_text().splitlines()
    assert [json.loads(line) for line in lines] == rows
    # A clean command: after its last word the room rings on, well above what the dry
    # file still has there plus the hiss that the copy has everywhere.
    clean = next(r for r in rows if r["category"] == "command" and r["noise"] == "none")

    def samples(folder: Path) -> np.ndarray:
        with wave.open(str(folder / clean["file"]), "rb") as w:
            assert w.getframerate() == 16000 and w.getnchannels() == 1
            return np.frombuffer(w.readframes(w.getnframes()), "<i2").astype(float)

    dry, wet = samples(out), samples(copy)
    assert len(dry) == len(wet)
    frames = lambda x: np.sqrt(np.mean(x[: len(x) // 320 * 320].reshape(-1, 320) ** 2, axis=1))  # noqa: E731
    d, w = frames(dry), frames(wet)
    assert np.all(d[:5] < 2)  # the dry lead-in: all but silent
    hiss = 32768 * 10 ** (clean["hiss"] / 20)
    assert np.allclose(w[:5], hiss, rtol=0.25)  # the copy's lead-in: the hiss alone
    last = int(np.nonzero(d > d.max() / 10)[0][-1])  # the dry voice's last loud frame
    after = slice(last + 2, last + 8)  # 40-160 ms later
    assert np.mean(w[after]) > 2 * np.mean(d[after]) + hiss


def test_room_copy_of_a_missing_set_says_how_to_build_one(tmp_path):
    import make_room_set

    with pytest.raises(SystemExit, match="make_eval_set.py"):
        make_room_set.main([str(tmp_path / "nothing"), str(tmp_path / "out")])


def test_recording_conditions_do_what_they_say() -> None:
    import bench_recordings as br

    rng = np.random.default_rng(0)
    t = np.arange(br.RATE) / br.RATE
    words = np.concatenate(
        [np.zeros(4000), 0.3 * np.sin(2 * np.pi * 200 * t[:8000]), np.zeros(4000)]
    )

    def run(name: str) -> tuple[np.ndarray, int]:
        return br.CONDITIONS[name](words, rng)

    quieter, _ = run("20 dB quieter")
    assert np.max(np.abs(quieter)) == pytest.approx(0.03)
    cut, _ = run("cut at the last sound")
    assert 11_900 < len(cut) <= 12_000  # the tone's last loud sample, no quiet after it
    both, _ = run("cut at both ends")
    assert 7_800 < len(both) <= 8_000
    clip, _ = run("1 s clip")
    assert len(clip) == br.RATE
    stereo, rate = run("44.1 kHz stereo")
    assert rate == 44100 and stereo.shape[1] == 2
    clicked, _ = run("click at the start")
    assert np.abs(clicked[:4000]).max() > 0.3  # the click, before the words
    breathed, _ = run("breath before")
    first = br.sound_span(breathed)[0]
    assert first < 0.5 * br.RATE  # the breath, well before the words at 1.25 s
    offset, _ = run("DC offset")
    assert np.mean(offset[:4000]) == pytest.approx(0.02)
    hum, _ = run("mains hum")
    level = 20 * np.log10(np.sqrt(np.mean(hum[:4000] ** 2)))
    assert level == pytest.approx(-42, abs=0.5)  # its level, where the words are not
    spectrum = np.abs(np.fft.rfft(hum[:4000] * np.hanning(4000)))
    assert abs(np.argmax(spectrum) * br.RATE / 4000 - 50) <= 4  # 4 Hz bins


def test_recording_bench_runs_on_a_built_set(tiny, tmp_path) -> None:
    out, _, _ = tiny
    report = tmp_path / "report.json"
    only = "as built,click at the start,cut at the last sound"
    cmd = [sys.executable, str(SCRIPTS / "bench_recordings.py"), str(out)]
    done = subprocess.run(
        [*cmd, "--split", "all", "--only", only, "--json", str(report)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    figures = json.loads(report.read_text())
    assert figures["files"] > 0
    assert set(figures["conditions"]) == set(only.split(","))
    assert figures["conditions"]["as built"]["recall"] > 0
    assert figures["mode"] == "whole files"
    streamed = subprocess.run(
        [*cmd, "--split", "all", "--only", "as built", "--streaming", "--json", str(report)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert streamed.returncode == 0, streamed.stderr
    figures = json.loads(report.read_text())
    assert figures["mode"] == "streamed"
    assert figures["conditions"]["as built"]["recall"] > 0
    bad = subprocess.run([*cmd, "--only", "louder"], capture_output=True, text=True)
    assert bad.returncode == 2 and "unknown conditions" in bad.stderr
