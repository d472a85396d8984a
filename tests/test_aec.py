"""The echo canceller on real speech (espeak-ng) through the demo's reverberant room."""

from __future__ import annotations

import numpy as np
import pytest

from tests.played_power import PlayedPower
from voicecoach.audio.aec import (
    AdaptiveFilter,
    AecSettings,
    EchoCanceller,
    ReferenceBuffer,
    ResidualSuppressor,
    place_reference,
    to_reference,
)
from voicecoach.audio.chunk import ASR_RATE, AudioChunk, resample
from voicecoach.audio.sd_output import OutputBuffer, Written
from voicecoach.audio.sinks import MemorySink, VirtualClock, to_sink_rate
from voicecoach.runtime.demo import DemoSettings, room_response, speak_espeak
from voicecoach.runtime.doubletalk import DoubleTalk, ResidualCheck, TapSink

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


def test_a_block_waits_for_the_reference_it_needs_unless_the_reference_stopped() -> None:
    lead = AecSettings().lead
    complete = [5.0]
    aec = EchoCanceller(ReferenceBuffer(), ready=lambda: complete[0])
    tone = np.sin(np.arange(320) * 0.1).astype(np.float32) * 0.1
    # 5.00-5.02 needs the reference up to 5.02 + the lead: none of it is there.
    assert aec.process(AudioChunk.from_float(tone, ASR_RATE, 5.0)) is None
    complete[0] = 5.01 + lead  # enough for the first 10 ms block
    out = aec.process(AudioChunk.from_float(tone, ASR_RATE, 5.02))
    assert out is not None and out.timestamp == 5.0 and out.frames == 160
    complete[0] = 5.04 + lead
    out = aec.process(AudioChunk.from_float(tone, ASR_RATE, 5.04))
    assert out is not None and out.timestamp == 5.01 and out.frames == 3 * 160
    # The reference stops coming (a dead output): once the microphone is 0.25 s past
    # it, the canceller stops waiting.
    t, held = 5.06, 0
    while (out := aec.process(AudioChunk.from_float(tone, ASR_RATE, t))) is None:
        t, held = t + 0.02, held + 1
    assert 0.25 - 0.02 <= t + 0.02 - complete[0] <= 0.25 + 0.02
    assert held > 0 and out.frames > 160


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
    # The user's weak first sound, then the user far above what the echo leaves: both
    # pass unchanged, out two blocks late (the lookahead).
    weak = rng.normal(0, 0.006, 160)
    loud = rng.normal(0, 0.1, 160)
    out = [sup.process(b, echo) for b in (weak, loud, loud, loud)]
    assert np.allclose(out[2], weak) and np.allclose(out[3], loud)
    # The coach falls quiet: what was held comes out with the quiet block, nothing lost.
    tail = sup.process(quiet, np.zeros(160))
    assert np.allclose(tail, np.concatenate([loud, loud, quiet]))
    assert sup.held == 0


def test_the_canceller_hands_on_every_sample_once_in_order(
    coach: np.ndarray, user: np.ndarray
) -> None:
    # While the coach is heard the suppressor holds blocks back; the chunks that come
    # out still follow each other without a gap or an overlap, and once the coach is
    # quiet nothing is held.
    echo = room_echo(coach)
    voice = np.zeros_like(echo)
    at = len(coach) // 2
    voice[at : at + len(user)] = user
    mic = np.concatenate([echo + voice + noise(len(echo)), noise(ASR_RATE)])
    buffer = ReferenceBuffer(keep=len(mic) / ASR_RATE + 2)
    buffer.add(0.0, coach)
    aec = EchoCanceller(buffer)
    expected = 0
    lags = []
    for i in range(0, len(mic) - 320 + 1, 320):
        done = aec.process(AudioChunk.from_float(mic[i : i + 320], ASR_RATE, i / ASR_RATE))
        if done is not None:
            assert ReferenceBuffer.index(done.timestamp) == expected
            expected += done.frames
        lags.append(i + 320 - expected)
    assert expected == len(mic) - len(mic) % 320  # the last second is quiet: all out
    assert max(lags) == 2 * 160  # the lookahead, while the coach was heard


