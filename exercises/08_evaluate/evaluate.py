"""Evaluating a classifier beyond one accuracy number.

Predictions and probabilities for a whole loader, the confusion matrix, per-class accuracy,
the list of wrong predictions, and three figures: training curves, an annotated confusion
heat map and a grid of misclassified images. NumPy and matplotlib only (no sklearn, no seaborn).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # draw into files only: no screen needed

import matplotlib.pyplot as plt  # noqa: F401
import numpy as np
import torch
from torch import nn


def collect_predictions(model: nn.Module, loader, device: torch.device | str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Run ``model`` over every batch of ``loader`` in evaluation mode, without gradients.

    The loader yields (images, labels) batches; move images to ``device``.
    Returns NumPy arrays covering all N samples in loader order:
        preds  (N,)   int    preds[n] = argmax_c probs[n, c]
        labels (N,)   int    the loader's labels
        probs  (N, C) float  probs[n] = softmax(logits[n]); every row sums to 1
    """
    raise NotImplementedError("08_evaluate.collect_predictions: return (preds, labels, probs) for every sample of "
                              "the loader, as NumPy arrays")


def confusion_matrix(labels: np.ndarray, preds: np.ndarray, num_classes: int = 10) -> np.ndarray:
    """Counts cm of shape (num_classes, num_classes), integer dtype:

        cm[i, j] = #{n : labels[n] = i and preds[n] = j}

    Row = true class, column = predicted class; the diagonal holds the correct predictions.
    Always num_classes x num_classes, even when some classes never occur. NumPy only.
    """
    raise NotImplementedError("08_evaluate.confusion_matrix: return the (num_classes, num_classes) matrix of counts, "
                              "rows = true classes, columns = predicted classes")


def per_class_accuracy(cm: np.ndarray) -> np.ndarray:
    """Percent of each true class that was predicted correctly:

        acc[i] = 100 * cm[i, i] / sum_j cm[i, j]        (shape (C,), float)

    A class with no samples (an all-zero row) gives NaN, and no RuntimeWarning is emitted.
    """
    raise NotImplementedError("08_evaluate.per_class_accuracy: return each true class's accuracy in %, NaN for "
                              "a class without samples")


def find_errors(preds: np.ndarray, labels: np.ndarray, probs: np.ndarray) -> list[dict[str, Any]]:
    """One dict per wrong prediction (preds[n] != labels[n]), in increasing order of n:

        {"index": n, "true": labels[n], "pred": preds[n],
         "confidence": 100 * probs[n, preds[n]]}    # percent, probability of the PREDICTED class

    Returns [] when every prediction is right.
    """
    raise NotImplementedError("08_evaluate.find_errors: return one dict {index, true, pred, confidence} per wrong "
                              "prediction")


def plot_training_history(history: dict[str, list[float]], path: str | Path) -> Path:
    """Save a PNG with two panels and return ``path``.

    history has the lists "train_loss", "val_loss", "train_acc", "val_acc" (one entry per
    epoch, accuracies in percent). Left panel: train and validation loss per epoch; right
    panel: train and validation accuracy. Mark the best epoch, the one with the highest
    val_acc (e.g. a vertical line or a point). Create the parent folders of ``path``.
    """
    raise NotImplementedError("08_evaluate.plot_training_history: save the loss and accuracy curves with the best "
                              "epoch marked; return path")


def plot_confusion_matrix(cm: np.ndarray, path: str | Path) -> Path:
    """Save a PNG heat map of ``cm`` (rows = true class, columns = predicted class), each cell
    annotated with its count, and return ``path``. Create the parent folders of ``path``.
    """
    raise NotImplementedError("08_evaluate.plot_confusion_matrix: save the matrix as an annotated heat map; "
                              "return path")


def plot_error_cases(images, errors: list[dict[str, Any]], path: str | Path, num_cases: int = 6) -> Path:
    """Save a PNG grid showing min(num_cases, len(errors)) wrong predictions; return ``path``.

    ``images[e["index"]]`` is the image of error ``e``: a (1, 28, 28) or (28, 28) tensor or
    array (normalised as the loader gave it). Each panel shows one image with a title giving
    the true class, the predicted class and the confidence in percent. Switch unused grid
    cells off. Create the parent folders of ``path``.
    """
    raise NotImplementedError("08_evaluate.plot_error_cases: save a grid of misclassified images with their "
                              "labels; return path")
