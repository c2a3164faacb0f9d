"""Tests of 03_backprop/backprop.py: numerical_gradient, relative_error and init_params.

Each failure names the cause and the fix. "not started" means the test reached a stub's
NotImplementedError; "blocked" means a test it needs (see @needs) has not passed yet, so fix that one
first. Reference values are computed here in NumPy or torch float64. Hints: `grader hint 03`.
"""
from __future__ import annotations

import warnings

import numpy as np
import pytest

from grader.checks.signatures import default_problems

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
    assert np.asarray(got).dtype == np.float64, (
        f"{call} returned dtype {np.asarray(got).dtype}: a float32 result keeps only ~7 digits, too few for a "
        "gradient check; build the result as float64 (e.g. np.zeros(x.shape))")
    got = np.asarray(got, dtype=np.float64)
    assert got.shape == x.shape, f"{call} returned shape {got.shape} for x of shape {x.shape}: one entry per element of x"
    err = float(np.abs(got - want).max())
    if err <= atol:
        return
    step = 1e-5 if h is None else h
    one_sided = np.array([(f(x + step * e) - f(x)) / step for e in np.eye(x.size).reshape(-1, *x.shape)]).reshape(x.shape)
    central = np.array([(f(x + step * e) - f(x - step * e)) / (2 * step)
                        for e in np.eye(x.size).reshape(-1, *x.shape)]).reshape(x.shape)
    moved = float(np.abs(arg - x).max())
    if h is None and (wrong := default_problems(mod.numerical_gradient, "numerical_gradient", {"h": 1e-5})):
        hint = f" This call leaves h out, and {wrong[0]}."
    elif moved > 1e-12:  # more than rounding: a perturbation left in place
        hint = (f" It also left x changed (by up to {moved:.1e}): a perturbation that is not undone moves the point "
                "where every later element is evaluated. Save old = x[i] and set x[i] = old after the two evaluations.")
    elif x.ndim > 1 and np.allclose(got, got[:, :1]) and not np.allclose(want, want[:, :1]):
        hint = (" Each row of the result holds a single number: on a 2-D array x[i] is a whole row, so a loop over "
                "range(len(x)) moves whole rows (and tmp = x[i] is a view of the row, not a saved copy). Visit every "
                "element: for i in np.ndindex(x.shape).")
    elif x.ndim > 1 and np.allclose(_flat_gradient(mod, f, x, h), want.ravel(), rtol=0, atol=atol):
        hint = (" It is right when the same x is passed flattened (1-D), so the loop does not visit every element of a "
                "2-D array: for i in np.ndindex(x.shape) does.")
    elif np.allclose(got, one_sided, rtol=0, atol=atol / 10):
        hint = (" That is the one-sided difference (f(x+h) - f(x)) / h, whose error shrinks only like h: "
                "use central differences (f(x+h) - f(x-h)) / (2h), whose error shrinks like h².")
    elif np.allclose(got, one_sided / 2, rtol=0, atol=atol / 10):
        hint = (" That is (f(x+h) - f(x)) / (2h): f(x-h) was evaluated at x itself. Either x_plus = x and x_minus = x "
                "name the same array (assignment does not copy; use x.copy()), so -= h only undid the += h, or the "
                "formula uses f(x) in place of f(x-h).")
    elif np.allclose(got, 2 * central, rtol=1e-6, atol=atol):
        hint = " It is twice too large: central differences divide by 2h, (f(x+h) - f(x-h)) / (2h)."
    else:
        hint = (" Use central differences (f(x+h) - f(x-h)) / (2h) for each element, with the h argument"
                " as the step.")
    raise AssertionError(f"{call} is off from the expected {np.round(want, 6).tolist()} by up to "
                         f"{err:.1e} (allowed {atol:.0e}); got {np.round(got, 6).tolist()}.{hint}")


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
    assert change == 0 or change > 1e-12, (
        f"numerical_gradient left x off by a rounding-size change ({change:.1e}): adding and subtracting h does "
        "not always land back on the original number; save old = x[i] and assign x[i] = old afterwards")
    assert change == 0, (
        f"numerical_gradient left x changed (largest change {change:.1e}): after evaluating f at x+h and x-h, "
        "put each element back to its saved value (old = x[i] ... x[i] = old)")


# ---------------------------------------------------------------- relative_error

