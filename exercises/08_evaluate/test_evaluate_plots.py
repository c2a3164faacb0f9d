"""Tests of 08_evaluate/evaluate.py: plot_training_history, plot_confusion_matrix, plot_error_cases.

Each failure names the cause and the fix. "not started" means the test reached a stub's
NotImplementedError; "blocked" means a test it needs (see @needs) has not passed yet, so fix that one
first. Figures are judged by what they draw (lines, heat-map cells, titles). Hints: `grader hint 08`.
"""
from __future__ import annotations

import re
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.figure
import matplotlib.image
import numpy as np
import pytest
import torch

from grader.checks.plots import check_drawn, check_png, figures_saved
from grader.checks.reference import brute_force_cm

GRADES = "evaluate"


# ---------------------------------------------------------------- plots

HISTORY = {  # best epoch (highest val_acc) is epoch 5; the lowest val_loss is at epoch 2
    "train_loss": [0.62, 0.31, 0.22, 0.17, 0.13, 0.10],
    "train_acc": [81.0, 90.6, 93.4, 94.9, 96.1, 97.0],
    "val_loss": [0.30, 0.21, 0.22, 0.24, 0.25, 0.28],
    "val_acc": [90.5, 93.0, 93.6, 94.0, 94.4, 94.2],
}


def heat_map_cm() -> np.ndarray:
    """An asymmetric 10-class matrix: mistakes only go to the next one or two classes."""
    rng = np.random.default_rng(3)
    labels = rng.integers(0, 10, 300)
    preds = np.where(rng.random(300) < 0.8, labels, (labels + rng.integers(1, 3, 300)) % 10)
    return brute_force_cm(labels, preds, 10)


def error_images() -> torch.Tensor:
    """40 normalised 'images' (as a loader would give them), each distinct."""
    g = torch.Generator().manual_seed(4)
    return (torch.rand(40, 1, 28, 28, generator=g) - 0.1307) / 0.3081


ERRORS = [  # (true, pred) pairs differ as sets, so a title identifies its error
    {"index": n, "true": t, "pred": p, "confidence": c}
    for n, t, p, c in [(2, 3, 8, 87.31), (5, 4, 9, 64.25), (9, 7, 1, 99.12), (13, 5, 6, 52.78),
                       (17, 2, 0, 71.46), (22, 6, 2, 93.05), (26, 0, 5, 58.63), (31, 8, 1, 80.97),
                       (37, 9, 7, 67.34)]
]

PLOTS = ["plot_training_history", "plot_confusion_matrix", "plot_error_cases"]


def plot_args(name: str) -> tuple:
    if name == "plot_training_history":
        return (HISTORY,)
    if name == "plot_confusion_matrix":
        return (heat_map_cm(),)
    return (error_images(), ERRORS)


def call_plot(mod, name: str, path: Path, *args, **kwargs):
    try:
        return getattr(mod, name)(*args, path, **kwargs)
    except FileNotFoundError as exc:
        pytest.fail(f"{name} could not write {path} ({exc}): create the missing folders first with "
                    "Path(path).parent.mkdir(parents=True, exist_ok=True)")


@pytest.fixture
def saved_figures(monkeypatch) -> list:
    """Every matplotlib Figure saved during the test (plt.savefig and fig.savefig both land here)."""
    return figures_saved(monkeypatch)


def saved_figure(captured: list, name: str):
    if not captured:
        import matplotlib.pyplot as plt

        if plt.get_fignums():
            return plt.gcf()
        pytest.fail(f"{name} saved no matplotlib figure: draw it with fig, ax = plt.subplots(...) and "
                    "write it with fig.savefig(path)")
    figure = captured[-1]
    captured.clear()
    check_drawn(figure, name)
    return figure


def numbers(text: str) -> list[str]:
    return re.findall(r"\d+(?:\.\d+)?", text)


@pytest.mark.points(1)
@pytest.mark.parametrize("name", PLOTS)
def test_plot_writes_png(mod, name, tmp_path):
    path = tmp_path / "figures" / "run 1" / f"{name}.png"
    result = call_plot(mod, name, path, *plot_args(name))
    check_png(name, path, result)


def history_lines(fig) -> dict:
    """key -> (axes, Line2D) for each series of HISTORY drawn as a line."""
    found = {}
    for ax in fig.axes:
        for line in ax.get_lines():
            y = np.asarray(line.get_ydata(), dtype=float).ravel()
            for key, values in HISTORY.items():
                if key not in found and y.shape == (len(values),) and np.allclose(y, values):
                    found[key] = (ax, line)
    return found


