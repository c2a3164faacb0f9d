"""The ``grader`` command line (docs/cli.md is its reference).

    grader                       progress and the next exercise to do
    grader --all | NAME...       run suites, print the scorecard (exit 0 all passed, 1 otherwise, 2 usage)
    grader data [--check]        fetch and verify datasets
    grader check                 the instructor's consistency check of the kit
    grader hint NAME             the next hint of an exercise
    grader release OUT           a student copy of the kit, without solutions/
    grader batch DIR --csv PATH  grade every hand-in folder of DIR into one CSV (and JSON files)
    grader export gradescope OUT.zip   the kit as a Gradescope autograder bundle
    grader summary RESULT.json   a results JSON as a Markdown scorecard (GitHub job summary)
    grader watch [NAME]          re-run an exercise's tests whenever one of its files is saved
    grader train [--model both]  the chapter's pipeline with your code: train, test, plots, report.md
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from grader.cli.grading import grade
from grader.cli.settings import (
    add_cache_options,
    add_run_options,
    positive_int,
    resolve_device,
    seconds,
    settings_from,
    writable_file,
    writable_folder,
)
from grader.core import i18n, kit
from grader.core.files import write_json
from grader.report.scorecard import print_scorecard, to_gradescope, to_json
from grader.run.runner import target_options


def add_target_options(parser: argparse.ArgumentParser, *, jobs: bool = True) -> None:
    """--solutions / --target / --data-dir and the run options, shared by the grading commands."""
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--solutions", action="store_true", help="grade solutions/ (the reference)")
    which.add_argument("--target", metavar="DIR", help="grade DIR, laid out like exercises/ (a hand-in)")
    add_run_options(parser, jobs=jobs)
    parser.add_argument("--data-dir", metavar="DIR", help="where datasets live (default: data/ or $GRADER_DATA_DIR)")


def grade_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="grader", description="Grade the neural-network basics exercises.",
        epilog="Other commands: grader data | check | hint | watch | train | release | batch (each with --help). "
               "Without NAME or --all: progress and the next step.")
    parser.add_argument("names", nargs="*", metavar="NAME", help="exercises to grade (a unique prefix such as 04 works)")
    parser.add_argument("--all", action="store_true", help="grade every exercise")
    add_target_options(parser)
    parser.add_argument("--json", metavar="PATH", help="write the results as JSON")
    parser.add_argument("--gradescope", metavar="PATH", help="write Gradescope's results.json")
    parser.add_argument("-v", "--verbose", action="store_true", help="show each failing test's message")
    add_cache_options(parser)
    add_lang_option(parser)
    return parser


def add_lang_option(parser: argparse.ArgumentParser) -> None:
    """--lang en|zh-TW (default: $GRADER_LANG, else the locale, else en)."""
    parser.add_argument("--lang", choices=i18n.LANGUAGES, default=None,
                        help="language of progress, scorecard and hints (default: $GRADER_LANG, else the locale)")


def describe_target(args: argparse.Namespace) -> str:
    if args.solutions:
        return str(kit.SOLUTIONS_DIR)
    return str(Path(args.target).resolve()) if args.target else str(kit.EXERCISES_DIR)


def check_folders(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Exit 2 unless --target names a folder and --data-dir a folder (or nothing yet); then use
    the data folder for this run."""
    target, data = getattr(args, "target", None), getattr(args, "data_dir", None)
    if target is not None and (not target.strip() or not Path(target).is_dir()):
        parser.error(f"--target {target!r}: no such folder")
    if data is not None:
        if not data.strip() or (Path(data).exists() and not Path(data).is_dir()):
            parser.error(f"--data-dir {data!r}: not a folder")
        os.environ["GRADER_DATA_DIR"] = str(Path(data).resolve())


def refuse_unwritable(parser: argparse.ArgumentParser, *problems: str | None) -> None:
    """Exit 2 naming the first output path that cannot be written, before any grading."""
    for problem in problems:
        if problem:
            parser.error(problem)


def cmd_grade(argv: list[str]) -> int:
    parser = grade_parser()
    args = parser.parse_args(argv)
    check_folders(parser, args)
    if args.solutions and not kit.SOLUTIONS_DIR.is_dir():
        parser.error(f"--solutions: {kit.SOLUTIONS_DIR} does not exist (a student copy has no solutions)")
    try:
        names = kit.resolve_names(args.names) if args.names else kit.exercise_names()
    except ValueError as exc:
        parser.error(str(exc))
    refuse_unwritable(parser, writable_file(args.json, "--json"), writable_file(args.gradescope, "--gradescope"))
    settings = settings_from(args, parser, untrusted=bool(args.target))
    if not args.names and not args.all:
        from grader.cli.progress import show_progress

        return show_progress(args, settings)
    results = grade(names, target_options(args.solutions, args.target), settings,
                    stream=args.verbose or sys.stderr.isatty())
    target = describe_target(args)
    failed = [problem for problem in (  # the files first: they must exist whatever printing does
        write_json(args.json, to_json(results, target, settings.device, settings.sandbox, settings.environment())) if args.json else None,
        write_json(args.gradescope, to_gradescope(results)) if args.gradescope else None) if problem]
    print_scorecard(results, target, settings.device, verbose=args.verbose, lang=i18n.language(args.lang))
    for problem in failed:
        print(f"grader: {problem}", file=sys.stderr)
    if failed:
        return 2
    return 0 if all(r.status == "passed" for r in results) else 1


