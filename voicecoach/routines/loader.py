"""Loading and validating routine files (TOML, see ``docs/routine-format.md``).

Every problem in a file is collected, not just the first, and each names the file,
the key path and a fix. Built-in routines ship in the package; a user folder adds
routines or overrides a built-in by id, and a broken user file never stops the
built-ins from loading.
"""

from __future__ import annotations

import codecs
import difflib
import logging
import math
import re
import sys
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from .. import paths
from ..errors import RoutineError
from .model import Advance, Breathing, Exercise, Routine

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

log = logging.getLogger(__name__)

FORMAT_VERSION = 1
MAX_HOLD = 120
MAX_RELAX = 120
MAX_REPETITIONS = 50
MAX_BREATH = 20
MAX_BREATH_HOLD = 20
TEMPO_RANGE = (0.5, 10.0)
_SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a routine file."""

    file: str
    key_path: str
    message: str
    fix: str

    def __str__(self) -> str:
        return f"{self.file}: {self.key_path}: {self.message} Fix: {self.fix}"


# ----------------------------------------------------------------- the schema
# Each field: (kind, required, check). Kinds: "text", "texts", "int", "number",
# "bool", "slug", "choice", "table". Limits are checked in _check_number.

_TOP = {
    "format": ("int", True),
    "id": ("slug", True),
    "title": ("text", True),
    "intro": ("text", True),
    "preparation": ("texts", True),
    "safety": ("text", True),
    "exercise": ("exercises", True),
}
_EXERCISE = {
    "id": ("slug", True),
    "title": ("text", True),
    "position": ("text", True),
    "steps": ("texts", True),
    "repetitions": ("int", True),
    "cues": ("cues", False),
    "hold_seconds": ("int", False),
    "hold_breath": ("bool", False),
    "relax_seconds": ("int", False),
    "breathing": ("breathing", False),
    "tempo": ("number", False),
    "advance": ("advance", False),
    "progression": ("text", False),
    "after": ("text", False),
}
_BREATHING = {"inhale": ("int", True), "exhale": ("int", True), "when": ("when", False)}
_CUE = {"say": ("text", True), "neutral": ("bool", False)}

_LIMITS: dict[str, tuple[float, float, str]] = {
    "repetitions": (1, MAX_REPETITIONS, "repetitions"),
    "hold_seconds": (0, MAX_HOLD, "seconds"),
    "relax_seconds": (0, MAX_RELAX, "seconds"),
    "inhale": (1, MAX_BREATH, "seconds"),
    "exhale": (1, MAX_BREATH, "seconds"),
    "tempo": (TEMPO_RANGE[0], TEMPO_RANGE[1], "seconds per beat"),
}

_TYPE_NAMES = {
    "text": "a text in quotes",
    "texts": 'a list of texts, like ["one", "two"]',
    "cues": 'a list of texts, like ["one", "two"], where an item may be a table like '
    '{ say = "one", neutral = true }',
    "int": "a whole number",
    "number": "a number",
    "bool": "true or false",
    "slug": "an id in quotes",
    "exercises": "[[exercise]] tables",
    "breathing": "a table like { inhale = 3, exhale = 4 }",
    "advance": '"wait" or "auto"',
    "when": '"before" or "after"',
}


# Other words for a key, as people write them.
_ALIASES = {
    "reps": "repetitions",
    "repeat": "repetitions",
    "repeats": "repetitions",
    "times": "repetitions",
    "count": "repetitions",
    "rest": "relax_seconds",
    "rest_seconds": "relax_seconds",
    "name": "title",
    "pace": "tempo",
    "speed": "tempo",
}


def _meant(key: str, known: list[str]) -> list[str]:
    """The known keys an unknown ``key`` may have meant, quoted; none if no key is
    near. Past a slip of the keyboard, a key written short ("hold", "relax_time")
    means the keys that begin with its first word, whatever it adds: the nearest
    spelling ("hold_time" is nearest to "hold_breath") would point at the wrong one,
    and "Remove it." would lose a hold."""
    found = difflib.get_close_matches(key, known, n=1, cutoff=0.8)  # a slip: "netural"
    if not found:
        word = key.split("_")[0]
        found = [k for k in known if k.split("_")[0] == word]
    if not found and _ALIASES.get(key) in known:
        found = [_ALIASES[key]]
    if not found:
        found = difflib.get_close_matches(key, known, n=1)
    return [f'"{k}"' for k in found]


class _Checker:
    """Collects problems while reading one parsed file."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.problems: list[Problem] = []

    def add(self, key: str, message: str, fix: str) -> None:
        self.problems.append(Problem(self.file, key, message, fix))

    def table(
        self,
        data: Any,
        schema: dict[str, tuple[str, bool]],
        where: str,
        fix: str = "Write it as a TOML table.",
    ) -> dict[str, Any] | None:
        """Check the keys of a table; return the values that have the right type.

        ``fix``: what to do when ``data`` is not a table at all."""
        prefix = f"{where}." if where else ""
        if not isinstance(data, dict):
            self.add(where or "(file)", "is not a table.", fix)
            return None
        out: dict[str, Any] = {}
        for key in data:
            if key not in schema:
                meant = _meant(key, list(schema))
                hint = f"Did you mean {' or '.join(meant)}?" if meant else "Remove it."
                known = ", ".join(schema)
                self.add(
                    prefix + key,
                    "is not a known key.",
                    f"{hint} Known keys here: {known}.",
                )
        for key, (kind, required) in schema.items():
            path = prefix + key
            if key not in data:
                if required:
                    self.add(path, "is missing.", _add(kind, key))
                continue
            value = self.value(data[key], kind, path, key, required)
            if value is not None:
                out[key] = value
        return out

    def value(self, value: Any, kind: str, path: str, key: str, required: bool = True) -> Any:
        wrong = f"should be {_TYPE_NAMES.get(kind, kind)}, not {_describe(value)}."
        if kind in ("text", "slug", "advance", "when"):
            if not isinstance(value, str):
                self.add(path, wrong, f"Write {key} = {_example(kind, key)}.")
                return None
            if not value.strip():
                self.add(path, "is empty.", _VALUE_FIX[kind])
                return None
            if kind == "slug" and not _SLUG.match(value):
                self.add(path, f'"{value}" is not a valid id.', _VALUE_FIX[kind])
                return None
            if kind == "advance" and value not in ("wait", "auto"):
                self.add(path, f'"{value}" is not a way to move on.', _VALUE_FIX[kind])
                return None
            if kind == "when" and value not in ("before", "after"):
                self.add(path, f'"{value}" is not allowed.', _VALUE_FIX[kind])
                return None
            return value.strip()
        if kind == "texts":
            if not self.a_list(value, kind, path, key, required):
                return None
            texts = [self.item_text(item, f"{path}[{i + 1}]") for i, item in enumerate(value)]
            good = tuple(text for text in texts if text is not None)
            return good if len(good) == len(value) else None
        if kind == "cues":
            return self.cues(value, path, key)
        if kind == "bool":
            if not isinstance(value, bool):
                self.add(path, wrong, f"Write {key} = {_example(kind, key)}.")
                return None
            return value
        if kind in ("int", "number"):
            ok = isinstance(value, int) if kind == "int" else isinstance(value, (int, float))
            if isinstance(value, bool) or not ok:
                self.add(path, wrong, f"Write {key} = {_example(kind, key)}.")
                return None
            return self.number(value, path, key)
        if kind == "breathing":
            table = self.table(value, _BREATHING, path, f"Write {key} = {_example(kind)}.")
            if table is None or not {"inhale", "exhale"} <= set(table):
                return None
            return Breathing(table["inhale"], table["exhale"], table.get("when", "after"))
        if kind == "exercises":
            return None  # checked one by one in _parse
        raise AssertionError(kind)

    def cues(self, value: Any, path: str, key: str) -> tuple[tuple[str, bool], ...] | None:
        """The movement cues, each a text or a table ``{ say = "...", neutral = true }``,
        as (text, neutral) pairs; None where any item is wrong (recorded)."""
        if not self.a_list(value, "cues", path, key, required=False):
            return None
        out = []
        for i, item in enumerate(value):
            where = f"{path}[{i + 1}]"
            if isinstance(item, dict):
                table = self.table(item, _CUE, where)
                if table is not None and "say" in table:
                    out.append((table["say"], table.get("neutral", False)))
            else:
                text = self.item_text(item, where)
                if text is not None:
                    out.append((text, False))
        return tuple(out) if len(out) == len(value) else None

    def a_list(self, value: Any, kind: str, path: str, key: str, required: bool) -> bool:
        """Whether ``value`` is a list with something in it (else the problem is recorded)."""
        if not isinstance(value, list):
            wrong = f"should be {_TYPE_NAMES[kind]}, not {_describe(value)}."
            self.add(path, wrong, f"Write {key} = {_example(kind, key)}.")
            return False
        if not value:
            fix = "Add at least one text." if required else "Add a text, or remove the key."
            self.add(path, "is an empty list.", fix)
            return False
        return True

    def item_text(self, item: Any, where: str) -> str | None:
        """One text of a list, stripped; None where it is not a non-empty text (recorded)."""
        if isinstance(item, str) and item.strip():
            return item.strip()
        self.add(
            where,
            f"should be a non-empty text, not {_describe(item)}.",
            "Write the text the coach should say, or remove the item."
            if isinstance(item, str)
            else "Write each item as a text in quotes.",
        )
        return None

    def number(self, value: float, path: str, key: str) -> float | None:
        if key == "format":
            if value != FORMAT_VERSION:
                self.add(
                    path,
                    f"format {value} is not supported by this version of voicecoach.",
                    f"Use format = {FORMAT_VERSION}, or update voicecoach.",
                )
                return None
            return value
        low, high, unit = _LIMITS[key]
        if math.isnan(value):  # TOML allows nan, and it passes any comparison with a limit
            self.add(path, f"{value} is not a number.", f"Use a value from {low:g} to {high:g}.")
            return None
        if value < low:
            self.add(
                path,
                f"{value} is below the minimum of {low:g} {unit}.",
                f"Use a value from {low:g} to {high:g}.",
            )
            return None
        if value > high:
            self.add(
                path,
                f"{value} is over the limit of {high:g} {unit}.",
                f"Use a value from {low:g} to {high:g}.",
            )
            return None
        return value