def marks_x(fig, x: float, data_lines: list, index: int) -> bool:
    """Whether anything other than the data lines marks position x (line, point, span, text)."""
    def at_x(values) -> bool:
        values = np.asarray(values, dtype=float).ravel()
        return values.size > 0 and bool(np.all(np.abs(values - x) < 1e-6))

    for ax in fig.axes:
        for line in ax.get_lines():
            if any(line is d for d in data_lines):
                every = line.get_markevery()
                if isinstance(every, (list, tuple, np.ndarray)) and list(np.ravel(every)) == [index]:
                    return True
            elif at_x(line.get_xdata()):
                return True
        for coll in ax.collections:
            segments = getattr(coll, "get_segments", None)
            if segments is not None and segments() and all(at_x(np.asarray(s)[:, 0]) for s in segments()):
                return True
            offsets = np.asarray(coll.get_offsets(), dtype=float).reshape(-1, 2)
            if len(offsets) and at_x(offsets[:, 0]):
                return True
        for text in ax.texts:
            position = getattr(text, "xy", None) or text.get_position()
            try:
                if at_x([position[0]]):
                    return True
            except (TypeError, ValueError):
                pass
        x_display = ax.transData.transform((x, 0))[0]
        one_epoch = abs(ax.transData.transform((x + 1, 0))[0] - x_display)
        for patch in ax.patches:
            box = patch.get_extents()
            if box.x0 - 1 <= x_display <= box.x1 + 1 and box.width <= one_epoch:
                return True
    return False


@pytest.mark.points(1)
def test_plot_training_history_panels(mod, tmp_path, saved_figures):
    call_plot(mod, "plot_training_history", tmp_path / "history.png", HISTORY)
    fig = saved_figure(saved_figures, "plot_training_history")
    found = history_lines(fig)
    for key in HISTORY:
        assert key in found, (
            f"no line shows history['{key}']: plot each of train_loss, val_loss, train_acc, val_acc "
            f"against the epochs (ax.plot(epochs, history['{key}']))")
    assert found["train_loss"][0] is found["val_loss"][0] and found["train_acc"][0] is found["val_acc"][0], (
        "draw train and validation curves of the same quantity in the same panel (one for loss, one for accuracy)")
    assert found["train_loss"][0] is not found["train_acc"][0], (
        "loss and accuracy need two separate panels (e.g. plt.subplots(1, 2)): their scales differ (~0-1 vs 0-100)")
    epochs = np.asarray(found["val_acc"][1].get_xdata(), dtype=float)
    best = int(np.argmax(HISTORY["val_acc"]))
    data_lines = [line for _, line in found.values()]
    if not marks_x(fig, epochs[best], data_lines, best):
        marked = [i for i in range(len(epochs)) if marks_x(fig, epochs[i], data_lines, i)]
        found_at = "".join(f" A marker was found at x = {epochs[i]:g}, {marker_cause(i, best)}." for i in marked)
        pytest.fail(
            f"the training plot does not mark the best epoch: the epoch with the highest val_acc "
            f"(x = {epochs[best]:g} on your axes), the one fit() keeps. Draw e.g. ax.axvline(best_epoch) "
            f"or a point ax.plot(best_epoch, best_val_acc, 'o').{found_at}")


def marker_cause(index: int, best: int) -> str:
    """What is true of HISTORY at epoch position ``index`` (a marker drawn there instead of at ``best``)."""
    facts = []
    if abs(index - best) == 1:
        facts.append(f"one epoch {'after' if index > best else 'before'} the best: np.argmax gives a 0-based "
                     "position; mark the x value of that position on your axes (epochs[best])")
    for key, extreme, pick in (("val_acc", "lowest", np.argmin), ("val_loss", "lowest", np.argmin)):
        if index == int(pick(HISTORY[key])):
            facts.append(f"where {key} is {extreme}" + (
                " (np.argmin): the best epoch is the one with the HIGHEST val_acc, np.argmax" if key == "val_acc"
                else " (fine as an extra marker)"))
    if index == len(HISTORY["val_acc"]) - 1:
        facts.append("the last epoch")
    return "; ".join(facts) or "an epoch that is not the best"


def heat_map(fig, cm: np.ndarray):
    """(axes, artist, variant) of the image/mesh showing cm: variant is 'cm', 'transposed' or None."""
    totals = cm.sum(axis=1, keepdims=True)
    size = cm.shape[0]
    transposed = None
    for ax in fig.axes:
        for artist in list(ax.images) + list(ax.collections):
            try:
                data = artist.get_array()
            except AttributeError:
                continue
            if data is None or np.size(data) != cm.size:
                continue
            data = np.ma.filled(np.ma.asarray(data, dtype=float), np.nan).reshape(size, size)
            for matrix in (cm, cm / totals, 100 * cm / totals):
                if np.allclose(data, matrix):
                    return ax, artist, "cm"
                if np.allclose(data, matrix.T):
                    transposed = (ax, artist, "transposed")
    return transposed or (None, None, None)


def cell_of(artist, x: float, y: float, size: int):
    """(row, column) of the heat-map cell containing data point (x, y), or None."""
    def index(value, edges):
        for k in range(size):
            lo, hi = sorted((edges[k], edges[k + 1]))
            if lo <= value < hi:
                return k
        return None

    if isinstance(artist, matplotlib.image.AxesImage):
        left, right, bottom, top = artist.get_extent()
        first, last = (top, bottom) if artist.origin == "upper" else (bottom, top)
        rows, cols = np.linspace(first, last, size + 1), np.linspace(left, right, size + 1)
    elif hasattr(artist, "get_coordinates"):
        coords = np.asarray(artist.get_coordinates(), dtype=float)
        rows, cols = coords[:, 0, 1], coords[0, :, 0]
    else:
        return None
    row, col = index(y, rows), index(x, cols)
    return None if row is None or col is None else (row, col)


