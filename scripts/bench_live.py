#!/usr/bin/env python3
"""Benchmark the live session through real PortAudio streams, at real-time pace.

There is no sound card, so the streams are ALSA ``file`` plugin devices whose files
are named pipes (``tests/alsa_file_device.py``): one thread feeds the microphone at
real-time pace with a scripted user (espeak-ng) plus the coach's own output as echo
(gain 0.3, 60 ms after the speaker pipe, and a reflection) plus room noise; another
drains the speaker at real-time pace into a recording. A child process runs the
product's Microphone, SoundDeviceSink, recognizer, coach, Joe voice (prepared cache)
and LiveRunner on the real clock.

Measured (times from the pipes: the feeder's clock is the microphone, the drain's is
the speaker; both start together, within about 25 ms):

- reply latency: end of the user's command in the microphone stream -> first sample of
  the coach's reply in the speaker recording (median, p95), commands said while the
  coach waits; and where it goes (``reply_part_ms_*``, medians, see ``BREAKDOWN``): the
  recognizer's end of the utterance (voice activity detection), its endpoint wait,
  the loop's delivery, the decode, the dialogue and speaker thread, the output; of
  the output, the wait in the rig's speaker pipe (``reply_part_ms_rig_fifo``), which a
  sound card does not have (``reply_ms_*_less_rig_fifo`` leave it out);
- barge-in latency: end of "stop"/"pause"/"it hurts" said over the coach -> the coach's
  audio stopping at the speaker (the sink's stop call + the measured output delay),
  over the ones acted on (``barge_in_n`` of ``barge_in_said``; the scripted user says
  a missed one again, up to three times); and where it goes up to the stop call
  (``barge_in_part_ms_*``, medians, see ``BARGE_BREAKDOWN``);
- self-triggers: commands acted on that no user utterance explains, including a
  stretch where only the coach speaks;
- holds: the coach silenced for a provisional safety command (``holds``), of which
  the final result did not act on ``holds_resumed`` (the coach said its line again),
  and ``holds_unexplained`` that no user utterance explains;
- CPU of the product's threads while listening (the pacing threads left out), % of one
  core; peak RSS of the child; start-up from launch to the first spoken sample.

Usage: ``python scripts/bench_live.py [--commands 48] [--barge-ins 8] [--json out.json]``.
Takes about as long as the session: 5-7 minutes by default.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

BLOCK = 960  # microphone frames per block at 48 kHz (the Microphone's 20 ms)
ROUTINE = "self-correction"
CYCLE = ("where am i", "slower", "faster")


# ------------------------------------------------------------------ the child


def child(args: argparse.Namespace) -> None:
    """Runs in the process that sees the ALSA devices; prints one JSON line."""
    import threading

    from tests.alsa_file_device import AlsaDuplexDevice, PacedPipes

    folder = Path(args.folder)
    dev = AlsaDuplexDevice(
        folder / "asoundrc", folder / "alsa-out.fifo", folder / "mic.fifo", 22_050, 48_000, 2
    )
    capture = 10 ** (args.mic_level / 20)  # the microphone's capture level: all it hears
    echo = (0.3 * capture, args.echo_delay)
    pipes = PacedPipes(dev, BLOCK, folder / "played.raw", echo=echo, noise_rms=0.002 * capture)

    from voicecoach.asr import load_recognizer
    from voicecoach.asr.base import AsrSettings
    from voicecoach.audio.chunk import resample
    from voicecoach.audio.sd_input import Microphone, MicSettings
    from voicecoach.dialogue import Coach, State
    from voicecoach.routines import get_routine
    from voicecoach.runtime.demo import speak_espeak
    from voicecoach.runtime.loop import LiveSession
    from voicecoach.runtime.realtime import LiveRunner, SoundDeviceOutput
    from voicecoach.session import SessionLog, SessionRecorder
    from voicecoach.tts.base import VoiceSettings
    from voicecoach.tts.speaker import Speaker

    # Product start-up, in the order `voicecoach run` does it.
    output = SoundDeviceOutput("vcfile", 22_050)
    sink = output.open()
    mic = Microphone(MicSettings(device="vcmic", gain_db=args.mic_gain))
    mic.open()
    pipes.start_clock()
    t0 = time.monotonic()  # clock of the pipes' time 0
    wall0 = time.time()
    plays: list[tuple[float, bool]] = []
    stops: list[float] = []
    inner_play, inner_stop = sink.play, sink.stop

    def play(chunk, utterance_id=None):  # type: ignore[no-untyped-def]
        plays.append((time.monotonic() - t0, not sink.is_playing()))
        inner_play(chunk, utterance_id)

    def stop():  # type: ignore[no-untyped-def]
        stops.append(time.monotonic() - t0)
        inner_stop()

    sink.play, sink.stop = play, stop  # type: ignore[method-assign]
    recognizer = load_recognizer(
        AsrSettings(
            engine=args.engine,
            phrase_silence=None if args.phrase_silence < 0 else args.phrase_silence,
            safety_silence=None if args.safety_silence < 0 else args.safety_silence,
            denoise=not args.no_denoise,
        )
    )
    # Where the reply latency goes: each accept() call that returned a result, with
    # the clock when it started and returned and the stream time its chunk ends at.
    accepts: list[dict] = []
    inner_accept = recognizer.accept

    def accept(chunk):  # type: ignore[no-untyped-def]
        called = time.monotonic() - t0
        results = inner_accept(chunk)
        if results:
            accepts.append(
                {
                    "called": called,
                    "returned": time.monotonic() - t0,
                    "chunk_end": chunk.end - t0,
                    "mic_time": pipes.mic_time,
                    "results": [
                        {
                            "intent": r.intent.value if r.intent else None,
                            "end": r.end - t0,
                            "provisional": r.provisional,
                        }
                        for r in results
                    ],
                }
            )
        return results

    recognizer.accept = accept  # type: ignore[method-assign]
    speaker = Speaker.from_settings(VoiceSettings(), sink)
    db = SessionLog(folder / "log.sqlite3")
    routine = get_routine(ROUTINE)
    coach = Coach(routine)
    lines: list[dict] = []
    session = LiveSession(
        coach,
        recognizer,
        speaker,
        time.monotonic,
        SessionRecorder(db, db.start(routine.id)),
        transcript=lambda e: lines.append(dict(e.to_json(), clock=time.monotonic() - t0)),
    )
    stop_event = threading.Event()
    words = {}
    user: list[dict] = []
    phases: dict[str, float] = {}
    cpu: dict[str, float] = {}

    def say(text: str, kind: str) -> dict:
        if text not in words:
            audio = resample(speak_espeak(text), 16_000, 48_000)
            words[text] = np.round(audio * (0.35 * capture / np.max(np.abs(audio))) * 32767)
        audio = words[text]
        queued_end = pipes.say(audio.astype(np.int16))
        # The speech itself, without espeak's leading and trailing silence: from the
        # first to the last sample within 25 dB of its peak (at every --mic-level).
        loud = np.flatnonzero(np.abs(audio) > 0.02 * capture * 32767)
        start = queued_end - (len(audio) - loud[0]) / 48_000
        end = queued_end - (len(audio) - 1 - loud[-1]) / 48_000
        row = {"text": text, "kind": kind, "end": end, "start": start}
        user.append(row)
        return row

    def now() -> float:
        return time.monotonic() - t0

    def quiet(seconds: float) -> bool:
        return (
            coach.waiting_for_user
            and not session.sink.is_playing()
            and time.monotonic() > session.sink.last_audio_end + seconds
        )

    def wait(cond, limit: float) -> bool:  # type: ignore[no-untyped-def]
        end = time.monotonic() + limit
        while time.monotonic() < end and not stop_event.is_set():
            if cond():
                return True
            time.sleep(0.02)
        return False

    # When a misheard command took the coach somewhere the scenario did not expect, the
    # user says what a person would to get back (each such line is counted, not timed).
    way_back = {
        State.PAUSED: "continue",
        State.CONFIRM_STOP: "no",
        State.ASK_PAIN: "no",
        State.ASK_CONSENT: "yes",
        State.ASK_PAIN_FREE: "yes",
    }

    def steer() -> None:
        word = way_back.get(coach.state)
        if word is not None and quiet(0.6):
            row = say(word, "steer")
            wait(lambda: now() > row["end"] + 2.0, 10)

    def command(text: str, kind: str, ready, reacted, tries: int = 3) -> bool:  # type: ignore[no-untyped-def]
        for _ in range(tries):
            for _ in range(4):
                if time.monotonic() > deadline or wait(ready, 15):
                    break
                steer()
            if time.monotonic() > deadline or not ready():
                return False
            before = len(session.acted)
            row = say(text, kind)
            end = row["end"] + 0.3

            def got(before: int = before) -> bool:
                return len(session.acted) > before and reacted(session.acted[-1])

            wait(lambda end=end: now() > end, 10)
            ok = wait(got, 4)
            row["acted"] = ok
            row["acted_as"] = [c.intent.value for c in session.acted[before:]]
            if ok:
                # The coach's answer reaches the sink a moment after the command is
                # acted on; until it does, the coach looks quiet and the next line
                # would be said over the answer, as no person waiting for it would.
                wait(session.sink.is_playing, 1.0)
                return True
        return False

    def in_state(*states):  # type: ignore[no-untyped-def]
        return lambda: coach.state in states and quiet(0.6)

    def announcing(delay: float):  # type: ignore[no-untyped-def]
        def cond() -> bool:
            said = [e for e in lines if e["kind"] == "said" and e["text"].startswith("Exercise")]
            return bool(said) and session.sink.is_playing() and now() > said[-1]["clock"] + delay

        return cond

    def cpu_times() -> float:
        total = 0.0
        for tid in os.listdir("/proc/self/task"):
            if int(tid) in pipes.thread_ids:
                continue
            try:
                fields = Path(f"/proc/self/task/{tid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        return total

    deadline = time.monotonic() + 60 * args.max_minutes

    def person() -> None:
        try:
            # 1. Only the coach speaks: the introduction (with its echo in the mic).
            wait(lambda: coach.state is State.ASK_CONSENT and quiet(0.6), 120)
            phases["coach_only_end"] = now()
            command("yes", "answer", in_state(State.ASK_CONSENT), lambda c: True)
            command("yes", "answer", in_state(State.ASK_PAIN_FREE), lambda c: True)

            # 2. Done early, in the first relax pause.
            def relax() -> bool:
                recent = lines[-3:]
                return not session.sink.is_playing() and any(
                    e["kind"] == "said" and e["text"].startswith("Relax for") for e in recent
                )

            command("next", "answer", relax, lambda c: c.intent.value == "next")
            wait(in_state(State.WAIT_NEXT), 30)
            # 3. Listening: nobody speaks for a while.
            wait(lambda: quiet(1.0), 30)
            c0, w0 = cpu_times(), time.monotonic()
            time.sleep(args.listen)
            cpu["listen_percent"] = 100 * (cpu_times() - c0) / (time.monotonic() - w0)
            # 4. Commands while the coach waits: the reply latency.
            for i in range(args.commands):
                command(CYCLE[i % len(CYCLE)], "reply", in_state(State.WAIT_NEXT), lambda c: True)
            # 5. Barge-ins during the announcement of the exercise ("repeat" restarts it).
            command("repeat", "answer", in_state(State.WAIT_NEXT), lambda c: True)
            for i in range(args.barge_ins):
                word, answer = ("stop", "no") if i % 2 == 0 else ("pause", "continue")
                command(word, "barge-in", announcing(1.5), lambda c: True)
                waiting = State.CONFIRM_STOP if word == "stop" else State.PAUSED
                command(answer, "answer", in_state(waiting), lambda c: True)
            command("it hurts", "barge-in", announcing(1.5), lambda c: c.intent.value == "hurt")
            wait(lambda: quiet(0.5), 30)
        finally:
            stop_event.set()

    threading.Thread(target=person, daemon=True).start()
    status = LiveRunner(session, mic, stop_event, output).run()
    mic.close()
    speaker.close()
    session.sink.close()
    pipes.close()
    np.save(folder / "fifo.npy", np.array(pipes.fifo_backlog, dtype=np.int64).reshape(-1, 2))
    import resource

    print(
        json.dumps(
            {
                "status": status,
                "wall0": wall0,
                "user": user,
                "transcript": lines,
                "plays": plays,
                "accepts": accepts,
                "stops": stops,
                "phases": phases,
                "cpu": cpu,
                "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                "recognizer": recognizer.describe(),
                "echo": {
                    "lag_frames": session.doubletalk.lag,
                    "gain": session.doubletalk.echo_gain,
                    "missing": pipes.echo_missing,
                },
            }
        )
    )


# ----------------------------------------------------------------- the parent


def first_sound(audio: np.ndarray, start: float, rate: int = 22_050, level: float = 0.01) -> float:
    """Seconds of the first sample above ``level`` at or after ``start`` (inf if none)."""
    i = max(0, int(start * rate))
    loud = np.flatnonzero(np.abs(audio[i:]) > level)
    return (i + int(loud[0])) / rate if len(loud) else float("inf")


def prepare_cache() -> None:
    """Render every fixed text of the routine (the product's `voicecoach prepare`)."""
    subprocess.run([sys.executable, "-m", "voicecoach", "prepare", ROUTINE], check=True, cwd=ROOT)


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else float("nan")


BREAKDOWN = (
    # name: what the step from the previous mark to this one is
    ("vad_end", "user's end (pipe clock) -> the end the recognizer reports (stream stamps)"),
    ("endpoint", "-> end of the chunk on which the recognizer gave its result"),
    ("delivery", "-> the loop's accept() call with that chunk (mic block, queue, loop)"),
    ("decode", "-> accept() returned"),
    ("to_sink", "-> sink.play() of the reply (dialogue, speaker thread)"),
    ("output", "-> first sample of the reply in the speaker recording"),
)
# Part of ``output`` is the test rig's, not the product's: the reply's first sample
# waited in the speaker pipe before the drain read it (``rig_fifo``), which a sound
# card has no equivalent of. ``reply_ms_*_less_rig_fifo`` leave that wait out.


def fifo_wait(fifo: np.ndarray, t: float, rate: int = 22_050) -> float:
    """Seconds the recording's sample at ``t`` waited in the speaker pipe (NaN if unknown).

    ``fifo`` holds (samples recorded before a read, samples then waiting in the pipe),
    per read of the drain; the wait of the samples a read returns is what was waiting
    when it began."""
    if not len(fifo) or not math.isfinite(t):
        return math.nan
    i = int(np.searchsorted(fifo[:, 0], int(t * rate), side="right")) - 1
    return float(fifo[i, 1]) / rate if i >= 0 else math.nan


def accept_for(result: dict, row: dict) -> dict | None:
    """The loop's accept() call that delivered the command of the user's ``row``."""
    return next(
        (
            a
            for a in result.get("accepts", [])
            # The recognizer's end of this utterance comes after its start; a looser
            # bound took the previous command's result for some replies.
            if any(
                r["intent"] and row["start"] < r["end"] <= row["end"] + 3.0 for r in a["results"]
            )
        ),
        None,
    )


def breakdown(result: dict, recording: np.ndarray, fifo: np.ndarray) -> dict:
    """Medians (ms) of where each acted reply's latency went, step by step (BREAKDOWN)."""
    steps: dict[str, list[float]] = {name: [] for name, _ in BREAKDOWN}
    steps["total"] = []
    steps["rig_fifo"] = []  # of ``output``: the wait in the rig's speaker pipe
    steps["mic_ahead"] = []  # pipe clock minus the chunk stamps when the result came
    for row in result["user"]:
        if row["kind"] != "reply" or not row.get("acted"):
            continue
        acc = accept_for(result, row)
        if acc is None:
            continue
        rec_end = next(r["end"] for r in acc["results"] if r["intent"])
        play = next((t for t, _ in result["plays"] if t >= acc["returned"] - 1e-3), None)
        if play is None:
            continue
        sound = first_sound(recording, row["end"])
        marks = [row["end"], rec_end, acc["chunk_end"], acc["called"], acc["returned"], play]
        marks.append(sound)
        for (name, _), a, b in zip(BREAKDOWN, marks[:-1], marks[1:], strict=True):
            steps[name].append(b - a)
        steps["total"].append(sound - row["end"])
        steps["rig_fifo"].append(fifo_wait(fifo, sound))
        steps["mic_ahead"].append(acc["mic_time"] - acc["chunk_end"])
    known = {k: [x for x in v if not math.isnan(x)] for k, v in steps.items()}
    return {k: round(1000 * statistics.median(v), 1) if v else math.nan for k, v in known.items()}


BARGE_BREAKDOWN = (
    ("vad_end", "user's end (pipe clock) -> the end the recognizer reports (stream stamps)"),
    ("endpoint", "-> end of the chunk on which the recognizer gave its result"),
    ("delivery", "-> the loop's accept() call with that chunk"),
    ("decode", "-> accept() returned"),
    ("to_stop", "-> the speaker stopped the coach's audio"),
)
# The coach's audio then ends at the output one output delay later (``output_delay_ms``).


def barge_breakdown(result: dict) -> dict:
    """Medians (ms) of where each acted barge-in's latency went, step by step
    (BARGE_BREAKDOWN), before the output delay."""
    steps: dict[str, list[float]] = {name: [] for name, _ in BARGE_BREAKDOWN}
    for row in result["user"]:
        if row["kind"] != "barge-in" or not row.get("acted"):
            continue
        cut = [s for s in result["stops"] if row["end"] - 0.2 <= s <= row["end"] + 3.0]
        acc = accept_for(result, row)
        if acc is None or not cut:
            continue
        rec_end = next(r["end"] for r in acc["results"] if r["intent"])
        marks = [row["end"], rec_end, acc["chunk_end"], acc["called"], acc["returned"], cut[0]]
        for (name, _), a, b in zip(BARGE_BREAKDOWN, marks[:-1], marks[1:], strict=True):
            steps[name].append(b - a)
    return {k: round(1000 * statistics.median(v), 1) if v else math.nan for k, v in steps.items()}


def analyse(result: dict, recording: np.ndarray, launch: float, fifo: np.ndarray) -> dict:
    rate = 22_050
    # Output delay: sink.play on an idle sink -> the first sample in the recording.
    delays = []
    for t, idle in result["plays"]:
        if idle:
            d = first_sound(recording, t) - t
            if 0 <= d < 1.0:
                delays.append(d)
    out_delay = statistics.median(delays) if delays else 0.0
    replies = []
    less_fifo = []
    for row in result["user"]:
        if row["kind"] == "reply" and row.get("acted"):
            sound = first_sound(recording, row["end"])
            replies.append(sound - row["end"])
            less_fifo.append(sound - row["end"] - fifo_wait(fifo, sound))
    less_fifo = [x for x in less_fifo if math.isfinite(x)]
    parts = breakdown(result, recording, fifo)
    barge = []
    barge_missed = 0
    for row in result["user"]:
        if row["kind"] == "barge-in" and row.get("acted"):
            # Only a cut soon after the command is its barge-in; a later one belongs to
            # something else (the coach's line may simply have ended first).
            cut = [s for s in result["stops"] if row["end"] - 0.2 <= s <= row["end"] + 3.0]
            if cut:
                barge.append(cut[0] + out_delay - row["end"])
            else:
                barge_missed += 1

    def unexplained(kind: str) -> list[dict]:
        """Transcript lines of ``kind`` that no user utterance explains."""
        return [
            e
            for e in result["transcript"]
            if e["kind"] == kind
            and not any(u["start"] - 0.5 <= e["clock"] <= u["end"] + 3.0 for u in result["user"])
        ]

    self_triggers = unexplained("heard")  # acted commands no user utterance explains
    # Holds: the coach silenced for a provisional safety command; resumed when the
    # final result did not act on it; unexplained when no user utterance explains it.
    held = [e for e in result["transcript"] if e["kind"] == "held"]
    holds_unexplained = unexplained("held")
    coach_only = result["phases"].get("coach_only_end", 0.0)
    startup = result["wall0"] + first_sound(recording, 0.0) - launch
    attempts = [u for u in result["user"] if u["kind"] in ("reply", "barge-in", "answer")]
    return {
        "commands_said": len(attempts),
        "commands_acted": sum(1 for u in attempts if u.get("acted")),
        "steering_lines": sum(1 for u in result["user"] if u["kind"] == "steer"),
        "reply_ms_p50": 1000 * percentile(replies, 50),
        "reply_ms_p95": 1000 * percentile(replies, 95),
        "reply_n": len(replies),
        "reply_ms_p50_less_rig_fifo": 1000 * percentile(less_fifo, 50),
        "reply_ms_p95_less_rig_fifo": 1000 * percentile(less_fifo, 95),
        **{f"reply_part_ms_{k}": v for k, v in parts.items()},
        "barge_in_ms_p50": 1000 * percentile(barge, 50),
        "barge_in_ms_max": 1000 * max(barge) if barge else float("nan"),
        "barge_in_n": len(barge),
        **{f"barge_in_part_ms_{k}": v for k, v in barge_breakdown(result).items()},
        "barge_in_said": sum(1 for u in result["user"] if u["kind"] == "barge-in"),
        "barge_in_acted_without_cut": barge_missed,
        "self_triggers": len(self_triggers),
        # Echo the rig could not make (the speaker's audio not yet drained from its
        # pipe): a shortfall the canceller would take for something else than echo.
        "rig_echo_missing": sum(n for _, n in result["echo"].get("missing", [])),
        "holds": len(held),
        "holds_resumed": sum(1 for e in result["transcript"] if e["kind"] == "resumed"),
        "holds_unexplained": len(holds_unexplained),
        "coach_only_seconds": coach_only,
        "listen_cpu_percent": result["cpu"].get("listen_percent", float("nan")),
        "peak_rss_mb": result["peak_rss_mb"],
        "startup_to_first_word_s": startup,
        "output_delay_ms": 1000 * out_delay,
        "session_seconds": len(recording) / rate,
        "status": result["status"],
        "recognizer": result["recognizer"],
    }


TARGETS = {
    "reply_ms_p50": ("<=", 300),
    "reply_ms_p95": ("<=", 500),
    "barge_in_ms_max": ("<=", 300),
    "self_triggers": ("<=", 0),
    "listen_cpu_percent": ("<=", 15),
    "peak_rss_mb": ("<=", 300),
    "startup_to_first_word_s": ("<=", 3),
}


def table(report: dict) -> str:
    lines = [f"{'measure':28} {'value':>10}  target"]
    for key, value in report.items():
        target = TARGETS.get(key)
        shown = f"{value:10.1f}" if isinstance(value, float) else f"{value!s:>10}"
        mark = ""
        if target is not None and isinstance(value, (int, float)):
            ok = value <= target[1]
            mark = f"  {target[0]} {target[1]}  {'ok' if ok else 'MISSED'}"
        lines.append(f"{key:28} {shown}{mark}")
    return "\n".join(lines)


def main() -> int:
    from voicecoach.asr.base import AsrSettings

    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--commands", type=int, default=48, help="commands while the coach waits")
    p.add_argument("--barge-ins", type=int, default=8, help="stop/pause said over the coach")
    p.add_argument("--listen", type=float, default=10.0, help="seconds of quiet for the CPU")
    p.add_argument("--engine", default="pocketsphinx")
    p.add_argument(
        "--phrase-silence",
        type=float,
        default=AsrSettings.phrase_silence,
        help="AsrSettings.phrase_silence (default %(default)s; -1 = off)",
    )
    p.add_argument(
        "--safety-silence",
        type=float,
        default=AsrSettings.safety_silence,
        help="AsrSettings.safety_silence (default %(default)s; -1 = off)",
    )
    p.add_argument(
        "--no-denoise", action="store_true", help="without the recognizer's noise suppressor"
    )
    p.add_argument(
        "--echo-delay",
        type=float,
        default=0.06,
        help="seconds from the speaker's playing to the echo at the microphone (default "
        "%(default)s; much longer acts as a device whose output latency is misreported, "
        "which the echo canceller cannot follow)",
    )
    p.add_argument(
        "--mic-level",
        type=float,
        default=0.0,
        help="dB on everything the microphone hears (the user, the echo, the room): "
        "a microphone whose capture level is set low (default %(default)s)",
    )
    p.add_argument(
        "--mic-gain",
        type=float,
        default=0.0,
        help="the product's microphone gain (voicecoach run --mic-gain), dB (default %(default)s)",
    )
    p.add_argument("--max-minutes", type=float, default=12.0, help="end the scenario then")
    p.add_argument("--json", type=Path, default=None, help="also write the report here")
    p.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--folder", default=None, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        child(args)
        return 0
    from tests.alsa_file_device import make_duplex_device

    prepare_cache()
    with tempfile.TemporaryDirectory() as tmp:
        dev = make_duplex_device(Path(tmp), paced=True)
        cmd = [sys.executable, __file__, "--child", "--folder", tmp]
        cmd += ["--commands", str(args.commands), "--barge-ins", str(args.barge_ins)]
        cmd += ["--listen", str(args.listen), "--engine", args.engine]
        cmd += ["--phrase-silence", str(args.phrase_silence)]
        cmd += ["--safety-silence", str(args.safety_silence)]
        cmd += ["--echo-delay", str(args.echo_delay)]
        if args.no_denoise:
            cmd += ["--no-denoise"]
        cmd += ["--mic-level", str(args.mic_level), "--mic-gain", str(args.mic_gain)]
        cmd += ["--max-minutes", str(args.max_minutes)]
        launch = time.time()
        proc = subprocess.run(cmd, env=dev.env(), capture_output=True, text=True, cwd=ROOT)
        if proc.returncode != 0:
            sys.stderr.write(proc.stderr)
            return 1
        result = json.loads(proc.stdout.strip().splitlines()[-1])
        recording = np.frombuffer((Path(tmp) / "played.raw").read_bytes(), dtype="<i2") / 32768.0
        fifo = np.load(Path(tmp) / "fifo.npy")
    report = analyse(result, recording, launch, fifo)
    print(json.dumps(report))
    print(table(report))
    if args.json is not None:
        raw = dict(result, fifo=fifo.tolist())
        args.json.write_text(json.dumps({"report": report, "raw": raw}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