def cmd_data(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="grader data", description="Fetch (or only verify) the datasets.")
    parser.add_argument("names", nargs="*", metavar="DATASET", help="mnist, fashion (default: both)")
    parser.add_argument("--check", action="store_true", help="verify only; exit 1 on a missing or corrupt file")
    parser.add_argument("--data-dir", metavar="DIR", help="where datasets live (default: data/ or $GRADER_DATA_DIR)")
    args = parser.parse_args(argv)
    from grader.data.datasets import run_data_command

    return run_data_command(args.names, args.check, args.data_dir)


def cmd_check(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="grader check", description=(
        "Check the kit: solutions pass 100%, stubs report not started, stubs and solutions expose the "
        "same names, signatures and docstrings, every test carries points, every README has hints."))
    add_run_options(parser)
    args = parser.parse_args(argv)
    from grader.cli.check import grading_problems, static_problems

    names = kit.exercise_names()
    problems = static_problems(names)
    settings = settings_from(args, parser, untrusted=False)
    solutions = grade(names, target_options(solutions=True), settings)
    print_scorecard(solutions, str(kit.SOLUTIONS_DIR), settings.device)
    stubs = grade(names, target_options(), settings)
    print_scorecard(stubs, str(kit.EXERCISES_DIR), settings.device)
    problems += grading_problems(solutions, stubs)
    print()
    for problem in problems:
        print(f"PROBLEM  {problem}")
    from grader.train.calibrate import calibration_warnings

    for warning in calibration_warnings():
        print(f"WARNING  {warning}")
    print(f"grader check: {len(problems)} problem(s) in {len(names)} exercises" if problems
          else f"grader check: all {len(names)} exercises consistent")
    return 1 if problems else 0


def cmd_hint(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="grader hint", description="Show an exercise's hints, one more each time.")
    parser.add_argument("name", metavar="NAME", help="exercise name or unique prefix")
    parser.add_argument("--all", action="store_true", help="show every hint")
    parser.add_argument("--reset", action="store_true", help="start again from the first hint")
    add_lang_option(parser)
    args = parser.parse_args(argv)
    try:
        (name,) = kit.resolve_names([args.name])
    except ValueError as exc:
        parser.error(str(exc))
    from grader.report.hints import show_hint

    return show_hint(name, args.all, args.reset, lang=i18n.language(args.lang))


def cmd_release(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="grader release", description=(
        "Write a student copy of the kit to OUT: exercises/, grader/, pyproject.toml, README.md, "
        "data/README.md, .gitignore; never solutions/, the kit's own tests/, .git/, data or caches. "
        "The copy is then scanned for solution code. Exit 0 clean, 1 a leak was found, 2 refused."))
    parser.add_argument("out", metavar="OUT", help="destination folder (must be empty or absent)")
    parser.add_argument("--force", action="store_true", help="replace the contents of a non-empty OUT")
    parser.add_argument("--github-classroom", action="store_true", help=(
        "add .github/workflows/grade.yml: grade every push on a CPU runner, scorecard in the job summary, "
        "grader.json as an artifact"))
    args = parser.parse_args(argv)
    from grader.cli.release import release

    return release(args.out, args.force, args.github_classroom)


def cmd_batch(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="grader batch", description=(
        "Grade every subfolder of DIR as a hand-in laid out like exercises/ (as with --target). "
        "Exit 0 when the batch completed, whatever the scores; 1 when the grader itself failed on "
        "a hand-in (its row says why); 2 on a usage error."))
    parser.add_argument("dir", metavar="DIR", help="folder with one subfolder per hand-in")
    parser.add_argument("names", nargs="*", metavar="NAME", help="exercises to grade (default: all; prefixes work)")
    parser.add_argument("--csv", required=True, metavar="PATH",
                        help="CSV: handin, points per exercise, total, max_total, status per exercise; sorted by hand-in")
    parser.add_argument("--json-dir", metavar="DIR", help="also write DIR/<handin>.json (the --json contract)")
    add_run_options(parser)
    parser.add_argument("--data-dir", metavar="DIR", help="where datasets live (default: data/ or $GRADER_DATA_DIR)")
    parser.add_argument("--cluster", metavar="ADDRESS|local:N", help=(
        "grade on a Dask cluster, one task per hand-in: the scheduler's address (tcp://HOST:8786), or local:N "
        "for N local worker processes; --jobs is then the cluster's business (needs the 'cluster' extra)"))
    args = parser.parse_args(argv)
    if not Path(args.dir).is_dir():
        parser.error(f"{args.dir}: no such folder")
    if args.cluster:
        from grader.cli.cluster import problem_with

        if problem := problem_with(args.cluster):
            parser.error(problem)
    try:
        names = kit.resolve_names(args.names) if args.names else kit.exercise_names()
    except ValueError as exc:
        parser.error(str(exc))
    refuse_unwritable(parser, writable_file(args.csv, "--csv"), writable_folder(args.json_dir, "--json-dir"))
    check_folders(parser, args)
    settings = settings_from(args, parser, untrusted=True)
    from grader.cli.batch import run_batch

    return run_batch(Path(args.dir), names, settings, Path(args.csv), Path(args.json_dir) if args.json_dir else None,
                     args.cluster)