def _describe(value: Any) -> str:
    if isinstance(value, bool):
        return f"true/false ({str(value).lower()})"
    if isinstance(value, str):
        return f'a text ("{value[:20]}")'
    if isinstance(value, (int, float)):
        return f"a number ({value})"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a table"
    return type(value).__name__


# The exercises are tables of their own, not a key = value to add.
_AN_EXERCISE = (
    "at least one [[exercise]] table with its id, title, position, steps and repetitions "
    "(see docs/routine-format.md)"
)
_EACH_EXERCISE = (
    "Start each exercise with a line [[exercise]], in double brackets, and its keys "
    "below it (see docs/routine-format.md)."
)
# What to write for a text-like value that is empty or not allowed.
_VALUE_FIX = {
    "text": "Write the text the coach should say.",
    "slug": 'Use lower-case letters, digits and single dashes, like "neck-turns".',
    "advance": 'Use "wait" or "auto".',
    "when": 'Use "before" or "after".',
}


def _add(kind: str, key: str) -> str:
    """The fix for a required key that is missing."""
    if kind == "exercises":
        return f"Add {_AN_EXERCISE}."
    return f"Add {key} = {_example(kind, key)}."


def _example(kind: str, key: str = "") -> str:
    if key == "format":
        return str(FORMAT_VERSION)
    return {
        "text": '"..."',
        "texts": '["...", "..."]',
        "cues": '["...", "..."]',
        "int": "3",
        "number": "2.0",
        "bool": "true",
        "slug": '"my-routine"',
        "breathing": "{ inhale = 3, exhale = 4 }",
        "advance": '"wait"',
        "when": '"before"',
    }[kind]


