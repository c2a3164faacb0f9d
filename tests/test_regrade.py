"""grader regrade: the same exercises and settings again, and what changed."""
from __future__ import annotations

import json

from fake_kit import handin, make_kit, run_grader
from results import load_valid


def test_regrade_repeats_the_recorded_run_and_names_the_changes(tmp_path):
    kit = make_kit(tmp_path / "kit")
    target = handin(tmp_path / "alice")
    first = tmp_path / "first.json"
    assert run_grader(kit, "01", "--target", str(target), "--json", str(first)).returncode == 0
    recorded = load_valid(first)
    assert recorded["environment"]["sandbox"] == recorded["sandbox"]
    same = run_grader(kit, "regrade", str(first), "--target", str(target))
    assert same.returncode == 0 and "the same as recorded" in same.stdout, same.stdout + same.stderr
    (target / "01_alpha" / "alpha.py").write_text("def double(x):\n    return x\n")
    again = tmp_path / "again.json"
    changed = run_grader(kit, "regrade", str(first), "--target", str(target), "--json", str(again))
    assert changed.returncode == 1
    assert "01_alpha: passed 3/3 -> failed" in changed.stdout and "test_double: passed -> failed" in changed.stdout
    assert [e["name"] for e in load_valid(again)["exercises"]] == ["01_alpha"], "only the recorded exercises"


def test_regrade_refuses_what_is_not_a_result(tmp_path):
    kit = make_kit(tmp_path / "kit")
    target = handin(tmp_path / "alice")
    bogus = tmp_path / "bogus.json"
    bogus.write_text(json.dumps({"exercises": [{"name": "99_nothing"}]}))
    for path in (bogus, tmp_path / "missing.json"):
        proc = run_grader(kit, "regrade", str(path), "--target", str(target))
        assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr


def test_a_test_moved_to_another_file_of_its_exercise_is_the_same_test():
    from grader.cli.regrade import differences
    from grader.run.runner import ExerciseResult, TestResult

    old = {"exercises": [{"name": "01_alpha", "status": "passed", "points": 2, "tests": [
        {"id": "exercises/01_alpha/test_alpha.py::test_double", "outcome": "passed", "points": 2}]}]}
    moved = TestResult("exercises/01_alpha/test_alpha_more.py::test_double", "passed", "passed", 2, 2)
    assert differences(old, [ExerciseResult("01_alpha", "passed", 2, 2, 0.1, tests=[moved])]) == []
    moved.outcome, moved.points = "failed", 0
    assert differences(old, [ExerciseResult("01_alpha", "failed", 0, 2, 0.1, tests=[moved])])[1:] == [
        "  test_double: passed -> failed"]
