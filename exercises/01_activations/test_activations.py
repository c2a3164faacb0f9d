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

FUNCTIONS = ["relu", "sigmoid", "tanh", "relu_grad", "sigmoid_grad", "tanh_grad"]


def trusted_sigmoid(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1 + np.tanh(np.asarray(x, dtype=np.float64) / 2))


def central_difference(f, x: np.ndarray, h: float = 1e-6) -> np.ndarray:
    return (f(x + h) - f(x - h)) / (2 * h)


def strict_problem(f, x: np.ndarray) -> str | None:
    """The overflow, invalid value or RuntimeWarning f(x) raises under strict NumPy settings, or the
    overflow it hides from them (an exponential that returned inf under the learner's np.errstate), or None."""
    with overflows_seen(getattr(inspect.unwrap(f), "__globals__", {})) as hidden, warnings.catch_warnings(), \
            np.errstate(over="raise", invalid="raise", divide="raise"):
        warnings.simplefilter("error", RuntimeWarning)
        try:
            f(x.copy())
        except (FloatingPointError, RuntimeWarning, OverflowError) as exc:
            return str(exc) or type(exc).__name__
    if hidden:
        return (f"{hidden[0]}, an overflow hidden rather than avoided: np.errstate, np.seterr or a warnings filter "
                "silences the warning, but the exponential still overflows")
    return None


PROBES = (-1e4, -1000.0, -100.0, 100.0, 1000.0, 1e4)


def overflow_report(f, name: str, seen_in: type = np.float32) -> str | None:
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
        return (f"{name} is silent in float64 but overflows in float32 ({bad[(np.float32, v)]} at x = {v:g}): a bound that is safe in float64 but not in float32 (such as clipping to +-500) still "
                "overflows, because float32's largest number is about 3.4e38, so np.exp(x) is inf in float32 from "
                "x = 88.7 on. Keep every exponent at or below about 88 (e.g. clip to +-80), or exponentiate only -|x|")
    if name == "tanh":
        v = wide[-1]
        return (f"tanh overflows at x = {v:g} ({bad[(np.float64, v)]}): e^x or e^-x is inf "
                "once |x| > ~709 (~88.7 in float32), and inf / inf is NaN. Use a form with no large exponent: "
                "np.tanh, or 2 * sigmoid(2x) - 1 with a stable sigmoid")
    if wide[0] < 0 < wide[-1]:
        return (f"{name} overflows both for x = {wide[0]:g} and for x = {wide[-1]:g} ({bad[(np.float64, wide[0])]}), "
                "so each of your formulas is used on the sign it cannot handle. np.where(x >= 0, a, b) evaluates both "
                "branches a and b on EVERY element before it chooses, so the branch meant for the other sign still "
                "exponentiates a large positive number. Compute e = np.exp(-np.abs(x)) once and build both branches "
                "from it, so no exponent is ever positive")
    v = wide[0] if wide[0] < 0 else wide[-1]
    return (f"{name} overflows at x = {v:g} ({bad[(np.float64, v)]}): the formula takes exp of {abs(v):g} there, "
            "and exp of a number above ~709 is inf in float64 (above ~88.7 in float32). For that sign use the "
            "form whose exponent is -|x|, e.g. e^x / (1 + e^x) for x < 0 (a mask with np.where does not help: "
            "it still evaluates the overflowing branch everywhere)")


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


def inherited_fault(mod, name: str, trusted, calls: list) -> str | None:
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
                return f"tanh calls your sigmoid and inherits its fault: {fault}"
        if strict_problem(getattr(mod, name), x):
            return overflow_report(getattr(mod, name), name, x.dtype) or f"{name} overflows on the inputs it was given"
        got = quietly(getattr(mod, name), x)
        if got.shape != x.shape or not np.allclose(got, trusted(x), rtol=1e-6, atol=1e-9):
            return f"{name} itself gives wrong values (its own test says how)"
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
    assert out.shape == mixed.shape, f"relu changed the shape: {mixed.shape} in, {out.shape} out"
    if not np.all(out[negative] == 0):
        i = int(np.argmax(out[negative] != 0))
        x, y = mixed[negative][i], out[negative][i]
        slopes = out[negative] / mixed[negative]
        leaky = np.allclose(slopes, slopes[0]) and 0 < slopes[0] < 1
        raise AssertionError(f"relu of negative inputs must be 0, got relu({x:.3f}) = {y:.4f}"
                             + (f": a slope of {slopes[0]:g} below zero is leaky ReLU, not ReLU" if leaky else ""))
    assert np.allclose(out[~negative], mixed[~negative]), "relu must return x unchanged where x > 0"


@pytest.mark.points(1)
@pytest.mark.parametrize("shape, dtype", [((7,), np.float32), ((2, 3, 4), np.float64)])
def test_functions_are_pure_and_keep_shape(mod, shape, dtype):
    x = np.random.default_rng(1).normal(0, 2, size=shape).astype(dtype)
    before = x.copy()
    for name in FUNCTIONS:
        out = np.asarray(getattr(mod, name)(x))
        assert np.array_equal(x, before), f"{name}(x) modified its input: compute into a new array instead of writing into x"
        assert out.shape == x.shape, f"{name} changed the shape: {x.shape} in, {out.shape} out"
        assert np.issubdtype(out.dtype, np.floating), f"{name} must return floats, got dtype {out.dtype}"
        assert x.dtype != np.float64 or out.dtype == np.float64, (
            f"{name} turned float64 input into {out.dtype}: that throws away half the digits; keep the "
            "input's precision (do not convert to float32)")


