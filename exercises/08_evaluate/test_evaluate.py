"""Tests of 08_evaluate/evaluate.py: collect_predictions, confusion_matrix, per_class_accuracy, find_errors.

Each failure names the cause and the fix. "not started" means the test reached a stub's
NotImplementedError; "blocked" means a test it needs (see @needs) has not passed yet, so fix that one
first. Hints: `grader hint 08`.
"""
from __future__ import annotations

import warnings

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
from grader.checks.reference import brute_force_cm
from grader.checks.signatures import defaults_failure, started
from grader.core import failures
from grader.core.failures import Failure

FAIL = failures.table(__file__)

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
    """A probe model left in training mode (as after fit), a 30-image loader, the true softmax and the
    evaluation-mode logits it is taken of."""
    torch.manual_seed(0)
    model = Probe(dropout).to(device)
    g = torch.Generator().manual_seed(0)
    x = torch.randn(30, 1, 28, 28, generator=g)
    y = torch.randint(0, 10, (30,), generator=g)
    # 8, 8, 8, 6 images, as Unmoved batches: they must be moved to the device, as on a GPU
    loader = DataLoader(TensorDataset(x, y), batch_size=8, shuffle=False, collate_fn=lambda b: unmoved(*default_collate(b)))
    model.eval()
    with torch.no_grad():
        logits = model(x.to(device)).cpu().double()
    model.train()
    model.calls.clear()
    return model, loader, y.numpy(), torch.softmax(logits, dim=1).numpy(), logits.numpy()


def collect(mod, model, loader, device):
    out = mod.collect_predictions(model, loader, device)
    if not (isinstance(out, tuple) and len(out) == 3):
        raise FAIL("collect_not_tuple", type=type(out).__name__)
    for name, arr in zip(("preds", "labels", "probs"), out):
        if not isinstance(arr, np.ndarray):
            raise FAIL("collect_not_numpy", name=name, type=type(arr).__name__)
    if not model.calls:
        raise FAIL("model_never_called")
    return out


BATCHES, CLASSES = (8, 8, 8, 6), 10  # probe_setup's loader and model


def shape_cause(preds: np.ndarray, labels: np.ndarray) -> Failure:
    """Why preds/labels do not have shape (30,), from the sizes observed (else what they should hold)."""
    if preds.shape in ((CLASSES,), (CLASSES * len(BATCHES),)) and labels.shape == (sum(BATCHES),):
        return FAIL("argmax_over_batch", classes=CLASSES, top=int(preds.max()),
                    where=FAIL("per_batch") if preds.size > CLASSES else FAIL("in_all"))
    if preds.shape == labels.shape == (BATCHES[-1],):
        return FAIL("last_batch_only")
    if preds.shape == labels.shape == (BATCHES[0],):
        return FAIL("one_batch_only")
    return FAIL("one_entry_per_image")


def probs_cause(probs: np.ndarray, logits: np.ndarray) -> Failure | None:
    """What ``probs`` (N, C) were computed as, from the evaluation-mode ``logits``: None when none of the
    recognised mistakes fits."""
    log_softmax = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
    over_batch = np.concatenate([np.exp(b) / np.exp(b).sum(axis=0) for b in np.split(logits, np.cumsum(BATCHES)[:-1])])
    known = [
        (logits, FAIL("probs_are_logits")),
        (log_softmax, FAIL("probs_are_log_softmax")),
        (1 / (1 + np.exp(-logits)), FAIL("probs_are_sigmoid")),
        (over_batch, FAIL("probs_softmax_over_batch")),
    ]
    if probs.shape == logits.shape:
        for value, cause in known:
            if np.allclose(probs, value, atol=1e-5):
                return cause
    return None


