"""The echo canceller on real speech (espeak-ng) through the demo's reverberant room."""

from __future__ import annotations

import numpy as np
import pytest

from voicecoach.audio.aec import (
    AecSettings,
    EchoCanceller,
    ReferenceBuffer,
    ResidualSuppressor,
    to_reference,
)
from voicecoach.audio.chunk import ASR_RATE, AudioChunk
from voicecoach.runtime.demo import DemoSettings, room_response, speak_espeak

COACH_LINES = (
    "Turn your head slowly to the left, as far as is comfortable.",
    "Hold. Five. Four. Three. Two. One.",
    "Now back to the middle, and breathe out gently.",
    "Press your palm against your forehead and hold.",
)


@pytest.fixture(scope="module")
def coach() -> np.ndarray:
    """About 25 s of the coach's lines in an espeak-ng voice, with short pauses."""
    gap = np.zeros(int(0.6 * ASR_RATE), dtype=np.float32)
    parts = []
    for _ in range(2):
        for line in COACH_LINES:
            parts += [speak_espeak(line, "en-us", 160), gap]
    return np.concatenate(parts)


@pytest.fixture(scope="module")
def user() -> np.ndarray:
    """'it hurts' in another voice, peaking at the demo's user level."""
    speech = speak_espeak("it hurts", "en-us+f3", 150)
    return speech * (DemoSettings().user_peak / np.max(np.abs(speech)))


def run(
    mic: np.ndarray, reference: np.ndarray, settings: AecSettings, t0: float = 100.0
) -> np.ndarray:
    """Feed ``mic`` in 20 ms chunks from clock time ``t0``, the reference placed on the
    same clock; return the output lined up with the input."""
    buffer = ReferenceBuffer(keep=len(reference) / ASR_RATE + 2)
    buffer.add(t0, reference)
    aec = EchoCanceller(buffer, settings)
    out = np.zeros_like(mic)
    base = ReferenceBuffer.index(t0)
    for i in range(0, len(mic) - 320 + 1, 320):
        done = aec.process(AudioChunk.from_float(mic[i : i + 320], ASR_RATE, t0 + i / ASR_RATE))
        if done is not None:
            j = ReferenceBuffer.index(done.timestamp) - base
            out[j : j + done.frames] = done.samples()[:, 0]
    return out


def db(a: np.ndarray, b: np.ndarray) -> float:
    return float(10 * np.log10(np.sum(a**2) / max(np.sum(b**2), 1e-12)))


def room_echo(coach: np.ndarray, shift: float = 0.0) -> np.ndarray:
    """The coach through the demo's room, arriving ``shift`` s later than played."""
    echo = np.convolve(coach, room_response(DemoSettings()))[: len(coach)]
    k = int(round(shift * ASR_RATE))
    if k > 0:
        echo = np.concatenate([np.zeros(k), echo[:-k]])
    elif k < 0:
        echo = np.concatenate([echo[-k:], np.zeros(-k)])
    return echo


def noise(n: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).normal(0.0, DemoSettings().noise_rms, n)


LINEAR = AecSettings(suppress=False)


