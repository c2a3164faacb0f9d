"""Instructor and learner tooling on the stand-in kit: `grader release`, `grader batch`, `grader watch`,
and the Gradescope results.json."""
from __future__ import annotations

import csv
import json
import os
import queue
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from fake_kit import SOLUTIONS, STUBS, handin, make_kit, run_grader

from grader.cli.batch import csv_text
from grader.cli.grading import grade_handin, results_of
from grader.cli.release import find_leaks, releasable
from grader.cli.settings import Settings
from grader.cli.watch import snapshot, wait_for_change
from grader.core.results import ExerciseResult
from grader.core.results import TestResult as Outcome
from grader.report.scorecard import to_gradescope


@pytest.fixture
def kit(tmp_path):
    return make_kit(tmp_path / "kit")


def files_under(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}


# ---------------------------------------------------------------- release

def add_clutter(kit: Path) -> None:
    """What a working kit has lying around that must never reach students."""
    for rel, text in {"README.md": "# The kit\n\nRun `grader --all --solutions`.\n", ".gitignore": "__pycache__/\n",
                      "data/README.md": "# data\n", "data/MNIST/raw/train-images-idx3-ubyte": "x",
                      "tests/gallery/01_alpha.py": "MUTANTS = []\n", "tests/test_kit.py": "", "runs/log.txt": "x",
                      ".grader/progress.json": "{}", ".git/config": "", ".ci/run": "",
                      "exercises/01_alpha/__pycache__/alpha.cpython-312.pyc": "x",
                      "exercises/01_alpha/.alpha.py.swp": "x",
                      "nn_basics_kit.egg-info/SOURCES.txt": "solutions/01_alpha/alpha.py"}.items():
        (kit / rel).parent.mkdir(parents=True, exist_ok=True)
        (kit / rel).write_text(text)


def test_release_is_a_working_student_copy(kit, tmp_path):
    add_clutter(kit)
    out = tmp_path / "student"
    proc = run_grader(kit, "release", str(out))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "no solution code found" in proc.stdout
    assert files_under(out) == {
        "README.md", ".gitignore", "data/README.md", "pyproject.toml",
        "exercises/kit.toml", "exercises/01_alpha/README.md", "exercises/01_alpha/alpha.py", "exercises/01_alpha/test_alpha.py",
        "exercises/02_beta/README.md", "exercises/02_beta/beta.py", "exercises/02_beta/test_beta.py"}
    assert "Student copy" in (out / "README.md").read_text()
    assert 'testpaths = ["exercises"]' in (out / "pyproject.toml").read_text()

    report = tmp_path / "r.json"
    graded = run_grader(out, "--all", "--json", str(report))
    assert graded.returncode == 1, graded.stdout + graded.stderr
    assert {e["name"]: e["status"] for e in json.loads(report.read_text())["exercises"]} == {
        "01_alpha": "not_started", "02_beta": "not_started"}
    no_solutions = run_grader(out, "--all", "--solutions")
    assert no_solutions.returncode == 2 and "a student copy has no solutions" in no_solutions.stderr


def test_release_refuses_a_non_empty_folder_unless_forced(kit, tmp_path):
    out = tmp_path / "student"
    (out / "solutions").mkdir(parents=True)
    (out / "solutions" / "old.py").write_text("stale")
    refused = run_grader(kit, "release", str(out))
    assert refused.returncode == 2 and "not empty" in refused.stderr and "--force" in refused.stderr
    assert (out / "solutions" / "old.py").exists(), "a refused release must not touch OUT"
    forced = run_grader(kit, "release", str(out), "--force")
    assert forced.returncode == 0, forced.stdout + forced.stderr
    assert not (out / "solutions").exists(), "--force replaces OUT's contents, stale files included"
    into_kit = run_grader(kit, "release", str(kit), "--force")
    assert into_kit.returncode == 2 and "refusing" in into_kit.stderr
    assert (kit / "solutions" / "01_alpha" / "alpha.py").exists()


