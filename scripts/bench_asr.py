#!/usr/bin/env python3
"""Benchmark command recognition on a labelled evaluation set (scripts/make_eval_set.py).

    python scripts/bench_asr.py eval/small                  # test split, every engine here
    python scripts/bench_asr.py eval/full --split all --engine pocketsphinx --json out.json

Each file is one utterance with every command active (as ``voicecoach recognize``);
with --streaming it is fed as the live loop feeds the microphone, so the engine's own
endpointing decides (the first accepted result counts; also prints how long after the
command's end the result came out).
Prints, per engine, a table and (with --json) a JSON report: recall per intent and per
SNR, false accepts per category of material that must be rejected, the confusion
matrix, the safety confusions (``hurt`` or ``stop`` taken for ``next``), real-time factor
and decode latency. The process is pinned to one core, as the targets are stated.
Thresholds were tuned on the ``dev`` split: report on ``test``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

import evalset_lib as lib  # noqa: E402

from voicecoach.asr import load_recognizer  # noqa: E402
from voicecoach.asr.base import AsrSettings, Recognition, Recognizer  # noqa: E402
from voicecoach.audio.chunk import ASR_RATE, AudioChunk  # noqa: E402
from voicecoach.cli.asr_cmd import read_audio  # noqa: E402
from voicecoach.commands import SAFETY_INTENTS, Intent  # noqa: E402
from voicecoach.errors import VoicecoachError  # noqa: E402

REJECT = "(none)"


def engines_here(requested: list[str] | None) -> list[str]:
    """The engines to run: as asked, or PocketSphinx plus Vosk when a model is found."""
    if requested:
        return requested
    from voicecoach.asr.vosk import find_vosk_model

    found = ["pocketsphinx"]
    try:
        if find_vosk_model() is not None:
            found.append("vosk")
    except VoicecoachError:
        pass
    return found


STREAM_BLOCK = 320
"""Samples per chunk in --streaming mode: the live microphone's 20 ms at 16 kHz."""

STREAM_TAIL = 1.0
"""Seconds of silence after each file in --streaming mode, so the endpoint can come."""


def stream_file(recognizer: Recognizer, chunk: AudioChunk) -> tuple[Recognition | None, float]:
    """Feed ``chunk`` as the live loop does (20 ms chunks, then silence, then flush).

    Returns the first accepted result (else the first result, else None) and how long
    after the utterance's end (in stream time) the result came out.
    """
    recognizer.reset()
    recognizer.set_active(None)
    step = STREAM_BLOCK * 2
    audio = chunk.audio + bytes(2 * int(STREAM_TAIL * ASR_RATE))
    results: list[tuple[Recognition, float]] = []
    for i in range(0, len(audio), step):
        piece = AudioChunk(audio[i : i + step], ASR_RATE, timestamp=i / 2 / ASR_RATE)
        results += [(r, piece.end - r.end) for r in recognizer.accept(piece)]
    end = len(audio) / 2 / ASR_RATE
    results += [(r, max(0.0, end - r.end)) for r in recognizer.flush()]
    if not results:
        return None, 0.0
    return next(((r, w) for r, w in results if r.intent is not None), results[0])


