"""The install scripts' platform check (``scripts/check-platform.sh``), run for real with
``dpkg`` answering for the system it pretends to be."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "check-platform.sh"


def check_as(arch: str | None, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    if arch is not None:
        fake = tmp_path / "bin"
        fake.mkdir(exist_ok=True)
        (fake / "dpkg").write_text(f"#!/bin/sh\necho {arch}\n")
        (fake / "dpkg").chmod(0o755)
        env["PATH"] = f"{fake}{os.pathsep}{env['PATH']}"
    return subprocess.run(["bash", str(SCRIPT)], env=env, capture_output=True, text=True)


@pytest.mark.parametrize("arch", ["amd64", "arm64", None])
def test_64_bit_systems_pass(arch: str | None, tmp_path: Path) -> None:
    proc = check_as(arch, tmp_path)
    assert proc.returncode == 0 and proc.stderr == ""


def test_32_bit_raspberry_pi_os_is_told_what_to_install(tmp_path: Path) -> None:
    proc = check_as("armhf", tmp_path)
    assert proc.returncode == 3
    assert "needs a 64-bit system" in proc.stderr and "this one is armhf" in proc.stderr
    assert "Raspberry Pi OS (64-bit)" in proc.stderr


def test_other_systems_are_told_without_the_pi_advice(tmp_path: Path) -> None:
    proc = check_as("i386", tmp_path)
    assert proc.returncode == 3 and "this one is i386" in proc.stderr
    assert "Raspberry Pi" not in proc.stderr
