#!/usr/bin/env python3
"""Benchmark the echo canceller: does "it hurts" said over the coach get through?

A stream of the coach's real lines (the Joe voice, a built-in routine's texts) plays
through the demo's room (direct sound, a reflection, a reverberant tail:
``voicecoach.runtime.demo.room_response``) into a microphone with room noise. Over
some lines, a user in an espeak-ng voice says a safety command (it hurts, stop,
pause, ...) at a random moment. The microphone signal goes to the real PocketSphinx
engine three ways: as it is, through the adaptive filter only, and through the filter
plus the residual-echo suppressor (the product's default); and the users' words alone,
with no coach, for comparison.

Printed, per way (a table, and JSON with --json):

- ERLE: how far the echo is taken down (dB) where only the coach speaks, after the
  first 10 s (convergence), median over 1 s windows;
- user distortion: the user's voice against what the canceller left of it, over
  the barge-ins (signal-to-distortion ratio, dB; higher is better);
- barge-in recall: barge-ins whose intent the recognizer delivered, overlapping the
  user's words (the first row, the users' words with no coach at all, is the ceiling
  the recognizer itself sets);
- echo utterances: utterances the recognizer delivered where only the coach spoke
  (each one an utterance the loop's echo guards must reject), and of those, safety
  commands (each one would stop the coach if the guards let it through);
- barge-in wait: for the barge-ins heard, from the end of the user's words (their
  last sample above 2 % of their peak) to the end
  of the microphone chunk on which the recognizer delivered the command (median and
  the largest), the recognizer's share of the coach's barge-in latency;
- CPU seconds of the canceller per second of audio, on one core;
- the default row's barge-ins missed, with what was heard around each, and its
  safety commands from the echo alone (listed under the table; in the JSON for
  every row);

Usage: ``python scripts/bench_aec.py [--seconds 240] [--seed 1] [--json out.json]
[--stream s.npz]``. Takes about a minute. Piper renders the coach a little differently
in each run; ``--stream`` keeps the audio in a file, to compare two versions of the
code on the same stream.
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

from voicecoach.asr import load_recognizer  # noqa: E402
from voicecoach.asr.base import AsrSettings, Recognition  # noqa: E402
from voicecoach.audio.aec import (  # noqa: E402
    AecSettings,
    EchoCanceller,
    ReferenceBuffer,
    to_reference,
)
from voicecoach.audio.chunk import ASR_RATE, AudioChunk  # noqa: E402
from voicecoach.commands import SAFETY_INTENTS, match_intent  # noqa: E402
from voicecoach.dialogue import fixed_texts  # noqa: E402
from voicecoach.routines import get_routine  # noqa: E402
from voicecoach.runtime.demo import DemoSettings, room_response, speak_espeak  # noqa: E402
from voicecoach.tts.base import VoiceSettings  # noqa: E402
from voicecoach.tts.piper import PiperVoice  # noqa: E402

BARGE_INS = ("it hurts", "stop", "pause", "ouch", "that hurts", "wait", "hold on")
USER_VOICES = ("en-us+f3", "en-us+m3", "en-gb+f2", "en+m7")
BLOCK = 320  # 20 ms microphone chunks


def build_stream(seconds: float, seed: int) -> dict:
    """The coach's playback, the room's echo, the user's barge-ins, and the mic signal."""
    rng = np.random.default_rng(seed)
    voice = PiperVoice.from_settings(VoiceSettings())
    rate = voice.sample_rate
    texts = [t for t in fixed_texts(get_routine("neck-complex")) if len(t.split()) >= 3]
    played = np.zeros(int(seconds * rate), dtype=np.float32)
    lines: list[tuple[float, float]] = []
    t = 1.0
    while True:
        text = texts[int(rng.integers(len(texts)))]
        audio = np.concatenate([c.samples()[:, 0] for c in voice.synthesize(text)]).astype(
            np.float32
        )
        i = int(t * rate)
        if i + len(audio) >= len(played):
            break
        played[i : i + len(audio)] = audio
        lines.append((t, t + len(audio) / rate))
        t += len(audio) / rate + float(rng.uniform(0.5, 1.5))
    reference = to_reference(played, rate)  # what the product's tap keeps
    room = DemoSettings()
    # The room hears the speaker's own signal, not the tap's copy of it.
    x = np.arange(int(len(played) * ASR_RATE / rate)) * (rate / ASR_RATE)
    at_mic = np.interp(x, np.arange(len(played)), played)
    echo = np.convolve(at_mic, room_response(room))[: len(at_mic)]
    user = np.zeros_like(echo)
    barge: list[dict] = []
    for k, (start, end) in enumerate(lines):
        if k % 2 == 0 or end - start < 1.5:
            continue  # every other line, so the guards' echo-only stretches stay long
        phrase = BARGE_INS[len(barge) % len(BARGE_INS)]
        speech = speak_espeak(phrase, USER_VOICES[len(barge) % len(USER_VOICES)], 150)
        speech = speech * (room.user_peak / max(float(np.max(np.abs(speech))), 1e-6))
        at = start + float(rng.uniform(0.2, max(0.3, end - start - 0.8)))
        i = int(at * ASR_RATE)
        n = min(len(speech), len(user) - i)
        user[i : i + n] += speech[:n]
        # Where the words end: espeak-ng's audio runs on in silence after them.
        loud = np.flatnonzero(np.abs(speech[:n]) > 0.02 * room.user_peak)
        said = (int(loud[-1]) + 1 if len(loud) else n) / ASR_RATE
        barge.append(
            {"phrase": phrase, "start": at, "end": at + n / ASR_RATE, "words_end": at + said}
        )
    noise = rng.normal(0.0, room.noise_rms, len(echo))
    mic = np.clip(user + echo + noise, -1.0, 1.0)
    return {
        "mic": mic,
        "echo": echo,
        "user": user,
        "reference": reference,
        "noise": noise,
        "lines": lines,
        "barge": barge,
    }


