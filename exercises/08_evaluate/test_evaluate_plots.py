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

from grader.checks.plots import check_drawn, check_existing_folder, check_png, figures_saved, folder_exists
from grader.checks.reference import brute_force_cm
from grader.core import failures
from grader.core.failures import Failure

FAIL = failures.table(__file__)

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
    except FileExistsError as exc:
        raise folder_exists(name, path, exc) from exc
    except FileNotFoundError as exc:
        raise FAIL("folders_not_created", name=name, path=path, error=exc) from exc


@pytest.fixture
def saved_figures(monkeypatch) -> list:
    """Every matplotlib Figure saved during the test (plt.savefig and fig.savefig both land here)."""
    return figures_saved(monkeypatch)


def saved_figure(captured: list, name: str):
    if not captured:
        import matplotlib.pyplot as plt

        if plt.get_fignums():
            return plt.gcf()
        raise FAIL("no_figure_saved", name=name)
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
    check_existing_folder(name, lambda again: call_plot(mod, name, again, *plot_args(name)), path.parent)


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
        if key not in found:
            raise FAIL("history_line_missing", key=key)
    if not (found["train_loss"][0] is found["val_loss"][0] and found["train_acc"][0] is found["val_acc"][0]):
        raise FAIL("train_and_val_apart")
    if found["train_loss"][0] is found["train_acc"][0]:
        raise FAIL("loss_and_accuracy_together")
    epochs = np.asarray(found["val_acc"][1].get_xdata(), dtype=float)
    best = int(np.argmax(HISTORY["val_acc"]))
    data_lines = [line for _, line in found.values()]
    if not marks_x(fig, epochs[best], data_lines, best):
        marked = [i for i in range(len(epochs)) if marks_x(fig, epochs[i], data_lines, i)]
        found_at = [FAIL("marker_found", x=epochs[i], facts=marker_cause(i, best)) for i in marked]
        raise FAIL("best_epoch_not_marked", x=epochs[best],
                   found=failures.joined("08_evaluate.marker_found", found_at, "") if found_at else "")


def marker_cause(index: int, best: int) -> Failure:
    """What is true of HISTORY at epoch position ``index`` (a marker drawn there instead of at ``best``)."""
    facts = []
    if abs(index - best) == 1:
        facts.append(FAIL("fact_next_to_best", side=FAIL("after_best") if index > best else FAIL("before_best")))
    if index == int(np.argmin(HISTORY["val_acc"])):
        facts.append(FAIL("fact_lowest_val_acc"))
    if index == int(np.argmin(HISTORY["val_loss"])):
        facts.append(FAIL("fact_lowest_val_loss"))
    if index == len(HISTORY["val_acc"]) - 1:
        facts.append(FAIL("fact_last_epoch"))
    said = facts[0] if facts else FAIL("fact_not_best")
    for fact in facts[1:]:
        said = FAIL("facts_and", facts=said, fact=fact)
    return said


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
    if variant == "transposed":
        raise FAIL("heat_map_transposed")
    if variant != "cm":
        raise FAIL("no_heat_map")
    cells = cell_texts(ax, artist, cm.shape[0])
    nonzero = list(zip(*np.nonzero(cm)))
    missing = [(i, j) for i, j in nonzero if cells.get((i, j)) != cm[i, j]]
    if missing and all(cells.get((j, i)) == cm[i, j] for i, j in nonzero):
        raise FAIL("counts_transposed")
    if missing:
        i, j = missing[0]
        raise FAIL("counts_missing", missing=len(missing), nonzero=len(nonzero), i=i, j=j, count=cm[i, j])


def panels(fig) -> list:
    return [ax for ax in fig.axes if ax.images]


def title_of(ax) -> str:
    return " ".join(ax.get_title(loc) for loc in ("left", "center", "right"))


def check_error_grid(fig, images: torch.Tensor, errors: list, num_cases: int) -> None:
    shown = panels(fig)
    expected = min(num_cases, len(errors))
    if len(shown) != expected:
        raise FAIL("error_panel_count", errors=len(errors), num_cases=num_cases, expected=expected, found=len(shown))
    seen = set()
    for ax in shown:
        title = title_of(ax)
        tokens = numbers(title)
        whole = {int(t) for t in tokens if "." not in t}
        matches = [e for e in errors if e["true"] in whole and e["pred"] in whole]
        if not matches:
            raise FAIL("title_without_classes", title=title.strip())
        error = matches[0]
        if not any(abs(float(t) - error["confidence"]) <= 0.51 for t in tokens):
            raise FAIL("title_without_confidence", title=title.strip(), confidence=error["confidence"])
        picture = np.asarray(ax.images[0].get_array(), dtype=float)
        if picture.ndim == 3:
            picture = picture[..., :3].mean(axis=-1)
        reference = images[error["index"]].squeeze().numpy()
        if picture.shape != reference.shape:
            raise FAIL("panel_image_shape", title=title.strip(), shape=picture.shape)
        same = np.corrcoef(picture.ravel(), reference.ravel())[0, 1]
        if not same > 0.99:
            raise FAIL("panel_wrong_image", title=title.strip(), index=error["index"])
        seen.add(error["index"])
    if len(seen) != len(shown):
        raise FAIL("panels_repeat_an_error")


@pytest.mark.points(1)
def test_plot_error_cases_grid(mod, tmp_path, saved_figures):
    images = error_images()
    call_plot(mod, "plot_error_cases", tmp_path / "errors.png", images, ERRORS, num_cases=4)
    check_error_grid(saved_figure(saved_figures, "plot_error_cases"), images, ERRORS, 4)
    call_plot(mod, "plot_error_cases", tmp_path / "few.png", images, ERRORS[:3])
    check_error_grid(saved_figure(saved_figures, "plot_error_cases"), images, ERRORS[:3], 6)
