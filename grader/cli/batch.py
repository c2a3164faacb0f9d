"""``grader batch DIR``: grade every hand-in folder of DIR into one CSV, and one JSON per hand-in.

Each subfolder of DIR is a hand-in, graded like ``grader --target`` (tests from the kit, each
exercise in its own subprocess with a time limit). A hand-in zipped with its top folder
(``alice/exercises/...`` or ``alice/kit-main/exercises/...``) is found inside. Whatever one
hand-in does, the others are graded; if the grader itself fails on a hand-in, that row says so.
"""
from __future__ import annotations

import argparse
import csv
import io
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path

from tqdm import tqdm

from grader.cli.cluster import ClusterUnavailable, graded_on_cluster, problem_with
from grader.cli.grading import Graded, grade_handin
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
from grader.report.scorecard import status_label, to_json

SKIPPED = {"__MACOSX", "__pycache__"}


def find_handins(folder: Path) -> list[Path]:
    """The hand-in folders of ``folder``, sorted by name (hidden and archive-junk folders skipped)."""
    return sorted((p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".") and p.name not in SKIPPED),
                  key=lambda p: p.name)


def display_name(folder: Path) -> str:
    """The hand-in's folder name, with undecodable bytes shown as U+FFFD and control codes escaped."""
    return clip(folder.name.encode("utf-8", "surrogateescape").decode("utf-8", "replace"))


def csv_text(names: list[str], rows: list[tuple[str, list[ExerciseResult]]]) -> str:
    """One row per hand-in: name, points per exercise, total, max total, status per exercise."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["handin", *names, "total", "max_total", *(f"{n}_status" for n in names)])
    for handin, results in rows:
        writer.writerow([handin, *(r.points for r in results), sum(r.points for r in results),
                         sum(r.max_points for r in results), *(r.status for r in results)])
    return buffer.getvalue()




def graded_locally(handins: list[Path], names: list[str], settings: Settings) -> Iterator[tuple[Path, Graded, dict]]:
    """(hand-in, what grading it gave, its results JSON) as each finishes, ``settings.jobs`` at a time."""
    with ThreadPoolExecutor(max_workers=settings.jobs) as pool:
        futures = {pool.submit(grade_handin, h, names, settings): h for h in handins}
        for future in as_completed(futures):
            target, results, crashed = future.result()
            yield futures[future], (target, results, crashed), to_json(results, target, settings.device, settings.sandbox, settings.environment())


def run_batch(folder: Path, names: list[str], settings: Settings, csv_path: Path, json_dir: Path | None,
              cluster: str | None = None) -> int:
    """Grade every hand-in of ``folder`` (here, or on the Dask ``cluster``: :mod:`grader.cli.cluster`);
    0 when every hand-in was graded, 1 when the grader failed on one, 2 when the cluster is out of reach."""
    handins = [h for h in find_handins(folder) if not json_dir or h.resolve() != json_dir.resolve()]
    if not handins:
        print(f"grader batch: {folder} has no hand-in folders", file=sys.stderr)
        return 2
    if json_dir:
        json_dir.mkdir(parents=True, exist_ok=True)
    where = f"on the Dask cluster {cluster}" if cluster else f"{settings.jobs} at a time"
    print(f"Grading {len(handins)} hand-ins of {folder} ({len(names)} exercises each, {where}) on {settings.device}")
    stream = graded_on_cluster(cluster, handins, names, settings) if cluster else graded_locally(handins, names, settings)
    graded: dict[str, Graded] = {}
    try:
        for done, (handin, outcome, report) in enumerate(stream, start=1):
            _, results, crashed = graded[handin.name] = outcome
            if json_dir:
                write_json(json_dir / f"{handin.name}.json", report)
            points, max_points = sum(r.points for r in results), sum(r.max_points for r in results)
            statuses = ", ".join(f"{r.name[:2]} {status_label(r.status)}" for r in results)
            tqdm.write(f"[{done}/{len(handins)}] {display_name(handin)}: {points}/{max_points} points ({statuses})"
                       + (f"\n  {results[0].message}" if crashed else ""))
            sys.stdout.flush()
    except ClusterUnavailable as exc:
        print(f"grader batch: {exc}", file=sys.stderr)
        return 2
    rows = [(display_name(h), graded[h.name][1]) for h in handins]
    atomic_write_text(csv_path, csv_text(names, rows))
    failed = [display_name(h) for h in handins if graded[h.name][2]]
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