@pytest.mark.points(2)
def test_collect_predictions_shapes_and_values(mod, device):
    model, loader, y, expected, logits = probe_setup(device)
    preds, labels, probs = collect(mod, model, loader, device)
    if not (preds.shape == (30,) and labels.shape == (30,)):
        raise FAIL("preds_labels_shape", preds=preds.shape, labels=labels.shape, cause=shape_cause(preds, labels))
    if probs.shape != (30, 10):
        raise FAIL("probs_shape", want=(30, 10), shape=probs.shape, cause="")
    if not np.issubdtype(preds.dtype, np.integer):
        raise FAIL("preds_not_integer", dtype=preds.dtype)
    if np.array_equal(preds, y) and not np.array_equal(labels, y):
        raise FAIL("labels_first")
    if not np.array_equal(labels, y):
        raise FAIL("labels_wrong")
    cause = probs_cause(probs, logits)
    if cause is not None:
        raise cause
    if not ((probs >= 0) & (probs <= 1)).all():
        raise FAIL("probs_out_of_range")
    if not np.allclose(probs.sum(axis=1), 1.0, atol=1e-5):
        raise FAIL("rows_do_not_sum_to_one")
    if not np.allclose(probs, expected, atol=1e-5):
        raise FAIL("probs_not_softmax")
    picked = probs[np.arange(30), preds]
    if not np.all(picked >= probs.max(axis=1) - 1e-6):
        raise FAIL("preds_not_argmax")


@pytest.mark.points(2)
def test_collect_predictions_uses_eval_mode(mod, device):
    model, loader, _, expected, logits = probe_setup(device, dropout=0.5)
    preds, labels, probs = collect(mod, model, loader, device)
    if any(training for training, _ in model.calls):
        raise FAIL("training_mode")
    if probs.shape != expected.shape:
        raise FAIL("probs_shape", want=expected.shape, shape=probs.shape, cause=shape_cause(preds, labels))
    cause = probs_cause(probs, logits)
    if not np.allclose(probs, expected, atol=1e-5):
        raise FAIL("probs_not_eval_softmax", cause=FAIL("colon_cause", cause=cause) if cause is not None else "")


@pytest.mark.points(1)
def test_collect_predictions_without_gradients(mod, device):
    model, loader, _, _, _ = probe_setup(device)
    collect(mod, model, loader, device)
    if any(grad for _, grad in model.calls):
        raise FAIL("tracked_gradients")


# ---------------------------------------------------------------- confusion_matrix

def as_cm(mod, labels, preds, *num_classes) -> np.ndarray:
    cm = mod.confusion_matrix(labels, preds, *num_classes)
    if not isinstance(cm, np.ndarray):
        raise FAIL("cm_not_numpy", type=type(cm).__name__)
    return cm


@pytest.mark.points(2)
def test_confusion_matrix_rows_are_true_classes(mod):
    labels = np.array([0, 0, 0, 1, 2, 2, 2, 2])
    preds = np.array([0, 1, 1, 1, 2, 0, 2, 2])
    expected = np.array([[1, 2, 0],
                         [0, 1, 0],
                         [1, 0, 3]])
    cm = as_cm(mod, labels, preds, 3)
    if cm.shape != (3, 3):
        raise FAIL("cm_shape", shape=cm.shape)
    if not np.issubdtype(cm.dtype, np.integer):
        raise FAIL("cm_not_integer", dtype=cm.dtype)
    if (np.array_equal(cm, (expected > 0).astype(cm.dtype))
            or np.array_equal(cm, (expected.T > 0).astype(cm.dtype))):
        raise FAIL("repeated_pairs_lost")
    if np.array_equal(cm, expected.T):
        raise FAIL("cm_transposed")
    if not np.array_equal(cm, expected):
        raise FAIL("cm_wrong_counts", labels=labels.tolist(), preds=preds.tolist(), expected=expected, got=cm)


@pytest.mark.points(1)
@pytest.mark.needs("test_confusion_matrix_rows_are_true_classes")
def test_confusion_matrix_matches_brute_force(mod):
    rng = np.random.default_rng(1)
    labels = rng.integers(0, 10, 500)
    preds = np.where(rng.random(500) < 0.7, labels, rng.integers(0, 10, 500))
    cm = as_cm(mod, labels, preds, 10)
    expected = brute_force_cm(labels, preds, 10)
    if cm.shape != (10, 10):
        raise FAIL("cm_shape_random", shape=cm.shape)
    if np.array_equal(cm, (expected > 0).astype(cm.dtype)):
        raise FAIL("repeated_pairs_lost")
    if cm.sum() != 500:
        raise FAIL("cm_total_wrong", total=cm.sum())
    if not np.array_equal(cm, expected):
        raise FAIL("cm_disagrees_with_counting", cells=int((cm != expected).sum()))


