"""The ``grader`` command line as one parser, a subcommand per command (docs/cli.md is its reference).

Options that several commands share are parent parsers (``parents=[...]``); a command lists its
parents, and its own options where they stand among them, in the order its --help shows them.
``grader NAME...`` has no command word: :data:`GRADE` is put in front of it (:func:`parse`).
"""
from __future__ import annotations

import argparse
import os
from collections.abc import Callable

from grader.cli.settings import DEFAULT_MEMORY, positive_int, seconds, size
from grader.core import i18n
from grader.run.limits import parse_size
from grader.run.runner import DEFAULT_TIMEOUT

GRADE = "grade"  # grading exercises: `grader NAME...` / `grader --all`, typed without this word
DEVICES = ["auto", "cpu", "cuda"]


def _parent() -> argparse.ArgumentParser:
    """An empty parser to hold options for others (``parents=[...]``)."""
    return argparse.ArgumentParser(add_help=False)


def target_parent() -> argparse.ArgumentParser:
    """--solutions | --target DIR: what to grade."""
    parent = _parent()
    which = parent.add_mutually_exclusive_group()
    which.add_argument("--solutions", action="store_true", help="grade solutions/ (the reference)")
    which.add_argument("--target", metavar="DIR", help="grade DIR, laid out like exercises/ (a hand-in)")
    return parent


def run_parent(*, jobs: bool = True) -> argparse.ArgumentParser:
    """--device, --timeout, --jobs (unless not ``jobs``), --sandbox, --memory: how to grade."""
    parent = _parent()
    parent.add_argument("--device", choices=DEVICES, default="auto",
                        help="torch device for the tests (auto: CUDA when available)")
    parent.add_argument("--timeout", type=seconds, default=DEFAULT_TIMEOUT, metavar="SECONDS",
                        help=f"time limit per exercise (default {DEFAULT_TIMEOUT:g})")
    if jobs:
        parent.add_argument("--jobs", type=positive_int, default=1, metavar="N", help="grade N at once")
    parent.add_argument("--sandbox", choices=["auto", "on", "off"], default="auto",
                        help="run graded code in a bubblewrap sandbox (auto: for --target and batch, where "
                             "bubblewrap works)")
    parent.add_argument("--memory", type=size, default=parse_size(DEFAULT_MEMORY), metavar="SIZE",
                        help=f"memory cap per exercise inside the sandbox (default {DEFAULT_MEMORY})")
    return parent


def data_dir_parent() -> argparse.ArgumentParser:
    """--data-dir DIR."""
    parent = _parent()
    parent.add_argument("--data-dir", metavar="DIR", help="where datasets live (default: data/ or $GRADER_DATA_DIR)")
    return parent


def cache_parent() -> argparse.ArgumentParser:
    """--fresh: grade anew what a remembered result could stand in for (never for a hand-in)."""
    parent = _parent()
    parent.add_argument("--fresh", action="store_true",
                        help="grade again even what has not changed (hand-ins are always graded afresh)")
    return parent


def lang_parent() -> argparse.ArgumentParser:
    """--lang en|zh-TW (default: $GRADER_LANG, else the locale, else en)."""
    parent = _parent()
    parent.add_argument("--lang", choices=i18n.LANGUAGES, default=None,
                        help="language of progress, scorecard and hints (default: $GRADER_LANG, else the locale)")
    return parent


AddParser = Callable[..., argparse.ArgumentParser]  # a subparsers action's add_parser


def _grade(add: AddParser) -> None:
    selection, outputs = _parent(), _parent()
    selection.add_argument("--all", action="store_true", help="grade every exercise")
    outputs.add_argument("--json", metavar="PATH", help="write the results as JSON")
    outputs.add_argument("--gradescope", metavar="PATH", help="write Gradescope's results.json")
    outputs.add_argument("-v", "--verbose", action="store_true", help="show each failing test's message")
    parser = add(GRADE, prog="grader", description="Grade the neural-network basics exercises.",
                 epilog="Other commands: grader data | check | hint | watch | train | release | batch (each with "
                        "--help). Without NAME or --all: progress and the next step.",
                 parents=[selection, target_parent(), run_parent(), data_dir_parent(), outputs, cache_parent(),
                          lang_parent()])
    parser.add_argument("names", nargs="*", metavar="NAME", help="exercises to grade (a unique prefix such as 04 works)")