# --------------------------------------------------------------- public API


def _parse(text: str, file: str) -> tuple[Routine | None, list[Problem]]:
    check = _Checker(file)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        check.add("(file)", f"is not valid TOML: {err}.", "Correct the syntax at that line.")
        return None, check.problems
    except RecursionError:  # tomllib reads nested lists and tables by recursion
        check.add(
            "(file)",
            "has lists or tables nested too deeply to be read.",
            "Write its values as docs/routine-format.md shows: texts, numbers, and lists of texts.",
        )
        return None, check.problems
    top = check.table(data, _TOP, "")
    exercises: list[Exercise] = []
    raw = data.get("exercise")
    if isinstance(raw, list):
        if not raw:
            check.add(
                "exercise", "has no exercises.", f"Replace exercise = [] with {_AN_EXERCISE}."
            )
        seen: set[str] = set()
        for i, item in enumerate(raw):
            where = f"exercise[{i + 1}]"
            fields = check.table(item, _EXERCISE, where, _EACH_EXERCISE)
            if fields is None:
                continue
            ex_id = fields.get("id")
            if ex_id is not None and ex_id in seen:
                check.add(
                    f"{where}.id", f'"{ex_id}" is used twice.', "Give each exercise its own id."
                )
            if ex_id is not None:
                seen.add(ex_id)
            _check_held_breath(check, item, fields, where)
            if not all(k in fields for k, (_, required) in _EXERCISE.items() if required):
                continue  # its problems are recorded; build nothing from it
            exercises.append(
                Exercise(
                    id=fields["id"],
                    title=fields["title"],
                    position=fields["position"],
                    steps=fields["steps"],
                    repetitions=int(fields["repetitions"]),
                    cues=tuple(text for text, _ in fields.get("cues", ())),
                    neutral=frozenset(
                        i for i, (_, neutral) in enumerate(fields.get("cues", ())) if neutral
                    ),
                    hold_seconds=int(fields.get("hold_seconds", 0)),
                    hold_breath=fields.get("hold_breath", False),
                    relax_seconds=int(fields.get("relax_seconds", 0)),
                    breathing=fields.get("breathing"),
                    tempo=float(fields.get("tempo", 2.0)),
                    advance=Advance(fields.get("advance", "wait")),
                    progression=fields.get("progression", ""),
                    after=fields.get("after", ""),
                )
            )
    elif "exercise" in data:
        check.add("exercise", "should be [[exercise]] tables.", _EACH_EXERCISE)
    if check.problems or top is None:
        return None, check.problems
    routine = Routine(
        id=top["id"],
        title=top["title"],
        intro=top["intro"],
        preparation=top["preparation"],
        safety=top["safety"],
        exercises=tuple(exercises),
        format_version=int(top["format"]),
        source=file,
    )
    return routine, []


