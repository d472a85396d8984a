#!/usr/bin/env python3
"""Benchmark opening the session log when it holds years of daily sessions.

Builds a log with the real :class:`~voicecoach.session.SessionLog`, as the coach writes
it: one session of the longest built-in routine a day, every exercise recorded, a
dozen commands heard and, now and then, a pain report. Then times opening it (as
``voicecoach run`` does, and read-only as ``voicecoach history`` does) and, apart, the
integrity check that opening runs first: with the file in the page cache (warm), and
with its pages evicted first (cold, ``posix_fadvise``), as at the first open after boot,
when they come from the card.

Prints a table and, last, one JSON line.

    python scripts/bench_log_open.py [--years 10] [--runs 9] [--keep PATH]
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

from voicecoach.commands import Intent
from voicecoach.events import CommandHeard
from voicecoach.routines.loader import builtin_routines
from voicecoach.session import SessionLog

COMMANDS = [
    (Intent.YES, "yes"),
    (Intent.YES, "yes"),
    (Intent.NEXT, "next"),
    (Intent.REPEAT, "say that again"),
    (Intent.PAUSE, "wait"),
    (Intent.RESUME, "go on"),
    (Intent.NEXT, "next one"),
    (Intent.SLOWER, "slower"),
    (Intent.WHERE, "where are we"),
    (Intent.NEXT, "done"),
    (Intent.SKIP, "skip this one"),
    (Intent.NEXT, "next"),
]


def build(path: Path, days: int) -> None:
    """``days`` daily sessions of the longest built-in routine, written by SessionLog."""
    routine = max(builtin_routines().values(), key=lambda r: len(r.exercises))
    day = datetime(2015, 1, 1, 8, 0).astimezone()
    seconds = 0.0
    with SessionLog(path, wall=lambda: day, clock=lambda: seconds) as log:
        for n in range(days):
            day += timedelta(days=1)
            sid = log.start(routine.id)
            log.began(sid)
            for i, ex in enumerate(routine.exercises):
                seconds += 60.0
                intent, text = COMMANDS[i % len(COMMANDS)]
                log.command(sid, CommandHeard(intent, text, 0.8), seconds)
                if i % 2 == 0:
                    log.command(sid, CommandHeard(Intent.NEXT, "next", 0.9), seconds + 5)
                if n % 20 == 0 and i == 3:
                    log.pain(sid, ex.id, 2)
                log.exercise(sid, i, ex.id, "done")
            log.end(sid, "completed")


def evict(path: Path) -> None:
    """Drop the log's pages from the page cache (clean pages only: it is closed)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)


def timed(fn: object, runs: int, cold: Path | None = None) -> float:
    """Median milliseconds of ``fn()`` over ``runs``; the file ``cold`` evicted first."""
    assert callable(fn)
    times = []
    for _ in range(runs):
        if cold is not None:
            evict(cold)
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def quick_check(path: Path) -> None:
    db = sqlite3.connect(path.resolve().as_uri() + "?mode=ro", uri=True)
    try:
        db.execute("PRAGMA quick_check").fetchall()
    finally:
        db.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--years", type=float, default=10.0)
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--keep", type=Path, help="build the log here (reused if it exists)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = args.keep or Path(tmp) / "sessions.db"
        built = None
        if not path.exists():
            t0 = time.perf_counter()
            build(path, int(args.years * 365))
            built = time.perf_counter() - t0
        result = {
            "years": args.years,
            "file_mb": round(path.stat().st_size / 1e6, 2),
            "build_s": None if built is None else round(built, 1),
            "open_ms": round(timed(lambda: SessionLog(path).close(), args.runs), 2),
            "open_read_only_ms": round(
                timed(lambda: SessionLog(path, read_only=True).close(), args.runs), 2
            ),
            "quick_check_ms": round(timed(lambda: quick_check(path), args.runs), 2),
            "open_cold_ms": round(timed(lambda: SessionLog(path).close(), args.runs, path), 2),
            "quick_check_cold_ms": round(timed(lambda: quick_check(path), args.runs, path), 2),
        }
    for key, value in result.items():
        print(f"{key:>20}  {value}")
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
