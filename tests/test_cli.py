"""The one command-line parser (grader/cli/parser.py) and main's dispatch: a first word that names
a command runs it; any other first word (or none) is graded, exactly as `grader NAME...` always was."""
from __future__ import annotations

import pytest

import grader.cli.grade
from grader.cli.main import main
from grader.cli.parser import GRADE, build, parse
from grader.core.target import Target


def usage_error(capsys, *argv: str) -> str:
    with pytest.raises(SystemExit) as exc:
        main(list(argv))
    assert exc.value.code == 2
    return capsys.readouterr().err


def test_a_first_word_that_names_no_command_is_an_exercise():
    command, args, parser = parse(["04", "--solutions"])
    assert (command, args.names, args.solutions, parser.prog) == (GRADE, ["04"], True, "grader")
    command, args, _ = parse(["--all"])
    assert command == GRADE and args.all and args.names == []
    command, args, parser = parse(["data", "--check", "mnist"])
    assert (command, args.names, args.check, parser.prog) == ("data", ["mnist"], True, "grader data")


def test_grader_04_grades_04_train(monkeypatch, capsys):
    graded = []
    monkeypatch.setattr(grader.cli.grade, "grade", lambda names, target, settings, stream: graded.append(
        (names, target)) or [])
    monkeypatch.setattr(grader.cli.grade, "print_scorecard", lambda *args, **kwargs: None)
    assert main(["04", "--solutions"]) == 0
    assert graded == [(["04_train"], Target(solutions=True))]


@pytest.mark.parametrize("word", ["zzz", GRADE])
def test_an_unknown_word_is_an_exercise_that_does_not_exist(word, capsys):
    err = usage_error(capsys, word)
    assert err.startswith("usage: grader [-h] [--all]"), err
    assert f"grader: error: '{word}' matches no exercise; choose from: 01_activations" in err


def test_an_unknown_option_is_reported_by_its_command(capsys):
    err = usage_error(capsys, "data", "--bogus")
    assert err.startswith("usage: grader data [-h]") and "grader data: error: unrecognized arguments: --bogus" in err
    assert "grader: error: unrecognized arguments: 05" in usage_error(capsys, "04", "--all", "05")


def test_required_arguments_are_named_in_their_order(capsys):
    assert "grader batch: error: the following arguments are required: DIR, NAME, --csv" in usage_error(capsys, "batch")
    assert "required: RESULT.json, --target" in usage_error(capsys, "regrade")


@pytest.mark.parametrize("command", [name for name in build()[1] if name != GRADE])
def test_each_command_has_its_own_help(command, capsys):
    with pytest.raises(SystemExit) as exc:
        main([command, "--help"])
    out = capsys.readouterr().out
    assert exc.value.code == 0 and out.startswith(f"usage: grader {command} [-h]"), out


def test_grader_help_is_the_grading_help_and_train_keeps_its_own(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    assert out.startswith("usage: grader [-h] [--all] [--solutions | --target DIR]") and "Other commands:" in out
    with pytest.raises(SystemExit):
        main(["train", "--help"])
    out = capsys.readouterr().out
    assert "--model {mlp,cnn,both}" in out and "use DIR, laid out like exercises/ (a hand-in)" in out
    assert "Example: grader train --model both --epochs 2" in out and "--data-dir DIR" in out
