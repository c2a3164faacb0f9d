"""``grader NAME... | --all``: grade exercises and print the scorecard; ``grader`` alone: progress
(exit 0 all passed, 1 otherwise, 2 usage)."""
from __future__ import annotations

import argparse
import sys

from grader.cli.grading import grade
from grader.cli.progress import show_progress
from grader.cli.settings import check_folders, chosen_exercises, refuse_unwritable, settings_from, writable_file
from grader.core import i18n, kit
from grader.core.files import write_json
from grader.core.results import Status
from grader.core.target import Target
from grader.report.scorecard import print_scorecard, to_gradescope, to_json


def cmd_grade(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    """Grade the exercises named (or all), write --json / --gradescope, print the scorecard."""
    check_folders(parser, args.target, args.data_dir)
    if args.solutions and not kit.SOLUTIONS_DIR.is_dir():
        parser.error(f"--solutions: {kit.SOLUTIONS_DIR} does not exist (a student copy has no solutions)")
    names = chosen_exercises(parser, args.names)
    refuse_unwritable(parser, writable_file(args.json, "--json"), writable_file(args.gradescope, "--gradescope"))
    settings = settings_from(args, parser, untrusted=bool(args.target))
    target = Target(args.solutions, args.target)
    lang = i18n.language(args.lang)
    if not args.names and not args.all:
        return show_progress(target, settings, lang)
    results = grade(names, target, settings, stream=args.verbose or sys.stderr.isatty())
    where = str(target.folder)
    failed = [problem for problem in (  # the files first: they must exist whatever printing does
        write_json(args.json, to_json(results, where, settings.device, settings.sandbox, settings.environment())) if args.json else None,
        write_json(args.gradescope, to_gradescope(results)) if args.gradescope else None) if problem]
    print_scorecard(results, where, settings.device, verbose=args.verbose, lang=lang,
                    unsandboxed=settings.unsandboxed)
    for problem in failed:
        print(f"grader: {problem}", file=sys.stderr)
    if failed:
        return 2
    return 0 if all(r.status == Status.PASSED for r in results) else 1
