#!/usr/bin/env python3
"""Soak the live loop: hours of session time, and many sessions in one process.

A long-running coach (a systemd user service that stays up between sessions) builds
a new :class:`~voicecoach.runtime.loop.LiveSession` for every session with the same
recognizer and speaker. This runs that on a virtual clock, with no sound card:

- the coach's real dialogue, live loop (echo guard, double-talk check, echo
  canceller, mute watch) and session log (a file in a temporary folder);
- a voice that plays a quiet tone of speech-like length (``FakeVoice``) through the
  real :class:`~voicecoach.tts.speaker.Speaker` into a ``MemorySink`` (whose
  timeline this script trims, as it keeps everything for the demo's WAV file);
- the demo's room (:class:`~voicecoach.runtime.demo.Room`): the coach's echo and
  noise at the microphone, and the user's voice as a noise burst while they speak;
- a scripted user that keeps the session going: "yes" to the questions, "next"
  between exercises, "repeat" before the last one (so a session never runs out),
  and now and then "where am i", "pause" / "continue", and once "it hurts" / "no";
- the recognizer: by default a fake that hears exactly what the user said at the
  end of their words; ``--engine pocketsphinx`` streams the same microphone through
  the real PocketSphinx recognizer (the user then speaks in espeak-ng: slow).

Every ``--sample-every`` seconds of session time it prints the Python heap
(tracemalloc), the RSS, the CPU time of this process per chunk over the last interval
(the machine's other work does not count), and the sizes of the loop's structures
that could grow. Numbers, not a test: no assertion.

Measured (x86-64, 2026-11-29; heap / RSS / CPU per chunk):

- one session of 4 h (``--hours 4 --no-cancel --step 0.1 --clock-start 2.6e6``):
  8.2 / 71.9 MB / 3.18 ms after 30 min, 9.1 / 72.0 / 3.36 after 1 h, 9.2 / 73.4 /
  3.06 after 4 h; the loop's frames and played lines stayed bounded;
- six 10-minute sessions in a row with the echo canceller (``--hours 1
  --session-minutes 10``): 8.8-10.0 MB heap, 67-80 MB RSS, 3.9-4.5 ms; when each
  session wrapped the speaker's sink in a tap of its own (before a session reused
  the tap it found), 10.0 -> 25.8 MB heap and 66 -> 98 MB RSS from the first session
  to the fifth, a tap deeper each time;
- 30 sessions of 2 minutes (``--no-cancel --step 0.1``): 9.2-10.5 MB heap, 66-81 MB.

Usage: ``python scripts/soak_live.py --hours 6``;
``python scripts/soak_live.py --sessions 100 --session-minutes 12``;
``--clock-start 2.6e6`` puts the clock where a Pi up for 30 days has it.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from voicecoach.asr.base import Recognition  # noqa: E402
from voicecoach.audio.chunk import ASR_RATE, AudioChunk  # noqa: E402
from voicecoach.audio.sinks import MemorySink, VirtualClock, audible  # noqa: E402
from voicecoach.commands import Intent, match_intent  # noqa: E402
from voicecoach.dialogue import Coach  # noqa: E402
from voicecoach.routines import get_routine  # noqa: E402
from voicecoach.runtime.demo import DemoSettings, Room, speak_espeak  # noqa: E402
from voicecoach.runtime.loop import LiveSession  # noqa: E402
from voicecoach.runtime.settings import LiveSettings  # noqa: E402
from voicecoach.session import start_recording  # noqa: E402
from voicecoach.states import State  # noqa: E402
from voicecoach.tts.base import FakeVoice  # noqa: E402
from voicecoach.tts.speaker import Speaker  # noqa: E402

STEP = 0.02


def rss_mb() -> float:
    """Resident set size of this process in MB (Linux)."""
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * 4096 / 1e6


class User:
    """Keeps the session going (see the module doc); speaks a noise burst or espeak-ng."""

    def __init__(self, rng: np.random.Generator, espeak: bool) -> None:
        self.rng = rng
        self.espeak = espeak
        self.session: LiveSession | None = None
        self.said: list[tuple[float, float, str]] = []  # (start, end, text) not yet heard
        self._audio = np.zeros(0, dtype=np.float32)
        self._start = 0.0
        self._until = -1.0
        self._quiet_since: float | None = None
        self._next_extra = 60.0
        self._paused_at: float | None = None
        self._rendered: dict[str, np.ndarray] = {}

    def new_session(self, session: LiveSession, t: float) -> None:
        self.session = session
        self.said.clear()
        self._quiet_since = None
        self._paused_at = None
        self._next_extra = t + 60.0

    def _say(self, text: str, t: float) -> None:
        if self.espeak:
            if text not in self._rendered:
                audio = speak_espeak(text)
                self._rendered[text] = (0.35 * audio / max(np.max(np.abs(audio)), 1e-6)).astype(
                    np.float32
                )
            self._audio = self._rendered[text]
        else:
            n = int(0.25 * len(text.split()) * ASR_RATE) + int(0.2 * ASR_RATE)
            self._audio = self.rng.normal(0.0, 0.15, n).astype(np.float32)
        self._start = t
        self._until = t + len(self._audio) / ASR_RATE
        self.said.append((t, self._until, text))

    def step(self, t: float) -> None:
        s = self.session
        if s is None or t < self._until + 0.5:
            return
        coach = s.coach
        if coach.state is State.PAUSED:
            if self._paused_at is not None and t - self._paused_at > 30.0:
                self._paused_at = None
                self._say("continue", t)
            return
        if coach.state is State.EXERCISE and t >= self._next_extra:
            self._next_extra = t + float(self.rng.uniform(40.0, 120.0))
            pick = self.rng.uniform()
            if pick < 0.5:
                self._say("where am i", t)
            elif pick < 0.8 or coach.pain_reports:  # a second one ends the session
                self._paused_at = t
                self._say("pause", t)
            else:
                self._say("it hurts", t)
            return
        quiet = coach.waiting_for_user and not audible(s.sink, 0.3)
        if not quiet:
            self._quiet_since = None
            return
        if self._quiet_since is None:
            self._quiet_since = t
        if t - self._quiet_since < 1.0:
            return
        self._quiet_since = None
        if coach.state is State.WAIT_NEXT and coach.pending >= len(coach.routine.exercises) - 1:
            self._say("repeat", t)  # the last one would end the session
        elif coach.state is State.WAIT_NEXT:
            self._say("next", t)
        elif coach.state in (State.ASK_PAIN, State.CONFIRM_STOP):
            self._say("no", t)
        else:
            self._say("yes", t)

    def audio(self, t: float, frames: int) -> np.ndarray:
        out = np.zeros(frames, dtype=np.float32)
        i = int(round((t - self._start) * ASR_RATE))
        lo, hi = max(i, 0), min(i + frames, len(self._audio))
        if hi > lo:
            out[lo - i : hi - i] = self._audio[lo:hi]
        return out


class HearsTheUser:
    """A recognizer that hears exactly what the user said, at the end of their words."""

    name = "soak"

    def __init__(self, user: User) -> None:
        self.user = user

    def accept(self, chunk: AudioChunk) -> list[Recognition]:
        out = []
        while self.user.said and self.user.said[0][1] <= chunk.end:
            start, end, text = self.user.said.pop(0)
            out.append(Recognition(match_intent(text), text, 0.9, start, end))
        return out

    def flush(self) -> list[Recognition]:
        return []

    def reset(self) -> None:
        pass

    def set_active(self, intents: frozenset[Intent] | None) -> None:
        pass

    def set_early_end(self, intents: frozenset[Intent] | None) -> None:
        pass

    def recognize_utterance(self, chunk: AudioChunk) -> Recognition:
        raise NotImplementedError

    def describe(self) -> str:
        return "hears the soak's user exactly"


def sizes(session: LiveSession) -> dict[str, int]:
    """Lengths of the structures that could grow with running time."""
    tap, dt = session.tap, session.doubletalk
    depth, inner = 0, session.speaker.sink
    while type(inner).__name__ == "TapSink":
        depth += 1
        inner = inner.__dict__["inner"]
    return {
        "tap_depth": depth,
        "tap_power": len(tap._power),
        "mic_frames": len(dt._mic),
        "echo_played": len(session.echo._played),
        "acted": len(session.acted),
        "ignored": len(session.ignored),
        "coach_outstanding": len(session.coach._outstanding),
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--hours", type=float, default=1.0, help="session time in all")
    p.add_argument(
        "--sessions", type=int, default=10**6, help="most sessions in a row (one process)"
    )
    p.add_argument(
        "--session-minutes", type=float, default=0.0, help="end each session after (0: --hours)"
    )
    p.add_argument("--sample-every", type=float, default=600.0, help="seconds of session time")
    p.add_argument("--clock-start", type=float, default=0.0, help="the monotonic clock at start")
    p.add_argument("--engine", default="fake", choices=("fake", "pocketsphinx"))
    p.add_argument("--routine", default="self-correction")
    p.add_argument(
        "--no-cancel", action="store_true", help="without the echo canceller (4x faster)"
    )
    p.add_argument("--step", type=float, default=STEP, help="microphone chunk, seconds")
    p.add_argument("--json", type=Path, help="write the samples here")
    args = p.parse_args()

    tracemalloc.start()
    rng = np.random.default_rng(3)
    clock = VirtualClock(args.clock_start)
    sink = MemorySink(22_050, clock)
    speaker = Speaker(FakeVoice(amplitude=0.2), sink, threaded=False)
    user = User(rng, espeak=args.engine != "fake")
    recognizer: Any
    if args.engine == "fake":
        recognizer = HearsTheUser(user)
    else:
        from voicecoach.asr import load_recognizer
        from voicecoach.asr.base import AsrSettings

        recognizer = load_recognizer(AsrSettings(engine=args.engine))
    routine = get_routine(args.routine)
    room = Room(sink, user, DemoSettings(noise_rms=0.002))  # type: ignore[arg-type]
    total = args.hours * 3600.0
    per_session = args.session_minutes * 60.0 or total
    folder = Path(tempfile.mkdtemp(prefix="soak-"))
    log_path = folder / "sessions.sqlite3"
    live = LiveSettings(cancel_echo=not args.no_cancel)
    samples: list[dict[str, Any]] = []
    wall0 = time.process_time()
    last_wall, last_chunks, chunks = wall0, 0, 0
    next_sample = 0.0
    elapsed = 0.0  # session time over all sessions
    print(
        f"{'session s':>10} {'sessions':>8} {'heap MB':>8} {'RSS MB':>7} "
        f"{'cpu ms/chunk':>12}  sizes"
    )
    n_sessions = 0
    while elapsed < total and n_sessions < args.sessions:
        recorder, _ = start_recording(
            log_path, routine.id, [ex.id for ex in routine.exercises], offer_resume=False
        )
        session = LiveSession(Coach(routine), recognizer, speaker, clock, recorder, live)
        n_sessions += 1
        user.new_session(session, clock())
        session.start()
        began = clock()
        while not session.finished and clock() - began < per_session and elapsed < total:
            t = clock()
            user.step(t)
            chunk = room.mic(t, args.step)
            clock.set(t + args.step)
            session.feed(chunk)
            session.poll()
            chunks += 1
            elapsed += args.step
            room.recording.clear()
            if chunks % 500 == 0:  # the harness's sink keeps everything otherwise
                old = clock() - 60.0
                sink.segments[:] = [g for g in sink.segments if g.end(sink.rate) > old]
            if elapsed >= next_sample:
                next_sample += args.sample_every
                now = time.process_time()
                per_chunk = 1000 * (now - last_wall) / max(chunks - last_chunks, 1)
                last_wall, last_chunks = now, chunks
                row = {
                    "session_seconds": round(elapsed),
                    "sessions": n_sessions,
                    "heap_mb": round(tracemalloc.get_traced_memory()[0] / 1e6, 2),
                    "rss_mb": round(rss_mb(), 1),
                    "cpu_ms_per_chunk": round(per_chunk, 3),
                    **sizes(session),
                }
                samples.append(row)
                print(
                    f"{row['session_seconds']:>10} {n_sessions:>8} {row['heap_mb']:>8} "
                    f"{row['rss_mb']:>7} {row['cpu_ms_per_chunk']:>12}  "
                    + " ".join(f"{k}={v}" for k, v in sizes(session).items()),
                    flush=True,
                )
        by_itself = session.finished
        status = session.end()
        if by_itself:
            print(f"session {n_sessions} ended by itself: {status}", flush=True)
        if recorder is not None:
            recorder.log.close()
    print(
        f"{n_sessions} sessions, {elapsed / 3600:.2f} h of session time in "
        f"{time.process_time() - wall0:.0f} s of CPU; log {log_path.stat().st_size / 1e3:.0f} kB"
    )
    if args.json is not None:
        args.json.write_text(json.dumps(samples, indent=1))


if __name__ == "__main__":
    main()
