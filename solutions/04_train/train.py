"""Training and validation: the five-step loop, honest metrics, data splits and early stopping.

Shapes: a loader yields (images, labels) batches, images (B, ...) float32, labels (B,) int64;
the model maps images to (B, C) logits. Losses are means per sample, accuracies percentages.
"""
from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torchvision import transforms
from tqdm import tqdm

MNIST_MEAN = 0.1307  # mean pixel value of the MNIST training images, after scaling to [0, 1]
MNIST_STD = 0.3081  # their standard deviation


def mnist_transform() -> transforms.Compose:
    """PIL image or (28, 28) uint8 array -> (1, 28, 28) float32 tensor, x' = (x / 255 - mean) / std.

    ``ToTensor`` scales pixels 0..255 to [0, 1] and puts the channel first; ``Normalize``
    subtracts MNIST's mean and divides by its standard deviation (0 -> -0.4242, 255 -> 2.8215).
    """
    return transforms.Compose([transforms.ToTensor(), transforms.Normalize((MNIST_MEAN,), (MNIST_STD,))])


def split_indices(n: int, fractions: tuple[float, float, float] = (0.6, 0.2, 0.2),
                  seed: int = 42) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Shuffle range(n) once with ``seed`` and cut it into (train, val, test) index arrays.

    Sizes: int(n * fractions[0]), int(n * fractions[1]) and the rest (70 000 -> 42 000 /
    14 000 / 14 000). Disjoint, together exactly range(n); the same seed gives the same split.
    """
    order = np.random.default_rng(seed).permutation(n)
    n_train, n_val = int(n * fractions[0]), int(n * fractions[1])
    return order[:n_train], order[n_train:n_train + n_val], order[n_train + n_val:]


def train_step(model: nn.Module, images: torch.Tensor, labels: torch.Tensor,
               criterion: nn.Module, optimizer: torch.optim.Optimizer) -> tuple[float, int]:
    """One update on one batch: zero the gradients, forward, loss, backward, step.

    Returns the batch's loss (a float, computed before the update) and how many of its
    samples the forward pass classified right (an int; the prediction is the arg-max logit).
    """
    optimizer.zero_grad()
    outputs = model(images)
    loss = criterion(outputs, labels)
    loss.backward()
    optimizer.step()
    correct = (outputs.argmax(dim=1) == labels).sum().item()
    return loss.item(), int(correct)


def train_epoch(model: nn.Module, loader: Iterable, criterion: nn.Module, optimizer: torch.optim.Optimizer,
                device: torch.device, progress: bool = True) -> tuple[float, float]:
    """One pass over ``loader`` in training mode, one train_step per batch.

    Moves every batch to ``device``. Returns (avg_loss, accuracy): avg_loss is the mean loss
    per sample, sum_b loss_b * B_b / N (with equal batches that is also the mean of the batch
    losses), accuracy = 100 * correct / N in percent. Shows a tqdm bar when ``progress``.
    """
    model.train()
    total_loss, correct, seen = 0.0, 0, 0
    batches = tqdm(loader, desc="train", leave=False) if progress else loader
    for images, labels in batches:
        images, labels = images.to(device), labels.to(device)
        loss, batch_correct = train_step(model, images, labels, criterion, optimizer)
        total_loss += loss * len(labels)
        correct += batch_correct
        seen += len(labels)
    return total_loss / seen, 100.0 * correct / seen


def validate(model: nn.Module, loader: Iterable, criterion: nn.Module,
             device: torch.device) -> tuple[float, float]:
    """Score the model on ``loader`` in evaluation mode without tracking gradients.

    Returns (avg_loss, accuracy) in the units of train_epoch; changes no parameter.
    """
    model.eval()
    total_loss, correct, seen = 0.0, 0, 0
    with torch.no_grad():
        for images, labels in loader:
            images, labels = images.to(device), labels.to(device)
            outputs = model(images)
            total_loss += criterion(outputs, labels).item() * len(labels)
            correct += (outputs.argmax(dim=1) == labels).sum().item()
            seen += len(labels)
    return total_loss / seen, 100.0 * correct / seen


class EarlyStopping:
    """Says stop once the validation loss has not improved for ``patience`` epochs in a row.

    An epoch improves when val_loss < best - min_delta; an improvement resets the count.
    """

    def __init__(self, patience: int = 3, min_delta: float = 0.0) -> None:
        self.patience = patience
        self.min_delta = min_delta
        self.best = float("inf")
        self.bad_epochs = 0

    def step(self, val_loss: float) -> bool:
        """Record one epoch's validation loss; True when training should stop."""
        if val_loss < self.best - self.min_delta:
            self.best, self.bad_epochs = val_loss, 0
        else:
            self.bad_epochs += 1
        return self.bad_epochs >= self.patience


def fit(model: nn.Module, train_loader: Iterable, val_loader: Iterable, criterion: nn.Module,
        optimizer: torch.optim.Optimizer, device: torch.device, epochs: int,
        early_stopping: EarlyStopping | None = None, best_path: str | Path | None = None) -> dict[str, list[float]]:
    """Train for up to ``epochs`` epochs, validating after each.

    Returns {"train_loss", "train_acc", "val_loss", "val_acc"}, one entry per epoch run.
    With ``best_path``, saves model.state_dict() there whenever val_acc beats every earlier
    epoch; stops after the epoch for which ``early_stopping.step(val_loss)`` is True.
    """
    history: dict[str, list[float]] = {"train_loss": [], "train_acc": [], "val_loss": [], "val_acc": []}
    best_acc = float("-inf")
    for epoch in range(1, epochs + 1):
        train_loss, train_acc = train_epoch(model, train_loader, criterion, optimizer, device)
        val_loss, val_acc = validate(model, val_loader, criterion, device)
        for key, value in zip(history, (train_loss, train_acc, val_loss, val_acc)):
            history[key].append(value)
        print(f"epoch {epoch}/{epochs}: train loss {train_loss:.4f}, acc {train_acc:.2f}% | "
              f"val loss {val_loss:.4f}, acc {val_acc:.2f}%")
        if best_path is not None and val_acc > best_acc:
            best_acc = val_acc
            torch.save(model.state_dict(), best_path)
            print(f"  new best val accuracy, saved to {best_path}")
        if early_stopping is not None and early_stopping.step(val_loss):
            print("  early stopping: validation loss stopped improving")
            break
    return history
