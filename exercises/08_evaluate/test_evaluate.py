"""Tests for 08_evaluate: predictions, confusion matrix, per-class accuracy, errors and plots."""
from __future__ import annotations

import re
import warnings
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.figure
import matplotlib.image
import numpy as np
import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset
from torch.utils.data.dataloader import default_collate

from grader.checks.devices import OnDevice, unmoved

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


# ---------------------------------------------------------------- collect_predictions

class Probe(nn.Module):
    """A tiny classifier that records, at every forward call, (training mode?, gradients on?)."""

    def __init__(self, dropout: float = 0.0) -> None:
        super().__init__()
        self.layers = nn.Sequential(nn.Flatten(), nn.Dropout(dropout), nn.Linear(784, 10))
        self.calls: list[tuple[bool, bool]] = []

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.calls.append((self.training, torch.is_grad_enabled()))
        return self.layers(x).as_subclass(OnDevice)  # .cpu() before NumPy, as on a GPU


def probe_setup(device: torch.device, dropout: float = 0.0):
    """A probe model left in training mode (as after fit), a 30-image loader and the true softmax."""
    torch.manual_seed(0)
    model = Probe(dropout).to(device)
    g = torch.Generator().manual_seed(0)
    x = torch.randn(30, 1, 28, 28, generator=g)
    y = torch.randint(0, 10, (30,), generator=g)
    # 8, 8, 8, 6 images, as Unmoved batches: they must be moved to the device, as on a GPU
    loader = DataLoader(TensorDataset(x, y), batch_size=8, shuffle=False, collate_fn=lambda b: unmoved(*default_collate(b)))
    model.eval()
    with torch.no_grad():
        expected = torch.softmax(model(x.to(device)), dim=1).cpu().numpy()
    model.train()
    model.calls.clear()
    return model, loader, y.numpy(), expected


def collect(mod, model, loader, device):
    out = mod.collect_predictions(model, loader, device)
    assert isinstance(out, tuple) and len(out) == 3, (
        f"collect_predictions must return a tuple (preds, labels, probs), got {type(out).__name__}")
    for name, arr in zip(("preds", "labels", "probs"), out):
        assert isinstance(arr, np.ndarray), (
            f"collect_predictions returned {name} as a {type(arr).__name__}: return NumPy arrays "
            "(tensor.cpu().numpy() per batch, then np.concatenate)")
    assert model.calls, "collect_predictions never called the model on the loader's images"
    return out


@pytest.mark.points(2)
def test_collect_predictions_shapes_and_values(mod, device):
    model, loader, y, expected = probe_setup(device)
    preds, labels, probs = collect(mod, model, loader, device)
    assert preds.shape == (30,) and labels.shape == (30,), (
        f"preds and labels must have shape (N,) = (30,) for 30 images in 4 batches, got "
        f"{preds.shape} and {labels.shape}: concatenate the batches, do not keep only the last one")
    assert probs.shape == (30, 10), f"probs must have shape (N, C) = (30, 10), got {probs.shape}"
    assert np.issubdtype(preds.dtype, np.integer), (
        f"preds must hold integer class indices, got dtype {preds.dtype}: use argmax over dim 1")
    assert not (np.array_equal(preds, y) and not np.array_equal(labels, y)), (
        "collect_predictions returned the labels first: the order is (preds, labels, probs)")
    assert np.array_equal(labels, y), "labels must be the loader's labels, all of them, in loader order"
    assert ((probs >= 0) & (probs <= 1)).all(), (
        "probs holds values outside [0, 1], so they are not probabilities (raw logits?): turn the logits into "
        "probabilities with torch.softmax(logits, dim=1)")
    assert np.allclose(probs.sum(axis=1), 1.0, atol=1e-5), (
        "each row of probs must sum to 1, and yours do not: take the softmax over the classes (dim=1), "
        "not over the batch (dim=0)")
    assert np.allclose(probs, expected, atol=1e-5), (
        "probs are not softmax(model(images)) for the loader's images in loader order")
    picked = probs[np.arange(30), preds]
    assert np.all(picked >= probs.max(axis=1) - 1e-6), (
        "preds[n] must be the class with the highest probability (argmax over the classes, dim=1)")


@pytest.mark.points(2)
def test_collect_predictions_uses_eval_mode(mod, device):
    model, loader, _, expected = probe_setup(device, dropout=0.5)
    _, _, probs = collect(mod, model, loader, device)
    assert not any(training for training, _ in model.calls), (
        "collect_predictions ran the model in training mode, so dropout was still switching "
        "neurons off at random: call model.eval() before predicting")
    assert np.allclose(probs, expected, atol=1e-5), (
        "probs differ from the evaluation-mode softmax of the model's outputs")


