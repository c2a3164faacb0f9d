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
from grader.checks.plots import check_drawn, check_existing_folder, check_png, figures_saved, folder_exists
from grader.checks.signatures import defaults_failure, started
from grader.core import failures
from grader.run.plain import plain as plain_value

FAIL = failures.table(__file__)

# ---------------------------------------------------------------- add_gaussian_noise

def base_tensor(shape, device, dtype=torch.float32, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.randn(*shape, generator=g, dtype=torch.float64).to(device=device, dtype=dtype)


def noisy(mod, x: torch.Tensor, std: float, generator=None) -> torch.Tensor:
    before = x.clone()
    with HostFactories():  # noise drawn without device=x.device fails here as it would on a GPU
        placed = mod.add_gaussian_noise.__wrapped__(on_device(x), std=std, generator=generator)
    out = plain_value(placed)  # the value as a plain tensor; `placed` still tells where it lives
    if not torch.equal(x, before):
        raise FAIL("noise_changed_input")
    if not isinstance(out, torch.Tensor):
        raise FAIL("noise_not_tensor", type=type(out).__name__)
    if issubclass(type(placed), Unmoved):
        raise FAIL("noise_on_host")
    return out


@pytest.mark.points(2)
def test_noise_keeps_shape_dtype_device_and_input(mod, device):
    for shape in [(3, 1, 28, 28), (5,), (2, 7)]:
        for dtype in (torch.float32, torch.float64, torch.float16, torch.bfloat16):  # float32 noise would promote the halves
            x = base_tensor(shape, device, dtype)
            out = noisy(mod, x, 0.5)
            if tuple(out.shape) != shape:
                raise FAIL("noise_shape", shape=shape, got=tuple(out.shape))
            if out.dtype != dtype:
                raise FAIL("noise_dtype", dtype=dtype, got=out.dtype)
            if out.device.type != x.device.type:
                raise FAIL("noise_device", device=x.device, got=out.device)
            if torch.equal(out, x):
                raise FAIL("noise_not_added")


@pytest.mark.points(2)
def test_noise_has_mean_zero_and_the_requested_std(mod, device):
    x = base_tensor((1000, 1000), device)
    outs = []
    for shifted in (x, x + 3):
        torch.manual_seed(0)
        outs.append(noisy(mod, shifted, 0.5, torch.Generator(device=device).manual_seed(0)))
    if torch.allclose(outs[0], outs[1]):
        raise FAIL("noise_ignores_x")
    for std in (0.5, 2.0):
        torch.manual_seed(0)
        diff = (noisy(mod, x, std) - x).double()
        mean, got = diff.mean().item(), diff.std().item()
        if not abs(mean) < 0.01 * std:
            raise FAIL("noise_mean", std=std, mean=mean)
        if not math.isclose(got, std, rel_tol=0.02):
            why = FAIL("scale_by_std")
            if math.isclose(got, std ** 2, rel_tol=0.02):
                why = FAIL("scaled_by_variance")
            elif math.isclose(got, math.sqrt(std), rel_tol=0.02):
                why = FAIL("scaled_by_sqrt_std")
            elif math.isclose(got, 1.0, rel_tol=0.02):
                why = FAIL("std_ignored")
            raise FAIL("noise_std", std=std, got=got, why=why)
        within = (diff.abs() < std).double().mean().item()
        if not abs(within - 0.6827) < 0.01:
            raise FAIL("noise_not_gaussian", within=100 * within)
    out = noisy(mod, x, 0.0)
    if not torch.equal(out, x):
        raise FAIL("std_zero_adds_noise")


@pytest.mark.points(1)
def test_noise_is_repeatable_with_a_generator(mod, device):
    x = base_tensor((4, 1, 28, 28), device)

    def generator(seed: int) -> torch.Generator:
        return torch.Generator(device=device).manual_seed(seed)

    torch.manual_seed(1)
    first = noisy(mod, x, 0.3, generator(123))
    torch.manual_seed(2)
    second = noisy(mod, x, 0.3, generator(123))
    if not torch.equal(first, second):
        raise FAIL("generator_ignored")
    other = noisy(mod, x, 0.3, generator(124))
    if torch.equal(first, other):
        raise FAIL("generator_reseeded")
    torch.manual_seed(7)
    a = noisy(mod, x, 0.3)
    b = noisy(mod, x, 0.3)
    torch.manual_seed(7)
    c = noisy(mod, x, 0.3)
    if torch.equal(a, b):
        raise FAIL("same_noise_every_call")
    if not torch.equal(a, c):
        raise FAIL("global_generator_unused")


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
DROPOUT_TABLE = {0.0: 97.0, 0.2: 97.5, 0.5: 96.8}  # a sweep that starts at 0: no log axis, no ratio max / min


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
            raise FAIL("sweep_needs_len", error=exc) from exc
        if not probe.calls:
            raise FAIL("sweep_never_trained")
        if sorted(probe.calls) == sorted(values) and probe.calls != list(values):
            raise FAIL("sweep_order", calls=probe.calls, values=list(values))
        missing = [v for v in values if v not in probe.calls]
        if missing:
            raise FAIL("sweep_values_skipped", missing=missing, values=list(values))
        if probe.calls != list(values):
            raise FAIL("sweep_call_count", count=len(probe.calls), calls=probe.calls, values=list(values))
        if not isinstance(results, list):
            raise FAIL("sweep_not_list", type=type(results).__name__)
        if kind is one_pass and len(results) == 0:
            raise FAIL("sweep_generator_consumed", count=len(values))
        if len(results) != len(values):
            raise FAIL("sweep_result_count", got=len(results), count=len(values))
        for i, result in enumerate(results):
            if not (isinstance(result, dict) and "value" in result and "accuracy" in result):
                raise FAIL("sweep_result_not_dict", i=i, result=result)
        got = [r["value"] for r in results]
        if got != list(values):
            raise FAIL("sweep_results_reordered", got=got, values=list(values))
        for value, result in zip(values, results):
            if result["accuracy"] != table[value]:
                raise FAIL("sweep_accuracy_wrong", stored=result["accuracy"], value=value, returned=table[value])


def sweep_results(table: dict) -> list[dict]:
    return [{"value": v, "accuracy": a} for v, a in table.items()]


def call_plot(mod, results, path: Path, xlabel: str):
    try:
        return mod.plot_sweep(results, path, xlabel)
    except FileExistsError as exc:
        raise folder_exists("plot_sweep", path, exc) from exc
    except FileNotFoundError as exc:
        raise FAIL("folders_not_created", path=path, error=exc) from exc


@pytest.mark.points(1)
def test_plot_sweep_writes_png(mod, tmp_path):
    path = tmp_path / "figures" / "sweep 1" / "hidden.png"
    result = call_plot(mod, sweep_results(HIDDEN_TABLE), path, "hidden units")
    check_png("plot_sweep", path, result)
    check_existing_folder("plot_sweep", lambda again: call_plot(mod, sweep_results(HIDDEN_TABLE), again, "hidden units"),
                          path.parent)


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
    if not saved:
        raise FAIL("no_figure_saved")
    fig = saved[-1]
    check_drawn(fig, "plot_sweep")
    axes = [ax for ax in fig.axes if shows_points(ax, values, accuracies)]
    if not axes:
        flipped = [ax for ax in fig.axes if shows_points_flipped(ax, values, accuracies)]
        raise FAIL("sweep_not_plotted", accuracies=accuracies, values=values,
                   hint=FAIL("accuracies_on_x") if flipped else "")
    labels = [ax.get_xlabel() for ax in axes]
    if not any("learning rate" in label for label in labels):
        raise FAIL("xlabel_wrong", label=labels[0])
    try:
        call_plot(mod, sweep_results(DROPOUT_TABLE), tmp_path / "dropout.png", "dropout")
    except Exception as exc:  # any crash on a 0 in the values is this mistake
        raise FAIL("sweep_with_zero_crashed", values=list(DROPOUT_TABLE), kind=type(exc).__name__, error=exc) from exc
    if not any(shows_points(ax, list(DROPOUT_TABLE), list(DROPOUT_TABLE.values())) for ax in saved[-1].axes):
        raise FAIL("sweep_not_plotted", accuracies=list(DROPOUT_TABLE.values()), values=list(DROPOUT_TABLE), hint="")


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
    started(lambda: mod.add_gaussian_noise(torch.zeros(1)))  # a stub is "not started"; other errors are other tests' to report
    failure = defaults_failure([(mod.add_gaussian_noise, "add_gaussian_noise", {"std": 0.1, "generator": None}),
                                (mod.augment_transform, "augment_transform", {"max_rotation": 15.0, "noise_std": 0.1})])
    if failure is not None:
        raise failure
