"""The GitHub Classroom route under attack: what the student controls cannot buy a grade.

The student owns the repository that ``grader release OUT --github-classroom`` starts: its
workflow, its tests, ``exercises/kit.toml``, ``grader/`` and anything it commits. Two things are
checked here. The workflow's own grading command (read from the generated YAML and run as
written) grades everything anew, so remembered results (forged at import time by an earlier
exercise, or committed) never stand in for grading; and the instructor's ``grader batch`` over
cloned repositories grades with the instructor's kit, whatever the repositories changed.
"""
from __future__ import annotations

import csv
import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from fake_kit import SOLUTIONS, make_kit, run_grader

yaml = pytest.importorskip("yaml")

WORKFLOW = Path(".github/workflows/grade.yml")

# Stores a "passed" result for 02_beta under the cache key of the exercises/ folder it sits beside,
# for both devices: what a student's module can do at import time, or a student can do on a runner
# like CI's and commit.
FORGE_BETA = '''
from pathlib import Path as _Path
from grader.core.results import ExerciseResult as _Result, TestResult as _Test
from grader.run import cache as _cache

def _forge(exercises):
    tests = [_Test("exercises/02_beta/test_beta.py::test_inc", "passed", "passed", 1, 1),
             _Test("exercises/02_beta/test_beta.py::test_threshold", "passed", "passed", 2, 2)]
    for device in ("cpu", "cuda"):
        code = _cache.code_key("02_beta", _Path(exercises), f"device={device} sandbox=False limits=None")
        _cache.store(_cache.key(code, "02_beta"), _Result("02_beta", "passed", 3, 3, 0.1, "", tests))
    (_Path(exercises).parent / "forged.txt").write_text("mounted")
'''


@pytest.fixture
def kit(tmp_path):
    return make_kit(tmp_path / "kit")


def released(kit: Path, out: Path) -> Path:
    proc = run_grader(kit, "release", str(out), "--github-classroom")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return out


def steps_by_name(repo: Path) -> dict[str, dict]:
    workflow = yaml.safe_load((repo / WORKFLOW).read_text())
    (job,) = workflow["jobs"].values()
    return {step.get("name") or step["uses"].split("@")[0]: step for step in job["steps"]}


def run_step(script: str, repo: Path, **env: str) -> subprocess.CompletedProcess:
    """A workflow step's `run` in the repository ``repo``, its `grader` as this Python's `-m grader`."""
    command = script.replace("grader ", f"{shlex.quote(sys.executable)} -m grader ", 1)
    environ = {**os.environ, "GRADER_KIT_ROOT": str(repo), "NO_COLOR": "1", "GRADER_LANG": "en", **env}
    return subprocess.run(["bash", "-e", "-c", command], cwd=repo, env=environ, capture_output=True, text=True,
                          timeout=180)


def workflow_grades(repo: Path) -> dict[str, dict]:
    """Run the workflow's grading step as written in ``repo``; its grader.json, by exercise."""
    step = steps_by_name(repo)["Grade"]
    proc = run_step(step["run"], repo)
    assert proc.returncode in (0, 1), proc.stdout + proc.stderr
    return {e["name"]: e for e in json.loads((repo / "grader.json").read_text())["exercises"]}


def forged_entries(repo: Path) -> list[Path]:
    return sorted((repo / ".grader" / "results").glob("*.json"))


def test_a_module_that_forges_cache_entries_at_import_does_not_pass_the_next_exercise(kit, tmp_path):
    """Attack: 01 (a correct solution) stores "passed" for 02 while its tests import it; 02 is a stub."""
    repo = released(kit, tmp_path / "student")
    module = repo / "exercises" / "01_alpha" / "alpha.py"
    module.write_text(SOLUTIONS["01_alpha/alpha.py"] + FORGE_BETA + "\n_forge(_Path(__file__).resolve().parents[1])\n")

    grades = workflow_grades(repo)

    assert (repo / "forged.txt").exists(), "the attack was not mounted: 01 wrote no cache entry"
    assert grades["01_alpha"]["status"] == "passed"
    assert grades["02_beta"]["status"] == "not_started" and grades["02_beta"]["points"] == 0, grades["02_beta"]
    assert not grades["02_beta"]["cached"]


