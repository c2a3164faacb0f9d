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

Nothing is half-written. Before any data is read, every function the run needs is called
once on a tiny synthetic batch, exercise by exercise in order, so an unfinished stub stops the
command within seconds with the first unfinished exercise named (exit 1). The real run then
writes into a hidden staging folder next to ``--out`` and moves it into place in one step at
the very end; any failure or Ctrl-C removes the staging folder (and any parent folder the run
created), so ``runs/`` never holds a half-filled run.

Data split: the official training split (or its first N images with ``--subset N``) is cut by
the learner's ``split_indices(n, (0.8, 0.2, 0.0), seed)`` into train / validation; the
official 10,000-image test split is the test set (the chapter cuts all 70,000 images 60/20/20
and validates on its test loader; keeping the official test set untouched makes the test
accuracy comparable with the grader's thresholds and published figures).

Output layout: one model -> the files directly in ``--out``; ``--model both`` -> ``report.md``
in ``--out`` and each model's files in the subfolders ``mlp/`` and ``cnn/``.
"""
from __future__ import annotations

import argparse
import contextlib
import io
import json
import math
import os
import re
import shlex
import shutil
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from types import ModuleType
from typing import Any

from grader.core import kit
from grader.run.loader import ModuleLoadError, load_module_file

RUNS_DIR = kit.KIT_ROOT / "runs"  # default parent of --out (ignored by git)
TRAIN_VAL_FRACTIONS = (0.8, 0.2, 0.0)  # of the official training split; the test set is the official one
NUM_CLASSES = 10
ERROR_CASES_SHOWN = 6
EVAL_BATCH_SIZE = 1000  # validation and test batches: results do not depend on it, speed does

# model choice -> (exercise, module file stem, class name, title in the report)
MODELS = {
    "mlp": ("06_mlp", "mlp", "MLP", "MLP"),
    "cnn": ("07_cnn", "cnn", "SimpleCNN", "CNN (SimpleCNN)"),
}
MODULES = {"04_train": "train", "05_checkpoint": "checkpoint", "06_mlp": "mlp", "07_cnn": "cnn",
           "08_evaluate": "evaluate"}
EVALUATE_FUNCTIONS = ("collect_predictions", "confusion_matrix", "per_class_accuracy", "find_errors",
                      "plot_training_history", "plot_confusion_matrix", "plot_error_cases")
HISTORY_KEYS = ("train_loss", "train_acc", "val_loss", "val_acc")
OUTPUT_FILES = (  # per model, with what each holds (printed at the end)
    ("history.json", "per-epoch losses, accuracies and seconds; test accuracy; per-class accuracy"),
    ("training_curves.png", "loss and accuracy per epoch, train vs validation, best epoch marked"),
    ("confusion_matrix.png", "test-set confusion matrix (rows true, columns predicted)"),
    ("error_cases.png", f"the {ERROR_CASES_SHOWN} most confident mistakes on the test set"),
    ("best_model.pth", "state_dict of the best validation epoch (what was tested)"),
    ("checkpoint.pth", "checkpoint after the last epoch (model + optimizer, to resume)"),
)
LOADER_DESCRIPTIONS = {
    "memory": "in-memory tensors: each split decoded once into one normalised float32 tensor "
              "((x/255 - mean) / std), batches are tensor slices (the kit's fast path)",
    "torchvision": "torchvision {title} dataset, every image transformed on the fly "
                   "(PIL -> {transform}) in a DataLoader (num_workers=0): the chapter's pipeline",
}
STUB_PREFIX = re.compile(r"^\s*(\d\d_[A-Za-z0-9_]+)\.([A-Za-z_][\w.]*)\s*:?\s*")


class PipelineError(Exception):
    """Stops the run with one clear message for the learner (exit 1, nothing written)."""


# --------------------------------------------------------------------------- the learner's code

def _not_implemented(exc: BaseException | None) -> NotImplementedError | None:
    """The NotImplementedError in ``exc``'s chain of causes, if any (a stub was reached)."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        if isinstance(exc, NotImplementedError):
            return exc
        seen.add(id(exc))
        exc = exc.__cause__ or exc.__context__
    return None


def _one_line(exc: BaseException, limit: int = 300) -> str:
    text = " ".join(str(exc).split())
    return text if len(text) <= limit else text[:limit - 3] + "..."


class Implementation:
    """The chosen implementation's modules; every call into them goes through :meth:`run`, which
    turns any failure into a :class:`PipelineError` naming the exercise and function."""

    def __init__(self, target: Path, test_option: str) -> None:
        self.target = target
        self.test_option = test_option  # appended to "pytest exercises/NN_name" in messages
        self.modules: dict[str, ModuleType] = {}

    def pytest_command(self, exercise: str) -> str:
        return f"pytest exercises/{exercise}{self.test_option}"

    def module(self, exercise: str) -> ModuleType:
        if exercise not in self.modules:
            path = self.target / exercise / f"{MODULES[exercise]}.py"
            try:
                self.modules[exercise] = load_module_file(path)
            except ModuleLoadError as exc:
                raise PipelineError(
                    f"grader train cannot use {exercise}/{path.name}: {exc}.\n"
                    f"Fix it first; check it with: {self.pytest_command(exercise)}") from None
        return self.modules[exercise]

    def get(self, exercise: str, name: str) -> Any:
        module = self.module(exercise)
        if not hasattr(module, name):
            raise PipelineError(
                f"grader train needs {exercise}.{name}, but {self.target / exercise / (MODULES[exercise] + '.py')} "
                f"has no `{name}`.\nRestore it (the kit's exercises/{exercise}/{MODULES[exercise]}.py shows its "
                f"signature); check it with: {self.pytest_command(exercise)}")
        return getattr(module, name)

    def call(self, exercise: str, name: str, *args: Any, **kwargs: Any) -> Any:
        return self.run(exercise, name, self.get(exercise, name), *args, **kwargs)

    def run(self, exercise: str, name: str, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """``fn(*args, **kwargs)``; any exception (SystemExit too, not Ctrl-C) -> PipelineError."""
        try:
            return fn(*args, **kwargs)
        except (KeyboardInterrupt, PipelineError):
            raise
        except BaseException as exc:
            raise PipelineError(self.explain(exc, exercise, name)) from exc

    def explain(self, exc: BaseException, exercise: str, name: str) -> str:
        stub = _not_implemented(exc)
        if stub is not None:
            text = _one_line(stub)
            match = STUB_PREFIX.match(text)
            if match:  # the stub's own message says where it is, e.g. "04_train.train_step: ..."
                exercise, where, text = match[1], f"{match[1]}.{match[2]}", text[match.end():]
            else:
                where = f"{exercise}.{name}"
            return (f"grader train needs {where} (not implemented yet: {text or 'NotImplementedError'}).\n"
                    f"Finish {exercise} first: {self.pytest_command(exercise)}")
        if isinstance(exc, SystemExit):
            what = f"called sys.exit({exc.code!r})"
        else:
            what = f"raised {type(exc).__name__}: {_one_line(exc)}"
        return (f"grader train stopped: {exercise}.{name} {what}{self._location(exc)}.\n"
                f"Check it with: {self.pytest_command(exercise)}")

    def _location(self, exc: BaseException) -> str:
        """' (04_train/train.py, line 57)': the deepest frame of ``exc`` inside the target folder."""
        root = self.target.resolve()
        for frame in reversed(traceback.extract_tb(exc.__traceback__)):
            path = Path(frame.filename)
            if path.is_absolute() and path.resolve().is_relative_to(root):
                return f" ({path.parent.name}/{path.name}, line {frame.lineno})"
        return ""


# --------------------------------------------------------------------------- loaders

class TensorLoader:
    """Mini-batches of in-memory tensors, like a DataLoader over a TensorDataset.

    ``len()`` is the number of batches; with ``seed`` the order is reshuffled on every pass
    (one torch.Generator, so a run is repeatable). ``.dataset`` and ``.batch_size`` exist for
    code written against DataLoader.
    """

    def __init__(self, images: Any, labels: Any, batch_size: int, seed: int | None = None) -> None:
        import torch
        from torch.utils.data import TensorDataset

        self.images, self.labels, self.batch_size = images, labels, batch_size
        self.dataset = TensorDataset(images, labels)
        self.generator = torch.Generator().manual_seed(seed) if seed is not None else None

    def __len__(self) -> int:
        return -(-len(self.labels) // self.batch_size)

    def __iter__(self) -> Iterator[tuple[Any, Any]]:
        import torch

        n = len(self.labels)
        order = torch.randperm(n, generator=self.generator).to(self.images.device) if self.generator else None
        for start in range(0, n, self.batch_size):
            if order is None:
                yield self.images[start:start + self.batch_size], self.labels[start:start + self.batch_size]
            else:
                idx = order[start:start + self.batch_size]
                yield self.images[idx], self.labels[idx]


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


@dataclass
class Data:
    """The three splits of one run, as the chosen loader path serves them."""

    kind: str  # "memory" | "torchvision"
    description: str
    n_source: int  # images of the official training split used (all, or --subset)
    n_train: int
    n_val: int
    n_test: int
    batch_size: int
    make_train: Callable[[int], Any]  # seed -> a freshly seeded, shuffling training loader
    val_loader: Any
    test_loader: Any
    display_images: Any  # test images in [0, 1], (N, 1, 28, 28), for plot_error_cases


def _check_split(result: Any, n: int) -> tuple[Any, Any]:
    import numpy as np

    def bad(why: str) -> PipelineError:
        return PipelineError(
            f"grader train stopped: 04_train.split_indices({n}, {TRAIN_VAL_FRACTIONS}, seed) {why}.\n"
            "Check it with: pytest exercises/04_train")

    try:
        train_idx, val_idx = (np.asarray(part, dtype=np.int64).ravel() for part in tuple(result)[:2])
    except Exception as exc:  # noqa: BLE001
        raise bad(f"returned something that is not (train, val, test) index arrays ({type(exc).__name__}: "
                  f"{_one_line(exc)})") from None
    every = np.concatenate([train_idx, val_idx])
    if len(train_idx) == 0 or len(val_idx) == 0:
        raise bad(f"gave {len(train_idx)} training and {len(val_idx)} validation indices")
    if every.min() < 0 or every.max() >= n or len(np.unique(every)) != len(every):
        raise bad("returned indices outside range(n) or used an index twice")
    return train_idx, val_idx


def load_data(impl: Implementation, dataset: str, loader: str, batch_size: int, seed: int,
              subset: int | None, device: Any, data_dir: str | None) -> Data:
    """Read the dataset and build the loaders of the chosen path (memory or torchvision)."""
    import torch

    from grader.data import datasets

    title = datasets.TITLES[dataset]
    mean, std = datasets.NORMALIZATION[dataset]
    if loader == "memory":
        x_all, y_all = datasets.load_tensors(dataset, train=True, root=data_dir)
        n = min(subset or len(y_all), len(y_all))
        train_idx, val_idx = _check_split(impl.call("04_train", "split_indices", n, TRAIN_VAL_FRACTIONS, seed), n)
        x_train = x_all[torch.from_numpy(train_idx)].to(device)
        y_train = y_all[torch.from_numpy(train_idx)].to(device)
        x_val, y_val = x_all[torch.from_numpy(val_idx)].to(device), y_all[torch.from_numpy(val_idx)].to(device)
        x_test, y_test = datasets.load_tensors(dataset, train=False, root=data_dir)
        display = x_test * std + mean
        x_test, y_test = x_test.to(device), y_test.to(device)
        return Data("memory", LOADER_DESCRIPTIONS["memory"], n, len(train_idx), len(val_idx), len(y_test),
                    batch_size, lambda s: TensorLoader(x_train, y_train, batch_size, seed=s),
                    TensorLoader(x_val, y_val, EVAL_BATCH_SIZE), TensorLoader(x_test, y_test, EVAL_BATCH_SIZE),
                    display)

    from torch.utils.data import DataLoader, Subset

    if dataset == "mnist":
        transform = impl.call("04_train", "mnist_transform")
        transform_text = "your 04_train.mnist_transform(): ToTensor, Normalize((0.1307,), (0.3081,))"
    else:  # the learner's transform carries MNIST's constants; Fashion-MNIST has its own
        from torchvision import transforms

        transform = transforms.Compose([transforms.ToTensor(), transforms.Normalize((mean,), (std,))])
        transform_text = (f"ToTensor, Normalize(({mean},), ({std},)) built by the kit with Fashion-MNIST's "
                          "constants (mnist_transform() carries MNIST's)")
    train_set = datasets.torchvision_dataset(dataset, train=True, transform=transform, root=data_dir)
    test_set = datasets.torchvision_dataset(dataset, train=False, transform=transform, root=data_dir)
    n = min(subset or len(train_set), len(train_set))
    train_idx, val_idx = _check_split(impl.call("04_train", "split_indices", n, TRAIN_VAL_FRACTIONS, seed), n)
    train_part, val_part = Subset(train_set, train_idx.tolist()), Subset(train_set, val_idx.tolist())

    def make_train(s: int) -> DataLoader:
        return DataLoader(train_part, batch_size=batch_size, shuffle=True, generator=torch.Generator().manual_seed(s))

    display = test_set.data.unsqueeze(1).float().div(255)
    description = LOADER_DESCRIPTIONS["torchvision"].format(title=title, transform=transform_text)
    return Data("torchvision", description, n, len(train_idx), len(val_idx), len(test_set), batch_size,
                make_train, DataLoader(val_part, batch_size=EVAL_BATCH_SIZE, shuffle=False),
                DataLoader(test_set, batch_size=EVAL_BATCH_SIZE, shuffle=False), display)


# --------------------------------------------------------------------------- preflight

@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """Swallow stdout and stderr (the learner's prints and tqdm bars during the preflight)."""
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        yield


def preflight(impl: Implementation, kinds: list[str], loader: str, dataset: str, device: Any) -> None:
    """Call every function the run needs once on a tiny synthetic batch, exercise by exercise in
    order (04, 05, 06, 07, 08), in a scratch folder that is deleted. The first stub or failure
    raises PipelineError naming it, before any dataset is read or any output written."""
    import numpy as np
    import torch
    from torch import nn

    from grader.train.harness import reference_mlp

    generator = torch.Generator().manual_seed(0)
    x = torch.randn(20, 1, 28, 28, generator=generator).to(device)
    y = (torch.arange(20) % NUM_CLASSES).to(device)
    tiny = TensorLoader(x, y, batch_size=10)
    with tempfile.TemporaryDirectory(prefix="grader-train-preflight-") as scratch, _quiet():
        scratch_dir = Path(scratch)
        # 04_train
        if loader == "torchvision" and dataset == "mnist":
            from PIL import Image

            transform = impl.call("04_train", "mnist_transform")
            impl.run("04_train", "mnist_transform", transform, Image.fromarray(np.zeros((28, 28), np.uint8)))
        impl.call("04_train", "split_indices", 20, TRAIN_VAL_FRACTIONS, 0)
        stopper = impl.call("04_train", "EarlyStopping", patience=3)
        model = reference_mlp(8).to(device)
        optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
        impl.call("04_train", "fit", model, tiny, tiny, nn.CrossEntropyLoss(), optimizer, device, 1,
                  early_stopping=stopper, best_path=scratch_dir / "best_model.pth")
        # 05_checkpoint
        impl.call("05_checkpoint", "save_checkpoint", model, optimizer, 1, 0.5, 50.0, scratch_dir / "checkpoint.pth")
        # 06_mlp (count_parameters is needed by both models), then 07_cnn
        counted = model
        if "mlp" in kinds:
            counted = impl.call("06_mlp", "MLP")
            impl.run("06_mlp", "MLP.forward", lambda m: m.to(device)(x[:2]), counted)
        impl.call("06_mlp", "count_parameters", counted)
        if "cnn" in kinds:
            cnn = impl.call("07_cnn", "SimpleCNN")
            impl.run("07_cnn", "SimpleCNN.forward", lambda m: m.to(device)(x[:2]), cnn)
        # 08_evaluate
        for name in EVALUATE_FUNCTIONS:
            impl.get("08_evaluate", name)
        preds, labels, probs = predictions(impl, model, tiny, device)
        cm = impl.call("08_evaluate", "confusion_matrix", labels, preds, NUM_CLASSES)
        impl.call("08_evaluate", "per_class_accuracy", cm)
        impl.call("08_evaluate", "find_errors", preds, labels, probs)
        history = {"train_loss": [1.2, 0.6], "train_acc": [60.0, 80.0], "val_loss": [1.0, 0.7], "val_acc": [65.0, 78.0]}
        impl.call("08_evaluate", "plot_training_history", history, scratch_dir / "training_curves.png")
        impl.call("08_evaluate", "plot_confusion_matrix", cm, scratch_dir / "confusion_matrix.png")
        errors = [{"index": i, "true": i % NUM_CLASSES, "pred": (i + 1) % NUM_CLASSES, "confidence": 60.0}
                  for i in range(3)]
        impl.call("08_evaluate", "plot_error_cases", x.cpu(), errors, scratch_dir / "error_cases.png")


def predictions(impl: Implementation, model: Any, loader: Any, device: Any) -> tuple[Any, Any, Any]:
    """(preds, labels, probs) from the learner's 08_evaluate.collect_predictions, preds and labels
    flattened to NumPy; anything else it returns (e.g. a tensor still on the GPU) -> PipelineError."""
    import numpy as np

    collected = impl.call("08_evaluate", "collect_predictions", model, loader, device)
    try:
        preds, labels, probs = collected
        return np.asarray(preds).ravel(), np.asarray(labels).ravel(), probs
    except Exception as exc:  # noqa: BLE001 - the learner's value may fail in any way
        raise PipelineError(f"grader train stopped: 08_evaluate.collect_predictions must return NumPy arrays "
                            f"(preds, labels, probs), e.g. t.cpu().numpy() per batch ({type(exc).__name__}: "
                            f"{_one_line(exc)}).\nCheck it with: {impl.pytest_command('08_evaluate')}") from None


# --------------------------------------------------------------------------- one model

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
            problem = f"returned a history whose values are not numbers ({_one_line(exc)})"
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


def train_one(impl: Implementation, kind: str, data: Data, args: argparse.Namespace, folder: Path,
              device: Any, position: str) -> dict[str, Any]:
    """Build, fit, checkpoint, test and plot one model into ``folder``; returns its summary."""
    import numpy as np
    import torch
    from torch import nn

    from grader.checks.probes import seed_everything

    exercise, _, cls, title = MODELS[kind]
    folder.mkdir(parents=True, exist_ok=True)
    seed_everything(args.seed)
    model = impl.call(exercise, cls)
    if not isinstance(model, nn.Module):
        raise PipelineError(f"grader train stopped: {exercise}.{cls}() is not an nn.Module.\n"
                            f"Check it with: {impl.pytest_command(exercise)}")
    model = model.to(device)
    parameters = int(impl.call("06_mlp", "count_parameters", model))
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr)
    criterion = nn.CrossEntropyLoss()
    stopper = impl.call("04_train", "EarlyStopping", patience=args.patience)
    train_clock, val_clock = EpochClock(data.make_train(args.seed)), EpochClock(data.val_loader)
    best_path = folder / "best_model.pth"
    print(f"\n{position} {title}: {parameters:,} parameters; up to {args.epochs} epoch(s) on {data.n_train:,} "
          f"images, validating on {data.n_val:,} ({data.kind} loader, {device})", flush=True)
    fit_start = time.perf_counter()
    raw_history = impl.call("04_train", "fit", model, train_clock, val_clock, criterion, optimizer, device,
                            args.epochs, early_stopping=stopper, best_path=best_path)
    fit_end = time.perf_counter()
    history = _check_history(raw_history, args.epochs)
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
                            f"back into the model ({type(exc).__name__}: {_one_line(exc)}); it must hold "
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
                            f"'confidence' ({type(exc).__name__}: {_one_line(exc)}).\n"
                            f"Check it with: {impl.pytest_command('08_evaluate')}") from None
    impl.call("08_evaluate", "plot_training_history", history, folder / "training_curves.png")
    impl.call("08_evaluate", "plot_confusion_matrix", cm, folder / "confusion_matrix.png")
    impl.call("08_evaluate", "plot_error_cases", data.display_images, worst_first, folder / "error_cases.png",
              num_cases=ERROR_CASES_SHOWN)
    best_epoch = int(np.argmax(history["val_acc"])) + 1
    summary = {
        "model": kind, "title": title, "parameters": parameters,
        "dataset": args.dataset, "loader": data.kind, "device": str(device), "threads": torch.get_num_threads(),
        "batch_size": args.batch_size, "lr": args.lr, "seed": args.seed, "patience": args.patience,
        "split": {"source_images": data.n_source, "train": data.n_train, "val": data.n_val, "test": data.n_test},
        "epochs_planned": args.epochs, "epochs_run": epochs_run, "stopped_early": epochs_run < args.epochs,
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


# --------------------------------------------------------------------------- report

def write_report(folder: Path, rows: list[dict[str, Any]], subfolders: dict[str, str], info: dict[str, Any]) -> Path:
    """``report.md``: the setup, the comparison table (measured), and each model's plots."""
    from grader.data.datasets import TITLES

    first = rows[0]
    split = first["split"]
    subset_note = (f"the first {split['source_images']:,} images of the official training split (--subset)"
                   if info["subset"] else f"the official training split ({split['source_images']:,} images)")
    lines = [
        f"# Training run {info['started']}",
        "",
        f"- Command: `{info['command']}`",
        f"- Implementation: `{info['target']}`",
        f"- Dataset: {TITLES[first['dataset']]}. Split: {subset_note} cut by your "
        f"`04_train.split_indices(n, {TRAIN_VAL_FRACTIONS}, seed={first['seed']})` into {split['train']:,} "
        f"training / {split['val']:,} validation images; test: the official test split ({split['test']:,} "
        "images), never seen during training or model selection. (The chapter cuts all 70,000 images "
        "60/20/20 and validates on its test loader; keeping the official test split apart makes this test "
        "accuracy comparable with the grader's thresholds and published figures.)",
        f"- Data path: **{first['loader']}**: {info['loader_description']}.",
        f"- Training: your `04_train.fit`, Adam lr {first['lr']:g}, batch size {first['batch_size']} (validation and "
        f"test batches of {EVAL_BATCH_SIZE:,}: their results do not depend on it), cross-entropy, "
        f"up to {first['epochs_planned']} epoch(s), early stopping on the validation loss (patience "
        f"{first['patience']}), seed {first['seed']}, device {first['device']} ({first['threads']} torch "
        f"thread{'s' if first['threads'] != 1 else ''}).",
        "- Tested: the weights of the best validation epoch (`best_model.pth`); `checkpoint.pth` holds the "
        "last epoch with the optimizer state, for resuming.",
        f"- Whole run: {info['wall_seconds']:.1f} s of wall time.",
        "",
        "## Comparison",
        "",
        "| Model | Parameters | Test accuracy | Seconds per epoch | Epochs run | Best epoch (val acc) |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        stopped = " (stopped early)" if row["stopped_early"] else ""
        lines.append(f"| {row['title']} | {row['parameters']:,} | {row['test_accuracy']:.2f}% | "
                     f"{row['seconds_per_epoch']:.1f} | {row['epochs_run']}{stopped} | "
                     f"{row['best_epoch']} ({row['best_val_acc']:.2f}%) |")
    lines += [
        "",
        "Seconds per epoch: measured in this run, the median over the epochs run of one epoch's wall time "
        "(training pass and validation pass) on this machine; the chapter's table quotes round figures instead.",
    ]
    if len(rows) == 2:
        mlp, cnn = rows
        lines.append(
            f"The CNN has {cnn['parameters'] / mlp['parameters']:.2f}x the parameters of the MLP, takes "
            f"{cnn['seconds_per_epoch'] / mlp['seconds_per_epoch']:.1f}x as long per epoch, and scores "
            f"{cnn['test_accuracy'] - mlp['test_accuracy']:+.2f} points of test accuracy.")
    for row in rows:
        prefix = subfolders.get(row["model"], "")
        lines += ["", f"## {row['title']}", ""]
        lines += [f"![training curves of {row['title']}]({prefix}training_curves.png)", "",
                  f"![confusion matrix of {row['title']}]({prefix}confusion_matrix.png)", "",
                  f"![most confident mistakes of {row['title']}]({prefix}error_cases.png)", ""]
        per_class = row["per_class_accuracy"]
        lines += ["Per-class test accuracy:", "",
                  "| " + " | ".join(str(c) for c in range(len(per_class))) + " |",
                  "|" + "---:|" * len(per_class),
                  "| " + " | ".join("n/a" if v is None else f"{v:.1f}%" for v in per_class) + " |", "",
                  f"Test errors: {row['test_errors']:,} of {row['split']['test']:,}. Per epoch (s): "
                  + ", ".join(f"{s:.1f}" for s in row["epoch_seconds"]) + ".", "",
                  "Files: " + ", ".join(f"`{prefix}{name}`" for name, _ in OUTPUT_FILES) + "."]
    path = folder / "report.md"
    path.write_text("\n".join(lines) + "\n")
    return path


# --------------------------------------------------------------------------- output folder

def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def staged(out: Path) -> Iterator[Path]:
    """Yield a hidden staging folder beside ``out``; on success move it to ``out`` in one
    rename. On any failure (Ctrl-C included) remove it and every parent folder it created."""
    created: list[Path] = []
    parent = out.parent
    while not parent.exists():
        created.append(parent)
        parent = parent.parent
    out.parent.mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(prefix=f".{out.name}.partial-", dir=out.parent))
    try:
        yield stage
        if out.is_dir():  # an empty folder the user named with --out (checked up front)
            out.rmdir()
        mask = _umask()
        for path in stage.rglob("*"):  # temporary-file helpers create 0600 files; give them the usual mode
            os.chmod(path, (0o777 if path.is_dir() else 0o666) & ~mask)
        os.rename(stage, out)
        os.chmod(out, 0o777 & ~mask)
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        for folder in created:  # deepest first; stops at the first one that is not empty
            try:
                folder.rmdir()
            except OSError:
                break
        raise


def default_out() -> Path:
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    out, n = RUNS_DIR / stamp, 2
    while out.exists():
        out, n = RUNS_DIR / f"{stamp}-{n}", n + 1
    return out


def _shown(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


# --------------------------------------------------------------------------- command line

def train_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="grader train",
        description=("Run the chapter's whole pipeline with your code: data loaders, fit with early stopping, "
                     "test evaluation, plots, checkpoints and a report.md comparing the models. Uses "
                     "exercises/ by default; stops with the first unfinished exercise named and writes nothing "
                     "until the run has finished."),
        epilog="Example: grader train --model both --epochs 2   (quick check: grader train --subset 2000 --epochs 1)")
    parser.add_argument("--model", choices=["mlp", "cnn", "both"], default="mlp",
                        help="which network to train; both: MLP and CNN side by side (default mlp)")
    parser.add_argument("--epochs", type=int, default=5, metavar="N", help="at most N epochs (default 5)")
    parser.add_argument("--dataset", choices=["mnist", "fashion"], default="mnist", help="default mnist")
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--solutions", action="store_true", help="use solutions/ (the reference) instead of exercises/")
    which.add_argument("--target", metavar="DIR", help="use DIR, laid out like exercises/ (a hand-in)")
    parser.add_argument("--out", metavar="DIR",
                        help="output folder, new or empty (default runs/<timestamp>/ in the kit); "
                             "with --model both each model's files go in its subfolder mlp/ or cnn/")
    parser.add_argument("--loader", choices=["memory", "torchvision"], default="memory",
                        help="memory: pre-normalised in-memory tensors (fast, default); torchvision: the chapter's "
                             "torchvision dataset with your mnist_transform() per image in a DataLoader")
    parser.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto",
                        help="torch device (auto: CUDA when available)")
    parser.add_argument("--batch-size", type=int, default=64, metavar="N", help="default 64")
    parser.add_argument("--lr", type=float, default=1e-3, help="Adam learning rate (default 0.001)")
    parser.add_argument("--seed", type=int, default=42, help="seed of the split, the shuffling and the weights (default 42)")
    parser.add_argument("--patience", type=int, default=3, metavar="N",
                        help="early stopping: stop after N epochs without a better validation loss (default 3)")
    parser.add_argument("--subset", type=int, metavar="N",
                        help="train on the first N training images only (quick runs; the test set stays whole)")
    parser.add_argument("--threads", type=int, metavar="N",
                        help="CPU threads for torch (default: torch's own choice; 1 can be much faster on a busy machine)")
    parser.add_argument("--data-dir", metavar="DIR", help="where datasets live (default: data/ or $GRADER_DATA_DIR)")
    return parser


def _target(args: argparse.Namespace) -> tuple[Path, str]:
    if args.solutions:
        return kit.SOLUTIONS_DIR, " --solutions"
    if args.target:
        target = Path(args.target).resolve()
        return target, f" --target {shlex.quote(args.target)}"
    return kit.EXERCISES_DIR, ""


def cmd_train(argv: list[str]) -> int:
    """``grader train ...``: 0 when the run finished, 1 when the implementation or the data stopped
    it (nothing written), 2 on a usage error, 130 on Ctrl-C (nothing written)."""
    parser = train_parser()
    args = parser.parse_args(argv)
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
    import torch

    if args.device == "cuda" and not torch.cuda.is_available():
        parser.error("--device cuda: CUDA is not available on this machine")
    device = torch.device("cuda" if args.device == "auto" and torch.cuda.is_available() else
                          "cpu" if args.device == "auto" else args.device)
    if args.threads:
        torch.set_num_threads(args.threads)
    import matplotlib

    matplotlib.use("Agg")  # files only, no screen needed
    from grader.data.datasets import DatasetUnavailable

    target, test_option = _target(args)
    kinds = ["mlp", "cnn"] if args.model == "both" else [args.model]
    started, clock = datetime.now(), time.perf_counter()
    impl = Implementation(target, test_option)
    try:
        print(f"grader train: checking that {_shown(target)}/ has every function the pipeline needs ...", flush=True)
        preflight(impl, kinds, args.loader, args.dataset, device)
        print("  all there. Loading the data ...", flush=True)
        data = load_data(impl, args.dataset, args.loader, args.batch_size, args.seed, args.subset, device,
                         args.data_dir)
        subfolders = {k: f"{k}/" for k in kinds} if len(kinds) > 1 else {}
        with staged(out) as stage:
            print(f"  writing into the staging folder {_shown(stage)}/, moved to {_shown(out)}/ once the run "
                  "has finished", flush=True)
            rows = [train_one(impl, kind, data, args, stage / subfolders.get(kind, ""), device,
                              f"[{i}/{len(kinds)}]") for i, kind in enumerate(kinds, 1)]
            info = {"started": started.strftime("%Y-%m-%d %H:%M:%S"),
                    "command": "grader train " + " ".join(shlex.quote(a) for a in argv),
                    "target": str(target), "subset": args.subset is not None,
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
    print("\n| Model | Parameters | Test accuracy | Seconds per epoch |")
    for row in rows:
        print(f"| {row['title']} | {row['parameters']:,} | {row['test_accuracy']:.2f}% | {row['seconds_per_epoch']:.1f} |")
    print(f"\nEverything is in {_shown(out)}/:")
    width = max(len(f"{sub}{name}") for sub in (list(subfolders.values()) or [""]) for name, _ in OUTPUT_FILES)
    print(f"  {'report.md':<{width}}  the comparison table and the plots (any Markdown viewer)")
    for kind in kinds:
        for name, what in OUTPUT_FILES:
            print(f"  {subfolders.get(kind, '') + name:<{width}}  {what}")
    return 0
