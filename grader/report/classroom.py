"""GitHub Classroom: the workflow ``grader release OUT --github-classroom`` adds, and ``grader summary``.

The workflow grades every push anew on a CPU runner (``grader --all --fresh --json grader.json``),
so the job fails unless every exercise passes; whatever happened, it then writes the scorecard as
Markdown to the job summary (``grader summary grader.json`` appends to ``$GITHUB_STEP_SUMMARY``),
hands the points to Classroom's grading reporter (``grader summary grader.json --classroom``) and
keeps grader.json as an artifact. It is feedback for the student, who owns the repository and its
workflow; the instructor's grade comes from ``grader batch`` over the cloned repositories.
"""
from __future__ import annotations

import json
import os
import sys
from functools import partial
from pathlib import Path

from grader.core import i18n, kit
from grader.core.results import Status
from grader.core.text import clip
from grader.report import autograding
from grader.report.scorecard import status_label

WORKFLOW_PATH = Path(".github/workflows/grade.yml")
RESULTS = "grader.json"
RUNNER = "exercises"  # the reporter reads this runner's result from EXERCISES_RESULTS
REPORTER = "classroom-resources/autograding-grading-reporter@v1"
ICONS = {Status.PASSED: "✅", Status.NOT_STARTED: "⬜", Status.BLOCKED: "⏸️"}  # everything else: ❌
WORKFLOW = """# Feedback for the student, not a grade. Every push is graded anew (--fresh) with the tests in
# this repository on a CPU runner; the scorecard goes to the run's summary, the points to GitHub
# Classroom through its grading reporter, grader.json to the run's artifacts. The student owns
# this repository: this workflow, the tests, exercises/kit.toml and grader/ are theirs to edit,
# so what this run reports is only as trustworthy as they are. The grade an instructor can trust
# comes from cloning the repositories and running `grader batch CLONES_DIR --csv grades.csv`
# with the instructor's own kit (the kit's docs/grading-a-class.md). Classroom reads points
# only from a workflow named "Autograding Tests" whose one job is run-autograding-tests.
name: Autograding Tests
on:
  push:
  workflow_dispatch:
  repository_dispatch:
permissions:
  checks: write
  actions: read
  contents: read
jobs:
  run-autograding-tests:
    if: github.actor != 'github-classroom[bot]'
    runs-on: ubuntu-latest
    timeout-minutes: 45
    steps:
      - uses: actions/checkout@v4
      - uses: actions/setup-python@v5
        with:
          python-version: "3.11"
          cache: pip
      - name: Install the kit (CPU-only torch)
        run: |
          python -m pip install --upgrade pip
          pip install --index-url https://download.pytorch.org/whl/cpu @TORCH@
          pip install -e .
      - name: Cache the datasets
        uses: actions/cache@v4
        with:
          path: data
          key: datasets-${{ hashFiles('grader/data/*.py') }}
      - name: Fetch the datasets
        run: grader data || echo "::warning::datasets unavailable; the tests that need them will say so"
      - name: Grade
        run: grader --all --fresh --device cpu --json @RESULTS@
      - name: Scorecard
        if: always()
        run: grader summary @RESULTS@
      - name: Points
        id: @RUNNER@
        if: always()
        run: grader summary @RESULTS@ --classroom
      - name: Report the points to GitHub Classroom
        if: always()
        uses: @REPORTER@
        env:
          @RUNNER_ENV@: ${{ steps.@RUNNER@.outputs.result }}
        with:
          runners: @RUNNER@
      - name: Keep the results
        if: always()
        uses: actions/upload-artifact@v4
        with:
          name: grader-results
          path: @RESULTS@
          if-no-files-found: warn
"""


def write_workflow(out: Path) -> Path:
    """Write the grading workflow into the copy at ``out``; its path."""
    torch = " ".join(f'"{s}"' for s in kit.torch_requirements(out / "pyproject.toml"))
    path = out / WORKFLOW_PATH
    path.parent.mkdir(parents=True, exist_ok=True)
    text = WORKFLOW.replace("@TORCH@", torch).replace("@RESULTS@", RESULTS).replace("@REPORTER@", REPORTER)
    path.write_text(text.replace("@RUNNER_ENV@", f"{RUNNER.upper()}_RESULTS").replace("@RUNNER@", RUNNER))
    return path


def cell(text: object) -> str:
    """``text`` safe inside a Markdown table cell: one line, no HTML, no column breaks."""
    value = " ".join(str(text).split())
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("|", "\\|")


