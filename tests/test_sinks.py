"""Sinks: the memory/file sinks on a virtual clock, and the sounddevice sink on ALSA."""

from __future__ import annotations

import gc
import sys
import time
import tracemalloc
import wave
from pathlib import Path

import numpy as np
import pytest

from tests.alsa_file_device import make_device, run_python
from voicecoach.audio.chunk import AudioChunk
from voicecoach.audio.sd_output import OutputBuffer
from voicecoach.audio.sinks import FileSink, MemorySink, Sink, VirtualClock, audible

RATE = 16_000


def tone(seconds: float, rate: int = RATE, freq: float = 440.0, level: float = 0.5) -> AudioChunk:
    t = np.arange(int(round(seconds * rate))) / rate
    return AudioChunk.from_float(level * np.sin(2 * np.pi * freq * t), rate)


def test_memory_sink_is_a_sink() -> None:
    assert isinstance(MemorySink(RATE, VirtualClock()), Sink)


def test_audio_is_placed_at_the_clock_time_and_queued_back_to_back() -> None:
    clock = VirtualClock(10.0)
    sink = MemorySink(RATE, clock)
    sink.play(tone(1.0), 1)
    sink.play(tone(0.5), 1)
    sink.end(1)
    clock.advance(0.2)
    sink.play(tone(0.25), 2)  # asked while 1 plays: starts when 1 ends
    sink.end(2)
    starts = [(s.utterance_id, s.start) for s in sink.segments]
    assert starts == [(1, 10.0), (1, 11.0), (2, 11.5)]
    assert sink.last_audio_end == pytest.approx(11.75)


def test_finish_is_reported_when_the_last_sample_has_played_not_when_handed_over() -> None:
    clock = VirtualClock(0.0)
    sink = MemorySink(RATE, clock)
    sink.play(tone(1.0), 7)
    sink.end(7)
    assert sink.is_playing()
    assert sink.poll_finished() == []
    clock.set(0.999)
    assert sink.poll_finished() == []
    clock.set(1.0)
    assert sink.poll_finished() == [7]
    assert sink.poll_finished() == []  # reported once
    assert not sink.is_playing()


def test_finishes_come_in_order_and_an_empty_utterance_waits_for_the_queue() -> None:
    clock = VirtualClock(0.0)
    sink = MemorySink(RATE, clock)
    sink.play(tone(0.5), 1)
    sink.end(1)
    sink.end(2)  # no audio: finishes when everything before it has played
    sink.play(tone(0.5), 3)
    sink.end(3)
    clock.set(0.5)
    assert sink.poll_finished() == [1, 2]
    clock.set(2.0)
    assert sink.poll_finished() == [3]


def test_audible_covers_the_playback_and_a_tail_after_it() -> None:
    clock = VirtualClock(0.0)
    sink = MemorySink(RATE, clock)
    assert not audible(sink, tail=0.5)
    sink.play(tone(1.0), 1)
    clock.set(0.9)
    assert audible(sink, tail=0.5)
    clock.set(1.4)
    assert audible(sink, tail=0.5) and not audible(sink, tail=0.0)
    clock.set(1.5)
    assert not audible(sink, tail=0.5)
    sink.play(tone(1.0), 2)
    clock.set(1.6)
    sink.stop()  # the tail runs from the cut
    assert audible(sink, tail=0.5)
    clock.set(2.1)
    assert not audible(sink, tail=0.5)


def test_not_ended_utterance_is_never_reported() -> None:
    clock = VirtualClock()
    sink = MemorySink(RATE, clock)
    sink.play(tone(0.2), 1)  # more sentences may follow: no end() yet
    clock.set(5.0)
    assert sink.poll_finished() == []
    assert not sink.is_playing()


