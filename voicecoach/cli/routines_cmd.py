"""``voicecoach routines``, ``show`` and ``validate``: the routines and their files."""

from __future__ import annotations

import argparse
import sys
import textwrap
from pathlib import Path

from .. import paths
from ..programme import exercise_programme
from ..routines import (
    Routine,
    available_routines,
    builtin_routines,
    get_routine,
    validate_files,
)
from ..script import seconds, times


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``routines``, ``show`` and ``validate`` subcommands."""
    p = sub.add_parser("routines", help="list the routines you can do")
    p.set_defaults(func=run_list)
    p = sub.add_parser("show", help="print a routine's script")
    p.add_argument("routine", help="routine id")
    p.set_defaults(func=run_show)
    p = sub.add_parser(
        "validate",
        help="check routine files",
        description=f"Check routine files; user routines live in {paths.user_routines_dir()}.",
    )
    p.add_argument("files", nargs="+", type=Path, metavar="FILE")
    p.set_defaults(func=run_validate)


def run_list(args: argparse.Namespace) -> int:
    """Print routine ids and titles; warn about broken user files."""
    routines, problems = available_routines()
    builtin = builtin_routines()
    width = max(len(r) for r in routines)
    for routine in sorted(routines.values(), key=lambda r: r.id):
        source = "" if routine.source == "built-in" else f"  (from {routine.source})"
        if source and routine.id in builtin:
            source = f"  (from {routine.source}, instead of the built-in)"
        n = len(routine.exercises)
        count = f"{n} exercise" + ("" if n == 1 else "s")
        print(f"{routine.id:<{width}}  {routine.title} ({count}){source}")
    for problem in problems:
        print(f"warning: {problem}", file=sys.stderr)
    return 0


def run_show(args: argparse.Namespace) -> int:
    """Print the whole script of a routine, as a person would hear it."""
    print(script_text(get_routine(args.routine)))
    return 0


def script_text(routine: Routine) -> str:
    """A readable script of ``routine``."""
    wrap = textwrap.TextWrapper(width=88, subsequent_indent="    ")
    para = textwrap.TextWrapper(width=88)
    out = [routine.title, "=" * len(routine.title), ""]
    out += [para.fill(routine.intro), "", "You will need:"]
    out += [f"  - {item}" for item in routine.preparation]
    out += ["", para.fill("Safety: " + routine.safety), ""]
    for i, ex in enumerate(routine.exercises, 1):
        head = f"{i}. {ex.title}"
        out += [head, "-" * len(head), wrap.fill("Position: " + ex.position)]
        out += [wrap.fill(f"  {n}) {step}") for n, step in enumerate(ex.steps, 1)]
        details = [f"{times(ex.repetitions)}"]
        if ex.hold_seconds:
            held = ", breath held" if ex.hold_breath else ""
            details.append(f"hold {seconds(ex.hold_seconds)}{held}")
        if ex.relax_seconds:
            details.append(f"relax {seconds(ex.relax_seconds)}")
        if ex.breathing:
            details.append(
                f"breathe in {seconds(ex.breathing.inhale)}, out {seconds(ex.breathing.exhale)} "
                f"({ex.breathing.when} the movement)"
            )
        details.append("waits for 'next'" if ex.advance.value == "wait" else "moves on by itself")
        length = sum(beat.length for beat in exercise_programme(ex))
        details.append(f"about {length / 60:.1f} min of movement")
        out.append("Do it " + ", ".join(details) + ".")
        if ex.cues:
            out.append("Each time: " + " / ".join(ex.cues))
        if ex.progression:
            out.append("On repeats: " + ex.progression)
        if ex.after:
            out.append(wrap.fill("Afterwards: " + ex.after))
        out.append("")
    return "\n".join(out).rstrip() + "\n"


def run_validate(args: argparse.Namespace) -> int:
    """Print each problem on its own line (an id two files share included); exit 3 if
    there is any."""
    checked, problems = validate_files(args.files)
    builtin = builtin_routines()
    shown: set[int] = set()
    for path, routine in checked:
        own = [p for p in problems if p.file == str(path)]
        for problem in own:
            print(problem)
        shown |= {id(p) for p in own}
        if routine is not None and not own:
            note = ""
            if routine.id in builtin:
                note = (
                    f' (id "{routine.id}" is a built-in routine\'s: in {paths.user_routines_dir()}'
                    " this file replaces that built-in; give it another id to keep both)"
                )
            print(f"{path}: OK{note}")
    for problem in problems:  # about files not given: one of them shares an id
        if id(problem) not in shown:
            print(problem)
    return 3 if problems else 0
