"""Evaluating a classifier beyond one accuracy number (reference solution).

Predictions and probabilities for a whole loader, the confusion matrix, per-class accuracy,
the list of wrong predictions, and three figures: training curves, an annotated confusion
heat map and a grid of misclassified images.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # draw into files only: no screen needed

import matplotlib.pyplot as plt
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
    model.eval()
    preds, labels, probs = [], [], []
    with torch.no_grad():
        for images, targets in loader:
            p = torch.softmax(model(images.to(device)), dim=1)
            probs.append(p.cpu().numpy())
            preds.append(p.argmax(dim=1).cpu().numpy())
            labels.append(targets.cpu().numpy())
    return np.concatenate(preds), np.concatenate(labels), np.concatenate(probs)


def confusion_matrix(labels: np.ndarray, preds: np.ndarray, num_classes: int = 10) -> np.ndarray:
    """Counts cm of shape (num_classes, num_classes), integer dtype:

        cm[i, j] = #{n : labels[n] = i and preds[n] = j}

    Row = true class, column = predicted class; the diagonal holds the correct predictions.
    Always num_classes x num_classes, even when some classes never occur. NumPy only.
    """
    labels = np.asarray(labels, dtype=np.int64).ravel()
    preds = np.asarray(preds, dtype=np.int64).ravel()
    cm = np.zeros((num_classes, num_classes), dtype=np.int64)
    np.add.at(cm, (labels, preds), 1)
    return cm


def per_class_accuracy(cm: np.ndarray) -> np.ndarray:
    """Percent of each true class that was predicted correctly:

        acc[i] = 100 * cm[i, i] / sum_j cm[i, j]        (shape (C,), float)

    A class with no samples (an all-zero row) gives NaN, and no RuntimeWarning is emitted.
    """
    cm = np.asarray(cm)
    totals = cm.sum(axis=1)
    accuracy = np.full(len(totals), np.nan)
    np.divide(100.0 * np.diag(cm), totals, out=accuracy, where=totals > 0)
    return accuracy


def find_errors(preds: np.ndarray, labels: np.ndarray, probs: np.ndarray) -> list[dict[str, Any]]:
    """One dict per wrong prediction (preds[n] != labels[n]), in increasing order of n:

        {"index": n, "true": labels[n], "pred": preds[n],
         "confidence": 100 * probs[n, preds[n]]}    # percent, probability of the PREDICTED class

    Returns [] when every prediction is right.
    """
    preds, labels, probs = np.asarray(preds), np.asarray(labels), np.asarray(probs)
    return [
        {"index": int(n), "true": int(labels[n]), "pred": int(preds[n]),
         "confidence": float(100.0 * probs[n, preds[n]])}
        for n in np.flatnonzero(preds != labels)
    ]


def _save(fig: plt.Figure, path: str | Path) -> Path:
    """Write ``fig`` as a PNG at ``path`` (creating folders), close it, return the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def plot_training_history(history: dict[str, list[float]], path: str | Path) -> Path:
    """Save a PNG with two panels and return ``path``.

    history has the lists "train_loss", "val_loss", "train_acc", "val_acc" (one entry per
    epoch, accuracies in percent). Left panel: train and validation loss per epoch; right
    panel: train and validation accuracy. Mark the best epoch, the one with the highest
    val_acc (e.g. a vertical line or a point). Create the parent folders of ``path``.
    """
    epochs = np.arange(1, len(history["val_acc"]) + 1)
    best = int(np.argmax(history["val_acc"]))
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(11, 4))
    for ax, key, ylabel in ((ax_loss, "loss", "loss"), (ax_acc, "acc", "accuracy (%)")):
        ax.plot(epochs, history[f"train_{key}"], "o-", label="train")
        ax.plot(epochs, history[f"val_{key}"], "s--", label="validation")
        ax.axvline(epochs[best], color="grey", linestyle=":", label=f"best epoch ({epochs[best]})")
        ax.set_xlabel("epoch")
        ax.set_xticks(epochs)
        ax.set_ylabel(ylabel)
        ax.grid(alpha=0.3)
        ax.legend()
    ax_acc.annotate(f"{history['val_acc'][best]:.2f}%", xy=(epochs[best], history["val_acc"][best]),
                    xytext=(0, -18), textcoords="offset points", ha="center")
    fig.suptitle("Training history")
    fig.tight_layout()
    return _save(fig, path)


def plot_confusion_matrix(cm: np.ndarray, path: str | Path) -> Path:
    """Save a PNG heat map of ``cm`` (rows = true class, columns = predicted class), each cell
    annotated with its count, and return ``path``. Create the parent folders of ``path``.
    """
    cm = np.asarray(cm)
    n = cm.shape[0]
    fig, ax = plt.subplots(figsize=(1 + 0.7 * n, 0.7 * n))
    image = ax.imshow(cm, cmap="Blues")
    fig.colorbar(image, ax=ax)
    threshold = cm.max() / 2
    for i in range(n):
        for j in range(n):
            ax.text(j, i, str(cm[i, j]), ha="center", va="center", fontsize=8,
                    color="white" if cm[i, j] > threshold else "black")
    ax.set_xticks(range(n))
    ax.set_yticks(range(n))
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    ax.set_title("Confusion matrix")
    fig.tight_layout()
    return _save(fig, path)


def plot_error_cases(images, errors: list[dict[str, Any]], path: str | Path, num_cases: int = 6) -> Path:
    """Save a PNG grid showing min(num_cases, len(errors)) wrong predictions; return ``path``.

    ``images[e["index"]]`` is the image of error ``e``: a (1, 28, 28) or (28, 28) tensor or
    array (normalised as the loader gave it). Each panel shows one image with a title giving
    the true class, the predicted class and the confidence in percent. Switch unused grid
    cells off. Create the parent folders of ``path``.
    """
    shown = errors[:num_cases]
    cols = 3
    rows = max(1, -(-len(shown) // cols))
    fig, axes = plt.subplots(rows, cols, figsize=(3 * cols, 3.2 * rows), squeeze=False)
    for ax in axes.ravel():
        ax.axis("off")
    for ax, error in zip(axes.ravel(), shown):
        image = images[error["index"]]
        image = image.detach().cpu().numpy() if isinstance(image, torch.Tensor) else np.asarray(image)
        ax.imshow(image.squeeze(), cmap="gray")
        ax.set_title(f"true {error['true']}, predicted {error['pred']}\nconfidence {error['confidence']:.1f}%",
                     color="tab:red", fontsize=10)
    fig.suptitle("Wrong predictions")
    fig.tight_layout()
    return _save(fig, path)
