"""Activation functions and their derivatives, in NumPy.

Every function is element-wise: an array of any shape in, a new float array of the same
shape out. The input is never modified.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np


def _as_float(x: np.ndarray) -> np.ndarray:
    """Float view of x: float32/float64 stay as they are, integers become float64."""
    x = np.asarray(x)
    return x if np.issubdtype(x.dtype, np.floating) else x.astype(np.float64)


def relu(x: np.ndarray) -> np.ndarray:
    """ReLU(x) = max(0, x)."""
    return np.maximum(_as_float(x), 0)


def sigmoid(x: np.ndarray) -> np.ndarray:
    """sigma(x) = 1 / (1 + e^-x), computed without overflow.

    Must stay finite and silent (no RuntimeWarning) for x in [-1e4, 1e4]: np.exp(1000)
    overflows, so never exponentiate a large positive number.
    """
    # x >= 0: 1 / (1 + e^-x); x < 0: e^x / (1 + e^x). Either way the exponent is <= 0.
    x = _as_float(x)
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e))


def tanh(x: np.ndarray) -> np.ndarray:
    """tanh(x) = (e^x - e^-x) / (e^x + e^-x), in (-1, 1); stable for x in [-1e4, 1e4]."""
    return np.tanh(_as_float(x))


def relu_grad(x: np.ndarray) -> np.ndarray:
    """d ReLU / dx: 1 where x > 0, else 0."""
    x = _as_float(x)
    return (x > 0).astype(x.dtype)


def sigmoid_grad(x: np.ndarray) -> np.ndarray:
    """sigma'(x) = sigma(x) * (1 - sigma(x))."""
    s = sigmoid(x)
    return s * (1 - s)


def tanh_grad(x: np.ndarray) -> np.ndarray:
    """tanh'(x) = 1 - tanh(x)^2."""
    return 1 - tanh(x) ** 2


def plot_activations(path: str | Path) -> Path:
    """Draw ReLU, Sigmoid and Tanh over x in [-5, 5] as three panels (one PNG) at ``path``.

    Create the parent folders, use matplotlib's Agg backend (no screen needed), return the path.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    x = np.linspace(-5, 5, 201)
    fig, axes = plt.subplots(1, 3, figsize=(12, 4))
    for ax, (name, f) in zip(axes, [("ReLU", relu), ("Sigmoid", sigmoid), ("Tanh", tanh)]):
        ax.plot(x, f(x), linewidth=2)
        ax.set_title(name)
        ax.set_xlabel("x")
        ax.grid(True, alpha=0.3)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path