def _data(add: AddParser) -> None:
    check = _parent()
    check.add_argument("--check", action="store_true", help="verify only; exit 1 on a missing or corrupt file")
    parser = add("data", description="Fetch (or only verify) the datasets.", parents=[check, data_dir_parent()])
    parser.add_argument("names", nargs="*", metavar="DATASET", help="mnist, fashion (default: both)")


def _check(add: AddParser) -> None:
    add("check", parents=[run_parent()], description=(
        "Check the kit: solutions pass 100%, stubs report not started, stubs and solutions expose the "
        "same names, signatures and docstrings, every test carries points, every README has hints."))


def _hint(add: AddParser) -> None:
    which = _parent()
    which.add_argument("--all", action="store_true", help="show every hint")
    which.add_argument("--reset", action="store_true", help="start again from the first hint")
    parser = add("hint", description="Show an exercise's hints, one more each time.", parents=[which, lang_parent()])
    parser.add_argument("name", metavar="NAME", help="exercise name or unique prefix")


def _release(add: AddParser) -> None:
    parser = add("release", description=(
        "Write a student copy of the kit to OUT: exercises/, grader/, pyproject.toml, README.md, "
        "data/README.md, .gitignore; never solutions/, the kit's own tests/, .git/, data or caches. "
        "The copy is then scanned for solution code. Exit 0 clean, 1 a leak was found, 2 refused."))
    parser.add_argument("out", metavar="OUT", help="destination folder (must be empty or absent)")
    parser.add_argument("--force", action="store_true", help="replace the contents of a non-empty OUT")
    parser.add_argument("--github-classroom", action="store_true", help=(
        "add .github/workflows/grade.yml: grade every push anew on a CPU runner, scorecard in the job summary, "
        "points to GitHub Classroom's dashboard, grader.json as an artifact (feedback: the student owns it)"))


def _batch(add: AddParser) -> None:
    handins = _parent()  # the positionals first: "required: DIR, NAME, --csv"
    handins.add_argument("dir", metavar="DIR", help="folder with one hand-in folder per student")
    handins.add_argument("names", nargs="*", metavar="NAME", help="exercises to grade (default: all; prefixes work)")
    handins.add_argument("--csv", required=True, metavar="PATH",
                         help=("CSV: handin, points per exercise, total, max_total, status per exercise, sandboxed, "
                               "kit_files_changed; sorted by hand-in"))
    handins.add_argument("--json-dir", metavar="DIR", help="also write DIR/<handin>.json (the --json contract)")
    parser = add("batch", parents=[handins, run_parent(), data_dir_parent()], description=(
        "Grade every entry of DIR as a hand-in laid out like exercises/ (as with --target), each in a fresh copy "
        "of its files; links, files, FIFOs and oversized or too deep hand-ins are refused in their own row. "
        "Exit 0 when the batch completed, whatever the scores; 1 when the grader itself failed on "
        "a hand-in (its row says why); 2 on a usage error."))
    parser.add_argument("--cluster", metavar="ADDRESS|local:N", help=(
        "grade on a Dask cluster, one task per hand-in: the scheduler's address (tcp://HOST:8786), or local:N "
        "for N local worker processes; --jobs is then the cluster's business (needs the 'cluster' extra)"))


def _watch(add: AddParser) -> None:
    parser = add("watch", parents=[target_parent(), run_parent(jobs=False), data_dir_parent(), cache_parent()],
                 description=(
                     "Run an exercise's tests, then again each time a .py file in its folder is saved, with a short "
                     "summary after each run. Without NAME: the first exercise that does not pass, moving on as "
                     "each one passes. Ctrl-C stops (exit 0)."))
    parser.add_argument("name", nargs="?", metavar="NAME",
                        help="exercise name or unique prefix (default: the next one to do)")
    parser.add_argument("--interval", type=seconds, default=0.5, metavar="SECONDS",
                        help="how often to look for changes (default 0.5)")


