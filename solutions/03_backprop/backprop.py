"""03_backprop (reference): gradients by autograd, by finite differences and by hand.

A two-layer network in NumPy float64 (X is (N, D), rows are examples):
    z1 = X W1 + b1,  h = relu(z1),  scores = h W2 + b2,  loss = mean cross-entropy.
"""
from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch


def autograd_example(x: float = 1.0, w: float = 2.0, b: float = 1.0, target: float = 5.0) -> dict:
    """Let torch autograd differentiate a one-neuron model.

    y = w·x + b and loss = (y - target)². Make x, w and b tensors with requires_grad=True,
    compute y and loss, call loss.backward(), then read x.grad, w.grad and b.grad.

    Returns a dict of Python floats (use .item()) under the keys
    "y", "loss", "x_grad", "w_grad", "b_grad". The defaults give 3, 4, -8, -4, -4.
    """
    xt, wt, bt = (torch.tensor(v, dtype=torch.float64, requires_grad=True) for v in (x, w, b))
    y = wt * xt + bt
    loss = (y - target) ** 2
    loss.backward()
    return {"y": y.item(), "loss": loss.item(),
            "x_grad": xt.grad.item(), "w_grad": wt.grad.item(), "b_grad": bt.grad.item()}


def sgd_update(param, grad, lr: float):
    """One step of gradient descent: return param - lr·grad.

    param and grad are both floats, both NumPy arrays (same shape) or both torch tensors;
    the result has the same kind. The input is NOT modified: return a new value.
    """
    return param - lr * grad


def numerical_gradient(f: Callable[[np.ndarray], float], x: np.ndarray, h: float = 1e-5) -> np.ndarray:
    """Estimate the gradient of a scalar function f at x by central differences.

    For every element i of x (a float64 array of any shape):
        grad[i] = (f(x with x[i] + h) - f(x with x[i] - h)) / (2h)
    The error of this estimate shrinks like h², much faster than a one-sided difference's h.

    You may change x[i] in place while you evaluate f, but afterwards x must hold exactly its
    original values. Returns a float64 array shaped like x.
    """
    grad = np.zeros(x.shape, dtype=np.float64)
    for i in np.ndindex(x.shape):
        old = x[i]
        x[i] = old + h
        f_plus = f(x)
        x[i] = old - h
        f_minus = f(x)
        x[i] = old
        grad[i] = (f_plus - f_minus) / (2 * h)
    return grad


def relative_error(a, b) -> float:
    """How far apart two arrays are, relative to their size.

    max over elements of |a - b| / max(1e-8, |a| + |b|), as a Python float.
    The 1e-8 floor avoids 0/0 when both entries are zero (two zero arrays give 0.0).
    """
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return float(np.max(np.abs(a - b) / np.maximum(1e-8, np.abs(a) + np.abs(b))))


def init_params(n_in: int, n_hidden: int, n_out: int, seed: int = 0) -> dict:
    """Parameters of the two-layer network, all float64:

        "W1": (n_in, n_hidden)   small random numbers, e.g. 0.01 * standard normal
        "b1": (n_hidden,)        zeros
        "W2": (n_hidden, n_out)  small random numbers
        "b2": (n_out,)           zeros

    Draw the random numbers from np.random.default_rng(seed) so the same seed gives the same
    weights.
    """
    rng = np.random.default_rng(seed)
    return {
        "W1": 0.01 * rng.standard_normal((n_in, n_hidden)),
        "b1": np.zeros(n_hidden),
        "W2": 0.01 * rng.standard_normal((n_hidden, n_out)),
        "b2": np.zeros(n_out),
    }


def forward(params: dict, X: np.ndarray) -> tuple[np.ndarray, object]:
    """The forward pass on X of shape (N, D).

        z1 = X W1 + b1        (N, n_hidden)
        h = relu(z1)          (N, n_hidden)
        scores = h W2 + b2    (N, n_out), no activation on the output

    Returns (scores, cache): cache is anything you like (a tuple, a dict) holding what
    backward will need, for example X, z1 and h.
    """
    z1 = X @ params["W1"] + params["b1"]
    h = np.maximum(z1, 0.0)
    scores = h @ params["W2"] + params["b2"]
    return scores, (X, z1, h)


def softmax_cross_entropy(scores: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
    """Mean cross-entropy loss of scores (N, C) against integer labels y (N,), and its gradient.

        p[n] = softmax(scores[n]) = exp(scores[n]) / sum(exp(scores[n]))
        loss = -(1/N) · Σ_n log p[n, y[n]]
        dscores = (p - onehot(y)) / N                 shape (N, C)

    Must be stable for scores as large as ±1000 (np.exp(1000) overflows): subtracting each
    row's max from that row leaves p unchanged. Do not modify scores.
    Returns (loss as a float, dscores).
    """
    n = scores.shape[0]
    shifted = scores - scores.max(axis=1, keepdims=True)
    log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    loss = -log_p[np.arange(n), y].mean()
    dscores = np.exp(log_p)
    dscores[np.arange(n), y] -= 1.0
    return float(loss), dscores / n


def backward(params: dict, cache, dscores: np.ndarray) -> dict:
    """Backpropagate dscores = dloss/dscores (N, n_out) through the network (the chain rule):

        dW2 = hᵀ dscores          db2 = Σ_n dscores
        dh  = dscores W2ᵀ
        dz1 = dh where z1 > 0, else 0     (ReLU passes gradient only where it was active)
        dW1 = Xᵀ dz1              db1 = Σ_n dz1

    Returns {"W1": dW1, "b1": db1, "W2": dW2, "b2": db2}, each shaped like its parameter.
    Do not modify params.
    """
    X, z1, h = cache
    dh = dscores @ params["W2"].T
    dz1 = dh * (z1 > 0)
    return {
        "W1": X.T @ dz1,
        "b1": dz1.sum(axis=0),
        "W2": h.T @ dscores,
        "b2": dscores.sum(axis=0),
    }
