"""The recognizer's noise suppressor, on real speech (espeak-ng) in generated noise, and
its noise floor, on real speech in digital silence."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from tests.espeak_voice import espeak
from voicecoach.asr.base import AsrSettings
from voicecoach.asr.pocketsphinx import PocketSphinxRecognizer
from voicecoach.audio.chunk import ASR_RATE, AudioChunk
from voicecoach.audio.denoise import DELAY, NoiseFloor, NoiseSuppressor, denoise
from voicecoach.commands import SAFETY_INTENTS, Intent

pytestmark = pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="needs espeak-ng")


def pcm(x: np.ndarray) -> np.ndarray:
    return np.clip(np.round(x * 32767), -32768, 32767).astype(np.int16)


def fan(seconds: float, dbfs: float, seed: int = 3) -> np.ndarray:
    """Steady broadband noise at ``dbfs`` (RMS): a fan or an air conditioner."""
    rng = np.random.default_rng(seed)
    return rng.normal(0.0, 10 ** (dbfs / 20), int(seconds * ASR_RATE)).astype(np.float32)


def level(x: np.ndarray) -> float:
    """RMS in dBFS of int16 samples."""
    return 20 * np.log10(np.sqrt(np.mean(x.astype(np.float64) ** 2)) / 32768)


def test_any_chunking_gives_the_same_stream_delay_late() -> None:
    rng = np.random.default_rng(0)
    x = pcm(np.concatenate([fan(1.0, -30), 0.3 * rng.standard_normal(8000)]))
    whole = NoiseSuppressor().process(x)
    for block in (1, 7, 320, 4000):
        ns = NoiseSuppressor()
        parts = [ns.process(x[i : i + block]) for i in range(0, len(x), block)]
        assert all(
            len(p) == len(x[i : i + block])
            for p, i in zip(parts, range(0, len(x), block), strict=True)
        )
        assert np.array_equal(np.concatenate(parts), whole)
    assert not whole[:DELAY].any()  # the first DELAY samples out are the delay
    later = NoiseSuppressor(DELAY + 100).process(x)
    assert np.array_equal(later[100:], whole[:-100])
    with pytest.raises(ValueError):
        NoiseSuppressor(DELAY - 1)


def test_speech_in_a_quiet_room_passes_untouched() -> None:
    # A quiet room (-54 dBFS) is under the level the filter takes noise down to.
    x = pcm(np.concatenate([fan(0.5, -54), espeak("it hurts") + fan(1.0, -54)[:1]]))
    assert np.array_equal(denoise(x), x)


def test_steady_noise_is_taken_down_and_the_voice_kept() -> None:
    voice = espeak("where am i")
    noise = fan(1.5 + len(voice) / ASR_RATE, -30)
    clean = np.concatenate([np.zeros(int(1.5 * ASR_RATE), np.float32), voice])
    noisy = pcm(clean + noise)
    out = denoise(noisy)
    before = slice(int(0.5 * ASR_RATE), int(1.4 * ASR_RATE))  # noise only, warmed up
    assert level(noisy[before]) == pytest.approx(-30, abs=0.5)
    assert level(out[before]) < -44  # down by 14 dB or more (near QUIET)
    # Where the voice is, the output is much nearer the clean voice than the input was.
    talk = slice(int(1.5 * ASR_RATE), len(clean))
    target = pcm(clean)[talk].astype(np.float64)

    def error_db(y: np.ndarray) -> float:
        return level(y[talk].astype(np.float64) - target) - level(target)

    assert error_db(out) < error_db(noisy) - 5


def stream_spans(
    rec: PocketSphinxRecognizer, audio: np.ndarray
) -> list[tuple[Intent | None, float, float]]:
    """Each final result's intent, start and end, in seconds into ``audio``."""
    out = []
    for i in range(0, len(audio), 320):
        chunk = AudioChunk.from_float(audio[i : i + 320], ASR_RATE, 50.0 + i / ASR_RATE)
        out += rec.accept(chunk)
    out += rec.flush()
    return [
        (r.intent, round(r.start - 50.0, 2), round(r.end - 50.0, 2))
        for r in out
        if not r.provisional
    ]


def stream_results(
    rec: PocketSphinxRecognizer, audio: np.ndarray
) -> list[tuple[Intent | None, float]]:
    return [(intent, start) for intent, start, _ in stream_spans(rec, audio)]


@pytest.fixture(scope="module")
def it_hurts_at_6s() -> np.ndarray:
    silence = np.zeros(6 * ASR_RATE, np.float32)
    return np.concatenate([silence, espeak("it hurts"), silence[:ASR_RATE]])


