#!/usr/bin/env python3
"""How whole-file recognition (``voicecoach recognize``) copes with recordings unlike the
evaluation set: other levels, clicks and breaths around the words, files cut at the last
sound, short clips, other sample rates and bands, a DC offset and mains hum.

Each condition is applied to the clean commands of a split of a set built by
``scripts/make_eval_set.py``; every file is written as a WAV and read back as the CLI
reads it (``read_audio``), then decided by ``recognize_utterance``. Prints recall and
commands taken for another per condition, as a table and, with ``--json``, a report.

With ``--streaming`` each file is fed as the live loop feeds the microphone instead
(``scripts/bench_asr.py``'s ``stream_file``: 20 ms chunks, a second of silence after,
the recognizer reset between files), a talker's files one after another.

Usage: ``python scripts/bench_recordings.py eval/full [--split dev] [--only a,b]
[--streaming]`` (about 10 s per condition on the full set's 98 dev commands, one core).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import soundfile as sf
from scipy.signal import butter, lfilter, resample_poly

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from bench_asr import stream_file  # noqa: E402

from voicecoach.asr.pocketsphinx import PocketSphinxRecognizer  # noqa: E402
from voicecoach.cli.asr_cmd import read_audio  # noqa: E402

RATE = 16000
Audio = tuple[np.ndarray, int]  # samples (frames,) or (frames, channels), rate


def db(x: float) -> float:
    return float(10 ** (x / 20))


def pink(n: int, rng: np.random.Generator) -> np.ndarray:
    """Unit-RMS pink noise."""
    spectrum = np.fft.rfft(rng.standard_normal(n))
    f = np.arange(len(spectrum), dtype=np.float64)
    f[0] = 1.0
    x = np.fft.irfft(spectrum / np.sqrt(f), n)
    return x / np.sqrt(np.mean(x**2))


def room(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A quiet room (pink noise at -60 dBFS) under everything."""
    return x + db(-60) * pink(len(x), rng)


def quiet(seconds: float) -> np.ndarray:
    return np.zeros(round(seconds * RATE))


def click(rng: np.random.Generator) -> np.ndarray:
    """A loud 2.5 ms click (a button, a mouse)."""
    return 0.5 * rng.standard_normal(40)


def breath(rng: np.random.Generator) -> np.ndarray:
    """0.4 s of pink noise swelling and fading at about -30 dBFS."""
    n = round(0.4 * RATE)
    return db(-30) * pink(n, rng) * np.hanning(n)


def sound_span(x: np.ndarray) -> tuple[int, int]:
    """First and one-past-last sample above 2 % of the peak."""
    loud = np.flatnonzero(np.abs(x) > 0.02 * np.max(np.abs(x)))
    return int(loud[0]), int(loud[-1]) + 1


