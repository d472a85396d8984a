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


def make_device(folder: Path, rate: int = 22_050) -> AlsaFileDevice:
    """Write an ALSA config with a file-writing output device into ``folder``."""
    output = folder / "alsa-out.raw"
    config = folder / "asoundrc"
    # The system config comes first so the usual definitions (and PortAudio's device
    # enumeration) keep working; ours only adds PCMs.
    include = f"<{SYSTEM_CONFIG}>\n" if SYSTEM_CONFIG.exists() else ""
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
