#!/usr/bin/env python3
"""Benchmark the coach's voice: how soon speech starts, synthesis speed, memory.

Measures, with the real joe voice and the real Speaker (worker thread, as in a live
session) playing into a real-time MemorySink, the time from ``Speaker.say()`` to the
first audio sample at the sink:

- for a cached prompt (a count word, "hold", ...) rendered ahead by ``prepare``;
- for an uncached sentence, synthesized live: only its first part matters, which is
  the first sentence or, for a long one, its first clause (``split_first_clause``).

Plus the voice's real-time factor (synthesis time / audio time), the time to read
and verify one cache entry, the voice load time and peak memory. A real speaker adds
its output latency (``SoundDeviceSink.output_latency``) on top of these figures.

Prints a table and, last, one JSON line. ``--cores 1`` pins the process and
onnxruntime to one core, the target configuration.

    python scripts/bench_tts.py [--runs 16] [--cores 1] [--voice PATH]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from voicecoach.audio.sinks import MemorySink
from voicecoach.tts.base import VoiceSettings
from voicecoach.tts.cache import PromptCache
from voicecoach.tts.piper import PiperVoice
from voicecoach.tts.prepare import prepare_prompts
from voicecoach.tts.render import split_first_clause
from voicecoach.tts.speaker import Speaker

CACHED = ["One.", "Two.", "Three.", "Four.", "Five.", "Hold.", "Relax.", "Breathe in."]
UNCACHED = [
    "Slowly turn your head to the left, as far as is comfortable.",
    "Now bring your chin gently down towards your chest.",
    "Tilt your right ear towards your right shoulder.",
    "Let your shoulders sink into the floor.",
    "Press the back of your head softly into the mat.",
    "Turn your head to the right, slowly and smoothly.",
    "Lift your chin a little and look up at the ceiling.",
    "Keep breathing calmly while you stretch.",
]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def first_sample_latency(speaker: Speaker, sink: MemorySink, text: str, uid: int) -> float:
    """Seconds from say() to the first sample of ``uid`` at the sink (queue idle before)."""
    speaker.stop()  # an idle queue: the sample starts when it is handed over
    t0 = sink.clock()
    speaker.say(text, uid)
    deadline = time.monotonic() + 30
    while not any(s.utterance_id == uid for s in sink.segments):
        if time.monotonic() > deadline:
            raise RuntimeError(f"no audio for {text!r}")
        time.sleep(0.0002)
    start = next(s.start for s in sink.segments if s.utterance_id == uid)
    speaker.wait_idle(30)
    return start - t0


def summary(values: list[float]) -> dict[str, float]:
    return {
        "median_ms": round(statistics.median(values) * 1000, 2),
        "p95_ms": round(percentile(values, 0.95) * 1000, 2),
        "max_ms": round(max(values) * 1000, 2),
        "n": len(values),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=16, help="trials per measurement")
    parser.add_argument("--cores", type=int, default=None, help="pin to this many cores")
    parser.add_argument("--voice", type=Path, default=None, help="a Piper .onnx voice")
    args = parser.parse_args()

    if args.cores:
        os.sched_setaffinity(0, set(sorted(os.sched_getaffinity(0))[: args.cores]))
    loadavg = os.getloadavg()

    with tempfile.TemporaryDirectory(prefix="bench-tts-") as tmp:
        settings = VoiceSettings(model=args.voice, cache_dir=Path(tmp))
        t = time.perf_counter()
        voice = PiperVoice(settings.model, settings.length_scale, threads=args.cores)
        identity_s = time.perf_counter() - t
        t = time.perf_counter()
        voice.load()
        load_s = time.perf_counter() - t
        cache = PromptCache(Path(tmp))
        prepare_prompts(voice, settings, cache, CACHED)

        sink = MemorySink(voice.sample_rate, time.perf_counter)
        speaker = Speaker(voice, sink, settings, cache)
        live = Speaker(voice, sink, VoiceSettings(use_cache=False), None)
        first_sample_latency(live, sink, "Warm up.", 0)  # first onnx run allocates

        cached = [
            first_sample_latency(speaker, sink, CACHED[i % len(CACHED)], 1000 + i)
            for i in range(args.runs)
        ]
        by_text: dict[str, list[float]] = {t: [] for t in UNCACHED}
        for i in range(max(args.runs, len(UNCACHED))):
            text = UNCACHED[i % len(UNCACHED)]
            by_text[text].append(first_sample_latency(live, sink, text, 2000 + i))
        uncached = [x for values in by_text.values() for x in values]

        lookups = []
        for i in range(args.runs):
            t = time.perf_counter()
            assert speaker.cached(CACHED[i % len(CACHED)]) is not None
            lookups.append(time.perf_counter() - t)

        synth_s = audio_s = 0.0
        for text in UNCACHED:
            t = time.perf_counter()
            audio_s += sum(c.duration for c in voice.synthesize(text))
            synth_s += time.perf_counter() - t
        speaker.close()
        live.close()

    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    rows = [
        ("cached prompt: say -> first sample", summary(cached), "<= 20 ms"),
        ("uncached sentence: say -> first sample", summary(uncached), "<= 300 ms"),
        ("cache entry read + verify", summary(lookups), ""),
    ]
    first_parts = {}
    for text, values in by_text.items():
        head = split_first_clause(text)[0]
        first_parts[f"{head} [{len(head.split())} words]"] = round(
            statistics.median(values) * 1000, 1
        )
    result: dict[str, Any] = {
        "voice": str(voice.model_path.name),
        "cores": len(os.sched_getaffinity(0)),
        "onnx_threads": args.cores or "default",
        "loadavg_at_start": [round(x, 2) for x in loadavg],
        "cached_first_sample": rows[0][1],
        "uncached_first_sample": rows[1][1],
        "uncached_first_part_median_ms": first_parts,
        "cache_lookup": rows[2][1],
        "real_time_factor": round(synth_s / audio_s, 4),
        "voice_identity_s": round(identity_s, 3),
        "voice_load_s": round(load_s, 3),
        "peak_rss_mb": round(peak_kb / 1024, 1),
        "targets": {"cached_ms": 20, "uncached_ms": 300},
    }
    print(f"{'measurement':42} {'median':>9} {'p95':>9} {'max':>9}  target", file=sys.stderr)
    for name, s, target in rows:
        figures = f"{s['median_ms']:7.2f}ms {s['p95_ms']:7.2f}ms {s['max_ms']:7.2f}ms"
        print(f"{name:42} {figures}  {target}", file=sys.stderr)
    print(
        f"{'real-time factor (synthesis/audio)':42} {result['real_time_factor']:9.3f}",
        file=sys.stderr,
    )
    print(f"{'voice identity (hash) / load':42} {identity_s:8.2f}s {load_s:8.2f}s", file=sys.stderr)
    print(f"{'peak RSS':42} {result['peak_rss_mb']:7.1f}MB", file=sys.stderr)
    print(f"load average at start: {loadavg} (other jobs share this machine)", file=sys.stderr)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
