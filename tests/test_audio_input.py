"""The microphone: device choice, conversion to 16 kHz mono, and a real ALSA capture."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.alsa_file_device import make_duplex_device, run_python
from tests.talker_voice import HAVE_FLITE, flite
from voicecoach.asr.wholefile import file_level
from voicecoach.audio.chunk import ASR_RATE, AudioChunk, resample
from voicecoach.audio.devices import DeviceInfo, choose_device, parse_device
from voicecoach.audio.sd_input import DRIFT_LIMIT, BlockConverter, BlockQueue, MicSettings
from voicecoach.errors import DeviceMissing


def dev(index: int, name: str, inputs: int = 1, outputs: int = 0) -> DeviceInfo:
    return DeviceInfo(index, name, "ALSA", inputs, outputs, 48_000.0)


DEVICES = [
    dev(0, "HDA Intel PCH: ALC3246 Analog (hw:0,0)", 2, 2),
    dev(1, "USB PnP Sound Device: Audio (hw:2,0)", 1, 0),
    dev(2, "pulse", 32, 32),
    dev(3, "HDMI 0", 0, 8),
]


def test_a_device_is_found_by_name_part_whatever_its_number() -> None:
    assert choose_device("usb pnp", "input", DEVICES).index == 1
    renumbered = [DeviceInfo(7, d.name, d.hostapi, 1, 0, 48_000.0) for d in DEVICES[1:2]]
    assert choose_device("usb pnp", "input", renumbered).index == 7


def test_exact_name_wins_and_index_and_default_work() -> None:
    assert choose_device("pulse", "input", DEVICES).index == 2
    assert choose_device(0, "input", DEVICES).index == 0
    assert choose_device(None, "input", DEVICES, default=2).index == 2
    assert choose_device(None, "output", DEVICES).index == 0  # no default: first usable


def test_missing_devices_say_what_to_do() -> None:
    # DeviceMissing: `run` waits for such a microphone to be plugged in, and stops for
    # one that is there but will not open (a plain AudioDeviceError).
    with pytest.raises(DeviceMissing, match="voicecoach devices.*voicecoach demo") as err:
        choose_device("usb pnp", "input", [])
    assert not err.value.others_connected  # none at all: nothing to choose instead
    # One chosen that is not there while others are: they are named, with how to
    # choose one (the name may be mistyped).
    with pytest.raises(DeviceMissing, match="whose name contains 'webcam'") as err:
        choose_device("webcam", "input", DEVICES)
    assert err.value.others_connected and err.value.present == tuple(d.name for d in DEVICES[:3])
    assert err.value.message.endswith(
        "; the microphones connected now: 'HDA Intel PCH: ALC3246 Analog (hw:0,0)', "
        "'USB PnP Sound Device: Audio (hw:2,0)', 'pulse'. Plug in the one chosen, or give "
        "--input-device one of these names (see `voicecoach devices`)"
    )
    with pytest.raises(DeviceMissing, match="no speaker with number 1") as err:
        choose_device(1, "output", DEVICES)  # device 1 has no output channels
    assert "'HDMI 0'. Plug in the one chosen, or give --output-device" in err.value.message


def test_a_name_part_that_matches_two_devices_warns_which_was_taken(
    caplog: pytest.LogCaptureFixture,
) -> None:
    two = [*DEVICES, dev(4, "USB PnP Sound Device: Audio (hw:3,0)")]
    with caplog.at_level("WARNING", logger="voicecoach.audio.devices"):
        assert choose_device("usb pnp", "input", two).index == 1
    [record] = caplog.records
    assert "(hw:2,0)" in record.message and "(hw:3,0)" in record.message
    assert "give more of the name" in record.message


def test_parse_device() -> None:
    assert parse_device("3") == 3
    assert parse_device(" USB ") == "USB"
    assert parse_device("") is None
    assert parse_device(None) is None


def test_blocks_become_16k_mono_with_continuous_timestamps() -> None:
    conv = BlockConverter(48_000, 2)
    t = np.arange(48_000) / 48_000
    tone = (0.5 * np.sin(2 * np.pi * 440 * t) * 32767).astype(np.int16)
    stereo = np.stack([tone, tone], axis=1)
    chunks = [
        conv.convert(stereo[i : i + 960], 10.0 + (i + 960) / 48_000) for i in range(0, 48_000, 960)
    ]
    assert all(c.rate == ASR_RATE and c.channels == 1 for c in chunks)
    assert chunks[0].timestamp == pytest.approx(10.0)
    for a, b in zip(chunks, chunks[1:], strict=False):
        assert b.timestamp == pytest.approx(a.end, abs=1e-9)
    total = sum(c.frames for c in chunks)
    assert abs(total - ASR_RATE) <= 2
    samples = np.concatenate([c.samples()[:, 0] for c in chunks])
    spectrum = np.abs(np.fft.rfft(samples[:8000] * np.hanning(8000)))
    assert np.argmax(spectrum) * ASR_RATE / 8000 == pytest.approx(440, abs=5)


def test_what_a_48k_microphone_hears_above_8k_is_not_folded_into_the_band() -> None:
    # Without a low-pass before decimation, 12 kHz at 48 kHz would come out as 4 kHz.
    t = np.arange(48_000) / 48_000
    levels = {}
    for freq in (1000, 7000, 12_000, 19_000):
        tone = (0.5 * np.sin(2 * np.pi * freq * t) * 32767).astype(np.int16)
        conv = BlockConverter(48_000, 1)
        block = tone[:, None]  # (frames, channels), as sounddevice delivers
        chunks = [
            conv.convert(block[i : i + 960], (i + 960) / 48_000) for i in range(0, 48_000, 960)
        ]
        samples = np.concatenate([c.samples()[:, 0] for c in chunks])[1000:]
        levels[freq] = float(np.std(samples)) / (0.5 / np.sqrt(2))
    assert levels[1000] == pytest.approx(1.0, abs=0.02)
    assert levels[7000] > 0.8  # the voice band is kept
    assert levels[12_000] < 0.01 and levels[19_000] < 0.01


def _through(conv: BlockConverter, stereo: np.ndarray) -> AudioChunk:
    chunks = [
        conv.convert(stereo[i : i + 960], (i + 960) / 48_000) for i in range(0, len(stereo), 960)
    ]
    return AudioChunk(b"".join(c.audio for c in chunks), ASR_RATE)


@pytest.mark.skipif(not HAVE_FLITE, reason="needs flite (scripts/install.sh --test)")
def test_a_microphone_gain_raises_the_speech_level_the_recognizer_measures() -> None:
    """A real voice (Flite's awb), its peaks 30 dB under full scale, from a 48 kHz stereo
    microphone: with a gain of 18 dB the recognizer's measure of its level is 18 dB
    higher; with the most gain its peaks are clipped at full scale, not wrapped round."""
    quiet = resample(np.asarray(flite("where am i")), ASR_RATE, 48_000) * 0.0632  # peak -30 dBFS
    pcm = np.round(quiet * 32767).astype(np.int16)
    stereo = np.stack([pcm, pcm], axis=1)
    plain = file_level(_through(BlockConverter(48_000, 2), stereo))
    raised = file_level(_through(BlockConverter(48_000, 2, gain_db=18.0), stereo))
    assert plain is not None and raised is not None
    assert raised - plain == pytest.approx(18.0, abs=0.2)
    loud = _through(BlockConverter(48_000, 2, gain_db=40.0), stereo).samples()[:, 0]
    assert np.max(loud) == pytest.approx(32767 / 32768, abs=1e-4)
    assert np.min(loud) == -1.0
    assert np.mean(np.abs(loud) > 0.99) < 0.2  # clipped at its peaks only


def test_a_microphone_gain_out_of_range_is_refused_with_the_range() -> None:
    assert MicSettings(gain_db=12).gain_db == 12
    with pytest.raises(ValueError, match="-20 to 40 dB"):
        MicSettings(gain_db=60)


def test_a_late_first_callback_does_not_leave_the_timestamps_late() -> None:
    """The first block's callback came 150 ms late (the interpreter was busy loading),
    the rest on time: from the first on-time block the stamps are the true times, and
    every later callback late by up to 15 ms leaves them there."""
    conv = BlockConverter(48_000, 1)
    block = np.zeros((960, 1), dtype=np.int16)
    true_end = [10.0 + 0.02 * (k + 1) for k in range(200)]  # when each block was complete
    late = [0.15] + list(np.random.default_rng(5).uniform(0.0, 0.015, 199))
    late[1] = 0.0
    chunks = [conv.convert(block, end + d) for end, d in zip(true_end, late, strict=True)]
    assert chunks[0].timestamp == pytest.approx(10.15)  # nothing better known yet
    for k, chunk in enumerate(chunks[1:], start=1):
        assert chunk.timestamp == pytest.approx(true_end[k] - 0.02, abs=1e-6), k


def test_a_microphone_clock_running_slow_does_not_leave_the_timestamps_early() -> None:
    """The device's clock runs slow against the loop's (1000 ppm here: two minutes of
    it are what 20 minutes are at 100 ppm), and every callback comes up to 15 ms late.
    Counting samples alone, the stamps fell further behind the true times at each
    block, 120 ms after two minutes (re-anchored only at 250 ms): the echo canceller
    looks for the echo at most 50 ms before a block's stamp and removed nothing from
    about 60 ms on. They stay within ``DRIFT_LIMIT`` and a window's drift of the truth."""
    conv = BlockConverter(16_000, 1)
    block = np.zeros((320, 1), dtype=np.int16)
    period = 0.02 / (1 - 1000e-6)  # a block takes this long by the loop's clock
    late = np.random.default_rng(3).uniform(0.0, 0.015, 6000)
    errors = []
    for k in range(6000):
        captured = 10.0 + k * period  # when the block's first sample was captured
        chunk = conv.convert(block, captured + period + late[k])
        errors.append(chunk.timestamp - captured)
    assert max(np.abs(errors[1:])) < DRIFT_LIMIT + 0.005


def test_late_blocks_reanchor_the_timestamps() -> None:
    conv = BlockConverter(16_000, 1, resync_after=0.25)
    block = np.zeros((320, 1), dtype=np.int16)
    first = conv.convert(block, 1.02)
    second = conv.convert(block, 1.04)
    assert (first.timestamp, second.timestamp) == pytest.approx((1.0, 1.02))
    late = conv.convert(block, 3.0)  # the device stalled for two seconds
    assert late.timestamp == pytest.approx(2.98)


_PIPES = """
from tests.alsa_file_device import PacedPipes, AlsaDuplexDevice
from pathlib import Path
dev = AlsaDuplexDevice(Path({config!r}), Path({output!r}), Path({mic!r}), 22050, 48000, 2)
pipes = PacedPipes(dev, 960, Path({rec!r}))
"""
"""The child scripts' start: a paced ALSA duplex device on named pipes."""

_CAPTURE = (
    _PIPES
    + """
import json, os, signal, subprocess, threading, time
import numpy as np
from voicecoach.audio.sd_input import Microphone, MicSettings
mic = Microphone(MicSettings(device="vcmic"))
mic.open()
pipes.start_clock()
ramp = (np.arange(48000) % 20000).astype(np.int16)
pipes.say(ramp)

def deschedule(after, pause):
    # The whole process stopped, every thread, as a loaded machine does to it.
    time.sleep(after)
    subprocess.Popen(["sh", "-c", f"sleep {{pause}}; kill -CONT {{os.getpid()}}"])
    os.kill(os.getpid(), signal.SIGSTOP)

stop = {stop!r}  # (when: seconds into the reading, None for just before it; how long)
if stop is not None and stop[0] is None:
    deschedule(0.0, stop[1])
elif stop is not None:
    threading.Thread(target=deschedule, args=stop, daemon=True).start()
chunks, seconds, t0 = [], 0.0, time.monotonic()
# Until 1.6 s of audio is read (the ramp and some silence after it), however long the
# machine takes to deliver it; the deadline is only against hanging.
while seconds < 1.6 and time.monotonic() - t0 < 20:
    new = mic.read(0.1)
    chunks += new
    seconds += sum(c.duration for c in new)
delivered = pipes.mic_time  # what the device captured since the clock started
fault = mic.fault
mic.close()
pipes.close()
audio = np.concatenate([c.samples()[:, 0] for c in chunks])
print(json.dumps({{"seconds": seconds, "delivered": delivered, "fault": fault,
    "rate": chunks[0].rate,
    "zeros_inside": int(np.sum(audio[np.flatnonzero(audio)[0]:np.flatnonzero(audio)[-1]] == 0)),
    "nonzero": int(np.count_nonzero(audio)),
    "zeros_after": int(len(audio) - 1 - np.flatnonzero(audio)[-1])}}))
"""
)


@pytest.mark.slow
@pytest.mark.parametrize(
    "stop",
    [None, (None, 0.8), (1.1, 0.6)],
    ids=["steady", "stopped-before-reading", "stopped-while-reading"],
)
def test_microphone_reads_a_real_alsa_capture_stream_in_real_time(
    tmp_path: Path, stop: tuple[float | None, float] | None
) -> None:
    """Also with the process stopped (SIGSTOP) for ``stop[1]`` seconds, just before the
    reading starts or ``stop[0]`` seconds into it, as a loaded machine deschedules it:
    the audio is all there, whole, when it runs again."""
    dev = make_duplex_device(tmp_path, paced=True)
    code = _CAPTURE.format(
        config=str(dev.config),
        output=str(dev.output),
        mic=str(dev.mic),
        rec=str(tmp_path / "rec.raw"),
        stop=stop,
    )
    result = run_python(dev, code, timeout=60)  # type: ignore[arg-type]
    assert result["fault"] is None
    assert result["rate"] == ASR_RATE
    # What the microphone read is what the device captured (at its own pace: paced,
    # not the unbounded rush of the null device), to within what its buffers hold.
    # Not compared with the wall clock: 1.6 s of it held between 1.2 and 2.2 s of
    # audio, which the stops above took 0.4 s out of either way.
    assert result["seconds"] >= 1.6
    assert abs(result["seconds"] - result["delivered"]) < 0.2
    # The one-second ramp arrives whole: no blocks of silence spliced into it.
    assert result["nonzero"] > 15_000
    assert result["zeros_inside"] < 20
    # The silence after it arrives as exact zeros, as a muted microphone's does: the
    # conversion to 16 kHz mono adds nothing (runtime/mutewatch.py relies on it).
    assert result["zeros_after"] > 3000


_STALL = (
    _PIPES
    + """
import json, os, signal, subprocess, threading, time
from voicecoach.audio.sd_input import Microphone, MicSettings
mic = Microphone(MicSettings(device="vcmic", stall_timeout=1.0))
mic.open()
pipes.start_clock()

def run(until):
    # Reads until ``until(got, fault)``, however long the machine takes to get there;
    # the deadline is only against hanging.
    faults, got, fault, t0 = set(), 0.0, None, time.monotonic()
    while not until(got, fault) and time.monotonic() - t0 < 20:
        got += sum(c.duration for c in mic.read(0.05))
        fault = mic.fault
        if fault:
            faults.add(fault)
    return got, sorted(faults), fault

def deschedule(after, pause):
    # The whole process stopped, every thread, as a loaded machine does to it.
    time.sleep(after)
    subprocess.Popen(["sh", "-c", f"sleep {{pause}}; kill -CONT {{os.getpid()}}"])
    os.kill(os.getpid(), signal.SIGSTOP)

before = run(lambda got, fault: got >= 0.5)
pipes.stall()
during = run(lambda got, fault: fault is not None)
pipes.stall(False)
stop = {stop!r}  # (seconds after it resumes, how long)
if stop is not None:
    threading.Thread(target=deschedule, args=stop, daemon=True).start()
after = run(lambda got, fault: got >= 0.5 and fault is None)
mic.close()
pipes.close()
print(json.dumps({{"before": before, "during": during, "after": after}}))
"""
)


@pytest.mark.slow
@pytest.mark.parametrize("stop", [None, (0.15, 0.8)], ids=["steady", "stopped-as-it-resumes"])
def test_a_real_capture_stream_that_stops_delivering_is_a_fault_until_it_resumes(
    tmp_path: Path, stop: tuple[float, float] | None
) -> None:
    """Also with the process stopped (SIGSTOP) for ``stop[1]`` seconds, ``stop[0]``
    seconds after the stream resumes, as a loaded machine deschedules it."""
    dev = make_duplex_device(tmp_path, paced=True)
    code = _STALL.format(
        config=str(dev.config),
        output=str(dev.output),
        mic=str(dev.mic),
        rec=str(tmp_path / "rec.raw"),
        stop=stop,
    )
    result = run_python(dev, code, timeout=90)  # type: ignore[arg-type]
    # Each stage reads until what it waits for happens, not for a fixed wall-clock
    # time: 0.8 s of it after the stream resumed held 0.16 s of audio, not the 0.3 s
    # asked, with the process stopped meanwhile.
    got, faults, _ = result["before"]
    assert got >= 0.5 and faults == []
    _, faults, fault = result["during"]
    assert fault is not None and "no audio" in fault and faults == [fault]
    got, _, fault = result["after"]
    assert got >= 0.5 and fault is None  # it delivers again: the fault clears by itself


_UNREAD = (
    _PIPES
    + """
import json, time, tracemalloc
from voicecoach.audio.sd_input import Microphone, MicSettings
mic = Microphone(MicSettings(device="vcmic", max_queue_seconds=0.2))
tracemalloc.start()
mic.open()
pipes.start_clock()
time.sleep(1.5)  # open, and nobody reads it
held = sum(
    stat.size
    for stat in tracemalloc.take_snapshot().statistics("filename")
    if stat.traceback[0].filename.endswith("sd_input.py")
)
got = sum(c.duration for c in mic.read(0.05))
mic.close()
pipes.close()
print(json.dumps({{"held": held, "got": got}}))
"""
)


@pytest.mark.slow
def test_a_microphone_nobody_reads_holds_only_its_newest_audio(tmp_path: Path) -> None:
    """A coach that stays up between sessions may leave the microphone open unread: it
    holds no more than ``max_queue_seconds`` of blocks (it queued every one, 12 MB a
    minute at 48 kHz stereo), and a read then gets that much."""
    dev = make_duplex_device(tmp_path, paced=True)
    code = _UNREAD.format(
        config=str(dev.config),
        output=str(dev.output),
        mic=str(dev.mic),
        rec=str(tmp_path / "rec.raw"),
    )
    result = run_python(dev, code, timeout=30)  # type: ignore[arg-type]
    # 0.2 s is 10 blocks of 960 frames x 2 channels x 2 bytes (38 kB); 1.5 s, 75.
    assert result["held"] < 80_000
    assert 0.1 < result["got"] < 0.3


def test_the_block_queue_drops_the_oldest_blocks_beyond_its_limit() -> None:
    queue = BlockQueue(limit=10)
    for i in range(1000):
        queue.put((np.zeros((2, 1), dtype=np.int16), float(i), ""))
    blocks, dropped = queue.take(0.0)
    assert [arrived for _, arrived, _ in blocks] == [float(i) for i in range(990, 1000)]
    assert dropped == 990
    assert queue.empty()
    assert queue.take(0.0) == ([], 0)