def _check_held_breath(
    check: _Checker, raw: dict[str, Any], fields: dict[str, Any], where: str
) -> None:
    """A held breath needs a hold, and one short enough to hold the breath through."""
    if not fields.get("hold_breath") or ("hold_seconds" in raw and "hold_seconds" not in fields):
        return  # no held breath, or a hold_seconds already reported as wrong
    hold = fields.get("hold_seconds", 0)
    if not hold:
        check.add(
            f"{where}.hold_breath",
            "needs a hold: the breath is held for the hold's seconds.",
            "Give it a hold, like hold_seconds = 10, or remove hold_breath.",
        )
    elif hold > MAX_BREATH_HOLD:
        check.add(
            f"{where}.hold_seconds",
            f"{hold} seconds is too long to hold the breath "
            f"(with hold_breath the limit is {MAX_BREATH_HOLD} seconds).",
            f"Use a hold from 1 to {MAX_BREATH_HOLD} seconds, or remove hold_breath.",
        )


def validate_file(path: Path | str) -> list[Problem]:
    """Every problem in the routine file at ``path`` (empty when it is valid)."""
    return _read(Path(path))[1]


def load_routine_file(path: Path | str) -> Routine:
    """Load a routine file; raise :class:`RoutineError` listing every problem."""
    routine, problems = _read(Path(path))
    if routine is None:
        raise RoutineError("\n".join(str(p) for p in problems))
    return routine


