"""The core command line: text sessions, history, and resuming after a killed process."""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from voicecoach import script
from voicecoach.cli import main
from voicecoach.routines import get_routine
from voicecoach.session import SessionLog


def run_cli(args: list[str], stdin: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    return subprocess.run(
        [sys.executable, "-m", "voicecoach", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )


def self_correction(typed: str, tmp_path: Path, *flags: str) -> subprocess.CompletedProcess[str]:
    """A typed session of the built-in self-correction routine (``--fast``), logged in
    ``tmp_path/log.db``."""
    args = ["text", "--routine", "self-correction", "--fast", *flags]
    return run_cli([*args, "--log", str(tmp_path / "log.db")], typed, tmp_path)


def test_text_session_of_the_built_in_routine(tmp_path):
    db = tmp_path / "log.db"
    lines = "yes\nyes\n" + "next\n" * 10
    done = run_cli(
        ["text", "--routine", "neck-complex", "--fast", "--log", str(db)], lines, tmp_path
    )
    assert done.returncode == 0, done.stderr
    out = done.stdout.splitlines()
    assert all(line.startswith(("coach: ", "cue: ")) for line in out)
    assert "coach: " + script.CONSENT_QUESTION in out
    announced = [line for line in out if line.startswith("coach: Exercise ") and ":" in line[7:]]
    assert len(announced) == 11
    assert out[-1] == "cue: session_end"
    assert "session ended: completed" in done.stderr
    history = main_json(db)
    assert history[0]["status"] == "completed"
    assert [e["outcome"] for e in history[0]["exercises"]] == ["done"] * 11


def test_pain_mid_hold_in_the_built_in_self_correction_routine(tmp_path):
    db = tmp_path / "log.db"
    # Find when the first hold starts, then report pain 1.5 s into it: between its first
    # and second counts (the times printed are rounded to 0.1 s, so not at a count).
    probe = self_correction("yes\nyes\n", tmp_path, "--timestamps")
    # (Exercise one holds the breath: its hold begins "Breathe in, and hold.".)
    held = "coach: " + script.HOLD_BREATH
    hold = next(line for line in probe.stdout.splitlines() if line.endswith(held))
    t = float(hold.split("]")[0].strip("[ ")) + 1.5
    done = self_correction(f"yes\nyes\n@{t} it hurts\nyes\n", tmp_path, "--no-resume")
    out = done.stdout.splitlines()
    i = out.index(held)
    assert out[i + 1] != "coach: " + script.PAIN_STOP  # one count came first
    # The breath held for the hold is let go first.
    assert out[i + 2 : i + 4] == ["coach: " + script.BREATHE_OUT, "coach: " + script.PAIN_STOP]
    assert "coach: " + script.PAIN_ASK in out
    last = main_json(db)[0]
    assert last["pain_reports"] == 1
    assert last["exercises"][0]["outcome"] == "pain"
    assert last["status"] == "interrupted"  # the input ended while the coach waited


def main_json(db: Path) -> list[dict]:
    done = subprocess.run(
        [sys.executable, "-m", "voicecoach", "history", "--json", "--log", str(db)],
        capture_output=True,
        text=True,
        check=True,
    )
    return [json.loads(line) for line in done.stdout.splitlines()]


def test_resume_after_the_process_is_killed_mid_session(tmp_path):
    db = tmp_path / "log.db"
    cmd = [sys.executable, "-m", "voicecoach", "text", "--routine", "neck-complex", "--fast"]
    proc = subprocess.Popen(
        [*cmd, "--log", str(db)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdin and proc.stdout
    # Answer the safety questions and finish exercise 1; keep stdin open, so the coach
    # is in the middle of exercise 2 when the process is killed.
    proc.stdin.write("yes\nyes\nnext\n")
    proc.stdin.flush()
    for line in proc.stdout:
        if line.startswith("coach: Exercise two of eleven"):
            break
    proc.kill()
    proc.wait(timeout=10)

    with SessionLog(db) as log:
        [s] = log.sessions()
        assert s.status == "interrupted"
        assert [outcome for _, outcome in s.exercises] == ["done"]

    done = run_cli([*cmd[3:], "--log", str(db)], "yes\nyes\nyes\n", tmp_path)
    out = done.stdout.splitlines()
    assert "coach: " + script.resume_question(1) in out
    assert out[out.index("coach: " + script.STARTING) + 1].startswith(
        "coach: Exercise two of eleven"
    )


def test_killed_at_the_pain_question_the_exercise_that_hurt_is_not_offered_again(tmp_path):
    # A power cut (SIGKILL) at "Do you want to skip this exercise?": the pain report was
    # logged but not the exercise's outcome, so the next start began again from the
    # exercise that hurt (the first: no offer at all). It is recorded as pain with the
    # report, and the next start offers the exercise after it.
    db = tmp_path / "log.db"
    cmd = [sys.executable, "-m", "voicecoach", "text", "--routine", "self-correction", "--fast"]
    proc = subprocess.Popen(
        [*cmd, "--log", str(db)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert proc.stdin and proc.stdout
    proc.stdin.write("yes\nyes\n@100 it hurts\n")  # in exercise one's first repetition
    proc.stdin.flush()
    for line in proc.stdout:
        if line.strip() == "coach: " + script.PAIN_ASK:
            break
    proc.kill()
    proc.wait(timeout=10)

    with SessionLog(db) as log:
        [s] = log.sessions()
        assert s.pain_reports == 1
        assert s.exercises == (("head-back-glide", "pain"),)

    done = run_cli([*cmd[3:], "--log", str(db)], "yes\nyes\nyes\n", tmp_path)
    out = done.stdout.splitlines()
    assert "coach: " + script.resume_question(1) in out
    assert out[out.index("coach: " + script.STARTING) + 1].startswith("coach: Exercise two of")


# Neck-complex as it was before the sitting head turns became their own exercise (the
# fourth): a log written then numbers every exercise after the third one lower.
TEN = [
    "lying-relax",
    "shoulder-shrugs",
    "head-turns",
    "elbows-back",
    "folded-arms",
    "kneeling-slide",
    "shoulder-blades",
    "head-and-shoulders-lift",
    "lift-and-turn",
    "back-lift",
]


def saved_session(db: Path, outcomes: list[tuple[str, str]], status: str = "interrupted") -> None:
    """Log a neck-complex session with these (exercise id, outcome), numbered in order."""
    with SessionLog(db) as log:
        sid = log.start("neck-complex")
        for index, (ex_id, outcome) in enumerate(outcomes):
            log.exercise(sid, index, ex_id, outcome)
        log.end(sid, status)


def test_resume_finds_its_place_by_the_exercise_not_its_number(tmp_path):
    db = tmp_path / "log.db"
    cmd = ["text", "--routine", "neck-complex", "--fast", "--log", str(db)]
    # Saved with ten exercises, four done: the next is folded arms (the sixth of eleven
    # now, the fifth then). By number the coach offered the fifth, elbows back, again.
    saved_session(db, [(ex, "done") for ex in TEN[:4]])
    out = run_cli(cmd, "yes\nyes\nyes\n", tmp_path).stdout.splitlines()
    assert "coach: " + script.resume_question(5) in out
    started = out[out.index("coach: " + script.STARTING) + 1]
    assert started.startswith("coach: Exercise six of eleven: Folded arms, sitting.")
    # Stopped in elbows back (then the fourth): offered elbows back, not the sitting turns.
    saved_session(db, [(ex, "done") for ex in TEN[:3]] + [("elbows-back", "stopped")], "stopped")
    out = run_cli(cmd, "yes\nyes\nyes\n", tmp_path).stdout.splitlines()
    assert "coach: " + script.resume_question(4) in out
    started = out[out.index("coach: " + script.STARTING) + 1]
    assert started.startswith("coach: Exercise five of eleven: Elbows back, sitting.")


def test_a_saved_place_no_longer_in_the_routine_is_said_and_the_session_starts_over(tmp_path):
    db = tmp_path / "log.db"
    cmd = ["text", "--routine", "neck-complex", "--fast", "--log", str(db)]
    # An exercise taken out of the routine since: continued after the last one still in it.
    saved_session(db, [(ex, "done") for ex in TEN[:2]] + [("chin-tucks", "stopped")], "stopped")
    out = run_cli(cmd, "yes\nyes\nyes\n", tmp_path).stdout.splitlines()
    assert "coach: " + script.resume_question(2) in out
    started = out[out.index("coach: " + script.STARTING) + 1]
    assert started.startswith("coach: Exercise three of eleven: Head turns, lying down.")
    # None of the session's exercises is there: the coach says so and starts at one.
    saved_session(db, [("chin-tucks", "done"), ("nods", "done")])
    done = run_cli(cmd, "yes\nyes\n", tmp_path)
    out = done.stdout.splitlines()
    assert not any("Last time you stopped" in line for line in out)
    i = out.index("coach: " + script.PLACE_LOST)
    assert out[i - 2 : i] == ["coach: " + script.PAIN_FREE_QUESTION, "cue: heard"]
    assert out[i + 1] == "coach: " + script.STARTING
    assert out[i + 2].startswith("coach: Exercise one of eleven")
    assert "cannot find where the last session of neck-complex stopped" in done.stderr
    assert "'nods'" in done.stderr


def test_history_for_a_person_and_as_json(tmp_path, capsys):
    db = tmp_path / "log.db"
    with SessionLog(db) as log:
        sid = log.start("neck-complex")
        log.exercise(sid, 0, "a", "done")
        log.exercise(sid, 1, "b", "skipped")
        log.pain(sid, "b", 2)
        log.end(sid, "stopped")
    assert main(["history", "--log", str(db)]) == 0
    text = capsys.readouterr().out
    assert "neck-complex" in text and "stopped by you" in text
    assert "1 exercise done, 1 skipped, pain reported 1x" in text
    assert main(["history", "--json", "--log", str(db)]) == 0
    [obj] = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert obj["status"] == "stopped"
    assert obj["exercises"] == [{"id": "a", "outcome": "done"}, {"id": "b", "outcome": "skipped"}]
    assert obj["pain_reports"] == 1
    assert set(obj) >= {"id", "routine", "started", "ended", "status", "exercises", "pain_reports"}


def test_history_shows_a_session_whose_times_cannot_be_read(tmp_path, capsys):
    # A log edited by hand (or by another program): a time that is not one is shown as
    # it is, with no length, and the other sessions are listed as usual.
    db = tmp_path / "log.db"
    with SessionLog(db) as log:
        for _ in range(2):
            sid = log.start("neck-complex")
            log.exercise(sid, 0, "a", "done")
            log.end(sid, "completed")
    edit = sqlite3.connect(db)
    # (With no length of its own, as a log written before lengths were.)
    edit.execute(
        "UPDATE sessions SET started = 'yesterday', ended = 42, length = NULL WHERE id = 1"
    )
    edit.commit()
    edit.close()
    assert main(["history", "--log", str(db)]) == 0
    second, first = capsys.readouterr().out.splitlines()
    assert first.startswith("#1  yesterday  neck-complex")
    assert first.endswith("1 exercise done")
    # A session of under a minute shows its seconds (it showed "0 min").
    assert second.startswith("#2  ") and second.endswith("1 exercise done, 0 s")


class Clocks:
    """A Raspberry Pi's two clocks, set by the test: the wall clock (no battery, no
    network: wrong after a power cut, set by hand later) and the monotonic one."""

    def __init__(self, wall: datetime) -> None:
        self.wall = wall
        self.seconds = 0.0

    def run(self, minutes: float) -> None:
        self.wall += timedelta(minutes=minutes)
        self.seconds += minutes * 60

    def log(self, db: Path) -> SessionLog:
        return SessionLog(db, wall=lambda: self.wall, clock=lambda: self.seconds)


def test_history_counts_a_session_s_length_on_the_monotonic_clock(tmp_path, capsys):
    # The wall clock set back an hour during a 20-minute session: history showed its
    # length as "-40 min"; a session begun at 1970's clock after a power cut and set to
    # the date during it: "29015110 min".
    db = tmp_path / "log.db"
    clocks = Clocks(datetime(2025, 3, 1, 10, 0).astimezone())
    for setting in (timedelta(hours=-1), datetime(2025, 3, 2, 9, 0).astimezone()):
        with clocks.log(db) as log:
            sid = log.start("neck-complex")
            clocks.run(10)
            log.exercise(sid, 0, "a", "done")
            if isinstance(setting, timedelta):
                clocks.wall += setting
            else:
                clocks.wall = setting
            clocks.run(10)
            log.end(sid, "completed")
        clocks.wall = datetime(1970, 1, 1, 0, 0).astimezone()
    assert main(["history", "--log", str(db)]) == 0
    second, first = capsys.readouterr().out.splitlines()
    assert first.startswith("#1  Sat 01 Mar 2025 10:00") and first.endswith(", 20 min")
    assert second.startswith("#2  Thu 01 Jan 1970 00:00") and second.endswith(", 20 min")
    assert main(["history", "--json", "--log", str(db)]) == 0
    lengths = [json.loads(line)["length"] for line in capsys.readouterr().out.splitlines()]
    assert lengths == [1200.0, 1200.0]


def test_an_interrupted_session_s_length_runs_to_its_last_record(tmp_path, capsys):
    # Cut off (a power cut) after the clock was set back: its length ran from its start
    # to the newest time it recorded by that clock (from before it was set back): "5 min",
    # not 15.
    db = tmp_path / "log.db"
    clocks = Clocks(datetime(2025, 3, 1, 10, 0).astimezone())
    log = clocks.log(db)
    sid = log.start("neck-complex")
    clocks.run(5)
    log.exercise(sid, 0, "a", "done")
    clocks.wall -= timedelta(hours=1)
    clocks.run(10)
    log.exercise(sid, 1, "b", "done")
    log.close()  # the next to open the log finds it interrupted (its pid is this one)
    assert main(["history", "--log", str(db)]) == 0
    [line] = capsys.readouterr().out.splitlines()
    assert "interrupted" in line and line.endswith("2 exercises done, 15 min")


def test_history_shows_no_length_for_an_old_session_whose_clock_went_back(tmp_path, capsys):
    # Logged before sessions recorded their length, ending before it started by the
    # wall clock: no length, rather than a negative one.
    db = tmp_path / "log.db"
    clocks = Clocks(datetime(2025, 3, 1, 10, 0).astimezone())
    with clocks.log(db) as log:
        sid = log.start("neck-complex")
        log.exercise(sid, 0, "a", "done")
        clocks.wall -= timedelta(hours=1)
        log.end(sid, "completed")
    edit = sqlite3.connect(db)
    edit.execute("UPDATE sessions SET length = NULL")
    edit.commit()
    edit.close()
    assert main(["history", "--log", str(db)]) == 0
    [line] = capsys.readouterr().out.splitlines()
    assert line.endswith("1 exercise done")


def test_a_typed_line_that_is_not_utf8_does_not_end_the_session(tmp_path):
    # A file of typed lines saved in another encoding: with Python's default handling of
    # stdin, the session ended in a traceback at that line (UnicodeEncodeError from the
    # log, or, where stdin is strict, UnicodeDecodeError), its exercises not done.
    typed = b"yes\nyes\ncaf\xe9 next\nnext\nnext\n"
    for errors in ("surrogateescape", "strict"):
        db = tmp_path / f"{errors}.db"
        done = subprocess.run(
            [sys.executable, "-m", "voicecoach", "text", "--routine", "self-correction"]
            + ["--fast", "--no-resume", "--log", str(db)],
            input=typed,
            capture_output=True,
            env=dict(os.environ, PYTHONIOENCODING=f"utf-8:{errors}"),
            timeout=60,
        )
        assert done.returncode == 0 and b"Traceback" not in done.stderr, done.stderr
        assert b"session ended: completed" in done.stderr
        [session] = main_json(db)
        assert [e["outcome"] for e in session["exercises"]] == ["done"] * 3


def test_a_text_session_with_standard_input_closed_reads_nothing_and_ends_saved(tmp_path):
    # It ended in a traceback (sys.stdin is None), the session left "running".
    db = tmp_path / "log.db"
    done = subprocess.run(
        [sys.executable, "-m", "voicecoach", "text", "--routine", "self-correction"]
        + ["--fast", "--no-resume", "--log", str(db)],
        stdin=None,
        capture_output=True,
        timeout=60,
        preexec_fn=lambda: os.close(0),
    )
    assert done.returncode == 0 and b"Traceback" not in done.stderr, done.stderr
    assert b"session ended: interrupted" in done.stderr
    [session] = main_json(db)
    assert session["status"] == "interrupted"


def test_history_with_no_log_yet(tmp_path, capsys):
    assert main(["history", "--log", str(tmp_path / "none.db")]) == 0
    assert "No sessions yet" in capsys.readouterr().out


def test_a_pause_during_the_intro_still_speaks_the_safety_text(tmp_path):
    # The reviewer's case: "pause" 5 s into the intro, then "continue". Before, the
    # coach went straight to the consent question; the safety text was never spoken.
    from voicecoach.routines.loader import builtin_routines

    routine = builtin_routines()["self-correction"]
    done = self_correction("@5 pause\ncontinue\nyes\n", tmp_path, "--no-resume")
    out = done.stdout.splitlines()
    paused = out.index("coach: " + script.PAUSED)
    asked = out.index("coach: " + script.CONSENT_QUESTION)
    again = out[paused:asked]
    assert "coach: " + script.intro(routine)[1] in again  # "You will need: ..."
    assert again[-1] == "coach: " + script.intro(routine)[2]  # the safety text


def test_at_the_slowest_pace_a_fifteen_second_hold_takes_fifteen_seconds(tmp_path):
    # The reviewer's case: four "slower" before exercise two of self-correction ("Each
    # time, hold for fifteen seconds"). Before, that hold ran 30 s, counted 2 s apart.
    done = self_correction(
        "yes\nyes\n" + "slower\n" * 4 + "next\nstop\nyes\n", tmp_path, "--timestamps", "--no-resume"
    )
    lines = [(float(line[1:8]), line[10:]) for line in done.stdout.splitlines()]
    start = next(i for i, (_, text) in enumerate(lines) if text.startswith("coach: Exercise two"))
    assert "hold for fifteen seconds" in lines[start][1]
    hold = next(i for i in range(start, len(lines)) if lines[i][1] == "coach: Hold.")
    held = [(at - lines[hold][0], text) for at, text in lines[hold + 1 : hold + 16]]
    assert [round(at, 6) for at, _ in held] == [float(n) for n in range(1, 16)]
    assert held[0][1] == "coach: Fourteen." and held[-1][1] == "cue: hold_end"


@pytest.mark.parametrize("how", [signal.SIGINT, signal.SIGTERM])
def test_a_text_session_ended_at_the_pain_question_records_the_exercise_that_hurt(tmp_path, how):
    # Ctrl-C (or SIGTERM) at "Do you want to skip this exercise?" left the exercise
    # that hurt unrecorded (SIGTERM left the session "running" too), so the next start
    # offered nothing, or offered that very exercise again. The input running out there
    # records it as "pain", and the next start offers the one after it, as `run` does.
    db = tmp_path / "log.db"
    cmd = [sys.executable, "-m", "voicecoach", "text", "--routine", "self-correction"]
    proc = subprocess.Popen(
        [*cmd, "--fast", "--log", str(db)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdin and proc.stdout
    # "it hurts" during exercise one's announcement; stdin stays open.
    proc.stdin.write("yes\nyes\n@60 it hurts\n")
    proc.stdin.flush()
    for line in proc.stdout:
        if line == "coach: " + script.PAIN_ASK + "\n":
            break
    proc.send_signal(how)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert "session ended: interrupted" in err
    [last] = main_json(db)
    assert last["status"] == "interrupted" and last["pain_reports"] == 1
    assert last["exercises"] == [{"id": "head-back-glide", "outcome": "pain"}]
    done = run_cli([*cmd[3:], "--fast", "--log", str(db)], "yes\nyes\n", tmp_path)
    assert "coach: " + script.resume_question(1) in done.stdout.splitlines()


def test_stop_then_no_after_a_pain_skip_waits_for_next(tmp_path):
    # The reviewer's case: pain in exercise one, "yes" (skip it), then "stop" -> "no".
    # Before, "no" started exercise two at once, without the user saying "next".
    done = self_correction("yes\nyes\n@104.6 it hurts\nyes\nstop\nno\n", tmp_path, "--no-resume")
    out = done.stdout.splitlines()
    asked = out.index("coach: " + script.CONFIRM_STOP)
    assert "coach: " + script.WAIT_AFTER_PAIN in out[:asked]
    assert out[asked + 1 :] == ["cue: heard", "coach: " + script.WAIT_REPROMPT]
    assert not any(line.startswith("coach: Exercise two") for line in out)


def test_it_hurts_at_the_safety_question_ends_the_session_as_declined(tmp_path):
    db = tmp_path / "log.db"
    done = self_correction("it hurts\n", tmp_path, "--no-resume")
    out = done.stdout.splitlines()
    said = out.index("coach: " + script.CONSENT_QUESTION) + 1
    assert out[said] == "coach: " + script.DECLINED_PAIN
    [last] = main_json(db)
    assert last["status"] == "declined" and last["pain_reports"] == 1


def test_next_during_the_intro_still_speaks_the_safety_text(tmp_path):
    from voicecoach.routines.loader import builtin_routines

    safety = "coach: " + script.intro(builtin_routines()["self-correction"])[-1]
    done = self_correction("@3 next\nyes\n", tmp_path, "--no-resume")
    out = done.stdout.splitlines()
    heard = out.index("cue: heard")
    assert out[heard + 1 : heard + 3] == [safety, "coach: " + script.CONSENT_QUESTION]


def test_sessions_that_do_no_exercise_keep_the_offer_to_continue(tmp_path):
    db = tmp_path / "log.db"
    cmd = ["text", "--routine", "neck-complex", "--fast", "--log", str(db)]
    run_cli(cmd, "yes\nyes\nnext\nnext\nnext\n", tmp_path)  # four exercises done, interrupted
    offer = "coach: " + script.resume_question(4)
    # The input ends at the offer; a "no" to the safety question; the input ends again.
    for lines in ("yes\nyes\n", "no\n", "yes\nyes\n"):
        done = run_cli(cmd, lines, tmp_path)
        assert done.returncode == 0, done.stderr
        assert (offer in done.stdout.splitlines()) == (lines == "yes\nyes\n")
    assert [s["status"] for s in main_json(db)] == [
        "interrupted",
        "declined",
        "interrupted",
        "interrupted",
    ]


def test_stop_during_an_exercise_is_not_a_skip(tmp_path, capsys):
    db = tmp_path / "log.db"
    cmd = ["text", "--routine", "neck-complex", "--fast", "--log", str(db)]
    run_cli(cmd, "yes\nyes\nnext\nnext\n@252.6 stop\nyes\n", tmp_path)  # during exercise three
    [last] = main_json(db)
    assert last["status"] == "stopped"
    assert [e["outcome"] for e in last["exercises"]] == ["done", "done", "stopped"]
    assert main(["history", "--log", str(db)]) == 0
    assert "2 exercises done, stopped part way through one" in capsys.readouterr().out
    done = run_cli(cmd, "yes\nyes\nyes\n", tmp_path)
    out = done.stdout.splitlines()
    assert "coach: " + script.resume_question(2) in out
    assert out[out.index("coach: " + script.STARTING) + 1].startswith("coach: Exercise three of")


def test_history_keeps_a_done_exercise_done(tmp_path):
    db = tmp_path / "log.db"
    cmd = ["text", "--routine", "self-correction", "--fast", "--log", str(db)]
    # Exercises one and two done; back to two (at 451.4 s), skipped as it is announced.
    run_cli(cmd, "yes\nyes\nnext\ngo back\n@453 skip\n", tmp_path)
    [last] = main_json(db)
    assert last["status"] == "completed"
    assert [e["outcome"] for e in last["exercises"]] == ["done", "done", "done"]


def damage(db: Path) -> bytes:
    """Overwrite the log's second page, as a failing card or a crash might."""
    data = db.read_bytes()
    data = data[:4096] + bytes(range(256)) * 16 + data[8192:]
    db.write_bytes(data)
    return data


def test_a_damaged_log_stops_neither_a_session_nor_history_with_a_traceback(tmp_path):
    db = tmp_path / "log.db"
    cmd = ["text", "--routine", "neck-complex", "--fast", "--log", str(db)]
    for lines in ("yes\nyes\nnext\n", "yes\nyes\n", "no\n"):
        run_cli(cmd, lines, tmp_path)
    data = damage(db)

    history = run_cli(["history", "--log", str(db)], "", tmp_path)
    assert history.returncode == 8 and history.stdout == ""
    [line] = history.stderr.splitlines()
    assert line.startswith(f"voicecoach: the session log {db} is damaged (")
    assert "writable" not in line and "Traceback" not in history.stderr
    assert db.read_bytes() == data

    done = run_cli(cmd, "yes\nyes\nnext\n", tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1] == "coach: " + script.WAIT_NEXT
    [aside] = [p for p in tmp_path.iterdir() if p.name.startswith("log.db.damaged-")]
    assert aside.read_bytes() == data
    [warning] = [line for line in done.stderr.splitlines() if line.startswith("WARNING")]
    assert f"{db} is damaged" in warning and f"moved aside unchanged to {aside}" in warning
    [last] = main_json(db)  # the new log
    assert [e["outcome"] for e in last["exercises"]] == ["done", "done"]


def test_a_log_path_that_is_some_other_file_is_refused_and_left_as_it_is(tmp_path):
    """A user's notes given as ``--log`` by mistake: run, text and history refuse in one
    line, before anything starts, and the file stays where it is, unchanged (it was
    renamed aside as a damaged log and a new log started in its place)."""
    notes = tmp_path / "notes.txt"
    notes.write_text("Physio on Tuesday. Ten minutes of neck exercises a day.\n")
    data = notes.read_bytes()
    for cmd in (
        ["text", "--routine", "self-correction", "--fast"],
        ["run", "--routine", "self-correction"],
        ["history"],
    ):
        proc = run_cli([*cmd, "--log", str(notes)], "yes\nnext\n", tmp_path)
        assert proc.returncode == 8 and proc.stdout == "", (cmd, proc.stderr)
        [line] = proc.stderr.splitlines()
        assert line == (
            f"voicecoach: {notes} is not a session log (it is not an SQLite database); it "
            "was left as it is. Give --log another path (a new file, or a voicecoach "
            "session log), or leave --log out for the default log."
        )
    assert [p.name for p in tmp_path.iterdir()] == ["notes.txt"]
    assert notes.read_bytes() == data


def test_a_reader_that_goes_away_ends_the_cli_quietly(tmp_path):
    db = tmp_path / "log.db"
    cmd = [sys.executable, "-m", "voicecoach"]
    text = subprocess.Popen(
        [*cmd, "text", "--routine", "neck-complex", "--fast", "--log", str(db)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert text.stdin and text.stdout and text.stderr
    text.stdin.write("yes\nyes\n")
    text.stdin.flush()
    for line in text.stdout:
        if line.startswith("coach: Exercise one of eleven"):
            break  # the coach waits for more input before it goes on
    text.stdout.close()  # as `| head` does once it has its lines
    text.stdin.write("next\n")  # the coach goes on, speaking to no one
    text.stdin.close()
    assert text.wait(timeout=30) == 141
    assert "Traceback" not in text.stderr.read()
    [last] = main_json(db)
    assert last["status"] == "interrupted" and last["ended"] is not None
    assert last["exercises"] == []

    show = subprocess.Popen(
        [*cmd, "show", "self-correction"], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    assert show.stdout and show.stderr
    show.stdout.close()  # gone before it writes a line
    assert show.wait(timeout=30) == 141
    assert show.stderr.read() == b""


def as_someone_else() -> list[str]:
    """The start of a command line that runs as a user who cannot write what the test
    made read-only: the test's own user, or, for root (whom file modes do not stop),
    the user nobody (through util-linux's setpriv)."""
    if os.geteuid() != 0:
        return []
    if shutil.which("setpriv") is None:
        pytest.skip("run as root, and no setpriv to run as another user")
    return ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]


@pytest.mark.parametrize("folder_writable", [False, True])
def test_history_reads_a_log_it_cannot_write(folder_writable):
    # A log of mode 0444 (copied from a backup, or on a card mounted read-only): history
    # stopped with "cannot open the session log ...: attempt to write a readonly
    # database", and where the folder was writable it left a -wal and a -shm behind.
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        base.chmod(0o755)  # for the user nobody
        db = base / "logs" / "log.db"
        with SessionLog(db) as log:
            sid = log.start("neck-complex")
            log.exercise(sid, 0, "a", "done")
            log.end(sid, "stopped")
        data = db.read_bytes()
        db.chmod(0o444)
        db.parent.chmod(0o777 if folder_writable else 0o555)
        try:
            shown = subprocess.run(
                [*as_someone_else(), sys.executable, "-m", "voicecoach"]
                + ["history", "--json", "--log", str(db)],
                capture_output=True,
                text=True,
                cwd=base,
                timeout=60,
            )
            assert shown.returncode == 0 and shown.stderr == "", shown.stderr
            [session] = [json.loads(line) for line in shown.stdout.splitlines()]
            assert session["status"] == "stopped" and session["exercises"][0]["id"] == "a"
            assert [p.name for p in db.parent.iterdir()] == ["log.db"]
            assert db.read_bytes() == data
        finally:
            db.parent.chmod(0o755)


def test_a_pain_report_is_remembered_for_the_rest_of_the_day(tmp_path):
    # "You have reported pain twice today" counted one session only: one report in each
    # of two sessions never ended one, and a session right after one ended for pain
    # began as usual, with no word of it.
    first = self_correction("yes\nyes\n@100 it hurts\nyes\n", tmp_path)
    assert "session ended: interrupted" in first.stderr
    second = self_correction("yes\nyes\n@100 it hurts\n", tmp_path, "--no-resume")
    out = second.stdout.splitlines()
    reminder = out.index("coach: " + script.PAIN_EARLIER)
    assert out[reminder - 1] == "coach: " + script.intro(get_routine("self-correction"))[-1]
    assert out[reminder + 1] == "coach: " + script.CONSENT_QUESTION
    assert out[-2:] == ["coach: " + script.PAIN_END, "cue: session_end"]
    assert "session ended: ended_for_pain" in second.stderr
    third = self_correction("yes\nyes\n", tmp_path)
    out = third.stdout.splitlines()
    assert "coach: " + script.PAIN_EARLIER_MORE in out
    assert "coach: " + script.STARTING in out  # the questions decide, as ever
    assert [s["pain_reports"] for s in main_json(tmp_path / "log.db")] == [0, 1, 1]
