"""The training harness behind every accuracy threshold: one loop, in-memory tensors, fixed seeds.

Threshold tests hand the learner's model to :func:`train_classifier` and score it with
:func:`accuracy`, so a model is judged by what it can learn, not by the learner's loop;
:func:`judge_threshold` retries a borderline result with the next seed.

The time budget scales with the machine: before each run, a few training steps of the contract's
architecture are timed here and now, and the run may take SLOWDOWN times what the whole run of that
architecture would take (never less than the threshold's ``time_budget``). A slow or busy machine
slows the reference as much as the learner's model, so only a model many times slower than the
architecture it claims to be is stopped early.
"""
from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from grader.checks.reference import seed_everything
from grader.core import failures, kit  # the harness seeds as the kit's checks do
from grader.core.failures import Failure
from grader.core.results import Progress
from grader.data.datasets import load_tensors  # imported with the harness, before any graded code

FAIL = failures.module_table(__file__)  # the threshold messages' phrases, in each language


@contextlib.contextmanager
def deterministic(device: torch.device | str) -> Iterator[None]:
    """Repeatable training for the duration: deterministic kernels where torch has them (a warning
    where it has none); on CUDA also cuDNN's deterministic algorithms, no autotuning and no TF32
    (whose rounding differs from float32). Every setting is restored afterwards."""
    cuda = torch.device(device).type == "cuda"
    backends = torch.backends
    saved = (torch.are_deterministic_algorithms_enabled(), torch.is_deterministic_algorithms_warn_only_enabled(),
             backends.cudnn.deterministic, backends.cudnn.benchmark, backends.cudnn.allow_tf32,
             backends.cuda.matmul.allow_tf32)
    torch.use_deterministic_algorithms(True, warn_only=True)
    if cuda:
        backends.cudnn.deterministic, backends.cudnn.benchmark = True, False
        backends.cudnn.allow_tf32 = backends.cuda.matmul.allow_tf32 = False
    try:
        yield
    finally:
        torch.use_deterministic_algorithms(saved[0], warn_only=saved[1])
        (backends.cudnn.deterministic, backends.cudnn.benchmark, backends.cudnn.allow_tf32,
         backends.cuda.matmul.allow_tf32) = saved[2:]


def reference_mlp(hidden: int = 128) -> nn.Module:
    """A small known-good MLP (784 -> hidden -> 10) for tests that grade a training loop."""
    return nn.Sequential(nn.Flatten(), nn.Linear(784, hidden), nn.ReLU(), nn.Linear(hidden, 10))


SLOWDOWN = 5.0  # how many times slower than the reference architecture here a model may train
PACE_STEPS = 6  # timed training steps of the reference architecture (after one warm-up step)


def reference_architecture(class_name: str) -> nn.Module | None:
    """The contract's architecture of 06_mlp's MLP and 07_cnn's SimpleCNN with their defaults, to time
    training steps with (the same layers, hence the same work per step); None for another model."""
    if class_name == "MLP":  # 784 -> 128 -> 64 -> 10, 109,386 parameters
        return nn.Sequential(nn.Flatten(), nn.Linear(784, 128), nn.ReLU(), nn.Dropout(0.2), nn.Linear(128, 64),
                             nn.ReLU(), nn.Dropout(0.2), nn.Linear(64, 10))
    if class_name == "SimpleCNN":  # two conv blocks, 3136 -> 128 -> 10, 421,642 parameters
        return nn.Sequential(nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                             nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                             nn.Linear(3136, 128), nn.ReLU(), nn.Dropout(0.25), nn.Linear(128, 10))
    return None


def reference_step_seconds(spec: kit.Threshold, device: torch.device) -> float | None:
    """Seconds one training step (Adam, cross-entropy, a batch of ``spec.batch_size``) of the reference
    architecture takes on this machine now: the median of PACE_STEPS timed steps. None when ``spec``'s
    model has no reference architecture. Uses torch's global generator: call it before seeding."""
    model = reference_architecture(spec.class_name)
    if model is None:
        return None
    model.to(device).train()
    x = torch.randn(spec.batch_size, 1, 28, 28, device=device)
    y = torch.randint(0, 10, (spec.batch_size,), device=device)
    optimizer = torch.optim.Adam(model.parameters(), lr=spec.lr)
    seconds = []
    for _ in range(PACE_STEPS + 1):
        started = time.perf_counter()
        optimizer.zero_grad()
        nn.functional.cross_entropy(model(x), y).backward()
        optimizer.step()
        if torch.device(device).type == "cuda":
            torch.cuda.synchronize()
        seconds.append(time.perf_counter() - started)
    return float(np.median(seconds[1:]))


