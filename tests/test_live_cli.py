"""``voicecoach run`` / ``devices`` against what PortAudio sees (child processes, real ALSA)."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import wave
from pathlib import Path

import numpy as np
import pytest

from tests.alsa_file_device import (
    REFUSING_MIC,
    AlsaDuplexDevice,
    AlsaFileDevice,
    make_device,
    make_duplex_device,
)
from tests.talker_voice import HAVE_FLITE, flite
from voicecoach.asr.wholefile import LEVELS, file_level
from voicecoach.audio.chunk import ASR_RATE, AudioChunk, resample
from voicecoach.cli.live_cmd import TOO_QUIET, judge_microphone_level
from voicecoach.runtime.loop import MIC_BACK, MIC_CHOSEN_MISSING, MIC_LOST


def voicecoach(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "voicecoach", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.slow
def test_run_without_any_audio_device_says_where_to_go(tmp_path: Path) -> None:
    # The system's own ALSA configuration: on this CI machine (no sound card) it has no
    # usable device. (An empty configuration makes PortAudio abort, so it is not used.)
    env = dict(os.environ)
    env.pop("ALSA_CONFIG_PATH", None)
    listing = voicecoach(env, "devices")
    if "No audio devices" not in listing.stdout:
        pytest.skip("this machine has audio devices")
    proc = voicecoach(env, "run", "--routine", "self-correction", "--log", str(tmp_path / "l.db"))
    assert proc.returncode == 5
    assert "voicecoach devices" in proc.stderr and "voicecoach demo" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert listing.returncode == 0 and "voicecoach demo" in listing.stdout


@pytest.mark.slow
def test_devices_lists_names_and_run_rejects_bad_options(tmp_path: Path) -> None:
    dev = make_duplex_device(tmp_path)
    dev.mic.write_bytes(bytes(4))
    listing = voicecoach(dev.env(), "devices")
    assert "vcmic" in listing.stdout and "vcfile" in listing.stdout
    for gain, said in (("50", "use -20 to 40 dB"), ("loud", "not a number of decibels")):
        proc = voicecoach(dev.env(), "run", "--mic-gain", gain, "--log", str(tmp_path / "l.db"))
        assert proc.returncode == 2 and said in proc.stderr and "Traceback" not in proc.stderr


class Listener(threading.Thread):
    """Reads what an ALSA ``file`` speaker writes into a named pipe, across the reopens of
    a device rescan (each one truncates a plain file), counting the voiced samples."""

    def __init__(self, fifo: Path) -> None:
        super().__init__(daemon=True)
        self.fifo = fifo
        self.voiced = 0

    def run(self) -> None:
        while True:
            with self.fifo.open("rb") as f:  # waits for the next writer
                while block := f.read(1 << 16):
                    samples = np.frombuffer(block[: len(block) // 2 * 2], dtype="<i2")
                    self.voiced += int(np.count_nonzero(np.abs(samples) > 328))


def run_until_notice_heard(
    dev: AlsaFileDevice | AlsaDuplexDevice, log: Path
) -> tuple[int, str, float]:
    """``voicecoach run --input-device 'usb pnp'`` through ``dev``'s speaker, read from a
    named pipe: once the coach's notice has been heard (and 2 s more), SIGTERM. Returns
    the exit status, stderr and the seconds of voiced audio the speaker played."""
    os.mkfifo(dev.output)
    listener = Listener(dev.output)
    listener.start()
    proc = subprocess.Popen(
        [sys.executable, "-m", "voicecoach", "run", "--input-device", "usb pnp"]
        + ["--output-device", dev.device, "--routine", "self-correction", "--log", str(log)],
        env=dev.env(),
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and proc.poll() is None:
            if listener.voiced > 2 * dev.rate:  # the notice is about 4 s long
                break
            time.sleep(0.2)
        assert proc.poll() is None, "run exited instead of waiting for the microphone"
        time.sleep(2.0)
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    return proc.returncode, err, listener.voiced / dev.rate


@pytest.mark.slow
def test_run_without_its_microphone_says_so_through_the_speaker_and_waits(
    tmp_path: Path,
) -> None:
    """A USB microphone not plugged in at boot, on a machine with no other (the speaker
    plays only): the person on the floor hears why nothing happens (the service would
    otherwise exit and restart in silence); SIGTERM still ends it cleanly, the session
    logged as never begun, with no length (the wait is no session)."""
    dev = make_device(tmp_path, capture=False)
    log = tmp_path / "l.db"
    status, err, voiced = run_until_notice_heard(dev, log)
    assert status == 0, err
    assert "no microphone (audio input device) found" in err
    assert "waits for a microphone" in err and "Traceback" not in err
    assert "connected now" not in err  # there are none to name
    # What the speaker said: the notice, not the introduction (a minute and more).
    assert 2 < voiced < 10, voiced
    assert "session ended: not_begun" in err
    history = voicecoach(dev.env(), "history", "--json", "--log", str(log))
    [session] = [json.loads(line) for line in history.stdout.splitlines()]
    assert session["status"] == "not_begun" and session["exercises"] == []
    assert session["ended"] == session["started"] and session["length"] is None
    shown = voicecoach(dev.env(), "history", "--log", str(log)).stdout
    assert "not started (no microphone)" in shown and " min" not in shown


@pytest.mark.slow
def test_run_with_a_microphone_name_that_matches_none_names_those_there_and_waits(
    tmp_path: Path,
) -> None:
    """``--input-device`` names no microphone connected while others are (a name
    mistyped, or that USB microphone unplugged): the terminal and the journal are told
    in a WARNING which microphones are there and how to choose one, and run still waits
    for the one chosen, saying so through the speaker."""
    dev = make_duplex_device(tmp_path)
    dev.mic.write_bytes(bytes(4))
    status, err, voiced = run_until_notice_heard(dev, tmp_path / "l.db")
    assert status == 0, err
    [warning] = [line for line in err.splitlines() if line.startswith("WARNING")]
    assert "no microphone whose name contains 'usb pnp'; the microphones connected now: " in (
        warning
    )
    assert "'vcmic'" in warning and "give --input-device one of these names" in warning
    assert "waiting for one" in warning
    assert "waits for a microphone" in err and "Traceback" not in err
    assert 2 < voiced < 10, voiced


@pytest.mark.slow
def test_run_with_a_microphone_that_will_not_open_stops_with_status_5(tmp_path: Path) -> None:
    """A microphone that is connected but refuses to open (here one PortAudio cannot
    read): run does not wait for it as for a missing one, but stops with status 5 and
    one line saying what to do; no session is logged, and the speaker said nothing."""
    dev = make_duplex_device(tmp_path, refusing_mic=True)
    dev.mic.write_bytes(bytes(4))
    log = tmp_path / "l.db"
    proc = voicecoach(
        dev.env(),
        "run",
        "--input-device",
        REFUSING_MIC,
        "--output-device",
        dev.device,
        "--routine",
        "self-correction",
        "--log",
        str(log),
    )
    assert proc.returncode == 5, proc.stderr
    [line] = [x for x in proc.stderr.splitlines() if x.startswith("voicecoach:")]
    assert line.startswith(f"voicecoach: cannot open the microphone '{REFUSING_MIC}' (")
    assert line.endswith(
        "): it is connected but will not open. Close any other program that uses it, or "
        "choose another with --input-device (see `voicecoach devices`)"
    )
    assert "Traceback" not in proc.stderr and "waits for a microphone" not in proc.stderr
    assert not log.exists()
    played = dev.output.read_bytes() if dev.output.exists() else b""
    assert voiced_seconds(np.frombuffer(played, "<i2"), dev.rate) == 0


# The real runner, session, speaker (SoundDeviceSink) and Microphone, on a microphone
# that is listed but will not open, lost from the start of the session: the runner
# tries to reopen it at every turn the coach is quiet (reconnect_interval 0), each try
# two opens with a device rescan between. The process prints how many opens it made
# and at how many the speaker's stream was running.
_REOPEN_CHILD = r"""
import json, sys, threading, time
from tests.routine_fixtures import tiny_routine
from voicecoach.asr.base import FakeRecognizer
from voicecoach.audio.sd_input import Microphone, MicSettings
from voicecoach.dialogue import Coach
from voicecoach.runtime.loop import LiveSession
from voicecoach.runtime.realtime import LiveRunner, SoundDeviceOutput
from voicecoach.runtime.settings import LiveSettings
from voicecoach.tts.base import FakeVoice
from voicecoach.tts.speaker import Speaker

