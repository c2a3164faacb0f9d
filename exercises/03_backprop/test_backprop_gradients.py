"""Tests of 03_backprop/backprop.py: numerical_gradient, relative_error and init_params.

Each failure names the cause and the fix. "not started" means the test reached a stub's
NotImplementedError; "blocked" means a test it needs (see @needs) has not passed yet, so fix that one
first. Reference values are computed here in NumPy or torch float64. Hints: `grader hint 03`.
"""
from __future__ import annotations

import warnings

import numpy as np
import pytest

from grader.checks.signatures import default_failure
from grader.core import failures

FAIL = failures.table(__file__)
GRADES = "backprop"


# ---------------------------------------------------------------- numerical_gradient

def _flat_gradient(mod, f, x: np.ndarray, h) -> np.ndarray:
    """The learner's numerical_gradient of f at x.ravel() (NaN if it fails there)."""
    try:
        flat = mod.numerical_gradient(f, x.ravel().copy(), *([] if h is None else [h]))
        return np.asarray(flat, dtype=np.float64).ravel()
    except Exception:  # noqa: BLE001 - only a diagnosis
        return np.full(x.size, np.nan)


def _check_numerical_gradient(mod, f, fname: str, x: np.ndarray, want: np.ndarray, atol: float, h=None):
    """Compare the learner's numerical_gradient with the exact gradient, naming the usual slips."""
    call = f"numerical_gradient({fname}, x{'' if h is None else f', h={h:g}'})"
    arg = x.copy()
    got = mod.numerical_gradient(f, arg) if h is None else mod.numerical_gradient(f, arg, h=h)
    if np.asarray(got).dtype != np.float64:
        raise FAIL("numgrad_dtype", call=call, dtype=np.asarray(got).dtype)
    got = np.asarray(got, dtype=np.float64)
    if got.shape != x.shape:
        raise FAIL("numgrad_shape", call=call, got=got.shape, want=x.shape)
    err = float(np.abs(got - want).max())
    if err <= atol:
        return
    step = 1e-5 if h is None else h
    one_sided = np.array([(f(x + step * e) - f(x)) / step for e in np.eye(x.size).reshape(-1, *x.shape)]).reshape(x.shape)
    central = np.array([(f(x + step * e) - f(x - step * e)) / (2 * step)
                        for e in np.eye(x.size).reshape(-1, *x.shape)]).reshape(x.shape)
    moved = float(np.abs(arg - x).max())
    if h is None and (wrong := default_failure(mod.numerical_gradient, "numerical_gradient", {"h": 1e-5})):
        hint = FAIL("numgrad_default_h", problem=wrong)
    elif moved > 1e-12:  # more than rounding: a perturbation left in place
        hint = FAIL("numgrad_x_left_changed", moved=moved)
    elif x.ndim > 1 and np.allclose(got, got[:, :1]) and not np.allclose(want, want[:, :1]):
        hint = FAIL("numgrad_whole_rows")
    elif x.ndim > 1 and np.allclose(_flat_gradient(mod, f, x, h), want.ravel(), rtol=0, atol=atol):
        hint = FAIL("numgrad_flat_only")
    elif np.allclose(got, one_sided, rtol=0, atol=atol / 10):
        hint = FAIL("numgrad_one_sided")
    elif np.allclose(got, one_sided / 2, rtol=0, atol=atol / 10):
        hint = FAIL("numgrad_minus_at_x")
    elif np.allclose(got, 2 * central, rtol=1e-6, atol=atol):
        hint = FAIL("numgrad_twice")
    else:
        hint = FAIL("numgrad_use_central")
    seen = FAIL("numgrad_off", call=call, want=np.round(want, 6).tolist(), error=err, allowed=atol,
                got=np.round(got, 6).tolist())
    raise failures.joined(hint.key, [seen, hint], separator="")


@pytest.mark.points(2)
def test_numerical_gradient_values(mod):
    x = np.array([[0.5, -1.0, 2.0], [0.0, 3.0, -0.25]])
    _check_numerical_gradient(mod, lambda v: np.sum(v ** 2), "sum(x**2)", x, 2 * x, atol=1e-7)
    x = np.array([-1.2, -0.3, 0.4, 0.9, 2.0])
    _check_numerical_gradient(mod, lambda v: np.sum(np.sin(v)), "sum(sin(x))", x, np.cos(x), atol=1e-8)
    # (x+h)³ - (x-h)³ = 6x²h + 2h³, so the central difference with h = 0.1 is exactly 3x² + h².
    x = np.array([1.0, -2.0, 0.5])
    _check_numerical_gradient(mod, lambda v: np.sum(v ** 3), "sum(x**3)", x, 3 * x ** 2 + 0.1 ** 2, atol=1e-9, h=0.1)
    # sum(x)² couples the elements, so a perturbation left in place changes every later slope (2·sum(x), exact for
    # central differences of a quadratic).
    x = np.array([0.5, -1.0, 2.0])
    _check_numerical_gradient(mod, lambda v: np.sum(v) ** 2, "sum(x)**2", x, np.full(3, 2 * x.sum()), atol=1e-9, h=0.1)


