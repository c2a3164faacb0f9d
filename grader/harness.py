"""The training harness behind every accuracy threshold: one loop, in-memory tensors, fixed seeds.

Threshold tests hand the learner's model to :func:`train_classifier` and score it with
:func:`accuracy`, so a model is judged by what it can learn, not by the learner's loop.
"""
from __future__ import annotations

import random
import time

import numpy as np
import torch
from torch import nn


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch (all devices)."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def deterministic_cpu() -> None:
    """Make CPU runs repeatable: deterministic kernels where torch has them."""
    torch.use_deterministic_algorithms(True, warn_only=True)


def reference_mlp(hidden: int = 128) -> nn.Module:
    """A small known-good MLP (784 -> hidden -> 10) for tests that grade a training loop."""
    return nn.Sequential(nn.Flatten(), nn.Linear(784, hidden), nn.ReLU(), nn.Linear(hidden, 10))


def batches(x: torch.Tensor, y: torch.Tensor, batch_size: int, generator: torch.Generator | None = None):
    """Yield (images, labels) mini-batches; shuffled when a generator is given."""
    order = torch.randperm(len(x), generator=generator) if generator is not None else torch.arange(len(x))
    for start in range(0, len(x), batch_size):
        idx = order[start:start + batch_size].to(x.device)
        yield x[idx], y[idx]


def train_classifier(model: nn.Module, x: torch.Tensor, y: torch.Tensor, *, epochs: int,
                     device: torch.device, batch_size: int = 64, lr: float = 1e-3, seed: int = 0,
                     time_budget: float | None = None) -> list[float]:
    """Train ``model`` with Adam and cross-entropy on x (N,1,28,28), y (N,) int64.

    Returns the mean training loss of each epoch. Stops after the epoch in which
    ``time_budget`` seconds are exceeded (the result is then judged as it stands).
    """
    seed_everything(seed)
    model.to(device).train()
    x, y = x.to(device), y.to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    criterion = nn.CrossEntropyLoss()
    generator = torch.Generator().manual_seed(seed)
    started, losses = time.perf_counter(), []
    for _ in range(epochs):
        total = 0.0
        for images, labels in batches(x, y, batch_size, generator):
            optimizer.zero_grad()
            loss = criterion(model(images), labels)
            loss.backward()
            optimizer.step()
            total += loss.item() * len(labels)
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