def _read(path: Path) -> tuple[Routine | None, list[Problem]]:
    try:
        data = path.read_bytes()
        # utf-8-sig: Windows Notepad starts a UTF-8 file with a byte-order mark, which
        # TOML refuses at line 1, column 1, where nobody can see it.
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        bom = len(codecs.BOM_UTF8) if data.startswith(codecs.BOM_UTF8) else 0
        message = f"is not UTF-8 text (byte {bom + err.start + 1} cannot be read)."
        fix = "Save it as UTF-8 plain text (any text editor's default)."
        return None, [Problem(str(path), "(file)", message, fix)]
    except OSError as err:
        reason = err.strerror or str(err)
        return None, [Problem(str(path), "(file)", f"cannot be read: {reason}.", "Check the path.")]
    return _parse(text, str(path))


def builtin_routines() -> dict[str, Routine]:
    """The routines that ship with voicecoach, by id."""
    out: dict[str, Routine] = {}
    folder = resources.files("voicecoach.routines") / "builtin"
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if not entry.name.endswith(".toml"):
            continue
        routine, problems = _parse(entry.read_text(encoding="utf-8"), f"built-in {entry.name}")
        if routine is None:  # a packaging bug, not the user's: fail loudly
            raise RoutineError("\n".join(str(p) for p in problems))
        out[routine.id] = _with_source(routine, "built-in")
    return out


def _with_source(routine: Routine, source: str) -> Routine:
    from dataclasses import replace

    return replace(routine, source=source)


def available_routines(
    user_dir: Path | None = None,
) -> tuple[dict[str, Routine], list[Problem]]:
    """Built-ins plus the user's routines (a user routine overrides a built-in by id).

    A broken user file is reported in the problems and skipped; the built-in it
    meant to override stays in place. Of user files that share an id, one is used
    (see :func:`_one_per_id`) and each other one is reported in the problems, naming
    both files. Replacing a built-in is logged as a warning.
    """
    routines = builtin_routines()
    problems: list[Problem] = []
    folder = user_dir if user_dir is not None else paths.user_routines_dir()
    if folder.is_dir():
        loaded: list[Routine] = []
        for path in sorted(folder.glob("*.toml")):
            routine, found = _read(path)
            if routine is None:
                problems += found
                log.warning("skipping broken routine file %s", path)
                continue
            loaded.append(routine)
        used, left_out = _one_per_id(loaded)
        problems += [_same_id(routine, kept) for routine, kept in left_out]
        problems += [_not_read(path) for path in sorted(folder.iterdir()) if _unread(path)]
        for routine in used:
            if routine.id in routines:
                log.warning(
                    '%s replaces the built-in routine "%s" (it has the same id); '
                    "give it another id to keep both.",
                    routine.source,
                    routine.id,
                )
            routines[routine.id] = routine
    return routines, problems


def _unread(path: Path) -> bool:
    """Whether a file in the routines folder looks meant as a routine but is not read,
    not ending in ".toml": saved by an editor as "neck.toml.txt" or "NECK.TOML", or
    written as YAML or JSON."""
    name = path.name.lower()
    meant = ".toml" in name or path.suffix.lower() in (".yaml", ".yml", ".json")
    return meant and not path.name.endswith(".toml") and path.is_file()


