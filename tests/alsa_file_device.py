"""A real ALSA output device that writes to a file, for sounddevice tests without hardware.

ALSA's ``file`` plugin passes audio to a slave PCM and also writes it to a file; with
the ``null`` PCM as slave nothing is heard. A ``plug`` in front converts whatever
PortAudio opens (float32, any rate) to 16-bit mono at ``rate``, so the file is plain
little-endian int16 samples.

PortAudio reads the ALSA configuration once, when ``sounddevice`` is imported, from
``ALSA_CONFIG_PATH``. Tests therefore run their sounddevice code in a child process
(:func:`run_python`) with that variable pointing at a config made here. Note the
``null`` PCM does not pace playback in real time: audio is consumed as fast as it
is written, so only order and content can be checked this way, not timing.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

DEVICE = "vcfile"
SYSTEM_CONFIG = Path("/usr/share/alsa/alsa.conf")


@dataclass(frozen=True)
class AlsaFileDevice:
    """An ALSA config defining :data:`DEVICE`, and the file that device writes."""

    config: Path
    output: Path
    rate: int
    device: str = DEVICE

    def env(self) -> dict[str, str]:
        """The environment for a child process that should see the device."""
        env = dict(os.environ)
        env["ALSA_CONFIG_PATH"] = str(self.config)
        return env

    def samples(self) -> np.ndarray:
        """Everything written so far, as float32 in -1..1."""
        if not self.output.exists():
            return np.zeros(0, dtype=np.float32)
        return np.frombuffer(self.output.read_bytes(), dtype="<i2").astype(np.float32) / 32768.0


def make_device(folder: Path, rate: int = 22_050, capture: bool = True) -> AlsaFileDevice:
    """Write an ALSA config with a file-writing output device into ``folder``.

    Every PCM over ALSA's ``null`` can capture too (silence), so PortAudio lists each as
    a microphone as well; ``capture=False`` defines :data:`DEVICE` alone, playback
    only (its chain inside it), for a machine with a speaker and no microphone."""
    output = folder / "alsa-out.raw"
    config = folder / "asoundrc"
    # The system config comes first so the usual definitions (and PortAudio's device
    # enumeration) keep working; ours only adds PCMs.
    include = f"<{SYSTEM_CONFIG}>\n" if SYSTEM_CONFIG.exists() else ""
    if not capture:
        config.write_text(
            include
            + f"""
pcm.{DEVICE} {{
    type asym
    playback.pcm {{
        type plug
        slave {{
            pcm {{ type file slave.pcm {{ type null }} file "{output}" format "raw" }}
            format S16_LE rate {rate} channels 1
        }}
    }}
}}
"""
        )
        return AlsaFileDevice(config, output, rate)
    config.write_text(
        include
        + f"""
pcm.vcnull {{ type null }}
pcm.vcfile_raw {{
    type file
    slave.pcm "vcnull"
    file "{output}"
    format "raw"
}}
pcm.{DEVICE} {{
    type plug
    slave {{ pcm "vcfile_raw" format S16_LE rate {rate} channels 1 }}
}}
"""
    )
    return AlsaFileDevice(config, output, rate)


def run_python(device: AlsaFileDevice, code: str, timeout: float = 60.0) -> dict:
    """Run ``code`` in a child Python that sees ``device``; it must print one JSON line last.

    Returns that JSON object. Raises ``AssertionError`` with the child's stderr if
    it failed.
    """
    proc = subprocess.run(
        [sys.executable, "-c", code],
        env=device.env(),
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert proc.returncode == 0, f"child failed ({proc.returncode}):\n{proc.stderr}"
    lines = [line for line in proc.stdout.splitlines() if line.strip()]
    assert lines, f"child printed nothing:\n{proc.stderr}"
    return json.loads(lines[-1])


# ----------------------------------------------------------- microphone from a file

MIC_DEVICE = "vcmic"
REFUSING_MIC = "vcmic_mulaw"
"""A microphone that is listed but will not open: it captures only mu-law, which
PortAudio cannot take (``make_duplex_device(..., refusing_mic=True)``)."""


@dataclass(frozen=True)
class AlsaDuplexDevice:
    """An ALSA config with a file-writing speaker and a file-reading microphone.

    The microphone (:data:`MIC_DEVICE`) is ALSA's ``file`` plugin with ``infile``:
    capture reads raw S16_LE frames at ``mic_rate`` x ``mic_channels`` from
    ``mic``. Over the ``null`` slave neither side is paced in real time; with
    ``paced=True`` both files are named pipes that :class:`PacedPipes` (run in the
    child process) feeds and drains at real-time pace.
    """

    config: Path
    output: Path
    mic: Path
    rate: int
    mic_rate: int
    mic_channels: int
    device: str = DEVICE
    mic_device: str = MIC_DEVICE

    def env(self) -> dict[str, str]:
        """The environment for a child process that should see the devices."""
        env = dict(os.environ)
        env["ALSA_CONFIG_PATH"] = str(self.config)
        return env


def make_duplex_device(
    folder: Path,
    rate: int = 22_050,
    mic_rate: int = 48_000,
    mic_channels: int = 2,
    paced: bool = False,
    refusing_mic: bool = False,
) -> AlsaDuplexDevice:
    """Write an ALSA config with a speaker writing ``folder/alsa-out.raw`` (or pipe) and a
    microphone reading ``folder/mic.raw`` (or pipe); ``refusing_mic`` adds
    :data:`REFUSING_MIC`, on the same file."""
    output = folder / ("alsa-out.fifo" if paced else "alsa-out.raw")
    mic = folder / ("mic.fifo" if paced else "mic.raw")
    if paced:
        for pipe in (output, mic):
            if not pipe.exists():
                os.mkfifo(pipe)
    config = folder / "asoundrc"
    include = f"<{SYSTEM_CONFIG}>\n" if SYSTEM_CONFIG.exists() else ""
    # The plug in front of each file converts whatever PortAudio opens; opened at the
    # slave's own format it passes blocks through unchanged, which keeps each read of
    # the microphone pipe one whole block.
    config.write_text(
        include
        + f"""
