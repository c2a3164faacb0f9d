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

MNIST_MEAN = 0.1307  # mean pixel value of the MNIST training images, after scaling to [0, 1]
MNIST_STD = 0.3081  # their standard deviation


def mnist_transform() -> transforms.Compose:
    """PIL image or (28, 28) uint8 array -> (1, 28, 28) float32 tensor, x' = (x / 255 - mean) / std.

    ``ToTensor`` scales pixels 0..255 to [0, 1] and puts the channel first; ``Normalize``
    subtracts MNIST's mean and divides by its standard deviation (0 -> -0.4242, 255 -> 2.8215).
    """
    raise NotImplementedError("04_train.mnist_transform: return the transform that turns an MNIST image into a "
                              "normalised (1, 28, 28) float32 tensor")


def split_indices(n: int, fractions: tuple[float, float, float] = (0.6, 0.2, 0.2),
                  seed: int = 42) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Shuffle range(n) once with ``seed`` and cut it into (train, val, test) index arrays.

    Sizes: int(n * fractions[0]), int(n * fractions[1]) and the rest (70 000 -> 42 000 /
    14 000 / 14 000). Disjoint, together exactly range(n); the same seed gives the same split.
    """
    raise NotImplementedError("04_train.split_indices: return shuffled, disjoint (train, val, test) index arrays "
                              "that together cover range(n)")


def train_step(model: nn.Module, images: torch.Tensor, labels: torch.Tensor,
               criterion: nn.Module, optimizer: torch.optim.Optimizer) -> tuple[float, int]:
    """One update on one batch: zero the gradients, forward, loss, backward, step.

    Returns the batch's loss (a float, computed before the update) and how many of its
    samples the forward pass classified right (an int; the prediction is the arg-max logit).
    """
    raise NotImplementedError("04_train.train_step: update the model once on this batch; return (the batch's loss, "
                              "how many it classified right)")


def train_epoch(model: nn.Module, loader: Iterable, criterion: nn.Module, optimizer: torch.optim.Optimizer,
                device: torch.device, progress: bool = True) -> tuple[float, float]:
    """One pass over ``loader`` in training mode, one train_step per batch.

    Moves every batch to ``device``. Returns (avg_loss, accuracy): avg_loss is the mean loss
    per sample, sum_b loss_b * B_b / N (with equal batches that is also the mean of the batch
    losses), accuracy = 100 * correct / N in percent. Shows a tqdm bar when ``progress``.
    """
    raise NotImplementedError("04_train.train_epoch: train on every batch of the loader once; return (mean loss "
                              "per sample, accuracy in %)")


def validate(model: nn.Module, loader: Iterable, criterion: nn.Module,
             device: torch.device) -> tuple[float, float]:
    """Score the model on ``loader`` in evaluation mode without tracking gradients.

    Returns (avg_loss, accuracy) in the units of train_epoch; changes no parameter.
    """
    raise NotImplementedError("04_train.validate: score the model on the loader without changing it; return "
                              "(mean loss per sample, accuracy in %)")


class EarlyStopping:
    """Says stop once the validation loss has not improved for ``patience`` epochs in a row.

    An epoch improves when val_loss < best - min_delta; an improvement resets the count.
    """

    def __init__(self, patience: int = 3, min_delta: float = 0.0) -> None:
        raise NotImplementedError("04_train.EarlyStopping: keep what step() needs to remember between epochs")

    def step(self, val_loss: float) -> bool:
        """Record one epoch's validation loss; True when training should stop."""
        raise NotImplementedError("04_train.EarlyStopping.step: record one validation loss; return True when training "
                                  "should stop")


def fit(model: nn.Module, train_loader: Iterable, val_loader: Iterable, criterion: nn.Module,
        optimizer: torch.optim.Optimizer, device: torch.device, epochs: int,
        early_stopping: EarlyStopping | None = None, best_path: str | Path | None = None) -> dict[str, list[float]]:
    """Train for up to ``epochs`` epochs, validating after each.

    Returns {"train_loss", "train_acc", "val_loss", "val_acc"}, one entry per epoch run.
    With ``best_path``, saves model.state_dict() there whenever val_acc beats every earlier
    epoch; stops after the epoch for which ``early_stopping.step(val_loss)`` is True.
    """
    raise NotImplementedError("04_train.fit: train and validate for up to `epochs` epochs, keep the best model; "
                              "return the history")
