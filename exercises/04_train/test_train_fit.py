"""Tests of 04_train/train.py: fit, driven by a scripted model whose validation accuracy is known.

Each failure names the cause and the fix. "not started" means the test reached a stub's
NotImplementedError; "blocked" means a test it needs (see @needs) has not passed yet, so fix that one
first. Hints: `grader hint 04`.
"""
from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from grader.checks.checkpoints import refused_objects
from grader.checks.probes import BATCH, N_CLASSES, N_FEATURES, is_number, loader_of, random_data
from grader.core import failures
from grader.core.failures import Failure

FAIL = failures.table(__file__)

GRADES = "train"

pytestmark = pytest.mark.usefixtures("one_thread")  # torch on one thread: these tensors are tiny


# --------------------------------------------------------------------------- fit

VAL_SCRIPT = [50.0, 80.0, 60.0, 80.0, 65.0]  # val accuracy per epoch
VAL_SCALE = [6.0, 6.0, 1.0, 6.0, 6.0]  # logit scale per epoch: a less confident epoch 3 has the lowest val loss
BEST, TIE, LOWEST_LOSS = 2, 4, 3  # the best val_acc, an epoch that only equals it, the lowest val_loss
N_VAL = 20


class ScriptedNet(nn.Module):
    """Trains like a linear model; on validation inputs it scores the accuracy VAL_SCRIPT gives that epoch.

    Inputs carry two extra columns: the sample's index and a flag (1 = validation set). Every pass
    (a run of calls on one loader in one mode) is written down as (loader, training) in ``passes``;
    each epoch's parameters are snapshotted when a pass over the validation loader starts.
    """

    def __init__(self, val_labels: torch.Tensor) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.linear = nn.Linear(N_FEATURES, N_CLASSES)
        self.val_labels = val_labels
        self.passes: list[tuple[str, bool]] = []
        self.snapshots: list[dict] = []

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        logits = self.linear(x[:, :N_FEATURES])
        loader = "val" if x[0, N_FEATURES + 1].item() >= 0.5 else "train"
        if not self.passes or self.passes[-1] != (loader, self.training):
            if loader == "val" and (not self.passes or self.passes[-1][0] != "val"):
                self.snapshots.append({k: v.detach().cpu().clone() for k, v in self.state_dict().items()})
            self.passes.append((loader, self.training))
        if loader == "train":
            return logits
        epoch = min(len(self.snapshots), len(VAL_SCRIPT))
        n_right = round(VAL_SCRIPT[epoch - 1] / 100 * N_VAL)
        index = x[:, N_FEATURES].long()
        labels = self.val_labels.to(x.device)[index]
        target = torch.where(index < n_right, labels, (labels + 1) % N_CLASSES)
        return VAL_SCALE[epoch - 1] * F.one_hot(target, N_CLASSES).to(logits.dtype) + 0.0 * logits


def check_validation_passes(model: ScriptedNet, epochs: int) -> None:
    """fit went over val_loader once per epoch; otherwise say which loader it evaluated on."""
    count = {key: model.passes.count(key) for key in [("train", True), ("train", False), ("val", True), ("val", False)]}
    if count["train", False] and not count["val", False]:
        if count["val", True]:
            raise FAIL("loaders_swapped", passes=count["train", False], epochs=epochs)
        raise FAIL("validated_on_train_loader", passes=count["train", False], epochs=epochs)
    trained = count["train", True]
    if trained != epochs and trained == len(model.snapshots):
        if trained < epochs:
            raise FAIL("too_few_epochs", trained=trained, epochs=epochs, off=epochs - trained)
        raise FAIL("too_many_epochs", trained=trained, epochs=epochs, off=trained - epochs)
    if len(model.snapshots) != epochs:
        raise FAIL("validation_passes", passes=len(model.snapshots), epochs=epochs)


def scripted_setup(device: torch.device):
    x_train, y_train = random_data(3 * BATCH, seed=5)
    x_val, y_val = random_data(N_VAL, seed=6)

    def tag(x: torch.Tensor, flag: float) -> torch.Tensor:
        return torch.cat([x, torch.arange(len(x)).float()[:, None], torch.full((len(x), 1), flag)], dim=1)

    train_loader = loader_of(tag(x_train, 0.0), y_train)
    val_loader = loader_of(tag(x_val, 1.0), y_val, batch_size=5)
    model = ScriptedNet(y_val).to(device)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    return model, train_loader, val_loader, optimizer, y_val


def scripted_val_loss(epoch: int, y_val: torch.Tensor) -> float:
    n_right = round(VAL_SCRIPT[epoch - 1] / 100 * N_VAL)
    index = torch.arange(N_VAL)
    target = torch.where(index < n_right, y_val, (y_val + 1) % N_CLASSES)
    return F.cross_entropy(VAL_SCALE[epoch - 1] * F.one_hot(target, N_CLASSES).float(), y_val).item()


def check_history(history, epochs: int) -> None:
    keys = {"train_loss", "train_acc", "val_loss", "val_acc"}
    if not isinstance(history, dict):
        raise FAIL("history_not_dict", type=type(history).__name__)
    if set(history) != keys:
        raise FAIL("history_keys", keys=sorted(keys), got=sorted(history))
    for key in sorted(keys):
        if len(history[key]) != epochs:
            raise FAIL("history_length", entry=key, entries=len(history[key]), epochs=epochs)
        if not all(is_number(v) for v in history[key]):
            raise FAIL("history_not_numbers", entry=key, type=type(history[key][0]).__name__)


