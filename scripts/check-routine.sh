#!/usr/bin/env bash
# Exit with a message a person can act on when ROUTINE is not a routine voicecoach can
# load. The Pi's service runs `voicecoach run --routine ROUTINE`: with a mistyped id it
# would fail at every start, restarted every 10 s, and the person would hear nothing.
# Called by scripts/install-pi.sh once the virtual environment is built:
#   scripts/check-routine.sh ROUTINE .venv/bin/voicecoach
# (any command that runs voicecoach can follow ROUTINE, e.g. `python -m voicecoach`).
set -euo pipefail
routine="$1"
shift
# An id that starts with "-" is an option to `voicecoach run` (`--routine -h` fails
# there), and `show` would take it as one too (`show -h` prints help and succeeds).
if [[ -z "$routine" || "$routine" == -* ]]; then
  why="a routine id is never empty and never starts with \"-\""
elif why=$("$@" show "$routine" 2>&1 >/dev/null); then
  exit 0
fi
{
  echo "The service cannot use --routine $routine:"
  echo "$why" | sed 's/^/  /'
  echo "The routines there are:"
  "$@" routines 2>/dev/null | sed 's/^/  /' || true
  echo "Run the installer again with --routine set to one of these ids."
} >&2
exit 2
