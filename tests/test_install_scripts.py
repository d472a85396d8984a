"""The install scripts' checks, run for real: the platform check
(``scripts/check-platform.sh``) with ``dpkg`` answering for the system it pretends to
be, and the Pi installer's routine check (``scripts/check-routine.sh``) with this
voicecoach."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPTS = Path(__file__).resolve().parent.parent / "scripts"
SCRIPT = SCRIPTS / "check-platform.sh"


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


def check_routine(routine: str, config: Path) -> subprocess.CompletedProcess[str]:
    """scripts/check-routine.sh with this voicecoach, the user's routines in ``config``."""
    env = dict(os.environ, XDG_CONFIG_HOME=str(config))
    command = [sys.executable, "-m", "voicecoach"]
    script = SCRIPTS / "check-routine.sh"
    return subprocess.run(
        ["bash", str(script), routine, *command], env=env, capture_output=True, text=True
    )


def test_a_mistyped_routine_is_refused_with_the_routines_there_are(tmp_path: Path) -> None:
    # install-pi.sh wrote it into the service's ExecStart unchecked: the service failed
    # every 10 s and the person heard nothing.
    proc = check_routine("neck-complx", tmp_path)
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.startswith("The service cannot use --routine neck-complx:\n")
    assert 'there is no routine "neck-complx"' in proc.stderr
    listed = proc.stderr.split("The routines there are:\n")[1].splitlines()
    assert [line.split()[0] for line in listed[:-1]] == ["neck-complex", "self-correction"]
    assert listed[-1] == "Run the installer again with --routine set to one of these ids."


@pytest.mark.parametrize("routine", ["-h", "--all", ""])
def test_an_option_or_nothing_is_refused_as_a_routine(routine: str, tmp_path: Path) -> None:
    # `show -h` succeeds (it prints help), where the service's `run --routine -h` fails.
    proc = check_routine(routine, tmp_path)
    assert proc.returncode == 2 and proc.stdout == ""
    assert 'never starts with "-"' in proc.stderr
    assert "Run the installer again with --routine set to one of these ids." in proc.stderr


def test_a_built_in_or_a_users_own_routine_passes(tmp_path: Path) -> None:
    assert check_routine("neck-complex", tmp_path).returncode == 0
    folder = tmp_path / "voicecoach" / "routines"
    folder.mkdir(parents=True)
    doc = (SCRIPTS.parent / "docs" / "routine-format.md").read_text()
    example = doc.split("```toml\n")[1].split("```")[0]
    (folder / "morning.toml").write_text(example, encoding="utf-8")
    proc = check_routine("morning-neck", tmp_path)
    assert proc.returncode == 0 and proc.stdout == proc.stderr == ""


def test_the_pi_installer_checks_its_routine_before_it_renders_or_writes_the_service() -> None:
    # The check needs the virtual environment's voicecoach, and should stop the install
    # before the minutes of `prepare --all` and before any service is written. (The
    # installer itself needs apt, sudo and systemd, so this reads its order of steps.)
    lines = (SCRIPTS / "install-pi.sh").read_text().splitlines()
    [check] = [i for i, line in enumerate(lines) if "check-routine.sh" in line and line[0] != "#"]
    assert lines[check] == 'scripts/check-routine.sh "$routine" .venv/bin/voicecoach'
    venv = max(i for i, line in enumerate(lines) if line.startswith(".venv/bin/python -m pip"))
    first_use = min(i for i, line in enumerate(lines) if line.startswith(".venv/bin/voicecoach "))
    unit = next(i for i, line in enumerate(lines) if line.startswith("cat > "))
    assert venv < check < first_use < unit
    assert '--routine) routine="$2"' in "\n".join(lines)


def test_the_pi_service_stays_between_sessions() -> None:
    # Without --standby a session's goodbye ended the service until the next boot: a
    # person who uses the coach only by voice had to reboot the Pi to exercise again.
    lines = (SCRIPTS / "install-pi.sh").read_text().splitlines()
    [args] = [line for line in lines if line.startswith("run_args=(")]
    assert "--standby)" in args.split()
    [exec_start] = [line for line in lines if line.startswith("ExecStart=")]
    assert exec_start.endswith("voicecoach run ${run_args[*]}")
