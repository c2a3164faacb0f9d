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

from grader.checks.probes import BATCH, N_CLASSES, N_FEATURES, is_number, loader_of, random_data

GRADES = "train"

pytestmark = pytest.mark.usefixtures("one_thread")  # torch on one thread: these tensors are tiny


# --------------------------------------------------------------------------- fit

VAL_SCRIPT = [50.0, 80.0, 60.0, 70.0, 65.0]  # val accuracy per epoch; epoch 2 is the best
N_VAL = 20


class ScriptedNet(nn.Module):
    """Trains like a linear model; on validation inputs it scores the accuracy VAL_SCRIPT gives that epoch.

    Inputs carry two extra columns: the sample's index and a flag (1 = validation set).
    Each epoch's parameters are snapshotted when its validation starts.
    """

    def __init__(self, val_labels: torch.Tensor) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.linear = nn.Linear(N_FEATURES, N_CLASSES)
        self.val_labels = val_labels
        self.epochs_validated = 0
        self.validating = False
        self.snapshots: list[dict] = []

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        logits = self.linear(x[:, :N_FEATURES])
        if x[0, N_FEATURES + 1].item() < 0.5:
            self.validating = False
            return logits
        if not self.validating:
            self.validating = True
            self.epochs_validated += 1
            self.snapshots.append({k: v.detach().cpu().clone() for k, v in self.state_dict().items()})
        epoch = min(self.epochs_validated, len(VAL_SCRIPT))
        n_right = round(VAL_SCRIPT[epoch - 1] / 100 * N_VAL)
        index = x[:, N_FEATURES].long()
        labels = self.val_labels.to(x.device)[index]
        target = torch.where(index < n_right, labels, (labels + 1) % N_CLASSES)
        return 6.0 * F.one_hot(target, N_CLASSES).to(logits.dtype) + 0.0 * logits.detach()


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
    return F.cross_entropy(6.0 * F.one_hot(target, N_CLASSES).float(), y_val).item()


def check_history(history, epochs: int) -> None:
    keys = {"train_loss", "train_acc", "val_loss", "val_acc"}
    assert isinstance(history, dict), f"fit must return a dict of lists, got {type(history).__name__}"
    assert set(history) == keys, f"fit's history must have exactly the keys {sorted(keys)}, got {sorted(history)}"
    for key in sorted(keys):
        assert len(history[key]) == epochs, (
            f"history[{key!r}] has {len(history[key])} entries after {epochs} epochs: append one per epoch")
        assert all(is_number(v) for v in history[key]), (
            f"history[{key!r}] holds {type(history[key][0]).__name__} values: store plain numbers (.item())")


@pytest.mark.points(1)
@pytest.mark.needs("test_validate_units")
def test_fit_history(mod, device, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    model, train_loader, val_loader, optimizer, y_val = scripted_setup(device)
    history = mod.fit(model, train_loader, val_loader, nn.CrossEntropyLoss(), optimizer, device, epochs=5)
    check_history(history, 5)
    assert model.epochs_validated == 5, f"fit ran validation {model.epochs_validated} times in 5 epochs: once per epoch"
    assert np.allclose(history["val_acc"], VAL_SCRIPT), (
        f"history['val_acc'] is {history['val_acc']}, but validate() scored {VAL_SCRIPT}: record validate's accuracy "
        "of each epoch")
    want = [scripted_val_loss(e, y_val) for e in range(1, 6)]
    assert np.allclose(history["val_loss"], want, rtol=1e-4), (
        f"history['val_loss'] is {np.round(history['val_loss'], 4).tolist()}, but validate() gave "
        f"{np.round(want, 4).tolist()}: record validate's loss of each epoch")
    assert all(0 <= a <= 100 for a in history["train_acc"]), "history['train_acc'] must hold percentages (0..100)"
    written = sorted(p.name for p in tmp_path.rglob("*"))
    assert not written, f"fit wrote {written} although best_path is None: save the model only when best_path is given"


@pytest.mark.points(2)
@pytest.mark.needs("test_validate_units")
def test_fit_saves_only_new_best(mod, device, tmp_path):
    model, train_loader, val_loader, optimizer, _ = scripted_setup(device)
    best_path = tmp_path / "best.pth"
    mod.fit(model, train_loader, val_loader, nn.CrossEntropyLoss(), optimizer, device, epochs=5, best_path=best_path)
    assert best_path.is_file(), f"fit(best_path=...) did not write {best_path.name}: torch.save(model.state_dict(), best_path)"
    try:
        saved = torch.load(best_path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - any failure is the learner's to fix
        pytest.fail(f"{best_path.name} is not a loadable state_dict ({type(exc).__name__}): save model.state_dict(), "
                    "not the model object")
    assert isinstance(saved, dict), "fit must save model.state_dict() (a dict of tensors), not the model object"
    try:
        ScriptedNet(torch.zeros(N_VAL, dtype=torch.long)).load_state_dict(saved)
    except Exception as exc:  # noqa: BLE001
        pytest.fail(f"the saved file does not load into a fresh model ({type(exc).__name__}: {exc}): save model.state_dict()")
    snapshots = model.snapshots
    assert len(snapshots) == 5, f"fit ran validation {len(snapshots)} times in 5 epochs: once per epoch"
    matches = [e + 1 for e, snap in enumerate(snapshots) if all(torch.equal(saved[k], v) for k, v in snap.items())]
    best = int(np.argmax(VAL_SCRIPT)) + 1
    if best in matches:
        return
    if matches:
        epoch = matches[-1]
        pytest.fail(f"{best_path.name} holds the model of epoch {epoch} (val_acc {VAL_SCRIPT[epoch - 1]:.0f}%), not the best "
                    f"epoch {best} ({VAL_SCRIPT[best - 1]:.0f}%); val_acc per epoch was {VAL_SCRIPT}. Save only when "
                    "val_acc beats the best so far, and remember the new best.")
    pytest.fail(f"{best_path.name} holds none of the models fit trained: save model.state_dict() right after "
                f"the epoch whose val_acc is a new best")


class StopAfter:
    """A stand-in for EarlyStopping that says stop at its n-th call."""

    def __init__(self, n: int) -> None:
        self.n, self.seen = n, []

    def step(self, val_loss) -> bool:
        self.seen.append(float(val_loss))
        return len(self.seen) >= self.n


@pytest.mark.points(1)
@pytest.mark.needs("test_validate_units")
def test_fit_stops_early(mod, device, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    model, train_loader, val_loader, optimizer, _ = scripted_setup(device)
    stopper = StopAfter(2)
    history = mod.fit(model, train_loader, val_loader, nn.CrossEntropyLoss(), optimizer, device, epochs=5,
                      early_stopping=stopper)
    assert stopper.seen, "fit never called early_stopping.step(val_loss): call it after each epoch's validation"
    assert len(stopper.seen) == 2 and isinstance(history, dict) and len(history.get("val_loss", [])) == 2, (
        f"early_stopping.step() returned True after epoch 2, but fit went on ({len(stopper.seen)} epochs): "
        "break out of the epoch loop when it says stop")
    assert np.allclose(stopper.seen, history["val_loss"]), (
        f"fit gave early_stopping.step() {stopper.seen}, not the epochs' validation losses {history['val_loss']}")