def _not_read(path: Path) -> Problem:
    if ".toml" in path.name.lower():
        fix = f'Rename it to "{path.name[: path.name.lower().rindex(".toml")]}.toml".'
    else:
        fix = "Write it in TOML (see docs/routine-format.md), in a file whose name ends in .toml."
    return Problem(
        str(path), "(file)", "is not read: only files whose name ends in .toml are.", fix
    )


def _one_per_id(
    routines: list[Routine],
) -> tuple[list[Routine], list[tuple[Routine, Routine]]]:
    """Of user routines that share an id, the one from the file whose name sorts last
    is used (a later file won before this was reported, and still does).

    Returns the routines used, in the order given, and (left out, used instead) for
    each one left out.
    """
    last: dict[str, Routine] = {}
    for routine in sorted(routines, key=_file_order):
        last[routine.id] = routine
    left_out = [
        (routine, last[routine.id])
        for routine in sorted(routines, key=_file_order)
        if last[routine.id] is not routine
    ]
    return [r for r in routines if last[r.id] is r], left_out


def _same_id(routine: Routine, used: Routine, loaded: bool = True) -> Problem:
    """``loaded``: both files are in the routines folder, where voicecoach loads them;
    otherwise the problem says what it would do with both there."""
    name = Path(used.source).name
    choice = (
        f"voicecoach uses {name} (of files with the same id, the one whose name sorts "
        "last) and leaves this file out."
        if loaded
        else f"in the routines folder, voicecoach would use {name} (of files with the same "
        "id, the one whose name sorts last) and leave this file out."
    )
    return Problem(
        routine.source,
        "id",
        f'"{routine.id}" is also the id of {used.source}, and only one routine can have '
        f"an id: {choice}",
        f'Give one of them another id (id = "{routine.id}-2", say), '
        "or remove the one you do not want.",
    )


def _file_order(routine: Routine) -> tuple[str, str]:
    return Path(routine.source).name, routine.source


def validate_files(
    files: list[Path], user_dir: Path | None = None
) -> tuple[list[tuple[Path, Routine | None]], list[Problem]]:
    """Check routine files together: each file's routine (``None`` if it has problems
    of its own) and every problem, with the ids the files share.

    An id is checked against the other files given, and, for a file in the user
    routines folder, against the other files there: of files sharing an id only one
    is used (:func:`_one_per_id`), so the others are problems.
    """
    folder = user_dir if user_dir is not None else paths.user_routines_dir()
    checked: list[tuple[Path, Routine | None]] = []
    problems: list[Problem] = []
    candidates: dict[Path, Routine] = {}
    for path in files:
        routine, found = _read(path)
        checked.append((path, routine))
        problems += found
        if routine is not None:
            candidates.setdefault(path.resolve(), routine)
    if folder.is_dir() and any(p.parent == folder.resolve() for p in candidates):
        for path in sorted(folder.glob("*.toml")):
            if path.resolve() not in candidates:
                routine, _ = _read(path)  # its own problems are not asked about here
                if routine is not None:
                    candidates[path.resolve()] = routine
    given = {id(r) for _, r in checked if r is not None}
    _, left_out = _one_per_id(list(candidates.values()))

    def in_folder(routine: Routine) -> bool:
        return Path(routine.source).resolve().parent == folder.resolve()

    problems += [
        _same_id(routine, used, loaded=in_folder(routine) and in_folder(used))
        for routine, used in left_out
        if id(routine) in given or id(used) in given
    ]
    return checked, problems


def get_routine(routine_id: str, user_dir: Path | None = None) -> Routine:
    """The routine with this id; :class:`RoutineError` names the ids there are."""
    routines, problems = available_routines(user_dir)
    for problem in problems:
        log.warning("%s", problem)
    if routine_id not in routines:
        ids = ", ".join(sorted(routines))
        raise RoutineError(
            f"there is no routine \"{routine_id}\". Available: {ids}. See 'voicecoach routines'."
        )
    return routines[routine_id]
