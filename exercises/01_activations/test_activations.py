"""Tests of 01_activations/activations.py: relu, sigmoid, tanh and their _grad derivatives (the plot: test_activations_plot.py).

Each failure names the cause and the fix. "not started" means the test reached a stub's
NotImplementedError. No test here needs another, so none is "blocked"; but a derivative that calls
your own activation fails with that activation's fault, so fix the activation first. Reference values
are computed here in NumPy float64. Hints: `grader hint 01`.
"""
from __future__ import annotations

import contextlib
import inspect
import warnings
from collections.abc import Iterator

import numpy as np
import pytest

from grader.checks.numerics import overflows_seen, quietly
from grader.core import failures
from grader.core.failures import Failure

FAIL = failures.table(__file__)
FUNCTIONS = ["relu", "sigmoid", "tanh", "relu_grad", "sigmoid_grad", "tanh_grad"]


def trusted_sigmoid(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1 + np.tanh(np.asarray(x, dtype=np.float64) / 2))


def central_difference(f, x: np.ndarray, h: float = 1e-6) -> np.ndarray:
    return (f(x + h) - f(x - h)) / (2 * h)


def strict_problem(f, x: np.ndarray) -> str | Failure | None:
    """The overflow, invalid value or RuntimeWarning f(x) raises under strict NumPy settings (NumPy's own
    words), or the overflow it hides from them (an exponential that returned inf under the learner's
    np.errstate), or None."""
    with overflows_seen(getattr(inspect.unwrap(f), "__globals__", {})) as hidden, warnings.catch_warnings(), \
            np.errstate(over="raise", invalid="raise", divide="raise"):
        warnings.simplefilter("error", RuntimeWarning)
        try:
            f(x.copy())
        except (FloatingPointError, RuntimeWarning, OverflowError) as exc:
            return str(exc) or type(exc).__name__
    if hidden:
        return FAIL("overflow_hidden", call=hidden[0])
    return None


PROBES = (-1e4, -1000.0, -100.0, 100.0, 1000.0, 1e4)


def overflow_report(f, name: str, seen_in: type = np.float32) -> Failure | None:
    """Why f overflows for large |x|, read from where it does (which sign, which dtype), or None.

    The diagnosis is by behaviour: a textbook formula overflows on one side only; a formula that
    computes both branches of a sign split (np.where) overflows on both sides; a cut-off that is
    safe in float64 (like clipping to +-500) still overflows in float32, whose exp is inf above ~88.7.
    ``seen_in`` is the dtype the caller saw the problem in: a float32-only diagnosis cannot explain
    a float64 problem, so it gives None then.
    """
    bad = {(dtype, v): problem for dtype in (np.float64, np.float32) for v in PROBES
           if (problem := strict_problem(f, np.array([v], dtype=dtype)))}
    if not bad:
        return None
    wide = sorted(v for dtype, v in bad if dtype is np.float64)
    if not wide:
        if np.dtype(seen_in) == np.float64:
            return None
        v = min(bad, key=lambda key: abs(key[1]))[1]
        return FAIL("overflow_float32_only", name=name, problem=bad[(np.float32, v)], x=v)
    if name == "tanh":
        v = wide[-1]
        return FAIL("tanh_overflows", x=v, problem=bad[(np.float64, v)])
    if wide[0] < 0 < wide[-1]:
        return FAIL("overflow_both_signs", name=name, low=wide[0], high=wide[-1], problem=bad[(np.float64, wide[0])])
    v = wide[0] if wide[0] < 0 else wide[-1]
    return FAIL("overflow_one_sign", name=name, x=v, problem=bad[(np.float64, v)], exponent=abs(v))


@contextlib.contextmanager
def watching(mod, name: str) -> Iterator[list]:
    """Record the calls the learner's module makes to its own function `name` inside the block."""
    original = getattr(mod, name)
    calls: list = []

    def spy(*args, **kwargs):
        calls.append(args)
        return original(*args, **kwargs)

    setattr(mod, name, spy)
    try:
        yield calls
    finally:
        setattr(mod, name, original)