def _train(add: AddParser) -> None:
    add("train", parents=[_train_options(), data_dir_parent()], description=(
        "Run the chapter's whole pipeline with your code: data loaders, fit with early stopping, test evaluation, "
        "plots, checkpoints and a report.md comparing the models. Uses exercises/ by default; stops with the first "
        "unfinished exercise named and writes nothing until the run has finished."),
        epilog="Example: grader train --model both --epochs 2   (quick check: grader train --subset 2000 --epochs 1)")


def _train_options() -> argparse.ArgumentParser:
    parent = _parent()
    parent.add_argument("--model", choices=["mlp", "cnn", "both"], default="mlp",
                        help="which network to train; both: MLP and CNN side by side (default mlp)")
    parent.add_argument("--epochs", type=int, default=5, metavar="N", help="at most N epochs (default 5)")
    parent.add_argument("--dataset", choices=["mnist", "fashion"], default="mnist", help="default mnist")
    which = parent.add_mutually_exclusive_group()
    which.add_argument("--solutions", action="store_true", help="use solutions/ (the reference) instead of exercises/")
    which.add_argument("--target", metavar="DIR", help="use DIR, laid out like exercises/ (a hand-in)")
    parent.add_argument("--out", metavar="DIR",
                        help="output folder, new or empty (default runs/<timestamp>/ in the kit); "
                             "with --model both each model's files go in its subfolder mlp/ or cnn/")
    parent.add_argument("--loader", choices=["memory", "torchvision"], default="memory",
                        help="memory: pre-normalised in-memory tensors (fast, default); torchvision: the chapter's "
                             "torchvision dataset with your mnist_transform() per image in a DataLoader")
    parent.add_argument("--device", choices=DEVICES, default="auto", help="torch device (auto: CUDA when available)")
    parent.add_argument("--batch-size", type=int, default=64, metavar="N", help="default 64")
    parent.add_argument("--lr", type=float, default=1e-3, help="Adam learning rate (default 0.001)")
    parent.add_argument("--seed", type=int, default=42,
                        help="seed of the split, the shuffling and the weights (default 42)")
    parent.add_argument("--patience", type=int, default=3, metavar="N",
                        help="early stopping: stop after N epochs without a better validation loss (default 3)")
    parent.add_argument("--subset", type=int, metavar="N",
                        help="train on the first N training images only (quick runs; the test set stays whole)")
    parent.add_argument("--threads", type=int, metavar="N", help=(
        "CPU threads for torch (default: torch's own choice; 1 can be much faster on a busy machine)"))
    return parent


def _export(add: AddParser) -> None:
    parser = add("export", description=(
        "Package the kit for a grading service. gradescope: a zip with setup.sh, run_autograder and the kit "
        "without solutions/ or tests/ (see docs/grading-a-class.md)."))
    parser.add_argument("service", choices=["gradescope"], help="the grading service")
    parser.add_argument("out", metavar="OUT.zip", help="the bundle to write")
    parser.add_argument("--hide-thresholds", action="store_true", help=(
        "show the tests that train on MNIST / Fashion-MNIST to students only after the due date "
        "(visibility after_due_date); every other test stays visible"))


def _summary(add: AddParser) -> None:
    parser = add("summary", description=(
        "Write a results JSON (grader --json) as a Markdown scorecard: appended to $GITHUB_STEP_SUMMARY when "
        "set (a GitHub Actions job summary), else printed. Exit 0 when every exercise passed, 1 otherwise, "
        "2 when the file is missing or not grader results."))
    parser.add_argument("result", metavar="RESULT.json", help="the results JSON to show")
    parser.add_argument("--lang", choices=i18n.LANGUAGES, default=None, help="language of headings and status words")
    parser.add_argument("--classroom", action="store_true", help=(
        "instead of the scorecard, write the points as GitHub Classroom's grading reporter reads them: "
        "result=BASE64 appended to $GITHUB_OUTPUT when set, else printed (one test per exercise)"))


