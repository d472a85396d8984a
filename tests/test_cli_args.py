"""Option values out of range are refused at the command line, with the range."""

from __future__ import annotations

import pytest

from voicecoach.cli import main


@pytest.mark.parametrize(
    ("argv", "said"),
    [
        (["check", "--listen", "-1"], "--listen: -1 is out of range: give from 0.5 to 60 seconds"),
        (["check", "--listen", "1e9"], "--listen: 1e9 is out of range"),
        (["check", "--listen", "nan"], "--listen: nan is out of range"),
        (["recognize", "--threshold", "7", "x.wav"], "--threshold: 7 is out of range"),
        (["history", "-n", "-1"], "--limit: -1 is out of range"),
        (["history", "-n", "two"], "--limit: 'two' is not a whole number"),
        (["models", "fetch", "vosk-small-en", "--timeout", "-1"], "--timeout: -1 is out"),
        (["recognize", "--jobs", "-1", "x.wav"], "--jobs: -1 is out of range: give 0 or more"),
        (["recognize", "--jobs", "two", "x.wav"], "--jobs: 'two' is not a whole number (0 or"),
        (["run", "--mic-gain", "loud"], "--mic-gain: not a number of decibels: 'loud' (use -20"),
    ],
)
def test_out_of_range_values_are_refused_with_the_range(
    argv: list[str], said: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2
    assert said in capsys.readouterr().err


VOICE_OPTIONS = {
    "--length-scale": "from 0.2 to 5",
    "--sentence-pause": "from 0 to 5 seconds",
    "--volume": "from 0 to 4",
}


@pytest.mark.parametrize(
    "command",
    [["say", "hi", "--out", "x.wav"], ["prepare", "--all"], ["run"], ["check"], ["demo"]],
)
@pytest.mark.parametrize("option", sorted(VOICE_OPTIONS))
@pytest.mark.parametrize("value", ["-1", "nan", "inf", "1e999", "9", "loud"])
def test_a_bad_voice_option_is_refused_by_the_name_typed_with_its_range(
    command: list[str], option: str, value: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Each command that speaks refuses a bad voice setting before it does anything,
    naming the option as typed (it said "volume must be within 0..4", the settings'
    field, once the command had begun: ``check`` after checking the devices)."""
    with pytest.raises(SystemExit) as info:
        main([*command, f"{option}={value}"])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert f"error: argument {option}: " in err and VOICE_OPTIONS[option] in err
    assert "_" not in err.splitlines()[-1]  # no settings field (length_scale, ...)


def test_the_help_of_check_and_demo_explains_every_option(
    capsys: pytest.CaptureFixture[str],
) -> None:
    for command, options in (
        ("check", ("--input-device", "--output-device", "--listen")),
        ("demo", ("--out",)),
    ):
        with pytest.raises(SystemExit):
            main([command, "--help"])
        text = capsys.readouterr().out
        for option in options:
            # argparse prints an option with no help on a line of its own and nothing after
            line = next(x for x in text.splitlines() if x.strip().startswith(option))
            assert len(line.split(maxsplit=2)) == 3, line


def test_check_gives_a_missing_vosk_model_the_fix_its_message_gives(
    tmp_path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("VOICECOACH_VOSK_MODEL", str(tmp_path / "no-model"))
    main(["check", "--engine", "vosk", "--listen", "1"])
    out = capsys.readouterr().out
    problem = out[out.index("PROBLEM  recognizer") :].splitlines()[:2]
    assert "no-model" in problem[0]
    assert "install-pi.sh" not in problem[1] and "--engine auto" in problem[1]


def test_check_reports_a_vosk_model_named_by_the_environment_that_is_not_there(
    tmp_path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # With --engine auto it was a warning on stderr and "ok  recognizer: pocketsphinx":
    # check found no problem in a $VOICECOACH_VOSK_MODEL that names no model.
    monkeypatch.setenv("VOICECOACH_VOSK_MODEL", str(tmp_path / "no-model"))
    assert main(["check", "--listen", "1"]) == 1
    out = capsys.readouterr().out
    assert "ok       recognizer: pocketsphinx" in out
    problem = out[out.index("PROBLEM  vosk") :].splitlines()[:2]
    assert "no-model" in problem[0] and "PocketSphinx listens" in problem[1]
