"""GitHub Classroom: the workflow ``grader release OUT --github-classroom`` adds, and ``grader summary``.

The workflow grades every push on a CPU runner (``grader --all --json grader.json``), so the job
fails unless every exercise passes; whatever happened, it then writes the scorecard as Markdown
to the job summary (``grader summary grader.json`` appends to ``$GITHUB_STEP_SUMMARY``) and
keeps grader.json as an artifact.
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
from grader.report.scorecard import status_label

WORKFLOW_PATH = Path(".github/workflows/grade.yml")
RESULTS = "grader.json"
ICONS = {Status.PASSED: "✅", Status.NOT_STARTED: "⬜", Status.BLOCKED: "⏸️"}  # everything else: ❌
WORKFLOW = """# Grades every push with the kit's own tests on a CPU runner. The job passes only when every
# exercise passes; the scorecard is in the run's summary, grader.json in its artifacts.
name: Grade
on:
  push:
  workflow_dispatch:
permissions:
  contents: read
jobs:
  grade:
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
        run: grader --all --device cpu --json @RESULTS@
      - name: Scorecard
        if: always()
        run: grader summary @RESULTS@
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
    path.write_text(WORKFLOW.replace("@TORCH@", torch).replace("@RESULTS@", RESULTS))
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
    lines = [f"### {t('col_points')}: {points}{extra} · {done}", "",
             f"| {t('col_exercise')} | {t('col_status')} | {t('col_tests')} | {t('col_points')} | {t('col_seconds')} |",
             "|---|---|---:|---:|---:|", *rows,
             f"| **{t('total')}** | {done} | {tests} | **{points}**{extra} | {sum(float(e['seconds']) for e in exercises):.1f} |"]
    if reasons:
        note = [t("english_failures"), ""] if t("english_failures") else []
        lines += ["", f"<details><summary>What to fix ({len(reasons)})</summary>", "", *note, *reasons, "", "</details>"]
    return "\n".join(lines) + "\n"


def show_summary(result: str, lang: str | None) -> int:
    """``grader summary RESULT.json``: the scorecard to $GITHUB_STEP_SUMMARY (when set) or stdout; exit 0
    when every exercise passed, 1 otherwise, 2 when ``result`` is missing or not grader results."""
    try:
        data = json.loads(Path(result).read_text())
        text = markdown(data, i18n.language(lang))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else f"not grader results ({type(exc).__name__}: {exc})"
        print(f"grader summary: {result}: {reason}", file=sys.stderr)
        text, data = f"### No scorecard\n\n`{cell(result)}`: {cell(reason)} (see the grading step's log).\n", None
    summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if summary:
        with open(summary, "a", encoding="utf-8") as f:
            f.write(text)
        print(f"grader summary: scorecard written to the job summary ({summary})")
    else:
        print(text, end="")
    if data is None:
        return 2
    return 0 if data["exercises"] and all(e["status"] == Status.PASSED for e in data["exercises"]) else 1