def test_the_echo_of_a_reverberant_room_is_taken_down(coach: np.ndarray) -> None:
    echo = room_echo(coach)
    out = run(echo + noise(len(echo)), coach, LINEAR)
    late = slice(len(coach) // 2, len(coach))  # after the filter has converged
    assert db(echo[late], out[late]) > 15.0  # measured about 22 dB


def test_echo_up_to_the_lead_earlier_than_reported_is_still_cancelled(
    coach: np.ndarray,
) -> None:
    # The sink's idea of when audio leaves the speaker is 30 ms late.
    echo = room_echo(coach, shift=-0.03)
    out = run(echo + noise(len(echo)), coach, LINEAR)
    late = slice(len(coach) // 2, len(coach))
    assert db(echo[late], out[late]) > 12.0


def test_without_a_reference_nothing_changes(coach: np.ndarray) -> None:
    mic = room_echo(coach) + noise(len(coach))
    out = run(mic, np.zeros(0, dtype=np.float32), LINEAR)
    assert np.allclose(out[:-320], mic[:-320], atol=2e-4)  # int16 rounding only


def test_the_users_voice_over_the_coach_survives_and_the_filter_holds(
    coach: np.ndarray, user: np.ndarray
) -> None:
    echo = room_echo(coach)
    voice = np.zeros_like(echo)
    # Where the coach is loudest, in the second half (the filter has converged).
    starts = range(int(0.55 * len(coach)), int(0.75 * len(coach)), 1600)
    at = max(starts, key=lambda i: float(np.sum(echo[i : i + len(user)] ** 2)))
    voice[at : at + len(user)] = user
    mic = echo + voice + noise(len(echo))
    out = run(mic, coach, AecSettings())
    said = slice(at, at + len(user))
    # What the canceller left of the user's words is close to them (raw mic: ~0-3 dB).
    assert db(voice[said], out[said] - voice[said]) > 10.0
    assert db(voice[said], mic[said] - voice[said]) < 6.0
    # Double talk did not undo what the filter learned: the echo after it is still down.
    after = slice(at + len(user) + ASR_RATE, len(coach))
    assert db(echo[after], out[after] - voice[after]) > 12.0


def test_the_suppressor_takes_echo_only_blocks_to_the_noise_floor(coach: np.ndarray) -> None:
    echo = room_echo(coach)
    quiet = noise(len(echo))
    linear = run(echo + quiet, coach, LINEAR)
    full = run(echo + quiet, coach, AecSettings())
    late = slice(len(coach) // 2, len(coach))
    left_linear = np.mean((linear[late] - quiet[late]) ** 2)
    left_full = np.mean(full[late] ** 2)
    assert left_full < left_linear
    assert left_full < 4 * np.mean(quiet[late] ** 2)


def test_a_gap_in_the_chunks_restarts_the_block_grid() -> None:
    buffer = ReferenceBuffer()
    aec = EchoCanceller(buffer)
    tone = np.sin(np.arange(480) * 0.1).astype(np.float32) * 0.1
    first = aec.process(AudioChunk.from_float(tone, ASR_RATE, 5.0))
    assert first is not None and first.timestamp == 5.0 and first.frames == 480
    second = aec.process(AudioChunk.from_float(tone[:100], ASR_RATE, 5.03))
    assert second is None  # under a block: held back
    third = aec.process(AudioChunk.from_float(tone, ASR_RATE, 9.0))  # a jump
    assert third is not None and third.timestamp == 9.0 and third.frames == 480
    with pytest.raises(ValueError, match="16 kHz mono"):
        aec.process(AudioChunk.from_float(tone, 48_000, 9.1))


def test_reference_buffer_places_mixes_and_forgets() -> None:
    buf = ReferenceBuffer(keep=1.0)
    one = np.ones(1600, dtype=np.float32)
    buf.add(2.0, one)  # samples 32000..33599
    buf.add(2.05, one)  # overlaps from 32800
    got = buf.read(31_990, 1700)
    assert got[:10].sum() == 0 and got[10] == 1.0
    assert got[800 + 10] == 2.0
    buf.clear_from(2.1)  # sample 33600 on
    assert buf.read(33_590, 20)[:10].tolist() == [2.0] * 10
    assert not buf.read(33_600, 900).any()
    buf.add(10.0, one)  # far ahead: the old samples fall out of the 1 s kept
    assert not buf.read(32_000, 1600).any()
    assert buf.read(160_000, 1600).tolist() == one.tolist()


def test_reference_resampling_keeps_the_voice_band_and_drops_what_would_alias() -> None:
    rate = 22_050
    t = np.arange(rate) / rate
    low = to_reference(np.sin(2 * np.pi * 1000 * t).astype(np.float32), rate)
    high = to_reference(np.sin(2 * np.pi * 9500 * t).astype(np.float32), rate)
    assert len(low) == ASR_RATE
    assert np.std(low[200:-200]) == pytest.approx(np.sqrt(0.5), rel=0.05)
    assert np.std(high[200:-200]) < 0.05  # 9.5 kHz would fold to 6.5 kHz


def test_suppressor_passes_speech_well_above_the_echo() -> None:
    sup = ResidualSuppressor()
    rng = np.random.default_rng(1)
    quiet = rng.normal(0, 0.002, 160)
    assert np.allclose(sup.process(quiet, np.zeros(160)), quiet)  # learns the floor
    echo = rng.normal(0, 0.05, 160)
    for _ in range(50):  # residual echo 20 dB under the estimate
        sup.process(0.1 * echo + rng.normal(0, 0.002, 160), echo)
    loud = rng.normal(0, 0.1, 160)  # the user, far above what the echo leaves
    assert np.allclose(sup.process(loud, echo), loud)


def spans_over_the_coach(
    coach: np.ndarray, settings: AecSettings | None
) -> tuple[list[tuple[float, float]], list[tuple[float, float]]]:
    """Safety commands said over the coach's loudest stretches, streamed through the
    real PocketSphinx engine: (where the user spoke, the utterances it delivered)."""
    from voicecoach.asr import load_recognizer
    from voicecoach.asr.base import AsrSettings

    echo = room_echo(coach)
    voice = np.zeros_like(echo)
    said = []
    users = (("it hurts", "en-us+f3"), ("stop", "en-us+m3"), ("it hurts", "en-gb+f2"))
    for k, (phrase, who) in enumerate(users):
        speech = speak_espeak(phrase, who, 150)
        speech = speech * (DemoSettings().user_peak / np.max(np.abs(speech)))
        lo = int((0.5 + 0.15 * k) * len(coach))
        starts = range(lo, lo + int(0.1 * len(coach)), 800)
        at = max(starts, key=lambda i: float(np.sum(echo[i : i + len(speech)] ** 2)))
        voice[at : at + len(speech)] += speech
        said.append((at / ASR_RATE, (at + len(speech)) / ASR_RATE))
    mic = np.clip(echo + voice + noise(len(echo)), -1, 1)
    out = mic if settings is None else run(mic, coach, settings, t0=0.0)
    out = np.concatenate([out, np.zeros(ASR_RATE)])  # end on silence
    recognizer = load_recognizer(AsrSettings(engine="pocketsphinx"))
    spans = []
    for i in range(0, len(out) - 320 + 1, 320):
        chunk = AudioChunk.from_float(out[i : i + 320], ASR_RATE, i / ASR_RATE)
        spans += [(r.start, r.end) for r in recognizer.accept(chunk) if not r.partial]
    return said, spans


@pytest.mark.slow
def test_over_the_coach_the_recognizer_hears_the_users_words_on_their_own(
    coach: np.ndarray,
) -> None:
    # Long enough for the filter to converge before the user speaks.
    coach = np.concatenate([coach, coach])
    said, raw = spans_over_the_coach(coach, None)
    # Without the canceller the endpointer opens utterances all over the coach's speech
    # and joins the user's words to the echo around them.
    assert len(raw) >= 10
    said, spans = spans_over_the_coach(coach, AecSettings())
    for s, e in said:
        # Each command comes out as an utterance of its own, not merged with the echo.
        assert any(s - 0.3 < a < e and s < b < e + 0.5 for a, b in spans), (s, e, spans)
    alone = [(a, b) for a, b in spans if not any(a < e + 0.3 and b > s - 0.3 for s, e in said)]
    assert len(alone) <= 2, alone
