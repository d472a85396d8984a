"""The session log and the runtime helpers shared by the text session and the live loop.

The log is SQLite in WAL mode. Every write is committed at once, so a killed process
loses at most the exercise in progress, and the next start can offer to resume.

The log never stops a coaching session: :func:`start_recording` moves a damaged file
aside and starts a new log, or runs without one, and the recorder carries on without
recording when a write fails mid-session.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from . import paths
from .dialogue import Coach
from .errors import NotASessionLog, SessionLogDamaged, SessionLogError, SessionLogTooNew
from .events import (
    Action,
    CancelTimer,
    CommandHeard,
    ExerciseOutcome,
    PainReported,
    SessionEnded,
    StartTimer,
    kept_outcome,
)
from .processes import process_identity, still_running
from .routines.model import Routine

log = logging.getLogger(__name__)

NOT_BEGUN = "not_begun"
"""The status of a live session stopped (Ctrl-C, SIGTERM) while the coach still waited
for a microphone, before it began: logged with no length and no exercise."""

LOG_FORMAT = 1
"""The session log's format, its SQLite ``user_version``: raised when a change to the
tables would mislead an older voicecoach, which then leaves the log alone."""

_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS sessions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    routine TEXT NOT NULL,
    started TEXT NOT NULL,
    ended TEXT,
    status TEXT NOT NULL DEFAULT 'running',
    pid INTEGER,
    resumed_from INTEGER,
    process TEXT,
    length REAL
);
CREATE TABLE IF NOT EXISTS exercises (
    session_id INTEGER NOT NULL REFERENCES sessions(id),
    idx INTEGER NOT NULL,
    exercise_id TEXT NOT NULL,
    outcome TEXT NOT NULL,
    at TEXT NOT NULL,
    PRIMARY KEY (session_id, idx)
);
CREATE TABLE IF NOT EXISTS pain_reports (
    session_id INTEGER NOT NULL REFERENCES sessions(id),
    exercise_id TEXT,
    repetition INTEGER NOT NULL,
    at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS commands (
    session_id INTEGER NOT NULL REFERENCES sessions(id),
    at TEXT NOT NULL,
    session_time REAL NOT NULL,
    intent TEXT NOT NULL,
    text TEXT NOT NULL,
    confidence REAL NOT NULL
);
PRAGMA user_version = {LOG_FORMAT};
"""


# SQLite's result codes for a file that is damaged rather than out of reach (named in
# Python's sqlite3 from 3.11; the numbers are SQLite's own).
_DAMAGE_CODES = frozenset(
    {getattr(sqlite3, "SQLITE_CORRUPT", 11), getattr(sqlite3, "SQLITE_NOTADB", 26)}
)
# What SQLite says for them, for Python 3.10, whose errors carry no result code.
_DAMAGE_WORDS = ("malformed", "not a database")


def _is_damage(err: sqlite3.Error) -> bool:
    code = getattr(err, "sqlite_errorcode", None)
    if code is not None:
        return code in _DAMAGE_CODES
    return any(words in str(err) for words in _DAMAGE_WORDS)


def _is_full(err: sqlite3.Error) -> bool:
    """Whether SQLite found its disk full (SQLITE_FULL, 13, in the low byte of the code)."""
    code = getattr(err, "sqlite_errorcode", None)
    if code is not None:
        return code & 0xFF == getattr(sqlite3, "SQLITE_FULL", 13)
    return "is full" in str(err)


_FULL_ADVICE = "Free some space on its disk, or set XDG_DATA_HOME to a folder on another disk."


@contextlib.contextmanager
def _read_only(path: Path) -> Iterator[sqlite3.Connection]:
    """A read-only connection to an existing database file, which can neither write to
    it nor checkpoint a write-ahead log into it on closing; the empty journal files it
    made are removed after, so the file is left as it was found.

    Where SQLite cannot make those journal files (a folder the user cannot write, a
    read-only disk) and there is no write-ahead log to read, the file is read as it
    is, as SQLite's ``immutable`` file: it holds the whole log."""
    sidecars = [path.with_name(path.name + suffix) for suffix in ("-wal", "-shm")]
    had = [side for side in sidecars if side.exists()]
    uri = path.resolve().as_uri()
    try:
        db = sqlite3.connect(uri + "?mode=ro", uri=True)
        try:
            db.execute("SELECT 1 FROM sqlite_master LIMIT 1")  # SQLite opens the file here
        except sqlite3.OperationalError:
            db.close()
            if _holds_journal(sidecars[0]):
                raise
            db = sqlite3.connect(uri + "?mode=ro&immutable=1", uri=True)
        except sqlite3.Error:
            db.close()
            raise
        with contextlib.closing(db):
            yield db
    finally:
        for side in sidecars:
            if side not in had:
                with contextlib.suppress(OSError):
                    side.unlink()


