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
from grader.core import failures

FAIL = failures.table(__file__)
GRADES = "backprop"


def _loss_value(value) -> float:
    """The loss as a float; it must be a single number."""
    if np.ndim(value) != 0:
        raise FAIL("loss_not_scalar", shape=np.shape(value))
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
        raise FAIL("sce_broadcast", error=exc, shape=scores.shape) from exc
    if not (isinstance(out, (tuple, list)) and len(out) == 2):
        raise FAIL("sce_not_pair")
    if np.ndim(out[0]) == 2 and np.ndim(out[1]) == 0:
        raise FAIL("sce_swapped_pair")
    return tuple(out)


@pytest.mark.points(1)
def test_softmax_cross_entropy_loss(mod, device):
    rng = np.random.default_rng(2)
    scores, y = rng.normal(0, 2, (6, 4)), np.array([0, 3, 1, 1, 2, 0])
    before = scores.copy()
    out = _loss_call(mod, scores, y)
    loss = _loss_value(out[0])
    want, _ = _torch_ce(before, y, device)
    table = -np.log(_softmax(before, 1))[:, y]
    if loss != pytest.approx(want, rel=1e-10):
        seen = FAIL("sce_loss_wrong", loss=loss, want=want)
        hint = None
        if loss == pytest.approx(want * len(y), rel=1e-9):
            hint = FAIL("loss_summed")
        elif loss == pytest.approx(-want, rel=1e-9):
            hint = FAIL("loss_sign")
        elif loss == pytest.approx(_column_softmax_loss(before, y), rel=1e-9):
            hint = FAIL("loss_column_softmax")
        elif any(loss == pytest.approx(v, rel=1e-9) for v in (table.mean(), table.sum() / len(y))):
            hint = FAIL("loss_table_index")
        raise failures.joined(hint.key, [seen, hint], separator="") if hint else seen
    if not np.array_equal(scores, before):
        raise FAIL("sce_changed_scores")


@pytest.mark.points(1)
def test_softmax_cross_entropy_gradient(mod, device):
    rng = np.random.default_rng(3)
    n = 6
    scores, y = rng.normal(0, 2, (n, 4)), np.array([2, 0, 3, 1, 1, 0])
    dscores = np.asarray(_loss_call(mod, scores.copy(), y)[1], dtype=np.float64)
    if dscores.shape != scores.shape:
        raise FAIL("dscores_shape", shape=dscores.shape, want=scores.shape)
    _, want = _torch_ce(scores, y, device)
    err = rel_err(dscores, want)
    if err < 1e-9:
        return
    p = want * n
    p[np.arange(n), y] += 1.0
    hint = None
    if rel_err(dscores, want * n) < 1e-9:
        hint = FAIL("dscores_times_n", n=n)
    elif rel_err(dscores, -want) < 1e-9:
        hint = FAIL("dscores_sign")
    elif rel_err(dscores, p / n) < 1e-9 or rel_err(dscores, p) < 1e-9:
        hint = FAIL("dscores_no_onehot")
    elif rel_err(dscores, _minus_onehot(p, y, slice(None)) / n) < 1e-9:
        hint = FAIL("dscores_column_index")
    elif rel_err(dscores, _minus_onehot(_softmax(scores, 0), y, np.arange(n)) / n) < 1e-9:
        hint = FAIL("dscores_column_softmax")
    seen = FAIL("dscores_wrong", error=err)
    raise failures.joined(hint.key, [seen, hint], separator="") if hint else seen


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
    loss = _loss_value(loss)
    dscores = np.asarray(dscores, dtype=np.float64)
    fix = FAIL("stable_fix")
    if problems and not any("overflow" in text for text in problems):
        fix = FAIL("stable_fix_underflow")
    if hidden and not problems:
        raise FAIL("sce_overflow_hidden", call=hidden[0], fix=fix)
    if problems:
        raise FAIL("sce_warning", warnings="; ".join(problems), fix=fix)
    if not (math.isfinite(loss) and np.isfinite(dscores).all()):
        raise FAIL("sce_not_finite", loss=loss, count=(~np.isfinite(dscores)).sum(), fix=fix)
    want_loss, want_d = _torch_ce(scores, y, device)
    if loss != pytest.approx(want_loss, rel=1e-9):
        raise FAIL("sce_large_loss_wrong", loss=loss, want=want_loss, fix=fix)
    if not (rel_err(dscores, want_d) < 1e-9 or np.allclose(dscores, want_d, rtol=0, atol=1e-12)):
        raise FAIL("sce_large_dscores_wrong", error=np.abs(dscores - want_d).max(), fix=fix)
