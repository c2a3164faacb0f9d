"""One model of a ``grader train`` run: built, fitted, checkpointed, tested and plotted with the
learner's code, into its own folder."""
from __future__ import annotations

import json
import math
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from grader.train.learner import Implementation, PipelineError, one_line, predictions
from grader.train.loaders import NUM_CLASSES, Data

ERROR_CASES_SHOWN = 6
# model choice -> (exercise, class name, title in the report)
MODELS = {
    "mlp": ("06_mlp", "MLP", "MLP"),
    "cnn": ("07_cnn", "SimpleCNN", "CNN (SimpleCNN)"),
}
HISTORY_KEYS = ("train_loss", "train_acc", "val_loss", "val_acc")


@dataclass(frozen=True)
class TrainingPlan:
    """How every model of a run is trained (grader train's options)."""

    dataset: str
    epochs: int
    batch_size: int
    lr: float
    seed: int
    patience: int


class EpochClock:
    """Wraps a loader and notes when each pass over it starts (one pass per epoch of fit)."""

    def __init__(self, loader: Any) -> None:
        self.loader = loader
        self.starts: list[float] = []

    def __iter__(self) -> Iterator[Any]:
        self.starts.append(time.perf_counter())
        return iter(self.loader)

    def __len__(self) -> int:
        return len(self.loader)

    def __getattr__(self, name: str) -> Any:  # .dataset, .batch_size, ...
        return getattr(self.loader, name)



def _median(values: list[float]) -> float:
    ordered = sorted(values)
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2


def _check_history(history: Any, epochs: int) -> dict[str, list[float]]:
    problem = None
    if not isinstance(history, dict) or any(k not in history for k in HISTORY_KEYS):
        problem = f"returned {type(history).__name__}"
    else:
        try:
            clean = {k: [float(v) for v in history[k]] for k in HISTORY_KEYS}
        except Exception as exc:  # noqa: BLE001
            problem = f"returned a history whose values are not numbers ({one_line(exc)})"
        else:
            lengths = {len(v) for v in clean.values()}
            if len(lengths) != 1 or not 1 <= lengths.pop() <= epochs:
                problem = f"returned lists of lengths {[len(v) for v in clean.values()]} for {epochs} epoch(s)"
            else:
                return clean
    raise PipelineError(
        f"grader train stopped: 04_train.fit {problem}; expected a dict with the lists "
        f"{', '.join(HISTORY_KEYS)}, one entry per epoch run.\nCheck it with: pytest exercises/04_train")


def _epoch_seconds(train_clock: EpochClock, val_clock: EpochClock, fit_start: float, fit_end: float,
                   epochs_run: int) -> tuple[list[float], list[float] | None]:
    """Wall time of each epoch (training pass + validation pass), and of each training pass
    alone; measured from the moments fit began each pass over the loaders. Falls back to an even
    share of fit's time when fit did not make exactly one pass per epoch."""
    starts = train_clock.starts
    if len(starts) != epochs_run:
        return [(fit_end - fit_start) / epochs_run] * epochs_run, None
    ends = starts[1:] + [fit_end]
    epoch = [b - a for a, b in zip(starts, ends)]
    vals = val_clock.starts
    train_only = [v - a for a, v in zip(starts, vals)] if len(vals) == epochs_run else None
    return epoch, train_only


