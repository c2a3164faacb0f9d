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
