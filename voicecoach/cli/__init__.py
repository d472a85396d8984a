"""The ``voicecoach`` command line. argparse lives here and nowhere else.

Each subcommand is a module in this package with a ``register(subparsers)`` function
that adds its parser and sets ``func`` to a callable taking the parsed arguments and
returning an exit code. Settings are built from the arguments here, once, and only
frozen settings objects go further in.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import signal
import sys

from ..errors import VoicecoachError

# Subcommand modules, in the order ``--help`` lists them.
SUBCOMMAND_MODULES = [
    "routines_cmd",
    "text_cmd",
    "history_cmd",
    "speak_cmd",
    "live_cmd",
    "models_cmd",
    "asr_cmd",
]


def build_parser() -> argparse.ArgumentParser:
    """The top-level parser with every subcommand registered."""
    parser = argparse.ArgumentParser(
        prog="voicecoach",
        description="An offline, voice-only coach for therapeutic neck exercises.",
    )
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more logging")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in SUBCOMMAND_MODULES:
        module = importlib.import_module(f"{__name__}.{name}")
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``voicecoach`` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    level = logging.WARNING - 10 * min(args.verbose, 2)
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        code = int(args.func(args) or 0)
        sys.stdout.flush()  # a reader that went away shows here, not at exit
        return code
    except VoicecoachError as err:
        print(f"voicecoach: {err.message}", file=sys.stderr)
        return err.exit_code
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return _stdout_closed()


def _stdout_closed() -> int:
    """The reader of stdout went away (``voicecoach show R | head``): stop quietly.

    This is what a command line tool does on SIGPIPE. Python would flush stdout again
    on exit and print a traceback, so stdout is pointed at nothing first.
    """
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)
    return 128 + signal.SIGPIPE  # the status a shell shows for a tool SIGPIPE ended


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
