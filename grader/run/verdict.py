"""What the results channel says: the plugin's signed events, and the process's fate, read as one
ExerciseResult whose status the graded code cannot talk up.

The channel must hold, in order: one "collected" event, one "result" per collected test in
collection order, one "finished" event. A forged or out-of-order line, a second "collected", or
a control test with the wrong outcome means the graded code interfered: the exercise is an
error worth no points. A process that ended early or whose exit status contradicts the results
is never read as a pass.
"""
from __future__ import annotations

import json

from grader.core import kit
from grader.core.results import TEST_KINDS, ExerciseResult, Status, TestResult
from grader.core.text import clip
from grader.run.integrity import verify

CONTROL_PREFIX = "test_grader_control_"


def parse_events(data: bytes, key: str) -> tuple[list[dict], int]:
    """The correctly signed events of the results channel, and how many lines were not."""
    events, forged = [], 0
    for line in data.decode(errors="replace").splitlines():
        try:
            event = json.loads(line)
        except (json.JSONDecodeError, RecursionError):
            event = None
        if isinstance(event, dict) and verify(key, event):
            events.append(event)
        else:
            forged += 1
    return events, forged


def as_test(event: dict, max_points: int) -> TestResult:
    """A "result" event as a TestResult worth at most ``max_points`` (the announced value)."""
    kind = Status(event["kind"]) if event.get("kind") in TEST_KINDS else Status.ERROR
    points = max_points if kind == Status.PASSED else 0
    metrics = event.get("metrics") if isinstance(event.get("metrics"), dict) else None
    raw = event.get("translations")
    translations: dict = raw if isinstance(raw, dict) else {}
    return TestResult(str(event.get("id")), kind.outcome, kind, points, max_points, clip(str(event.get("message", ""))),
                      metrics, clip(str(event.get("cause") or ""), 120),
                      {str(k): clip(str(v)) for k, v in translations.items()} or None)


def _control_problem(results: dict[str, dict], expected: list[str]) -> str | None:
    """Why the control tests (one must pass, one must fail) show interference, or None."""
    for tid in expected:
        kind = results.get(tid, {}).get("kind")
        want = Status.PASSED if tid.endswith("_pass") else Status.FAILED
        if kind is not None and kind != want:
            return (f"tampering: a control test that must {'pass' if want == Status.PASSED else 'fail'} "
                    f"{'failed' if want == Status.PASSED else 'passed'}: the graded code changed how tests run, compare "
                    "or report; results cannot be trusted")
    return None


def summarise(name: str, events: list[dict], returncode: int | None, timeout: float, seconds: float,
              forged: int = 0, control: str | None = None) -> ExerciseResult:
    """Turn the plugin's events and the process's fate into one ExerciseResult.

    The channel must hold, in order: one "collected" event, one result per collected test in
    collection order, one "finished" event; anything else (or a forged line, or a control test
    with the wrong outcome) means the graded code interfered, and the exercise is an error.
    """
    collected = next((e for e in events if e.get("event") == "collected"), None)
    try:
        announced = [(str(t["id"]), int(t["max_points"])) for t in collected["tests"]] if collected else []
    except (KeyError, TypeError, ValueError):
        announced, forged = [], forged + 1
    controls = [tid for tid, _ in announced if control and f"::{CONTROL_PREFIX}{control}_" in tid]
    expected = [(tid, points) for tid, points in announced if tid not in controls]
    results = [e for e in events if e.get("event") == "result"]
    received = {str(e.get("id")): e for e in results}
    in_order = [e.get("id") for e in results] == [tid for tid, _ in announced][:len(results)]
    finished = any(e.get("event") == "finished" for e in events)
    current = next((tid for tid, _ in expected if tid not in received), None)
    problem = next((str(e.get("message", "")) for e in events if e.get("event") == "collection_error"), None)

    tests = []
    for tid, max_points in expected:
        e = received.get(tid)
        if e is None:
            reason = (f"not run: the time limit of {timeout:g} s ran out" if returncode is None
                      else f"not run: the test process ended early (exit status {returncode})")
            tests.append(TestResult(tid, Status.ERROR, Status.ERROR, 0, max_points, reason))
            continue
        tests.append(as_test(e, max_points))

    result = ExerciseResult(name, Status.ERROR, sum(t.points for t in tests), sum(t.max_points for t in tests), seconds, "",
                            tests, bonus=any(e.name == name and e.bonus for e in kit.exercises()))
    kinds = [t.kind for t in tests]
    short = current.split("::")[-1] if current else ""
    tampered = next((t.message for t in tests if t.message.startswith("tampering")), None)
    if control is not None and collected is not None and expected and len(controls) != 2:
        tampered = tampered or "tampering: the grader's control tests are missing; results cannot be trusted"
    tampered = tampered or _control_problem(received, controls)
    if forged or not in_order or sum(e.get("event") == "collected" for e in events) > 1 or tampered:
        result.status = Status.ERROR
        result.message = tampered or ("tampering: the results channel holds lines the grader did not write; "
                                      "results cannot be trusted")
        result.points = 0
        for t in tests:
            t.points = 0
    elif returncode is None:
        result.status = Status.TIMEOUT
        result.message = f"exceeded the time limit of {timeout:g} s" + (f" in {short}" if short else "")
        if short.split("[")[0] in {t.test for t in kit.thresholds(name)}:
            result.message += (" while the model trained: a correct model trains more slowly on a slow or busy "
                               f"machine; grade it again with more time (--timeout {2 * timeout:g})")
    elif problem is not None:
        result.status, result.message = Status.ERROR, clip(problem)
    elif collected is None:
        result.status, result.message = Status.ERROR, f"the tests could not be collected (pytest exit status {returncode})"
    elif not finished or len(received) < len(announced):
        result.status = Status.ERROR
        result.message = f"the test process ended early (exit status {returncode})" + (f" during {short}" if short else "")
    elif (returncode == 0) != all(k in (Status.PASSED, Status.BLOCKED) for k in kinds) or returncode not in (0, 1):
        result.status, result.message = Status.ERROR, (f"pytest's exit status {returncode} contradicts the recorded results "
                                                  "(the graded code may have interfered with pytest)")
        result.points = 0  # results that contradict the process's fate are not trusted
        for t in tests:
            t.points = 0
    else:
        result.status, result.message = _verdict(tests)
    return result


def _verdict(tests: list[TestResult]) -> tuple[Status, str]:
    """(status, headline message) from the tests' kinds, once the run itself is trusted."""
    kinds = [t.kind for t in tests]

    def first(*wanted: Status) -> str:
        return next((t.message for t in tests if t.kind in wanted), "")

    if not tests:
        return Status.ERROR, "no tests were collected"
    if Status.ERROR in kinds:
        return Status.ERROR, first(Status.ERROR)
    if all(k == Status.PASSED for k in kinds):
        return Status.PASSED, ""
    if Status.NOT_STARTED in kinds and all(k in (Status.NOT_STARTED, Status.BLOCKED) for k in kinds):
        return Status.NOT_STARTED, first(Status.NOT_STARTED)
    if all(k in (Status.PASSED, Status.BLOCKED) for k in kinds):
        return Status.BLOCKED, first(Status.BLOCKED)
    return Status.FAILED, first(Status.FAILED, Status.NOT_STARTED)