def _holds_journal(wal: Path) -> bool:
    """Whether a write-ahead log file holds anything (written, not yet checkpointed)."""
    try:
        return wal.stat().st_size > 0
    except OSError:
        return False


def _damage(path: Path) -> str | None:
    """What is wrong with an existing log file, found without changing it; None if sound."""
    try:
        if str(path) == ":memory:" or not path.is_file() or path.stat().st_size == 0:
            return None
        with _read_only(path) as db:
            rows = db.execute("PRAGMA quick_check").fetchall()
        return "; ".join(str(row[0]) for row in rows[:3] if row[0] != "ok") or None
    except sqlite3.Error as err:
        return str(err) if _is_damage(err) else None  # opening it for real says the rest
    except OSError:
        return None  # opening it for real says what is wrong


SQLITE_HEADER = b"SQLite format 3\x00"
"""The first 16 bytes of every SQLite database file."""


def _not_a_log(path: Path) -> str | None:
    """Why the existing file ``path`` is not a session log and never was one, or None.

    A file that starts as an SQLite database does is (or was) a log, damaged or not,
    unless its tables can be read and are another program's. An empty file, or none,
    can become one; a folder cannot. Found without changing the file."""
    try:
        if path.is_dir():
            return "it is a folder"
        if not path.is_file() or path.stat().st_size == 0:
            return None
        with path.open("rb") as f:
            header = f.read(len(SQLITE_HEADER))
    except OSError:
        return None  # opening it for real says what is wrong
    if header != SQLITE_HEADER:
        return "it is not an SQLite database"
    try:
        with _read_only(path) as db:
            tables = [row[0] for row in db.execute("SELECT name FROM sqlite_master")]
            columns = {row[1] for row in db.execute("PRAGMA table_info(sessions)")}
    except (OSError, sqlite3.Error):
        return None  # damaged: a log, to be set aside
    if tables and not {"routine", "started", "status"} <= columns:
        shown = ", ".join(tables[:5]) + (", ..." if len(tables) > 5 else "")
        return f"it is another program's SQLite database, with {shown}"
    return None


def chosen_log(path: Path | None) -> Path:
    """The session log a command uses: ``path`` if one was given (``--log``), else the
    default (:func:`~voicecoach.paths.session_log_path`).

    A file given that is something else (a user's notes, another program's database)
    raises :class:`NotASessionLog` and is left as it is: only a log is set aside when
    it is damaged (:func:`open_for_session`). Whatever is at the default path, in
    voicecoach's own folder, is taken as a log.
    """
    if path is None:
        return paths.session_log_path()
    if str(path) != ":memory:":
        detail = _not_a_log(path)
        if detail is not None:
            raise NotASessionLog(path, detail)
    return path


@dataclass(frozen=True)
class SessionSummary:
    """One session as ``voicecoach history`` shows it."""

    id: int
    routine: str
    started: str
    ended: str | None
    status: str
    exercises: tuple[tuple[str, str], ...]
    """(exercise id, outcome) in routine order."""
    pain_reports: int
    length: float | None = None
    """Seconds from its start to its end (or, cut off, to the last thing it recorded),
    on the monotonic clock; ``None`` when unknown (logged before lengths were)."""

    def to_json(self) -> dict[str, object]:
        """The ``history --json`` object."""
        return {
            "id": self.id,
            "routine": self.routine,
            "started": self.started,
            "ended": self.ended,
            "status": self.status,
            "exercises": [{"id": ex, "outcome": out} for ex, out in self.exercises],
            "pain_reports": self.pain_reports,
            "length": self.length,
        }