def inherited_fault(mod, name: str, trusted, calls: list) -> Failure | None:
    """What is wrong with the learner's `name` on the very inputs it was called with, or None.

    ``calls`` holds the arguments recorded by ``watching``: an overflow there, or values off from
    ``trusted``, is a fault the calling function inherits.
    """
    for args in calls:
        x = np.array(args[0], dtype=np.float64 if np.asarray(args[0]).dtype.kind in "iub" else None)
        if name == "tanh":  # a tanh built on sigmoid passes sigmoid's fault on
            with watching(mod, "sigmoid") as used:
                quietly(mod.tanh, x)
            fault = inherited_fault(mod, "sigmoid", trusted_sigmoid, used)
            if fault:
                return FAIL("tanh_inherits_sigmoid_fault", fault=fault)
        if strict_problem(getattr(mod, name), x):
            return overflow_report(getattr(mod, name), name, x.dtype) or FAIL("overflows_on_given_inputs", name=name)
        got = quietly(getattr(mod, name), x)
        if got.shape != x.shape or not np.allclose(got, trusted(x), rtol=1e-6, atol=1e-9):
            return FAIL("own_values_wrong", name=name)
    return None


def worst(got: np.ndarray, want: np.ndarray) -> int:
    """Flat index of the largest disagreement (NaN counts as the largest)."""
    gap = np.abs(got - want).ravel()
    return int(np.argmax(np.where(np.isnan(gap), np.inf, gap)))


@pytest.fixture
def mixed() -> np.ndarray:
    return np.random.default_rng(0).normal(0, 3, size=(4, 5)).astype(np.float64)


@pytest.mark.points(1)
def test_relu_values(mod, mixed):
    out = np.asarray(mod.relu(mixed.copy()), dtype=np.float64)
    negative = mixed < 0
    if out.shape != mixed.shape:
        raise FAIL("shape_changed", name="relu", shape_in=mixed.shape, shape_out=out.shape)
    if not np.all(out[negative] == 0):
        i = int(np.argmax(out[negative] != 0))
        x, y = mixed[negative][i], out[negative][i]
        slopes = out[negative] / mixed[negative]
        if np.allclose(slopes, slopes[0]) and 0 < slopes[0] < 1:
            raise FAIL("relu_leaky", x=x, y=y, slope=slopes[0])
        raise FAIL("relu_negative_not_zero", x=x, y=y)
    if not np.allclose(out[~negative], mixed[~negative]):
        raise FAIL("relu_positive_changed")


@pytest.mark.points(1)
@pytest.mark.parametrize("shape, dtype", [((7,), np.float32), ((2, 3, 4), np.float64)])
def test_functions_are_pure_and_keep_shape(mod, shape, dtype):
    x = np.random.default_rng(1).normal(0, 2, size=shape).astype(dtype)
    before = x.copy()
    for name in FUNCTIONS:
        out = np.asarray(getattr(mod, name)(x))
        if not np.array_equal(x, before):
            raise FAIL("input_modified", name=name)
        if out.shape != x.shape:
            raise FAIL("shape_changed", name=name, shape_in=x.shape, shape_out=out.shape)
        if not np.issubdtype(out.dtype, np.floating):
            raise FAIL("not_float", name=name, dtype=out.dtype)
        if x.dtype == np.float64 and out.dtype != np.float64:
            raise FAIL("float64_downcast", name=name, dtype=out.dtype)


@pytest.mark.points(1)
def test_sigmoid_values(mod, mixed):
    out = quietly(mod.sigmoid, mixed)
    want = trusted_sigmoid(mixed)
    if out.shape != mixed.shape:
        raise FAIL("shape_changed", name="sigmoid", shape_in=mixed.shape, shape_out=out.shape)
    if not np.allclose(out, want, rtol=1e-6, atol=1e-9):
        i = worst(out, want)
        seen = dict(x=mixed.flat[i], want=want.flat[i], got=out.flat[i])
        if np.allclose(out, 1 - want, rtol=1e-6, atol=1e-9):
            raise FAIL("sigmoid_mirrored", **seen)
        raise FAIL("sigmoid_wrong", **seen)
    if not np.isclose(float(quietly(mod.sigmoid, np.array([0.0]))[0]), 0.5):
        raise FAIL("sigmoid_at_zero")


@pytest.mark.points(1)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_sigmoid_is_stable(mod, dtype):
    x = np.concatenate([np.linspace(-1e4, 1e4, 2001), [-1000.0, -100.0, 100.0, 1000.0]]).astype(dtype)
    problem = strict_problem(mod.sigmoid, x)
    if problem:
        raise overflow_report(mod.sigmoid, "sigmoid", dtype) or FAIL("overflow_raised", name="sigmoid", problem=problem)
    out = quietly(mod.sigmoid, x)
    nan = x[np.isnan(out)]
    if nan.size:
        raise FAIL("sigmoid_nan", x=nan[0])
    if not np.all((out >= 0) & (out <= 1)):
        raise FAIL("sigmoid_out_of_range")
    want = trusted_sigmoid(x)
    if not np.allclose(out, want, atol=1e-6):
        i = worst(out, want)
        if np.allclose(out, 1 - want, atol=1e-6):
            raise FAIL("sigmoid_large_mirrored", x=x[i], want=want[i], got=out[i])
        raise FAIL("sigmoid_large_wrong", x=x[i], want=want[i], got=out[i])


