"""What the tests compare a learner's result against, computed the plain, trusted way: the seeding
every model-building check starts from, 03_backprop's relative error, and 08_evaluate's confusion
matrix counted pair by pair."""
from __future__ import annotations

import random

import numpy as np
import torch


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch (all devices)."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def rel_err(a, b) -> float:
    """The relative error of 03_backprop's contract, in float64: max |a - b| / max(1e-8, |a| + |b|)."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return float(np.max(np.abs(a - b) / np.maximum(1e-8, np.abs(a) + np.abs(b))))


def brute_force_cm(labels: np.ndarray, preds: np.ndarray, num_classes: int) -> np.ndarray:
    """The confusion matrix (C, C) counted one (true, pred) pair at a time: cm[true, pred] += 1."""
    cm = np.zeros((num_classes, num_classes), dtype=np.int64)
    for t, p in zip(labels, preds):
        cm[t, p] += 1
    return cm