speaker_name, mic_name, tries = sys.argv[1], sys.argv[2], int(sys.argv[3])
output = SoundDeviceOutput(speaker_name, 22050)
stop = threading.Event()
opens = []

class Watched(Microphone):
    def open(self, start=True):
        opens.append(bool(session.sink.active))
        if len(opens) >= tries:
            stop.set()
        super().open(start)

mic = Watched(MicSettings(device=mic_name))  # never opened: found closed at once
speaker = Speaker(FakeVoice(amplitude=0.2), output.open(), cues={})
session = LiveSession(Coach(tiny_routine()), FakeRecognizer(), speaker, time.monotonic,
                      None, LiveSettings(reconnect_interval=0.0))
said = []
session.transcript = lambda e: said.append(e.text)
status = LiveRunner(session, mic, stop, output).run()
active = bool(session.sink.active)
mic.close(); speaker.close(); session.sink.close()
print(json.dumps({"status": status, "opens": len(opens), "running": sum(opens),
                  "active": active, "said": said}))
"""


@pytest.mark.slow
def test_a_microphone_reopened_mid_session_opens_with_the_speakers_stream_stopped(
    tmp_path: Path,
) -> None:
    """PortAudio 19.6 now and then crashed (SIGSEGV in Pa_OpenStream) when a microphone
    failed to open while the speaker's stream ran: 9 of 60 bare sounddevice processes
    of ten such opens each here. The runner stops the speaker's stream for each open
    and starts it again after: 40 failed opens (each try re-reads the device list, about
    a second here), none with the stream running, no crash, and the speaker's stream
    running after."""
    dev = make_duplex_device(tmp_path, refusing_mic=True)
    dev.mic.write_bytes(bytes(4))
    proc = subprocess.run(
        [sys.executable, "-c", _REOPEN_CHILD, dev.device, REFUSING_MIC, "40"],
        env=dev.env(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]  # -11: SIGSEGV
    result = json.loads(proc.stdout.splitlines()[-1])
    assert result["opens"] >= 40
    assert result["running"] == 0
    assert result["active"]  # the speaker's stream runs again after the last
    assert result["said"].count(MIC_LOST) == 1 and MIC_BACK not in result["said"]


# ``voicecoach`` itself, in a process whose ALSA speaker is drained at real-time pace
# (PacedPipes must start before sounddevice is imported).
_PACED_CLI = r"""
import sys
from pathlib import Path
from tests.alsa_file_device import AlsaDuplexDevice, PacedPipes
dev = AlsaDuplexDevice(Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3]), 22050, 48000, 2)
PacedPipes(dev, 960, Path(sys.argv[4])).start_clock()
from voicecoach.cli import main
sys.exit(main(sys.argv[5:]))
"""


def voiced_seconds(samples: np.ndarray, rate: int) -> float:
    """Seconds of int16 ``samples`` louder than -40 dBFS (as :class:`Listener` counts)."""
    return int(np.count_nonzero(np.abs(samples.astype(np.int32)) > 328)) / rate


@pytest.mark.slow
def test_no_device_rescan_cuts_the_coach_while_it_speaks(tmp_path: Path) -> None:
    """Waiting for its microphone, run re-reads the device list every 2 s (a replugged
    card is only seen then), which reopens the speaker: never while the coach's audio
    plays, so the notice (longer than 2 s) is heard whole through a speaker that plays
    at real-time pace, and the first rescan comes after it. (Never either while the
    voice is still rendering it: without that, the unpaced tests above hear nothing.)"""
    notice = tmp_path / "notice.wav"
    said = voicecoach(dict(os.environ), "say", MIC_CHOSEN_MISSING, "--out", str(notice))
    assert said.returncode == 0, said.stderr
    with wave.open(str(notice)) as w:
        rate = w.getframerate()
        whole = voiced_seconds(np.frombuffer(w.readframes(w.getnframes()), "<i2"), rate)
    assert whole > 2.5  # outlasts a look for the microphone
    dev = make_duplex_device(tmp_path, paced=True)
    recording = tmp_path / "speaker.raw"
    proc = subprocess.Popen(
        [sys.executable, "-c", _PACED_CLI, str(dev.config), str(dev.output), str(dev.mic)]
        + [str(recording), "-v", "run", "--input-device", "usb pnp", "--output-device"]
        + [dev.device, "--routine", "self-correction", "--log", str(tmp_path / "l.db")],
        env=dev.env(),
        stderr=subprocess.PIPE,
        text=True,
    )
    lines: list[str] = []
    try:
        assert proc.stderr is not None
        for line in proc.stderr:  # until the speaker is opened again: the first rescan
            lines.append(line)
            if sum("output stream open" in x for x in lines) == 2:
                break
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    err = "".join(lines) + err
    assert proc.returncode == 0, err
    assert sum("output stream open" in x for x in err.splitlines()) >= 2, err
    played = voiced_seconds(np.frombuffer(recording.read_bytes(), "<i2"), rate)
    # A rescan while the notice played would cut it within 2 s of its start: 1.3 s of
    # voice at most. This rig plays later than the sink reckons (ALSA's file plugin
    # reports no latency, and audio waits in its buffer and the pipe), and the rescan
    # after the notice drops what still waits there: up to the last 0.7 s of voice
    # (in about one run in three). Piper's voice varies a little from one rendering to
    # the next.
    assert whole - 1.5 < played < 1.1 * whole, (played, whole)


@pytest.mark.skipif(not HAVE_FLITE, reason="needs flite (scripts/install.sh --test)")
def test_check_judges_the_spoken_level_as_the_recognizer_hears_it() -> None:
    """``voicecoach check``'s verdict on what the microphone heard while the user spoke
    (a real voice, Flite's awb, at 48 kHz as a USB microphone gives it)."""
    said = np.concatenate([flite("where am i"), np.zeros(8000, np.float32)])
    level = file_level(AudioChunk.from_float(said, ASR_RATE))
    assert level is not None
    words = resample(said, ASR_RATE, 48000)

    def at(db: float) -> np.ndarray:  # the words at db dBFS (the recognizer's measure)
        hiss = np.random.default_rng(1).normal(0, 1e-5, len(words))
        return (words * 10 ** ((db - level) / 20) + hiss).astype(np.float32)

    def speech(detail: str) -> float:
        found = re.match(r"speech (-?\d+) dBFS", detail)
        assert found, detail
        return float(found.group(1))

    low, high = LEVELS
    problem, detail, fix = judge_microphone_level(at(-25), 48000)
    assert not problem and fix is None and speech(detail) == pytest.approx(-25, abs=1)
    # Quiet, but not by much: fine, with a hint.
    problem, detail, fix = judge_microphone_level(at(low - 6), 48000)
    assert not problem and "quiet" in detail and fix is not None and "about 6 dB" in fix
    assert "--mic-gain 6" in fix  # where the capture level cannot go up
    # Measured with a microphone gain already: the gain to use is the sum.
    problem, detail, fix = judge_microphone_level(at(low - 6), 48000, gain_db=10)
    assert "with --mic-gain 10" in detail and fix is not None and "--mic-gain 16" in fix
    # Too quiet: more than TOO_QUIET under the range.
    problem, detail, fix = judge_microphone_level(at(low - TOO_QUIET - 6), 48000)
    assert problem and "too quiet" in detail and fix is not None
    assert f"about {TOO_QUIET + 6:.0f} dB" in fix and f"--mic-gain {TOO_QUIET + 6:.0f}" in fix
    # Not a sample above zero: a microphone muted (its capture off) or at zero. It
    # was told only "too quiet", to raise a level that was not the trouble.
    problem, detail, fix = judge_microphone_level(np.zeros(48000, np.float32), 48000)
    assert problem and "speech silence" in detail and "muted" in detail
    assert fix is not None and "space bar" in fix and "--mic-gain" not in fix
    problem, detail, fix = judge_microphone_level(np.clip(at(-5) * 4, -1, 1), 48000)
    assert problem and "clipping" in detail and fix is not None and "mic-gain" not in fix
    problem, detail, fix = judge_microphone_level(np.clip(at(-5) * 4, -1, 1), 48000, 20)
    assert problem and fix is not None and "smaller --mic-gain" in fix


@pytest.mark.slow
@pytest.mark.skipif(not HAVE_FLITE, reason="needs flite (scripts/install.sh --test)")
def test_check_measures_what_the_microphone_hears(tmp_path: Path) -> None:
    """``voicecoach check`` through a real PortAudio stream: ALSA's file plugin serves a
    quiet recording (a real voice at about -39 dBFS, 5 dB under the recognizer's range,
    48 kHz stereo) as the microphone, and check says by how much to raise the capture
    level, or the gain to use; with that gain the level is in the range."""
    dev = make_duplex_device(tmp_path)
    # 2 s a turn, and check listens 2.5 s: a whole "where am i" each time, so the two
    # measures compare the same words.
    pause = np.zeros(8000, np.float32)
    said = np.concatenate([pause, flite("where am i"), pause])
    words = np.tile(resample(said, ASR_RATE, 48000), 4) * 0.07
    dev.mic.write_bytes((np.stack([words, words], 1) * 32767).astype("<i2").tobytes())
    proc = voicecoach(
        dev.env(),
        "check",
        "--input-device",
        "vcmic",
        "--output-device",
        "vcfile",
        "--listen",
        "2.5",
    )
    line = next(x for x in proc.stdout.splitlines() if "microphone level:" in x)
    found = re.search(r"speech (-?\d+) dBFS", line)
    assert found, line
    level = float(found.group(1))
    assert LEVELS[0] - TOO_QUIET < level < LEVELS[0], line
    assert line.split()[0] == "ok" and "raise the capture level by about" in line
    missing = LEVELS[0] - level
    # The same microphone with the gain check suggested: in the range, nothing to do.
    dev.mic.write_bytes((np.stack([words, words], 1) * 32767).astype("<i2").tobytes())
    gain = f"{missing + 6:.0f}"
    proc = voicecoach(
        dev.env(), "check", "--input-device", "vcmic", "--output-device", "vcfile",
        "--listen", "2.5", "--mic-gain", gain,
    )  # fmt: skip
    line = next(x for x in proc.stdout.splitlines() if "microphone level:" in x)
    found = re.search(r"speech (-?\d+) dBFS", line)
    assert found, line
    # Each measure is the loudest 30 ms of the words, which moves by a dB or two with
    # where the blocks fall on them.
    assert float(found.group(1)) == pytest.approx(level + float(gain), abs=3), (level, line)
    assert line.split()[0] == "ok" and "raise" not in line and f"--mic-gain {gain}" in line
