"""03_backprop: gradients three ways: by torch autograd, by finite differences, and by hand.

Fill in every function that raises NotImplementedError, in order. README.md explains the maths.

The network of the second half is a two-layer classifier in NumPy float64. X is (N, D), one
example per row, and y holds N integer class labels:
    z1 = X W1 + b1,  h = relu(z1),  scores = h W2 + b2,  loss = mean cross-entropy(scores, y).
"""
from __future__ import annotations

from collections.abc import Callable

import numpy as np

# ---------------------------------------------------------------- part 1: autograd and one SGD step

def autograd_example(x: float = 1.0, w: float = 2.0, b: float = 1.0, target: float = 5.0) -> dict:
    """Let torch autograd differentiate a one-neuron model.

    y = w·x + b and loss = (y - target)². Make x, w and b tensors with requires_grad=True,
    compute y and loss, call loss.backward(), then read x.grad, w.grad and b.grad.

    Returns a dict of Python floats (use .item()) under the keys
    "y", "loss", "x_grad", "w_grad", "b_grad". The defaults give 3, 4, -8, -4, -4.
    """
    raise NotImplementedError("03_backprop.autograd_example: return y, loss and the gradients of loss with respect to x, w and b, computed by torch autograd, as floats")


def sgd_update(param, grad, lr: float):
    """One step of gradient descent: return param - lr·grad.

    param and grad are both floats, both NumPy arrays (same shape) or both torch tensors;
    the result has the same kind. The input is NOT modified: return a new value.
    """
    raise NotImplementedError("03_backprop.sgd_update: return param - lr * grad as a new value, leaving param unchanged")


# ---------------------------------------------------------------- part 2: checking gradients numerically

def numerical_gradient(f: Callable[[np.ndarray], float], x: np.ndarray, h: float = 1e-5) -> np.ndarray:
    """Estimate the gradient of a scalar function f at x by central differences.

    For every element i of x (a float64 array of any shape):
        grad[i] = (f(x with x[i] + h) - f(x with x[i] - h)) / (2h)
    The error of this estimate shrinks like h², much faster than a one-sided difference's h.

    You may change x[i] in place while you evaluate f, but afterwards x must hold exactly its
    original values. Returns a float64 array shaped like x.
    """
    raise NotImplementedError("03_backprop.numerical_gradient: return the central-difference estimate of the gradient of f at x, leaving x as it was")


def relative_error(a, b) -> float:
    """How far apart two arrays are, relative to their size.

    max over elements of |a - b| / max(1e-8, |a| + |b|), as a Python float.
    The 1e-8 floor avoids 0/0 when both entries are zero (two zero arrays give 0.0).
    """
    raise NotImplementedError("03_backprop.relative_error: return max |a - b| / max(1e-8, |a| + |b|) over the elements, as a float")


# ---------------------------------------------------------------- part 3: a two-layer network by hand

def init_params(n_in: int, n_hidden: int, n_out: int, seed: int = 0) -> dict:
    """Parameters of the two-layer network, all float64:

        "W1": (n_in, n_hidden)   small random numbers, e.g. 0.01 * standard normal
        "b1": (n_hidden,)        zeros
        "W2": (n_hidden, n_out)  small random numbers
        "b2": (n_out,)           zeros

    Draw the random numbers from np.random.default_rng(seed) so the same seed gives the same
    weights.
    """
    raise NotImplementedError("03_backprop.init_params: return the dict W1, b1, W2, b2: small random weights drawn with the given seed, zero biases")


def forward(params: dict, X: np.ndarray) -> tuple[np.ndarray, object]:
    """The forward pass on X of shape (N, D).

        z1 = X W1 + b1        (N, n_hidden)
        h = relu(z1)          (N, n_hidden)
        scores = h W2 + b2    (N, n_out), no activation on the output

    Returns (scores, cache): cache is anything you like (a tuple, a dict) holding what
    backward will need, for example X, z1 and h.
    """
    raise NotImplementedError("03_backprop.forward: return (scores, cache) with scores = relu(X @ W1 + b1) @ W2 + b2")


def softmax_cross_entropy(scores: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
    """Mean cross-entropy loss of scores (N, C) against integer labels y (N,), and its gradient.

        p[n] = softmax(scores[n]) = exp(scores[n]) / sum(exp(scores[n]))
        loss = -(1/N) · Σ_n log p[n, y[n]]
        dscores = (p - onehot(y)) / N                 shape (N, C)

    Must be stable for scores as large as ±1000 (np.exp(1000) overflows): subtracting each
    row's max from that row leaves p unchanged. Do not modify scores.
    Returns (loss as a float, dscores).
    """
    raise NotImplementedError("03_backprop.softmax_cross_entropy: return the mean cross-entropy of scores against y and its gradient dscores, stable for scores near +-1000")


def backward(params: dict, cache, dscores: np.ndarray) -> dict:
    """Backpropagate dscores = dloss/dscores (N, n_out) through the network (the chain rule):

        dW2 = hᵀ dscores          db2 = Σ_n dscores
        dh  = dscores W2ᵀ
        dz1 = dh where z1 > 0, else 0     (ReLU passes gradient only where it was active)
        dW1 = Xᵀ dz1              db1 = Σ_n dz1

    Returns {"W1": dW1, "b1": db1, "W2": dW2, "b2": db2}, each shaped like its parameter.
    Do not modify params.
    """
    raise NotImplementedError("03_backprop.backward: return the gradients of the loss with respect to W1, b1, W2 and b2, given dscores")