def train_one(impl: Implementation, kind: str, data: Data, plan: TrainingPlan, folder: Path,
              device: Any, position: str) -> dict[str, Any]:
    """Build, fit, checkpoint, test and plot one model into ``folder``; returns its summary."""
    import numpy as np
    import torch
    from torch import nn

    from grader.checks.reference import seed_everything

    exercise, cls, title = MODELS[kind]
    folder.mkdir(parents=True, exist_ok=True)
    seed_everything(plan.seed)
    model = impl.call(exercise, cls)
    if not isinstance(model, nn.Module):
        raise PipelineError(f"grader train stopped: {exercise}.{cls}() is not an nn.Module.\n"
                            f"Check it with: {impl.pytest_command(exercise)}")
    model = model.to(device)
    parameters = int(impl.call("06_mlp", "count_parameters", model))
    optimizer = torch.optim.Adam(model.parameters(), lr=plan.lr)
    criterion = nn.CrossEntropyLoss()
    stopper = impl.call("04_train", "EarlyStopping", patience=plan.patience)
    train_clock, val_clock = EpochClock(data.make_train(plan.seed)), EpochClock(data.val_loader)
    best_path = folder / "best_model.pth"
    print(f"\n{position} {title}: {parameters:,} parameters; up to {plan.epochs} epoch(s) on {data.n_train:,} "
          f"images, validating on {data.n_val:,} ({data.kind} loader, {device})", flush=True)
    fit_start = time.perf_counter()
    raw_history = impl.call("04_train", "fit", model, train_clock, val_clock, criterion, optimizer, device,
                            plan.epochs, early_stopping=stopper, best_path=best_path)
    fit_end = time.perf_counter()
    history = _check_history(raw_history, plan.epochs)
    epochs_run = len(history["val_acc"])
    epoch_seconds, train_pass_seconds = _epoch_seconds(train_clock, val_clock, fit_start, fit_end, epochs_run)

    impl.call("05_checkpoint", "save_checkpoint", model, optimizer, epochs_run, history["val_loss"][-1],
              history["val_acc"][-1], folder / "checkpoint.pth")
    if not best_path.is_file():
        raise PipelineError(f"grader train stopped: 04_train.fit was given best_path={best_path.name} but saved "
                            "nothing there: save model.state_dict() whenever val_acc reaches a new best.\n"
                            f"Check it with: {impl.pytest_command('04_train')}")
    try:
        model.load_state_dict(torch.load(best_path, map_location=device, weights_only=True))
    except Exception as exc:  # noqa: BLE001
        raise PipelineError(f"grader train stopped: the best_model.pth written by 04_train.fit does not load "
                            f"back into the model ({type(exc).__name__}: {one_line(exc)}); it must hold "
                            f"model.state_dict().\nCheck it with: {impl.pytest_command('04_train')}") from None

    preds, labels, probs = predictions(impl, model, data.test_loader, device)
    if len(preds) != data.n_test or len(labels) != data.n_test:
        raise PipelineError(f"grader train stopped: 08_evaluate.collect_predictions returned {len(preds)} "
                            f"predictions for {data.n_test:,} test images.\n"
                            f"Check it with: {impl.pytest_command('08_evaluate')}")
    test_accuracy = float(100.0 * np.mean(preds == labels))
    cm = impl.call("08_evaluate", "confusion_matrix", labels, preds, NUM_CLASSES)
    per_class = [float(v) for v in np.asarray(impl.call("08_evaluate", "per_class_accuracy", cm), dtype=float)]
    errors = impl.call("08_evaluate", "find_errors", preds, labels, probs)
    try:
        worst_first = sorted(errors, key=lambda e: -float(e["confidence"]))
    except Exception as exc:  # noqa: BLE001
        raise PipelineError(f"grader train stopped: 08_evaluate.find_errors returned entries without a numeric "
                            f"'confidence' ({type(exc).__name__}: {one_line(exc)}).\n"
                            f"Check it with: {impl.pytest_command('08_evaluate')}") from None
    impl.call("08_evaluate", "plot_training_history", history, folder / "training_curves.png")
    impl.call("08_evaluate", "plot_confusion_matrix", cm, folder / "confusion_matrix.png")
    impl.call("08_evaluate", "plot_error_cases", data.display_images, worst_first, folder / "error_cases.png",
              num_cases=ERROR_CASES_SHOWN)
    best_epoch = int(np.argmax(history["val_acc"])) + 1
    summary = {
        "model": kind, "title": title, "parameters": parameters,
        "dataset": plan.dataset, "loader": data.kind, "device": str(device), "threads": torch.get_num_threads(),
        "batch_size": plan.batch_size, "lr": plan.lr, "seed": plan.seed, "patience": plan.patience,
        "split": {"source_images": data.n_source, "train": data.n_train, "val": data.n_val, "test": data.n_test},
        "epochs_planned": plan.epochs, "epochs_run": epochs_run, "stopped_early": epochs_run < plan.epochs,
        "best_epoch": best_epoch, "best_val_acc": history["val_acc"][best_epoch - 1],
        **history,
        "epoch_seconds": epoch_seconds, "train_pass_seconds": train_pass_seconds,
        "seconds_per_epoch": _median(epoch_seconds),
        "test_accuracy": test_accuracy, "test_errors": len(errors),
        "per_class_accuracy": [None if math.isnan(v) else v for v in per_class],
    }
    (folder / "history.json").write_text(json.dumps(summary, indent=2, allow_nan=False) + "\n")
    print(f"{title}: test accuracy {test_accuracy:.2f}% (best epoch {best_epoch}), "
          f"{summary['seconds_per_epoch']:.1f} s per epoch", flush=True)
    return summary