def test_the_users_words_between_the_coachs_do_not_raise_the_comfort_noise(
    user: np.ndarray,
) -> None:
    # The comfort noise stands in for the room's noise: if the user's words, said while
    # the coach is quiet, lifted it, the voice detector would hear speech in it.
    sup = ResidualSuppressor()
    rng = np.random.default_rng(2)
    floor = 0.002
    for _ in range(100):  # a quiet room
        sup.process(rng.normal(0, floor, 160), np.zeros(160))
    words = user[: int(np.flatnonzero(np.abs(user) > 0.02 * np.max(np.abs(user)))[-1])]
    for i in range(0, len(words) - 160 + 1, 160):  # "it hurts" in a gap in the coach's
        sup.process(words[i : i + 160] + rng.normal(0, floor, 160), np.zeros(160))
    echo = rng.normal(0, 0.05, 160)
    out = np.concatenate(
        [sup.process(0.05 * echo + rng.normal(0, floor, 160), echo) for _ in range(100)]
    )[3200:]  # the coach again; its residual echo goes, once the gain has closed
    assert 10 * np.log10(np.mean(out**2) / floor**2) == pytest.approx(0.0, abs=1.5)


def spans_over_the_coach(
    coach: np.ndarray, settings: AecSettings | None
) -> tuple[list[tuple[float, float]], list[tuple[float, float]]]:
    """Safety commands said over the coach's loudest stretches, streamed through the
    real PocketSphinx engine: (where the user spoke, the utterances it delivered)."""
    from voicecoach.asr import load_recognizer
    from voicecoach.asr.base import AsrSettings
    from voicecoach.commands import SAFETY_INTENTS

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
    recognizer.set_early_end(SAFETY_INTENTS)  # as the live loop does while the coach speaks
    spans = []
    for i in range(0, len(out) - 320 + 1, 320):
        chunk = AudioChunk.from_float(out[i : i + 320], ASR_RATE, i / ASR_RATE)
        spans += [(r.start, r.end) for r in recognizer.accept(chunk) if not r.partial]
    return said, spans


def on_their_own(start: float, end: float, spans: list[tuple[float, float]]) -> bool:
    """Whether words said from ``start`` to ``end`` came out as an utterance of their own."""
    return any(start - 0.3 < a < end and start < b < end + 0.5 for a, b in spans)


@pytest.mark.slow
def test_over_the_coach_the_recognizer_hears_the_users_words_on_their_own(
    coach: np.ndarray,
) -> None:
    # Long enough for the filter to converge before the user speaks.
    coach = np.concatenate([coach, coach])
    said, raw = spans_over_the_coach(coach, None)
    # Without the canceller the user's words are lost in the echo: the endpointer joins
    # them to the echo around them, or (the talk gate acting on the coach's talk, which
    # is as loud as they are) hears neither.
    assert not all(on_their_own(s, e, raw) for s, e in said)
    said, spans = spans_over_the_coach(coach, AecSettings())
    for s, e in said:
        # Each command comes out as an utterance of its own, not merged with the echo.
        assert on_their_own(s, e, spans), (s, e, spans)
    alone = [(a, b) for a, b in spans if not any(a < e + 0.3 and b > s - 0.3 for s, e in said)]
    assert len(alone) <= 2, alone