def cell_texts(ax, artist, size: int) -> dict:
    """(row, column) -> first number written in that cell."""
    cells = {}
    for text in ax.texts:
        found = numbers(text.get_text())
        if not found:
            continue
        if getattr(text, "xy", None) is not None and getattr(text, "xycoords", None) == "data":
            x, y = text.xy
        elif text.get_transform() is ax.transData:
            x, y = text.get_position()
        else:
            continue
        cell = cell_of(artist, float(x), float(y), size)
        if cell is not None:
            cells.setdefault(cell, float(found[0]))
    return cells


@pytest.mark.points(1)
def test_plot_confusion_matrix_heat_map(mod, tmp_path, saved_figures):
    cm = heat_map_cm()
    call_plot(mod, "plot_confusion_matrix", tmp_path / "cm.png", cm.copy())
    fig = saved_figure(saved_figures, "plot_confusion_matrix")
    ax, artist, variant = heat_map(fig, cm)
    assert variant != "transposed", (
        "the heat map shows the matrix transposed: rows must be true classes and columns predicted "
        "classes, so draw cm itself (ax.imshow(cm)), not cm.T")
    assert variant == "cm", (
        "no heat map of cm found: draw the matrix as an image, e.g. ax.imshow(cm, cmap='Blues') "
        "or ax.pcolormesh(cm)")
    cells = cell_texts(ax, artist, cm.shape[0])
    nonzero = list(zip(*np.nonzero(cm)))
    missing = [(i, j) for i, j in nonzero if cells.get((i, j)) != cm[i, j]]
    if missing and all(cells.get((j, i)) == cm[i, j] for i, j in nonzero):
        pytest.fail("the counts are written in the wrong cells (transposed): cm[i, j] belongs in row i "
                    "(true class), column j (predicted). ax.text takes x (the column) first: ax.text(j, i, ...)")
    i, j = missing[0] if missing else (0, 0)
    assert not missing, (
        f"annotate every cell of the heat map with its count, centred in the cell: e.g. "
        f"ax.text(j, i, str(cm[i, j]), ha='center', va='center'). {len(missing)} of {len(nonzero)} "
        f"non-zero counts are missing, e.g. row {i}, column {j} should read {cm[i, j]}")


def panels(fig) -> list:
    return [ax for ax in fig.axes if ax.images]


def title_of(ax) -> str:
    return " ".join(ax.get_title(loc) for loc in ("left", "center", "right"))


def check_error_grid(fig, images: torch.Tensor, errors: list, num_cases: int) -> None:
    shown = panels(fig)
    expected = min(num_cases, len(errors))
    assert len(shown) == expected, (
        f"plot_error_cases with {len(errors)} errors and num_cases={num_cases} must show "
        f"min(num_cases, len(errors)) = {expected} images, found {len(shown)} panels with an image "
        "(switch unused axes off with ax.axis('off'))")
    seen = set()
    for ax in shown:
        title = title_of(ax)
        tokens = numbers(title)
        whole = {int(t) for t in tokens if "." not in t}
        matches = [e for e in errors if e["true"] in whole and e["pred"] in whole]
        assert matches, (
            f"the panel title {title.strip()!r} must show the true class and the predicted class "
            "of the error it shows (error['true'] and error['pred'])")
        error = matches[0]
        assert any(abs(float(t) - error["confidence"]) <= 0.51 for t in tokens), (
            f"the panel title {title.strip()!r} must also show the confidence, "
            f"{error['confidence']:.1f}% (in percent, error['confidence']), e.g. f\"{{confidence:.1f}}%\"")
        picture = np.asarray(ax.images[0].get_array(), dtype=float)
        if picture.ndim == 3:
            picture = picture[..., :3].mean(axis=-1)
        reference = images[error["index"]].squeeze().numpy()
        assert picture.shape == reference.shape, (
            f"the panel {title.strip()!r} shows an image of shape {picture.shape}: show "
            "images[error['index']].squeeze(), a 28 x 28 array")
        same = np.corrcoef(picture.ravel(), reference.ravel())[0, 1]
        assert same > 0.99, (
            f"the panel {title.strip()!r} does not show images[{error['index']}]: take each image by "
            "its error's 'index', not by its position in the list of errors")
        seen.add(error["index"])
    assert len(seen) == len(shown), "each panel must show a different error"


@pytest.mark.points(1)
def test_plot_error_cases_grid(mod, tmp_path, saved_figures):
    images = error_images()
    call_plot(mod, "plot_error_cases", tmp_path / "errors.png", images, ERRORS, num_cases=4)
    check_error_grid(saved_figure(saved_figures, "plot_error_cases"), images, ERRORS, 4)
    call_plot(mod, "plot_error_cases", tmp_path / "few.png", images, ERRORS[:3])
    check_error_grid(saved_figure(saved_figures, "plot_error_cases"), images, ERRORS[:3], 6)
