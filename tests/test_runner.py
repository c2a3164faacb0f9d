"""The runner, plugin and command line on a tiny stand-in kit: statuses, JSON, exit codes, hostile hand-ins."""
from __future__ import annotations

import json

import pytest
from fake_kit import SOLUTIONS, STUBS, handin, make_kit, run_grader
from results import load_valid


@pytest.fixture
def kit(tmp_path):
    return make_kit(tmp_path / "kit")


def graded(kit, tmp_path, *args: str, **modules) -> tuple[int, dict, str]:
    """Grade a hand-in made of ``modules`` (alpha=..., beta=...) and return (exit, JSON, stdout)."""
    target = handin(tmp_path / "handin", **modules)
    out = tmp_path / "result.json"
    proc = run_grader(kit, "--all", "--target", str(target), "--json", str(out), *args)
    assert out.exists(), f"no JSON written; stdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
    return proc.returncode, load_valid(out), proc.stdout


def statuses(report: dict) -> dict[str, str]:
    return {e["name"]: e["status"] for e in report["exercises"]}


def test_solutions_pass_and_json_contract(kit, tmp_path):
    out = tmp_path / "r.json"
    proc = run_grader(kit, "01", "02_b", "--solutions", "--json", str(out))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    report = load_valid(out)
    assert set(report) == {"target", "device", "sandbox", "environment", "points", "max_points", "exercises"}
    assert report["environment"]["device"] == report["device"] and report["environment"]["torch"]
    assert report["points"] == report["max_points"] == 6
    assert report["sandbox"] is False, "the reference is trusted: no sandbox by default"
    ex = report["exercises"][0]
    assert set(ex) == {"name", "status", "points", "max_points", "seconds", "message", "tests", "bonus",
                       "peak_memory_mb", "cached"}
    assert ex["bonus"] is False and ex["peak_memory_mb"] > 1
    assert [t["id"].split("::")[-1] for t in ex["tests"]] == ["test_double", "test_double_negative"], (
        "the control tests never appear in results")
    assert set(ex["tests"][0]) == {"id", "outcome", "points", "max_points", "message"}
    assert statuses(report) == {"01_alpha": "passed", "02_beta": "passed"}
    assert "2/2 passed" in proc.stdout


def test_stubs_are_not_started(kit, tmp_path):
    out = tmp_path / "r.json"
    proc = run_grader(kit, "--all", "--json", str(out))
    assert proc.returncode == 1
    report = load_valid(out)
    assert statuses(report) == {"01_alpha": "not_started", "02_beta": "not_started"}
    assert "not started" in proc.stdout
    beta = report["exercises"][1]["tests"]
    assert [t["outcome"] for t in beta] == ["failed", "skipped"], "a blocked threshold test is reported as skipped"
    assert beta[1]["message"].startswith("blocked: needs test_inc")


def test_usage_errors_exit_2(kit):
    assert run_grader(kit, "--no-such-flag").returncode == 2
    bad = run_grader(kit, "zz")
    assert bad.returncode == 2 and "matches no exercise" in bad.stderr
    assert run_grader(kit, "--solutions", "--target", "x", "--all").returncode == 2
    assert run_grader(kit, "--all", "--target", "/no/such/dir").returncode == 2


def test_failed_and_blocked(kit, tmp_path):
    code, report, _ = graded(kit, tmp_path, alpha="def double(x):\n    return x + x if x > 0 else 0\n",
                             beta="def inc(x):\n    return x\n")
    assert code == 1
    alpha, beta = report["exercises"]
    assert alpha["status"] == "failed" and alpha["points"] == 2 and "double(-2) must be -4" in alpha["message"]
    assert beta["status"] == "failed" and beta["tests"][1]["message"].startswith("blocked")


PATCH_REPORTS = """
import _pytest.reports
_original = _pytest.reports.TestReport.from_item_and_call

def _always_pass(cls, item, call):
    report = _original.__func__(cls, item, call)
    report.outcome, report.longrepr = "passed", None
    return report

_pytest.reports.TestReport.from_item_and_call = classmethod(_always_pass)

def double(x):
    return 0
"""
FORGE_CHANNEL = """
import json, os
for fd in os.listdir("/proc/self/fd"):
    try:
        if os.readlink(f"/proc/self/fd/{fd}").startswith("pipe:"):
            for test in ("test_double", "test_double_negative"):
                line = {"event": "result", "id": f"01_alpha/test_alpha.py::{test}", "kind": "passed", "points": 2}
                os.write(int(fd), (json.dumps(line) + "\\n").encode())
    except OSError:
        pass

def double(x):
    return 0
"""

