"""Run one exercise's tests in a subprocess with a time limit and read back what happened.

Results travel through a JSON-lines file written by the plugin (never by parsing pytest's
text). The plugin announces the collected tests before any learner code is imported, so the
runner knows what it expected and notices a process that ended early, hung, or contradicts
its own exit status.
"""
from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from grader import kit
from grader.integrity import KEY_VARIABLE, verify

STATUSES = ("passed", "failed", "not_started", "error", "timeout", "blocked")
OUTCOMES = {"passed": "passed", "failed": "failed", "not_started": "failed", "error": "error",
            "blocked": "skipped", "skipped": "skipped"}
OUTPUT_TAIL = 4000  # characters of the test process's output kept for diagnostics


@dataclass
class TestResult:
    id: str
    outcome: str  # passed | failed | error | skipped (the JSON contract)
    kind: str  # passed | failed | not_started | error | blocked | skipped
    points: int
    max_points: int
    message: str = ""


@dataclass
class ExerciseResult:
    name: str
    status: str
    points: int
    max_points: int
    seconds: float
    message: str = ""
    tests: list[TestResult] = field(default_factory=list)
    bonus: bool = False
    output: str = ""

    @property
    def passed_tests(self) -> int:
        return sum(t.kind == "passed" for t in self.tests)

    def to_json(self) -> dict:
        data = asdict(self)
        data.pop("output")
        for test in data["tests"]:
            test.pop("kind")
        data["seconds"] = round(self.seconds, 2)
        return data


def target_options(solutions: bool = False, target: str | Path | None = None) -> list[str]:
    """The pytest options that select the graded implementation."""
    if solutions:
        return ["--solutions"]
    return ["--target", str(Path(target).resolve())] if target else []


def read_events(path: Path, key: str) -> tuple[list[dict], int]:
    """The correctly signed events of the results channel, and how many lines were not."""
    events, forged = [], 0
    for line in path.read_text(errors="replace").splitlines():
        try:
            event = json.loads(line)
        except json.JSONDecodeError:
            event = None
        if isinstance(event, dict) and verify(key, event):
            events.append(event)
        else:
            forged += 1
    return events, forged


def _tail(path: Path) -> str:
    with open(path, "rb") as f:
        f.seek(0, os.SEEK_END)
        f.seek(max(0, f.tell() - OUTPUT_TAIL))
        return f.read().decode(errors="replace")


def _kill(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait()


def run_exercise(name: str, options: list[str], *, device: str = "auto", timeout: float = 300,
                 select: list[str] | None = None, threads: int | None = None) -> ExerciseResult:
    """Grade exercise ``name`` (tests from the kit) with pytest ``options`` in a fresh process.

    ``select`` limits the run to test functions of that name (e.g. for the mistake gallery);
    ``threads`` caps torch's CPU threads (OMP_NUM_THREADS) when several runs share the cores.
    """
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="grader-") as tmp:
        report, output = Path(tmp) / "report.jsonl", Path(tmp) / "output.txt"
        paths = [str(p) for p in kit.test_files(name)]
        if select:
            paths = [f"{p}::{test}" for p in paths for test in select]
        cmd = [sys.executable, "-m", "pytest", *paths, "-q", "-p", "no:cacheprovider",
               "--rootdir", str(kit.KIT_ROOT), "-c", str(kit.KIT_ROOT / "pyproject.toml"),
               "--grader-report", str(report), "--device", device, *options]
        key = secrets.token_hex(16)
        env = {**os.environ, "MPLBACKEND": "Agg", "PYTHONDONTWRITEBYTECODE": "1", KEY_VARIABLE: key}
        if threads:
            env["OMP_NUM_THREADS"] = str(threads)
        with open(output, "wb") as out:
            proc = subprocess.Popen(cmd, cwd=kit.KIT_ROOT, stdin=subprocess.DEVNULL, stdout=out,
                                    stderr=subprocess.STDOUT, env=env, start_new_session=True)
            try:
                returncode: int | None = proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                _kill(proc)
                returncode = None
            except BaseException:  # Ctrl-C: never leave a test process behind
                _kill(proc)
                raise
        events, forged = read_events(report, key) if report.exists() else ([], 0)
        result = summarise(name, events, returncode, timeout, time.perf_counter() - started, forged)
        result.output = _tail(output)
        if not paths:
            result.status, result.message = "error", f"the kit has no tests for {name}"
        return result


