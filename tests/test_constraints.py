"""constraints.txt: the suite runs on the versions the install scripts install.

The install scripts pass ``-c constraints.txt`` to pip, so a Raspberry Pi gets the
versions that were tested (here, and on an emulated Pi by scripts/emulate_pi.py). These
tests hold the other end: the environment the suite runs in has exactly those versions,
and nothing in it is left unpinned, so a passing suite speaks for what a user installs.
"""

from __future__ import annotations

import importlib.metadata
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CONSTRAINTS = ROOT / "constraints.txt"
LINE = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;]+)\s*;\s*python_version >= \"3\.11\"$")
NOT_PINNED = {"pip", "setuptools", "wheel", "voicecoach"}
"""Installed by venv itself, or the project."""


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def pins() -> dict[str, str]:
    out: dict[str, str] = {}
    for n, line in enumerate(CONSTRAINTS.read_text().splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        m = LINE.match(line)
        assert m, f"constraints.txt line {n} is not 'name==version ; marker': {line!r}"
        assert canonical(m[1]) not in out, f"{m[1]} is pinned twice"
        out[canonical(m[1])] = m[2]
    return out


def installed() -> dict[str, str]:
    return {
        canonical(d.metadata["Name"]): d.version
        for d in importlib.metadata.distributions()
        if canonical(d.metadata["Name"]) not in NOT_PINNED
    }


def test_every_line_pins_one_version() -> None:
    p = pins()
    # What the coach cannot run without is among them.
    for name in ("numpy", "onnxruntime", "piper-tts", "pocketsphinx", "vosk", "sounddevice"):
        assert name in p


def test_the_scripts_install_with_the_constraints() -> None:
    for script in ("install.sh", "install-pi.sh"):
        text = (ROOT / "scripts" / script).read_text()
        installs = [
            line
            for line in text.splitlines()
            if "pip install" in line and " -e " in line and not line.lstrip().startswith("#")
        ]
        assert installs, script
        assert all("-c constraints.txt" in line for line in installs), script


def test_the_pinned_packages_the_install_scripts_add_match() -> None:
    # pyrnnoise and openwakeword are installed without dependencies at a fixed version.
    p = pins()
    for script in ("install.sh", "install-pi.sh"):
        text = (ROOT / "scripts" / script).read_text()
        for name, version in re.findall(r"'([a-z]+)==([0-9.]+)'", text):
            assert p.get(canonical(name)) == version, (script, name)


@pytest.mark.skipif(sys.version_info < (3, 11), reason="constraints.txt pins Python 3.11+")
def test_the_suite_runs_on_the_pinned_versions() -> None:
    p, have = pins(), installed()
    wrong = {n: (have[n], p[n]) for n in p.keys() & have.keys() if have[n] != p[n]}
    assert not wrong, (
        f"installed (version, pinned) differ: {wrong}; reinstall with scripts/install.sh "
        "--test, or move the pins as constraints.txt says"
    )
    loose = sorted(have.keys() - p.keys())
    assert not loose, f"installed but not in constraints.txt: {loose}"