def test_stop_truncates_at_the_clock_time_and_drops_the_queue() -> None:
    clock = VirtualClock(0.0)
    sink = MemorySink(RATE, clock)
    sink.play(tone(1.0), 1)
    sink.end(1)
    sink.play(tone(1.0), 2)
    sink.end(2)
    clock.set(0.4)
    sink.stop()
    assert sink.stops == [0.4]
    assert len(sink.segments) == 1
    seg = sink.segments[0]
    assert seg.stopped and seg.utterance_id == 1
    assert seg.end(RATE) == pytest.approx(0.4)
    assert sink.last_audio_end == pytest.approx(0.4)
    assert not sink.is_playing()
    clock.set(3.0)
    assert sink.poll_finished() == []  # cut utterances are never reported
    # the timeline is silent after the stop
    audio = sink.timeline(0.0, 2.0)
    assert np.abs(audio[: int(0.39 * RATE)]).max() > 0.4
    assert np.abs(audio[int(0.4 * RATE) + 1 :]).max() == 0.0


def test_stop_keeps_utterances_that_finished_before_it() -> None:
    clock = VirtualClock(0.0)
    sink = MemorySink(RATE, clock)
    sink.play(tone(0.3), 1)
    sink.end(1)
    sink.play(tone(1.0), 2)
    sink.end(2)
    clock.set(0.5)
    sink.stop()
    assert sink.poll_finished() == [1]


def test_audio_after_a_stop_starts_at_once() -> None:
    clock = VirtualClock(0.0)
    sink = MemorySink(RATE, clock)
    sink.play(tone(5.0), 1)
    clock.set(1.0)
    sink.stop()
    sink.play(tone(0.2), None)
    assert sink.segments[-1].start == 1.0