@dataclass(frozen=True)
class SavedPlace:
    """Where the last session of a routine stopped, found in the routine as it is now."""

    index: int | None
    """The exercise (0-based) to offer to continue from; ``None`` when the place is
    lost: no exercise that session did is in the routine any more."""
    exercise_id: str
    """The exercise that session got to, by id (as the log recorded it)."""

    @property
    def lost(self) -> bool:
        """Whether the place cannot be found in the routine (the user is told)."""
        return self.index is None


class SessionLog:
    """The SQLite session log (one file, many sessions)."""

    def __init__(
        self,
        path: Path,
        wall: Callable[[], datetime] = datetime.now,
        clock: Callable[[], float] = time.monotonic,
        *,
        read_only: bool = False,
    ) -> None:
        """Open (or create) the log at ``path``; ``wall`` gives the date and time
        recorded, ``clock`` the seconds a session's length is counted in (a test passes
        them on its virtual clock).

        The wall clock of a machine with no battery-backed clock and no network (a
        Raspberry Pi offline) is wrong after a power cut and jumps when it is set, so
        lengths are never taken from it: a session's length is ``clock`` time.

        ``read_only`` opens an existing log only to read it (``voicecoach history``):
        nothing is written to it, so a log the user cannot write (a file of mode 0444,
        a folder or a disk mounted read-only) is read all the same, and left as it was.
        Sessions left running by a process that is gone read as interrupted
        (:meth:`sessions`), as when they are marked so, without being marked.

        Raises :class:`SessionLogDamaged` for a damaged file, which is left unchanged,
        and :class:`SessionLogError` for a log that cannot be opened or written.
        """
        self.path = path
        self.wall = wall
        self.clock = clock
        self._origin: dict[int, float] = {}  # session id -> clock time it began
        self.read_only = read_only
        self._stale: dict[int, str | None] = {}
        """Sessions found interrupted, with their end, that a read-only log did not mark."""
        self._closing = contextlib.ExitStack()
        damage = _damage(path)
        if damage is not None:
            raise SessionLogDamaged(path, damage)
        if read_only:
            self._open_to_read()
            return
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(str(path), timeout=10, isolation_level=None)
        except (OSError, sqlite3.Error) as err:
            raise self._open_error(err) from err
        try:
            self._check_format()  # before anything is written
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(_SCHEMA)
            self._add_columns()
            self._mark_stale()
        except sqlite3.Error as err:
            self._db.close()
            raise self._open_error(err) from err
        except SessionLogError:
            self._db.close()
            raise

    def _open_to_read(self) -> None:
        try:
            self._db = self._closing.enter_context(_read_only(self.path))
        except (OSError, sqlite3.Error) as err:
            raise self._error("read", err) from err
        try:
            self._check_format()
            self._mark_stale()
        except SessionLogError:
            self.close()
            raise

    def _check_format(self) -> None:
        """Raise :class:`SessionLogTooNew` for a log a newer voicecoach wrote."""
        [(found,)] = self._read("PRAGMA user_version")
        if found > LOG_FORMAT:
            raise SessionLogTooNew(self.path, found, LOG_FORMAT)

    def _open_error(self, err: OSError | sqlite3.Error) -> SessionLogError:
        if isinstance(err, sqlite3.Error) and _is_damage(err):
            return SessionLogDamaged(self.path, str(err))
        advice = (
            _FULL_ADVICE
            if isinstance(err, sqlite3.Error) and _is_full(err)
            else "Check that the folder is writable, or set XDG_DATA_HOME to a writable folder."
        )
        return SessionLogError(f"cannot open the session log {self.path}: {err}. {advice}")

    def _error(self, doing: str, err: OSError | sqlite3.Error) -> SessionLogError:
        if isinstance(err, sqlite3.Error) and _is_damage(err):
            return SessionLogDamaged(self.path, str(err))
        advice = f" {_FULL_ADVICE}" if isinstance(err, sqlite3.Error) and _is_full(err) else ""
        return SessionLogError(f"cannot {doing} the session log {self.path}: {err}.{advice}")

    def _now(self) -> str:
        return self.wall().astimezone().isoformat(timespec="seconds")

    def close(self) -> None:
        """Close the database."""
        self._db.close()
        self._closing.close()

    def __enter__(self) -> SessionLog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _write(self, sql: str, args: tuple[object, ...]) -> sqlite3.Cursor:
        try:
            return self._db.execute(sql, args)
        except sqlite3.Error as err:
            raise self._error("write", err) from err

    def _read(self, sql: str, args: tuple[object, ...] = ()) -> list[tuple[Any, ...]]:
        try:
            return self._db.execute(sql, args).fetchall()
        except sqlite3.Error as err:
            raise self._error("read", err) from err

    def _add_columns(self) -> None:
        """Give a log made before sessions recorded their process and their length the
        columns for them."""
        have = {row[1] for row in self._read("PRAGMA table_info(sessions)")}
        for column, kind in (("process", "TEXT"), ("length", "REAL")):
            if column in have:
                continue
            try:
                self._db.execute(f"ALTER TABLE sessions ADD COLUMN {column} {kind}")
            except sqlite3.OperationalError as err:
                if "duplicate column" not in str(err):  # else another process added it now
                    raise

    def _mark_stale(self) -> None:
        """Sessions left 'running' by a process that no longer runs were interrupted.

        A read-only log notes them in :attr:`_stale` instead; it may be one made before
        sessions recorded their process, or an empty file, not given its tables."""
        columns = {row[1] for row in self._read("PRAGMA table_info(sessions)")}
        if not columns:
            return
        known = "process" if "process" in columns else "NULL"
        rows = self._read(f"SELECT id, pid, {known} FROM sessions WHERE status = 'running'")
        for session_id, pid, process in rows:
            if not still_running(pid, process) or pid == os.getpid():
                [(last,)] = self._read(
                    "SELECT MAX(at) FROM (SELECT at FROM exercises WHERE session_id = ?1 "
                    "UNION ALL SELECT at FROM commands WHERE session_id = ?1)",
                    (session_id,),
                )
                if self.read_only:
                    self._stale[session_id] = last
                    continue
                self._write(
                    "UPDATE sessions SET status = 'interrupted', ended = ? WHERE id = ?",
                    (last, session_id),
                )
                log.info("session %d was interrupted (its process is gone)", session_id)

    # ----------------------------------------------------------------- writes

    def start(self, routine_id: str, resumed_from: int | None = None) -> int:
        """Open a new session and return its id."""
        cur = self._write(
            "INSERT INTO sessions (routine, started, pid, process, resumed_from) "
            "VALUES (?, ?, ?, ?, ?)",
            (routine_id, self._now(), os.getpid(), process_identity(), resumed_from),
        )
        assert cur.lastrowid is not None
        self._origin[cur.lastrowid] = self.clock()
        return cur.lastrowid

    def began(self, session_id: int) -> None:
        """Record that the session began now, if it was opened earlier (the coach waited
        for a microphone): its start time and length leave the wait out."""
        self._write("UPDATE sessions SET started = ? WHERE id = ?", (self._now(), session_id))
        self._origin[session_id] = self.clock()

    def _length(self, session_id: int) -> float | None:
        """Seconds since the session began, or None for one this log did not start."""
        origin = self._origin.get(session_id)
        return None if origin is None else round(self.clock() - origin, 3)

    def _lasted(self, session_id: int) -> None:
        """Record the session's length so far, so one cut off has the length to its
        last record."""
        length = self._length(session_id)
        if length is not None:
            self._write("UPDATE sessions SET length = ? WHERE id = ?", (length, session_id))

    def exercise(self, session_id: int, index: int, exercise_id: str, outcome: str) -> None:
        """Record an exercise's outcome; a later one replaces an earlier one of the session.

        Except: an exercise once ``done`` stays done, and ``skipped`` replaces nothing
        (going back to an exercise and skipping it undoes nothing that was done). The
        rule is :func:`~.events.kept_outcome`, the coach's too.
        """
        rows = self._read(
            "SELECT outcome FROM exercises WHERE session_id = ? AND idx = ?", (session_id, index)
        )
        earlier = rows[0][0] if rows else None
        kept = kept_outcome(earlier, outcome)
        if kept == earlier:
            return
        # One process writes a session, so nothing comes between the read and the write.
        self._write(
            "INSERT OR REPLACE INTO exercises VALUES (?, ?, ?, ?, ?)",
            (session_id, index, exercise_id, kept, self._now()),
        )
        self._lasted(session_id)

    def pain(self, session_id: int, exercise_id: str | None, repetition: int) -> None:
        """Record a pain report."""
        self._write(
            "INSERT INTO pain_reports VALUES (?, ?, ?, ?)",
            (session_id, exercise_id, repetition, self._now()),
        )
        self._lasted(session_id)

    def command(self, session_id: int, event: CommandHeard, session_time: float) -> None:
        """Record a command heard."""
        self._write(
            "INSERT INTO commands VALUES (?, ?, ?, ?, ?, ?)",
            (
                session_id,
                self._now(),
                session_time,
                event.intent.value,
                event.text,
                event.confidence,
            ),
        )
        self._lasted(session_id)

    def end(self, session_id: int, status: str) -> None:
        """Close a session with its final status. One that never began
        (:data:`NOT_BEGUN`) ends when it started: it has no length."""
        if status == NOT_BEGUN:
            self._write(
                "UPDATE sessions SET status = ?, ended = started, length = NULL WHERE id = ?",
                (status, session_id),
            )
            return
        self._write(
            "UPDATE sessions SET status = ?, ended = ?, length = COALESCE(?, length) WHERE id = ?",
            (status, self._now(), self._length(session_id), session_id),
        )

    # ------------------------------------------------------------------ reads

    def sessions(self, limit: int | None = None) -> list[SessionSummary]:
        """Recent sessions, newest first."""
        columns = {row[1] for row in self._read("PRAGMA table_info(sessions)")}
        if not columns:
            return []  # an empty file read only, which only a writer gives its tables
        # A log made before sessions recorded their length, read only, lacks its column.
        lengths = "length" if "length" in columns else "NULL"
        sql = f"SELECT id, routine, started, ended, status, {lengths} FROM sessions"
        sql += " ORDER BY id DESC"
        rows = self._read(sql + (f" LIMIT {int(limit)}" if limit else ""))
        return [
            self._summary(sid, routine, started, self._stale[sid], "interrupted", length)
            if sid in self._stale
            else self._summary(sid, routine, started, ended, status, length)
            for sid, routine, started, ended, status, length in rows
        ]

    def _summary(
        self,
        sid: int,
        routine: str,
        started: str,
        ended: str | None,
        status: str,
        length: float | None,
    ) -> SessionSummary:
        exercises = self._read(
            "SELECT exercise_id, outcome FROM exercises WHERE session_id = ? ORDER BY idx",
            (sid,),
        )
        [(pains,)] = self._read("SELECT COUNT(*) FROM pain_reports WHERE session_id = ?", (sid,))
        return SessionSummary(sid, routine, started, ended, status, tuple(exercises), pains, length)

    def pain_reports_today(self, besides: int | None = None) -> int:
        """The pain reports logged today, the local calendar day of ``wall``, in every
        session but ``besides``: a pain report is remembered for the rest of the day,
        and forgotten at midnight. A report's day is the date it was logged with (the
        local time then), so a change to summer time does not move it to another day."""
        today = self.wall().astimezone().date().isoformat()
        [(count,)] = self._read(
            "SELECT COUNT(*) FROM pain_reports WHERE substr(at, 1, 10) = ? AND session_id IS NOT ?",
            (today, besides),
        )
        return int(count)

    def commands(self, session_id: int) -> list[tuple[float, str, str]]:
        """(session time, intent, text) of the commands heard in a session."""
        return self._read(
            "SELECT session_time, intent, text FROM commands WHERE session_id = ? ORDER BY rowid",
            (session_id,),
        )

    def resume_point(self, routine_id: str, exercise_ids: Sequence[str]) -> SavedPlace | None:
        """Where the last session of ``routine_id`` stopped, if it should be offered,
        found in the routine as it is now (``exercise_ids``, in order).

        The newest session that recorded an exercise outcome decides; sessions that
        recorded none (declined, or ended before an exercise was over, such as a boot
        of the Pi with nobody there) are passed over, so they keep the saved place.
        When that session was stopped or interrupted part way, the place is the
        exercise after the last one it got to, or the exercise it was stopped in; else
        there is nothing to offer (``None``).

        The place is found by the exercise's id, not its number, so a routine edited
        since (an exercise added, moved or taken out) is continued at the right one.
        If the exercise the session got to is no longer in the routine, the place is
        taken from the furthest one it recorded that still is; if none is, the place
        is lost (:attr:`SavedPlace.lost`).
        """
        rows = self._read(
            "SELECT id, status FROM sessions WHERE routine = ? AND status != 'running' "
            "AND EXISTS (SELECT 1 FROM exercises WHERE session_id = sessions.id) "
            "ORDER BY id DESC LIMIT 1",
            (routine_id,),
        )
        if not rows or rows[0][1] not in ("stopped", "interrupted"):
            return None
        # Furthest first: an exercise stopped in is the place itself, any other outcome
        # puts the place after it (its number is the routine's as that session ran).
        recorded = self._read(
            "SELECT exercise_id, outcome = 'stopped' FROM exercises WHERE session_id = ? "
            "ORDER BY (CASE outcome WHEN 'stopped' THEN idx ELSE idx + 1 END) DESC, "
            "outcome = 'stopped' DESC",
            (rows[0][0],),
        )
        position = {ex_id: i for i, ex_id in enumerate(exercise_ids)}
        reached = recorded[0][0]
        for ex_id, here in recorded:
            if ex_id not in position:
                continue
            index = position[ex_id] + (0 if here else 1)
            if ex_id != reached:
                log.info(
                    "the exercise %r the last session of %s got to is not in the routine "
                    "any more; continuing after %r, the furthest one it did that still is",
                    reached,
                    routine_id,
                    ex_id,
                )
            if index >= len(exercise_ids):
                return None
            return SavedPlace(index, reached)
        log.warning(
            "cannot find where the last session of %s stopped: exercise %r, and every "
            "other one it did, is no longer in the routine (edited since); the session "
            "starts from the first exercise",
            routine_id,
            reached,
        )
        return SavedPlace(None, reached)


