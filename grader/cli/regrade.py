"""``grader regrade RESULT.json --target DIR``: grade a disputed hand-in again, the same way.

The exercises, device, time limit and sandbox come from RESULT.json (its "environment"
record); the new results are compared with the old ones test by test. Differences in the
record itself (another torch, another kit commit) are listed first, since they may explain
the rest.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from grader.cli.settings import Settings, refuse_unwritable, writable_file
from grader.core import environment, kit
from grader.core.files import write_json
from grader.core.results import ExerciseResult
from grader.core.target import Target
from grader.report.scorecard import print_scorecard, to_json
from grader.run.runner import DEFAULT_TIMEOUT
from grader.run.sandbox import unavailable_reason

COMPARED = ("python", "torch", "torchvision", "numpy", "kit_version", "kit_commit", "device", "gpu", "threads", "sandbox")


class RegradeError(ValueError):
    """RESULT.json cannot be regraded; ``str()`` says why in one line."""


def read_result(path: Path) -> dict:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise RegradeError(f"{path}: not a results JSON ({exc})") from None
    if not isinstance(data, dict) or not isinstance(data.get("exercises"), list):
        raise RegradeError(f"{path}: not a results JSON (no exercises)")
    return data


def settings_of(old: dict, sandbox_available: bool) -> Settings:
    """The settings RESULT.json was graded with (the sandbox only where it still can run)."""
    env = old.get("environment") or {}
    device = env.get("device") or old.get("device") or "cpu"
    sandbox = bool(env.get("sandbox", old.get("sandbox", False))) and sandbox_available
    return Settings(device=device, timeout=float(env.get("timeout") or DEFAULT_TIMEOUT), sandbox=sandbox,
                    threads=env.get("threads"))


def differences(old: dict, new: list[ExerciseResult]) -> list[str]:
    """One line per exercise or test whose status or points changed."""
    lines = []
    before = {e.get("name"): e for e in old["exercises"] if isinstance(e, dict)}
    for result in new:
        was = before.get(result.name, {})
        if (was.get("status"), was.get("points")) != (result.status, result.points):
            lines.append(f"{result.name}: {was.get('status')} {was.get('points')}/{was.get('max_points')} -> "
                         f"{result.status} {result.points}/{result.max_points}")
        old_tests = {t.get("id"): t for t in was.get("tests", []) if isinstance(t, dict)}
        # a test moved to another file of its exercise keeps its name: match by name when the id is new
        by_name = {str(key).split("::")[-1]: t for key, t in old_tests.items()}
        for test in result.tests:
            prior = old_tests.get(test.id) or by_name.get(test.id.split("::")[-1], {})
            if (prior.get("outcome"), prior.get("points")) != (test.outcome, test.points):
                lines.append(f"  {test.id.split('::')[-1]}: {prior.get('outcome')} -> {test.outcome}"
                             + (f" ({test.message.splitlines()[0][:160]})" if test.message else ""))
    return lines


def record_changes(old: dict, settings: Settings) -> list[str]:
    """Fields of the reproducibility record that differ between then and now."""
    then = old.get("environment") or {}
    now = environment.record(settings.device, settings.threads, settings.sandbox, settings.timeout)
    return [f"{key}: {then.get(key)!r} then, {now.get(key)!r} now" for key in COMPARED if then.get(key) != now.get(key)]


def regrade(result_path: Path, target: Path, sandbox_available: bool) -> tuple[Settings, list[ExerciseResult], list[str], list[str]]:
    """(settings, new results, record changes, result differences) for RESULT.json's exercises on ``target``."""
    old = read_result(result_path)
    names = [e["name"] for e in old["exercises"] if isinstance(e, dict) and isinstance(e.get("name"), str)]
    unknown = [name for name in names if name not in kit.exercise_names()]
    if unknown or not names:
        raise RegradeError(f"{result_path}: {'unknown exercises ' + ', '.join(unknown) if unknown else 'no exercises'}")
    settings = settings_of(old, sandbox_available)
    results = [settings.run(name, Target.handin(target)) for name in names]
    return settings, results, record_changes(old, settings), differences(old, results)


def cmd_regrade(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    """Regrade, print the scorecard, then what changed; exit 0 when nothing did, 1 otherwise."""
    if not Path(args.target).is_dir():
        parser.error(f"--target {args.target}: no such folder")
    refuse_unwritable(parser, writable_file(args.json, "--json"))
    target = str(Path(args.target).resolve())
    try:
        settings, results, changed_record, changed_results = regrade(Path(args.result), Path(target),
                                                                     unavailable_reason() is None)
    except RegradeError as exc:
        parser.error(str(exc))
    print_scorecard(results, target, settings.device, verbose=True)
    if args.json and (problem := write_json(args.json, to_json(results, target, settings.device, settings.sandbox,
                                                              settings.environment()))):
        print(f"grader: {problem}", file=sys.stderr)
    print("\nEnvironment then and now: " + ("the same" if not changed_record else ""))
    for line in changed_record:
        print(f"  {line}")
    print("Results: " + ("the same as recorded" if not changed_results else "changed"))
    for line in changed_results:
        print(f"  {line}")
    return 1 if changed_results else 0