def clip_of_one_second(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    a, b = sound_span(x)
    words = x[a:b][:RATE]
    spare = RATE - len(words)
    at = int(rng.integers(0, spare + 1))
    return room(np.concatenate([quiet(at / RATE), words, quiet((spare - at) / RATE)]), rng)


def phone_band(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A cheap microphone: 200-3400 Hz, with hiss at -55 dBFS, 0.5 s of room either side."""
    b, a = butter(6, [200 / (RATE / 2), 3400 / (RATE / 2)], "band")
    y = np.concatenate([quiet(0.5), lfilter(b, a, x), quiet(0.5)])
    return y + db(-55) * rng.standard_normal(len(y))


def mains_hum(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A badly grounded microphone: 50 Hz and its third harmonic at -42 dBFS (RMS)."""
    t = np.arange(len(x)) / RATE
    return x + 0.01 * (np.sin(2 * np.pi * 50 * t) + 0.5 * np.sin(2 * np.pi * 150 * t))


def with_click_first(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    y = np.concatenate([quiet(0.5), x, quiet(0.5)])
    y[2000:2040] += click(rng)
    return room(y, rng)


def with_click_after(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    y = np.concatenate([quiet(0.5), x, quiet(0.5)])
    y[len(y) - 3000 : len(y) - 2960] += click(rng)
    return room(y, rng)


def with_breath_first(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    return room(np.concatenate([quiet(0.25), breath(rng), quiet(0.5), x, quiet(0.5)]), rng)


CONDITIONS: dict[str, Callable[[np.ndarray, np.random.Generator], Audio]] = {
    "as built": lambda x, rng: (x, RATE),
    "1.5 s of room either side": lambda x, rng: (
        room(np.concatenate([quiet(1.5), x, quiet(1.5)]), rng),
        RATE,
    ),
    "10 dB quieter": lambda x, rng: (x * db(-10), RATE),
    "20 dB quieter": lambda x, rng: (x * db(-20), RATE),
    "35 dB quieter": lambda x, rng: (x * db(-35), RATE),
    "clipped": lambda x, rng: (np.clip(x / np.max(np.abs(x)) * 1.6, -1, 1), RATE),
    "click at the start": lambda x, rng: (with_click_first(x, rng), RATE),
    "click after": lambda x, rng: (with_click_after(x, rng), RATE),
    "breath before": lambda x, rng: (with_breath_first(x, rng), RATE),
    "cut at the last sound": lambda x, rng: (x[: sound_span(x)[1]], RATE),
    "cut at both ends": lambda x, rng: (x[slice(*sound_span(x))], RATE),
    "1 s clip": lambda x, rng: (clip_of_one_second(x, rng), RATE),
    "8 kHz": lambda x, rng: (resample_poly(x, 1, 2), 8000),
    "44.1 kHz stereo": lambda x, rng: (
        np.stack([y := resample_poly(x, 441, 160), 0.8 * y], axis=1),
        44100,
    ),
    "phone band and hiss": lambda x, rng: (phone_band(x, rng), RATE),
    "DC offset": lambda x, rng: (np.clip(x + 0.02, -1, 1), RATE),  # 655 of 32768
    "mains hum": lambda x, rng: (mains_hum(x, rng), RATE),
}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("folder", type=Path, help="an evaluation set folder with manifest.jsonl")
    p.add_argument("--split", default="dev", choices=("dev", "test", "all"))
    p.add_argument("--only", default=None, help="comma-separated condition names")
    p.add_argument("--json", type=Path, default=None, help="also write the report here")
    p.add_argument("--streaming", action="store_true", help="fed as a stream, talker by talker")
    args = p.parse_args()
    manifest = args.folder / "manifest.jsonl"
    if not manifest.is_file():
        print(f"no {manifest}: build a set with scripts/make_eval_set.py", file=sys.stderr)
        return 2
    rows = [json.loads(line) for line in manifest.read_text().splitlines() if line.strip()]
    rows = [
        r
        for r in rows
        if r["expected"] and r.get("snr") is None and args.split in ("all", r["split"])
    ]
    names = list(CONDITIONS) if args.only is None else args.only.split(",")
    unknown = [n for n in names if n not in CONDITIONS]
    if unknown:
        print(f"unknown conditions {unknown}; known: {list(CONDITIONS)}", file=sys.stderr)
        return 2
    if args.streaming:
        rows.sort(key=lambda r: r["speaker"])  # stable: each talker's files in order
    rec = PocketSphinxRecognizer()
    mode = "streamed" if args.streaming else "whole files"
    report = {
        "folder": str(args.folder),
        "split": args.split,
        "mode": mode,
        "files": len(rows),
        "conditions": {},
    }
    print(f"{len(rows)} clean commands ({args.split} split of {args.folder}), {mode}")
    print(f"{'condition':28s} {'recall':>7s} {'wrong':>7s} {'seconds':>8s}")
    with tempfile.TemporaryDirectory(prefix="voicecoach-bench-") as tmp:
        wav = Path(tmp) / "file.wav"
        for i, name in enumerate(names):
            rng = np.random.default_rng(5)
            if args.streaming and i:  # nothing of the last condition's stream carries over
                rec = PocketSphinxRecognizer()
            right = wrong = 0
            t0 = time.perf_counter()
            for r in rows:
                x, rate = sf.read(args.folder / r["file"], dtype="float64")
                y, out_rate = CONDITIONS[name](x, rng)
                sf.write(wav, np.clip(y, -1.0, 1.0), out_rate, subtype="PCM_16")
                if args.streaming:
                    result, _ = stream_file(rec, read_audio(wav))
                    got = result.intent if result is not None else None
                else:
                    got = rec.recognize_utterance(read_audio(wav)).intent
                right += got is not None and got.value == r["expected"]
                wrong += got is not None and got.value != r["expected"]
            seconds = time.perf_counter() - t0
            recall, taken = 100 * right / len(rows), 100 * wrong / len(rows)
            report["conditions"][name] = {"recall": recall, "wrong_command": taken}
            print(f"{name:28s} {recall:6.1f}% {taken:6.1f}% {seconds:8.1f}", flush=True)
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