ARRAYS = ("mic", "echo", "user", "reference", "noise")
"""The stream's sample arrays, as ``--stream`` saves them."""


def load_or_build(path: Path | None, seconds: float, seed: int) -> dict:
    """The stream saved at ``path``, else a new one (saved there if a path is given)."""
    if path is not None and path.exists():
        with np.load(path) as saved:
            stream: dict = {k: saved[k] for k in ARRAYS}
            meta = json.loads(str(saved["meta"]))
        if meta["seconds"] != seconds or meta["seed"] != seed:
            sys.exit(
                f"{path} holds a {meta['seconds']:g} s stream of seed {meta['seed']}: "
                f"pass --seconds {meta['seconds']:g} --seed {meta['seed']}, or another file"
            )
        stream["lines"] = [tuple(x) for x in meta["lines"]]
        stream["barge"] = meta["barge"]
        return stream
    stream = build_stream(seconds, seed)
    if path is not None:
        meta = {
            "seconds": seconds,
            "seed": seed,
            "lines": stream["lines"],
            "barge": stream["barge"],
        }
        with path.open("wb") as f:
            np.savez_compressed(
                f,
                meta=json.dumps(meta),
                **{k: stream[k] for k in ARRAYS},
            )
    return stream


def cancel(stream: dict, settings: AecSettings | None) -> tuple[np.ndarray, float]:
    """The mic signal through the canceller (None: untouched), and its CPU seconds."""
    mic = stream["mic"]
    if settings is None:
        return mic, 0.0
    ref = ReferenceBuffer(keep=len(mic) / ASR_RATE + 1)
    ref.add(0.0, stream["reference"])
    aec = EchoCanceller(ref, settings)
    out = np.zeros_like(mic)
    cpu = time.process_time()
    for i in range(0, len(mic) - BLOCK + 1, BLOCK):
        chunk = AudioChunk.from_float(mic[i : i + BLOCK], ASR_RATE, i / ASR_RATE)
        done = aec.process(chunk)
        if done is not None:
            j = ReferenceBuffer.index(done.timestamp)
            out[j : j + done.frames] = done.samples()[:, 0]
    return out, time.process_time() - cpu


