"""``voicecoach run`` / ``devices`` against what PortAudio sees (child processes, real ALSA)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.alsa_file_device import make_duplex_device


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
def test_devices_lists_names_and_run_rejects_an_unknown_one(tmp_path: Path) -> None:
    dev = make_duplex_device(tmp_path)
    dev.mic.write_bytes(bytes(4))
    listing = voicecoach(dev.env(), "devices")
    assert "vcmic" in listing.stdout and "vcfile" in listing.stdout
    proc = voicecoach(dev.env(), "run", "--input-device", "webcam", "--log", str(tmp_path / "l.db"))
    assert proc.returncode == 5
    assert "no microphone whose name contains 'webcam'" in proc.stderr