@pytest.mark.points(1)
@pytest.mark.needs("test_confusion_matrix_rows_are_true_classes")
def test_confusion_matrix_size_is_num_classes(mod):
    labels = np.array([0, 1, 2, 2, 1])
    preds = np.array([0, 1, 4, 2, 1])  # class 4 is only ever predicted; class 3 and 5 never occur
    cm = as_cm(mod, labels, preds, 6)
    if cm.shape != (6, 6):
        raise FAIL("cm_sized_by_classes_present", shape=cm.shape)
    if not np.array_equal(cm, brute_force_cm(labels, preds, 6)):
        raise FAIL("cm_wrong_counts_absent_classes", expected=brute_force_cm(labels, preds, 6), got=cm)
    default = as_cm(mod, labels, preds)
    if default.shape != (10, 10):
        raise FAIL("cm_default_size", shape=default.shape)


# ---------------------------------------------------------------- per_class_accuracy

def truncated(got: np.ndarray, expected: np.ndarray, fraction: np.ndarray, fix: Failure) -> Failure | str:
    """': the fractions were cut off ... {fix}' when ``got`` is ``expected`` (percent) with its fractions
    cut off, else ''. The probes' values are no whole numbers, so 100 * 5 // 7 = 71 differs from
    100 * 5 / 7 = 71.43; (5 // 7) * 100 = 0 and int(...) casts cut off the same way."""
    cut = [np.floor(expected), np.trunc(expected), 100 * np.floor(fraction)]
    if any(np.allclose(got, c, equal_nan=True) for c in cut):
        return FAIL("fractions_cut_off", fix=fix)
    return ""


@pytest.mark.points(1)
def test_per_class_accuracy_percent_of_true_class(mod):
    cm = np.array([[5, 1, 1],
                   [2, 4, 0],
                   [0, 3, 6]])  # row sums 7, 6, 9: no accuracy is a whole number
    totals = cm.sum(axis=1)
    expected = 100.0 * np.diag(cm) / totals
    by_column = 100.0 * np.diag(cm) / cm.sum(axis=0)
    acc = np.asarray(mod.per_class_accuracy(cm), dtype=float)
    if acc.shape != (3,):
        raise FAIL("accuracy_shape", shape=acc.shape)
    if np.allclose(acc, expected / 100):
        raise FAIL("accuracy_as_fraction")
    if np.allclose(acc, by_column):
        raise FAIL("accuracy_by_column")
    if not np.allclose(acc, expected):
        raise FAIL("accuracy_wrong", cm=cm.tolist(), want=np.round(expected, 2).tolist(), got=acc.tolist(),
                   cut=truncated(acc, expected, np.diag(cm) / totals, FAIL("divide_on_floats")))


@pytest.mark.points(1)
@pytest.mark.needs("test_per_class_accuracy_percent_of_true_class")
def test_per_class_accuracy_empty_class_is_nan(mod):
    cm = np.array([[2, 1, 0],
                   [0, 0, 0],  # class 1 has no samples (but was predicted once)
                   [1, 0, 5]])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        acc = np.asarray(mod.per_class_accuracy(cm), dtype=float)
    runtime = [w for w in caught if issubclass(w.category, RuntimeWarning)]
    if runtime:
        raise FAIL("accuracy_runtime_warning", warning=runtime[0].message)
    if acc.shape != (3,):
        raise FAIL("accuracy_shape_empty_class", shape=acc.shape)
    if not np.isnan(acc[1]):
        raise FAIL("empty_class_not_nan", got=float(acc[1]))
    expected = np.array([200 / 3, 500 / 6])
    if not np.allclose(acc[[0, 2]], expected):
        raise FAIL("accuracy_wrong_beside_empty_class", want=np.round(expected, 2).tolist(), got=acc[[0, 2]].tolist(),
                   cut=truncated(acc[[0, 2]], expected, np.array([2 / 3, 5 / 6]), FAIL("divide_on_floats")))


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
    if not isinstance(errors, list):
        raise FAIL("errors_not_list", type=type(errors).__name__)
    for e in errors:
        if not isinstance(e, dict):
            raise FAIL("error_not_dict", type=type(e).__name__)
        missing = {"index", "true", "pred", "confidence"} - set(e)
        if missing:
            raise FAIL("error_keys_missing", missing=sorted(missing), keys=sorted(e))
    return errors


