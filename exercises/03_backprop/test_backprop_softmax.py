"""Tests of 03_backprop/backprop.py: softmax_cross_entropy (loss, gradient, stability).

Each failure names the cause and the fix. "not started" means the test reached a stub's
NotImplementedError; "blocked" means a test it needs (see @needs) has not passed yet, so fix that one
first. Reference values are computed here in NumPy or torch float64. Hints: `grader hint 03`.
"""
from __future__ import annotations

import inspect
import math
import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from grader.checks.numerics import overflows_seen
from grader.checks.reference import rel_err

GRADES = "backprop"


def _as_float(value, what: str) -> float:
    assert np.ndim(value) == 0, f"{what} should be a single number, got shape {np.shape(value)}"
    return float(value)


# ---------------------------------------------------------------- softmax_cross_entropy

def _torch_ce(scores: np.ndarray, y: np.ndarray, device) -> tuple[float, np.ndarray]:
    s = torch.tensor(scores, dtype=torch.float64, device=device, requires_grad=True)
    loss = F.cross_entropy(s, torch.tensor(y, device=device))
    loss.backward()
    return loss.item(), s.grad.cpu().numpy()


def _softmax(scores: np.ndarray, axis: int) -> np.ndarray:
    p = np.exp(scores - scores.max(axis=axis, keepdims=True))
    return p / p.sum(axis=axis, keepdims=True)


def _column_softmax_loss(scores: np.ndarray, y: np.ndarray) -> float:
    """The loss a softmax normalised over axis 0 (the batch) instead of each row would give."""
    return float(-np.log(_softmax(scores, 0)[np.arange(len(y)), y]).mean())


def _minus_onehot(p: np.ndarray, y: np.ndarray, rows) -> np.ndarray:
    """p less 1 at [rows, y]: rows = np.arange(N) subtracts the one-hot of y; rows = slice(None) is the (N, N) slip."""
    d = p.copy()
    d[rows, y] -= 1.0
    return d


def _loss_call(mod, scores: np.ndarray, y: np.ndarray) -> tuple:
    """softmax_cross_entropy(scores, y) as (loss, dscores), failing with the cause for a swapped pair or shapes
    that do not broadcast."""
    try:
        out = mod.softmax_cross_entropy(scores, y)
    except ValueError as exc:
        if "broadcast" not in str(exc):
            raise
        pytest.fail(f"softmax_cross_entropy raised ValueError({exc}) for scores of shape {scores.shape}: a row max or "
                    "sum without keepdims=True has shape (N,), which does not line up with the rows of (N, C) scores "
                    "(and when N == C it silently uses the wrong row's sum). Use .max(axis=1, keepdims=True) and "
                    ".sum(axis=1, keepdims=True)")
    assert isinstance(out, (tuple, list)) and len(out) == 2, "softmax_cross_entropy should return a pair (loss, dscores)"
    assert not (np.ndim(out[0]) == 2 and np.ndim(out[1]) == 0), (
        "softmax_cross_entropy returned (dscores, loss): return them in the order (loss, dscores)")
    return tuple(out)


@pytest.mark.points(1)
def test_softmax_cross_entropy_loss(mod, device):
    rng = np.random.default_rng(2)
    scores, y = rng.normal(0, 2, (6, 4)), np.array([0, 3, 1, 1, 2, 0])
    before = scores.copy()
    out = _loss_call(mod, scores, y)
    loss = _as_float(out[0], "the loss")
    want, _ = _torch_ce(before, y, device)
    table = -np.log(_softmax(before, 1))[:, y]
    hint = ""
    if loss == pytest.approx(want * len(y), rel=1e-9):
        hint = " It is N times too large: take the mean over the batch, not the sum."
    elif loss == pytest.approx(-want, rel=1e-9):
        hint = " It has the wrong sign: the loss is MINUS the mean log-probability of the correct class."
    elif loss == pytest.approx(_column_softmax_loss(before, y), rel=1e-9):
        hint = (" That is softmax over each COLUMN (axis=0): every row is one example, so normalise each row, "
                "summing over axis=1 with keepdims=True.")
    elif any(loss == pytest.approx(v, rel=1e-9) for v in (table.mean(), table.sum() / len(y))):
        hint = (" log_p[:, y] takes column y[j] of EVERY row, an (N, N) table of N² entries, instead of one entry per "
                "row: index with log_p[np.arange(N), y], which picks row n's own class y[n].")
    assert loss == pytest.approx(want, rel=1e-10), (
        f"softmax_cross_entropy loss is {loss:.10g}, torch's cross_entropy gives {want:.10g}.{hint}")
    assert np.array_equal(scores, before), (
        "softmax_cross_entropy changed the scores array you passed in: shift into a new array "
        "(shifted = scores - scores.max(axis=1, keepdims=True)) instead of using -=")