pcm.vcnull {{ type null }}
pcm.vcfile_raw {{
    type file
    slave.pcm "vcnull"
    file "{output}"
    format "raw"
}}
pcm.{DEVICE} {{
    type plug
    slave {{ pcm "vcfile_raw" format S16_LE rate {rate} channels 1 }}
}}
pcm.vcmic_raw {{
    type file
    slave.pcm "vcnull"
    file "/dev/null"
    infile "{mic}"
    format "raw"
}}
pcm.{MIC_DEVICE} {{
    type plug
    slave {{ pcm "vcmic_raw" format S16_LE rate {mic_rate} channels {mic_channels} }}
}}
"""
        + (
            f'pcm.{REFUSING_MIC} {{ type mulaw slave {{ pcm "vcmic_raw" format S16_LE }} }}\n'
            if refusing_mic
            else ""
        )
    )
    return AlsaDuplexDevice(config, output, mic, rate, mic_rate, mic_channels)


def bandlimited(signal: np.ndarray, positions: np.ndarray, half: int = 16) -> np.ndarray:
    """``signal`` read at fractional ``positions`` by windowed-sinc interpolation.

    What a loudspeaker's DAC and a microphone's ADC do: linear interpolation would add
    images of the voice above its Nyquist frequency, which the product's own resampling
    then folds back into the band (echo no real room makes)."""
    base = np.floor(positions).astype(np.int64)
    k = np.arange(-half + 1, half + 1)
    offsets = positions[:, None] - (base[:, None] + k[None, :])
    weights = np.sinc(offsets) * (0.5 + 0.5 * np.cos(np.pi * offsets / half))
    return np.sum(signal[base[:, None] + k[None, :]] * weights, axis=1)


class PacedPipes:
    """Real-time pacing for a :func:`make_duplex_device` made with ``paced=True``.

    Runs in the process that opens the streams, and must start *before* sounddevice
    is imported: PortAudio opens every device while it enumerates them, and opening a
    named pipe waits for the other end. One thread writes microphone blocks of
    exactly ``block`` frames at real-time pace (silence until :meth:`say` queues
    audio), so every read of the capture stream gets a whole block; another drains
    the speaker pipe at real-time pace into ``recording`` (a regular file). Both
    reopen their pipe whenever the other end closes (device probing).

    Audio reaches the recording later than it would reach a sound card's output:
    ALSA's ``file`` plugin writes only what exceeds one buffer of the stream, and
    then it waits in the speaker pipe (one page, 93 ms of 22.05 kHz mono) until the
    drain reads it. The drain notes how much waited in the pipe at each read
    (:attr:`fifo_backlog`), so a benchmark can tell the rig's share of an output
    delay from the product's.
    """

    def __init__(
        self,
        dev: AlsaDuplexDevice,
        block: int,
        recording: Path,
        echo: tuple[float, float] | None = None,
        noise_rms: float = 0.0,
    ) -> None:
        """``echo=(gain, delay)`` mixes what the speaker played ``delay`` seconds ago into
        the microphone (an acoustic path with no echo cancellation), plus a reflection
        at 40 % of that gain 25 ms later; ``noise_rms`` adds room noise."""
        import threading

        self.dev = dev
        self.block = block
        self.recording = recording
        self.echo = echo
        self.noise_rms = noise_rms
        self._rng = np.random.default_rng(3)
        self._played: list[np.ndarray] = []  # speaker output since start_clock, in chunks
        self._played_n = 0
        self.echo_missing: list[tuple[float, int]] = []
        """(microphone time, samples) of echo the rig could not make: what the speaker
        played then had not been drained from its pipe yet."""
        self.fifo_backlog: list[tuple[int, int]] = []
        """Per read of the speaker pipe since :meth:`start_clock`: (samples in the
        recording before it, samples waiting in the pipe when it began)."""
        self.thread_ids: list[int] = []
        """Native ids of the two pacing threads (a benchmark leaves their CPU out)."""
        self.started = threading.Event()
        self.mic_time = 0.0
        """Seconds of microphone audio delivered since :meth:`start_clock`."""
        self._pending: list[np.ndarray] = []
        self._lock = threading.Lock()
        self._stop = False
        self._stalled = False
        recording.write_bytes(b"")
        threading.Thread(target=self._feed, daemon=True).start()
        threading.Thread(target=self._drain, daemon=True).start()

    def start_clock(self) -> None:
        """From now on, count microphone time (call once the streams are open)."""
        self.started.set()

    def say(self, samples: np.ndarray) -> float:
        """Queue int16 mono samples at the mic rate; returns the mic time they end at."""
        with self._lock:
            self._pending.append(np.asarray(samples, dtype="<i2"))
            queued = sum(len(p) for p in self._pending)
        return self.mic_time + queued / self.dev.mic_rate

    def idle(self) -> bool:
        """True when everything queued with :meth:`say` has been written."""
        with self._lock:
            return not self._pending

    def close(self) -> None:
        """Stop the threads at their next block."""
        self._stop = True

    def stall(self, stalled: bool = True) -> None:
        """Stop (or resume) writing the microphone, keeping the pipe open: the capture
        stream blocks in ALSA, as with a USB microphone that stops delivering."""
        self._stalled = stalled

    def _next_block(self) -> np.ndarray:
        out = np.zeros(self.block, dtype="<i2")
        filled = 0
        with self._lock:
            while self._pending and filled < self.block:
                head = self._pending[0]
                n = min(len(head), self.block - filled)
                out[filled : filled + n] = head[:n]
                filled += n
                if n == len(head):
                    self._pending.pop(0)
                else:
                    self._pending[0] = head[n:]
        return out

    def _room(self, block: np.ndarray) -> np.ndarray:
        """The user's block plus echo and noise, as int16."""
        out = block.astype(np.float32) / 32768.0
        if self.echo is not None and self._played_n:
            gain, delay = self.echo
            played = np.concatenate(self._played[-64:])
            base = self._played_n - len(played)  # sample index of played[0]
            rate, mic_rate = self.dev.rate, self.dev.mic_rate
            for g, d in ((gain, delay), (0.4 * gain, delay + 0.025)):
                t = self.mic_time - d + np.arange(self.block) / mic_rate
                idx = t * rate - base
                ok = (idx >= 16) & (idx < len(played) - 17)
                late = int(np.count_nonzero(idx >= len(played) - 17))
                if late:  # the speaker's audio for these samples was not drained yet
                    self.echo_missing.append((self.mic_time, late))
                if ok.any():
                    out[ok] += g * bandlimited(played, idx[ok])
        if self.noise_rms:
            out += self._rng.normal(0.0, self.noise_rms, len(out)).astype(np.float32)
        return np.clip(np.round(out * 32767.0), -32768, 32767).astype("<i2")

    def _feed(self) -> None:
        import fcntl
        import threading
        import time

        self.thread_ids.append(threading.get_native_id())
        period = self.block / self.dev.mic_rate
        while not self._stop:
            fd = os.open(self.dev.mic, os.O_WRONLY)
            with contextlib.suppress(OSError):
                fcntl.fcntl(fd, 1031, 4096)  # F_SETPIPE_SZ: keep the pipe short
            t0, n = time.monotonic(), 0
            try:
                while not self._stop:
                    live = self.started.is_set()
                    block = (
                        self._room(self._next_block())
                        if live
                        else np.zeros(self.block, dtype="<i2")
                    )
                    data = np.repeat(block[:, None], self.dev.mic_channels, axis=1).tobytes()
                    while self._stalled and not self._stop:
                        time.sleep(0.01)
                        t0, n = time.monotonic(), 0  # resume pacing from now
                    os.write(fd, data)
                    if live:
                        self.mic_time += period
                    n += 1
                    time.sleep(max(0.0, t0 + n * period - time.monotonic()))
            except BrokenPipeError:
                pass
            finally:
                os.close(fd)

    def _drain(self) -> None:
        import array
        import fcntl
        import termios
        import threading
        import time

        self.thread_ids.append(threading.get_native_id())
        chunk = 512
        while not self._stop:
            fd = os.open(self.dev.output, os.O_RDONLY)
            with contextlib.suppress(OSError):
                fcntl.fcntl(fd, 1031, 4096)
            t0, total = time.monotonic(), 0
            waiting = array.array("i", [0])
            with open(self.recording, "ab") as rec:
                while not self._stop:
                    with contextlib.suppress(OSError):
                        fcntl.ioctl(fd, termios.FIONREAD, waiting)
                    data = os.read(fd, chunk * 2)
                    if not data:
                        break
                    if self.started.is_set():
                        self.fifo_backlog.append((rec.tell() // 2, waiting[0] // 2))
                        rec.write(data)
                        if self.echo is not None:
                            pcm = np.frombuffer(data[: len(data) // 2 * 2], dtype="<i2")
                            self._played.append(pcm.astype(np.float32) / 32768.0)
                            self._played_n += len(pcm)
                            if len(self._played) > 128:
                                del self._played[:64]
                    total += len(data) // 2
                    time.sleep(max(0.0, t0 + total / self.dev.rate - time.monotonic()))
            os.close(fd)