def run_engine(
    engine: str,
    folder: Path,
    entries: list,
    threshold: float | None,
    streaming: bool = False,
    denoise: bool = True,
    phrase_silence: float | None = AsrSettings.phrase_silence,
    rnnoise: bool = True,
    verify: bool = True,
    verify_threshold: float | None = None,
) -> dict:
    """Decode every entry; return the per-file results and timing."""
    t0 = time.perf_counter()
    settings = AsrSettings(
        engine=engine,
        threshold=threshold,
        denoise=denoise,
        phrase_silence=phrase_silence,
        rnnoise=rnnoise,
        verify=verify,
        verify_threshold=verify_threshold,
    )
    recognizer = load_recognizer(settings)
    load_s = time.perf_counter() - t0
    rows = []
    for e in entries:
        chunk = read_audio(folder / e.file)
        t = time.perf_counter()
        wait = None
        if streaming:
            found, wait = stream_file(recognizer, chunk)
            r = found or Recognition(None, "", 0.0, 0.0, chunk.duration)
        else:
            r = recognizer.recognize_utterance(chunk)
        dt = time.perf_counter() - t
        rows.append(
            {
                "file": e.file,
                "expected": e.expected,
                "got": r.intent.value if r.intent is not None else None,
                "text": r.text,
                "confidence": r.confidence,
                "category": e.category,
                "speaker": e.speaker,
                "snr": e.snr,
                "noise": e.noise,
                "seconds": chunk.duration + (STREAM_TAIL if streaming else 0.0),
                "decode": dt,
                "endpoint_wait": wait,
            }
        )
    return {"engine": engine, "describe": recognizer.describe(), "load_s": load_s, "rows": rows}


def rate(hits: int, n: int) -> float | None:
    return hits / n if n else None


def recall_of(commands: list[dict]) -> dict:
    """How many commands, and the share heard as their intent."""
    hits = sum(r["got"] == r["expected"] for r in commands)
    return {"n": len(commands), "recall": rate(hits, len(commands))}


def report(run: dict) -> dict:
    """Figures from one engine's results."""
    rows = run["rows"]
    commands = [r for r in rows if r["category"] == "command"]
    rejects = [r for r in rows if r["category"] != "command"]
    per_intent = {}
    for intent in Intent:
        per_intent[intent.value] = recall_of([r for r in commands if r["expected"] == intent.value])
    per_snr = {}
    for r in commands:
        per_snr.setdefault("clean" if r["snr"] is None else f"{r['snr']} dB", []).append(r)
    per_snr_out = {k: recall_of(v) for k, v in sorted(per_snr.items())}
    # Per noise and SNR: babble (overlapping talk) costs far more than white or pink
    # noise at the same SNR.
    per_noise: dict[str, list] = {}
    for r in commands:
        if r["snr"] is not None:
            per_noise.setdefault(f"{r['noise']} {r['snr']} dB", []).append(r)
    per_noise_out = {
        k: recall_of(v)
        for k, v in sorted(
            per_noise.items(), key=lambda kv: (kv[0].split()[0], -int(kv[0].split()[1]))
        )
    }
    per_category = {}
    for cat in sorted({r["category"] for r in rejects}):
        mine = [r for r in rejects if r["category"] == cat]
        per_category[cat] = {
            "n": len(mine),
            "false_accepts": rate(sum(r["got"] is not None for r in mine), len(mine)),
        }
    # Per kind of voice (espeak, flite, festival, piper; librivox, cmu, synth, ...):
    # PocketSphinx fits espeak-ng's formant speech far worse than the others.
    per_voice = {}
    for family in sorted({r["speaker"].split(":")[0] for r in rows}):
        cmd = [r for r in commands if r["speaker"].split(":")[0] == family]
        rej = [r for r in rejects if r["speaker"].split(":")[0] == family]
        per_voice[family] = {
            "commands": len(cmd),
            "recall": rate(sum(r["got"] == r["expected"] for r in cmd), len(cmd)),
            "rejects": len(rej),
            "false_accepts": rate(sum(r["got"] is not None for r in rej), len(rej)),
        }
    confusion: dict[str, Counter] = defaultdict(Counter)
    for r in rows:
        confusion[r["expected"] or REJECT][r["got"] or REJECT] += 1
    safety_to_next = sum(
        1 for r in commands if r["expected"] in ("hurt", "stop") and r["got"] == "next"
    )
    audio = sum(r["seconds"] for r in rows)
    decode = sum(r["decode"] for r in rows)
    lat = np.array([r["decode"] for r in rows]) * 1000
    # Streaming only: stream seconds from a command's end to its result; also for the
    # safety commands alone, which may end their utterance sooner.
    waits = np.array(
        [r["endpoint_wait"] for r in commands if r["got"] and r["endpoint_wait"] is not None]
    )
    safety = {i.value for i in SAFETY_INTENTS}
    safety_waits = np.array(
        [
            r["endpoint_wait"]
            for r in commands
            if r["got"] in safety and r["endpoint_wait"] is not None
        ]
    )
    return {
        "engine": run["engine"],
        "describe": run["describe"],
        "files": len(rows),
        "commands": len(commands),
        "rejects": len(rejects),
        "recall": rate(sum(r["got"] == r["expected"] for r in commands), len(commands)),
        "wrong_command": rate(
            sum(r["got"] not in (None, r["expected"]) for r in commands), len(commands)
        ),
        "recall_per_intent": per_intent,
        "recall_per_snr": per_snr_out,
        "recall_per_noise": per_noise_out,
        "false_accept_rate": rate(sum(r["got"] is not None for r in rejects), len(rejects)),
        "false_accepts_per_category": per_category,
        "per_voice": per_voice,
        "hurt_or_stop_as_next": safety_to_next,
        "confusion": {k: dict(v) for k, v in sorted(confusion.items())},
        "real_time_factor": decode / audio if audio else None,
        "latency_ms_p50": float(np.percentile(lat, 50)) if len(lat) else None,
        "latency_ms_p95": float(np.percentile(lat, 95)) if len(lat) else None,
        "load_s": run["load_s"],
        "endpoint_wait_ms_p50": ms_percentile(waits, 50),
        "endpoint_wait_ms_p95": ms_percentile(waits, 95),
        "endpoint_wait_safety_ms_p50": ms_percentile(safety_waits, 50),
        "endpoint_wait_safety_ms_p95": ms_percentile(safety_waits, 95),
    }


