"""GitHub Classroom on the stand-in kit: `grader release --github-classroom` and `grader summary`.

The workflow is parsed as YAML, and its grading and scorecard steps are run as written (with
`grader` spelled `python -m grader`) in the released copy, GITHUB_STEP_SUMMARY pointing at a
temporary file.
"""
from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from fake_kit import SOLUTIONS, make_kit, run_grader

from grader.core.results import ExerciseResult
from grader.core.results import TestResult as Outcome
from grader.report.classroom import markdown
from grader.report.scorecard import to_json

yaml = pytest.importorskip("yaml")


@pytest.fixture
def kit(tmp_path):
    return make_kit(tmp_path / "kit")


def released(kit: Path, out: Path, *flags: str) -> Path:
    proc = run_grader(kit, "release", str(out), *flags)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return out


def steps_by_name(workflow: dict) -> dict[str, dict]:
    (job,) = workflow["jobs"].values()
    return {step.get("name") or step["uses"].split("@")[0]: step for step in job["steps"]}


def test_release_adds_a_workflow_that_grades_every_push(kit, tmp_path):
    assert not (released(kit, tmp_path / "plain") / ".github").exists(), "only on request"
    out = released(kit, tmp_path / "student", "--github-classroom")
    workflow = yaml.safe_load((out / ".github" / "workflows" / "grade.yml").read_text())
    triggers = workflow.get("on", workflow.get(True))  # YAML 1.1 reads a bare `on` as True
    assert "push" in triggers
    (job,) = workflow["jobs"].values()
    assert job["runs-on"] == "ubuntu-latest" and job["timeout-minutes"] > 0
    steps = steps_by_name(workflow)
    assert job["steps"][0]["uses"].startswith("actions/checkout@")
    install = steps["Install the kit (CPU-only torch)"]["run"]
    assert "download.pytorch.org/whl/cpu" in install and "pip install -e ." in install and '"torch>=' in install
    assert steps["Grade"]["run"].split()[:2] == ["grader", "--all"] and "--json grader.json" in steps["Grade"]["run"]
    assert "if" not in steps["Grade"], "the grading step's exit status is the job's"
    assert steps["Scorecard"]["if"] == "always()" and steps["Scorecard"]["run"] == "grader summary grader.json"
    artifact = steps["Keep the results"]
    assert artifact["uses"].startswith("actions/upload-artifact@") and artifact["if"] == "always()"
    assert artifact["with"]["path"] == "grader.json"


def run_step(script: str, cwd: Path, summary: Path) -> subprocess.CompletedProcess:
    """A workflow step's `run`, with `grader` as this Python's `-m grader`, on the copy at ``cwd``."""
    command = script.replace("grader ", f"{shlex.quote(sys.executable)} -m grader ", 1)
    env = {**os.environ, "GRADER_KIT_ROOT": str(cwd), "GITHUB_STEP_SUMMARY": str(summary), "NO_COLOR": "1",
           "GRADER_LANG": "en"}
    return subprocess.run(["bash", "-e", "-c", command], cwd=cwd, env=env, capture_output=True, text=True, timeout=120)


def test_workflow_steps_grade_and_write_the_job_summary(kit, tmp_path):
    out = released(kit, tmp_path / "student", "--github-classroom")
    steps = steps_by_name(yaml.safe_load((out / ".github" / "workflows" / "grade.yml").read_text()))
    summary = tmp_path / "summary.md"

    grade = run_step(steps["Grade"]["run"], out, summary)
    assert grade.returncode == 1, "a fresh copy does not pass, so the job fails"
    shown = run_step(steps["Scorecard"]["run"], out, summary)
    assert shown.returncode == 1 and "job summary" in shown.stdout
    text = summary.read_text()
    assert "| 01_alpha | ⬜ not started | 0/2 | 0/3 |" in text and "| **total** | 0/2 passed | 0/4 | **0/6** |" in text
    assert "01_alpha** (not started): " in text, "the reason is in the summary"

    for rel, source in SOLUTIONS.items():
        (out / "exercises" / rel).write_text(source)
    assert run_step(steps["Grade"]["run"], out, summary).returncode == 0
    assert run_step(steps["Scorecard"]["run"], out, summary).returncode == 0
    latest = summary.read_text()[len(text):]
    assert "| 02_beta | ✅ passed | 2/2 | 3/3 |" in latest and "**6/6**" in latest and "What to fix" not in latest


def sample() -> dict:
    tests = [Outcome("t.py::test_a", "passed", "passed", 2, 2),
             Outcome("t.py::test_b", "failed", "failed", 0, 3, "x | y\n<script>alert(1)</script> & more")]
    return to_json([ExerciseResult("01_alpha", "failed", 2, 5, 1.26, "x | y\n<script>alert(1)</script> & more", tests),
                    ExerciseResult("02_beta", "timeout", 0, 1, 30.0, "exceeded the time limit of 30 s",
                                   [Outcome("u.py::test_c", "error", "error", 0, 1, "not run")]),
                    ExerciseResult("03_gamma", "passed", 4, 4, 2.0, "", [Outcome("v.py::test_d", "passed", "passed", 4, 4)],
                                   bonus=True)], "/h", "cpu")


def test_markdown_scorecard_rows_totals_and_escaping():
    text = markdown(sample())
    lines = text.splitlines()
    table = [line for line in lines if line.startswith("|")]
    assert len(table) == 2 + 3 + 1 and all(line.count(" | ") == 4 for line in table[2:] if "\\|" not in line)
    assert "| 01_alpha | ❌ failed | 1/2 | 2/5 | 1.3 |" in lines
    assert "| 03_gamma (bonus) | ✅ passed | 1/1 | 4/4 | 2.0 |" in lines
    assert lines[-1] == "</details>" and "| **total** | 1/3 passed | 2/4 | **2/6** + bonus 4/4 | 33.3 |" in lines
    reason = next(line for line in lines if line.startswith("- **01_alpha**"))
    assert "x \\| y &lt;script&gt;alert(1)&lt;/script&gt; &amp; more" in reason and "<script>" not in text
    chinese = markdown(sample(), "zh-TW")
    assert "| 練習 | 狀態 | 測試 | 分數 | 秒數 |" in chinese and "逾時" in chinese


def test_summary_exit_status_and_unreadable_results(tmp_path, kit):
    result = tmp_path / "r.json"
    result.write_text(json.dumps(sample()))
    proc = run_grader(kit, "summary", str(result))
    assert proc.returncode == 1 and proc.stdout.startswith("### points: 2/6")
    summary = tmp_path / "summary.md"
    for bad in (tmp_path / "missing.json", tmp_path / "junk.json"):
        if bad.name == "junk.json":
            bad.write_text('{"exercises": 3}')
        proc = run_grader(kit, "summary", str(bad), env={"GITHUB_STEP_SUMMARY": str(summary)})
        assert proc.returncode == 2 and "Traceback" not in proc.stderr and bad.name in proc.stderr
    assert summary.read_text().count("### No scorecard") == 2
