"""The ``grader`` command line (docs/cli.md is its reference): parse with the one parser of
:mod:`grader.cli.parser`, then run the command, implemented in its own module.

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
    grader calibrate [NAME...]   how safely each accuracy threshold separates right from wrong
    grader regrade RESULT.json --target DIR   grade a hand-in again and show what changed
"""
from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

from grader.cli.batch import cmd_batch
from grader.cli.calibrate import cmd_calibrate
from grader.cli.check import cmd_check
from grader.cli.export import export_gradescope
from grader.cli.grade import cmd_grade
from grader.cli.parser import GRADE, parse
from grader.cli.regrade import cmd_regrade
from grader.cli.release import release
from grader.cli.settings import chosen_exercises
from grader.cli.train import cmd_train
from grader.cli.watch import cmd_watch
from grader.core import i18n, kit
from grader.report.classroom import show_summary

Command = Callable[[argparse.Namespace, argparse.ArgumentParser], int]


def cmd_data(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    from grader.data.datasets import run_data_command  # reads numpy: only when asked

    return run_data_command(args.names, args.check, args.data_dir)


def cmd_hint(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    from grader.report.hints import show_hint

    (name,) = chosen_exercises(parser, [args.name])
    return show_hint(name, args.all, args.reset, lang=i18n.language(args.lang))


COMMANDS: dict[str, Command] = {  # and "train", which also needs the words typed (main)
    GRADE: cmd_grade, "data": cmd_data, "check": cmd_check, "hint": cmd_hint,
    "release": lambda args, parser: release(args.out, args.force, args.github_classroom),
    "batch": cmd_batch, "watch": cmd_watch,
    "export": lambda args, parser: export_gradescope(args.out, args.hide_thresholds),
    "summary": lambda args, parser: show_summary(args.result, args.lang, args.classroom),
    "calibrate": cmd_calibrate, "regrade": cmd_regrade,
}


def main(argv: list[str] | None = None) -> int:
    """Run ``grader ARGV``; its exit status."""
    argv = sys.argv[1:] if argv is None else argv
    if not kit.EXERCISES_DIR.is_dir():
        print(f"grader: no kit at {kit.KIT_ROOT} (no exercises/ folder); check GRADER_KIT_ROOT", file=sys.stderr)
        return 2
    command, args, parser = parse(argv)
    if command == "train":  # its report quotes the command as typed
        return cmd_train(args, parser, argv[1:])
    return COMMANDS[command](args, parser)


if __name__ == "__main__":
    sys.exit(main())
