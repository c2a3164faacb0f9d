"""``grader regrade`` reads a results JSON that anyone may have edited: the file may narrow a run
(its exercises, its device, its threads, a shorter time limit), never loosen what keeps the
instructor's machine safe (the sandbox, the resource limits, the time limit).

Every case edits a genuine record of the stand-in kit (tests/fake_kit.py) and regrades with it;
a malformed field stops the command with exit status 2 before anything is graded.
"""
from __future__ import annotations

import copy
import json
import os
import time
from pathlib import Path

import pytest
from fake_kit import SOLUTIONS, handin, make_kit, run_grader
from results import load_valid

from grader.run import sandbox

DOUBLE = SOLUTIONS["01_alpha/alpha.py"]
NEEDS_SANDBOX = pytest.mark.skipif(sandbox.unavailable_reason() is not None,
                                   reason=f"bubblewrap unavailable: {sandbox.unavailable_reason()}")
HANG = "while True:\n    pass\n" + DOUBLE


@pytest.fixture(scope="module")
def recorded(tmp_path_factory) -> tuple[Path, Path, dict]:
    """(kit, a correct hand-in, the results JSON of grading its 01_alpha)."""
    root = tmp_path_factory.mktemp("regrade")
    kit, target = make_kit(root / "kit"), handin(root / "alice")
    proc = run_grader(kit, "01", "--target", str(target), "--json", str(root / "first.json"))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return kit, target, load_valid(root / "first.json")


def edited(record: dict, tmp_path: Path, **environment: object) -> Path:
    """A copy of ``record`` with these environment fields replaced, written to a file."""
    changed = copy.deepcopy(record)
    changed["environment"].update(environment)
    path = tmp_path / "edited.json"
    path.write_text(json.dumps(changed))
    return path


def refused(kit: Path, result: Path | str, target: Path, *args: str, says: str) -> None:
    """``grader regrade`` stops with exit 2, one line naming ``says``, and grades nothing."""
    started = time.monotonic()
    proc = run_grader(kit, "regrade", str(result), "--target", str(target), *args, timeout=60)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert says in proc.stderr and "Traceback" not in proc.stderr, proc.stderr
    assert proc.stderr.strip().splitlines()[-1].startswith("grader regrade: error: "), proc.stderr
    assert proc.stdout == "" and time.monotonic() - started < 30, "it graded before refusing"


@NEEDS_SANDBOX
def test_a_record_that_says_unsandboxed_is_regraded_in_the_sandbox(recorded, tmp_path):
    kit, _, _ = recorded
    secret = tmp_path / "instructor-secret.txt"
    secret.write_text("grades of the whole class")
    probe = (f"from pathlib import Path\n\n\ndef double(x):\n    try:\n        Path({str(secret)!r}).read_text()\n"
             "    except OSError:\n        return 2 * x  # could not read it: confined\n    return -1  # read it\n")
    target = handin(tmp_path / "mallory", alpha=probe)
    first = tmp_path / "first.json"
    assert run_grader(kit, "01", "--target", str(target), "--sandbox", "off", "--json", str(first)).returncode == 1
    assert load_valid(first)["sandbox"] is False, "unsandboxed, the probe reads the file (and so fails)"
    again = tmp_path / "again.json"
    proc = run_grader(kit, "regrade", str(first), "--target", str(target), "--json", str(again), timeout=120)
    assert load_valid(again)["sandbox"] is True and load_valid(again)["environment"]["sandbox"] is True
    assert load_valid(again)["exercises"][0]["status"] == "passed", "the regraded probe could read outside its folder"
    assert "sandbox: false then, true now" in proc.stdout and "Environment then and now: the same" not in proc.stdout
    assert proc.stdout.index("sandbox yes") < proc.stdout.index("01_alpha"), "the settings are shown before grading"