def set_aside(path: Path) -> Path:
    """Rename a damaged log to ``<name>.damaged-<time>``, unchanged; return the new path.

    SQLite's ``-wal`` and ``-shm`` files go with it (renamed the same way), so the
    damaged log stays whole and a new log at ``path`` cannot pick up its journal.
    """
    stamp = datetime.now().strftime("%Y%m%dT%H%M%S")
    target = path.with_name(f"{path.name}.damaged-{stamp}")
    n = 1
    while target.exists():
        target = path.with_name(f"{path.name}.damaged-{stamp}-{n}")
        n += 1
    for suffix in ("-wal", "-shm"):
        side = path.with_name(path.name + suffix)
        if side.exists():
            side.rename(target.with_name(target.name + suffix))
    path.rename(target)
    return target


def open_for_session(path: Path) -> SessionLog | None:
    """Open the log for a coaching session, which the log must never stop.

    A damaged log is moved aside (:func:`set_aside`) and a new one started in its
    place; a log that cannot be used at all gives ``None`` (the session is not
    recorded). Either way a warning says what happened, naming the files.
    """
    try:
        return SessionLog(path)
    except SessionLogDamaged as err:
        try:
            aside = set_aside(path)
        except OSError as move:
            log.warning(
                "the session log %s is damaged (%s) and could not be moved aside (%s); "
                "this session is not recorded",
                path,
                err.detail,
                move,
            )
            return None
        log.warning(
            "the session log %s is damaged (%s); it was moved aside unchanged to %s, "
            "and a new log is started (the place to continue from is lost)",
            path,
            err.detail,
            aside,
        )
    except SessionLogError as err:
        log.warning("%s This session is not recorded.", err.message)
        return None
    try:
        return SessionLog(path)
    except SessionLogError as err:
        log.warning("%s This session is not recorded.", err.message)
        return None