def _calibrate(add: AddParser) -> None:
    parser = add("calibrate", description=(
        "Train the reference model, and correct variants of it, over K seeds exactly as each accuracy "
        "threshold's test does; print min/median/max accuracy, the worst margin, the failure rate with a "
        "95%% upper bound and the time per threshold; write the table as JSON. Exit 1 when a margin is "
        "thinner than grader check accepts."))
    parser.add_argument("names", nargs="*", metavar="NAME", help="exercises with thresholds (default: all of them)")
    parser.add_argument("--seeds", type=positive_int, default=5, metavar="K", help="seeds per model (default 5)")
    parser.add_argument("--variants", type=int, default=2, metavar="N",
                        help="correct variants besides the reference (default 2)")
    parser.add_argument("--device", choices=DEVICES, default="auto")
    parser.add_argument("--json", metavar="PATH", help="where to write the table (default .grader/calibration.json)")


def _regrade(add: AddParser) -> None:
    record = _parent()  # the positionals first: "required: RESULT.json, --target"
    record.add_argument("result", metavar="RESULT.json", help="a results JSON written by grader --json")
    record.add_argument("--target", required=True, metavar="DIR", help="the hand-in to grade again")
    record.add_argument("--json", metavar="PATH", help="write the new results as JSON")
    parser = add("regrade", parents=[record, run_parent(jobs=False), data_dir_parent()], description=(
        "Grade DIR again with the exercises recorded in RESULT.json and show what differs: first the environment "
        "(versions, kit commit, device, sandbox, time limit), then each exercise and test whose outcome or points "
        "changed. RESULT.json is untrusted: it chooses the exercises, the device (unless --device is given), the "
        "threads and a time limit shorter than --timeout; the sandbox and the limits come from this command line. "
        "Exit 0 when nothing changed, 1 otherwise, 2 on a usage error or a malformed RESULT.json."))
    parser.set_defaults(device=None)  # None: the device RESULT.json was graded on


COMMANDS = (_grade, _data, _check, _hint, _release, _batch, _watch, _train, _export, _summary, _calibrate, _regrade)


def build() -> tuple[argparse.ArgumentParser, dict[str, argparse.ArgumentParser]]:
    """The one parser, and its subcommands' parsers by name (each with its own ``prog``)."""
    top = argparse.ArgumentParser(prog="grader", add_help=False)
    subcommands = top.add_subparsers(dest="command", required=True)
    for command in COMMANDS:
        command(subcommands.add_parser)
    return top, dict(subcommands.choices)


def parse(argv: list[str]) -> tuple[str, argparse.Namespace, argparse.ArgumentParser]:
    """(command, its options, its parser). The command is ``argv[0]`` when that names one other than
    GRADE, else GRADE with the whole of ``argv`` (an unknown word is an exercise name). A usage
    error exits 2 with the command's own usage line."""
    top, parsers = build()
    command = argv[0] if argv and argv[0] in parsers and argv[0] != GRADE else GRADE
    words = argv[1:] if command != GRADE else argv
    args, unrecognized = top.parse_known_args([command, *words])
    if unrecognized:
        parsers[command].error(f"unrecognized arguments: {' '.join(unrecognized)}")
    return command, args, parsers[command]


def autograder_parser() -> argparse.ArgumentParser:
    """``python -m grader.cli.export --root ROOT``: what a Gradescope autograder runs."""
    parser = argparse.ArgumentParser(prog="python -m grader.cli.export", description="Grade a Gradescope submission.")
    parser.add_argument("--root", default=os.environ.get("GRADESCOPE_ROOT", "/autograder"),
                        help="the autograder folder (holds submission/ and results/)")
    return parser