def run_budget(time_budget: float | None, reference_step: float | None, steps: int) -> float | None:
    """Seconds a run of ``steps`` steps may take: max(time_budget, SLOWDOWN * reference_step * steps),
    or ``time_budget`` alone when no reference was timed (None: no budget)."""
    if time_budget is None or reference_step is None:
        return time_budget
    return max(time_budget, SLOWDOWN * reference_step * steps)


def batches(x: torch.Tensor, y: torch.Tensor, batch_size: int, generator: torch.Generator | None = None):
    """Yield (images, labels) mini-batches; shuffled when a generator is given."""
    order = torch.randperm(len(x), generator=generator) if generator is not None else torch.arange(len(x))
    order = order.to(x.device)  # once per epoch, not once per batch
    for start in range(0, len(x), batch_size):
        idx = order[start:start + batch_size]
        yield x[idx], y[idx]


def train_classifier(model: nn.Module, x: torch.Tensor, y: torch.Tensor, *, epochs: int,
                     device: torch.device, batch_size: int = 64, lr: float = 1e-3, seed: int = 0,
                     time_budget: float | None = None, lr_decay: bool = False,
                     on_step: Callable[[int, int], None] | None = None) -> list[float]:
    """Train ``model`` with Adam and cross-entropy on x (N,1,28,28), y (N,) int64.

    Returns the mean training loss of each epoch. Stops after the epoch in which
    ``time_budget`` seconds are exceeded (the result is then judged as it stands).
    ``lr_decay``: lower the learning rate linearly, step by step, from ``lr`` to 0 over the
    planned epochs (a short run then ends well settled, so seeds agree closely).
    ``on_step(done, total)`` is told after each optimisation step (for a progress bar).
    """
    seed_everything(seed)
    model.to(device).train()
    x, y = x.to(device), y.to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    criterion = nn.CrossEntropyLoss()
    total_steps = epochs * -(-len(x) // batch_size)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: max(0.0, 1.0 - step / total_steps)) \
        if lr_decay else None
    generator = torch.Generator().manual_seed(seed)
    started, losses, step = time.perf_counter(), [], 0
    for _ in range(epochs):
        total = 0.0
        for images, labels in batches(x, y, batch_size, generator):
            optimizer.zero_grad()
            loss = criterion(model(images), labels)
            loss.backward()
            optimizer.step()
            if scheduler is not None:
                scheduler.step()
            total += loss.item() * len(labels)
            step += 1
            if on_step is not None:
                on_step(step, total_steps)
        losses.append(total / len(x))
        if time_budget is not None and time.perf_counter() - started > time_budget:
            break
    return losses


@torch.no_grad()
def accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor, device: torch.device,
             batch_size: int = 1000) -> float:
    """Percentage (0..100) of ``x`` classified as ``y``, in evaluation mode."""
    model.to(device).eval()
    correct = 0
    for images, labels in batches(x.to(device), y.to(device), batch_size):
        correct += (model(images).argmax(dim=1) == labels).sum().item()
    return 100.0 * correct / len(x)


@dataclass
class Score:
    """What :func:`train_and_score` measured: test accuracy (%), epochs run, seconds, losses."""

    accuracy: float
    epochs: int
    planned_epochs: int
    seconds: float
    losses: list[float]
    batch_size: int
    lr: float
    lr_decay: bool = False
    steps: int = 0  # optimisation steps run
    budget: float | None = None  # seconds allowed (after which no new epoch starts)
    reference_step: float | None = None  # seconds per step of the reference architecture, measured here

    def describe(self) -> Failure:
        """One line for a threshold message, in each language, e.g. '4 epochs, batch 128, Adam lr 0.002,
        9.1 s of training; last training loss 0.123'."""
        stopped: Failure | str = ""
        if self.epochs < self.planned_epochs:
            run = dict(epochs=self.epochs, planned=self.planned_epochs)
            if self.reference_step and self.steps:
                step = self.seconds / self.steps
                stopped = FAIL("stopped_paced", **run, budget=self.budget, step_ms=1000 * step,
                               ratio=step / self.reference_step, reference_ms=1000 * self.reference_step,
                               slowdown=SLOWDOWN)
            elif self.budget:
                stopped = FAIL("stopped_by_budget", **run, budget=self.budget)
            else:
                stopped = FAIL("stopped_early", **run)
        loss: Failure | str = ""
        if self.losses and not all(np.isfinite(self.losses)):
            loss = FAIL("loss_not_finite")
        elif self.losses:
            loss = FAIL("last_loss", loss=self.losses[-1])
        return FAIL("score", epochs=self.epochs, plural="s" if self.epochs != 1 else "", batch=self.batch_size,
                    lr=self.lr, decay=FAIL("lr_decaying") if self.lr_decay else "", seconds=self.seconds,
                    stopped=stopped, loss=loss)


