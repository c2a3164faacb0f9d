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
from grader.checks.plots import check_existing_folder
from grader.core import failures

FAIL = failures.table(__file__)

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
            raise FAIL("plot_no_parent_folder", error=exc) from exc
        if elsewhere := _saved_elsewhere(saved, target):
            raise FAIL("plot_saved_elsewhere_failed", elsewhere=elsewhere, kind=type(exc).__name__, error=exc) from exc
        raise
    if result is None or Path(result) != target:
        raise FAIL("plot_wrong_return")
    if not target.is_file() and (elsewhere := _saved_elsewhere(saved, target)):
        raise FAIL("plot_saved_elsewhere", elsewhere=elsewhere, target=target)
    if not target.is_file():
        raise FAIL("plot_no_file")
    if target.read_bytes()[:8] != b"\x89PNG\r\n\x1a\n":
        raise FAIL("plot_not_png")
    if not saved:
        raise FAIL("plot_no_figure_saved")
    figure = saved[-1][0]
    check_existing_folder("plot_activations", mod.plot_activations, target.parent)
    panels = [ax for ax in figure.axes if ax.lines]
    if len(panels) < 3:
        raise FAIL("plot_too_few_panels", count=len(panels))
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
    framed = [ax for ax in figure.axes if ax.get_visible() and ax.axison]  # ax.axis("off") hides a spare panel
    if found == {"ReLU", "Sigmoid", "Tanh"} and len(framed) > 3:
        raise FAIL("plot_extra_panels", count=len(framed), empty=sum(not ax.lines for ax in framed))
    if found == {"ReLU", "Sigmoid", "Tanh"}:
        return
    grid = np.linspace(-5, 5, 11)
    for own in ("relu", "sigmoid", "tanh"):
        x = grid.copy()
        getattr(mod, own)(x)
        if not np.array_equal(x, grid):
            raise FAIL("plot_input_modified", name=own)
    narrow = [FAIL("curve_too_short", name=name, low=lo, high=hi) for name, (lo, hi) in short.items() if name not in found]
    broad = [FAIL("curve_too_wide", name=name, low=lo, high=hi) for name, (lo, hi) in wide.items() if name not in found]
    rough = [FAIL("curve_too_coarse", name=name, points=n, gap=gap, allowed=CURVE_TOLERANCE)
             for name, (n, gap) in coarse.items() if name not in found]
    parts = [FAIL("curves_missing", found=sorted(found)) if found else FAIL("curves_none")]
    if narrow:
        parts.append(FAIL("curves_too_short", curves=failures.joined("", narrow)))
    if broad:
        parts.append(FAIL("curves_too_wide", curves=failures.joined("", broad)))
    if rough:
        parts.append(FAIL("curves_too_coarse", curves=failures.joined("", rough)))
    raise failures.joined(parts[-1].key, parts, separator="")
