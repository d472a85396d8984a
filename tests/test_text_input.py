"""The typed session's input: timed lines, and the README's example doing what it says."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from tests.routine_fixtures import tiny_routine
from voicecoach import script
from voicecoach.commands import Intent, typed_intent
from voicecoach.dialogue import Coach
from voicecoach.routines import load_routine_file
from voicecoach.routines.model import Advance
from voicecoach.textsession import InputLine, TextSession, parse_line

ROOT = Path(__file__).resolve().parent.parent


def readme_example() -> str:
    """The text session example in the README, as written there."""
    text = (ROOT / "README.md").read_text()
    [line] = [x for x in text.splitlines() if x.startswith("printf ") and "voicecoach text" in x]
    return line


def test_the_readmes_example_lands_the_pain_report_in_a_hold(tmp_path: Path) -> None:
    # Its "@78 it hurts" (neck-complex) came during the first exercise's announcement,
    # where "Stop the movement now" stopped no movement, though the README shows it for
    # "a pain report can land in the middle of a hold"; and run again on the same log
    # it met the offer to continue instead.
    line = readme_example()
    typed = re.match(r"printf '([^']*)'", line)
    assert typed is not None
    args = line.split("| voicecoach ", 1)[1].split()
    at = re.search(r"@(\d+) it hurts", typed[1])
    assert at is not None
    outputs = []
    for _ in range(2):
        done = subprocess.run(
            [sys.executable, "-m", "voicecoach", *args, "--log", str(tmp_path / "log.db")],
            input=typed[1].encode().decode("unicode_escape"),
            capture_output=True,
            text=True,
            env=dict(os.environ),
            timeout=60,
            check=True,
        )
        assert "late" not in done.stderr
        outputs.append(done)
    lines = outputs[0].stdout.splitlines()
    stop = next(n for n, x in enumerate(lines) if "Stop the movement" in x)
    assert float(lines[stop][1:].split("]")[0]) == float(at[1]), lines[stop]
    # Run again the same day, as the README says, it begins with a reminder of the pain
    # reported, and the report, the second today, ends the session.
    again = outputs[1].stdout.splitlines()
    assert any(x.endswith("coach: " + script.PAIN_EARLIER) for x in again)
    assert "session ended: ended_for_pain" in outputs[1].stderr
    cues = [x for x in lines[:stop] if "cue: hold_" in x]
    assert cues and cues[-1].endswith("cue: hold_start"), lines[:stop]


@pytest.mark.parametrize(
    ("raw", "parsed"),
    [
        ("\ufeff@5 it hurts\n", InputLine("it hurts", 5.0)),
        ("\ufeff# typed for the self-correction routine\n", None),
        ("\ufeffyes\n", InputLine("yes")),
    ],
)
def test_a_file_saved_with_a_byte_order_mark_reads_its_first_line(
    raw: str, parsed: InputLine | None
) -> None:
    # Windows Notepad starts a UTF-8 file with an invisible byte-order mark.
    assert parse_line(raw) == parsed


def test_a_line_starting_with_at_that_gives_no_time_is_skipped_with_a_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level("WARNING", logger="voicecoach.textsession"):
        assert parse_line("@abc stop") is None
    assert "@SECONDS words" in caplog.text


def test_a_timed_line_held_up_by_the_lines_before_it_is_said_to_be_late(
    tmp_path: Path,
) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "voicecoach", "text", "--routine", "self-correction", "--fast"]
        + ["--log", str(tmp_path / "log.db"), "--no-resume"],
        input="yes\nyes\nnext\n@5 it hurts\n",
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert "'@5 it hurts' is late" in done.stderr


@pytest.mark.parametrize(
    ("typed", "intent"),
    [
        ("no, don't stop", Intent.NO),
        ("don't skip", None),
        ("don't stop the session, go on", Intent.RESUME),
        ("yes, no pain", Intent.YES),
        ("it doesn't hurt any more, next", Intent.NEXT),
        ("my neck hurts", Intent.HURT),
        ("it really hurts", Intent.HURT),
        ("that is painful", Intent.HURT),
        ("No! Stop!", Intent.STOP),  # "no" turns around only a pain word
        ("wait, it hurts", Intent.HURT),
        ("next please", Intent.NEXT),
        ("go back", Intent.PREVIOUS),
        ("that's enough", Intent.STOP),
        ("the weather", None),
        # A pain report is undone only by the plainest negations.
        ("no! ouch!", Intent.HURT),
        ("no ouch", Intent.HURT),
        ("no, pain", Intent.HURT),
        ("no pain", None),
        ("I can't, it hurts", Intent.HURT),
        ("don't, it hurts", Intent.HURT),
        ("it doesn't hurt", None),
        ("not painful", None),
        ("I can't go on", None),
        ("never mind, stop", Intent.STOP),
    ],
)
def test_typed_lines_are_read_as_a_person_means_them(typed: str, intent: Intent | None) -> None:
    assert typed_intent(typed) is intent


def test_no_dont_stop_keeps_the_session_going(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "voicecoach", "text", "--routine", "self-correction", "--fast"]
        + ["--log", str(tmp_path / "log.db"), "--no-resume", "--timestamps"],
        input="yes\nyes\n@97.6 stop\nno, don't stop\n@112.6 my neck hurts\n",
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    out = done.stdout
    assert "session ended: stopped" not in done.stderr, done.stderr
    after = out[out.index("[  112.6]") :].splitlines()[:2]
    assert after[0].endswith("coach: " + script.BREATHE_OUT), after  # a held breath
    assert "Stop the movement" in after[1], after


def typed_session(routine, typed: list[str]) -> tuple[str, list[str]]:
    """A text session on the virtual clock: its final status and the lines printed."""
    out: list[str] = []
    status = TextSession(Coach(routine), out.append).run(typed)
    return status, out


def test_the_automatic_rest_goes_on_to_the_next_exercise_by_itself() -> None:
    # The input ends at the consent answers; the routine moves on by itself, so the
    # session does not wait for more at the rest (it ended there as interrupted).
    status, out = typed_session(tiny_routine(Advance.AUTO), ["yes", "yes"])
    assert out.count("coach: " + script.AUTO_NEXT) == 2
    assert len([line for line in out if line.startswith("coach: Exercise ")]) == 3
    assert status == "completed"


def test_the_documented_example_moves_on_by_itself_after_its_first_exercise(
    tmp_path: Path,
) -> None:
    doc = (ROOT / "docs" / "routine-format.md").read_text()
    example = re.search(r"```toml\n(.*?)```", doc, re.S)
    assert example is not None
    (tmp_path / "morning.toml").write_text(example[1])
    status, out = typed_session(load_routine_file(tmp_path / "morning.toml"), ["yes", "yes"])
    assert out.count("coach: " + script.AUTO_NEXT) == 1
    assert status == "completed"


def test_a_plain_line_waits_for_a_real_wait_not_the_automatic_rest() -> None:
    # Exercise one moves on by itself; after exercise two the coach waits for "next".
    routine = tiny_routine()
    first = replace(routine.exercises[0], advance=Advance.AUTO)
    routine = replace(routine, exercises=(first, *routine.exercises[1:]))
    status, out = typed_session(routine, ["yes", "yes", "next"])
    rest = out.index("coach: " + script.AUTO_NEXT)
    asked = out.index("coach: " + script.WAIT_NEXT)
    assert rest < asked
    assert out[rest + 1].startswith("coach: Exercise two of three")  # not cut by "next"
    assert out[asked + 1] == "cue: heard"  # "next" answered the question
    assert status == "completed"