def erle(stream: dict, out: np.ndarray) -> float:
    """Median echo reduction (dB) over 1 s windows where only the coach speaks."""
    echo, user = stream["echo"], stream["user"]
    values = []
    for s in range(10, int(len(out) / ASR_RATE)):
        w = slice(s * ASR_RATE, (s + 1) * ASR_RATE)
        if np.any(user[w]) or np.mean(echo[w] ** 2) < 1e-6:
            continue
        left = np.mean((out[w] - user[w]) ** 2)
        values.append(10 * np.log10(np.mean(echo[w] ** 2) / max(left, 1e-12)))
    return float(np.median(values)) if values else float("nan")


def distortion(stream: dict, out: np.ndarray) -> float:
    """The users' barge-ins against what differs from them in the output (dB)."""
    user = stream["user"]
    sig = err = 0.0
    for b in stream["barge"]:
        w = slice(int(b["start"] * ASR_RATE), int(b["end"] * ASR_RATE))
        sig += float(np.sum(user[w] ** 2))
        err += float(np.sum((out[w] - user[w]) ** 2))
    return 10 * np.log10(sig / max(err, 1e-12))


def around(r: Recognition, barge: dict) -> bool:
    """Whether the result ``r`` overlaps the barge-in ``barge`` (0.3 s either side)."""
    return r.start <= barge["end"] + 0.3 and r.end >= barge["start"] - 0.3