def summarise(name: str, events: list[dict], returncode: int | None, timeout: float, seconds: float,
              forged: int = 0) -> ExerciseResult:
    """Turn the plugin's events and the process's fate into one ExerciseResult.

    The channel must hold, in order: one "collected" event, one result per collected test in
    collection order, one "finished" event; anything else (or a forged line) means the graded
    code interfered, and the exercise is an error.
    """
    collected = next((e for e in events if e.get("event") == "collected"), None)
    expected = [(t["id"], int(t["max_points"])) for t in collected["tests"]] if collected else []
    results = [e for e in events if e.get("event") == "result"]
    received = {e["id"]: e for e in results if "id" in e}
    in_order = [e.get("id") for e in results] == [tid for tid, _ in expected][:len(results)]
    finished = any(e.get("event") == "finished" for e in events)
    current = next((tid for tid, _ in expected if tid not in received), None)

    tests = []
    for tid, max_points in expected:
        e = received.get(tid)
        if e is None:
            reason = (f"not run: the time limit of {timeout:g} s ran out" if returncode is None
                      else f"not run: the test process ended early (exit status {returncode})")
            tests.append(TestResult(tid, "error", "error", 0, max_points, reason))
            continue
        kind = e.get("kind") if e.get("kind") in OUTCOMES else "error"
        points = max_points if kind == "passed" else 0
        tests.append(TestResult(tid, OUTCOMES[kind], kind, points, max_points, str(e.get("message", ""))))

    result = ExerciseResult(name, "", sum(t.points for t in tests), sum(t.max_points for t in tests), seconds, "", tests,
                            bonus=bool(collected and collected.get("bonus")))
    kinds = [t.kind for t in tests]
    short = current.split("::")[-1] if current else ""
    tampered = next((t.message for t in tests if t.message.startswith("tampering")), None)
    if forged or not in_order or sum(e.get("event") == "collected" for e in events) > 1 or tampered:
        result.status = "error"
        result.message = tampered or "tampering: the results channel holds lines the grader did not write; results cannot be trusted"
        result.points = 0
        for t in tests:
            t.points = 0
    elif returncode is None:
        result.status, result.message = "timeout", f"exceeded the time limit of {timeout:g} s" + (f" in {short}" if short else "")
    elif collected is None:
        result.status, result.message = "error", f"the tests could not be collected (pytest exit status {returncode})"
    elif not finished or len(received) < len(expected):
        result.status = "error"
        result.message = f"the test process ended early (exit status {returncode})" + (f" during {short}" if short else "")
    elif (returncode == 0) != all(k in ("passed", "blocked", "skipped") for k in kinds) or returncode not in (0, 1):
        result.status, result.message = "error", (f"pytest's exit status {returncode} contradicts the recorded results "
                                               "(the graded code may have interfered with pytest)")
    elif "error" in kinds:
        result.status, result.message = "error", next(t.message for t in tests if t.kind == "error")
    elif all(k == "passed" for k in kinds):
        result.status = "passed"
    elif "not_started" in kinds and all(k in ("not_started", "blocked") for k in kinds):
        result.status = "not_started"
        result.message = next(t.message for t in tests if t.kind == "not_started")
    elif all(k in ("passed", "blocked", "skipped") for k in kinds):
        result.status, result.message = "blocked", next(t.message for t in tests if t.kind == "blocked")
    else:
        result.status = "failed"
        result.message = next(t.message for t in tests if t.kind not in ("passed", "blocked", "skipped"))
    return result
