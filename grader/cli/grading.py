"""Grade several exercises with one set of Settings, ``settings.jobs`` at a time, in order; and a
whole hand-in, wherever inside its folder the exercises sit."""
from __future__ import annotations

import os
import secrets
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, NamedTuple, TextIO

from grader.cli.kit_files import kit_files_changed
from grader.cli.settings import Settings
from grader.core.handins import Entry, Refused, graded_root, pack, unpack
from grader.core.results import ExerciseResult, Status, TestResult
from grader.core.target import Target
from grader.core.text import clip
from grader.report.bars import LiveBars
from grader.report.scorecard import test_line, to_json


def run_streaming(settings: Settings, name: str, target: Target, out: TextIO, prefix: str = "") -> ExerciseResult:
    """Grade ``name``, printing each test's outcome to ``out`` as it finishes (after ``prefix``)
    and a live bar while a test reports its progress (training)."""
    bars = LiveBars(out)

    def report(test: TestResult) -> None:
        bars.finish(test.id)
        print(f"  {prefix}{test_line(test)}", file=out, flush=True)

    return settings.run(name, target, on_test=report,
                        on_progress=lambda test, label, done, total: bars.update(name, test, label, done, total))


def grade(names: list[str], target: Target, settings: Settings, stream: bool = False) -> list[ExerciseResult]:
    """Run each exercise's suite in its own subprocess (``settings.jobs`` at a time), in order;
    with ``stream``, show each test's outcome and live bars on stderr (:func:`run_streaming`)."""

    def run(name: str) -> ExerciseResult:
        return run_streaming(settings, name, target, sys.stderr, f"[{name}] ") if stream else settings.run(name, target)

    with ThreadPoolExecutor(max_workers=settings.jobs) as pool:
        return list(pool.map(run, names))


class Graded(NamedTuple):
    """A hand-in graded (or refused): its results JSON, and whether the grader itself failed on it."""

    report: dict
    crashed: bool


@dataclass(frozen=True)
class Prepared:
    """A hand-in ready to grade: its graded folder, its files as entries, the kit files it changed."""

    root: Path
    entries: list[Entry]
    kit_files_changed: list[str]


def results_of(report: dict) -> list[ExerciseResult]:
    """What the CSV and the progress lines need of each exercise, from a results JSON."""
    return [ExerciseResult(e["name"], e["status"], e["points"], e["max_points"], e["seconds"], e.get("message", ""))
            for e in report["exercises"]]


def unfinished(folder: Path, names: list[str], settings: Settings, reason: str, crashed: bool,
               changed: list[str] | None = None) -> Graded:
    """The row of a hand-in that was refused (``crashed`` False) or that the grader failed on:
    every exercise ``error`` with ``reason``, one line."""
    reason = clip(" ".join(reason.split()))
    results = [ExerciseResult(n, Status.ERROR, 0, 0, 0.0, reason) for n in names]
    report = to_json(results, str(folder.absolute()), settings.device, settings.sandbox, settings.environment())
    return Graded({**report, "kit_files_changed": changed or []}, crashed)


def failure(exc: BaseException) -> str:
    """The reason of a row whose grading raised ``exc``."""
    return f"the grader could not grade this hand-in: {type(exc).__name__}: {exc}"


def prepare(folder: Path, names: list[str], settings: Settings) -> Prepared | Graded:
    """The hand-in ``folder`` ready to grade, or its row when it is refused or cannot be read: the
    one decision of where a hand-in's graded folder is and whether it is refused, for every route."""
    try:
        root = graded_root(folder, names)
        changed = kit_files_changed(folder, root)
        return Prepared(root.resolve(), pack(root), changed)
    except Refused as exc:
        return unfinished(folder, names, settings, str(exc), False)
    except Exception as exc:  # noqa: BLE001 - one hand-in must never stop the batch
        return unfinished(folder, names, settings, failure(exc), True)


def replace_paths(value: Any, old: str, new: str) -> Any:
    """``value`` (JSON data) with ``old`` replaced by ``new`` in every string."""
    if isinstance(value, str):
        return value.replace(old, new)
    if isinstance(value, list):
        return [replace_paths(v, old, new) for v in value]
    if isinstance(value, dict):
        return {k: replace_paths(v, old, new) for k, v in value.items()}
    return value


def grade_copy(entries: list[Entry], names: list[str], settings: Settings, origin: str) -> dict:
    """Grade a fresh copy of a hand-in's files (on this machine, or on a cluster's worker) and return
    its results JSON, with ``origin`` (the graded folder where the hand-in lies) for the copy's path.
    A link in the copy that leads outside it makes the JSON a refusal."""
    with tempfile.TemporaryDirectory(prefix="grader-handin-", ignore_cleanup_errors=True) as tmp:
        # the test process may run as another uid: it may enter, not list, so the copy's unguessable
        # name keeps other hand-ins' test processes out of it
        os.chmod(tmp, 0o711)
        root = Path(tmp).resolve() / f"handin-{secrets.token_urlsafe(12)}"
        try:
            unpack(entries, root)
        except Refused as exc:
            return unfinished(Path(origin), names, settings, str(exc), False).report
        results = grade(names, Target.handin(root), replace(settings, jobs=1))
        report = to_json(results, str(root), settings.device, settings.sandbox, settings.environment())
        return replace_paths(report, str(root), origin)


def grade_handin(folder: Path, names: list[str], settings: Settings) -> Graded:
    """Grade one hand-in here as a cluster's worker would: :func:`prepare`, then :func:`grade_copy`.
    Whatever goes wrong costs this hand-in's row only."""
    prepared = prepare(folder, names, settings)
    if isinstance(prepared, Graded):
        return prepared
    try:
        report = grade_copy(prepared.entries, names, settings, str(prepared.root))
    except Exception as exc:  # noqa: BLE001 - one hand-in must never stop the batch
        return unfinished(folder, names, settings, failure(exc), True, prepared.kit_files_changed)
    return finished(report, prepared.kit_files_changed)


def finished(report: dict, changed: list[str]) -> Graded:
    """The row of a graded hand-in: its results JSON with the kit files it changed."""
    return Graded({**report, "kit_files_changed": changed}, False)