@pytest.mark.points(1)
@pytest.mark.needs("test_train_epoch_units", "test_validate_units")
def test_fit_history(mod, device, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    model, train_loader, val_loader, optimizer, y_val = scripted_setup(device)
    history = mod.fit(model, train_loader, val_loader, nn.CrossEntropyLoss(), optimizer, device, epochs=5)
    check_validation_passes(model, 5)
    check_history(history, 5)
    if not np.allclose(history["val_acc"], VAL_SCRIPT):
        raise FAIL("history_val_acc", got=history["val_acc"], want=VAL_SCRIPT)
    want = [scripted_val_loss(e, y_val) for e in range(1, 6)]
    if not np.allclose(history["val_loss"], want, rtol=1e-4):
        raise FAIL("history_val_loss", got=np.round(history["val_loss"], 4).tolist(), want=np.round(want, 4).tolist())
    if not all(0 <= a <= 100 for a in history["train_acc"]):
        raise FAIL("train_acc_not_percent")
    written = sorted(p.name for p in tmp_path.rglob("*"))
    if written:
        raise FAIL("wrote_without_best_path", written=written)


def saved_epochs(model: ScriptedNet, best_path) -> list[int]:
    """The epochs (1-based) whose model ``best_path`` holds; fails with the cause when it is not a state_dict."""
    if not best_path.is_file():
        raise FAIL("best_not_written", name=best_path.name)
    try:
        saved = torch.load(best_path, map_location="cpu", weights_only=True)
    except Exception as exc:
        held = refused_objects(best_path)
        method = held is not None and held.key == "checkpoints.holds_bound_method"
        raise FAIL("best_not_loadable", name=best_path.name, error=type(exc).__name__,
                   held=FAIL("it_holds", held=held) if held else "", object="" if method else FAIL("not_the_model")) from exc
    if not isinstance(saved, dict):
        raise FAIL("best_not_state_dict", name=best_path.name, type=type(saved).__name__)
    try:
        ScriptedNet(torch.zeros(N_VAL, dtype=torch.long)).load_state_dict(saved)
    except Exception as exc:
        raise FAIL("best_does_not_load", error=f"{type(exc).__name__}: {exc}") from exc
    return [e + 1 for e, snap in enumerate(model.snapshots) if all(torch.equal(saved[k], v) for k, v in snap.items())]


def wrong_best(epoch: int | None, best: int, name: str) -> Failure:
    """Why ``name`` holds the model of ``epoch`` rather than of ``best``, by what sets that epoch apart."""
    acc = [f"{a:.0f}%" for a in VAL_SCRIPT]
    if epoch is None:
        return FAIL("best_holds_no_model", name=name)
    held = FAIL("holds_epoch", name=name, epoch=epoch, acc=acc[epoch - 1], best=best, best_acc=acc[best - 1])
    if epoch == LOWEST_LOSS:
        return FAIL("saved_lowest_val_loss", held=held, epoch=epoch, accs=acc)
    if epoch == TIE:
        return FAIL("saved_on_tie", held=held, epoch=epoch, best_acc=acc[best - 1], best=best)
    return FAIL("saved_not_best", held=held, accs=acc)


@pytest.mark.points(2)
@pytest.mark.needs("test_train_epoch_units", "test_validate_units")
def test_fit_saves_only_new_best(mod, device, tmp_path):
    model, train_loader, val_loader, optimizer, _ = scripted_setup(device)
    best_path = tmp_path / "best.pth"
    mod.fit(model, train_loader, val_loader, nn.CrossEntropyLoss(), optimizer, device, epochs=5, best_path=best_path)
    check_validation_passes(model, 5)
    matches = saved_epochs(model, best_path)
    if BEST not in matches:
        raise wrong_best(matches[-1] if matches else None, BEST, best_path.name)


class StopAfter:
    """A stand-in for EarlyStopping that says stop at its n-th call."""

    def __init__(self, n: int) -> None:
        self.n, self.seen = n, []

    def step(self, val_loss) -> bool:
        self.seen.append(float(val_loss))
        return len(self.seen) >= self.n


@pytest.mark.points(1)
@pytest.mark.needs("test_train_epoch_units", "test_validate_units")
def test_fit_stops_early(mod, device, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    model, train_loader, val_loader, optimizer, _ = scripted_setup(device)
    stopper = StopAfter(2)
    history = mod.fit(model, train_loader, val_loader, nn.CrossEntropyLoss(), optimizer, device, epochs=5,
                      early_stopping=stopper)
    if not stopper.seen:
        raise FAIL("early_stopping_never_called")
    if not (len(stopper.seen) == 2 and isinstance(history, dict) and len(history.get("val_loss", [])) == 2):
        raise FAIL("did_not_stop", epochs=len(stopper.seen))
    if not np.allclose(stopper.seen, history["val_loss"]):
        raise FAIL("stopper_given_other_losses", seen=stopper.seen, losses=history["val_loss"])


@pytest.mark.points(1)
@pytest.mark.needs("test_fit_stops_early", "test_fit_saves_only_new_best")
def test_fit_saves_the_best_of_the_last_epoch(mod, device, tmp_path):
    model, train_loader, val_loader, optimizer, _ = scripted_setup(device)
    best_path = tmp_path / "best.pth"
    mod.fit(model, train_loader, val_loader, nn.CrossEntropyLoss(), optimizer, device, epochs=5,
            early_stopping=StopAfter(BEST), best_path=best_path)
    check_validation_passes(model, BEST)
    matches = saved_epochs(model, best_path)
    if BEST in matches:
        return
    if matches and matches[-1] < BEST:
        raise FAIL("stopped_before_saving", best=BEST, acc=VAL_SCRIPT[BEST - 1], name=best_path.name, epoch=matches[-1])
    raise wrong_best(matches[-1] if matches else None, BEST, best_path.name)
