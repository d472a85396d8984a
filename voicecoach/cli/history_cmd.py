"""``voicecoach history``: recent sessions from the session log."""

from __future__ import annotations

import argparse
import json
from datetime import datetime
from pathlib import Path

from .. import paths
from ..session import NOT_BEGUN, SessionLog, SessionSummary, chosen_log
from .argtypes import number_in

_STATUS_WORDS = {
    "completed": "completed",
    "stopped": "stopped by you",
    "ended_for_pain": "ended for pain",
    "declined": "not started (safety questions)",
    "interrupted": "interrupted",
    NOT_BEGUN: "not started (no microphone)",
    "running": "running now",
}


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``history`` subcommand."""
    p = sub.add_parser("history", help="show recent sessions")
    p.add_argument("--json", action="store_true", help="one JSON object per session per line")
    p.add_argument(
        "-n",
        "--limit",
        type=number_in(1, 100_000, whole=True),
        default=20,
        help="how many sessions (default 20)",
    )
    p.add_argument(
        "--log",
        type=Path,
        default=None,
        help=f"session log database (default: {paths.session_log_path()})",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Print the sessions, newest first."""
    path = chosen_log(args.log)
    if not path.exists():
        if not args.json:
            print("No sessions yet. Start one with 'voicecoach run' or 'voicecoach text'.")
        return 0
    with SessionLog(path, read_only=True) as log:  # to read it, the log need not be writable
        sessions = log.sessions(args.limit)
    for s in sessions:
        print(json.dumps(s.to_json()) if args.json else describe(s))
    if not sessions and not args.json:
        print("No sessions yet.")
    return 0


def describe(s: SessionSummary) -> str:
    """One line a person can read."""
    started = _when(s.started)
    status = _STATUS_WORDS.get(s.status, s.status)
    if s.status == NOT_BEGUN:  # stopped while waiting for a microphone: nothing to count
        return f"#{s.id}  {started}  {s.routine:<16} {status}"
    done = sum(1 for _, outcome in s.exercises if outcome == "done")
    skipped = sum(1 for _, outcome in s.exercises if outcome == "skipped")
    early = sum(1 for _, outcome in s.exercises if outcome == "ended_early")
    stopped = sum(1 for _, outcome in s.exercises if outcome == "stopped")
    parts = [f"{done} exercise{'s' if done != 1 else ''} done"]
    if early:
        parts.append(f"{early} ended early")
    if skipped:
        parts.append(f"{skipped} skipped")
    if stopped:
        parts.append("stopped part way through one")
    if s.pain_reports:
        parts.append(f"pain reported {s.pain_reports}x")
    seconds = _length(s)
    length = f", {_duration(seconds)}" if seconds is not None else ""
    return f"#{s.id}  {started}  {s.routine:<16} {status:<30} {', '.join(parts)}{length}"


def _duration(seconds: float) -> str:
    """A session's length as a person says it: "40 s" under a minute, else minutes."""
    return f"{seconds:.0f} s" if seconds < 59.5 else f"{seconds / 60:.0f} min"


def _length(s: SessionSummary) -> float | None:
    """How long the session lasted, in seconds; None if that is not known.

    The log's length is counted on the monotonic clock. A session logged before lengths
    were has only its start and end on the wall clock, which a machine without a
    battery-backed clock sets wrong after a power cut and changes when set: an end
    before the start means the clock was set back during it, and shows no length."""
    if isinstance(s.length, (int, float)) and s.length >= 0:
        return float(s.length)
    start, end = _parse(s.started), _parse(s.ended)
    if start is None or end is None:
        return None
    try:
        seconds = (end - start).total_seconds()
    except TypeError:  # one time with a UTC offset and one without (edited by hand)
        return None
    return seconds if seconds >= 0 else None


def _parse(stamp: str | None) -> datetime | None:
    """A time the log recorded; None for none, or for one that is not a time (the log
    edited by hand or by another program): it is shown as it is, and a session is not
    left out of the history for it."""
    try:
        return datetime.fromisoformat(stamp) if stamp else None
    except (TypeError, ValueError):
        return None


def _when(stamp: str) -> str:
    when = _parse(stamp)
    return when.strftime("%a %d %b %Y %H:%M") if when is not None else str(stamp)