@pytest.mark.points(1)
def test_relative_error_values(mod):
    a, b = np.array([1.0, 2.0, -3.0]), np.array([1.1, 2.0, -2.7])
    want = max(0.1 / 2.1, 0.3 / 5.7)
    got = mod.relative_error(a, b)
    assert isinstance(got, float), f"relative_error should return a Python float, got {type(got).__name__}"
    assert got == pytest.approx(want, rel=1e-9), (
        f"relative_error({a.tolist()}, {b.tolist()}) gave {got:.6g}, expected {want:.6g}: the largest "
        "(max) over elements of |a - b| / max(1e-8, |a| + |b|), not a sum or a mean")
    got = mod.relative_error(np.array([[1.0, 4.0]]), np.array([[-1.0, 4.0]]))
    assert got == pytest.approx(1.0), (
        f"relative_error([1, 4], [-1, 4]) gave {got:.6g}, expected 1.0: divide by |a| + |b| (absolute values "
        "first), not |a + b|")


@pytest.mark.points(1)
def test_relative_error_of_zeros(mod):
    with warnings.catch_warnings(record=True) as caught, np.errstate(divide="warn", invalid="warn"):
        warnings.simplefilter("always")
        zero = mod.relative_error(np.zeros(4), np.zeros(4))
    assert not caught and zero == 0.0, (
        f"relative_error(zeros, zeros) gave {zero!r}{' with a warning' if caught else ''}: two zero arrays "
        "agree exactly, so the answer is 0.0. Divide by max(1e-8, |a| + |b|), the 1e-8 floor keeps you from "
        "dividing 0 by 0")
    tiny = mod.relative_error(np.array([0.0]), np.array([1e-10]))  # one element: only the denominator matters
    assert tiny == pytest.approx(0.01), (
        f"relative_error([0], [1e-10]) gave {tiny:.6g}, expected 0.01 = 1e-10 / 1e-8: the denominator is "
        "max(1e-8, |a| + |b|), so differences between numbers smaller than 1e-8 count as tiny")


# ---------------------------------------------------------------- init_params

@pytest.mark.points(1)
def test_init_params(mod):
    params = mod.init_params(50, 40, 10)
    shapes = {"W1": (50, 40), "b1": (40,), "W2": (40, 10), "b2": (10,)}
    assert isinstance(params, dict) and set(params) == set(shapes), (
        f"init_params should return a dict with exactly the keys {sorted(shapes)}, got "
        f"{sorted(params) if isinstance(params, dict) else type(params).__name__}")
    for k, shape in shapes.items():
        v = params[k]
        assert isinstance(v, np.ndarray) and v.shape == shape, (
            f"init_params(50, 40, 10)[{k!r}] should be an ndarray of shape {shape}, got "
            f"{getattr(v, 'shape', type(v).__name__)}")
        assert v.dtype == np.float64, f"init_params()[{k!r}] has dtype {v.dtype}: use float64 throughout"
    for k in ("b1", "b2"):
        assert np.all(params[k] == 0), f"init_params()[{k!r}] should start at zero"
    for k in ("W1", "W2"):
        w = params[k]
        assert np.unique(w).size > 1, (
            f"init_params()[{k!r}] has all entries equal: every hidden unit would then compute and learn "
            "the same thing. Draw the weights at random to break the symmetry")
        assert w.std() <= 0.5, (
            f"init_params()[{k!r}] has standard deviation {w.std():.2f}: weights should be small, e.g. "
            "0.01 * rng.standard_normal(shape) or scaled by sqrt(2 / n_in)")


@pytest.mark.points(1)
def test_init_params_seed(mod):
    np.random.seed(123)
    a = mod.init_params(6, 5, 4, seed=7)
    np.random.seed(456)
    b = mod.init_params(6, 5, 4, seed=7)
    c = mod.init_params(6, 5, 4, seed=8)
    assert np.unique(a["W1"]).size > 1, (
        "init_params()['W1'] has all entries equal for every seed: it draws no random numbers; draw the weights from "
        "rng = np.random.default_rng(seed)")
    for k in ("W1", "W2"):
        assert np.array_equal(a[k], b[k]), (
            f"init_params(..., seed=7) gave different {k} on two calls: draw from a generator seeded with "
            "seed, e.g. rng = np.random.default_rng(seed)")
    assert not np.array_equal(a["W1"], c["W1"]), "init_params gave the same W1 for seed=7 and seed=8: use the seed argument"