def markdown(data: dict, lang: str = "en") -> str:
    """The results JSON (docs/results-schema.json) as a Markdown scorecard: a table with a total row,
    then each unfinished exercise's reason. Raises KeyError/TypeError on something else."""
    t = partial(i18n.text, lang=lang)
    exercises = data["exercises"]
    rows, reasons = [], []
    for e in exercises:
        tests = e["tests"]
        passed = sum(test["outcome"] == Status.PASSED for test in tests)
        name = f"{e['name']} {t('bonus_tag')}" if e.get("bonus") else e["name"]
        label = f"{ICONS.get(e['status'], '❌')} {status_label(e['status'], lang)}"
        label += f" {t('cached_tag')}" if e["cached"] else ""
        rows.append(f"| {cell(name)} | {label} | {passed}/{len(tests)} | {e['points']}/{e['max_points']} "
                    f"| {float(e['seconds']):.1f} |")
        if e["status"] != Status.PASSED and e.get("message"):
            reasons.append(f"- **{cell(e['name'])}** ({status_label(e['status'], lang)}): {cell(clip(e['message'], 500))}")
    core = [e for e in exercises if not e.get("bonus")]
    bonus = [e for e in exercises if e.get("bonus")]
    points = f"{sum(e['points'] for e in core)}/{sum(e['max_points'] for e in core)}"
    extra = f" {t('bonus_total')} {sum(e['points'] for e in bonus)}/{sum(e['max_points'] for e in bonus)}" if bonus else ""
    done = t("n_passed", passed=sum(e["status"] == Status.PASSED for e in exercises), total=len(exercises))
    tests = f"{sum(x['outcome'] == Status.PASSED for e in exercises for x in e['tests'])}/{sum(len(e['tests']) for e in exercises)}"
    cached = sum(bool(e["cached"]) for e in exercises)
    heading = f"### {t('col_points')}: {points}{extra} · {done}" + (f" · {t('n_cached', count=cached)}" if cached else "")
    sandbox = [t("not_sandboxed"), ""] if data["sandbox"] is False else []
    lines = [heading, "", *sandbox,
             f"| {t('col_exercise')} | {t('col_status')} | {t('col_tests')} | {t('col_points')} | {t('col_seconds')} |",
             "|---|---|---:|---:|---:|", *rows,
             f"| **{t('total')}** | {done} | {tests} | **{points}**{extra} | {sum(float(e['seconds']) for e in exercises):.1f} |"]
    if reasons:
        note = [t("english_failures"), ""] if t("english_failures") else []
        lines += ["", f"<details><summary>What to fix ({len(reasons)})</summary>", "", *note, *reasons, "", "</details>"]
    return "\n".join(lines) + "\n"


def write_scorecard(text: str) -> None:
    """Append ``text`` to $GITHUB_STEP_SUMMARY when it is set (the run's page shows it), else print it."""
    summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if summary:
        with open(summary, "a", encoding="utf-8") as f:
            f.write(text)
        print(f"grader summary: scorecard written to the job summary ({summary})")
    else:
        print(text, end="")


def write_points(runner: dict) -> None:
    """Write the runner result as the step output ``result`` ($GITHUB_OUTPUT) for Classroom's grading
    reporter (:mod:`grader.report.autograding`); print ``result=...`` when that is not set."""
    line = f"result={autograding.encoded(runner)}\n"
    output = os.environ.get("GITHUB_OUTPUT")
    if output:
        with open(output, "a", encoding="utf-8") as f:
            f.write(line)
        score = sum(test["score"] for test in runner["tests"])
        print(f"grader summary: points {score}/{runner['max_score']} written to the step output `result` "
              "for GitHub Classroom's grading reporter")
    else:
        print(line, end="")


def show_summary(result: str, lang: str | None, classroom: bool = False) -> int:
    """``grader summary RESULT.json``: the scorecard (:func:`write_scorecard`), or with ``classroom`` the
    points for GitHub Classroom (:func:`write_points`); exit 0 when every exercise passed, 1 otherwise,
    2 when ``result`` is missing or not grader results."""
    try:
        data = json.loads(Path(result).read_text())
        text, runner = markdown(data, i18n.language(lang)), autograding.runner_result(data)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else f"not grader results ({type(exc).__name__}: {exc})"
        print(f"grader summary: {result}: {reason}", file=sys.stderr)
        text = f"### No scorecard\n\n`{cell(result)}`: {cell(reason)} (see the grading step's log).\n"
        data, runner = None, autograding.unreadable_result(f"{result}: {reason}")
    if classroom:
        write_points(runner)
    else:
        write_scorecard(text)
    if data is None:
        return 2
    return 0 if data["exercises"] and all(e["status"] == Status.PASSED for e in data["exercises"]) else 1
