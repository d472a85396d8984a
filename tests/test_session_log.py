"""The SQLite session log, the recorder, and the text session that feeds them."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from datetime import datetime

import pytest

from tests.routine_fixtures import tiny_routine
from voicecoach import script
from voicecoach.commands import Intent
from voicecoach.dialogue import Coach
from voicecoach.errors import NotASessionLog, SessionLogDamaged, SessionLogError
from voicecoach.events import OUTCOMES, CommandHeard, kept_outcome
from voicecoach.session import (
    SessionLog,
    SessionRecorder,
    chosen_log,
    start_coaching,
    start_recording,
)
from voicecoach.textsession import TextSession, parse_line

ROUTINE = tiny_routine()
IDS = [ex.id for ex in ROUTINE.exercises]
AGREE = ["yes", "yes"]  # to the doctor question and to the acute pain question


def run_text(log: SessionLog, lines: list[str], resume: int | None = None) -> tuple[str, list]:
    out: list[str] = []
    coach = Coach(ROUTINE, resume_from=resume)
    recorder = SessionRecorder(log, log.start(ROUTINE.id, resume))
    status = TextSession(coach, out.append, recorder).run(lines)
    return status, out


def test_completed_session_is_logged(tmp_path):
    with SessionLog(tmp_path / "s.db") as log:
        status, out = run_text(log, [*AGREE, "next", "next"])
        assert status == "completed"
        [s] = log.sessions()
        assert s.to_json() == {
            "id": 1,
            "routine": "tiny",
            "started": s.started,
            "ended": s.ended,
            "status": "completed",
            "exercises": [
                {"id": "turn", "outcome": "done"},
                {"id": "press", "outcome": "done"},
                {"id": "tilt", "outcome": "done"},
            ],
            "pain_reports": 0,
            "length": s.length,
        }
        assert s.length is not None and s.length >= 0
        assert [(i, t) for _, i, t in log.commands(1)] == [
            ("yes", "yes"),
            ("yes", "yes"),
            ("next", "next"),
            ("next", "next"),
        ]
    assert out[0] == "coach: A short test routine."
    assert out[-1] == "cue: session_end"


def test_pain_in_the_middle_of_a_hold_is_logged_with_its_repetition(tmp_path):
    # With the simulated voice, exercise 2's first hold runs from 60.2 s to 63.2 s.
    with SessionLog(tmp_path / "s.db") as log:
        status, out = run_text(log, [*AGREE, "next", "@60.8 it hurts", "yes", "next"])
        assert status == "completed"
        i = out.index("coach: Hold.")
        assert out[i + 1] == "coach: " + script.PAIN_STOP  # cut into the hold
        [s] = log.sessions()
        assert s.pain_reports == 1
        assert dict(s.exercises) == {"turn": "done", "press": "pain", "tilt": "done"}
        row = log._db.execute("SELECT exercise_id, repetition FROM pain_reports").fetchall()
        assert row == [("press", 1)]


def test_two_pain_reports_end_the_session(tmp_path):
    with SessionLog(tmp_path / "s.db") as log:
        status, _ = run_text(log, [*AGREE, "@32.6 ouch", "no", "next", "@62.6 that hurts"])
        assert status == "ended_for_pain"
        [s] = log.sessions()
        assert s.status == "ended_for_pain" and s.pain_reports == 2


@pytest.mark.parametrize(
    ("lines", "status"),
    [
        (["no"], "declined"),
        (["yes", "no"], "declined"),
        ([*AGREE, "stop", "yes"], "stopped"),
        ([*AGREE, "next"], "interrupted"),  # input ends while the coach waits
        ([], "interrupted"),
    ],
)
def test_statuses(tmp_path, lines, status):
    with SessionLog(tmp_path / "s.db") as log:
        assert run_text(log, lines)[0] == status
        assert log.sessions()[0].status == status


def test_resume_point_offers_the_exercise_after_the_last_one_reached(tmp_path):
    with SessionLog(tmp_path / "s.db") as log:
        run_text(log, [*AGREE, "next"])  # two exercises done, then the input ends
        assert log.resume_point("tiny", IDS).index == 2
        status, out = run_text(log, [*AGREE, "yes"], resume=2)
        assert "coach: " + script.resume_question(2) in out
        assert "Exercise three of three" in out[out.index("coach: " + script.STARTING) + 1]
        assert status == "completed"
        assert log.resume_point("tiny", IDS) is None  # completed: nothing to offer
        run_text(log, ["no"])
        assert log.resume_point("tiny", IDS) is None  # declined: nothing to offer


@pytest.mark.parametrize(
    "lines",
    [
        AGREE,  # the input ends at the offer to continue
        ["no"],  # declined at the safety question
        [],  # ended during the introduction (a boot of the Pi, then SIGTERM)
    ],
)
def test_a_session_that_did_no_exercise_keeps_the_saved_place(tmp_path, lines):
    with SessionLog(tmp_path / "s.db") as log:
        run_text(log, AGREE)  # exercise one done, then the input ends
        assert log.resume_point("tiny", IDS).index == 1
        run_text(log, lines, resume=1)
        assert log.sessions()[0].exercises == ()
        assert log.resume_point("tiny", IDS).index == 1
        run_text(log, lines, resume=1)  # and again: still there
        assert log.resume_point("tiny", IDS).index == 1


def test_a_resumed_session_that_makes_progress_moves_the_saved_place(tmp_path):
    with SessionLog(tmp_path / "s.db") as log:
        run_text(log, AGREE)
        run_text(log, [], resume=1)  # nothing done
        status, out = run_text(log, [*AGREE, "yes"], resume=1)  # exercise two done
        assert status == "interrupted"
        assert "Exercise two of three" in out[out.index("coach: " + script.STARTING) + 1]
        assert log.resume_point("tiny", IDS).index == 2


def test_stop_in_the_middle_of_an_exercise_offers_that_exercise_next_time(tmp_path):
    with SessionLog(tmp_path / "s.db") as log:
        status, _ = run_text(log, [*AGREE, "next", "@60.8 stop", "yes"])  # in exercise two
        assert status == "stopped"
        assert log.sessions()[0].exercises == (("turn", "done"), ("press", "stopped"))
        assert log.resume_point("tiny", IDS).index == 1
        _, out = run_text(log, [*AGREE, "yes"], resume=1)
        assert "coach: " + script.resume_question(1) in out
        assert "Exercise two of three" in out[out.index("coach: " + script.STARTING) + 1]


def test_an_exercise_once_done_stays_done_when_it_is_skipped_later(tmp_path):
    with SessionLog(tmp_path / "s.db") as log:
        # Exercises one and two done; back to two (at 86.8 s), skipped as it is announced.
        status, out = run_text(log, [*AGREE, "next", "go back", "@88 skip"])
        assert status == "completed"
        assert sum(line.startswith("coach: Exercise two of three") for line in out) == 2
        assert log.sessions()[0].exercises == (
            ("turn", "done"),
            ("press", "done"),
            ("tilt", "done"),
        )


@pytest.mark.parametrize(
    "lines",
    [
        [*AGREE, "next", "go back", "@88 skip"],  # exercise two done, back to it, skipped
        [*AGREE, "@30 next", "go back", "@45 skip", "next"],  # one ended early, the same
        [*AGREE, "@30 it hurts", "yes", "go back", "@60 skip", "next"],  # one hurt, the same
        [*AGREE, "next", "go back", "@88 stop", "yes"],  # two done, back to it, stopped
    ],
)
def test_the_coachs_record_of_outcomes_agrees_with_the_log(tmp_path, lines):
    # Coach.outcomes kept the last outcome ("skipped", "stopped") where the log kept
    # "done" (or the outcome before the skip).
    with SessionLog(tmp_path / "s.db") as log:
        coach = Coach(ROUTINE)
        TextSession(coach, [].append, SessionRecorder(log, log.start(ROUTINE.id))).run(lines)
        rows = log._db.execute("SELECT idx, outcome FROM exercises").fetchall()
        assert coach.outcomes == dict(rows)
        assert "done" in coach.outcomes.values() or "pain" in coach.outcomes.values()


@pytest.mark.parametrize(
    ("earlier", "later", "kept"),
    [
        (None, "skipped", "skipped"),
        ("done", "skipped", "done"),
        ("done", "pain", "done"),
        ("done", "stopped", "done"),
        ("ended_early", "skipped", "ended_early"),
        ("pain", "skipped", "pain"),
        ("ended_early", "done", "done"),
        ("skipped", "done", "done"),
        ("skipped", "pain", "pain"),
        ("pain", "stopped", "stopped"),
    ],
)
def test_done_stays_done_and_a_skip_replaces_nothing(earlier, later, kept):
    assert kept_outcome(earlier, later) == kept


@pytest.mark.parametrize("earlier", [None, *OUTCOMES])
@pytest.mark.parametrize("later", OUTCOMES)
def test_the_log_keeps_outcomes_by_the_coachs_rule(tmp_path, earlier, later):
    kept = kept_outcome(earlier, later)
    with SessionLog(tmp_path / "s.db") as log:
        sid = log.start("tiny")
        for outcome in (earlier, later):
            if outcome is not None:
                log.exercise(sid, 0, "turn", outcome)
        assert log.sessions()[0].exercises == (("turn", kept),)


def test_next_in_the_rest_after_repetition_one_is_recorded_as_ended_early(tmp_path):
    # With the simulated voice, exercise two relaxes after repetition one from 64.7 s.
    with SessionLog(tmp_path / "s.db") as log:
        status, out = run_text(log, [*AGREE, "next", "@65.6 next", "next"])
        assert status == "completed"
        assert "coach: Repetition two. A little further this time." not in out
        assert dict(log.sessions()[0].exercises) == {
            "turn": "done",
            "press": "ended_early",
            "tilt": "done",
        }


def test_a_session_left_running_by_a_dead_process_reads_as_interrupted(tmp_path):
    path = tmp_path / "s.db"
    with SessionLog(path) as log:
        sid = log.start("tiny")
        log.exercise(sid, 0, "turn", "done")
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    ).stdout.strip()
    db = sqlite3.connect(path)
    db.execute("UPDATE sessions SET pid = ? WHERE id = ?", (int(dead), sid))
    db.commit()
    db.close()
    with SessionLog(path) as log:
        [s] = log.sessions()
        assert s.status == "interrupted" and s.ended is not None
        assert log.resume_point("tiny", IDS).index == 1


def test_a_log_read_only_reads_a_session_of_a_dead_process_as_interrupted(tmp_path):
    # voicecoach history reads the log without writing it: a session cut off reads as
    # interrupted, as in a log opened to write, and the file is left as it was.
    path = tmp_path / "s.db"
    with SessionLog(path) as log:
        sid = log.start("tiny")
        log.exercise(sid, 0, "turn", "done")
    db = sqlite3.connect(path)
    db.execute("UPDATE sessions SET pid = 0 WHERE id = ?", (sid,))
    db.commit()
    db.close()
    data = path.read_bytes()
    with SessionLog(path, read_only=True) as log:
        [s] = log.sessions()
    assert s.status == "interrupted" and s.ended is not None
    assert path.read_bytes() == data and [p.name for p in tmp_path.iterdir()] == ["s.db"]
    with SessionLog(path) as log:
        assert log.sessions() == [s]
    (tmp_path / "empty.db").touch()
    with SessionLog(tmp_path / "empty.db", read_only=True) as log:
        assert log.sessions() == []


def test_a_log_made_before_lengths_were_recorded_is_read_read_only(tmp_path):
    # Opened to write, an older log is given the length column; read only, it is not,
    # and the listing reads its sessions with no length.
    path = tmp_path / "s.db"
    with SessionLog(path) as log:
        log.start("tiny")
    db = sqlite3.connect(path)
    db.execute("ALTER TABLE sessions DROP COLUMN length")
    db.commit()
    db.close()
    with SessionLog(path, read_only=True) as log:
        [s] = log.sessions()
    assert s.routine == "tiny" and s.length is None


def test_a_session_whose_pid_is_now_another_programs_reads_as_interrupted(tmp_path):
    # After a power cut and a reboot the pid of the session cut off soon belongs to
    # another program, alive: the session read as running for good, and no start
    # offered to continue it. Here the other program is a sleep.
    path = tmp_path / "s.db"
    with SessionLog(path) as log:
        sid = log.start("tiny")
        log.exercise(sid, 0, "turn", "done")
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        db = sqlite3.connect(path)
        db.execute("UPDATE sessions SET pid = ? WHERE id = ?", (other.pid, sid))
        db.commit()
        db.close()
        with SessionLog(path) as log:
            [s] = log.sessions()
            assert s.status == "interrupted"
            assert log.resume_point("tiny", IDS).index == 1
    finally:
        other.kill()
        other.wait()


def test_a_session_whose_process_runs_on_is_left_running(tmp_path):
    path = tmp_path / "s.db"
    code = (
        "import sys; from pathlib import Path; from voicecoach.session import SessionLog; "
        "log = SessionLog(Path(sys.argv[1])); log.start('tiny'); print('started', flush=True); "
        "sys.stdin.read()"
    )
    writer = subprocess.Popen(
        [sys.executable, "-c", code, str(path)], stdin=subprocess.PIPE, stdout=subprocess.PIPE
    )
    try:
        assert writer.stdout.readline() == b"started\n"
        with SessionLog(path) as log:
            assert [s.status for s in log.sessions()] == ["running"]
    finally:
        writer.kill()
        writer.wait()


def test_a_log_made_before_sessions_recorded_their_process_is_used(tmp_path):
    path = tmp_path / "s.db"
    db = sqlite3.connect(path)
    db.executescript(
        "CREATE TABLE sessions (id INTEGER PRIMARY KEY AUTOINCREMENT, routine TEXT NOT NULL, "
        "started TEXT NOT NULL, ended TEXT, status TEXT NOT NULL DEFAULT 'running', "
        "pid INTEGER, resumed_from INTEGER);"
        "INSERT INTO sessions (routine, started, ended, status, pid) "
        "VALUES ('tiny', '2026-01-01T10:00:00+00:00', '2026-01-01T10:20:00+00:00', 'completed', 1);"
    )
    db.close()
    with SessionLog(path) as log:
        sid = log.start("tiny")
        log.end(sid, "stopped")
        assert [s.status for s in log.sessions()] == ["stopped", "completed"]


def newer_log(path) -> bytes:
    """A log as a later voicecoach might leave it: a format this one does not know."""
    with SessionLog(path) as log:
        run_text(log, [*AGREE, "next"])
    db = sqlite3.connect(path)
    db.execute("PRAGMA user_version = 7")
    db.execute("CREATE TABLE later_things (x)")
    db.commit()
    db.close()
    return path.read_bytes()


def test_a_log_written_by_a_newer_voicecoach_is_left_as_it_is(tmp_path, caplog):
    # An older voicecoach opened it as its own: it set the format back to its own (1),
    # wrote into a log whose tables it does not know, and said nothing.
    path = tmp_path / "s.db"
    data = newer_log(path)
    for read_only in (False, True):
        with pytest.raises(SessionLogError) as err:
            SessionLog(path, read_only=read_only)
        assert err.value.code == "session-log-too-new" and err.value.exit_code == 8
        assert err.value.message == (
            f"the session log {path} was written by a newer voicecoach (log format 7; "
            "this one knows format 1 and older); it was left as it is. Update voicecoach "
            "to use it."
        )
    # A session runs all the same, not recorded, and the log keeps its sessions.
    recorder, place = start_recording(path, ROUTINE.id, IDS)
    assert recorder is None and place is None
    [warning] = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert warning.endswith("This session is not recorded.") and "Update voicecoach" in warning
    assert path.read_bytes() == data
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.db"]


def test_the_log_uses_wal(tmp_path):
    with SessionLog(tmp_path / "s.db") as log:
        assert log._db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_unwritable_log_gives_an_actionable_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(SessionLogError) as err:
        SessionLog(blocker / "sub" / "s.db")
    assert "XDG_DATA_HOME" in str(err.value)


def test_recorder_logs_commands_with_session_time(tmp_path):
    with SessionLog(tmp_path / "s.db") as log:
        rec = SessionRecorder(log, log.start("tiny"))
        rec.heard(CommandHeard(Intent.HURT, "ouch", 0.8), 12.5)
        rec.close()
        assert log.commands(1) == [(12.5, "hurt", "ouch")]
        assert log.sessions()[0].status == "interrupted"


def test_parse_line():
    assert parse_line("  next  ").text == "next"
    assert parse_line("@12.5 it hurts").at == 12.5
    assert parse_line("@12.5 it hurts").text == "it hurts"
    assert parse_line("# a comment") is None
    assert parse_line("   ") is None


def test_unrecognised_line_is_not_understood_and_the_place_is_kept(tmp_path):
    with SessionLog(tmp_path / "s.db") as log:
        status, out = run_text(log, ["purple", *AGREE, "next", "next"])
        assert "coach: Sorry, I didn't catch that. Please say it again, or say help." in out
        assert status == "completed"


def damaged_log(path, how: str = "page") -> bytes:
    """A real log with sessions in it, then damaged as a disk or a crash would."""
    with SessionLog(path) as log:
        for lines in ([*AGREE, "next"], AGREE, ["no"]):
            run_text(log, lines)
    data = path.read_bytes()
    assert len(data) > 3 * 4096
    # One page overwritten, or the file cut short.
    data = data[:4096] + bytes(range(256)) * 16 + data[8192:] if how == "page" else data[:3000]
    path.write_bytes(data)
    return data


@pytest.mark.parametrize("how", ["page", "truncated"])
def test_a_damaged_log_is_reported_as_damaged_and_left_unchanged(tmp_path, how):
    path = tmp_path / "s.db"
    data = damaged_log(path, how)
    with pytest.raises(SessionLogDamaged) as err:
        SessionLog(path)
    assert "is damaged" in err.value.message and str(path) in err.value.message
    assert "writable" not in err.value.message  # not a folder problem
    assert path.read_bytes() == data
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.db"]


def test_a_session_moves_a_damaged_log_aside_and_starts_a_new_one(tmp_path, caplog):
    path = tmp_path / "s.db"
    data = damaged_log(path)
    recorder, resume = start_recording(path, "tiny", IDS)
    assert recorder is not None and resume is None
    [aside] = [p for p in tmp_path.iterdir() if p.name.startswith("s.db.damaged-")]
    assert aside.read_bytes() == data
    [warning] = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert str(path) in warning and str(aside) in warning and "damaged" in warning
    status = TextSession(Coach(ROUTINE), [].append, recorder).run([*AGREE, "next", "next"])
    recorder.log.close()
    assert status == "completed"
    with SessionLog(path) as log:
        assert [s.status for s in log.sessions()] == ["completed"]


def test_a_log_given_is_refused_only_when_it_is_some_other_file(tmp_path):
    """``--log`` names a file: a log (sound or damaged, as long as it still starts as an
    SQLite database), an empty file or none is used; anything else is refused, unchanged,
    so a damaged log is set aside but a user's notes never are."""
    damaged = tmp_path / "damaged.db"
    damaged_log(damaged)
    cut = tmp_path / "cut.db"
    damaged_log(cut, "truncated")
    sound = tmp_path / "sound.db"
    SessionLog(sound).close()
    empty = tmp_path / "empty.db"
    empty.touch()
    for path in (damaged, cut, sound, empty, tmp_path / "new.db"):
        assert chosen_log(path) == path
    notes = tmp_path / "notes.txt"
    notes.write_text("Physio on Tuesday. Ten minutes of neck exercises a day.\n")
    zeroed = tmp_path / "zeroed.db"  # a log whose first page is gone is not told from any file
    zeroed.write_bytes(bytes(4096) + damaged.read_bytes()[4096:])
    other = tmp_path / "places.sqlite"  # another program's database, in WAL mode
    db = sqlite3.connect(other)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("CREATE TABLE moz_places (url TEXT)")
    db.commit()
    db.close()
    folder = tmp_path / "logs"  # was "unable to open database file ... set XDG_DATA_HOME"
    folder.mkdir()
    before = {p.name: p.is_dir() or p.read_bytes() for p in tmp_path.iterdir()}
    for path, detail in (
        (folder, "it is a folder"),
        (notes, "it is not an SQLite database"),
        (zeroed, "it is not an SQLite database"),
        (other, "it is another program's SQLite database, with moz_places"),
    ):
        with pytest.raises(NotASessionLog) as err:
            chosen_log(path)
        assert err.value.message.startswith(f"{path} is not a session log ({detail}); ")
        assert "Give --log another path" in err.value.message
        assert isinstance(err.value, SessionLogError) and err.value.exit_code == 8
    assert {p.name: p.is_dir() or p.read_bytes() for p in tmp_path.iterdir()} == before