def test_release_in_a_git_checkout_uses_what_git_knows(kit, tmp_path):
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    (kit / ".gitignore").write_text("scratch.py\n")
    (kit / "exercises" / "01_alpha" / "scratch.py").write_text("print('mine')\n")
    (kit / "exercises" / "01_alpha" / "notes.md").write_text("untracked, not ignored\n")
    subprocess.run(["git", "init", "-q", str(kit)], check=True)
    subprocess.run(["git", "-C", str(kit), "add", "exercises", "solutions", "pyproject.toml", ".gitignore",
                    ":!exercises/01_alpha/notes.md"], check=True)
    out = tmp_path / "student"
    proc = run_grader(kit, "release", str(out))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    released = files_under(out)
    assert "exercises/01_alpha/scratch.py" not in released, "git-ignored files stay out"
    assert "exercises/01_alpha/notes.md" in released and "not yet committed" in proc.stdout
    assert not any(p.startswith("solutions/") for p in released)


def test_releasable_paths():
    assert releasable("exercises/04_train/train.py") and releasable("grader/cli/main.py") and releasable("LICENSE")
    for rel in ("solutions/04_train/train.py", "tests/gallery/04_train.py", "data/MNIST/raw/x", ".git/HEAD",
                "exercises/04_train/__pycache__/train.pyc", "grader/.cache/x", "runs/a", ".ci/run", "setup.py~"):
        assert not releasable(rel), rel


def test_leak_scan(kit, tmp_path):
    out = tmp_path / "out"
    shutil.copytree(kit / "exercises", out / "exercises")
    solutions = kit / "solutions"
    assert find_leaks(out, solutions) == []
    # the solution pasted over a stub, and a solution function with a new docstring elsewhere
    (out / "exercises" / "01_alpha" / "alpha.py").write_text(SOLUTIONS["01_alpha/alpha.py"])
    (out / "grader").mkdir()
    (out / "grader" / "util.py").write_text('def inc(x: int) -> int:\n    """Another docstring."""\n    return x + 1\n')
    problems = "\n".join(find_leaks(out, solutions))
    assert "exercises/01_alpha/alpha.py: identical to solutions/01_alpha/alpha.py" in problems
    assert "grader/util.py: inc is the solution's code (solutions/02_beta/beta.py: inc)" in problems
    assert "exercises/01_alpha/alpha.py: no NotImplementedError left" in problems


def test_leak_scan_allows_only_helpers_committed_in_the_stub(kit, tmp_path):
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    helper = "\n\ndef scale(x: int) -> int:\n    return 10 * x\n"
    for root in (kit / "solutions", kit / "exercises"):
        path = root / "01_alpha" / "alpha.py"
        path.write_text(path.read_text() + helper)
    git = ["git", "-C", str(kit), "-c", "user.name=t", "-c", "user.email=t@example.org"]
    subprocess.run(["git", "init", "-q", str(kit)], check=True)
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "kit"], check=True)
    out = tmp_path / "out"
    shutil.copytree(kit / "exercises", out / "exercises")
    assert find_leaks(out, kit / "solutions") == [], "a helper given complete in the committed stub is no leak"
    # the lesson pasted below the stub, which still raises NotImplementedError above it
    beta = out / "exercises" / "02_beta" / "beta.py"
    beta.write_text(beta.read_text() + "\n\n" + SOLUTIONS["02_beta/beta.py"].split('"""Beta."""', 1)[1])
    assert find_leaks(out, kit / "solutions") == [
        "exercises/02_beta/beta.py: inc is the solution's code (solutions/02_beta/beta.py: inc)"]


# ---------------------------------------------------------------- batch

