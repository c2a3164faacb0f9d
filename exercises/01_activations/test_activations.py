"""Tests for 01_activations: values, stability, purity, derivatives and the plot."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

FUNCTIONS = ["relu", "sigmoid", "tanh", "relu_grad", "sigmoid_grad", "tanh_grad"]


def trusted_sigmoid(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1 + np.tanh(np.asarray(x, dtype=np.float64) / 2))


def central_difference(f, x: np.ndarray, h: float = 1e-6) -> np.ndarray:
    return (f(x + h) - f(x - h)) / (2 * h)


def call_strictly(f, x: np.ndarray) -> np.ndarray:
    """Call f turning overflow, invalid values and RuntimeWarnings into errors."""
    with warnings.catch_warnings(), np.errstate(over="raise", invalid="raise", divide="raise"):
        warnings.simplefilter("error", RuntimeWarning)
        try:
            return np.asarray(f(x))
        except (FloatingPointError, RuntimeWarning) as exc:
            name = f.__name__
            pytest.fail(f"{name}(x) overflowed for large |x| ({exc}): np.exp of a large positive "
                        f"number is inf. Rewrite {name} so that exp only ever sees non-positive numbers "
                        "(e.g. split on the sign of x, or use np.clip).")


@pytest.fixture
def mixed() -> np.ndarray:
    return np.random.default_rng(0).normal(0, 3, size=(4, 5)).astype(np.float64)


@pytest.mark.points(1)
def test_relu_values(mod, mixed):
    out = np.asarray(mod.relu(mixed))
    negative = mixed < 0
    assert out.shape == mixed.shape, f"relu changed the shape: {mixed.shape} in, {out.shape} out"
    assert np.all(out[negative] == 0), (
        f"relu of negative inputs must be 0, got e.g. relu({mixed[negative][0]:.3f}) = {out[negative][0]:.4f}"
        " (a slope below zero is leaky ReLU, not ReLU)")
    assert np.allclose(out[~negative], mixed[~negative]), "relu must return x unchanged where x > 0"


@pytest.mark.points(1)
@pytest.mark.parametrize("shape", [(7,), (2, 3, 4)])
def test_functions_are_pure_and_keep_shape(mod, shape):
    x = np.random.default_rng(1).normal(0, 2, size=shape).astype(np.float32)
    before = x.copy()
    for name in FUNCTIONS:
        out = np.asarray(getattr(mod, name)(x))
        assert np.array_equal(x, before), f"{name}(x) modified its input: compute into a new array instead of writing into x"
        assert out.shape == x.shape, f"{name} changed the shape: {x.shape} in, {out.shape} out"
        assert np.issubdtype(out.dtype, np.floating), f"{name} must return floats, got dtype {out.dtype}"


@pytest.mark.points(1)
def test_sigmoid_values(mod, mixed):
    out = np.asarray(mod.sigmoid(mixed), dtype=np.float64)
    assert np.allclose(out, trusted_sigmoid(mixed), rtol=1e-6, atol=1e-9), (
        f"sigmoid is off: sigmoid({mixed.flat[0]:.3f}) should be {trusted_sigmoid(mixed).flat[0]:.6f}, "
        f"got {out.flat[0]:.6f}; the formula is 1 / (1 + e^-x)")
    assert np.isclose(float(np.asarray(mod.sigmoid(np.array([0.0])))[0]), 0.5), "sigmoid(0) must be 0.5"


@pytest.mark.points(1)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_sigmoid_is_stable(mod, dtype):
    x = np.concatenate([np.linspace(-1e4, 1e4, 2001), [-1000.0, -100.0, 100.0, 1000.0]]).astype(dtype)
    out = call_strictly(mod.sigmoid, x).astype(np.float64)
    assert not np.any(np.isnan(out)), "sigmoid returned NaN for large |x|: check how you handle very negative x"
    assert np.all((out >= 0) & (out <= 1)), "sigmoid must stay within [0, 1]"
    assert np.allclose(out, trusted_sigmoid(x), atol=1e-6), (
        "sigmoid is wrong for large |x|: sigmoid(-1000) must be ~0 and sigmoid(1000) ~1")


@pytest.mark.points(1)
def test_tanh_values_and_stability(mod, mixed):
    assert np.allclose(np.asarray(mod.tanh(mixed)), np.tanh(mixed), atol=1e-7), (
        "tanh is off: tanh(x) = (e^x - e^-x) / (e^x + e^-x), ranging over (-1, 1)")
    big = np.array([-1e4, -1000.0, 1000.0, 1e4])
    out = call_strictly(mod.tanh, big)
    assert np.allclose(out, [-1, -1, 1, 1]), "tanh must approach -1 and 1 for large |x| (got NaN or wrong values)"


@pytest.mark.points(1)
def test_relu_grad(mod):
    x = np.array([-3.0, -1e-3, 0.0, 1e-3, 2.5])
    out = np.asarray(mod.relu_grad(x), dtype=np.float64)
    assert np.array_equal(out, [0, 0, 0, 1, 1]), (
        f"relu_grad({x.tolist()}) should be [0, 0, 0, 1, 1] (1 where x > 0, else 0), got {out.tolist()}")


@pytest.mark.points(1)
def test_sigmoid_grad(mod, mixed):
    expected = central_difference(trusted_sigmoid, mixed)
    out = np.asarray(mod.sigmoid_grad(mixed), dtype=np.float64)
    assert np.allclose(out, expected, atol=1e-6), (
        f"sigmoid_grad does not match the slope of sigmoid: at x={mixed.flat[0]:.3f} the slope is "
        f"{expected.flat[0]:.5f}, got {out.flat[0]:.5f}; sigma'(x) = sigma(x) * (1 - sigma(x))")
    far = call_strictly(mod.sigmoid_grad, np.array([-1e4, 1e4]))
    assert np.allclose(far, 0), "sigmoid_grad must be ~0 (not NaN) for |x| = 1e4"


@pytest.mark.points(1)
def test_tanh_grad(mod, mixed):
    expected = central_difference(np.tanh, mixed)
    out = np.asarray(mod.tanh_grad(mixed), dtype=np.float64)
    assert np.allclose(out, expected, atol=1e-6), (
        f"tanh_grad does not match the slope of tanh: at x={mixed.flat[0]:.3f} the slope is "
        f"{expected.flat[0]:.5f}, got {out.flat[0]:.5f}; tanh'(x) = 1 - tanh(x)^2")


def _identify(x: np.ndarray, y: np.ndarray) -> str | None:
    """Which activation the curve (x, y) draws, if any."""
    refs = {"ReLU": np.maximum(x, 0), "Sigmoid": trusted_sigmoid(x), "Tanh": np.tanh(x)}
    return next((name for name, ref in refs.items() if len(x) > 10 and np.allclose(y, ref, atol=1e-3)), None)


@pytest.mark.points(2)
def test_plot_activations(mod, tmp_path, monkeypatch):
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    saved: list[Figure] = []
    original = Figure.savefig

    def spy(self, *args, **kwargs):
        saved.append(self)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(Figure, "savefig", spy)
    target = tmp_path / "new" / "folder" / "activations.png"
    result = mod.plot_activations(target)
    assert result is not None and __import__("pathlib").Path(result) == target, "plot_activations must return the path it wrote"
    assert target.is_file(), "plot_activations did not write the file (create the parent folders first)"
    assert target.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", "plot_activations must write a PNG image"
    assert saved, "no matplotlib figure was saved: use fig.savefig(path) or plt.savefig(path)"
    panels = [ax for ax in saved[-1].axes if ax.lines]
    found = set()
    for ax in panels:
        for line in ax.lines:
            x, y = (np.asarray(v, dtype=np.float64) for v in line.get_data())
            name = _identify(x, y)
            if name and x.min() <= -4.9 and x.max() >= 4.9:
                found.add(name)
    assert len(panels) >= 3 and found == {"ReLU", "Sigmoid", "Tanh"}, (
        f"expected three panels drawing ReLU, Sigmoid and Tanh over x in [-5, 5]; found {len(panels)} "
        f"panel(s) with curves for {sorted(found) or 'none of them'}")