@pytest.mark.points(1)
def test_collect_predictions_without_gradients(mod, device):
    model, loader, _, _ = probe_setup(device)
    collect(mod, model, loader, device)
    assert not any(grad for _, grad in model.calls), (
        "collect_predictions tracked gradients while predicting (wasted memory and time): "
        "wrap the loop in `with torch.no_grad():` (or torch.inference_mode())")


# ---------------------------------------------------------------- confusion_matrix

def brute_force_cm(labels: np.ndarray, preds: np.ndarray, num_classes: int) -> np.ndarray:
    cm = np.zeros((num_classes, num_classes), dtype=np.int64)
    for t, p in zip(labels, preds):
        cm[t, p] += 1
    return cm


def as_cm(mod, labels, preds, *num_classes) -> np.ndarray:
    cm = mod.confusion_matrix(labels, preds, *num_classes)
    assert isinstance(cm, np.ndarray), f"confusion_matrix must return a NumPy array, got {type(cm).__name__}"
    return cm


REPEATED_PAIRS = ("repeated (true, pred) pairs were lost: each pair was counted at most once, because "
                  "cm[labels, preds] += 1 adds 1 once per distinct cell even when a pair occurs many times. "
                  "Use np.add.at(cm, (labels, preds), 1) or a loop over the samples")


@pytest.mark.points(2)
def test_confusion_matrix_rows_are_true_classes(mod):
    labels = np.array([0, 0, 0, 1, 2, 2, 2, 2])
    preds = np.array([0, 1, 1, 1, 2, 0, 2, 2])
    expected = np.array([[1, 2, 0],
                         [0, 1, 0],
                         [1, 0, 3]])
    cm = as_cm(mod, labels, preds, 3)
    assert cm.shape == (3, 3), f"confusion_matrix(..., num_classes=3) must have shape (3, 3), got {cm.shape}"
    assert np.issubdtype(cm.dtype, np.integer), (
        f"the confusion matrix holds counts, so its dtype must be an integer type, got {cm.dtype}: "
        "create it with np.zeros((C, C), dtype=np.int64)")
    assert not (np.array_equal(cm, (expected > 0).astype(cm.dtype))
                or np.array_equal(cm, (expected.T > 0).astype(cm.dtype))), REPEATED_PAIRS
    assert not np.array_equal(cm, expected.T), (
        "your confusion matrix is transposed: rows must be true classes and columns predicted "
        "classes (cm[true, pred] += 1). Here the true 0s were predicted as 1 twice, so cm[0, 1] == 2")
    assert np.array_equal(cm, expected), (
        f"wrong counts for labels={labels.tolist()}, preds={preds.tolist()}: cm[i, j] must count the samples "
        f"of true class i predicted as j\nexpected\n{expected}\ngot\n{cm}")


@pytest.mark.points(1)
@pytest.mark.needs("test_confusion_matrix_rows_are_true_classes")
def test_confusion_matrix_matches_brute_force(mod):
    rng = np.random.default_rng(1)
    labels = rng.integers(0, 10, 500)
    preds = np.where(rng.random(500) < 0.7, labels, rng.integers(0, 10, 500))
    cm = as_cm(mod, labels, preds, 10)
    expected = brute_force_cm(labels, preds, 10)
    assert cm.shape == (10, 10), f"expected shape (10, 10), got {cm.shape}"
    assert not np.array_equal(cm, (expected > 0).astype(cm.dtype)), REPEATED_PAIRS
    assert cm.sum() == 500, f"the counts must add up to the number of samples (500), got {cm.sum()}"
    assert np.array_equal(cm, expected), (
        "confusion_matrix disagrees with counting one (true, pred) pair at a time on 500 random "
        f"samples, e.g. in {int((cm != expected).sum())} cells")


@pytest.mark.points(1)
@pytest.mark.needs("test_confusion_matrix_rows_are_true_classes")
def test_confusion_matrix_size_is_num_classes(mod):
    labels = np.array([0, 1, 2, 2, 1])
    preds = np.array([0, 1, 4, 2, 1])  # class 4 is only ever predicted; class 3 and 5 never occur
    cm = as_cm(mod, labels, preds, 6)
    assert cm.shape == (6, 6), (
        f"confusion_matrix(..., num_classes=6) must be 6 x 6 even when some classes never occur, "
        f"got shape {cm.shape}: size it by num_classes, not by the classes present")
    assert np.array_equal(cm, brute_force_cm(labels, preds, 6)), (
        f"wrong counts when some classes never occur:\nexpected\n{brute_force_cm(labels, preds, 6)}\ngot\n{cm}")
    default = as_cm(mod, labels, preds)
    assert default.shape == (10, 10), f"num_classes defaults to 10, so the matrix must be 10 x 10, got {default.shape}"