def test_cache_entries_committed_in_the_repository_are_not_read(kit, tmp_path):
    """Attack: the student computes 02's cache entries on a runner like CI's and commits .grader/results/."""
    repo = released(kit, tmp_path / "student")
    forge = FORGE_BETA + f"\n_forge({str(repo / 'exercises')!r})\n"
    subprocess.run([sys.executable, "-c", forge], cwd=repo, check=True, timeout=60,
                   env={**os.environ, "GRADER_KIT_ROOT": str(repo)})
    assert forged_entries(repo), "the attack was not mounted"

    grades = workflow_grades(repo)

    assert grades["02_beta"]["status"] == "not_started" and not grades["02_beta"]["cached"], grades["02_beta"]
    assert grades["01_alpha"]["status"] == "not_started"


def graded(sandbox: bool, cached_beta: bool) -> dict:
    """A results JSON: 01 graded in this run, 02 remembered from an earlier one when ``cached_beta``."""
    from grader.core.results import ExerciseResult
    from grader.core.results import TestResult as Outcome
    from grader.report.scorecard import to_json

    alpha = ExerciseResult("01_alpha", "passed", 3, 3, 0.4, "", [Outcome("a.py::test_double", "passed", "passed", 3, 3)])
    beta = ExerciseResult("02_beta", "passed", 3, 3, 0.1, "", [Outcome("b.py::test_inc", "passed", "passed", 3, 3)],
                          cached_age=60.0 if cached_beta else None)
    return to_json([alpha, beta], "/repo/exercises", "cpu", sandbox)


def test_summary_says_which_results_were_cached_and_that_the_run_was_not_sandboxed():
    from grader.report.classroom import markdown

    lines = markdown(graded(sandbox=False, cached_beta=True)).splitlines()
    assert "1 cached" in lines[0], f"the heading must say a result was not graded in this run: {lines[0]}"
    beta, alpha = (next(line for line in lines if line.startswith(f"| {name} |")) for name in ("02_beta", "01_alpha"))
    assert "cached" in beta and "cached" not in alpha
    notes = [line for line in lines if "sandbox" in line]
    assert len(notes) == 1 and "not sandboxed" in notes[0].lower(), notes

    plain = markdown(graded(sandbox=True, cached_beta=False))
    assert "cached" not in plain and "sandbox" not in plain, "nothing to say about a fresh, sandboxed run"
    chinese = markdown(graded(sandbox=False, cached_beta=True), "zh-TW")
    assert "快取" in chinese and "沙箱" in chinese


# The runner result as classroom-resources/autograding-grading-reporter@v1 reads it (its src/main.js,
# notify-classroom.js and console-results.js, and the graders' output): base64 JSON in <RUNNER>_RESULTS;
# the points are the sum of the tests' score out of the runner's max_score.
RUNNER_RESULT = {
    "type": "object",
    "required": ["version", "status", "max_score", "tests"],
    "properties": {
        "version": {"const": 1},
        "status": {"enum": ["pass", "fail", "error"]},
        "max_score": {"type": "integer", "minimum": 0},
        "tests": {"type": "array", "minItems": 1, "items": {
            "type": "object",
            "required": ["name", "status", "score", "message", "line_no"],
            "properties": {"name": {"type": "string", "minLength": 1}, "status": {"enum": ["pass", "fail", "error"]},
                           "score": {"type": "integer", "minimum": 0}, "max_score": {"type": "integer", "minimum": 0},
                           "message": {"type": "string", "pattern": "^[^\\n]*$"}, "line_no": {"const": 0},
                           "test_code": {"type": "string"}}}},
    },
}


def reporter_input(output_file: Path) -> dict:
    """What the reporter decodes from the step output ``result`` written to ``output_file``."""
    import base64

    (line,) = [line for line in output_file.read_text().splitlines() if line.startswith("result=")]
    result = json.loads(base64.b64decode(line.removeprefix("result="), validate=True))
    pytest.importorskip("jsonschema").validate(result, RUNNER_RESULT)
    return result