@pytest.mark.points(1)
def test_find_errors_order_and_keys(mod):
    preds, labels, probs = error_data()
    wrong = np.flatnonzero(preds != labels)
    errors = call_find_errors(mod, preds, labels, probs)
    if len(errors) != len(wrong):
        raise FAIL("errors_count", want=len(wrong), got=len(errors))
    indices = [int(e["index"]) for e in errors]
    if indices != wrong.tolist() and sorted(indices) == wrong.tolist():
        raise FAIL("errors_out_of_order", indices=indices, want=wrong.tolist())
    if indices == list(range(len(wrong))) and indices != wrong.tolist():
        raise FAIL("index_numbers_the_errors", want=wrong.tolist())
    offsets = set(np.subtract(indices, wrong).tolist())
    if offsets in ({1}, {-1}):
        raise FAIL("index_off_by_one", direction=FAIL("one_more") if offsets == {1} else FAIL("one_less"),
                   want=wrong.tolist(), got=indices)
    if indices != wrong.tolist():
        raise FAIL("index_wrong", want=wrong.tolist(), got=indices)
    for e in errors:
        n = int(e["index"])
        if not (int(e["true"]) == labels[n] and int(e["pred"]) == preds[n]):
            raise FAIL("true_or_pred_wrong", n=n, label=labels[n], pred=preds[n], got_true=e["true"],
                       got_pred=e["pred"])
    if call_find_errors(mod, labels, labels, probs) != []:
        raise FAIL("errors_when_all_right")


@pytest.mark.points(2)
@pytest.mark.needs("test_find_errors_order_and_keys")
def test_find_errors_confidence_of_predicted_class(mod):
    preds, labels, probs = error_data()
    wrong = np.flatnonzero(preds != labels)
    errors = call_find_errors(mod, preds, labels, probs)
    if len(errors) != len(wrong):
        raise FAIL("errors_count_expected", want=len(wrong), got=len(errors))
    got = np.array([float(e["confidence"]) for e in errors])
    expected = 100 * probs[wrong, preds[wrong]]
    of_true = 100 * probs[wrong, labels[wrong]]
    if np.allclose(got, expected / 100) or np.allclose(got, of_true / 100):
        raise FAIL("confidence_as_fraction")
    if np.allclose(got, of_true):
        raise FAIL("confidence_of_true_class")
    if not np.allclose(got, expected, atol=1e-4):
        raise FAIL("confidence_wrong", n=wrong[0], want=expected[0], got=got[0],
                   cut=truncated(got, expected, probs[wrong, preds[wrong]], FAIL("keep_the_float")))


# ---------------------------------------------------------------- defaults

@pytest.mark.points(1)
def test_defaults_match_the_contract(mod):
    """confusion_matrix(..., num_classes=10) and plot_error_cases(..., num_cases=6): a caller who leaves the
    argument out gets the README's value."""
    started(lambda: mod.confusion_matrix(np.array([0]), np.array([0]), 1))  # a stub is "not started"; other errors are other tests' to report
    failure = defaults_failure([(mod.confusion_matrix, "confusion_matrix", {"num_classes": 10}),
                                (mod.plot_error_cases, "plot_error_cases", {"num_cases": 6})])
    if failure is not None:
        raise failure
