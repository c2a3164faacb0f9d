"""``grader batch DIR``: grade every hand-in folder of DIR into one CSV, and one JSON per hand-in.

Each entry of DIR is a hand-in, graded like ``grader --target`` (tests from the kit, each
exercise in its own subprocess with a time limit) in a fresh copy of its files, exactly as a
cluster's worker grades it (:func:`grader.cli.grading.grade_handin`). A hand-in zipped with its
top folder (``alice/exercises/...`` or ``alice/kit-main/exercises/...``) is found inside. Whatever
one hand-in does, the others are graded: a refused hand-in (a link, a file, too big or too deep:
:mod:`grader.core.handins`) or one the grader fails on costs its own row, which says why.
"""
from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path

from tqdm import tqdm

from grader.cli.cluster import ClusterUnavailable, graded_on_cluster, problem_with
from grader.cli.grading import Graded, grade_handin, results_of
from grader.cli.settings import (
    Settings,
    check_folders,
    chosen_exercises,
    refuse_unwritable,
    settings_from,
    writable_file,
    writable_folder,
)
from grader.core.files import atomic_write_text, write_json
from grader.core.results import ExerciseResult
from grader.core.text import clip
from grader.report.csv_cells import csv_table
from grader.report.scorecard import status_label

SKIPPED = {"__MACOSX", "__pycache__"}


def find_handins(folder: Path, outputs: list[str]) -> list[Path]:
    """The hand-ins of ``folder``, sorted by name: every entry but hidden and archive-junk ones and
    this run's ``outputs``. A file or a link is a hand-in too, so that its row says why it was refused."""
    kept = []
    with os.scandir(folder) as scan:
        for entry in scan:
            path = folder / entry.name
            if not entry.name.startswith(".") and entry.name not in SKIPPED and os.path.realpath(path) not in outputs:
                kept.append(path)
    return sorted(kept, key=lambda p: p.name)


def display_name(folder: Path) -> str:
    """The hand-in's folder name, with undecodable bytes shown as U+FFFD and control codes escaped."""
    return clip(folder.name.encode("utf-8", "surrogateescape").decode("utf-8", "replace"))


def csv_text(names: list[str], rows: list[tuple[str, list[ExerciseResult], bool, list[str]]]) -> str:
    """One row per hand-in: name, points per exercise, total, max total, status per exercise, then
    whether it ran sandboxed and the kit files it changed (columns are only ever appended)."""
    header = ["handin", *names, "total", "max_total", *(f"{n}_status" for n in names), "sandboxed", "kit_files_changed"]
    return csv_table([header, *([handin, *(r.points for r in results), sum(r.points for r in results),
                                 sum(r.max_points for r in results), *(r.status for r in results),
                                 "yes" if sandboxed else "no", "; ".join(changed)]
                                for handin, results, sandboxed, changed in rows)])


def graded_locally(handins: list[Path], names: list[str], settings: Settings) -> Iterator[tuple[Path, Graded]]:
    """(hand-in, what grading it gave) as each finishes, ``settings.jobs`` at a time."""
    with ThreadPoolExecutor(max_workers=settings.jobs) as pool:
        futures = {pool.submit(grade_handin, h, names, settings): h for h in handins}
        for future in as_completed(futures):
            yield futures[future], future.result()


def refused(results: list[ExerciseResult]) -> bool:
    """Whether these are the rows of a hand-in refused before grading."""
    return all(r.max_points == 0 and r.message.startswith("refused:") for r in results)


def progress_line(done: int, total: int, handin: Path, graded: Graded) -> str:
    """``[n/N] name: points (status per exercise)``, saying when it ran unsandboxed, and why it was
    refused or why the grader failed on it."""
    results = results_of(graded.report)
    points, max_points = sum(r.points for r in results), sum(r.max_points for r in results)
    statuses = ", ".join(f"{r.name[:2]} {status_label(r.status)}" for r in results)
    return (f"[{done}/{total}] {display_name(handin)}: {points}/{max_points} points ({statuses})"
            + ("" if graded.report["sandbox"] else " [not sandboxed]")
            + (f"\n  {results[0].message}" if results and (graded.crashed or refused(results)) else ""))


def run_batch(folder: Path, names: list[str], settings: Settings, csv_path: Path, json_dir: Path | None,
              cluster: str | None = None) -> int:
    """Grade every hand-in of ``folder`` (here, or on the Dask ``cluster``: :mod:`grader.cli.cluster`);
    0 when every hand-in was graded or refused, 1 when the grader failed on one, 2 when the cluster is
    out of reach."""
    outputs = [os.path.realpath(p) for p in (csv_path, json_dir) if p is not None]  # never raises on a link loop
    handins = find_handins(folder, outputs)
    if not handins:
        print(f"grader batch: {folder} has no hand-in folders", file=sys.stderr)
        return 2
    if json_dir:
        json_dir.mkdir(parents=True, exist_ok=True)
    where = f"on the Dask cluster {cluster}" if cluster else f"{settings.jobs} at a time"
    print(f"Grading {len(handins)} hand-ins of {folder} ({len(names)} exercises each, {where}) on {settings.device}")
    stream = graded_on_cluster(cluster, handins, names, settings) if cluster else graded_locally(handins, names, settings)
    graded: dict[Path, Graded] = {}
    try:
        for done, (handin, outcome) in enumerate(stream, start=1):
            graded[handin] = outcome
            if json_dir:
                write_json(json_dir / f"{handin.name}.json", outcome.report)
            tqdm.write(progress_line(done, len(handins), handin, outcome))
            sys.stdout.flush()
    except ClusterUnavailable as exc:
        print(f"grader batch: {exc}", file=sys.stderr)
        return 2
    rows = [(display_name(h), results_of(graded[h].report), graded[h].report["sandbox"],
             graded[h].report["kit_files_changed"]) for h in handins]
    atomic_write_text(csv_path, csv_text(names, rows))
    failed = [display_name(h) for h in handins if graded[h].crashed]
    print(f"Wrote {csv_path} ({len(rows)} hand-ins)" + (f" and {len(rows)} JSON files in {json_dir}" if json_dir else ""))
    if failed:
        print(f"The grader failed on {len(failed)} hand-in(s): {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


def cmd_batch(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    """``grader batch DIR --csv PATH``: usage checked up front, then :func:`run_batch`."""
    if not Path(args.dir).is_dir():
        parser.error(f"{args.dir}: no such folder")
    if args.cluster and (problem := problem_with(args.cluster)):
        parser.error(problem)
    names = chosen_exercises(parser, args.names)
    refuse_unwritable(parser, writable_file(args.csv, "--csv"), writable_folder(args.json_dir, "--json-dir"))
    check_folders(parser, None, args.data_dir)
    settings = settings_from(args, parser, untrusted=True)
    return run_batch(Path(args.dir), names, settings, Path(args.csv), Path(args.json_dir) if args.json_dir else None,
                     args.cluster)