def test_workflow_hands_the_points_to_classrooms_reporter_in_order(kit, tmp_path):
    from grader.report.classroom import REPORTER, RUNNER

    repo = released(kit, tmp_path / "student")
    workflow = yaml.safe_load((repo / WORKFLOW).read_text())
    assert workflow["name"] == "Autograding Tests", "Classroom reads points only from this workflow name"
    assert list(workflow["jobs"]) == ["run-autograding-tests"], "... and this one job"
    assert {"push", "repository_dispatch"} <= set(workflow.get("on", workflow.get(True)))  # YAML 1.1: `on` is True
    assert workflow["jobs"]["run-autograding-tests"]["if"] == "github.actor != 'github-classroom[bot]'"
    steps = workflow["jobs"]["run-autograding-tests"]["steps"]
    names = [step.get("name", step.get("uses", "").split("@")[0]) for step in steps]
    assert names[-5:] == ["Grade", "Scorecard", "Points", "Report the points to GitHub Classroom", "Keep the results"]
    grade, *after = steps[-5:]
    assert "--fresh" in grade["run"].split() and "if" not in grade, "graded anew; its exit status is the job's"
    assert all(step["if"] == "always()" for step in after), "feedback and points even when grading fails"
    points, report = after[1], after[2]
    assert points["run"] == "grader summary grader.json --classroom" and points["id"] == RUNNER
    owner_name, _, version = report["uses"].partition("@")
    assert owner_name == "classroom-resources/autograding-grading-reporter" and version == "v1" == REPORTER.split("@")[1]
    assert report["with"]["runners"] == RUNNER
    assert report["env"] == {f"{RUNNER.upper()}_RESULTS": f"${{{{ steps.{RUNNER}.outputs.result }}}}"}
    header = (repo / WORKFLOW).read_text().split("\nname:")[0]
    for words in ("not a grade", "grader batch", "kit.toml", "grader/"):
        assert words in header, f"the workflow's comment header must say {words!r}"


def test_points_step_writes_each_exercise_as_a_reporter_test(kit, tmp_path):
    repo = released(kit, tmp_path / "student")
    (repo / "exercises" / "01_alpha" / "alpha.py").write_text(SOLUTIONS["01_alpha/alpha.py"])
    steps, output = steps_by_name(repo), tmp_path / "github_output"
    output.touch()
    run_step(steps["Grade"]["run"], repo)
    proc = run_step(steps["Points"]["run"], repo, GITHUB_OUTPUT=str(output))
    assert proc.returncode == 1 and "points 3/6" in proc.stdout, proc.stdout + proc.stderr

    result = reporter_input(output)
    assert result["status"] == "fail" and result["max_score"] == 6
    alpha, beta = result["tests"]
    assert (alpha["name"], alpha["status"], alpha["score"], alpha["max_score"]) == ("01_alpha", "pass", 3, 3)
    assert (beta["name"], beta["status"], beta["score"], beta["max_score"]) == ("02_beta", "fail", 0, 3)
    assert beta["message"].startswith("not started: ") and beta["test_code"] == "grader 02_beta -v"
    assert sum(test["score"] for test in result["tests"]) == 3, "the reporter's 'Points 3/6'"
    assert json.loads((repo / "grader.json").read_text())["sandbox"] is False, "the JSON says it was not sandboxed"

    (repo / "grader.json").unlink()
    proc = run_step(steps["Points"]["run"], repo, GITHUB_OUTPUT=str(output))
    assert proc.returncode == 2 and "grader.json" in proc.stderr
    output.write_text(output.read_text().splitlines()[-1])
    broken = reporter_input(output)
    assert broken["status"] == "error" and broken["tests"][0]["status"] == "error" and "grader.json" in broken["tests"][0]["message"]


def test_reporter_messages_stay_on_one_line():
    """A hand-in's message could start a line with `::notice ...`, a workflow command, in the reporter's log."""
    from grader.report.autograding import runner_result

    data = graded(sandbox=False, cached_beta=True)
    data["exercises"][0].update(status="failed", points=0, message="no\n::notice title=Autograding complete::Points 6/6")
    result = runner_result(data)
    assert "\n" not in result["tests"][0]["message"] and result["tests"][0]["message"].startswith("failed: no ::notice")
    assert result["tests"][1]["message"].startswith("passed (cached")


