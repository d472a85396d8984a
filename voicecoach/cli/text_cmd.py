"""``voicecoach text``: a coaching session in text, on the same core as the voice."""

from __future__ import annotations

import argparse
import io
import signal
import sys
from pathlib import Path

from .. import paths
from ..session import chosen_log, start_coaching
from ..textsession import TextSession, print_to


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``text`` subcommand."""
    p = sub.add_parser(
        "text",
        help="run a session in text: commands on stdin, the coach's words on stdout",
        description=(
            "Run a coaching session in text. Type (or pipe) commands one per line, in the "
            "words you would say. A plain line is delivered when the coach next waits for "
            "you; a line '@SECONDS words' is delivered at that session time. The coach's "
            "words are printed as 'coach: <text>' and sounds as 'cue: <name>'."
        ),
    )
    p.add_argument("--routine", required=True, help="routine id (see 'voicecoach routines')")
    p.add_argument(
        "--fast",
        action="store_true",
        help="virtual clock: the whole routine plays in seconds instead of in real time",
    )
    p.add_argument("--timestamps", action="store_true", help="prefix lines with session time")
    p.add_argument(
        "--log",
        type=Path,
        default=None,
        help=f"session log database (default: {paths.session_log_path()})",
    )
    p.add_argument(
        "--no-resume", action="store_true", help="do not offer to continue the last session"
    )
    p.set_defaults(func=run)


def _interrupted(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def run(args: argparse.Namespace) -> int:
    """Run the text session; exit 0 whatever the session's status."""
    from ..routines import get_routine

    # With standard input closed (``<&-``, or a service with none) Python has no
    # sys.stdin: read nothing, as from an empty input.
    typed = sys.stdin if sys.stdin is not None else io.StringIO()
    if isinstance(typed, io.TextIOWrapper):
        # Typed lines saved in another encoding (a Windows editor's, say) must not end the
        # session: a byte that is not UTF-8 is read as U+FFFD, not raised or logged raw.
        typed.reconfigure(errors="replace")
    log_path = chosen_log(args.log)
    routine = get_routine(args.routine)
    coach, recorder = start_coaching(log_path, routine, offer_resume=not args.no_resume)
    session = TextSession(
        coach,
        print_to(sys.stdout),
        recorder,
        realtime=not args.fast,
        timestamps=args.timestamps,
    )
    # SIGTERM (a service stopped, `kill`) ends the session as Ctrl-C does, saved.
    previous = signal.signal(signal.SIGTERM, _interrupted)
    try:
        status = session.run(typed)
    except KeyboardInterrupt:
        status = session.end()
    except BrokenPipeError:
        # Nobody reads the coach's words any more (`| head`): the session ends here.
        session.end()
        raise
    finally:
        signal.signal(signal.SIGTERM, previous)
        if recorder is not None:
            recorder.log.close()
    print(f"session ended: {status}", file=sys.stderr)
    return 0