# ---------------------------------------------------------------- per_class_accuracy

@pytest.mark.points(1)
def test_per_class_accuracy_percent_of_true_class(mod):
    cm = np.array([[8, 0, 2],
                   [4, 4, 0],
                   [0, 0, 5]])
    expected = np.array([80.0, 50.0, 100.0])
    by_column = 100.0 * np.diag(cm) / cm.sum(axis=0)
    acc = np.asarray(mod.per_class_accuracy(cm), dtype=float)
    assert acc.shape == (3,), f"per_class_accuracy of a 3 x 3 matrix must have shape (3,), got {acc.shape}"
    assert not np.allclose(acc, expected / 100), (
        "per_class_accuracy must be in percent (0..100), not a fraction: multiply by 100")
    assert not np.allclose(acc, by_column), (
        "per_class_accuracy divided by the column sums (how often a class was predicted; that is "
        "precision): divide the diagonal by the row sums, the number of samples whose true class is i")
    assert np.allclose(acc, expected), (
        f"per_class_accuracy({cm.tolist()}) should be {expected.tolist()} (100 * diagonal / row sums), "
        f"got {acc.tolist()}")


@pytest.mark.points(1)
@pytest.mark.needs("test_per_class_accuracy_percent_of_true_class")
def test_per_class_accuracy_empty_class_is_nan(mod):
    cm = np.array([[3, 1, 0],
                   [0, 0, 0],  # class 1 has no samples (but was predicted once)
                   [1, 0, 4]])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        acc = np.asarray(mod.per_class_accuracy(cm), dtype=float)
    runtime = [w for w in caught if issubclass(w.category, RuntimeWarning)]
    assert not runtime, (
        f"per_class_accuracy emitted a RuntimeWarning for a class with no samples ({runtime[0].message}): "
        "divide only where the row sum is > 0 (np.divide(..., out=np.full(C, np.nan), where=totals > 0)) "
        "or wrap the division in np.errstate(divide='ignore', invalid='ignore')")
    assert acc.shape == (3,), f"expected shape (3,), got {acc.shape}"
    assert np.isnan(acc[1]), (
        f"a class with no samples must give NaN (its accuracy is undefined), got {float(acc[1])}: "
        "0 would claim the model got every one of them wrong")
    assert np.allclose(acc[[0, 2]], [75.0, 80.0]), (
        f"the classes with samples should give [75.0, 80.0], got {acc[[0, 2]].tolist()}")


# ---------------------------------------------------------------- find_errors

def error_data():
    rng = np.random.default_rng(2)
    logits = rng.normal(0, 2, (40, 5))
    probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    preds = probs.argmax(axis=1)
    labels = np.where(rng.random(40) < 0.6, preds, (preds + rng.integers(1, 5, 40)) % 5)
    return preds, labels, probs


def call_find_errors(mod, preds, labels, probs) -> list:
    errors = mod.find_errors(preds, labels, probs)
    assert isinstance(errors, list), f"find_errors must return a list of dicts, got {type(errors).__name__}"
    for e in errors:
        assert isinstance(e, dict), f"each entry of find_errors must be a dict, got {type(e).__name__}"
        missing = {"index", "true", "pred", "confidence"} - set(e)
        assert not missing, f"an error dict is missing the key(s) {sorted(missing)}; got keys {sorted(e)}"
    return errors


@pytest.mark.points(1)
def test_find_errors_order_and_keys(mod):
    preds, labels, probs = error_data()
    wrong = np.flatnonzero(preds != labels)
    errors = call_find_errors(mod, preds, labels, probs)
    assert len(errors) == len(wrong), (
        f"find_errors must return one dict per wrong prediction: {len(wrong)} here, got {len(errors)}")
    indices = [int(e["index"]) for e in errors]
    if indices != wrong.tolist() and sorted(indices) == wrong.tolist():
        pytest.fail(f"find_errors lists the right samples in the wrong order {indices}: keep them in increasing "
                    f"order of index, {wrong.tolist()} (do not sort them, e.g. by confidence)")
    assert indices != list(range(len(wrong))) or indices == wrong.tolist(), (
        f"'index' numbers the errors 0, 1, 2, ...: it must be the sample's own position n in preds and labels, "
        f"here {wrong.tolist()}")
    assert indices == wrong.tolist(), (
        f"'index' must be each wrong sample's position, in increasing order: expected {wrong.tolist()}, got {indices}")
    for e in errors:
        n = int(e["index"])
        assert int(e["true"]) == labels[n] and int(e["pred"]) == preds[n], (
            f"error at index {n}: 'true' must be labels[{n}] = {labels[n]} and 'pred' preds[{n}] = {preds[n]}, "
            f"got true={e['true']}, pred={e['pred']}")
    assert call_find_errors(mod, labels, labels, probs) == [], "when every prediction is right, find_errors must return []"