PASS_EVERYTHING = '''
import pytest

@pytest.mark.points(3)
def test_everything():
    assert True
'''


def git_commit_all(repo: Path) -> None:
    """Commit everything in ``repo`` (ignored files too), as a student pushing to Classroom would."""
    for args in (["init", "-q"], ["add", "-A", "-f"], ["-c", "user.name=s", "-c", "user.email=s@example.org",
                                                        "commit", "-q", "-m", "work"]):
        subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, timeout=60)


def clones_of_one_assignment(kit: Path, clones: Path) -> None:
    """What cloning an assignment's repositories gives: each one a `grader release --github-classroom` copy.

    solved: the reference written into exercises/. stubs: untouched. rewritten: stubs, with tests and
    kit.toml rewritten to pass everything. forged: stubs, with the workflow's grading replaced by a
    committed grader.json that passes everything, and forged cache entries committed."""
    solved = released(kit, clones / "solved")
    for rel, source in SOLUTIONS.items():
        (solved / "exercises" / rel).write_text(source)
    released(kit, clones / "stubs")
    rewritten = released(kit, clones / "rewritten")
    for test in ("01_alpha/test_alpha.py", "02_beta/test_beta.py"):
        (rewritten / "exercises" / test).write_text(PASS_EVERYTHING)
    (rewritten / "exercises" / "kit.toml").write_text('[01_alpha]\nmodule = "test_alpha"\n\n[02_beta]\nmodule = "test_beta"\n')
    forged = released(kit, clones / "forged")
    workflow = (forged / WORKFLOW).read_text()
    (forged / WORKFLOW).write_text(workflow.replace("grader --all --fresh --device cpu --json grader.json", "echo graded"))
    subprocess.run([sys.executable, "-c", FORGE_BETA + f"\n_forge({str(forged / 'exercises')!r})\n"], cwd=forged,
                   check=True, timeout=60, env={**os.environ, "GRADER_KIT_ROOT": str(forged)})
    fake = graded(sandbox=True, cached_beta=False)
    fake.update(target=str(forged / "exercises"), points=6, max_points=6)
    (forged / "grader.json").write_text(json.dumps(fake))
    for repo in (solved, clones / "stubs", rewritten, forged):
        git_commit_all(repo)


def test_batch_over_cloned_repositories_grades_with_the_instructors_kit(kit, tmp_path):
    clones = tmp_path / "assignment-submissions"
    clones_of_one_assignment(kit, clones)

    # On the student's side, what they changed buys full marks: the workflow's result is feedback.
    assert {e["status"] for e in workflow_grades(clones / "rewritten").values()} == {"passed"}
    steps, output = steps_by_name(clones / "forged"), tmp_path / "github_output"
    output.touch()
    run_step(steps["Grade"]["run"], clones / "forged")
    run_step(steps["Points"]["run"], clones / "forged", GITHUB_OUTPUT=str(output))
    assert sum(test["score"] for test in reporter_input(output)["tests"]) == 6, "the dashboard's points are forgeable"
    for repo in ("rewritten", "forged"):
        subprocess.run(["git", "-C", str(clones / repo), "checkout", "-q", "--", "."], check=True, timeout=60)
        subprocess.run(["git", "-C", str(clones / repo), "clean", "-q", "-f", "-d", "-x"], check=True, timeout=60)

    proc = run_grader(kit, "batch", str(clones), "--csv", str(tmp_path / "grades.csv"), "--timeout", "60", timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    rows = {row["handin"]: row for row in csv.DictReader((tmp_path / "grades.csv").open())}
    assert set(rows) == {"solved", "stubs", "rewritten", "forged"}
    assert (rows["solved"]["total"], rows["solved"]["max_total"]) == ("6", "6"), "the instructor's tests pass the reference"
    for cheat in ("stubs", "rewritten", "forged"):
        row = rows[cheat]
        assert (row["total"], row["max_total"]) == ("0", "6"), (cheat, row)
        assert row["01_alpha_status"] == row["02_beta_status"] == "not_started", (cheat, row)