class CallbackDevice:
    """Drives a :class:`~voicecoach.audio.sd_output.OutputBuffer` as PortAudio drives the
    sounddevice sink's: one 256-frame block per callback on a virtual clock, each block
    reaching the speaker ``latency`` later, its reported time off by up to 3 ms (the
    callback's scheduling). Keeps what the speaker played, at 22.05 kHz on the clock."""

    rate = 22_050
    block = 256

    def __init__(self, seconds: float, latency: float = 0.04) -> None:
        self.now = 0.0
        self.clock = lambda: self.now
        self.buffer = OutputBuffer(self.rate)
        self.latency = latency
        self.speaker = np.zeros(int(seconds * self.rate), dtype=np.float32)
        self._blocks = 0
        self._rng = np.random.default_rng(1)

    def play(self, chunk: AudioChunk, utterance_id: int | None = None) -> None:
        self.buffer.play(to_sink_rate(chunk, self.rate), utterance_id)

    def take_played(self) -> list[Written]:
        return self.buffer.take_played()

    @property
    def decided_until(self) -> float:
        return self.buffer.decided_until

    def run_until(self, t: float) -> None:
        """Every callback due by clock time ``t``."""
        while self._blocks * self.block / self.rate <= t:
            due = self._blocks * self.block / self.rate
            out = np.zeros(self.block, dtype=np.float32)
            self.buffer.fill(out, due + self.latency + float(self._rng.uniform(-0.003, 0.003)))
            at = int(round((due + self.latency) * self.rate))
            n = max(0, min(self.block, len(self.speaker) - at))
            self.speaker[at : at + n] = out[:n]
            self._blocks += 1


def play_lines(
    lines: list[np.ndarray], seconds: float, latency: float, mic: np.ndarray | None = None
) -> tuple[CallbackDevice, list[float], np.ndarray]:
    """Hand ``lines`` to a tapped sink on a :class:`CallbackDevice`, one after another with
    pauses, as the live loop does; the microphone's 20 ms chunks (``mic``, if given) go
    through the echo canceller as they arrive, 2 ms after their last sample. Returns the
    device (what the speaker played), the hand-over times and the canceller's output."""
    rng = np.random.default_rng(2)
    device = CallbackDevice(seconds, latency)
    tap = TapSink(device, keep=seconds + 1)  # type: ignore[arg-type]
    aec = EchoCanceller(tap.played, LINEAR, ready=tap.complete_until)
    out = np.zeros(int(seconds * ASR_RATE), dtype=np.float32)
    handovers, t = [], 0.5
    for line in lines:
        handovers.append(t)
        t += len(line) / ASR_RATE + float(rng.uniform(0.6, 1.2))
    todo = list(zip(handovers, lines, strict=True))
    for i in range(320, len(out) - ASR_RATE, 320):
        device.now = i / ASR_RATE + 0.002
        while todo and todo[0][0] <= device.now:
            device.run_until(todo[0][0])
            tap.sync()
            tap.play(AudioChunk.from_float(todo.pop(0)[1], ASR_RATE))
        device.run_until(device.now)
        tap.sync()
        if mic is not None:
            chunk = AudioChunk.from_float(mic[i - 320 : i], ASR_RATE, (i - 320) / ASR_RATE)
            done = aec.process(chunk)
            if done is not None:
                j = ReferenceBuffer.index(done.timestamp)
                out[j : j + done.frames] = done.samples()[:, 0]
    return device, handovers, out


