"""``grader train``: the chapter's whole pipeline, run with the learner's own code.

Loaders, ``fit`` with early stopping and tqdm bars, the checkpoint, the test evaluation, the
three plots and a ``report.md`` with the MLP/CNN comparison table, all built from the chosen
implementation (``exercises/`` by default, ``solutions/`` with ``--solutions``, a hand-in with
``--target DIR``)::

    <target>/04_train/train.py        split_indices, EarlyStopping, fit (-> train_epoch, validate),
                                      mnist_transform (only with --loader torchvision)
    <target>/05_checkpoint/checkpoint.py   save_checkpoint
    <target>/06_mlp/mlp.py            MLP, count_parameters
    <target>/07_cnn/cnn.py            SimpleCNN (only with --model cnn|both)
    <target>/08_evaluate/evaluate.py  collect_predictions, confusion_matrix, per_class_accuracy,
                                      find_errors, plot_training_history, plot_confusion_matrix,
                                      plot_error_cases

Nothing is half-written: the functions are tried first (:mod:`grader.train.preflight`), and the
output folder appears only once the run has finished (:mod:`grader.train.staging`).
"""
from __future__ import annotations

import argparse
import shlex
import sys
import time
from datetime import datetime
from pathlib import Path

from grader.core.device import resolve_device
from grader.core.target import Target
from grader.train.fit_one import TrainingPlan, train_one
from grader.train.learner import Implementation, PipelineError
from grader.train.loaders import load_data
from grader.train.preflight import preflight
from grader.train.report import OUTPUT_FILES, write_report
from grader.train.staging import default_out, staged


def _shown(path: Path) -> str:
    """``path`` relative to the working folder when it is inside it."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def cmd_train(args: argparse.Namespace, parser: argparse.ArgumentParser, words: list[str]) -> int:
    """``grader train WORDS``: 0 when the run finished, 1 when the implementation or the data stopped
    it (nothing written), 2 on a usage error, 130 on Ctrl-C (nothing written)."""
    if args.epochs < 1 or args.batch_size < 1 or args.patience < 1 or not args.lr > 0:
        parser.error("--epochs, --batch-size, --patience and --lr must be positive")
    if args.threads is not None and args.threads < 1:
        parser.error("--threads must be positive")
    if args.subset is not None and args.subset < 10:
        parser.error("--subset must be at least 10 images")
    if args.target and not Path(args.target).is_dir():
        parser.error(f"--target {args.target}: no such folder")
    out = Path(args.out) if args.out else default_out()
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        parser.error(f"--out {out}: exists and is not an empty folder; choose a new one (runs are never overwritten)")
    try:
        chosen = resolve_device(args.device)
    except ValueError as exc:
        parser.error(str(exc))
    import torch

    device = torch.device(chosen)
    if args.threads:
        torch.set_num_threads(args.threads)
    import matplotlib

    matplotlib.use("Agg")  # files only, no screen needed
    from grader.data.datasets import DatasetUnavailable

    target = Target(args.solutions, args.target)
    plan = TrainingPlan(args.dataset, args.epochs, args.batch_size, args.lr, args.seed, args.patience)
    kinds = ["mlp", "cnn"] if args.model == "both" else [args.model]
    started, clock = datetime.now(), time.perf_counter()
    impl = Implementation(target.folder, f" {target.flag}" if target.flag else "")
    try:
        print(f"grader train: checking that {_shown(target.folder)}/ has every function the pipeline needs ...",
              flush=True)
        preflight(impl, kinds, args.loader, args.dataset, device)
        print("  all there. Loading the data ...", flush=True)
        data = load_data(impl, args.dataset, args.loader, args.batch_size, args.seed, args.subset, device,
                         args.data_dir)
        subfolders = {k: f"{k}/" for k in kinds} if len(kinds) > 1 else {}
        with staged(out) as stage:
            print(f"  the results go to {_shown(out)}/, which appears once the run has finished", flush=True)
            rows = [train_one(impl, kind, data, plan, stage / subfolders.get(kind, ""), device,
                              f"[{i}/{len(kinds)}]") for i, kind in enumerate(kinds, 1)]
            info = {"started": started.strftime("%Y-%m-%d %H:%M:%S"),
                    "command": "grader train " + " ".join(shlex.quote(a) for a in words),
                    "target": str(target.folder), "subset": args.subset is not None,
                    "loader_description": data.description, "wall_seconds": time.perf_counter() - clock}
            write_report(stage, rows, subfolders, info)
    except PipelineError as exc:
        print(f"\n{exc}\nNothing was written.", file=sys.stderr)
        return 1
    except DatasetUnavailable as exc:
        print(f"\ngrader train: the dataset is not available.\n{exc}\nNothing was written.", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\ngrader train: interrupted; nothing was written.", file=sys.stderr)
        return 130
    print(f"\ngrader train: finished in {time.perf_counter() - clock:.0f} s.")
    _print_outcome(rows, out, kinds, subfolders)
    return 0


def _print_outcome(rows: list[dict], out: Path, kinds: list[str], subfolders: dict[str, str]) -> None:
    """The comparison table, then every file written and what it holds."""
    print("\n| Model | Parameters | Test accuracy | Seconds per epoch |")
    for row in rows:
        print(f"| {row['title']} | {row['parameters']:,} | {row['test_accuracy']:.2f}% | {row['seconds_per_epoch']:.1f} |")
    print(f"\nEverything is in {_shown(out)}/:")
    width = max(len(f"{sub}{name}") for sub in (list(subfolders.values()) or [""]) for name, _ in OUTPUT_FILES)
    print(f"  {'report.md':<{width}}  the comparison table and the plots (any Markdown viewer)")
    for kind in kinds:
        for name, what in OUTPUT_FILES:
            print(f"  {subfolders.get(kind, '') + name:<{width}}  {what}")