@pytest.mark.points(1)
def test_sigmoid_values(mod, mixed):
    out = quietly(mod.sigmoid, mixed)
    want = trusted_sigmoid(mixed)
    assert out.shape == mixed.shape, f"sigmoid changed the shape: {mixed.shape} in, {out.shape} out"
    if not np.allclose(out, want, rtol=1e-6, atol=1e-9):
        i = worst(out, want)
        hint = "the formula is 1 / (1 + e^-x)"
        if np.allclose(out, 1 - want, rtol=1e-6, atol=1e-9):
            hint = "that is sigmoid(-x): the exponent is -x, 1 / (1 + e^-x)"
        raise AssertionError(f"sigmoid is off: sigmoid({mixed.flat[i]:.3f}) should be {want.flat[i]:.6f}, "
                             f"got {out.flat[i]:.6f}; {hint}")
    assert np.isclose(float(quietly(mod.sigmoid, np.array([0.0]))[0]), 0.5), "sigmoid(0) must be 0.5"


@pytest.mark.points(1)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_sigmoid_is_stable(mod, dtype):
    x = np.concatenate([np.linspace(-1e4, 1e4, 2001), [-1000.0, -100.0, 100.0, 1000.0]]).astype(dtype)
    problem = strict_problem(mod.sigmoid, x)
    if problem:
        pytest.fail(overflow_report(mod.sigmoid, "sigmoid", dtype) or f"sigmoid(x) for large |x| raised {problem}")
    out = quietly(mod.sigmoid, x)
    nan = x[np.isnan(out)]
    assert not nan.size, (f"sigmoid returned NaN for x = {nan[0]:g} (inf / inf or 0 * inf): exponentiate "
                          "only -|x|, so no intermediate value is infinite")
    assert np.all((out >= 0) & (out <= 1)), "sigmoid must stay within [0, 1]"
    want = trusted_sigmoid(x)
    if not np.allclose(out, want, atol=1e-6):
        i = worst(out, want)
        mirrored = "; that is sigmoid(-x)" if np.allclose(out, 1 - want, atol=1e-6) else ""
        raise AssertionError(f"sigmoid is wrong for large |x|: sigmoid({x[i]:g}) should be {want[i]:.6g}, got "
                             f"{out[i]:.6g} (sigmoid(-1000) is ~0 and sigmoid(1000) ~1){mirrored}")


@pytest.mark.points(1)
def test_tanh_values_and_stability(mod, mixed):
    out = quietly(mod.tanh, mixed)
    if out.shape != mixed.shape or not np.allclose(out, np.tanh(mixed), atol=1e-7):
        with watching(mod, "sigmoid") as used:
            quietly(mod.tanh, mixed)
        fault = inherited_fault(mod, "sigmoid", trusted_sigmoid, used)
        assert not fault, f"tanh calls your sigmoid and inherits its fault: {fault}. Fix sigmoid first"
        shift = out - np.tanh(mixed) if out.shape == mixed.shape else np.array([np.nan])
        offset = (f": it is tanh(x) + {shift.flat[0]:.4g} everywhere, off by a constant (2 * sigmoid(2x) - 1 without "
                  "its - 1 gives tanh(x) + 1)" if np.allclose(shift, shift.flat[0]) else "")
        raise AssertionError(f"tanh is off: tanh(x) = (e^x - e^-x) / (e^x + e^-x), ranging over (-1, 1){offset}")
    for dtype in (np.float64, np.float32):
        big = np.array(PROBES, dtype=dtype)
        with watching(mod, "sigmoid") as used:
            problem = strict_problem(mod.tanh, big)
        if problem:
            fault = inherited_fault(mod, "sigmoid", trusted_sigmoid, used)
            assert not fault, f"tanh calls your sigmoid and inherits its fault: {fault}"
            pytest.fail(overflow_report(mod.tanh, "tanh", dtype) or f"tanh(x) for large |x| raised {problem}")
        assert np.allclose(quietly(mod.tanh, big), np.sign(big)), "tanh must approach -1 and 1 for large |x|"


@pytest.mark.points(1)
def test_relu_grad(mod):
    x = np.array([-3.0, -1e-3, 0.0, 1e-3, 2.5])
    out = np.asarray(mod.relu_grad(x.copy()), dtype=np.float64)
    hint = " (the slope at exactly 0 is taken as 0: use x > 0, not x >= 0)" if out.tolist() == [0, 0, 1, 1, 1] else ""
    assert np.array_equal(out, [0, 0, 0, 1, 1]), (
        f"relu_grad({x.tolist()}) should be [0, 0, 0, 1, 1] (1 where x > 0, else 0), got {out.tolist()}{hint}")


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
    assert not fault, (f"{name} calls your {base}, so it inherits the fault of your {base}: {fault}. "
                       f"Fix {base} first; {name} follows")
    if not ok:
        i = worst(out, expected) if out.shape == x.shape else 0
        raise AssertionError(f"{name} does not match the slope of {base}: at x={x.flat[i]:.3f} the slope is "
                             f"{expected.flat[i]:.5f}, got {out.flat[i] if out.shape == x.shape else out.shape}; "
                             f"{formula}")
    assert not problem, (f"{name} overflowed for |x| = 1e4 ({problem}) although your {base} is stable: build it "
                         f"from {base}(x) instead of a separate exp")
    assert np.allclose(far_out, 0), f"{name} must be ~0 (not NaN) for |x| = 1e4, got {far_out.tolist()}"


@pytest.mark.points(1)
def test_sigmoid_grad(mod, mixed):
    _check_derivative(mod, "sigmoid_grad", "sigmoid", trusted_sigmoid, mixed, "sigma'(x) = sigma(x) * (1 - sigma(x))")


@pytest.mark.points(1)
def test_tanh_grad(mod, mixed):
    _check_derivative(mod, "tanh_grad", "tanh", np.tanh, mixed, "tanh'(x) = 1 - tanh(x)^2")
