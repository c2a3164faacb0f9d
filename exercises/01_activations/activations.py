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
    raise NotImplementedError("01_activations.sigmoid: compute 1 / (1 + e^-x) without ever calling exp on a large positive number")


def tanh(x: np.ndarray) -> np.ndarray:
    """tanh(x) = (e^x - e^-x) / (e^x + e^-x), in (-1, 1); stable for x in [-1e4, 1e4]."""
    raise NotImplementedError("01_activations.tanh: compute tanh(x) element-wise, stable for large |x|")


def relu_grad(x: np.ndarray) -> np.ndarray:
    """d ReLU / dx: 1 where x > 0, else 0."""
    raise NotImplementedError("01_activations.relu_grad: return 1.0 where x > 0 and 0.0 elsewhere")


def sigmoid_grad(x: np.ndarray) -> np.ndarray:
    """sigma'(x) = sigma(x) * (1 - sigma(x))."""
    raise NotImplementedError("01_activations.sigmoid_grad: return s * (1 - s) with s = sigmoid(x)")


def tanh_grad(x: np.ndarray) -> np.ndarray:
    """tanh'(x) = 1 - tanh(x)^2."""
    raise NotImplementedError("01_activations.tanh_grad: return 1 - tanh(x)**2")


def plot_activations(path: str | Path) -> Path:
    """Draw ReLU, Sigmoid and Tanh over x in [-5, 5] as three panels (one PNG) at ``path``.

    Create the parent folders, use matplotlib's Agg backend (no screen needed), return the path.
    """
    raise NotImplementedError("01_activations.plot_activations: plot the three functions side by side and save the PNG")