@pytest.mark.parametrize("value, says", [
    ("Infinity", "environment.timeout"), ("NaN", "environment.timeout"), ("-Infinity", "environment.timeout"),
    (-1, "environment.timeout"), (0, "environment.timeout"), ("600", "environment.timeout"),
    (True, "environment.timeout"), ([600], "environment.timeout"), (1e400, "environment.timeout"),
])
def test_a_timeout_that_is_not_a_finite_positive_number_is_refused(recorded, tmp_path, value, says):
    kit, target, record = recorded
    path = edited(record, tmp_path, timeout=0)
    literal = value if value in ("Infinity", "NaN", "-Infinity") else json.dumps(value) if value != 1e400 else "1e400"
    path.write_text(path.read_text().replace('"timeout": 0', f'"timeout": {literal}'))
    refused(kit, path, target, says=says)


def test_a_longer_recorded_timeout_never_loosens_the_command_line(recorded, tmp_path):
    kit, _, record = recorded
    hanging = handin(tmp_path / "hangs", alpha=HANG)
    out = tmp_path / "again.json"
    started = time.monotonic()
    proc = run_grader(kit, "regrade", str(edited(record, tmp_path, timeout=1e308)), "--target", str(hanging),
                      "--timeout", "3", "--json", str(out), timeout=90)
    assert time.monotonic() - started < 60
    assert load_valid(out)["exercises"][0]["status"] == "timeout" and load_valid(out)["environment"]["timeout"] == 3
    assert "this run uses the shorter 3 s (--timeout 1e+308 to match)" in proc.stderr, proc.stderr
    assert "timeout: 1e+308 then, 3.0 now" in proc.stdout


def test_a_shorter_recorded_timeout_tightens_the_command_line(recorded, tmp_path):
    kit, _, record = recorded
    hanging = handin(tmp_path / "hangs", alpha=HANG)
    out = tmp_path / "again.json"
    proc = run_grader(kit, "regrade", str(edited(record, tmp_path, timeout=2)), "--target", str(hanging),
                      "--json", str(out), timeout=90)
    assert load_valid(out)["exercises"][0]["status"] == "timeout" and load_valid(out)["environment"]["timeout"] == 2
    assert "time limit 2 s" in proc.stdout and "shorter" not in proc.stderr


@pytest.mark.parametrize("value", [0, -1, 10**9, "x", "2", True, 1.5, [1]])
def test_threads_outside_one_to_the_cores_are_refused(recorded, tmp_path, value):
    kit, target, record = recorded
    refused(kit, edited(record, tmp_path, threads=value), target, says="environment.threads")


def test_recorded_threads_are_used_and_shown(recorded, tmp_path):
    kit, target, record = recorded
    out = tmp_path / "again.json"
    proc = run_grader(kit, "regrade", str(edited(record, tmp_path, threads=1)), "--target", str(target),
                      "--json", str(out), timeout=90)
    assert load_valid(out)["environment"]["threads"] == 1 and "threads 1" in proc.stdout
    assert "threads" not in proc.stdout.split("Environment then and now")[1], "then and now are both 1"


@pytest.mark.parametrize("value, says", [("tpu", "environment.device"), (None, "environment.device"),
                                         (7, "environment.device"), ("CPU", "environment.device")])
def test_an_unknown_device_is_refused(recorded, tmp_path, value, says):
    kit, target, record = recorded
    refused(kit, edited(record, tmp_path, device=value), target, says=says)


def test_cuda_without_cuda_is_refused_unless_device_is_given(recorded, tmp_path):
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    kit, target, record = recorded
    path = edited(record, tmp_path, device="cuda")
    refused(kit, path, target, says="CUDA is not available here")
    out = tmp_path / "again.json"
    proc = run_grader(kit, "regrade", str(path), "--target", str(target), "--device", "cpu", "--json", str(out),
                      timeout=90)
    assert load_valid(out)["device"] == "cpu" and 'device: "cuda" then, "cpu" now' in proc.stdout


