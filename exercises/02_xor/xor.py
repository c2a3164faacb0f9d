"""XOR: the smallest problem a straight line cannot solve, and the hidden layer that can.

Shapes: inputs (N, 2), logits (N, 1). A logit > 0 means class 1.
"""
from __future__ import annotations

import numpy as np
import torch
from torch import nn

XOR_X = torch.tensor([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
XOR_Y = torch.tensor([[0.0], [1.0], [1.0], [0.0]])


def collapse_linear(W1: np.ndarray, b1: np.ndarray, W2: np.ndarray, b2: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The one layer (W, b) equal to two stacked linear layers with no activation between.

    y = W2 (W1 x + b1) + b2 = (W2 W1) x + (W2 b1 + b2), so W = W2 W1 (out x in) and
    b = W2 b1 + b2 (out,). W1 is (hidden, in), W2 is (out, hidden): nn.Linear's convention.
    """
    raise NotImplementedError("02_xor.collapse_linear: return the one layer (W, b) equal to the two stacked linear layers")


def make_xor_net(hidden: int = 8, activation: str | None = "tanh") -> nn.Module:
    """Linear(2, hidden) -> activation -> Linear(hidden, 1): (N, 2) in, (N, 1) logits out.

    ``activation`` is "relu", "tanh", "sigmoid", or None for no nonlinearity (a linear net).
    """
    raise NotImplementedError("02_xor.make_xor_net: build Linear(2, hidden), the activation (if any), Linear(hidden, 1)")


def train_xor(model: nn.Module, epochs: int = 1000, lr: float = 0.05) -> list[float]:
    """Full-batch training on the four XOR points with BCEWithLogitsLoss and Adam(lr).

    Each epoch: zero the gradients, forward all four points, loss, backward, step.
    Returns the loss of every epoch (computed before that epoch's step), as floats.
    """
    raise NotImplementedError("02_xor.train_xor: train model on the four XOR points for `epochs` full-batch epochs with Adam(lr) and BCEWithLogitsLoss; return each epoch's loss")


def xor_accuracy(model: nn.Module) -> float:
    """Fraction (0..1) of the four XOR points classified right (logit > 0 means class 1)."""
    raise NotImplementedError("02_xor.xor_accuracy: return the fraction (0..1) of the four XOR points the model classifies right")