def cmd_train(argv: list[str]) -> int:
    from grader.train.pipeline import cmd_train as train

    return train(argv)


def cmd_watch(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="grader watch", description=(
        "Run an exercise's tests, then again each time a .py file in its folder is saved, with a short "
        "summary after each run. Without NAME: the first exercise that does not pass, moving on as each "
        "one passes. Ctrl-C stops (exit 0)."))
    parser.add_argument("name", nargs="?", metavar="NAME", help="exercise name or unique prefix (default: the next one to do)")
    add_target_options(parser, jobs=False)
    add_cache_options(parser)
    parser.add_argument("--interval", type=seconds, default=0.5, metavar="SECONDS",
                        help="how often to look for changes (default 0.5)")
    args = parser.parse_args(argv)
    check_folders(parser, args)
    try:
        name = kit.resolve_names([args.name])[0] if args.name else None
    except ValueError as exc:
        parser.error(str(exc))
    settings = settings_from(args, parser, untrusted=bool(args.target))
    from grader.cli.watch import watch

    return watch(name, args, settings)


def cmd_export(argv: list[str]) -> int:
    from grader.cli.export import cmd_export as export

    return export(argv)


def cmd_summary(argv: list[str]) -> int:
    from grader.report.classroom import cmd_summary as summary

    return summary(argv)


def cmd_calibrate(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="grader calibrate", description=(
        "Train the reference model, and correct variants of it, over K seeds exactly as each accuracy "
        "threshold's test does; print min/median/max accuracy, the worst margin, the failure rate with a "
        "95%% upper bound and the time per threshold; write the table as JSON. Exit 1 when a margin is "
        "thinner than grader check accepts."))
    parser.add_argument("names", nargs="*", metavar="NAME", help="exercises with thresholds (default: all of them)")
    parser.add_argument("--seeds", type=positive_int, default=5, metavar="K", help="seeds per model (default 5)")
    parser.add_argument("--variants", type=int, default=2, metavar="N", help="correct variants besides the reference (default 2)")
    parser.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto")
    parser.add_argument("--json", metavar="PATH", help="where to write the table (default .grader/calibration.json)")
    args = parser.parse_args(argv)
    from grader.train.calibrate import DEFAULT_OUTPUT, run_calibration

    try:
        names = kit.resolve_names(args.names) if args.names else sorted({t.exercise for t in kit.thresholds()})
        device = resolve_device(args.device)
    except ValueError as exc:
        parser.error(str(exc))
    output = Path(args.json) if args.json else DEFAULT_OUTPUT
    refuse_unwritable(parser, writable_file(str(output), "--json"))
    return run_calibration(names, args.seeds, max(0, args.variants), device, output)


def cmd_regrade(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="grader regrade", description=(
        "Grade DIR again with the exercises and settings recorded in RESULT.json and show what differs: "
        "first the environment (versions, kit commit, device), then each exercise and test whose outcome or "
        "points changed. Exit 0 when nothing changed, 1 otherwise, 2 on a usage error."))
    parser.add_argument("result", metavar="RESULT.json", help="a results JSON written by grader --json")
    parser.add_argument("--target", required=True, metavar="DIR", help="the hand-in to grade again")
    parser.add_argument("--json", metavar="PATH", help="write the new results as JSON")
    args = parser.parse_args(argv)
    if not Path(args.target).is_dir():
        parser.error(f"--target {args.target}: no such folder")
    refuse_unwritable(parser, writable_file(args.json, "--json"))
    from grader.cli.regrade import RegradeError, regrade
    from grader.run.sandbox import unavailable_reason

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


COMMANDS = {"data": cmd_data, "check": cmd_check, "hint": cmd_hint, "release": cmd_release, "batch": cmd_batch,
            "watch": cmd_watch, "train": cmd_train, "export": cmd_export, "summary": cmd_summary,
            "calibrate": cmd_calibrate, "regrade": cmd_regrade}


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not kit.EXERCISES_DIR.is_dir():
        print(f"grader: no kit at {kit.KIT_ROOT} (no exercises/ folder); check GRADER_KIT_ROOT", file=sys.stderr)
        return 2
    if argv and argv[0] in COMMANDS:
        return COMMANDS[argv[0]](argv[1:])
    return cmd_grade(argv)


if __name__ == "__main__":
    sys.exit(main())