@pytest.mark.points(1)
def test_tanh_values_and_stability(mod, mixed):
    out = quietly(mod.tanh, mixed)
    if out.shape != mixed.shape or not np.allclose(out, np.tanh(mixed), atol=1e-7):
        with watching(mod, "sigmoid") as used:
            quietly(mod.tanh, mixed)
        fault = inherited_fault(mod, "sigmoid", trusted_sigmoid, used)
        if fault:
            raise FAIL("tanh_values_inherit_sigmoid_fault", fault=fault)
        shift = out - np.tanh(mixed) if out.shape == mixed.shape else np.array([np.nan])
        if np.allclose(shift, shift.flat[0]):
            raise FAIL("tanh_offset", shift=shift.flat[0])
        raise FAIL("tanh_wrong")
    for dtype in (np.float64, np.float32):
        big = np.array(PROBES, dtype=dtype)
        with watching(mod, "sigmoid") as used:
            problem = strict_problem(mod.tanh, big)
        if problem:
            fault = inherited_fault(mod, "sigmoid", trusted_sigmoid, used)
            if fault:
                raise FAIL("tanh_inherits_sigmoid_fault", fault=fault)
            raise overflow_report(mod.tanh, "tanh", dtype) or FAIL("overflow_raised", name="tanh", problem=problem)
        if not np.allclose(quietly(mod.tanh, big), np.sign(big)):
            raise FAIL("tanh_not_saturating")


@pytest.mark.points(1)
def test_relu_grad(mod):
    x = np.array([-3.0, -1e-3, 0.0, 1e-3, 2.5])
    out = np.asarray(mod.relu_grad(x.copy()), dtype=np.float64)
    if out.tolist() == [0, 0, 1, 1, 1]:
        raise FAIL("relu_grad_at_zero", x=x.tolist(), got=out.tolist())
    if not np.array_equal(out, [0, 0, 0, 1, 1]):
        raise FAIL("relu_grad_wrong", x=x.tolist(), got=out.tolist())


def _check_derivative(mod, name: str, base: str, trusted, x: np.ndarray, formula: str) -> None:
    """Compare mod.<name> (the derivative of mod.<base>) with the trusted slope, at x and far out.

    A derivative built on the learner's own activation inherits that activation's faults; when
    it calls the activation and the activation is wrong, the message says so instead of blaming
    the derivative's formula.
    """
    expected = central_difference(trusted, x)
    far = np.array([-1e4, 1e4])
    with watching(mod, base) as used:
        out = quietly(getattr(mod, name), x)
        problem = strict_problem(getattr(mod, name), far)
        far_out = quietly(getattr(mod, name), far)
    ok = out.shape == x.shape and np.allclose(out, expected, atol=1e-6)
    if ok and not problem and np.allclose(far_out, 0):
        return
    fault = inherited_fault(mod, base, trusted, used)
    if fault:
        raise FAIL("derivative_inherits_fault", name=name, base=base, fault=fault)
    if not ok:
        i = worst(out, expected) if out.shape == x.shape else 0
        raise FAIL("derivative_wrong", name=name, base=base, x=x.flat[i], slope=expected.flat[i],
                   got=out.flat[i] if out.shape == x.shape else out.shape, formula=formula)
    if problem:
        raise FAIL("derivative_overflows", name=name, problem=problem, base=base)
    if not np.allclose(far_out, 0):
        raise FAIL("derivative_far_not_zero", name=name, got=far_out.tolist())


@pytest.mark.points(1)
def test_sigmoid_grad(mod, mixed):
    _check_derivative(mod, "sigmoid_grad", "sigmoid", trusted_sigmoid, mixed, "sigma'(x) = sigma(x) * (1 - sigma(x))")


@pytest.mark.points(1)
def test_tanh_grad(mod, mixed):
    _check_derivative(mod, "tanh_grad", "tanh", np.tanh, mixed, "tanh'(x) = 1 - tanh(x)^2")