def ms_percentile(seconds: np.ndarray, q: float) -> float | None:
    return float(np.percentile(seconds, q)) * 1000 if len(seconds) else None


def pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:5.1f}%"


def table(rep: dict) -> str:
    """The report as text."""
    out = [
        f"== {rep['engine']}: {rep['describe']}",
        f"files {rep['files']} (commands {rep['commands']}, must reject {rep['rejects']})",
        f"recall {pct(rep['recall'])}   wrong command {pct(rep['wrong_command'])}   "
        f"false accepts {pct(rep['false_accept_rate'])}   "
        f"hurt/stop taken for next: {rep['hurt_or_stop_as_next']}",
        f"real-time factor {rep['real_time_factor']:.3f}   decode latency p50 "
        f"{rep['latency_ms_p50']:.0f} ms, p95 {rep['latency_ms_p95']:.0f} ms   "
        f"load {rep['load_s']:.2f} s",
        "endpoint wait (streaming, accepted commands): "
        + (
            f"p50 {rep['endpoint_wait_ms_p50']:.0f} ms, p95 {rep['endpoint_wait_ms_p95']:.0f} ms"
            if rep["endpoint_wait_ms_p50"] is not None
            else "-"
        )
        + (
            f"; safety commands p50 {rep['endpoint_wait_safety_ms_p50']:.0f} ms, "
            f"p95 {rep['endpoint_wait_safety_ms_p95']:.0f} ms"
            if rep["endpoint_wait_safety_ms_p50"] is not None
            else ""
        ),
        "recall per SNR:  "
        + "  ".join(
            f"{k} {pct(v['recall'])} (n={v['n']})" for k, v in rep["recall_per_snr"].items()
        ),
        "recall per noise:  "
        + "  ".join(f"{k} {pct(v['recall'])}" for k, v in rep["recall_per_noise"].items()),
        "recall per intent: "
        + "  ".join(
            f"{k} {pct(v['recall'])}" for k, v in rep["recall_per_intent"].items() if v["n"]
        ),
        "false accepts per category: "
        + "  ".join(
            f"{k} {pct(v['false_accepts'])} (n={v['n']})"
            for k, v in rep["false_accepts_per_category"].items()
        ),
        "per kind of voice (recall of n commands / false accepts of n rejects): "
        + "  ".join(
            f"{k} {pct(v['recall'])} of {v['commands']} / "
            f"{pct(v['false_accepts'])} of {v['rejects']}"
            for k, v in rep["per_voice"].items()
        ),
        "confusion (expected -> got: count):",
    ]
    for exp, got in rep["confusion"].items():
        cells = ", ".join(f"{g} {n}" for g, n in sorted(got.items(), key=lambda kv: -kv[1]))
        out.append(f"  {exp:>9} -> {cells}")
    return "\n".join(out)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("folder", type=Path, help="an evaluation set folder with manifest.jsonl")
    p.add_argument("--split", default="test", choices=("dev", "test", "all"))
    p.add_argument("--engine", action="append", choices=("pocketsphinx", "vosk"))
    p.add_argument("--threshold", type=float, default=None, help="override the engine's")
    p.add_argument("--limit", type=int, default=None, help="only the first N files")
    p.add_argument("--json", type=Path, default=None, help="also write the report here")
    p.add_argument("--all-cores", action="store_true", help="do not pin to one core")
    p.add_argument(
        "--streaming",
        action="store_true",
        help="feed each file as the live loop does (20 ms chunks, 1 s of silence after, "
        "the engine's own endpointing) instead of as one utterance",
    )
    p.add_argument(
        "--no-denoise",
        action="store_true",
        help="without the noise suppressor in front of PocketSphinx (AsrSettings.denoise)",
    )
    p.add_argument(
        "--no-rnnoise",
        action="store_true",
        help="without RNNoise in front of PocketSphinx (AsrSettings.rnnoise)",
    )
    p.add_argument(
        "--no-verify",
        action="store_true",
        help="without the speech-embedding check of PocketSphinx's commands (AsrSettings.verify)",
    )
    p.add_argument(
        "--verify-threshold",
        type=float,
        default=None,
        help="AsrSettings.verify_threshold (default voicecoach.asr.verify.THRESHOLD)",
    )
    p.add_argument(
        "--phrase-silence",
        type=float,
        default=AsrSettings.phrase_silence,
        help="AsrSettings.phrase_silence, the early end of a whole command while the coach "
        "is quiet (default %(default)s; -1 = off)",
    )
    args = p.parse_args()

    manifest = args.folder / "manifest.jsonl"
    if not manifest.is_file():
        print(
            f"{manifest} not found: build it with scripts/make_eval_set.py --out {args.folder}",
            file=sys.stderr,
        )
        return 2
    if not args.all_cores and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    entries = lib.load_manifest(manifest)
    if args.split != "all":
        entries = [e for e in entries if e.split == args.split]
    entries = entries[: args.limit] if args.limit else entries
    reports = []
    for engine in engines_here(args.engine):
        try:
            run = run_engine(
                engine,
                args.folder,
                entries,
                args.threshold,
                args.streaming,
                denoise=not args.no_denoise,
                phrase_silence=None if args.phrase_silence < 0 else args.phrase_silence,
                rnnoise=not args.no_rnnoise,
                verify=not args.no_verify,
                verify_threshold=args.verify_threshold,
            )
        except VoicecoachError as err:
            print(f"{engine}: {err.message}", file=sys.stderr)
            continue
        rep = report(run)
        reports.append(rep)
        print(table(rep))
        print()
    doc = {
        "folder": str(args.folder),
        "split": args.split,
        "streaming": args.streaming,
        "engines": reports,
    }
    if args.json:
        args.json.write_text(json.dumps(doc, indent=1))
        print(f"report written to {args.json}")
    else:
        print(json.dumps(doc))
    return 0 if reports else 1


if __name__ == "__main__":
    sys.exit(main())