@pytest.mark.parametrize("rnnoise", [True, False], ids=["rnnoise", "wiener"])
def test_over_a_loud_fan_the_utterance_is_found_at_all(
    it_hurts_at_6s: np.ndarray, rnnoise: bool
) -> None:
    """In steady noise at -30 dBFS the voice detector calls everything speech: without
    a noise suppressor (RNNoise, or this Wiener filter) the recognizer waits for an end
    that never comes and finds nothing where the user spoke. With it an utterance that
    holds the words ends. (Whether the words are then right is for the benchmark. At
    this level the Wiener filter's residue may start the utterance before the talker:
    at 5.4 s with this noise; RNNoise's at 6.0 s, with the talker.)"""
    audio = it_hurts_at_6s + fan(len(it_hurts_at_6s) / ASR_RATE, -30)
    plain = PocketSphinxRecognizer(settings=AsrSettings(denoise=False))
    assert [start for _, start in stream_results(plain, audio) if start > 1.0] == []
    words_end = np.nonzero(np.abs(it_hurts_at_6s) > 0.01)[0][-1] / ASR_RATE
    spans = stream_spans(PocketSphinxRecognizer(settings=AsrSettings(rnnoise=rnnoise)), audio)
    # Its end within a 30 ms frame of the words' (the detector's step).
    assert any(5.0 < start <= 6.05 and end >= words_end - 0.03 for _, start, end in spans)


@pytest.mark.parametrize("rnnoise", [True, False], ids=["rnnoise", "wiener"])
@pytest.mark.parametrize("seed", [3, 4])
def test_it_hurts_over_a_fan_is_heard(it_hurts_at_6s: np.ndarray, seed: int, rnnoise: bool) -> None:
    """PocketSphinx misses it without the noise suppressor and hears it with it. (The
    second model, left out for that comparison, hears it either way.)"""
    audio = it_hurts_at_6s + fan(len(it_hurts_at_6s) / ASR_RATE, -36, seed)
    plain = PocketSphinxRecognizer(settings=AsrSettings(denoise=False, verify=False))
    assert Intent.HURT not in [i for i, _ in stream_results(plain, audio)]
    for settings in (AsrSettings(rnnoise=rnnoise, verify=False), AsrSettings(rnnoise=rnnoise)):
        heard = stream_results(PocketSphinxRecognizer(settings=settings), audio)
        assert [(i, start) for i, start in heard if i is not None] == [
            (Intent.HURT, pytest.approx(6.0, abs=0.12))
        ]


def test_the_noise_floor_fills_digital_silence_only() -> None:
    floor = NoiseFloor(0.0005)
    room = pcm(fan(1.0, -62))  # a quiet room's noise, above the floor: untouched
    gated = np.concatenate([np.zeros(8000, np.int16), room[:8000]])
    chunks = (7, 16_000, 153, 320, 16_000 - 7 - 153 - 320)
    first = np.concatenate(
        [
            floor.process(part)
            for part in np.split(np.concatenate([gated, gated]), np.cumsum(chunks[:-1]))
        ]
    )
    assert level(first[:8000]) == pytest.approx(-66, abs=0.5)
    assert np.array_equal(first[8000:16_000], room[:8000])
    floor.restart()
    assert np.array_equal(floor.process(np.concatenate([gated, gated])), first)
    with pytest.raises(ValueError):
        NoiseFloor(0.0)


@pytest.mark.parametrize("words", ["it hurts", "that hurts"])
def test_a_pain_report_in_digital_silence_is_heard_wherever_it_falls(words: str) -> None:
    """Some microphones deliver digital zero between words. There, without the noise
    floor (``AsrSettings.noise_floor=0``), PocketSphinx missed this "it hurts" at 5 of
    these 10 offsets within a 20 ms chunk (as "next", rejected); "that hurts" at none.
    (Over 20 offsets of 10 commands in this voice, each from a fresh recognizer: 179 of
    200 heard without the floor, 184 with it: "it hurts" 11 -> 20, "repeat" 9 -> 20,
    but "next" 20 -> 4, rejected. The evaluation set's figures are in AsrSettings.)"""
    said = espeak(words)
    said = said * (0.5 / np.max(np.abs(said)))
    heard = {}
    for offset in range(0, 320, 32):
        audio = np.concatenate([np.zeros(2 * ASR_RATE + offset, np.float32), said])
        audio = np.concatenate([audio, np.zeros(2 * ASR_RATE, np.float32)])
        rec = PocketSphinxRecognizer()  # fresh: the cepstral mean carries across reset()
        rec.set_early_end(SAFETY_INTENTS)
        heard[offset] = [intent for intent, _, _ in stream_spans(rec, audio)]
    assert heard == dict.fromkeys(range(0, 320, 32), [Intent.HURT])