HOSTILE = {
    "syntax error": ("def double(x)\n    return 2 * x\n", "error", "SyntaxError"),
    "exception at import": ("raise ValueError('boom')\n", "error", "ValueError: boom (alpha.py, line 1)"),
    "sys.exit(0) at import": ("import sys\nsys.exit(0)\n", "error", "called sys.exit(0)"),
    "os._exit(0) at import": ("import os\nos._exit(0)\n", "error", "ended early"),
    "os._exit(0) inside a test": ("import os\ndef double(x):\n    os._exit(0)\n", "error", "ended early"),
    "sys.exit(0) inside a test": ("import sys\ndef double(x):\n    sys.exit(0)\n", "failed", "SystemExit"),
    "deleted function": ("def triple(x):\n    return 3 * x\n", "failed", "alpha.py has no 'double'"),
    "missing file": (None, "error", "alpha.py is missing"),
    "infinite loop at import": ("while True:\n    pass\n", "timeout", "time limit"),
    "patches pytest's reports into passes": (PATCH_REPORTS, "error", "tampering"),
    "forges the results channel": (FORGE_CHANNEL, "error", "tampering"),
}


@pytest.mark.parametrize("case", HOSTILE, ids=list(HOSTILE))
def test_hostile_handin_is_contained(kit, tmp_path, case):
    source, status, reason = HOSTILE[case]
    code, report, stdout = graded(kit, tmp_path, "--timeout", "8", alpha=source)
    alpha, beta = report["exercises"]
    assert alpha["status"] == status, f"{case}: {alpha}"
    assert reason in alpha["message"], f"{case}: {alpha['message']}"
    assert alpha["points"] == 0 and len(alpha["tests"]) == 2
    assert beta["status"] == "passed", "the other exercise must be graded normally"
    assert code == 1


def test_megabytes_of_output_do_not_break_grading(kit, tmp_path):
    noisy = "print('x' * 30_000_000)\n" + SOLUTIONS["01_alpha/alpha.py"]
    code, report, stdout = graded(kit, tmp_path, alpha=noisy)
    assert code == 0 and statuses(report)["01_alpha"] == "passed"
    assert len(stdout) < 10_000


def test_verbose_and_gradescope(kit, tmp_path):
    target = handin(tmp_path / "h", alpha="def double(x):\n    return 0\n")
    gs = tmp_path / "results.json"
    proc = run_grader(kit, "--all", "--target", str(target), "-v", "--gradescope", str(gs))
    assert "test_double: double(3) must be 6" in proc.stdout
    results = json.loads(gs.read_text())
    assert results["score"] == 3
    assert {t["max_score"] for t in results["tests"]} == {1, 2}
    assert any("double(3) must be 6" in t["output"] for t in results["tests"])


def test_progress_names_the_next_exercise(kit, tmp_path):
    proc = run_grader(kit)
    assert proc.returncode == 1
    assert "0/2" in proc.stdout and "Next: 01_alpha" in proc.stdout and "pytest exercises/01_alpha" in proc.stdout
    done = handin(tmp_path / "h", beta=STUBS["02_beta/beta.py"])
    proc = run_grader(kit, "--target", str(done))
    assert "1/2" in proc.stdout and "Next: 02_beta" in proc.stdout
    assert run_grader(kit, "--solutions").returncode == 0


def test_the_time_limit_ends_a_test_process_that_leads_no_process_group():
    """A process that has not (yet) made its own process group is still killed at the limit;
    a kill aimed at its group alone once left the grader waiting for it forever."""
    import subprocess
    import time

    from grader.run.runner import _wait

    sleeper = subprocess.Popen(["sleep", "60"])  # in the grader's own process group
    started = time.monotonic()
    status, _peak = _wait(sleeper.pid, 0.5, None)
    assert status is None and time.monotonic() - started < 10
    sleeper.returncode = -9  # reaped by _wait


def test_a_time_limit_that_ends_a_training_test_says_to_give_it_more_time():
    """A slow machine can make a correct model's threshold test outlast --timeout: the message says so
    (and what to pass), while a time limit hit elsewhere names only the test."""
    from grader.run.verdict import summarise

    def ended_in(test: str) -> str:
        tests = [{"id": f"exercises/07_cnn/test_cnn.py::{test}", "max_points": 1}]
        return summarise("07_cnn", [{"event": "collected", "tests": tests}], None, 600, 600.0).message

    assert ended_in("test_mnist_accuracy") == (
        "exceeded the time limit of 600 s in test_mnist_accuracy while the model trained: a correct model trains "
        "more slowly on a slow or busy machine; grade it again with more time (--timeout 1200)")
    assert ended_in("test_output_shape") == "exceeded the time limit of 600 s in test_output_shape"