def test_audio_played_over_the_queue_starts_at_once_and_is_mixed_in() -> None:
    clock = VirtualClock()
    sink = MemorySink(RATE, clock)
    sink.play(AudioChunk.from_float(np.full(RATE, 0.25), RATE), 1)  # a second of the coach
    sink.end(1)
    clock.set(0.5)
    sink.play_over(AudioChunk.from_float(np.full(RATE // 10, 0.25), RATE))  # an earcon
    sink.play(AudioChunk.from_float(np.full(RATE // 10, -0.25), RATE), 2)
    mixed = sink.timeline(0.0, 1.2)
    assert mixed[: RATE // 2] == pytest.approx(0.25, abs=1e-4)
    assert mixed[RATE // 2 : RATE * 6 // 10] == pytest.approx(0.5, abs=1e-4)  # over the line
    assert mixed[RATE * 6 // 10 : RATE] == pytest.approx(0.25, abs=1e-4)
    assert mixed[RATE : RATE * 11 // 10] == pytest.approx(-0.25, abs=1e-4)  # queued: after
    clock.set(1.0)
    assert sink.poll_finished() == [1]  # the earcon did not hold the line back


def test_audio_played_over_a_short_queue_keeps_the_sink_playing_and_stop_cuts_it() -> None:
    clock = VirtualClock()
    sink = MemorySink(RATE, clock)
    sink.play(tone(0.1), 1)
    clock.set(0.05)
    sink.play_over(tone(0.5))
    clock.set(0.2)
    assert sink.is_playing() and sink.last_audio_end == pytest.approx(0.55)
    sink.stop()
    assert not sink.is_playing() and sink.last_audio_end == pytest.approx(0.2)
    assert len(sink.timeline(0.0)) == pytest.approx(0.2 * RATE, abs=1)


def test_chunks_at_other_rates_are_resampled_keeping_their_duration() -> None:
    clock = VirtualClock()
    sink = MemorySink(22_050, clock)
    sink.play(tone(1.0, rate=16_000), 1)
    assert sink.last_audio_end == pytest.approx(1.0, abs=1e-3)
    assert len(sink.segments[0].samples) == pytest.approx(22_050, abs=2)


def test_file_sink_writes_the_timeline_with_its_silences(tmp_path: Path) -> None:
    clock = VirtualClock(0.0)
    path = tmp_path / "out.wav"
    sink = FileSink(path, RATE, clock, origin=0.0)
    sink.play(tone(0.5), 1)
    clock.set(1.5)
    sink.play(tone(0.5), 2)
    sink.close()
    with wave.open(str(path)) as f:
        assert f.getframerate() == RATE and f.getnchannels() == 1
        data = np.frombuffer(f.readframes(f.getnframes()), dtype="<i2") / 32768.0
    assert len(data) == pytest.approx(2.0 * RATE, abs=2)
    assert np.abs(data[: int(0.5 * RATE)]).max() > 0.4
    assert np.abs(data[int(0.5 * RATE) + 1 : int(1.5 * RATE) - 1]).max() == 0.0
    assert np.abs(data[int(1.5 * RATE) :]).max() > 0.4


def test_a_file_sink_that_cannot_write_its_file_raises_that_error_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # wave.open(name) that cannot open the file left a half-made writer whose cleanup
    # printed a second traceback under the caller's message ('voicecoach say --out').
    unraisable: list[object] = []
    monkeypatch.setattr(sys, "unraisablehook", unraisable.append)
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    sink = FileSink(blocker / "out.wav", RATE, VirtualClock(0.0), origin=0.0)
    sink.play(tone(0.1), 1)
    with pytest.raises(NotADirectoryError):
        sink.close()
    gc.collect()
    assert unraisable == []


def test_memory_sink_works_in_real_time_too() -> None:
    sink = MemorySink(RATE, time.monotonic)
    before = time.monotonic()
    sink.play(tone(0.05), 1)
    sink.end(1)
    start = sink.segments[0].start
    assert before <= start <= time.monotonic()
    finish = sink.pending_finish(1)
    assert finish == pytest.approx(start + 0.05)
    while time.monotonic() < finish:
        time.sleep(0.01)
    assert sink.poll_finished() == [1]


# ------------------------------------------- OutputBuffer: the callback's queue, block by block

BLOCK = 256


def drive(buf: OutputBuffer, blocks: int, t0: float, latency: float = 0.02) -> np.ndarray:
    """Call fill() as PortAudio would: one block after another, from clock time t0."""
    out = []
    for i in range(blocks):
        block = np.full(BLOCK, np.nan, dtype=np.float32)
        buf.fill(block, t0 + i * BLOCK / RATE + latency)
        out.append(block)
    return np.concatenate(out)


def test_output_buffer_plays_in_order_then_silence() -> None:
    buf = OutputBuffer(RATE)
    a = np.full(300, 0.25, dtype=np.float32)
    b = np.full(100, -0.5, dtype=np.float32)
    buf.play(a, 1)
    buf.play(b, 2)
    out = drive(buf, 3, 0.0)
    assert not np.isnan(out).any()
    assert np.array_equal(out[:300], a) and np.array_equal(out[300:400], b)
    assert not out[400:].any()


def test_output_buffer_reports_finish_when_the_sample_reaches_the_speaker() -> None:
    buf = OutputBuffer(RATE)
    buf.play(np.full(300, 0.25, dtype=np.float32), 1)
    buf.end(1)
    drive(buf, 2, 0.0, latency=0.02)
    finish = 300 / RATE + 0.02  # written at sample 300, heard one output latency later
    assert buf.last_end == pytest.approx(finish)
    assert buf.poll(finish - 0.001) == []
    assert buf.poll(finish + 1e-9) == [1]


def test_output_buffer_stop_silences_the_next_block_and_drops_the_queue() -> None:
    buf = OutputBuffer(RATE)
    buf.play(np.full(RATE, 0.25, dtype=np.float32), 1)
    buf.end(1)
    buf.play(np.full(RATE, 0.5, dtype=np.float32), 2)
    buf.end(2)
    first = drive(buf, 1, 0.0)
    assert (first == 0.25).all()
    buf.stop(now=BLOCK / RATE)
    rest = drive(buf, 200, BLOCK / RATE)
    assert not rest.any()  # silent from the very next block on
    assert buf.poll(10.0) == []  # neither utterance is reported
    assert not buf.busy()


def test_output_buffer_keeps_audio_queued_after_a_stop() -> None:
    buf = OutputBuffer(RATE)
    buf.play(np.full(RATE, 0.25, dtype=np.float32), 1)
    drive(buf, 1, 0.0)
    buf.stop(now=0.01)
    buf.play(np.full(100, 0.5, dtype=np.float32), 2)  # e.g. the "heard" cue
    buf.end(2)
    out = drive(buf, 1, 0.02)
    assert (out[:100] == 0.5).all() and not out[100:].any()
    assert buf.poll(1.0) == [2]


def test_output_buffer_mixes_audio_played_over_the_queue_from_the_next_block() -> None:
    buf = OutputBuffer(RATE)
    buf.play(np.full(4 * BLOCK, 0.25, dtype=np.float32), 1)
    buf.end(1)
    first = drive(buf, 1, 0.0)
    buf.play_over(np.full(BLOCK + 10, 0.5, dtype=np.float32))
    rest = drive(buf, 5, BLOCK / RATE)
    assert (first == 0.25).all()
    assert (rest[: BLOCK + 10] == 0.75).all()  # over the line, not after it
    assert (rest[BLOCK + 10 : 3 * BLOCK] == 0.25).all() and not rest[3 * BLOCK :].any()
    assert buf.poll(1.0) == [1] and not buf.busy()
    # Over silence it plays alone, and stop() cuts it as the queue.
    buf.play_over(np.full(3 * BLOCK, 0.5, dtype=np.float32))
    alone = drive(buf, 1, 6 * BLOCK / RATE)
    assert (alone == 0.5).all() and buf.busy()
    buf.stop(now=7 * BLOCK / RATE)
    assert not drive(buf, 3, 7 * BLOCK / RATE).any() and not buf.busy()


def test_output_buffer_reports_an_utterance_that_finished_before_the_stop() -> None:
    buf = OutputBuffer(RATE)
    buf.play(np.full(100, 0.25, dtype=np.float32), 1)
    buf.end(1)
    buf.play(np.full(RATE, 0.25, dtype=np.float32), 2)
    buf.end(2)
    drive(buf, 4, 0.0, latency=0.0)
    buf.stop(now=4 * BLOCK / RATE)
    assert buf.poll(10.0) == [1]


def test_output_buffer_memory_stays_bounded_over_many_stops() -> None:
    """A coach in standby for days stops its output thousands of times (every prompt
    cut by a command): the buffer must not keep something per stop for ever, and it
    must still drop a stopped utterance and report one that ended before its stop."""
    buf = OutputBuffer(RATE)
    t = 0.0

    def cycle() -> list[int]:
        # Utterance 1 ends within the first block, 2 is cut by the stop after it.
        nonlocal t
        buf.play(np.full(100, 0.25, dtype=np.float32), 1)
        buf.end(1)
        buf.play(np.full(RATE, 0.25, dtype=np.float32), 2)
        buf.end(2)
        drive(buf, 2, t, latency=0.0)
        buf.stop(now=t + 2 * BLOCK / RATE)
        late = drive(buf, 2, t + 2 * BLOCK / RATE, latency=0.0)
        t += 4 * BLOCK / RATE
        buf.take_played()
        assert not late.any()  # the rest of utterance 2 is dropped
        return buf.poll(t)

    for _ in range(1000):  # warm up: every container at its working size
        assert cycle() == [1]
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for _ in range(20_000):
            assert cycle() == [1]
        gc.collect()
        grown = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    # Something kept per stop costs ~100 bytes each: 2 MB over these 20 000 stops.
    assert grown < 200_000, f"{grown} bytes kept over 20 000 stops"


# ---------------------------------------------------------------- SoundDeviceSink

_SD_PLAY = """
import json, time
import numpy as np
from voicecoach.audio.chunk import AudioChunk
from voicecoach.audio.sd_output import OutputBuffer
from voicecoach.audio.sd_output import SoundDeviceSink
from voicecoach.audio.sinks import Sink

def tone(seconds, freq):
    t = np.arange(int(seconds * 22050)) / 22050
    return AudioChunk.from_float(0.5 * np.sin(2 * np.pi * freq * t), 22050)

sink = SoundDeviceSink("{device}", 22050)
assert isinstance(sink, Sink)
sink.play(tone(0.3, 440), 1)
sink.play(tone(0.2, 880), 1)
sink.end(1)
sink.play(tone(0.2, 660), None)
finished, deadline = [], time.monotonic() + 10
while 1 not in finished and time.monotonic() < deadline:
    finished += sink.poll_finished()
    time.sleep(0.005)
while sink.is_playing() and time.monotonic() < deadline:
    time.sleep(0.005)
time.sleep(0.1)
sink.close()
print(json.dumps({{"finished": finished, "latency": sink.output_latency,
                  "stop_bound": sink.stop_bound}}))
"""

_SD_STOP = """
import json, time
import numpy as np
from voicecoach.audio.chunk import AudioChunk
from voicecoach.audio.sd_output import OutputBuffer
from voicecoach.audio.sd_output import SoundDeviceSink

t = np.arange(22050 * 60) / 22050
long = AudioChunk.from_float(0.5 * np.sin(2 * np.pi * 440 * t), 22050)
sink = SoundDeviceSink("{device}", 22050)
sink.play(long, 1)
sink.end(1)
sink.stop()  # at once: the null device consumes fast, but not 60 s in this instant
time.sleep(0.3)
finished = sink.poll_finished()
sink.play(AudioChunk.from_float(np.zeros(2205), 22050), 2)
sink.end(2)
deadline = time.monotonic() + 5
while 2 not in finished and time.monotonic() < deadline:
    finished += sink.poll_finished()
    time.sleep(0.005)
sink.close()
print(json.dumps({{"finished": finished}}))
"""


@pytest.mark.slow
def test_sounddevice_sink_plays_through_a_real_alsa_device(tmp_path: Path) -> None:
    dev = make_device(tmp_path, 22_050)
    result = run_python(dev, _SD_PLAY.format(device=dev.device))
    assert result["finished"] == [1]
    # 0.7 s of tones in order: 440 Hz, 880 Hz, 660 Hz, and silence around them. The
    # null device takes audio as fast as the callback writes it, so the callback may
    # write silence between two queued chunks while the caller waits for the GIL:
    # the silence written (exact zeros) is left out, and what remains must be the tones.
    audio = dev.samples()
    audio = audio[audio != 0.0]
    assert len(audio) / 22_050 == pytest.approx(0.7, abs=0.01)

    def freq(segment: np.ndarray) -> float:
        spectrum = np.abs(np.fft.rfft(segment * np.hanning(len(segment))))
        return float(np.argmax(spectrum) * 22_050 / len(segment))

    n = 2205  # 0.1 s windows inside each tone
    assert freq(audio[1000 : 1000 + n]) == pytest.approx(440, abs=15)
    assert freq(audio[7000 : 7000 + n]) == pytest.approx(880, abs=15)
    assert freq(audio[11500 : 11500 + n]) == pytest.approx(660, abs=15)
    assert 0 < result["stop_bound"] < 1.0


@pytest.mark.slow
def test_sounddevice_sink_stop_drops_the_queue_and_never_reports_it(tmp_path: Path) -> None:
    dev = make_device(tmp_path, 22_050)
    result = run_python(dev, _SD_STOP.format(device=dev.device))
    assert result["finished"] == [2]
    voiced = np.flatnonzero(np.abs(dev.samples()) > 0.05)
    assert len(voiced) < 30 * 22_050  # most of the 60 s queued was dropped


def test_output_buffer_hands_over_what_it_wrote_with_the_time_it_plays() -> None:
    buf = OutputBuffer(RATE)
    drive(buf, 3, 0.0)  # idle: silence is not handed over
    assert buf.take_played() == []
    a = np.linspace(-0.5, 0.5, 300, dtype=np.float32)
    buf.play(a, 1)
    drive(buf, 3, 3 * BLOCK / RATE, latency=0.02)
    played = buf.take_played()
    assert [len(w.samples) for w in played] == [BLOCK, 300 - BLOCK]
    assert [w.frame for w in played] == [3 * BLOCK, 4 * BLOCK]
    assert played[0].time == pytest.approx(3 * BLOCK / RATE + 0.02)
    assert played[1].time == pytest.approx(4 * BLOCK / RATE + 0.02)
    assert np.array_equal(np.concatenate([w.samples for w in played]), a)
    assert buf.take_played() == []  # each block once


def test_output_buffer_restarted_after_a_pause_is_placed_at_its_new_times() -> None:
    """The stream stopped while the microphone opened (SoundDeviceSink.paused) and
    started again 5 s later: its frames no longer follow on in time from those before,
    so the first block after anchors the timeline afresh. Otherwise what plays then was
    placed (echo reference, finish times) as long before it played as the pause lasted,
    until a window of reports moved the line."""
    buf = OutputBuffer(RATE)
    drive(buf, 10, 0.0)
    buf.restart()
    a = np.full(300, 0.2, dtype=np.float32)
    buf.play(a, 1)
    buf.end(1)
    t = 5.0 + 10 * BLOCK / RATE
    drive(buf, 3, t, latency=0.02)
    played = buf.take_played()
    assert played[0].time == pytest.approx(t + 0.02)
    assert played[0].frame == 10 * BLOCK  # the frames still count on
    end = t + 0.02 + 300 / RATE
    assert buf.poll(end - 0.001) == [] and buf.poll(end + 0.001) == [1]


def output_timeline(reports: list[float]) -> list[float]:
    """Where an OutputBuffer playing all along puts frame 0, block by block, given the
    time reported for each block (the callback's ``dac_time``)."""
    buf = OutputBuffer(RATE)
    buf.play(np.full(len(reports) * BLOCK, 0.1, dtype=np.float32), 1)
    starts = []
    for i, reported in enumerate(reports):
        buf.fill(np.zeros(BLOCK, dtype=np.float32), reported)
        starts.append(buf.take_played()[0].time - i * BLOCK / RATE)
    return starts


def test_output_buffer_times_follow_the_streams_frames_not_the_callbacks_jitter() -> None:
    """PortAudio's reported time of each block wobbles by a few milliseconds with the
    callback's scheduling; the stream's frames still play one after another, so the
    buffer keeps them on one straight line. A real skip (an underrun) moves the line
    within a window of blocks, and so does the device's clock drifting far from the
    loop's."""
    rng = np.random.default_rng(0)
    true_start = 0.03  # frame 0 reaches the speaker at 30 ms
    reports = []
    for i in range(3000):
        skip = 0.05 if i >= 300 else 0.0  # 50 ms lost at block 300
        drift = 0.0 if i < 1000 else (i - 1000) * 2e-5
        jitter = float(rng.uniform(-0.004, 0.004))
        reports.append(true_start + skip + drift + i * BLOCK / RATE + jitter)
    starts = output_timeline(reports)
    assert np.ptp(starts[:300]) < 1e-9  # one line, not one wobble per block
    assert abs(starts[0] - true_start) <= 0.004
    assert np.ptp(starts[400:1000]) < 1e-9
    assert abs(starts[400] - (true_start + 0.05)) <= 0.005
    moved = [i for i in range(1001, 3000) if abs(starts[i] - starts[i - 1]) > 1e-9]
    assert 0 < len(moved) <= 2 * (2000 * 2e-5) / 0.02  # followed the drift in few steps
    assert abs(starts[-1] - reports[-1] + 2999 * BLOCK / RATE) < 0.03


def test_output_buffer_times_from_a_device_that_fills_in_bursts() -> None:
    """ALSA's file plugin reports no latency and takes blocks in bursts: each block is
    reported when written, up to a buffer (here 80 ms) before it plays. The line stays
    put, and no later than the truth (a reference later than the echo cannot be
    cancelled; an earlier one can)."""
    rng = np.random.default_rng(1)
    true_start = 0.0
    reports = []
    ahead = 0.0
    for i in range(2000):
        ahead = float(rng.uniform(0.0, 0.08)) if i % 8 == 0 else max(0.0, ahead - 0.002)
        reports.append(true_start + i * BLOCK / RATE - ahead)
    starts = output_timeline(reports)
    assert np.ptp(starts[100:]) < 1e-9
    assert -0.02 < starts[-1] - true_start <= 0.0