BATCH = {  # hand-in -> (alpha, beta) module sources; None leaves the module out
    "alice": (SOLUTIONS["01_alpha/alpha.py"], SOLUTIONS["02_beta/beta.py"]),
    "bob": ("def double(x):\n    return x + x if x > 0 else 0\n", STUBS["02_beta/beta.py"]),
    "dave": ("def double(x)\n    return 2 * x\n", "while True:\n    pass\n"),
    "Zed, \"the\" garbage": ("\x00\xff not python at all", None),
}


def test_batch_grades_every_handin_into_csv_and_json(kit, tmp_path):
    handins = tmp_path / "handins"
    for name, (alpha, beta) in BATCH.items():
        handin(handins / name, alpha=alpha, beta=beta)
    handin(handins / "carol" / "kit-main" / "exercises")  # zipped with its top folders
    (handins / "erin").mkdir()  # an empty hand-in
    (handins / "notes.txt").write_text("a file, maybe an archive nobody unpacked: its row says so")
    out_csv, json_dir = tmp_path / "grades" / "grades.csv", tmp_path / "json"
    proc = run_grader(kit, "batch", str(handins), "--csv", str(out_csv), "--json-dir", str(json_dir),
                      "--jobs", "2", "--timeout", "15", "--device", "cpu", timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr

    with open(out_csv, newline="") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == ["handin", "01_alpha", "02_beta", "total", "max_total", "01_alpha_status", "02_beta_status",
                             "sandboxed", "kit_files_changed"]
    columns = ("01_alpha", "02_beta", "total", "max_total", "01_alpha_status", "02_beta_status")
    table = {r["handin"]: tuple(r[c] for c in columns) for r in rows}
    assert [r["handin"] for r in rows] == sorted(table), "rows are sorted by hand-in name"
    assert table == {
        "Zed, \"the\" garbage": ("0", "0", "0", "6", "error", "error"),
        "alice": ("3", "3", "6", "6", "passed", "passed"),
        "bob": ("2", "0", "2", "6", "failed", "not_started"),
        "carol": ("3", "3", "6", "6", "passed", "passed"),
        "dave": ("0", "0", "0", "6", "error", "timeout"),
        "erin": ("0", "0", "0", "6", "error", "error"),
        "notes.txt": ("0", "0", "0", "0", "error", "error"),
    }
    assert sorted(p.name for p in json_dir.iterdir()) == sorted(f"{name}.json" for name in table)
    report = json.loads((json_dir / "carol.json").read_text())
    assert set(report) == {"target", "device", "sandbox", "environment", "points", "max_points", "exercises",
                           "kit_files_changed"}
    assert report["sandbox"] is report["environment"]["sandbox"]
    assert report["target"].endswith("carol/kit-main/exercises") and report["points"] == 6
    assert "time limit" in json.loads((json_dir / "dave.json").read_text())["exercises"][1]["message"]


def test_batch_usage_errors(kit, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    assert run_grader(kit, "batch", str(empty)).returncode == 2, "--csv is required"
    assert run_grader(kit, "batch", str(tmp_path / "missing"), "--csv", "x.csv").returncode == 2
    nothing = run_grader(kit, "batch", str(empty), "--csv", str(tmp_path / "x.csv"), "--device", "cpu")
    assert nothing.returncode == 2 and "no hand-in folders" in nothing.stderr
    handin(tmp_path / "h" / "alice")
    assert run_grader(kit, "batch", str(tmp_path / "h"), "zz", "--csv", "x.csv").returncode == 2


def test_batch_survives_the_grader_failing_on_a_handin(monkeypatch, tmp_path):
    import grader.cli.grading

    def explode(names, options, settings):
        raise OSError("disk on fire")

    monkeypatch.setattr(grader.cli.grading, "grade", explode)
    (tmp_path / "alice").mkdir()
    report, crashed = grade_handin(tmp_path / "alice", ["01_alpha", "02_beta"], Settings(timeout=5.0))
    results = results_of(report)
    assert crashed and [r.status for r in results] == ["error", "error"]
    assert "disk on fire" in results[0].message
    text = csv_text(["01_alpha", "02_beta"], [("al,ice", results, False, [])])
    assert text.splitlines()[1] == '"al,ice",0,0,0,0,error,error,no,'


# ---------------------------------------------------------------- Gradescope

def test_gradescope_results_follow_the_specification():
    tests = [Outcome("t.py::test_a", "passed", "passed", 2, 2),
             Outcome("t.py::test_b", "failed", "failed", 0, 3, "x <lambda> wrong"),
             Outcome("t.py::test_c", "skipped", "blocked", 0, 5, "blocked: needs test_b")]
    results = [ExerciseResult("01_alpha", "failed", 2, 10, 1.6, "x wrong", tests),
               ExerciseResult("02_beta", "error", 0, 0, 0.7, "beta.py is missing")]
    data = json.loads(json.dumps(to_gradescope(results)))
    assert data["score"] == sum(t["score"] for t in data["tests"]) == 2
    assert isinstance(data["execution_time"], int) and data["test_output_format"] == "text"
    assert [t["status"] for t in data["tests"]] == ["passed", "failed", "failed", "failed"]
    assert [t["max_score"] for t in data["tests"]] == [2, 3, 5, 0]
    assert all(t["visibility"] in ("hidden", "after_due_date", "after_published", "visible") for t in data["tests"])
    assert data["tests"][1]["output"] == "x <lambda> wrong" and data["tests"][1]["name"] == "01_alpha: test_b"


# ---------------------------------------------------------------- watch

def test_wait_for_change_sees_a_save(tmp_path):
    module = tmp_path / "alpha.py"
    module.write_text("x = 1\n")
    before = snapshot([tmp_path])
    threading.Timer(0.3, lambda: module.write_text("x = 22\n")).start()
    started = time.perf_counter()
    wait_for_change([tmp_path], before, 0.05)
    assert 0.25 < time.perf_counter() - started < 5 and snapshot([tmp_path]) != before


class Lines:
    """A subprocess's stdout, read line by line in the background."""

    def __init__(self, proc: subprocess.Popen):
        self.queue: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        threading.Thread(target=lambda: [self.queue.put(line) for line in proc.stdout], daemon=True).start()

    def wait_for(self, text: str, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.queue.get(timeout=0.2)
            except queue.Empty:
                continue
            self.seen.append(line)
            if text in line:
                return
        raise AssertionError(f"{text!r} not printed within {timeout} s; output so far:\n{''.join(self.seen)}")


def test_watch_reruns_on_save_moves_on_and_stops_on_ctrl_c(kit):
    env = {**os.environ, "GRADER_KIT_ROOT": str(kit), "NO_COLOR": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "grader", "watch", "--device", "cpu", "--interval", "0.1"],
                            cwd=kit, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        lines = Lines(proc)
        lines.wait_for("01_alpha: not started")
        lines.wait_for("01_alpha.double: return 2 * x")  # the first reason it does not pass
        lines.wait_for("Watching exercises/01_alpha")
        (kit / "exercises" / "01_alpha" / "alpha.py").write_text("def double(x):\n    return x + x if x > 0 else 0\n")
        lines.wait_for("01_alpha: failed  1/2 tests  2/3 points")
        lines.wait_for("double(-2) must be -4")
        (kit / "exercises" / "01_alpha" / "alpha.py").write_text(SOLUTIONS["01_alpha/alpha.py"])
        lines.wait_for("01_alpha: passed")
        lines.wait_for("Moving on to 02_beta")
        lines.wait_for("Watching exercises/02_beta")
        proc.send_signal(signal.SIGINT)
        lines.wait_for("Stopped watching")
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert "Traceback" not in "".join(lines.seen)
    assert "  passed test_double" in "".join(lines.seen), "each test's outcome is printed as it finishes"
    progress = run_grader(kit)
    assert "1/2" in progress.stdout and "Next: 02_beta" in progress.stdout and "checking 01_alpha" not in progress.stderr, (
        "a pass seen by watch is remembered for `grader`")