def recognize(stream: dict, out: np.ndarray, asr: AsrSettings) -> dict:
    """Stream ``out`` through PocketSphinx; score barge-ins and echo utterances."""
    recognizer = load_recognizer(asr)
    recognizer.set_early_end(SAFETY_INTENTS)  # as the live loop does while the coach speaks
    results = []  # (result, end of the chunk that delivered it)
    out = np.concatenate([out, np.zeros(ASR_RATE)])  # end on silence: every utterance ends
    for i in range(0, len(out) - BLOCK + 1, BLOCK):
        chunk = AudioChunk.from_float(out[i : i + BLOCK], ASR_RATE, i / ASR_RATE)
        results += [(r, chunk.end) for r in recognizer.accept(chunk) if not r.partial]
    hits = 0
    waits = []
    missed = []
    for b in stream["barge"]:
        want = match_intent(b["phrase"])
        near = [(r, at) for r, at in results if around(r, b)]
        delivered = [at for r, at in near if r.intent is want]
        hits += bool(delivered)
        if delivered:
            waits.append(delivered[0] - b["words_end"])
        else:
            heard = [
                f"{r.intent.value if r.intent else None} '{r.text}' {r.start:.2f}-{r.end:.2f}s"
                for r, _ in near
            ]
            missed.append(f"{b['phrase']} @{b['start']:.2f}s: " + ("; ".join(heard) or "nothing"))
    echo_utts, echo_safety = [], []
    for r, _ in results:
        if any(around(r, b) for b in stream["barge"]):
            continue
        echo_utts.append(r)
        if r.intent in SAFETY_INTENTS:
            echo_safety.append(f"{r.text} @{r.start:.1f}s")
    return {
        "barge_in_recall": hits / max(1, len(stream["barge"])),
        "barge_ins": len(stream["barge"]),
        "barge_in_wait_ms_p50": round(1000 * float(np.median(waits))) if waits else None,
        "barge_in_wait_ms_max": round(1000 * max(waits)) if waits else None,
        "echo_utterances": len(echo_utts),
        "echo_commands": sum(r.intent is not None for r in echo_utts),
        "echo_safety_commands": echo_safety,
        "barge_ins_missed": missed,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=240.0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--length", type=float, default=AecSettings.length, help="filter s")
    parser.add_argument("--step", type=float, default=AecSettings.step)
    parser.add_argument("--margin", type=float, default=AecSettings.suppress_margin)
    parser.add_argument(
        "--safety-silence",
        type=float,
        nargs="+",
        default=[AsrSettings.safety_silence],
        help="AsrSettings.safety_silence, the early end of a safety command while the coach "
        "speaks (default %(default)s; -1 = off); more values add rows for the default "
        "canceller on the same stream (Piper renders the coach a little differently in "
        "each run, so compare within one run)",
    )
    parser.add_argument(
        "--stream",
        type=Path,
        help="an .npz file: the stream is read from it if it exists, else built and saved "
        "there, so two versions of the code can be compared on the same audio",
    )
    args = parser.parse_args()
    asrs = [
        AsrSettings(engine="pocketsphinx", safety_silence=None if s < 0 else s)
        for s in args.safety_silence
    ]
    asr = asrs[0]
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    stream = load_or_build(args.stream, args.seconds, args.seed)
    seconds = len(stream["mic"]) / ASR_RATE
    ways: dict[str, AecSettings | None | str] = {
        "user alone (ceiling)": "ceiling",
        "none": None,
        "filter only": AecSettings(length=args.length, step=args.step, suppress=False),
        "filter + suppressor": AecSettings(
            length=args.length, step=args.step, suppress_margin=args.margin
        ),
    }
    report: dict[str, dict] = {}
    for name, way in ways.items():
        if way == "ceiling":
            # No coach at all: what the recognizer makes of the same barge-ins alone.
            out, cpu = stream["user"] + stream["noise"], 0.0
            settings = None
        else:
            settings = way if isinstance(way, AecSettings) else None
            out, cpu = cancel(stream, settings)
        row = {
            "erle_db": round(erle(stream, out), 1) if settings else 0.0,
            "user_sdr_db": round(distortion(stream, out), 1),
            "cpu_per_audio_second": round(cpu / seconds, 4),
        }
        row.update(recognize(stream, out, asr))
        row["barge_in_recall"] = round(row["barge_in_recall"], 3)
        report[name] = row
        if name == "filter + suppressor":
            for other in asrs[1:]:
                more = dict(row, **recognize(stream, out, other))
                more["barge_in_recall"] = round(more["barge_in_recall"], 3)
                report[f"{name}, safety {other.safety_silence}"] = more
    report["stream"] = {
        "seconds": round(seconds, 1),
        "coach_lines": len(stream["lines"]),
        "barge_ins": len(stream["barge"]),
        "seed": args.seed,
    }
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))
    print(
        f"{seconds:.0f} s, {len(stream['lines'])} coach lines, "
        f"{len(stream['barge'])} barge-ins (seed {args.seed})"
    )
    head = (
        "way",
        "ERLE dB",
        "user SDR dB",
        "barge-in recall",
        "wait p50/max ms",
        "echo utts",
        "echo cmds",
        "echo safety",
        "CPU/s",
    )
    print("{:<32}{:>9}{:>13}{:>17}{:>17}{:>11}{:>11}{:>13}{:>8}".format(*head))
    for name in [n for n in report if n != "stream"]:
        r = report[name]
        wait = f"{r['barge_in_wait_ms_p50']}/{r['barge_in_wait_ms_max']}"
        print(
            f"{name:<32}{r['erle_db']:>9}{r['user_sdr_db']:>13}"
            f"{r['barge_in_recall']:>17.0%}{wait:>17}"
            f"{r['echo_utterances']:>11}{r['echo_commands']:>11}"
            f"{len(r['echo_safety_commands']):>13}{r['cpu_per_audio_second']:>8}"
        )
    default = report["filter + suppressor"]
    print("\nfilter + suppressor, barge-ins missed (what was heard around them):")
    for line in default["barge_ins_missed"] or ["none"]:
        print(f"  {line}")
    print("safety commands from the echo alone:")
    for line in default["echo_safety_commands"] or ["none"]:
        print(f"  {line}")


if __name__ == "__main__":
    main()