def test_a_log_that_fails_mid_session_does_not_stop_the_session(tmp_path, caplog):
    with SessionLog(tmp_path / "s.db") as log:
        recorder = SessionRecorder(log, log.start("tiny"))
        log._db.execute("PRAGMA query_only = ON")  # from now on every write fails in SQLite
        out: list[str] = []
        status = TextSession(Coach(ROUTINE), out.append, recorder).run([*AGREE, "next", "next"])
        assert status == "completed"
        assert out[-1] == "cue: session_end"
        assert isinstance(recorder.failed, SessionLogError)
        errors = [r.getMessage() for r in caplog.records if r.levelname == "ERROR"]
        assert len(errors) == 1 and "goes on without recording" in errors[0]


def test_a_log_on_a_full_disk_says_to_free_some_space(tmp_path, caplog):
    # It said "...: database or disk is full The session goes on without recording."
    with SessionLog(tmp_path / "s.db") as log:
        recorder = SessionRecorder(log, log.start("tiny"))
        [(pages,)] = log._db.execute("PRAGMA page_count").fetchall()
        log._db.execute(f"PRAGMA max_page_count = {pages}")  # SQLite's own SQLITE_FULL
        heard = CommandHeard(Intent.HELP, "what can I say " * 400, 1.0)
        recorder.heard(heard, 1.0)
        assert isinstance(recorder.failed, SessionLogError)
        [error] = [r.getMessage() for r in caplog.records if r.levelname == "ERROR"]
        assert error == (
            f"cannot write the session log {tmp_path / 's.db'}: database or disk is full. "
            "Free some space on its disk, or set XDG_DATA_HOME to a folder on another disk. "
            "The session goes on without recording."
        )