@pytest.mark.points(2)
@pytest.mark.needs("test_find_errors_order_and_keys")
def test_find_errors_confidence_of_predicted_class(mod):
    preds, labels, probs = error_data()
    wrong = np.flatnonzero(preds != labels)
    errors = call_find_errors(mod, preds, labels, probs)
    assert len(errors) == len(wrong), f"expected {len(wrong)} errors, got {len(errors)}"
    got = np.array([float(e["confidence"]) for e in errors])
    expected = 100 * probs[wrong, preds[wrong]]
    of_true = 100 * probs[wrong, labels[wrong]]
    assert not (np.allclose(got, expected / 100) or np.allclose(got, of_true / 100)), (
        "'confidence' must be in percent (0..100), not a fraction: multiply the probability by 100")
    assert not np.allclose(got, of_true), (
        "'confidence' is the probability of the true class; it must be the probability of the PREDICTED "
        "class, probs[n, preds[n]] (how sure the model was of its wrong answer)")
    assert np.allclose(got, expected, atol=1e-4), (
        f"'confidence' must be 100 * probs[n, preds[n]] (percent, probability of the predicted class): "
        f"for index {wrong[0]} expected {expected[0]:.2f}, got {got[0]:.2f}")


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
    captured: list = []
    original = matplotlib.figure.Figure.savefig

    def spy(self, *args, **kwargs):
        captured.append(self)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(matplotlib.figure.Figure, "savefig", spy)
    return captured


def saved_figure(captured: list, name: str):
    if not captured:
        import matplotlib.pyplot as plt

        if plt.get_fignums():
            return plt.gcf()
        pytest.fail(f"{name} saved no matplotlib figure: draw it with fig, ax = plt.subplots(...) and "
                    "write it with fig.savefig(path)")
    figure = captured[-1]
    captured.clear()
    return figure


def numbers(text: str) -> list[str]:
    return re.findall(r"\d+(?:\.\d+)?", text)


@pytest.mark.points(1)
@pytest.mark.parametrize("name", PLOTS)
def test_plot_writes_png(mod, name, tmp_path):
    path = tmp_path / "figures" / "run 1" / f"{name}.png"
    result = call_plot(mod, name, path, *plot_args(name))
    assert path.is_file(), f"{name} wrote no file at the path it was given ({path})"
    assert result is not None and Path(result) == path, f"{name} must return the path it wrote ({path}), got {result!r}"
    assert path.read_bytes()[:8] == PNG_MAGIC, (
        f"{name} wrote a file that is not a PNG: save with fig.savefig(path) where path ends in .png")
    pixels = matplotlib.image.imread(path)
    height, width = pixels.shape[:2]
    assert pixels.ndim == 3 and 100 <= height <= 5000 and 100 <= width <= 5000, (
        f"{name} wrote a {width}x{height} pixel image: give the figure a sensible size (figsize, dpi)")


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
    best, lowest_loss = int(np.argmax(HISTORY["val_acc"])), int(np.argmin(HISTORY["val_loss"]))
    data_lines = [line for _, line in found.values()]
    if not marks_x(fig, epochs[best], data_lines, best):
        hint = ""
        if any(marks_x(fig, epochs[best] + step, data_lines, best + step) for step in (-1, 1)):
            hint = (" Your marker is one epoch off: np.argmax gives a 0-based position; use the x value "
                    "of that position on your axes (epochs[best]).")
        elif marks_x(fig, epochs[lowest_loss], data_lines, lowest_loss):
            hint = f" You marked x = {epochs[lowest_loss]:g}, the epoch of the lowest val_loss; that is fine as an extra."
        pytest.fail(
            f"the training plot does not mark the best epoch: the epoch with the highest val_acc "
            f"(x = {epochs[best]:g} on your axes), the one fit() keeps. Draw e.g. ax.axvline(best_epoch) "
            f"or a point ax.plot(best_epoch, best_val_acc, 'o').{hint}")


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
