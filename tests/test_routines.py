"""Routine files: the built-ins, validation messages, user overrides, and the CLI."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

from voicecoach import script
from voicecoach.cli import main
from voicecoach.cli.routines_cmd import script_text
from voicecoach.dialogue import exercise_programme, fixed_texts
from voicecoach.errors import RoutineError
from voicecoach.routines import (
    available_routines,
    builtin_routines,
    get_routine,
    load_routine_file,
    validate_file,
)

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

DOC = Path(__file__).resolve().parent.parent / "docs" / "routine-format.md"

GOOD = """
format = 1
id = "mine"
title = "Mine"
intro = "Hello."
preparation = ["a chair"]
safety = "Careful."

[[exercise]]
id = "one"
title = "One"
position = "Sit."
steps = ["Move."]
repetitions = 3
"""
MORE = "repetitions = 3\n"


def write(tmp_path: Path, text: str, name: str = "r.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_neck_complex_has_the_ten_exercises_three_times_each():
    r = builtin_routines()["neck-complex"]
    # The article's ten, its third ("Lie on your back. Turn the head to the left, then
    # to the right. Also, do the sitting exercise.") done lying, then sitting.
    assert len(r.exercises) == 11
    assert {ex.repetitions for ex in r.exercises} == {3}
    assert len({ex.id for ex in r.exercises}) == 11
    lying, sitting = r.exercises[2:4]
    assert (lying.id, sitting.id) == ("head-turns", "head-turns-sitting")
    assert lying.position.startswith("Lie on your back")
    assert sitting.position.startswith("Sit on the chair")
    assert lying.cues == sitting.cues and lying.steps == sitting.steps
    assert "sitting" in lying.after
    assert "eleven" in r.intro
    text = " ".join(r.preparation).lower()
    for item in ("flat surface", "rug", "chair", "knees", "hands", "pillow", "towel"):
        assert item in text
    safety = r.safety.lower()
    for word in (
        "doctor",
        "acute pain",
        "inflammation",
        "blood pressure",
        "aneurysm",
        "heart defect",
        "oncological",
    ):
        assert word in safety
    intro = r.intro.lower()
    assert "slowly" in intro and "reduce the load" in intro and "it hurts" in intro


def test_self_correction_has_holds_relax_and_the_self_massage():
    r = builtin_routines()["self-correction"]
    assert [ex.repetitions for ex in r.exercises] == [5, 5, 5]
    assert [ex.hold_seconds for ex in r.exercises] == [10, 15, 10]
    assert r.exercises[0].relax_seconds == 5
    assert all(ex.progression for ex in r.exercises)
    assert "stroke" in r.exercises[1].after
    assert "breathe deeply" in r.intro


def test_built_in_texts_are_short_spoken_sentences():
    for r in builtin_routines().values():
        for ex in r.exercises:
            for sentence in (*ex.steps, *ex.cues):
                assert len(sentence.split()) <= 25, sentence
        assert all(len(t) < 600 for t in fixed_texts(r))


def test_every_built_in_exercise_says_its_own_position():
    # After "skip", "go back" or resuming a saved session, the exercise before is not
    # the one just done: "Stay sitting on the chair.", "Lie on your back again" and
    # "as in the last exercise" were wrong there.
    relative = re.compile(r"\b(again|stay|still|now|last|previous|before|same)\b", re.I)
    for r in builtin_routines().values():
        for ex in r.exercises:
            assert ex.position.startswith(("Sit ", "Lie ", "Kneel ")), ex.id
            assert not relative.search(ex.position), ex.id
            for step in ex.steps:
                assert not re.search(r"last exercise|previous|as before", step, re.I), ex.id


def test_each_repetitions_cues_are_right_in_order():
    # Self-correction three: "Press a little more firmly this time" was followed by the
    # cue "Press gently, and tilt ..." (the article: "gradually increase the pressure").
    # Neck-complex four: each repetition ended "Lower your arms, and relax." and the
    # next began "Elbows back.", with the hands never put behind the head again.
    routines = builtin_routines()
    for r in routines.values():
        for ex in r.exercises:
            if "firmly" in ex.progression or "further" in ex.progression:
                assert not [c for c in ex.cues if re.search(r"gently|a little", c)], ex.id
    [press] = [ex for ex in routines["self-correction"].exercises if ex.id == "hand-press-tilt"]
    assert "more firmly" in press.progression
    assert "Press gently" in press.steps[2]  # the first time; more only on repeats
    [elbows] = [ex for ex in routines["neck-complex"].exercises if ex.id == "elbows-back"]
    assert elbows.cues[0] == "Hands behind your head, fingers linked."
    assert elbows.cues[-1] == "Lower your arms, and relax."


# Asking for more than the last repetition. That belongs in `progression`, which the
# coach leaves out when an exercise is repeated more gently after a pain report; the
# steps are said again then, and a cue in every repetition.
ASKS_FOR_MORE = re.compile(
    r"each time|every time|repeat|further|harder|firmly|more (pressure|strongly)|increase",
    re.I,
)


def test_built_in_steps_and_cues_never_ask_for_more_than_last_time():
    # Self-correction three's steps said "Start with gentle pressure. Each time you
    # repeat it, press a little more firmly.", announced again after "it hurts" and
    # "repeat it more gently"; neck-complex's shoulder blades said "To make it a little
    # harder, you can also raise your shoulders".
    routines = builtin_routines()
    for r in routines.values():
        for ex in r.exercises:
            for text in (ex.position, *ex.steps, *ex.cues, ex.after):
                assert not ASKS_FOR_MORE.search(text), (r.id, ex.id, text)
    exercises = {ex.id: ex for r in routines.values() for ex in r.exercises}
    press, blades = exercises["hand-press-tilt"], exercises["shoulder-blades"]
    assert "more firmly" in press.progression and "shrug your shoulders" in blades.progression


BROKEN = [
    ('format = 1\nid = "x"\ntitle = ', "(file)", "not valid TOML"),
    (
        GOOD.replace("repetitions = 3", "repetitions = 3\nhold_second = 5"),
        "exercise[1].hold_second",
        'Did you mean "hold_seconds"?',
    ),
    (
        GOOD.replace("repetitions = 3", 'repetitions = "three"'),
        "exercise[1].repetitions",
        "should be a whole number",
    ),
    (
        GOOD.replace("repetitions = 3", "repetitions = true"),
        "exercise[1].repetitions",
        "should be a whole number",
    ),
    (GOOD.replace('position = "Sit."\n', ""), "exercise[1].position", "is missing"),
    (GOOD.split("[[exercise]]")[0] + "exercise = []\n", "exercise", "has no exercises"),
    (GOOD.split("[[exercise]]")[0], "exercise", "is missing"),
    (
        GOOD.replace("repetitions = 3", "repetitions = -2"),
        "exercise[1].repetitions",
        "below the minimum",
    ),
    (
        GOOD.replace("repetitions = 3", "repetitions = 80"),
        "exercise[1].repetitions",
        "over the limit of 50",
    ),
    (
        GOOD.replace("repetitions = 3", "repetitions = 3\nhold_seconds = 300"),
        "exercise[1].hold_seconds",
        "over the limit of 120 seconds",
    ),
    (
        GOOD.replace("repetitions = 3", "repetitions = 3\nrelax_seconds = -1"),
        "exercise[1].relax_seconds",
        "below the minimum",
    ),
    (
        GOOD.replace("repetitions = 3", "repetitions = 3\nbreathing = { inhale = 40, exhale = 2 }"),
        "exercise[1].breathing.inhale",
        "over the limit of 20 seconds",  # not "counts": nothing is counted aloud
    ),
    (
        GOOD.replace("repetitions = 3", "repetitions = 3\ntempo = 0.1"),
        "exercise[1].tempo",
        "below the minimum",
    ),
    # TOML allows nan and inf; nan compares false with both limits, so it slipped through.
    (
        GOOD.replace("repetitions = 3", "repetitions = 3\ntempo = nan"),
        "exercise[1].tempo",
        "nan is not a number",
    ),
    (
        GOOD.replace("repetitions = 3", "repetitions = 3\ntempo = -nan"),
        "exercise[1].tempo",
        "nan is not a number",
    ),
    (
        GOOD.replace("repetitions = 3", "repetitions = 3\ntempo = inf"),
        "exercise[1].tempo",
        "over the limit of 10 seconds per beat",
    ),
    (
        GOOD.replace("repetitions = 3", "repetitions = 3\ntempo = -inf"),
        "exercise[1].tempo",
        "below the minimum",
    ),
    (
        GOOD.replace("repetitions = 3", "repetitions = 3\nhold_seconds = nan"),
        "exercise[1].hold_seconds",
        "should be a whole number",
    ),
    (
        GOOD.replace(
            "repetitions = 3", "repetitions = 3\nbreathing = { inhale = nan, exhale = 2 }"
        ),
        "exercise[1].breathing.inhale",
        "should be a whole number",
    ),
    (
        GOOD.replace("repetitions = 3", 'repetitions = 3\nadvance = "later"'),
        "exercise[1].advance",
        'Use "wait" or "auto"',
    ),
    (
        GOOD.replace("repetitions = 3", 'repetitions = 3\nhold_seconds = 5\nhold_breath = "yes"'),
        "exercise[1].hold_breath",
        "should be true or false",
    ),
    (
        GOOD.replace("repetitions = 3", "repetitions = 3\nhold_breath = true"),
        "exercise[1].hold_breath",
        "needs a hold",
    ),
    (
        GOOD.replace("repetitions = 3", "repetitions = 3\nhold_seconds = 30\nhold_breath = true"),
        "exercise[1].hold_seconds",
        "too long to hold the breath",
    ),
    (GOOD.replace("format = 1", "format = 2"), "format", "not supported"),
    (GOOD.replace('id = "mine"', 'id = "My Routine"'), "id", "not a valid id"),
    (GOOD.replace('steps = ["Move."]', "steps = []"), "exercise[1].steps", "empty list"),
    (GOOD.replace('title = "Mine"', 'title = "  "'), "title", "is empty"),
    (GOOD + GOOD[GOOD.index("[[exercise]]") :], "exercise[2].id", "used twice"),
    (
        GOOD.replace('preparation = ["a chair"]', 'preparation = ["a chair", 3]'),
        "preparation[2]",
        "non-empty text",
    ),
    (
        GOOD.replace(MORE, MORE + 'cues = ["Left.", { neutral = true }]\n'),
        "exercise[1].cues[2].say",
        "is missing",
    ),
    (
        GOOD.replace(MORE, MORE + 'cues = [{ say = "Back.", neutral = "yes" }]\n'),
        "exercise[1].cues[1].neutral",
        "should be true or false",
    ),
    (
        GOOD.replace(MORE, MORE + 'cues = [{ say = "Back.", netural = true }]\n'),
        "exercise[1].cues[1].netural",
        'Did you mean "neutral"?',
    ),
    (
        GOOD.replace(MORE, MORE + 'cues = [{ say = "", neutral = true }]\n'),
        "exercise[1].cues[1].say",
        "is empty",
    ),
    (GOOD.replace(MORE, MORE + 'cues = "Left."\n'), "exercise[1].cues", "a list of texts"),
]


@pytest.mark.parametrize(("text", "key", "message"), BROKEN)
def test_each_problem_names_file_key_and_fix(tmp_path, text, key, message):
    path = write(tmp_path, text)
    problems = validate_file(path)
    assert problems, "should be refused"
    match = [p for p in problems if p.key_path == key]
    assert match, [str(p) for p in problems]
    line = str(match[0])
    assert line.startswith(f"{path}: {key}: ")
    assert message in line
    assert " Fix: " in line
    with pytest.raises(RoutineError):
        load_routine_file(path)


@pytest.mark.parametrize(
    ("written", "meant"),
    [
        ("hold = 5", '"hold_seconds" or "hold_breath"'),
        ("hold_time = 5", '"hold_seconds" or "hold_breath"'),
        ("relax = 3", '"relax_seconds"'),
        ("reps = 5", '"repetitions"'),
        ("times = 5", '"repetitions"'),
        ("rest = 3", '"relax_seconds"'),
        ('name = "Turns"', '"title"'),
    ],
)
def test_a_key_written_short_is_told_the_key_it_means_not_to_remove_it(tmp_path, written, meant):
    # "hold = 5" was told "Fix: Remove it." (doing so leaves an exercise with no hold),
    # "reps = 5" 'Did you mean "steps"?', "hold_time" 'Did you mean "hold_breath"?'.
    text = GOOD.replace(MORE, MORE + written + "\n")
    key = "exercise[1]." + written.split(" = ")[0]
    [problem] = [p for p in validate_file(write(tmp_path, text)) if p.key_path == key]
    assert problem.fix.startswith(f"Did you mean {meant}? Known keys here: ")


def test_every_problem_is_reported_not_just_the_first(tmp_path):
    text = GOOD.replace("repetitions = 3", "repetitions = 99\nhold_seconds = 500\ncolour = 1")
    keys = {p.key_path for p in validate_file(write(tmp_path, text))}
    assert keys == {"exercise[1].repetitions", "exercise[1].hold_seconds", "exercise[1].colour"}


def test_missing_file_is_a_problem_not_a_crash(tmp_path):
    [problem] = validate_file(tmp_path / "nope.toml")
    assert "cannot be read" in str(problem)


@pytest.mark.parametrize(
    ("text", "key", "fix"),
    [
        ("", "format", "Add format = 1."),
        (GOOD.replace("format = 1", 'format = "1"'), "format", "Write format = 1."),
        (GOOD.replace('preparation = ["a chair"]', "preparation = []"), "preparation", None),
        (
            GOOD.replace("repetitions = 3", "repetitions = 3\ncues = []"),
            "exercise[1].cues",
            "Add a text, or remove the key.",
        ),
    ],
)
def test_the_fix_is_one_that_works(tmp_path, text, key, fix):
    [problem] = [p for p in validate_file(write(tmp_path, text)) if p.key_path == key]
    if fix is not None:
        assert problem.fix == fix
    else:  # a required list: removing it is no fix
        assert problem.fix == "Add at least one text."


HEAD = GOOD.split("[[exercise]]")[0]
AN_EXERCISE = (
    "at least one [[exercise]] table with its id, title, position, steps and repetitions "
    "(see docs/routine-format.md)."
)
EACH_EXERCISE = "Start each exercise with a line [[exercise]], in double brackets,"


@pytest.mark.parametrize(
    ("text", "key", "fix"),
    [
        (HEAD, "exercise", "Add " + AN_EXERCISE),  # was "Add exercise = one or more ..."
        (HEAD + "exercise = []\n", "exercise", "Replace exercise = [] with " + AN_EXERCISE),
        (HEAD + 'exercise = "turns"\n', "exercise", EACH_EXERCISE),
        (GOOD.replace("[[exercise]]", "[exercise]"), "exercise", EACH_EXERCISE),
        (HEAD + "exercise = [1]\n", "exercise[1]", EACH_EXERCISE),
        (
            GOOD.replace(MORE, MORE + "breathing = 3\n"),
            "exercise[1].breathing",
            "Write breathing = { inhale = 3, exhale = 4 }.",  # was "Write it as a TOML table."
        ),
        # An empty id or choice was told: "Write the text the coach should say."
        (GOOD.replace('id = "mine"', 'id = ""'), "id", "Use lower-case letters, digits"),
        (GOOD.replace(MORE, MORE + 'advance = ""\n'), "exercise[1].advance", 'Use "wait"'),
        (
            GOOD.replace(MORE, MORE + 'breathing = { inhale = 3, exhale = 3, when = " " }\n'),
            "exercise[1].breathing.when",
            'Use "before" or "after".',
        ),
        (
            GOOD.replace(MORE, MORE + 'cues = ["Left.", ""]\n'),
            "exercise[1].cues[2]",
            "Write the text the coach should say, or remove the item.",
        ),
    ],
)
def test_the_fix_is_something_to_do_not_a_made_up_key(tmp_path, text, key, fix):
    [problem] = [p for p in validate_file(write(tmp_path, text)) if p.key_path == key]
    assert problem.fix.startswith(fix)


def test_every_key_to_add_or_write_is_valid_toml(tmp_path):
    # One test over all the broken files: most of them have no fix of this form, and
    # as one test each they passed without checking anything.
    checked = []
    for n, text in enumerate([text for text, _, _ in BROKEN] + [HEAD, ""]):
        for problem in validate_file(write(tmp_path, text, f"r{n}.toml")):
            wanted = re.match(r"(?:Add|Write) (\w+ = .*)\.$", problem.fix)
            if wanted:
                # "Add exercise = one or more [[exercise]] tables." was not
                tomllib.loads(wanted[1])
                checked.append(wanted[1])
    # The fixes that name a key and its value were found (15 here): a change of their
    # wording must not leave this test checking nothing.
    assert len(checked) >= 10, checked


def test_a_file_nested_too_deeply_is_a_problem_and_the_others_still_load(tmp_path):
    # tomllib reads a nested list by recursion: thousands of brackets were a
    # RecursionError traceback from routines, validate, show and text alike.
    write(tmp_path, GOOD, "mine.toml")
    deep = write(tmp_path, GOOD + "x = " + "[" * 5000 + "]" * 5000 + "\n", "deep.toml")
    [problem] = validate_file(deep)
    assert problem.key_path == "(file)" and "nested too deeply" in problem.message
    routines, problems = available_routines(tmp_path)
    assert list(routines) == ["neck-complex", "self-correction", "mine"]
    assert problems == [problem]


def test_a_file_that_is_not_utf8_is_told_to_be_saved_as_utf8(tmp_path):
    path = tmp_path / "latin1.toml"
    path.write_bytes(GOOD.replace("Mine", "Ma\u00eftrise").encode("latin-1"))
    [problem] = validate_file(path)
    assert "is not UTF-8 text" in problem.message
    assert "UTF-8" in problem.fix and "path" not in problem.fix


def test_a_file_saved_with_a_byte_order_mark_is_read(tmp_path):
    # Windows Notepad saves UTF-8 with a byte-order mark: invisible, and TOML refuses it.
    path = tmp_path / "notepad.toml"
    path.write_bytes(b"\xef\xbb\xbf" + GOOD.lstrip().encode("utf-8"))
    assert validate_file(path) == []
    assert load_routine_file(path).id == "mine"
    assert list(available_routines(tmp_path)[0]) == ["neck-complex", "self-correction", "mine"]


def test_a_bad_byte_after_a_byte_order_mark_is_counted_from_the_files_start(tmp_path):
    path = tmp_path / "notepad.toml"
    path.write_bytes(b"\xef\xbb\xbfab\xff")
    [problem] = validate_file(path)
    assert "byte 6 cannot be read" in problem.message


def test_user_routines_add_and_override_and_broken_ones_are_skipped(tmp_path):
    write(tmp_path, GOOD, "mine.toml")
    write(tmp_path, GOOD.replace('id = "mine"', 'id = "neck-complex"'), "override.toml")
    write(
        tmp_path,
        GOOD.replace('id = "mine"', 'id = "self-correction"').replace(
            "repetitions = 3", "repetitions = 0"
        ),
        "broken.toml",
    )
    routines, problems = available_routines(tmp_path)
    assert routines["mine"].title == "Mine"
    assert routines["neck-complex"].source.endswith("override.toml")
    assert len(routines["neck-complex"].exercises) == 1
    # The broken override leaves the built-in in place, and is reported.
    assert routines["self-correction"].source == "built-in"
    assert [p.file for p in problems] == [str(tmp_path / "broken.toml")]


def _example() -> str:
    return re.search(r"```toml\n(.*?)```", DOC.read_text(), re.S).group(1)


def test_two_user_files_with_one_id_are_reported_naming_both(tmp_path, caplog):
    # The docs' example copied with another title: one file was silently left out.
    first = write(tmp_path, _example(), "morning.toml")
    copy = write(tmp_path, _example().replace("A short morning", "My own"), "morning-copy.toml")
    routines, problems = available_routines(tmp_path)
    assert routines["morning-neck"].source == str(first)  # its name sorts last
    [problem] = problems
    assert problem.file == str(copy) and problem.key_path == "id"
    assert str(first) in problem.message and "uses morning.toml" in problem.message
    assert "leaves this file out" in problem.message
    assert 'another id (id = "morning-neck-2", say)' in problem.fix
    # Loading by id (as run, text and show do) logs it.
    with caplog.at_level("WARNING"):
        assert get_routine("morning-neck", tmp_path).title == "A short morning routine"
    assert [r.message for r in caplog.records] == [str(problem)]


def test_validate_reports_an_id_that_two_files_share(tmp_path, capsys):
    first = write(tmp_path, _example(), "morning.toml")
    copy = write(tmp_path, _example().replace("A short morning", "My own"), "morning-copy.toml")
    assert main(["validate", str(first), str(copy)]) == 3
    out = capsys.readouterr().out.splitlines()
    assert out[0] == f"{first}: OK"
    assert out[1].startswith(f'{copy}: id: "morning-neck" is also the id of {first}')
    # Outside the routines folder voicecoach uses neither: the line said it used one.
    assert "in the routines folder, voicecoach would use morning.toml" in out[1]
    assert "and leave this file out" in out[1] and "Fix: Give one of them" in out[1]
    assert len(out) == 2


@pytest.fixture
def routines_folder():
    """The (test-private) user routines folder, emptied after the test."""
    from voicecoach import paths

    folder = paths.user_routines_dir()
    folder.mkdir(parents=True)
    yield folder
    for path in folder.glob("*.toml"):
        path.unlink()
    folder.rmdir()


def test_validate_one_file_checks_its_id_against_the_others_in_the_routines_folder(
    routines_folder, capsys
):
    old = write(routines_folder, _example(), "a-morning.toml")
    new = write(routines_folder, _example().replace("A short morning", "My own"), "b-morning.toml")
    assert main(["validate", str(new)]) == 3  # the one used: the other is left out
    out = capsys.readouterr().out.splitlines()
    assert out == [f"{new}: OK", out[1]]
    assert out[1].startswith(f'{old}: id: "morning-neck" is also the id of {new}')
    assert "an id: voicecoach uses b-morning.toml" in out[1]  # both are there: it does
    assert main(["validate", str(old)]) == 3
    [line] = capsys.readouterr().out.splitlines()
    assert line.startswith(f'{old}: id: "morning-neck" is also the id of {new}')
    assert main(["routines"]) == 0
    listed = capsys.readouterr()
    assert f"(from {new})" in listed.out and "My own" in listed.out
    assert listed.err.startswith(f"warning: {old}: id: ")


def test_a_user_routine_with_a_built_in_id_is_said_to_replace_it(routines_folder, caplog, capsys):
    text = GOOD.replace('id = "mine"', 'id = "self-correction"')
    mine = write(routines_folder, text, "mine.toml")
    with caplog.at_level("WARNING"):
        routines, problems = available_routines()
    assert routines["self-correction"].source == str(mine) and problems == []
    [record] = caplog.records
    assert record.message == (
        f'{mine} replaces the built-in routine "self-correction" (it has the same id); '
        "give it another id to keep both."
    )
    assert main(["validate", str(mine)]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f'{mine}: OK (id "self-correction" is a built-in routine\'s: ')
    assert "replaces that built-in; give it another id to keep both" in out
    assert main(["routines"]) == 0
    assert f"(from {mine}, instead of the built-in)" in capsys.readouterr().out


def test_unknown_routine_names_the_available_ones():
    with pytest.raises(RoutineError, match="neck-complex, self-correction"):
        get_routine("nope")


def test_validate_cli(tmp_path, capsys):
    good = write(tmp_path, GOOD, "good.toml")
    bad = write(tmp_path, GOOD.replace("repetitions = 3", "repetitions = 0"), "bad.toml")
    assert main(["validate", str(good)]) == 0
    assert capsys.readouterr().out == f"{good}: OK\n"
    assert main(["validate", str(good), str(bad)]) == 3
    out = capsys.readouterr().out.splitlines()
    assert out[0] == f"{good}: OK"
    assert out[1].startswith(f"{bad}: exercise[1].repetitions: 0 is below the minimum")


def test_routines_and_show_cli(capsys):
    assert main(["routines"]) == 0
    out = capsys.readouterr().out
    assert "neck-complex" in out and "self-correction" in out
    assert main(["show", "self-correction"]) == 0
    out = capsys.readouterr().out
    assert "hold ten seconds" in out and "relax five seconds" in out
    assert "Head glide backwards" in out


def test_routines_counts_one_exercise_in_the_singular(routines_folder, capsys):
    write(routines_folder, GOOD)  # "Mine (1 exercises)"
    assert main(["routines"]) == 0
    assert "Mine (1 exercise) " in capsys.readouterr().out


def test_a_routine_file_not_ending_in_toml_is_reported_not_left_out_silently(tmp_path):
    # An editor's "neck.toml.txt", a "NECK.TOML" or a YAML file were ignored without a
    # word: the routine was simply not there.
    for name in ("neck.toml.txt", "SHOUT.TOML", "mine.yaml", "notes.md"):
        write(tmp_path, GOOD, name)
    write(tmp_path, GOOD.replace('"mine"', '"good"'), "good.toml")
    routines, problems = available_routines(tmp_path)
    assert "good" in routines
    fixes = {Path(p.file).name: p.fix for p in problems}
    assert fixes == {
        "neck.toml.txt": 'Rename it to "neck.toml".',
        "SHOUT.TOML": 'Rename it to "SHOUT.toml".',
        "mine.yaml": "Write it in TOML (see docs/routine-format.md), in a file whose name "
        "ends in .toml.",
    }


def test_a_cue_may_be_marked_as_back_in_the_starting_position(tmp_path):
    cues = 'cues = ["Left.", { say = "Back.", neutral = true }, "Right.", { say = "Back." }]\n'
    [ex] = load_routine_file(write(tmp_path, GOOD.replace(MORE, MORE + cues))).exercises
    assert ex.cues == ("Left.", "Back.", "Right.", "Back.")
    assert ex.neutral == {1}
    beats = [b for b in exercise_programme(ex) if b.rep == 1 and b.paced]
    assert [b.neutral for b in beats] == [False, True, False, False]


def test_the_built_in_neutral_cues_bring_the_person_back():
    # Only a cue that ends a movement may be marked: an answer said after it keeps
    # the person where they started, not with the head lifted or turned.
    back = re.compile(r"^(And )?(lower|back to the middle)", re.I)
    marked = [
        ex.cues[i] for r in builtin_routines().values() for ex in r.exercises for i in ex.neutral
    ]
    assert marked
    assert all(back.match(cue) for cue in marked), marked


def test_a_held_breath_is_loaded_and_a_wrong_hold_is_reported_once(tmp_path):
    held = GOOD.replace("repetitions = 3", "repetitions = 3\nhold_seconds = 20\nhold_breath = true")
    [ex] = load_routine_file(write(tmp_path, held)).exercises
    assert ex.hold_breath and ex.hold_seconds == 20
    assert not load_routine_file(write(tmp_path, GOOD)).exercises[0].hold_breath
    # A hold that is itself wrong is reported as such, not again as a missing hold.
    wrong = held.replace("hold_seconds = 20", "hold_seconds = -1")
    assert [p.key_path for p in validate_file(write(tmp_path, wrong))] == [
        "exercise[1].hold_seconds"
    ]


def test_the_documented_example_is_valid(tmp_path):
    example = re.search(r"```toml\n(.*?)```", DOC.read_text(), re.S).group(1)
    routine = load_routine_file(write(tmp_path, example))
    assert routine.id == "morning-neck"
    assert routine.exercises[1].breathing.when == "before"


def test_breathing_is_documented_and_shown_in_seconds_as_the_coach_times_it(tmp_path):
    # The coach says "Breathe in." and waits inhale seconds, counting nothing aloud.
    [row] = [line for line in DOC.read_text().splitlines() if line.startswith("| `breathing`")]
    assert "1 to 20 seconds" in row and "counts" not in row
    example = re.search(r"```toml\n(.*?)```", DOC.read_text(), re.S).group(1)
    routine = load_routine_file(write(tmp_path, example))
    breathing = [b for b in exercise_programme(routine.exercises[1]) if b.rep == 1][1:3]
    assert [(b.text, b.length) for b in breathing] == [("Breathe in.", 3.0), ("Breathe out.", 3.0)]
    assert "breathe in three seconds, out three seconds" in script_text(routine)


def test_back_lift_says_what_the_article_says():
    # The article: "Lie down on your pillow. The feet must be fixed. Pull your hands
    # along your hips and lift your back to the horizontal line. Try not to bend back."
    # The script said "lift your upper body until your back is straight and level ...
    # Do not arch your back", then "Lie on your stomach ... feet fixed in place, for
    # example hooked under a sofa": lying face down on the floor the back is already
    # horizontal, so any lift is the bend the article forbids; and neither the
    # stomach nor the sofa is in the article.
    r = builtin_routines()["neck-complex"]
    [back] = [ex for ex in r.exercises if ex.id == "back-lift"]
    said = script.announce(r, r.exercises.index(back)) + " " + " ".join(back.cues)
    assert "Lie down on the pillow. Your feet must be fixed in place." in said
    assert "Stretch your arms along your hips" in said
    assert "lift your back until it is horizontal, and no higher" in said
    assert "Try not to bend backwards" in said
    for added in ("arch", "level", "stomach", "sofa", "upper body", "arms back"):
        assert added not in said
    # The pillow it lies on is one the list of things needed names.
    assert "a pillow for under your hips" in r.preparation


def test_shoulder_blades_harder_variant_is_the_articles_shrug():
    # The article's exercise seven, lying on the stomach: "If you complicate the
    # exercise and shrug your shoulders, the effect will be better." The coach said
    # "you can also raise your shoulders": face down, raising them is lifting them off
    # the floor, a movement the article does not ask for. The shrug goes towards the
    # ears, as in exercise two ("Raise your shoulders up towards your ears.").
    exercises = {ex.id: ex for ex in builtin_routines()["neck-complex"].exercises}
    blades, shrugs = exercises["shoulder-blades"], exercises["shoulder-shrugs"]
    assert blades.position.startswith("Lie on your stomach")
    assert "shrug your shoulders up towards your ears" in blades.progression
    assert "raise your shoulders this time" not in blades.progression
    assert "towards your ears" in shrugs.steps[0]
    # No claim that it works better: only that it is harder.
    assert "effect" not in blades.progression and "better" not in blades.progression