@pytest.mark.points(1)
def test_softmax_cross_entropy_gradient(mod, device):
    rng = np.random.default_rng(3)
    n = 6
    scores, y = rng.normal(0, 2, (n, 4)), np.array([2, 0, 3, 1, 1, 0])
    dscores = np.asarray(_loss_call(mod, scores.copy(), y)[1], dtype=np.float64)
    assert dscores.shape == scores.shape, f"dscores has shape {dscores.shape}, expected the shape of scores {scores.shape}"
    _, want = _torch_ce(scores, y, device)
    err = rel_err(dscores, want)
    if err < 1e-9:
        return
    p = want * n
    p[np.arange(n), y] += 1.0
    hint = ""
    if rel_err(dscores, want * n) < 1e-9:
        hint = (f" It is N = {n} times too large: the loss is a mean over the batch, so divide "
                "(softmax - one_hot(y)) by N.")
    elif rel_err(dscores, -want) < 1e-9:
        hint = " It has the wrong sign: dscores = (softmax - one_hot(y)) / N."
    elif rel_err(dscores, p / n) < 1e-9 or rel_err(dscores, p) < 1e-9:
        hint = " Subtract 1 at each row's correct class: dscores = (softmax - one_hot(y)) / N."
    elif rel_err(dscores, _minus_onehot(p, y, slice(None)) / n) < 1e-9:
        hint = (" dscores[:, y] -= 1 subtracts 1 in EVERY row of each column named in y, instead of once per row at "
                "its own class: index with dscores[np.arange(N), y].")
    elif rel_err(dscores, _minus_onehot(_softmax(scores, 0), y, np.arange(n)) / n) < 1e-9:
        hint = (" It is the gradient of a softmax over each COLUMN (axis=0): every row is one example, so normalise "
                "each row, summing over axis=1 with keepdims=True.")
    raise AssertionError(f"dscores differs from torch autograd's gradient of the mean cross-entropy "
                         f"(relative error {err:.1e}).{hint}")


@pytest.mark.points(1)
@pytest.mark.needs("test_softmax_cross_entropy_loss", "test_softmax_cross_entropy_gradient")
def test_softmax_cross_entropy_is_stable(mod, device):
    rng = np.random.default_rng(4)
    # Rows around +1000 and -1000: exp overflows on the first, underflows to all zeros on the second.
    scores = np.concatenate([1000 + 3 * rng.standard_normal((3, 5)), -1000 + 3 * rng.standard_normal((3, 5))])
    y = np.array([0, 4, 2, 1, 3, 0])
    with overflows_seen(getattr(inspect.unwrap(mod.softmax_cross_entropy), "__globals__", {})) as hidden, \
            warnings.catch_warnings(record=True) as caught, np.errstate(over="warn", invalid="warn", divide="warn"):
        warnings.simplefilter("always")
        loss, dscores = mod.softmax_cross_entropy(scores.copy(), y)
    problems = sorted({str(w.message) for w in caught if issubclass(w.category, RuntimeWarning)})
    loss = _as_float(loss, "the loss")
    dscores = np.asarray(dscores, dtype=np.float64)
    fix = ("Subtract each row's own max before np.exp (scores - scores.max(axis=1, keepdims=True)); "
           "softmax does not change when a row is shifted, and the largest exponent becomes exp(0) = 1.")
    if problems and not any("overflow" in text for text in problems):
        fix = ("Rows far below the largest score underflowed to all zeros (0 / 0, log 0): shifting by one max for "
               "the whole array is not enough. " + fix)
    assert problems or not hidden, (
        f"softmax_cross_entropy with scores around +-1000 computed {hidden[0] if hidden else ''}, an overflow hidden "
        f"rather than avoided: np.errstate, np.seterr or a warnings filter silences the warning, but exp still "
        f"overflows. {fix}")
    assert not problems, (f"softmax_cross_entropy with scores around +-1000 raised RuntimeWarning: "
                          f"{'; '.join(problems)}. {fix}")
    assert math.isfinite(loss) and np.isfinite(dscores).all(), (
        f"softmax_cross_entropy with scores around +-1000 gave loss {loss} and "
        f"{(~np.isfinite(dscores)).sum()} non-finite dscores entries. {fix}")
    want_loss, want_d = _torch_ce(scores, y, device)
    assert loss == pytest.approx(want_loss, rel=1e-9), (
        f"softmax_cross_entropy with scores around +-1000 gave loss {loss:.10g}, torch gives {want_loss:.10g}. {fix}")
    assert rel_err(dscores, want_d) < 1e-9 or np.allclose(dscores, want_d, rtol=0, atol=1e-12), (
        f"softmax_cross_entropy with scores around +-1000 gave dscores off from torch's by "
        f"{np.abs(dscores - want_d).max():.1e}. {fix}")