def test_the_echo_at_each_utterances_start_is_cancelled_whenever_it_was_handed_over(
    coach: np.ndarray,
) -> None:
    """Lines handed to the sink at arbitrary moments start playing at the next callback,
    up to a block later, plus whatever the device buffers. The reference is placed where
    the device's callback put each line, so the echo path the canceller learnt holds
    from one line to the next, and each line's echo is cancelled from its first words
    (placed at the handover plus the latency instead, the path moved at every line and
    the canceller added echo at each line's start, -4 to -1 dB; in the live benchmark
    the echo it left at the start of a long announcement held an utterance open past the
    longest command, and a "stop" said then was lost). The device's latency (2 ms) is far
    shorter than the microphone's chunk: the canceller waits for the reference it needs
    (without waiting, it read the newest reference before it was written and cancelled
    nothing, 0 dB)."""
    lines = [coach[: len(coach) // 2], coach[len(coach) // 2 :]] * 2
    seconds = sum(len(x) for x in lines) / ASR_RATE + 1.2 * len(lines) + 2
    latency = 0.002
    device, starts, _ = play_lines(lines, seconds, latency)
    # The microphone hears what the speaker played, through the room.
    echo = room_echo(to_reference(device.speaker, device.rate))
    mic = echo + noise(len(echo))
    again, _, out = play_lines(lines, seconds, latency, mic)
    assert np.array_equal(again.speaker, device.speaker)
    for start in starts[1:]:
        # The first second of each line after the first.
        first = slice(int(start * ASR_RATE), int((start + 1.0) * ASR_RATE))
        assert db(echo[first], out[first]) > 10.0, start  # measured 12-24 dB


# ------------------------------------------------- the check on what the canceller left


@pytest.fixture(scope="module")
def long_coach(coach: np.ndarray) -> np.ndarray:
    """About 70 s of the coach: the canceller settles over the first 40 s of this voice,
    and the check waits for that."""
    return np.concatenate([coach, coach])


def residual_check(
    mic: np.ndarray, reference: np.ndarray, t0: float = 100.0
) -> tuple[ResidualCheck, float]:
    """``mic`` through the product's canceller from clock time ``t0``, and the check on
    its block log (with the clock time of sample 0)."""
    buffer = ReferenceBuffer(keep=len(reference) / ASR_RATE + 2)
    buffer.add(t0, reference)
    aec = EchoCanceller(buffer)
    for i in range(0, len(mic) - 320 + 1, 320):
        aec.process(AudioChunk.from_float(mic[i : i + 320], ASR_RATE, t0 + i / ASR_RATE))
    return ResidualCheck(aec.log), t0


def echo_windows(coach: np.ndarray, t0: float, skip: float) -> list[tuple[float, float]]:
    """0.8 s windows, every 0.2 s from ``skip`` s on, in which the coach is heard."""
    out = []
    for s in np.arange(skip, len(coach) / ASR_RATE - 1.0, 0.2):
        part = coach[int(s * ASR_RATE) : int((s + 0.8) * ASR_RATE)]
        if np.mean(part**2) > 1e-4:
            out.append((t0 + s, t0 + s + 0.8))
    return out


def test_a_user_as_loud_as_the_echo_stands_out_in_what_the_canceller_left(
    long_coach: np.ndarray, user: np.ndarray
) -> None:
    """Where the coach is loudest, "it hurts" peaking at the echo's own peak: the
    microphone holds barely twice the echo's power there (the level check on it asks
    for more than that), but the canceller took the echo down some 20 dB."""
    coach = long_coach
    echo = room_echo(coach)
    voice = np.zeros_like(echo)
    starts = range(int(0.75 * len(coach)), int(0.9 * len(coach)), 1600)
    at = max(starts, key=lambda i: float(np.sum(echo[i : i + len(user)] ** 2)))
    voice[at : at + len(user)] = user * (np.max(np.abs(echo)) / np.max(np.abs(user)))
    check, t0 = residual_check(echo + voice + noise(len(echo)), coach)
    start, end = t0 + at / ASR_RATE, t0 + (at + len(user)) / ASR_RATE
    assert check.user_present(start, end) is True
    # The coach alone, in every window, is not taken for the user.
    clear = [w for w in echo_windows(coach, t0, 5.0) if w[1] < start - 0.5 or w[0] > end + 0.5]
    assert len(clear) > 200
    assert [w for w in clear if check.user_present(*w)] == []


def test_the_check_stands_aside_where_the_canceller_cannot_work(coach: np.ndarray) -> None:
    # Before the coach has been heard for long, there is nothing to judge by.
    echo = room_echo(coach)
    check, t0 = residual_check(echo + noise(len(echo)), coach)
    assert check.user_present(t0 + 0.5, t0 + 1.3) is None
    # An echo 0.8 s later than played: beyond the filter's 0.4 s, nothing is cancelled
    # and the check answers nothing (the level check, which looks 1.5 s back, does).
    late = room_echo(coach, shift=0.8)
    check, t0 = residual_check(late + noise(len(late)), coach)
    answers = {check.user_present(*w) for w in echo_windows(coach, t0, 5.0)}
    assert answers == {None}


def test_the_speaker_turned_up_is_not_taken_for_the_user(long_coach: np.ndarray) -> None:
    """Turned up 6 dB over a second, the echo is more than the filter takes out until
    it has learned the new level: what is left is the echo scaled (not counted), then
    a filter still settling (the check stands aside). Not covered: a window that holds
    the change's first second, where the filter's first steps towards the new level
    leave as much as a user would (``scripts/bench_doubletalk.py --seconds 600 --seed 2
    --volume-step 6``: 0.25 % of the echo windows, 1.61 % with the level check alone)."""
    coach = long_coach
    echo = room_echo(coach)
    step = int(0.75 * len(echo))
    gain = np.ones(len(echo))
    gain[step : step + ASR_RATE] = np.linspace(1.0, 2.0, ASR_RATE)
    gain[step + ASR_RATE :] = 2.0
    check, t0 = residual_check(echo * gain + noise(len(echo)), coach)
    change = t0 + step / ASR_RATE
    windows = [w for w in echo_windows(coach, t0, 5.0) if not change - 0.8 < w[0] < change + 1.2]
    assert len([w for w in windows if w[0] > change]) > 40
    assert [w for w in windows if check.user_present(*w)] == []


def test_a_silent_reference_is_skipped_with_the_same_result(coach: np.ndarray) -> None:
    """Once nothing has played for longer than the filter spans, the filter predicts no
    echo and learns nothing, so it skips its transforms (the coach waits for the user
    most of a session). A filter that always runs them gives the same output and ends
    up the same filter."""
    gap = np.zeros(3 * ASR_RATE, dtype=np.float32)
    played = np.concatenate([coach[: 8 * ASR_RATE], gap, coach[8 * ASR_RATE :], gap])
    mic = room_echo(played) + noise(len(played))
    fast, full = AdaptiveFilter(), AdaptiveFilter(AecSettings(skip_silence=False))
    out_fast, out_full = [], []
    for i in range(0, len(mic) - 160 + 1, 160):
        out_fast.append(fast.process(mic[i : i + 160], played[i : i + 160]))
        out_full.append(full.process(mic[i : i + 160], played[i : i + 160]))
    assert fast._silent > 100  # the fast path was taken, in both gaps
    assert np.array_equal(np.concatenate(out_fast), np.concatenate(out_full))
    assert np.array_equal(fast.foreground, full.foreground)
    assert np.array_equal(fast.background, full.background)


def test_a_line_played_in_chunks_is_the_same_reference_as_played_whole(
    coach: np.ndarray,
) -> None:
    """A sink that plays what it is handed (the demo's, the tests') places each chunk
    on the clock's 16 kHz grid: the chunks of a line add up to the line placed whole.
    Placed from its own first sample, a chunk starting between two grid samples was up
    to half a sample off, and in the demo the canceller's leftover rose to half the
    echo at each new line: the check on it then took the echo for the user (a "pause"
    in the announcement of exercise two)."""
    rate = 22_050
    line = resample(coach[: 4 * ASR_RATE], ASR_RATE, rate)
    start = 10.00003  # between two grid samples
    whole = ReferenceBuffer(keep=10.0)
    whole.add(*place_reference(line, rate, start))
    pieces = ReferenceBuffer(keep=10.0)
    at = start
    for lo, hi in ((0, 10_001), (10_001, 30_000), (30_000, len(line))):
        pieces.add(*place_reference(line[lo:hi], rate, at))
        at += (hi - lo) / rate
    first = ReferenceBuffer.index(start) - 100
    a, b = whole.read(first, 4 * ASR_RATE + 200), pieces.read(first, 4 * ASR_RATE + 200)
    assert np.max(np.abs(a - b)) < 1e-4 * np.max(np.abs(a))  # -80 dB: float rounding
    # And the grid's samples are the line's at their own times: a tone placed a third
    # of a sample late reads a third of a sample late (half a sample off is 0.03 here).
    tone = np.sin(2 * np.pi * 500 * np.arange(rate) / rate)
    t0 = 20.0 + 1 / (3 * ASR_RATE)
    buf = ReferenceBuffer(keep=5.0)
    buf.add(*place_reference(tone, rate, t0))
    got = buf.read(ReferenceBuffer.index(20.1), 1600)
    times = 20.1 + np.arange(1600) / ASR_RATE - t0
    assert np.allclose(got, np.sin(2 * np.pi * 500 * times), atol=0.005)


def test_sound_written_after_it_was_read_leaves_the_blocks_after_it_unclean() -> None:
    """A canceller that does not wait for its reference (no ``ready``) can read silence
    50 ms ahead where a line then starts: the filter never has that sound, and its echo
    passes uncancelled while it would be in the filter. Those blocks are marked, and
    the check on the canceller's output does not judge them (in the demo, before the
    canceller waited for a memory sink's reference, it took such an onset, "Sorry, I
    didn't catch that", for the user)."""
    buf = ReferenceBuffer()
    aec = EchoCanceller(buf)
    rng = np.random.default_rng(0)
    for i in range(50):  # 5.00-6.00 s, nothing played: read up to 6.05 s
        aec.process(AudioChunk.from_float(rng.normal(0, 0.001, 320), ASR_RATE, 5 + i * 0.02))
    tone = 0.3 * np.sin(np.arange(ASR_RATE) * 0.2).astype(np.float32)
    buf.add(6.0, tone)  # from now: 6.00-6.05 s had been read as silence
    for i in range(50, 100):
        aec.process(AudioChunk.from_float(rng.normal(0, 0.001, 320), ASR_RATE, 5 + i * 0.02))
    start, *_, clean = aec.log.since(5.0)
    assert clean[start < 6.0].all()
    assert not clean[(start >= 6.0) & (start < 6.4)].any()  # 0.05 s + the filter's 0.4 s
    assert clean[start >= 6.46].all()
    # Sound handed over ahead of its time (a real device's sink) marks nothing.
    buf.add(7.5, tone)
    for i in range(100, 150):
        aec.process(AudioChunk.from_float(rng.normal(0, 0.001, 320), ASR_RATE, 5 + i * 0.02))
    start, *_, clean = aec.log.since(6.5)
    assert clean.all()


def test_a_memory_sinks_line_after_silence_is_in_the_reference_when_it_is_read() -> None:
    """A memory sink (the demo's, the tests') plays a line the moment it is handed
    over. The canceller, reading 50 ms ahead, waits for the reference up to now
    (:meth:`TapSink.complete_until`): the line's start is read, not silence, so no
    block is left unjudged and its echo is cancelled from the first block. Reading
    ahead without waiting, it had read silence there; the line's echo then went through
    for the filter's length, and the check on what it left could not judge those
    0.45 s (in the demo, "it hurts" said 0.2 s into a held breath was taken for echo)."""
    clock = VirtualClock(5.0)
    sink = MemorySink(16_000, clock)
    tap = TapSink(sink)
    aec = EchoCanceller(tap.played, ready=tap.complete_until)
    rng = np.random.default_rng(0)
    tone = 0.3 * np.sin(np.arange(2 * ASR_RATE) * 0.2).astype(np.float32)

    def step() -> None:  # the microphone's 20 ms up to now, as the demo's room makes it
        t = clock.advance(0.02)
        played = sink.timeline(t - 0.02, t)
        echo = 0.3 * np.pad(played, (0, 320 - len(played)))
        aec.process(AudioChunk.from_float(echo + rng.normal(0, 0.001, 320), ASR_RATE, t - 0.02))

    for _ in range(100):  # 2 s: nothing played
        step()
    for line in range(3):  # three lines, each after a second of silence
        at = clock()
        tap.play(AudioChunk.from_float(tone, ASR_RATE))
        for _ in range(150):
            step()
        start, mic, echo, residual, _, clean = aec.log.since(at)
        assert clean.all()
        if line > 0:  # the filter learned the path on the first
            first = (start >= at) & (start < at + 0.45)
            # -27 dB over the filter's first length (-23 dB reading silence first)
            assert residual[first].sum() < 0.002 * mic[first].sum()


class ReportingSink(MemorySink):
    """A sink that reports what its device wrote (as :class:`SoundDeviceSink` does),
    here given directly: the blocks a callback would have written."""

    def __init__(self) -> None:
        super().__init__(16_000, VirtualClock(0.0))
        self.written: list[Written] = []

    def take_played(self) -> list[Written]:
        out, self.written = self.written, []
        return out


def test_a_change_of_the_echo_paths_timing_leaves_the_next_second_unclean() -> None:
    """The speaker's timeline moves (its reported times jumped 20 ms or more: an
    underrun, a device clock drifting from the loop's), or the microphone's does: the
    echo now comes that much earlier or later against the reference, and until the
    filter has followed, what it leaves of the coach's voice can stand as high as a
    user's (``scripts/bench_doubletalk.py --delay-step``: some 0.6 s). The blocks of
    the next second are not clean, so the check on the canceller's output neither
    learns from nor judges them."""
    sink = ReportingSink()
    tap = TapSink(sink)
    aec = EchoCanceller(tap.played)
    rng = np.random.default_rng(0)
    tone = (0.3 * np.sin(np.arange(ASR_RATE // 10) * 0.2)).astype(np.float32)
    frame = 0
    for k in range(60):  # 6 s of blocks of 0.1 s; from 3 s on the timeline is 30 ms later
        sink.written.append(Written(5.0 + k * 0.1 + (0.03 if k >= 30 else 0.0), frame, tone))
        frame += len(tone)
    tap.sync()
    assert tap.played.moved_at == ReferenceBuffer.index(8.03)
    for i in range(200):  # the microphone, 5-9 s
        aec.process(AudioChunk.from_float(rng.normal(0, 0.001, 320), ASR_RATE, 5 + i * 0.02))
    start, *_, clean = aec.log.since(5.0)
    assert clean[start < 8.03].all()
    assert not clean[(start >= 8.03) & (start < 9.0)].any()
    # The microphone's own timeline jumps 30 ms at 9 s (a stall, a drifted clock).
    for i in range(200, 300):
        t = 5 + i * 0.02 + (0.03 if i >= 200 else 0.0)
        aec.process(AudioChunk.from_float(rng.normal(0, 0.001, 320), ASR_RATE, t))
    start, *_, clean = aec.log.since(9.0)
    assert not clean[start < 10.03].any()
    assert clean[start >= 10.04].all()


def test_the_level_check_lines_up_an_echo_earlier_than_the_device_reported(
    coach: np.ndarray, user: np.ndarray
) -> None:
    """A device that reports 80 ms more output latency than it has: its echo comes
    before the time the coach's audio was said to leave the speaker, earlier than the
    canceller reads ahead, so the level check decides. It looked only for later
    echoes, never lined this one up, and took the coach's own echo for the user in 53
    of 121 windows here."""
    echo = room_echo(coach, shift=-0.08)
    mic = echo + noise(len(echo))
    at = int(20.0 * ASR_RATE)
    loud = user * (4 * np.max(np.abs(echo)) / np.max(np.abs(user)))
    mic[at : at + len(user)] += loud
    check = DoubleTalk(PlayedPower(coach))  # type: ignore[arg-type]
    for i in range(0, len(mic) - 320 + 1, 320):
        check.feed(AudioChunk.from_float(mic[i : i + 320], ASR_RATE, i / ASR_RATE))
    assert check.lag == -2  # frames of 20 ms (2 with no shift: the room's reverberation)
    said = (at / ASR_RATE, (at + len(user)) / ASR_RATE)
    windows = [
        w for w in echo_windows(coach, 0.0, 8.0) if w[1] < said[0] - 0.5 or w[0] > said[1] + 0.5
    ]
    assert len(windows) > 60
    assert [w for w in windows if check.user_present(*w)] == []
    assert check.user_present(*said) is True
