"""Grade several exercises with one set of Settings: the datasets first for a hand-in or when
sandboxed (the sandbox cannot fetch them, nor can the unprivileged user a hand-in may run as), then ``settings.jobs`` exercises at a time, in order; and a whole
hand-in, wherever inside its folder the exercises sit."""
from __future__ import annotations

import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import TextIO

from grader.cli.settings import Settings
from grader.core import kit
from grader.core.results import ExerciseResult, Status, TestResult
from grader.core.target import Target
from grader.report.bars import LiveBars
from grader.report.scorecard import test_line


def prepare_datasets(names: list[str]) -> None:
    """Fetch and verify what the exercises read, before a sandbox that cannot fetch runs them.

    A dataset that cannot be had is left to the tests, which report it in the learner's terms.
    """
    wanted = dict.fromkeys(d for name in names for d in kit.datasets_needed(name))
    if not wanted:
        return
    from grader.data.datasets import DatasetUnavailable, prepare

    for dataset in wanted:
        try:
            prepare(dataset, progress=False)
        except DatasetUnavailable:
            pass


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
    if settings.sandbox or target.is_handin:  # a hand-in's test process may not write the data folder
        prepare_datasets(names)

    def run(name: str) -> ExerciseResult:
        return run_streaming(settings, name, target, sys.stderr, f"[{name}] ") if stream else settings.run(name, target)

    with ThreadPoolExecutor(max_workers=settings.jobs) as pool:
        return list(pool.map(run, names))


Graded = tuple[str, list[ExerciseResult], bool]  # (target, results, whether the grader itself failed)


def handin_root(folder: Path, names: list[str]) -> Path:
    """The folder laid out like exercises/ within a hand-in (itself, exercises/, or one level down)."""
    subfolders = sorted(p for p in folder.iterdir() if p.is_dir())
    for candidate in [folder, folder / "exercises", *subfolders, *(p / "exercises" for p in subfolders)]:
        if any((candidate / name).is_dir() for name in names):
            return candidate
    return folder


def grade_handin(folder: Path, names: list[str], settings: Settings) -> tuple[str, list[ExerciseResult], bool]:
    """(target description, results, whether the grader itself failed) for one hand-in.

    A hand-in whose folder (or the part laid out like exercises/) is a symbolic link, or leads
    out of its own folder, is refused: it could point at another hand-in or at the reference.
    """
    try:
        root = handin_root(folder, names)
        if folder.is_symlink() or root.is_symlink() or not root.resolve().is_relative_to(folder.resolve()):
            reason = "refused: the hand-in's folder is a symbolic link or leads outside it; hand in real folders"
            return str(folder.absolute()), [ExerciseResult(n, Status.ERROR, 0, 0, 0.0, reason) for n in names], False
        root = root.resolve()
        return str(root), grade(names, Target.handin(root), replace(settings, jobs=1)), False
    except Exception as exc:  # noqa: BLE001 - one hand-in must never stop the batch
        reason = f"the grader could not grade this hand-in: {type(exc).__name__}: {exc}"
        return str(folder.resolve()), [ExerciseResult(n, Status.ERROR, 0, 0, 0.0, reason) for n in names], True
