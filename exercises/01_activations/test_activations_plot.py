"""Tests of 01_activations/activations.py: plot_activations.

Each failure names the cause and the fix. "not started" means the test reached a stub's
NotImplementedError; no test here needs another, so none is "blocked". A curve is recognised by its
values at its own points (the true function's, or your own function's). Hints: `grader hint 01`.
"""
from __future__ import annotations

import contextlib
from pathlib import Path

import numpy as np
import pytest

from grader.checks.numerics import quietly

GRADES = "activations"


def trusted_sigmoid(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1 + np.tanh(np.asarray(x, dtype=np.float64) / 2))


# A drawn curve joins its points with straight lines; it may stray from the function by this share of
# the function's height over [-5, 5] (10 evenly spaced points stray at most 6%).
CURVE_TOLERANCE = 0.1


def _identify(mod, x: np.ndarray, y: np.ndarray) -> tuple[str, float] | None:
    """(name, gap) when the curve (x, y) equals an activation at its own points (the true one or the
    learner's own version); gap is how far the straight segments between the points stray from that
    function over [-5, 5], as a share of the true function's height there. None for any other curve."""
    refs = {"ReLU": (lambda v: np.maximum(v, 0), "relu"), "Sigmoid": (trusted_sigmoid, "sigmoid"),
            "Tanh": (np.tanh, "tanh")}
    grid, order = np.linspace(-5, 5, 1001), np.argsort(x)
    for name, (ref, own) in refs.items():
        for f in (ref, lambda v, own=own: quietly(getattr(mod, own), v)):
            with contextlib.suppress(Exception):  # the learner's function may fail here: the true curve decides
                if np.allclose(y, f(x), atol=1e-3):
                    gap = np.abs(np.interp(grid, x[order], y[order]) - f(grid)).max()
                    return name, float(gap / np.ptp(ref(grid)))
    return None


def _saved_elsewhere(saved: list, target: Path) -> str:
    """The file names savefig was given other than ``target`` ('' when none), quoted and joined: a file object
    counts by its .name, an in-memory buffer not at all."""
    names = [getattr(fname, "name", fname) for _, fname in saved]
    return ", ".join(sorted({repr(str(n)) for n in names if isinstance(n, (str, Path)) and Path(n) != target}))


@pytest.mark.points(2)
def test_plot_activations(mod, tmp_path, monkeypatch):
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    saved: list[tuple[Figure, object]] = []
    original = Figure.savefig

    def spy(self, *args, **kwargs):
        saved.append((self, args[0] if args else kwargs.get("fname")))
        return original(self, *args, **kwargs)

    monkeypatch.setattr(Figure, "savefig", spy)
    target = tmp_path / "new" / "folder" / "activations.png"
    try:
        result = mod.plot_activations(target)
    except OSError as exc:
        if isinstance(exc, FileNotFoundError) and not target.parent.exists():
            pytest.fail(f"plot_activations could not save into a folder that does not exist yet ({exc}): create the "
                        "parent folders first (Path(path).parent.mkdir(parents=True, exist_ok=True))")
        if elsewhere := _saved_elsewhere(saved, target):
            pytest.fail(f"plot_activations saved a figure to {elsewhere}, which is not the path it was given, and writing "
                        f"there failed ({type(exc).__name__}: {exc}): save to the path argument, fig.savefig(path)")
        raise
    assert result is not None and Path(result) == target, "plot_activations must return the path it wrote"
    if not target.is_file() and (elsewhere := _saved_elsewhere(saved, target)):
        pytest.fail(f"plot_activations saved its figure to {elsewhere}, not to the path it was given ({target}), so no "
                    "file exists there: save to the path argument, fig.savefig(path)")
    assert target.is_file(), "plot_activations did not write the file at the path it was given"
    assert target.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", "plot_activations must write a PNG image"
    assert saved, "no matplotlib figure was saved: use fig.savefig(path) or plt.savefig(path)"
    panels = [ax for ax in saved[-1][0].axes if ax.lines]
    assert len(panels) >= 3, f"plot_activations drew {len(panels)} panel(s) with curves: draw three panels, one per function"
    found, short, wide, coarse = set(), {}, {}, {}
    for ax in panels:
        for line in ax.lines:
            x, y = (np.asarray(v, dtype=np.float64).ravel() for v in line.get_data())
            if not (match := _identify(mod, x, y)):
                continue
            name, gap = match
            shown = max(x.min(), min(ax.get_xlim())), min(x.max(), max(ax.get_xlim()))  # drawn and inside the axes
            if x.min() > -4.9 or x.max() < 4.9:
                short[name] = (x.min(), x.max())
            elif shown[0] < -5.1 or shown[1] > 5.1:
                wide[name] = shown
            elif gap > CURVE_TOLERANCE:
                coarse[name] = (len(x), gap)
            else:
                found.add(name)
    if found == {"ReLU", "Sigmoid", "Tanh"}:
        return
    grid = np.linspace(-5, 5, 11)
    for own in ("relu", "sigmoid", "tanh"):
        x = grid.copy()
        getattr(mod, own)(x)
        assert np.array_equal(x, grid), (
            f"{own}(x) writes into its input, so every curve after it is drawn against a changed x: fix {own} "
            "first (test_functions_are_pure_and_keep_shape)")
    narrow = "; ".join(f"{name} covers x from {lo:g} to {hi:g}" for name, (lo, hi) in short.items() if name not in found)
    broad = "; ".join(f"{name} is shown from x = {lo:g} to {hi:g}" for name, (lo, hi) in wide.items() if name not in found)
    rough = "; ".join(f"{name} is drawn through {n} points, and the straight lines joining them stray from {name} by "
                      f"{gap:.0%} of its height ({CURVE_TOLERANCE:.0%} allowed)" for name, (n, gap) in coarse.items()
                      if name not in found)
    raise AssertionError(
        f"the panels should draw ReLU, Sigmoid and Tanh over x in [-5, 5]; found curves for "
        f"{sorted(found) or 'none of them'} over exactly that range"
        + (f" ({narrow}: use x = np.linspace(-5, 5, ...))" if narrow else "")
        + (f" ({broad}: the contract's range is [-5, 5], so use x = np.linspace(-5, 5, ...) or ax.set_xlim(-5, 5))"
           if broad else "")
        + (f" ({rough}: use more points, e.g. x = np.linspace(-5, 5, 200))" if rough else ""))