def test_damage_is_told_from_the_message_where_errors_carry_no_result_code() -> None:
    # Python 3.10's sqlite3 errors have no sqlite_errorcode (nor the SQLITE_* names):
    # there SQLite's words for a damaged file decide. (Checked by hand under 3.10.13: a
    # log with a page of random bytes is reported damaged.)
    from voicecoach.session import _is_damage

    plain = sqlite3.DatabaseError("database disk image is malformed")
    assert getattr(plain, "sqlite_errorcode", None) is None  # made here, as on 3.10
    assert _is_damage(plain)
    assert _is_damage(sqlite3.DatabaseError("file is not a database"))
    assert not _is_damage(sqlite3.OperationalError("unable to open database file"))


class Wall:
    """A wall clock a test sets (local time)."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def test_the_pain_reported_today_is_counted_over_sessions_and_forgotten_at_midnight(tmp_path):
    wall = Wall(datetime(2026, 11, 28, 23, 50))
    with SessionLog(tmp_path / "s.db", wall=wall) as log:
        late = log.start("tiny")
        log.pain(late, "turn", 1)  # the evening before
        wall.now = datetime(2026, 11, 29, 0, 10)
        assert log.pain_reports_today() == 0  # midnight forgot it
        morning = log.start("tiny")
        log.pain(morning, None, 0)
        wall.now = datetime(2026, 11, 29, 18, 0)
        evening = log.start("tiny")
        assert log.pain_reports_today() == 1
        log.pain(evening, "press", 2)
        assert log.pain_reports_today() == 2
        assert log.pain_reports_today(besides=evening) == 1  # the others' only
        recorder = SessionRecorder(log, log.start("tiny"))
        assert recorder.pain_earlier_today() == 2


def test_a_session_is_told_of_the_pain_reported_earlier_today(tmp_path):
    path = tmp_path / "s.db"
    coach, recorder = start_coaching(path, ROUTINE)
    assert coach.pain_today == 0 and recorder is not None
    status = TextSession(coach, [].append, recorder).run([*AGREE, "@32.6 ouch", "yes"])
    recorder.log.close()
    assert status == "interrupted"
    # The next session: one earlier report, so its first one ends it.
    coach, recorder = start_coaching(path, ROUTINE)
    assert coach.pain_today == 1 and recorder is not None
    out: list[str] = []
    status = TextSession(coach, out.append, recorder).run([*AGREE, "@32.6 it hurts"])
    recorder.log.close()
    assert status == "ended_for_pain"
    assert out.index("coach: " + script.PAIN_EARLIER) < out.index(
        "coach: " + script.CONSENT_QUESTION
    )
    assert out[-2] == "coach: " + script.PAIN_END
