"""Activation functions and their derivatives, in NumPy.

Every function is element-wise: an array of any shape in, a new float array of the same
shape out. The input is never modified.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np


def relu(x: np.ndarray) -> np.ndarray:
    """ReLU(x) = max(0, x)."""
    raise NotImplementedError("01_activations.relu: return max(0, x) element-wise as a new array")


def sigmoid(x: np.ndarray) -> np.ndarray:
    """sigma(x) = 1 / (1 + e^-x), computed without overflow.

    Must stay finite and silent (no RuntimeWarning) for x in [-1e4, 1e4]: np.exp(1000)
    overflows, so never exponentiate a large positive number.
    """
    raise NotImplementedError("01_activations.sigmoid: return 1 / (1 + e^-x) element-wise, finite and warning-free for x in [-1e4, 1e4]")


def tanh(x: np.ndarray) -> np.ndarray:
    """tanh(x) = (e^x - e^-x) / (e^x + e^-x), in (-1, 1); stable for x in [-1e4, 1e4]."""
    raise NotImplementedError("01_activations.tanh: return tanh(x) element-wise, finite and warning-free for x in [-1e4, 1e4]")


def relu_grad(x: np.ndarray) -> np.ndarray:
    """d ReLU / dx: 1 where x > 0, else 0."""
    raise NotImplementedError("01_activations.relu_grad: return the slope of ReLU, 1.0 where x > 0 and 0.0 elsewhere")


def sigmoid_grad(x: np.ndarray) -> np.ndarray:
    """sigma'(x) = sigma(x) * (1 - sigma(x))."""
    raise NotImplementedError("01_activations.sigmoid_grad: return the slope of sigmoid at every element of x")


def tanh_grad(x: np.ndarray) -> np.ndarray:
    """tanh'(x) = 1 - tanh(x)^2."""
    raise NotImplementedError("01_activations.tanh_grad: return the slope of tanh at every element of x")


def plot_activations(path: str | Path) -> Path:
    """Draw ReLU, Sigmoid and Tanh over x in [-5, 5] as three panels (one PNG) at ``path``.

    Create the parent folders, use matplotlib's Agg backend (no screen needed), return the path.
    """
    raise NotImplementedError("01_activations.plot_activations: save one PNG at path showing ReLU, Sigmoid and Tanh over [-5, 5] in three panels; return the path")