def start_recording(
    path: Path, routine_id: str, exercise_ids: Sequence[str], offer_resume: bool = True
) -> tuple[SessionRecorder | None, SavedPlace | None]:
    """Open the log (:func:`open_for_session`) and start a session in it.

    Returns the recorder (``None`` when the log cannot be used) and the place to offer
    to continue from (:meth:`SessionLog.resume_point`, found by ``exercise_ids``, the
    routine's exercises in order). The caller closes ``recorder.log``.
    """
    db = open_for_session(path)
    if db is None:
        return None, None
    try:
        place = db.resume_point(routine_id, exercise_ids) if offer_resume else None
        index = place.index if place is not None else None
        return SessionRecorder(db, db.start(routine_id, index)), place
    except SessionLogError as err:
        db.close()
        log.warning("%s This session is not recorded.", err.message)
        return None, None


def start_coaching(
    path: Path, routine: Routine, offer_resume: bool = True
) -> tuple[Coach, SessionRecorder | None]:
    """A new session of ``routine`` in the log at ``path`` (:func:`start_recording`):
    its coach, offered to continue where the last session stopped and told of the pain
    reported earlier today, and its recorder (``None`` when the log cannot be used; the
    caller closes ``recorder.log``). ``voicecoach text`` and ``voicecoach run`` both
    begin their sessions here, so they coach alike."""
    recorder, place = start_recording(
        path, routine.id, [ex.id for ex in routine.exercises], offer_resume
    )
    coach = Coach(
        routine,
        resume_from=place.index if place is not None else None,
        place_lost=place is not None and place.lost,
        pain_today=recorder.pain_earlier_today() if recorder is not None else 0,
    )
    return coach, recorder


