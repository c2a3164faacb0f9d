"""GitHub Classroom's autograding result: a results JSON as the runner output its grading reporter reads.

Classroom's own graders (``classroom-resources/autograding-*-grader``) end by writing
``result=BASE64`` to ``$GITHUB_OUTPUT``: base64 of a JSON object with ``version``, ``status``
(``pass``, ``fail`` or ``error``), ``max_score`` and ``tests``, each test with ``name``,
``status``, ``score`` and ``message``. The reporter (``classroom-resources/autograding-grading-reporter``)
reads that output from the environment variable ``<RUNNER>_RESULTS``, adds up the tests'
``score`` against the runners' ``max_score`` and leaves "Points X/Y" on the run, which is what
Classroom's dashboard shows. Here every exercise is one test, worth its points, so the dashboard's
total is the one ``grader batch`` writes to its CSV (bonus exercises included).
"""
from __future__ import annotations

import base64
import json

from grader.core.results import Status
from grader.core.text import clip

VERSION = 1
MESSAGE_CHARS = 500


def one_line(text: str) -> str:
    """``text`` on one line, clipped: the reporter prints it into the job's log, where a line that
    starts with ``::`` would be read as a workflow command."""
    return clip(" ".join(str(text).split()), MESSAGE_CHARS)


def test_status(status: str) -> str:
    """An exercise's status as a reporter test status: passed -> pass, error and timeout -> error,
    anything else (failed, not started, blocked) -> fail."""
    if status == Status.PASSED:
        return "pass"
    return "error" if status in (Status.ERROR, Status.TIMEOUT) else "fail"


def runner_result(data: dict) -> dict:
    """The results JSON (docs/results-schema.json) as one runner's result: an exercise per test.

    Raises KeyError/TypeError/ValueError on something that is not grader results."""
    tests = []
    for e in data["exercises"]:
        points, max_points = int(e["points"]), int(e["max_points"])
        status = Status(e["status"])
        message = status.label + (f": {e['message']}" if status != Status.PASSED and e.get("message") else "")
        if e.get("cached"):
            message += " (cached: remembered, not graded in this run)"
        tests.append({"name": f"{e['name']} (bonus)" if e.get("bonus") else str(e["name"]), "status": test_status(status),
                      "score": points, "max_score": max_points, "message": one_line(message),
                      "test_code": f"grader {e['name']} -v", "line_no": 0})
    passed = bool(tests) and all(t["status"] == "pass" for t in tests)
    return {"version": VERSION, "status": "pass" if passed else "fail",
            "max_score": sum(t["max_score"] for t in tests), "tests": tests}


def unreadable_result(reason: str) -> dict:
    """The runner result when there are no grader results to convert (the grading step never wrote them)."""
    return {"version": VERSION, "status": "error", "max_score": 0,
            "tests": [{"name": "grader", "status": "error", "score": 0, "max_score": 0,
                       "message": one_line(reason), "line_no": 0}]}


def encoded(result: dict) -> str:
    """The runner result as the reporter reads it: base64 of its compact UTF-8 JSON, one line."""
    return base64.b64encode(json.dumps(result, separators=(",", ":"), ensure_ascii=False).encode()).decode("ascii")
