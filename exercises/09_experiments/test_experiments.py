"""Tests of 09_experiments/experiments.py (bonus): add_gaussian_noise, run_sweep and plot_sweep.

Each failure names the cause and the fix. "not started" means the test reached a stub's
NotImplementedError; "blocked" means a test it needs (see @needs) has not passed yet, so fix that one
first. Hints: `grader hint 09`.
"""
from __future__ import annotations

import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest
import torch

from grader.checks.devices import HostFactories, Unmoved, on_device
from grader.checks.plots import check_drawn, check_png, figures_saved
from grader.checks.signatures import default_problems
from grader.run.plain import plain as plain_value

# ---------------------------------------------------------------- add_gaussian_noise

def base_tensor(shape, device, dtype=torch.float32, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.randn(*shape, generator=g, dtype=torch.float64).to(device=device, dtype=dtype)


def noisy(mod, x: torch.Tensor, std: float, generator=None) -> torch.Tensor:
    before = x.clone()
    with HostFactories():  # noise drawn without device=x.device fails here as it would on a GPU
        placed = mod.add_gaussian_noise.__wrapped__(on_device(x), std=std, generator=generator)
    out = plain_value(placed)  # the value as a plain tensor; `placed` still tells where it lives
    assert torch.equal(x, before), (
        "add_gaussian_noise changed its input x in place (x += noise, x.add_(...), x.normal_(...)): "
        "leave x alone and return a new tensor, x + std * noise")
    assert isinstance(out, torch.Tensor), f"add_gaussian_noise returned {type(out).__name__}, expected a tensor"
    assert not issubclass(type(placed), Unmoved), (
        "add_gaussian_noise returned a tensor on the host (made without device=, or brought back with .cpu()) "
        "for an x on the device: on a GPU the result would change device; keep it on x's device")
    return out


@pytest.mark.points(2)
def test_noise_keeps_shape_dtype_device_and_input(mod, device):
    for shape in [(3, 1, 28, 28), (5,), (2, 7)]:
        for dtype in (torch.float32, torch.float64):
            x = base_tensor(shape, device, dtype)
            out = noisy(mod, x, 0.5)
            assert tuple(out.shape) == shape, (
                f"add_gaussian_noise turned a tensor of shape {shape} into shape {tuple(out.shape)}: draw one "
                "noise value per element, with the shape of x (torch.randn(x.shape, ...) or torch.randn_like(x))")
            assert out.dtype == dtype, (
                f"add_gaussian_noise turned a {dtype} tensor into {out.dtype}: draw the noise with dtype=x.dtype")
            assert out.device.type == x.device.type, (
                f"add_gaussian_noise moved a tensor from {x.device} to {out.device}: draw the noise with "
                "device=x.device")
            assert not torch.equal(out, x), "add_gaussian_noise(x, std=0.5) returned x unchanged: add the noise"


@pytest.mark.points(2)
def test_noise_has_mean_zero_and_the_requested_std(mod, device):
    x = base_tensor((1000, 1000), device)
    outs = []
    for shifted in (x, x + 3):
        torch.manual_seed(0)
        outs.append(noisy(mod, shifted, 0.5, torch.Generator(device=device).manual_seed(0)))
    assert not torch.allclose(outs[0], outs[1]), (
        "add_gaussian_noise gave the same result for x and for x + 3 (same seed): the result ignores x, as if "
        "it returned the noise alone. Return x + std * noise")
    for std in (0.5, 2.0):
        torch.manual_seed(0)
        diff = (noisy(mod, x, std) - x).double()
        mean, got = diff.mean().item(), diff.std().item()
        assert abs(mean) < 0.01 * std, (
            f"add_gaussian_noise(x, std={std}) added noise of mean {mean:.3f} instead of 0: draw it from the "
            "standard normal distribution, torch.randn (torch.rand is uniform on [0, 1) and has mean 0.5)")
        if not math.isclose(got, std, rel_tol=0.02):
            why = "multiply the standard normal noise by std"
            if math.isclose(got, std ** 2, rel_tol=0.02):
                why = "you scaled the noise by std**2, the variance: multiply torch.randn(...) by std itself"
            elif math.isclose(got, math.sqrt(std), rel_tol=0.02):
                why = "you scaled the noise by sqrt(std): multiply torch.randn(...) by std itself"
            elif math.isclose(got, 1.0, rel_tol=0.02):
                why = "the noise ignores std: multiply torch.randn(...) by std"
            raise AssertionError(f"add_gaussian_noise(x, std={std}) added noise whose standard deviation is "
                                 f"{got:.3f}, expected {std}: {why}")
        within = (diff.abs() < std).double().mean().item()
        assert abs(within - 0.6827) < 0.01, (
            f"{100 * within:.1f}% of the noise lies within one std of 0, but for Gaussian noise it is 68.3%: "
            "draw the noise with torch.randn (normal distribution), not torch.rand (uniform)")
    out = noisy(mod, x, 0.0)
    assert torch.equal(out, x), "add_gaussian_noise(x, std=0) must return values equal to x: no noise at all"


@pytest.mark.points(1)
def test_noise_is_repeatable_with_a_generator(mod, device):
    x = base_tensor((4, 1, 28, 28), device)

    def generator(seed: int) -> torch.Generator:
        return torch.Generator(device=device).manual_seed(seed)

    torch.manual_seed(1)
    first = noisy(mod, x, 0.3, generator(123))
    torch.manual_seed(2)
    second = noisy(mod, x, 0.3, generator(123))
    assert torch.equal(first, second), (
        "two calls with generators seeded alike (torch.Generator().manual_seed(123)) gave different noise: "
        "draw the noise from the generator you are given, torch.randn(x.shape, generator=generator, ...)")
    other = noisy(mod, x, 0.3, generator(124))
    assert not torch.equal(first, other), (
        "generators seeded differently gave the same noise: draw the noise from the generator you are given "
        "and do not re-seed anything inside add_gaussian_noise")
    torch.manual_seed(7)
    a = noisy(mod, x, 0.3)
    b = noisy(mod, x, 0.3)
    torch.manual_seed(7)
    c = noisy(mod, x, 0.3)
    assert not torch.equal(a, b), (
        "two calls in a row without a generator added the same noise: draw new noise on every call "
        "(do not create a freshly seeded generator inside the function)")
    assert torch.equal(a, c), (
        "with generator=None the noise must come from torch's global generator, so that torch.manual_seed "
        "makes it repeatable: use torch.randn (not NumPy or Python's random)")


# ---------------------------------------------------------------- run_sweep and plot_sweep

class Probe:
    """A stand-in for training: records every value it is called with and returns an accuracy."""

    def __init__(self, table: dict) -> None:
        self.table = table
        self.calls: list = []

    def __call__(self, value):
        self.calls.append(value)
        return self.table[value]


LR_TABLE = {0.1: 91.5, 0.01: 97.25, 0.001: 97.9, 0.0001: 94.0}
HIDDEN_TABLE = {512: 97.8, 64: 96.9, 256: 97.95, 128: 97.6}


def one_pass(values: list):
    """The values as a generator: it can be looped over once, and has neither len() nor [i]."""
    return (value for value in values)


@pytest.mark.points(2)
def test_run_sweep_calls_each_value_once_in_order(mod):
    for table, kind in ((LR_TABLE, list), (HIDDEN_TABLE, tuple), (HIDDEN_TABLE, one_pass)):
        values = list(table)
        probe = Probe(table)
        try:
            results = mod.run_sweep(kind(values), probe)
        except TypeError as exc:
            if kind is not one_pass:
                raise
            raise AssertionError(
                f"run_sweep raised TypeError ({exc}) on values given as a generator: values may be any iterable "
                "(a list, a tuple, a range, a generator), so loop with `for value in values:` instead of "
                "len(values) or values[i]") from exc
        assert probe.calls, "run_sweep never called train_and_evaluate: call it once for every value"
        if sorted(probe.calls) == sorted(values) and probe.calls != list(values):
            raise AssertionError(
                f"run_sweep called train_and_evaluate with the values in the order {probe.calls}, expected "
                f"{list(values)}: go through the values in the order given")
        missing = [v for v in values if v not in probe.calls]
        assert not missing, (
            f"run_sweep never called train_and_evaluate with the value(s) {missing} of {list(values)}: the sweep "
            "must try every value it is given")
        assert probe.calls == list(values), (
            f"run_sweep called train_and_evaluate {len(probe.calls)} times, with {probe.calls}, for the values "
            f"{list(values)}: call it exactly once per value, in order (training is the expensive part: keep "
            "each result instead of calling again)")
        assert isinstance(results, list), f"run_sweep returned {type(results).__name__}, expected a list of dicts"
        assert not (kind is one_pass and len(results) == 0), (
            f"run_sweep returned no results for {len(values)} values passed as a generator, after training each: "
            "a generator can be looped over only once, so a second loop over values finds nothing. Loop once, "
            "or take values = list(values) first")
        assert len(results) == len(values), (
            f"run_sweep returned {len(results)} results for {len(values)} values: one dict per value")
        for i, result in enumerate(results):
            assert isinstance(result, dict) and "value" in result and "accuracy" in result, (
                f"run_sweep's result {i} is {result!r}; each must be a dict {{'value': v, 'accuracy': a}}")
        got = [r["value"] for r in results]
        assert got == list(values), (
            f"run_sweep's results hold the values {got}, expected {list(values)}: keep the results in the "
            "order of values (do not sort them, e.g. by accuracy)")
        for value, result in zip(values, results):
            assert result["accuracy"] == table[value], (
                f"run_sweep stored accuracy {result['accuracy']!r} for value {value!r}, but train_and_evaluate"
                f"({value!r}) returned {table[value]!r}: store exactly what it returned for that value")


def sweep_results(table: dict) -> list[dict]:
    return [{"value": v, "accuracy": a} for v, a in table.items()]


def call_plot(mod, results, path: Path, xlabel: str):
    try:
        return mod.plot_sweep(results, path, xlabel)
    except FileNotFoundError as exc:
        pytest.fail(f"plot_sweep could not write {path} ({exc}): create the missing folders first with "
                    "Path(path).parent.mkdir(parents=True, exist_ok=True)")


@pytest.mark.points(1)
def test_plot_sweep_writes_png(mod, tmp_path):
    path = tmp_path / "figures" / "sweep 1" / "hidden.png"
    result = call_plot(mod, sweep_results(HIDDEN_TABLE), path, "hidden units")
    check_png("plot_sweep", path, result)


def as_numbers(values) -> np.ndarray | None:
    """Floats from numbers or number-like strings (category axes, tick labels), else None."""
    try:
        return np.array([float(str(v).replace("\u2212", "-").strip("$ ")) if isinstance(v, str) else float(v)
                         for v in np.ravel(np.asarray(values, dtype=object))])
    except (TypeError, ValueError):
        return None


def tick_values(ax, positions: np.ndarray) -> np.ndarray | None:
    """The numbers written as x tick labels at ``positions`` (a categorical or relabelled axis)."""
    labels = {round(float(p), 6): label.get_text() for p, label in zip(ax.get_xticks(), ax.get_xticklabels())}
    try:
        return as_numbers([labels[round(float(p), 6)] for p in positions])
    except KeyError:
        return None


def series(ax):
    """(x, y) of every data series on ax: lines, scatter points, bars."""
    found = []
    for line in ax.get_lines():
        found.append((line.get_xdata(orig=True), np.asarray(line.get_ydata(), dtype=float)))
    for coll in ax.collections:
        offsets = np.asarray(coll.get_offsets(), dtype=float).reshape(-1, 2)
        if len(offsets):
            found.append((offsets[:, 0], offsets[:, 1]))
    bars = [p for p in ax.patches if hasattr(p, "get_height") and hasattr(p, "get_x")]
    if bars:
        found.append((np.array([b.get_x() + b.get_width() / 2 for b in bars]),
                      np.array([b.get_height() for b in bars], dtype=float)))
    return found


def shows_points(ax, values: list, accuracies: list) -> bool:
    want = sorted(zip(values, accuracies))
    for x, y in series(ax):
        if len(y) != len(values):
            continue
        for xs in (as_numbers(x), tick_values(ax, as_numbers(x)) if as_numbers(x) is not None else None):
            if xs is not None and len(xs) == len(y):
                got = sorted(zip(xs.tolist(), y.tolist()))
                if np.allclose(got, want, rtol=1e-6, atol=1e-9):
                    return True
    return False


@pytest.mark.points(1)
def test_plot_sweep_shows_accuracy_against_value(mod, tmp_path, monkeypatch):
    saved = figures_saved(monkeypatch)
    values, accuracies = list(LR_TABLE), list(LR_TABLE.values())
    call_plot(mod, sweep_results(LR_TABLE), tmp_path / "lr.png", "learning rate")
    assert saved, "plot_sweep saved no matplotlib figure: draw with fig, ax = plt.subplots() and save with fig.savefig(path)"
    fig = saved[-1]
    check_drawn(fig, "plot_sweep")
    axes = [ax for ax in fig.axes if shows_points(ax, values, accuracies)]
    if not axes:
        flipped = [ax for ax in fig.axes if shows_points_flipped(ax, values, accuracies)]
        hint = (" You put the accuracies on the x axis: plot ax.plot(values, accuracies)." if flipped else "")
        pytest.fail(
            f"no axes of the sweep plot shows the accuracies {accuracies} (y) against the values {values} (x): "
            f"draw e.g. ax.plot(values, accuracies, marker='o') with values = [r['value'] for r in results].{hint}")
    labels = [ax.get_xlabel() for ax in axes]
    assert any("learning rate" in label for label in labels), (
        f"the x axis of the sweep plot is labelled {labels[0]!r}; label it with the xlabel argument "
        "('learning rate' here): ax.set_xlabel(xlabel)")


def shows_points_flipped(ax, values: list, accuracies: list) -> bool:
    for x, _y in series(ax):
        xs = as_numbers(x)
        if xs is not None and len(xs) == len(values) and np.allclose(sorted(xs), sorted(accuracies)):
            return True
    return False


# ---------------------------------------------------------------- defaults

@pytest.mark.points(1)
def test_defaults_match_the_contract(mod):
    """add_gaussian_noise(x, std=0.1, generator=None) and augment_transform(max_rotation=15.0, noise_std=0.1):
    a caller who leaves an argument out gets the README's value."""
    try:
        mod.add_gaussian_noise(torch.zeros(1))
    except NotImplementedError:
        raise  # still the stub: "not started"
    except Exception:  # noqa: BLE001 - the noise tests report it
        pass
    problems = (default_problems(mod.add_gaussian_noise, "add_gaussian_noise", {"std": 0.1, "generator": None})
                + default_problems(mod.augment_transform, "augment_transform",
                                   {"max_rotation": 15.0, "noise_std": 0.1}))
    assert not problems, "; ".join(problems)