@pytest.mark.points(1)
def test_numerical_gradient_restores_x(mod):
    x = np.array([[0.1, -0.7, 0.3], [1.9, 0.01, -2.3]])
    before = x.copy()
    mod.numerical_gradient(lambda v: float(np.sum(v ** 3 - v)), x)
    change = float(np.abs(x - before).max())
    if not (change == 0 or change > 1e-12):
        raise FAIL("numgrad_rounding_left", change=change)
    if change != 0:
        raise FAIL("numgrad_x_changed", change=change)


# ---------------------------------------------------------------- relative_error

@pytest.mark.points(1)
def test_relative_error_values(mod):
    a, b = np.array([1.0, 2.0, -3.0]), np.array([1.1, 2.0, -2.7])
    want = max(0.1 / 2.1, 0.3 / 5.7)
    got = mod.relative_error(a, b)
    if not isinstance(got, float):
        raise FAIL("relerr_not_float", kind=type(got).__name__)
    if got != pytest.approx(want, rel=1e-9):
        raise FAIL("relerr_not_max", a=a.tolist(), b=b.tolist(), got=got, want=want)
    got = mod.relative_error(np.array([[1.0, 4.0]]), np.array([[-1.0, 4.0]]))
    if got != pytest.approx(1.0):
        raise FAIL("relerr_abs_of_sum", got=got)


@pytest.mark.points(1)
def test_relative_error_of_zeros(mod):
    with warnings.catch_warnings(record=True) as caught, np.errstate(divide="warn", invalid="warn"):
        warnings.simplefilter("always")
        zero = mod.relative_error(np.zeros(4), np.zeros(4))
    if caught:
        raise FAIL("relerr_zeros_warning", got=repr(zero))
    if zero != 0.0:
        raise FAIL("relerr_zeros", got=repr(zero))
    tiny = mod.relative_error(np.array([0.0]), np.array([1e-10]))  # one element: only the denominator matters
    if tiny != pytest.approx(0.01):
        raise FAIL("relerr_floor", got=tiny)


# ---------------------------------------------------------------- init_params

@pytest.mark.points(1)
def test_init_params(mod):
    params = mod.init_params(50, 40, 10)
    shapes = {"W1": (50, 40), "b1": (40,), "W2": (40, 10), "b2": (10,)}
    if not (isinstance(params, dict) and set(params) == set(shapes)):
        raise FAIL("init_keys", want=sorted(shapes),
                   got=sorted(params) if isinstance(params, dict) else type(params).__name__)
    for k, shape in shapes.items():
        v = params[k]
        if not (isinstance(v, np.ndarray) and v.shape == shape):
            raise FAIL("init_shape", entry=repr(k), want=shape, got=getattr(v, "shape", type(v).__name__))
        if v.dtype != np.float64:
            raise FAIL("init_dtype", entry=repr(k), dtype=v.dtype)
    for k in ("b1", "b2"):
        if not np.all(params[k] == 0):
            raise FAIL("init_bias_not_zero", entry=repr(k))
    for k in ("W1", "W2"):
        w = params[k]
        if np.unique(w).size <= 1:
            raise FAIL("init_symmetric", entry=repr(k))
        if not w.std() <= 0.5:
            raise FAIL("init_too_large", entry=repr(k), std=w.std())
    wide = mod.init_params(50, 40, 30)  # 2000 and 1200 weights: a heavy tail shows in the largest
    for k in ("W1", "W2"):
        w, largest = wide[k], float(np.abs(wide[k]).max())
        if largest > max(1.0, 6 * wide[k].std()):  # a normal draw of 2000 stays within ~4.5 std
            raise FAIL("init_outliers", entry=repr(k), largest=largest, std=w.std())


@pytest.mark.points(1)
def test_init_params_seed(mod):
    np.random.seed(123)
    a = mod.init_params(6, 5, 4, seed=7)
    np.random.seed(456)
    b = mod.init_params(6, 5, 4, seed=7)
    c = mod.init_params(6, 5, 4, seed=8)
    if np.unique(a["W1"]).size <= 1:
        raise FAIL("init_not_random")
    for k in ("W1", "W2"):
        if not np.array_equal(a[k], b[k]):
            raise FAIL("init_seed_not_repeatable", entry=k)
    if np.array_equal(a["W1"], c["W1"]):
        raise FAIL("init_seed_ignored")
