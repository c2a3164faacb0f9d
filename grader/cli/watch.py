"""``grader watch [NAME]``: re-run an exercise's tests each time one of its .py files is saved.

Without NAME it follows the learner: it starts at the first exercise that does not pass (the
same order and the same remembered results as ``grader``) and moves on to the next one when it
passes. Each test's outcome is printed as soon as it finishes. Changes are found by polling file sizes and modification times, so nothing needs to be
installed. Ctrl-C stops it (exit 0).
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from grader.cli.grading import run_streaming
from grader.cli.settings import Settings, check_folders, chosen_exercises, settings_from
from grader.core import kit
from grader.core.results import ExerciseResult, Status
from grader.core.target import Target
from grader.report.scorecard import paint, status_label, use_colour

Snapshot = dict[Path, tuple[int, int]]


def watched_files(folders: list[Path]) -> list[Path]:
    """The .py files directly inside ``folders`` (editor backups and hidden files ignored)."""
    return sorted({p for f in folders if f.is_dir() for p in f.glob("*.py") if not p.name.startswith((".", "#"))})


def snapshot(folders: list[Path]) -> Snapshot:
    state: Snapshot = {}
    for path in watched_files(folders):
        try:
            stat = path.stat()
        except OSError:  # deleted between the listing and the stat
            continue
        state[path] = (stat.st_mtime_ns, stat.st_size)
    return state


def first_pending(settings: Settings, target: Target, after: str | None = None) -> str | None:
    """The first exercise (after ``after``) not remembered as passed with its current files."""
    for name in kit.exercise_names():
        if after is not None and name <= after:
            continue
        known = settings.remembered(name, target)
        if known is None or known.status != Status.PASSED:
            return name
    return None


def summary(result: ExerciseResult, colour: bool) -> str:
    """Two lines at most: status, tests, points, seconds; then the first reason it does not pass."""
    line = (f"[{time.strftime('%H:%M:%S')}] {result.name}: {paint(status_label(result.status), result.status, colour)}  "
            f"{result.passed_tests}/{len(result.tests)} tests  {result.points}/{result.max_points} points  "
            f"{result.seconds:.1f} s")
    return line + (f"\n  {result.message}" if result.status != Status.PASSED and result.message else "")


def wait_for_change(folders: list[Path], before: Snapshot, interval: float) -> None:
    """Return once the watched files differ from ``before`` and have stopped changing."""
    current = snapshot(folders)
    while current == before:
        time.sleep(interval)
        current = snapshot(folders)
    while True:  # an editor may write a file in several steps: wait until it settles
        time.sleep(min(interval, 0.2))
        settled = snapshot(folders)
        if settled == current:
            return
        current = settled


def cmd_watch(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    """``grader watch [NAME]``: usage checked up front, then :func:`watch`."""
    check_folders(parser, args.target, args.data_dir)
    name = chosen_exercises(parser, [args.name])[0] if args.name else None
    settings = settings_from(args, parser, untrusted=bool(args.target))
    return watch(name, Target(args.solutions, args.target), settings, args.interval)


def watch(name: str | None, chosen: Target, settings: Settings, interval: float) -> int:
    """Run, summarise, wait for a save, repeat; follow the learner's progress when ``name`` is None."""
    folder = chosen.folder
    colour = use_colour(sys.stdout)
    current = name or first_pending(settings, chosen)
    try:
        while current is not None:
            folders = list(dict.fromkeys([folder / current, kit.EXERCISES_DIR / current]))
            before = snapshot(folders)
            print(f"running {current} ...", flush=True)
            result = run_streaming(settings, current, chosen, sys.stdout)
            print(summary(result, colour), flush=True)
            if result.status == Status.PASSED and name is None:
                current = first_pending(settings, chosen, after=current)
                if current is not None:
                    print(f"Moving on to {current}.", flush=True)
                continue
            where = folder / current
            shown = where.relative_to(kit.KIT_ROOT) if where.is_relative_to(kit.KIT_ROOT) else where
            print(f"Watching {shown}/*.py: save a file to re-run, Ctrl-C to stop.", flush=True)
            wait_for_change(folders, before, interval)
        print("Every exercise passes. Run `grader --all` for the scorecard.", flush=True)
    except KeyboardInterrupt:
        print("\nStopped watching.", flush=True)
    return 0
