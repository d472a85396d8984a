#!/usr/bin/env python3
"""Benchmark commands said over continuous background talk: a television or a radio.

The evaluation set (``scripts/make_eval_set.py``) mixes each command with noise in a
file of a second or two. A television talks on for minutes, and what it does to a
recognizer shows only in a long stream: the voice activity detector calls its talk
speech, so an utterance may never end. This builds one stream per condition and feeds it
to the recognizer in 20 ms chunks, as the live loop does:

- the background: the split's LibriVox recordings from ``pocketsphinx-testdata`` (one
  real reader, as a television or a radio), looped, at 20, 15 and 10 dB below the
  commands (their active levels), or none;
- ``--lead`` seconds of the background alone (30: the gate acts once it has talked
  on for about 16 s), then every command phrase said by each of
  the split's talker voices (Flite and Festival voices built from real talkers'
  recordings, as in the evaluation set; dev: awb, slt, slt HTS; test: rms, kal16,
  kal and ked), one every ``--gap`` seconds in random order, at -26 dBFS;
- a quiet room's tone at -60 dBFS under everything.

And, as a check that the user's own talk is not taken for a television: each command
said 1 s after two sentences of the same talker's talk, in a quiet room.

A command counts as heard if a result with its intent ends between 0.3 s before its
start and 1.2 s after its end; another intent there is a wrong command; a command acted
on anywhere else is a false accept (per minute of stream; the JSON lists each). Each
condition is run with the talk gate (``AsrSettings.talk_gate``) and without it, unless
``--gate-only``.

Usage: ``python scripts/bench_background.py [--split dev|test] [--json out.json]``.
Tune on dev; report on test. Pinned to one core; takes 2-4 minutes.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

import evalset_lib as lib  # noqa: E402
import make_eval_set as evalset  # noqa: E402

from voicecoach.asr.base import AsrSettings, Recognition  # noqa: E402
from voicecoach.asr.pocketsphinx import PocketSphinxRecognizer  # noqa: E402
from voicecoach.audio.chunk import ASR_RATE, AudioChunk  # noqa: E402
from voicecoach.commands import PHRASES, Intent  # noqa: E402

COMMAND_DBFS = -26.0
ROOM_DBFS = -60.0
CHUNK = 320  # 20 ms, as the microphone delivers
SNRS = (20, 15, 10)


def talker_clips(split: str, seed: int) -> list[tuple[str, Intent, str, np.ndarray]]:
    """(phrase, intent, voice, audio) for every phrase and talker voice of ``split``."""
    rng = np.random.default_rng([seed, evalset.lib.SPLITS.index(split)])
    out = []
    for engine, name, f0 in evalset.TALKER_VOICES[split]:
        for intent, phrases in PHRASES.items():
            for phrase in phrases:
                stretch = 1.0 if name.endswith("_hts") else float(rng.choice(evalset.STRETCHES))
                pitch = round(f0 * rng.uniform(0.85, 1.2)) if f0 else 0
                voice = evalset.Voice(engine, name, pitch=pitch, stretch=stretch)
                out.append((phrase, intent, voice.speaker, voice.say(phrase)))
    return out


def background_track(split: str) -> np.ndarray:
    """The split's LibriVox recordings end to end, unit active power (as make_eval_set
    splits them: files 0 and 2 dev, the rest test)."""
    files = sorted((evalset.PS_DATA / "librivox").glob("*.wav"))
    if not files:
        raise SystemExit(
            f"no LibriVox recordings in {evalset.PS_DATA}: install pocketsphinx-testdata "
            "(scripts/install.sh --test)"
        )
    x = np.concatenate(
        [lib.read_wav(p) for i, p in enumerate(files) if (i in (0, 2)) == (split == "dev")]
    ).astype(np.float64)
    return x / np.sqrt(lib.active_power(x))


def stream(
    clips: list[tuple[str, Intent, str, np.ndarray]],
    background: np.ndarray | None,
    snr: float | None,
    lead: float,
    gap: float,
    seed: int,
) -> tuple[np.ndarray, list[tuple[Intent, float, float]]]:
    """The microphone signal (int16) and where each command is: (intent, start, end)."""
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(clips))
    n = int((lead + gap * len(clips) + 2.0) * ASR_RATE)
    sig = np.zeros(n)
    marks = []
    pos = int(lead * ASR_RATE)
    for i in order:
        _, intent, _, x = clips[i]
        x = x.astype(np.float64)
        x = x / np.sqrt(lib.active_power(x)) * 10 ** (COMMAND_DBFS / 20)
        sig[pos : pos + len(x)] += x
        marks.append((intent, pos / ASR_RATE, (pos + len(x)) / ASR_RATE))
        pos += int(gap * ASR_RATE)
    if background is not None and snr is not None:
        start = int(rng.integers(0, len(background)))
        bg = np.tile(background, n // len(background) + 2)[start : start + n]
        sig += bg * 10 ** ((COMMAND_DBFS - snr) / 20)
    sig += lib.room_tone(n, rng) * 10 ** (ROOM_DBFS / 20)
    return np.clip(sig * 32767, -32768, 32767).astype("<i2"), marks


def own_talk_stream(
    clips: list[tuple[str, Intent, str, np.ndarray]], split: str, pause: float, seed: int
) -> tuple[np.ndarray, list[tuple[Intent, float, float]]]:
    """Each command said ``pause`` seconds after two sentences of the same talker's own
    talk (no command words), at the same level, in a quiet room: the user talks to
    someone, then to the coach. The gate must not take their talk for a television."""
    rng = np.random.default_rng(seed)
    talks: dict[str, np.ndarray] = {}
    for k, (engine, name, _) in enumerate(evalset.TALKER_VOICES[split]):
        first, second = (evalset.TALK[(2 * k + j) % len(evalset.TALK)] for j in (0, 1))
        text = f"{first}. {second}"
        talks[name] = evalset.Voice(engine, name).say(text)
    level = 10 ** (COMMAND_DBFS / 20)
    parts, marks, pos = [np.zeros(ASR_RATE)], [], ASR_RATE
    for i in rng.permutation(len(clips)):
        _, intent, speaker, x = clips[i]
        talk = talks[speaker.split(":")[1]].astype(np.float64)
        x = x.astype(np.float64)
        for piece in (talk, np.zeros(int(pause * ASR_RATE)), x, np.zeros(2 * ASR_RATE)):
            if piece is x:
                marks.append((intent, pos / ASR_RATE, (pos + len(x)) / ASR_RATE))
            if np.any(piece):
                piece = piece / np.sqrt(lib.active_power(piece)) * level
            parts.append(piece)
            pos += len(piece)
    sig = np.concatenate(parts)
    sig += lib.room_tone(len(sig), rng) * 10 ** (ROOM_DBFS / 20)
    return np.clip(sig * 32767, -32768, 32767).astype("<i2"), marks


def run(pcm: np.ndarray, gate: bool) -> tuple[list[Recognition], float]:
    """Stream ``pcm`` through a fresh PocketSphinx recognizer; its results and CPU
    seconds."""
    rec = PocketSphinxRecognizer(settings=AsrSettings(talk_gate=gate))
    results: list[Recognition] = []
    cpu = time.process_time()
    for k in range(0, len(pcm), CHUNK):
        chunk = AudioChunk(pcm[k : k + CHUNK].tobytes(), ASR_RATE, timestamp=k / ASR_RATE)
        results += rec.accept(chunk)
    results += rec.flush()
    return results, time.process_time() - cpu


def score(
    results: list[Recognition], marks: list[tuple[Intent, float, float]], minutes: float
) -> dict:
    heard = wrong = 0
    explained = set()
    for intent, a, b in marks:
        near = [
            i for i, r in enumerate(results) if r.intent is not None and a - 0.3 <= r.end <= b + 1.2
        ]
        explained.update(near)
        if any(results[i].intent == intent for i in near):
            heard += 1
        elif near:
            wrong += 1
    acted = [i for i, r in enumerate(results) if r.intent is not None]
    false = [i for i in acted if i not in explained]
    too_long = sum(1 for r in results if r.intent is None and r.end - r.start >= 2.4)
    return {
        "commands": len(marks),
        "recall": heard / len(marks),
        "wrong_command": wrong / len(marks),
        "false_accepts": len(false),
        "false_accepts_per_minute": len(false) / minutes,
        "false_accepted": [
            {"command": results[i].intent.value, "text": results[i].text, "end": results[i].end}  # type: ignore[union-attr]
            for i in false
        ],
        "utterances": len(results),
        "too_long": too_long,
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--split", choices=("dev", "test"), default="test")
    p.add_argument("--lead", type=float, default=30.0, help="seconds of background alone first")
    p.add_argument("--gap", type=float, default=3.0, help="seconds from one command to the next")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--gate-only", action="store_true", help="do not also run without the gate")
    p.add_argument("--all-cores", action="store_true", help="do not pin to one core")
    p.add_argument("--json", type=Path, help="also write the report here")
    args = p.parse_args(argv)
    if not args.all_cores and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})

    clips = talker_clips(args.split, args.seed)
    background = background_track(args.split)
    rows = []
    conditions: list[tuple[str, np.ndarray, list]] = []
    for snr in (None, *SNRS):
        pcm, marks = stream(
            clips, background if snr is not None else None, snr, args.lead, args.gap, args.seed
        )
        conditions.append(("none" if snr is None else f"talk {snr} dB below", pcm, marks))
    pcm, marks = own_talk_stream(clips, args.split, 1.0, args.seed)
    conditions.append(("own talk 1 s before", pcm, marks))
    for name, pcm, marks in conditions:
        minutes = len(pcm) / ASR_RATE / 60
        for gate in (True,) if args.gate_only else (True, False):
            results, cpu = run(pcm, gate)
            row = {"background": name, "gate": gate}
            row |= score(results, marks, minutes)
            row["real_time_factor"] = cpu / (len(pcm) / ASR_RATE)
            rows.append(row)
            print(json.dumps(row), file=sys.stderr, flush=True)

    report = {
        "split": args.split,
        "talkers": sorted({c[2].split(":")[1] for c in clips}),
        "rows": rows,
    }
    print(json.dumps(report))
    head = ("recall", "wrong", "FA", "FA/min", "too long", "RTF")
    print(f"{'background':22} {'gate':>4} " + " ".join(f"{h:>7}" for h in head))
    for r in rows:
        print(
            f"{r['background']:22} {'on' if r['gate'] else 'off':>4} {100 * r['recall']:6.1f}% "
            f"{100 * r['wrong_command']:6.1f}% {r['false_accepts']:7d} "
            f"{r['false_accepts_per_minute']:7.2f} {r['too_long']:7d} {r['real_time_factor']:7.3f}"
        )
    if args.json:
        args.json.write_text(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