def train_and_score(model: nn.Module, dataset: str, *, epochs: int, device: torch.device,
                    batch_size: int = 64, lr: float = 1e-3, seed: int = 0,
                    time_budget: float | None = None, lr_decay: bool = False,
                    on_step: Callable[[int, int], None] | None = None,
                    reference_step: float | None = None) -> Score:
    """Train ``model`` on the whole training split of ``dataset`` ("mnist" or "fashion") with
    :func:`train_classifier`, then score it on the official test split with :func:`accuracy`.

    With ``reference_step`` (seconds per step of the reference architecture here, see
    :func:`reference_step_seconds`) the budget is max(time_budget, SLOWDOWN * reference_step * steps).
    Runs are repeatable on the CPU (fixed seeds, deterministic kernels switched on for the
    duration of the call). Seed before building the model to fix its initial weights.
    """
    x, y = load_tensors(dataset, train=True, device=device)
    x_test, y_test = load_tensors(dataset, train=False, device=device)
    steps_per_epoch = -(-len(x) // batch_size)
    budget = run_budget(time_budget, reference_step, steps_per_epoch * epochs)
    with deterministic(device):
        started = time.perf_counter()
        losses = train_classifier(model, x, y, epochs=epochs, device=device, batch_size=batch_size,
                                  lr=lr, seed=seed, time_budget=budget, lr_decay=lr_decay, on_step=on_step)
        seconds = time.perf_counter() - started
        score = accuracy(model, x_test, y_test, device)
    return Score(score, len(losses), epochs, seconds, losses, batch_size, lr, lr_decay,
                 steps=len(losses) * steps_per_epoch, budget=budget, reference_step=reference_step)


@dataclass
class Verdict:
    """A threshold judged over one or more training runs (seeds), as :func:`judge_threshold` ran them."""

    threshold: float
    tries: list[tuple[int, Score]]  # (seed, what training with it measured), in order

    @property
    def best(self) -> Score:
        return max((score for _, score in self.tries), key=lambda score: score.accuracy)

    @property
    def passed(self) -> bool:
        return self.best.accuracy >= self.threshold

    def describe(self) -> Failure:
        """'98.41% (seed 0), 98.63% (seed 1) >= 98.5%' and the settings of the last run, in each language."""
        runs = [FAIL("seed_run", accuracy=score.accuracy, seed=seed) for seed, score in self.tries]
        listed = runs[0]
        for run in runs[1:]:
            listed = FAIL("seed_runs", runs=listed, run=run)
        return FAIL("verdict", runs=listed, relation=">=" if self.passed else "<", threshold=self.threshold,
                    settings=self.tries[-1][1].describe())

    def metrics(self, dataset: str) -> dict:
        """The test's "metrics" for the results JSON."""
        score = self.best
        return {"accuracy": round(score.accuracy, 2), "threshold": self.threshold, "epochs": score.epochs,
                "seconds": round(sum(s.seconds for _, s in self.tries), 1), "dataset": dataset,
                "tries": [{"seed": seed, "accuracy": round(s.accuracy, 2)} for seed, s in self.tries]}


def judge_threshold(build: Callable[[], nn.Module], spec: kit.Threshold, *, device: torch.device,
                    progress: Progress | None = None, metrics: dict | None = None,
                    seeds: Sequence[int] = (0, 1, 2)) -> Verdict:
    """Train a model from ``build()`` as ``spec`` (a threshold of exercises/kit.toml) says and score it;
    retrain with the next seed while it lands in the borderline band [threshold - band, threshold),
    at most ``len(seeds)`` runs in all. Each run's time budget scales with this machine's speed, timed
    on the reference architecture just before it (:func:`reference_step_seconds`). What was measured goes into ``metrics`` (the test's).

    A model clearly below the band is not retried: retries absorb the seed-to-seed spread of a
    correct model (measured by ``grader calibrate``), they do not give a wrong one more chances.
    ``progress(label, done, total)`` follows each run's steps, labelled "seed N".
    """
    tries: list[tuple[int, Score]] = []
    for seed in seeds:
        reference_step = reference_step_seconds(spec, device)  # before seeding: it draws random numbers
        seed_everything(seed)
        on_step = (lambda done, total, label=f"seed {seed}": progress(label, done, total)) if progress else None
        tries.append((seed, train_and_score(build(), spec.dataset, seed=seed, device=device, on_step=on_step,
                                            reference_step=reference_step, **spec.training())))
        accuracy = tries[-1][1].accuracy
        if accuracy >= spec.threshold or accuracy < spec.threshold - spec.band:
            break
    verdict = Verdict(spec.threshold, tries)
    if metrics is not None:
        metrics.update(verdict.metrics(spec.dataset))
    return verdict