class SessionRecorder:
    """Writes what a session does into the log, from the coach's actions and the commands.

    A write that fails is logged once, and the session goes on without recording.
    """

    def __init__(self, log_: SessionLog, session_id: int) -> None:
        self.log = log_
        self.session_id = session_id
        self.status: str | None = None
        self.failed: SessionLogError | None = None
        """The error that stopped the recording, if one did."""

    def _record(self, write: Callable[[], object]) -> None:
        if self.failed is not None:
            return
        try:
            write()
        except SessionLogError as err:
            self.failed = err
            log.error("%s The session goes on without recording.", err.message)

    def began(self) -> None:
        """Log that the session began now (:meth:`SessionLog.began`)."""
        self._record(lambda: self.log.began(self.session_id))

    def heard(self, event: CommandHeard, session_time: float) -> None:
        """Log a command the user gave."""
        self._record(lambda: self.log.command(self.session_id, event, session_time))

    def apply(self, action: Action) -> None:
        """Log the record actions (outcomes, pain, end); ignore the rest."""
        if isinstance(action, ExerciseOutcome):
            self._record(
                lambda: self.log.exercise(
                    self.session_id, action.index, action.exercise_id, action.outcome
                )
            )
        elif isinstance(action, PainReported):
            self._record(
                lambda: self.log.pain(self.session_id, action.exercise_id, action.repetition)
            )
        elif isinstance(action, SessionEnded):
            self.status = action.status
            self._record(lambda: self.log.end(self.session_id, action.status))

    def pain_earlier_today(self) -> int:
        """The pain reports other sessions logged today (:meth:`SessionLog.pain_reports_today`);
        0 when the log cannot be read: the session goes on, as it does unrecorded."""
        if self.failed is not None:
            return 0
        try:
            return self.log.pain_reports_today(besides=self.session_id)
        except SessionLogError as err:
            log.error("%s The pain reported earlier today is not known.", err.message)
            return 0

    def close(self, default_status: str = "interrupted") -> None:
        """End the session with ``default_status`` if the coach never ended it."""
        if self.status is None:
            self.status = default_status
            self._record(lambda: self.log.end(self.session_id, default_status))


class TimerTable:
    """The coach's pending timers, by name; the runtime sends a Tick when one is due."""

    def __init__(self) -> None:
        self._at: dict[str, float] = {}

    def apply(self, action: Action) -> None:
        """Track StartTimer / CancelTimer actions."""
        if isinstance(action, StartTimer):
            self._at[action.name] = action.at
        elif isinstance(action, CancelTimer):
            self._at.pop(action.name, None)

    def next_due(self) -> float | None:
        """The earliest deadline, or ``None`` when no timer is pending."""
        return min(self._at.values(), default=None)

    def pop_due(self, now: float) -> bool:
        """Forget the timers due at ``now``; True if there were any (send a Tick)."""
        due = [name for name, at in self._at.items() if at <= now]
        for name in due:
            del self._at[name]
        return bool(due)

    def __iter__(self) -> Iterator[tuple[str, float]]:
        return iter(sorted(self._at.items(), key=lambda item: item[1]))