@pytest.mark.parametrize("exercises, says", [
    ([{"name": "99_nothing"}], "unknown exercise 99_nothing"),
    ([{"name": "01_alpha"}, {"name": "01_alpha"}], "01_alpha is listed twice"),
    ([], "no exercises"), ({"name": "01_alpha"}, "no exercises"), (["01_alpha"], "exercises[0]"),
    ([{"name": 1}], "exercises[0]"), ([{"name": "01_alpha"}, {}], "exercises[1]"),
])
def test_exercises_must_be_known_and_listed_once(recorded, tmp_path, exercises, says):
    kit, target, record = recorded
    changed = {**record, "exercises": exercises}
    path = tmp_path / "edited.json"
    path.write_text(json.dumps(changed))
    refused(kit, path, target, says=says)


def test_the_memory_limit_holds_on_regrade(recorded, tmp_path):
    kit, _, record = recorded
    greedy = handin(tmp_path / "greedy", alpha="block = bytearray(1 << 30)\n" + DOUBLE)
    first, again = tmp_path / "first.json", tmp_path / "again.json"
    assert run_grader(kit, "01", "--target", str(greedy), "--json", str(first)).returncode == 0, "1 GiB < 4G"
    run_grader(kit, "regrade", str(first), "--target", str(greedy), "--memory", "300M", "--json", str(again),
               timeout=90)
    alpha = load_valid(again)["exercises"][0]
    assert alpha["status"] == "error" and "MemoryError" in alpha["message"], alpha


def _fifo(path: Path) -> Path:
    os.mkfifo(path)
    return path


def _sparse(path: Path) -> Path:
    with path.open("wb") as file:
        file.truncate(1 << 30)
    return path


@pytest.mark.parametrize("make, says", [
    (lambda p: p.write_text("not json") and p, "not JSON"),
    (lambda p: p.write_text("[1, 2]") and p, "not a results JSON"),
    (lambda p: p.write_bytes(b'{"exercises": "\xff"}') and p, "not JSON"),
    (lambda p: p.write_text("[" * 200_000) and p, "not JSON"),
    (lambda p: p.write_text('{"exercises": [{"name": "01_alpha"}]}') and p, "environment"),
    (lambda p: p.write_text('{"exercises": [{"name": "01_alpha"}], "environment": []}') and p, "environment"),
    (_sparse, "larger than"),
    (_fifo, "not a regular file"),
    (lambda p: p.mkdir() or p, "not a regular file"),
    (lambda p: p, "No such file"),
])
def test_a_file_that_is_not_a_result_is_refused(recorded, tmp_path, make, says):
    kit, target, _ = recorded
    refused(kit, make(tmp_path / "result.json"), target, says=says)


def test_what_the_record_says_is_shown_escaped_and_cut(recorded, tmp_path):
    kit, target, record = recorded
    path = edited(record, tmp_path, torch="\x1b[2J\x1b[Hall passed " + "x" * 100_000)
    changed = json.loads(path.read_text())
    changed["exercises"][0].update(status="\x1b[31mfailed", tests=7)
    path.write_text(json.dumps(changed))
    proc = run_grader(kit, "regrade", str(path), "--target", str(target), timeout=90)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "\x1b" not in proc.stdout and len(proc.stdout) < 5_000 and "Traceback" not in proc.stderr
    assert 'torch: "\\u001b[2J\\u001b[Hall passed xxx' in proc.stdout and "more characters cut" in proc.stdout
    assert "01_alpha: \\x1b[31mfailed 3/3 -> passed 3/3" in proc.stdout


def test_a_sandbox_or_device_edited_only_at_the_top_level_is_still_a_difference():
    from grader.cli.regrade import record_changes

    now = {"device": "cpu", "sandbox": True, "timeout": 600.0}
    old = {"device": "cpu", "sandbox": False, "environment": dict(now)}
    assert record_changes(old, now) == ["sandbox (top level of the file): false then, true now"]
    assert record_changes({**old, "sandbox": True}, now) == []
    assert record_changes({"environment": {**now, "sandbox": "yes"}}, now) == ['sandbox: "yes" then, true now']
