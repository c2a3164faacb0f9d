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
            pytest.fail(f"fit swapped the loaders: it trained on val_loader and validated on train_loader "
                        f"({count['train', False]} evaluation passes over train_loader in {epochs} epochs). Call "
                        "train_epoch(model, train_loader, ...) then validate(model, val_loader, ...)")
        pytest.fail(f"fit evaluated on train_loader ({count['train', False]} evaluation passes in {epochs} epochs) and "
                    "never on val_loader: call validate(model, val_loader, criterion, device)")
    trained = count["train", True]
    if trained != epochs and trained == len(model.snapshots):
        pytest.fail(f"fit ran {trained} epochs when asked for epochs={epochs} (train_epoch and validate ran {trained} "
                    f"times each): the epoch loop runs {abs(trained - epochs)} time(s) too "
                    f"{'few' if trained < epochs else 'many'}. Loop `for epoch in range(epochs)` (or range(1, epochs + 1))"
                    + ("; range(1, epochs) is one short." if trained < epochs else "."))
    assert len(model.snapshots) == epochs, (
        f"fit went over val_loader {len(model.snapshots)} times in {epochs} epochs: validate on it once per epoch, "
        "after that epoch's train_epoch")


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
    assert isinstance(history, dict), f"fit must return a dict of lists, got {type(history).__name__}"
    assert set(history) == keys, f"fit's history must have exactly the keys {sorted(keys)}, got {sorted(history)}"
    for key in sorted(keys):
        assert len(history[key]) == epochs, (
            f"history[{key!r}] has {len(history[key])} entries after {epochs} epochs: append one per epoch")
        assert all(is_number(v) for v in history[key]), (
            f"history[{key!r}] holds {type(history[key][0]).__name__} values: store plain numbers (.item())")


@pytest.mark.points(1)
@pytest.mark.needs("test_train_epoch_units", "test_validate_units")
def test_fit_history(mod, device, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    model, train_loader, val_loader, optimizer, y_val = scripted_setup(device)
    history = mod.fit(model, train_loader, val_loader, nn.CrossEntropyLoss(), optimizer, device, epochs=5)
    check_validation_passes(model, 5)
    check_history(history, 5)
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


def saved_epochs(model: ScriptedNet, best_path) -> list[int]:
    """The epochs (1-based) whose model ``best_path`` holds; fails with the cause when it is not a state_dict."""
    assert best_path.is_file(), f"fit(best_path=...) did not write {best_path.name}: torch.save(model.state_dict(), best_path)"
    try:
        saved = torch.load(best_path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - any failure is the learner's to fix
        held = refused_objects(best_path)
        pytest.fail(f"{best_path.name} is not a loadable state_dict ({type(exc).__name__})"
                    + (f": it holds {held}" if held else "") + ". Save torch.save(model.state_dict(), best_path)"
                    + ("" if held and "bound method" in str(held) else ", not the model object"))
    assert isinstance(saved, dict), (
        f"{best_path.name} holds a {type(saved).__name__}, not a state_dict: torch.save(model.state_dict(), best_path)")
    try:
        ScriptedNet(torch.zeros(N_VAL, dtype=torch.long)).load_state_dict(saved)
    except Exception as exc:  # noqa: BLE001
        pytest.fail(f"the saved file does not load into a fresh model ({type(exc).__name__}: {exc}): save model.state_dict()")
    return [e + 1 for e, snap in enumerate(model.snapshots) if all(torch.equal(saved[k], v) for k, v in snap.items())]


def wrong_best(epoch: int | None, best: int, name: str) -> str:
    """Why ``name`` holds the model of ``epoch`` rather than of ``best``, by what sets that epoch apart."""
    acc = [f"{a:.0f}%" for a in VAL_SCRIPT]
    if epoch is None:
        return (f"{name} holds none of the models fit validated: save model.state_dict() right after the epoch "
                "whose val_acc is a new best")
    held = f"{name} holds the model of epoch {epoch} (val_acc {acc[epoch - 1]}), not the best epoch {best} ({acc[best - 1]})"
    if epoch == LOWEST_LOSS:
        return (f"{held}. Epoch {epoch} had the lowest val_loss but not the highest val_acc (val_acc per epoch: {acc}): "
                "the best model is the one with the highest validation accuracy. Save when val_acc beats the best "
                "val_acc so far.")
    if epoch == TIE:
        return (f"{held}. Epoch {epoch} only equalled the best val_acc {acc[best - 1]} of epoch {best}: a new best must "
                "be strictly higher (val_acc > best_acc), so a tie keeps the earlier model.")
    return (f"{held}; val_acc per epoch was {acc}. Save only when val_acc beats the best so far, and remember the "
            "new best.")


@pytest.mark.points(2)
@pytest.mark.needs("test_train_epoch_units", "test_validate_units")
def test_fit_saves_only_new_best(mod, device, tmp_path):
    model, train_loader, val_loader, optimizer, _ = scripted_setup(device)
    best_path = tmp_path / "best.pth"
    mod.fit(model, train_loader, val_loader, nn.CrossEntropyLoss(), optimizer, device, epochs=5, best_path=best_path)
    check_validation_passes(model, 5)
    matches = saved_epochs(model, best_path)
    if BEST not in matches:
        pytest.fail(wrong_best(matches[-1] if matches else None, BEST, best_path.name))


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
    assert stopper.seen, "fit never called early_stopping.step(val_loss): call it after each epoch's validation"
    assert len(stopper.seen) == 2 and isinstance(history, dict) and len(history.get("val_loss", [])) == 2, (
        f"early_stopping.step() returned True after epoch 2, but fit went on ({len(stopper.seen)} epochs): "
        "break out of the epoch loop when it says stop")
    assert np.allclose(stopper.seen, history["val_loss"]), (
        f"fit gave early_stopping.step() {stopper.seen}, not the epochs' validation losses {history['val_loss']}")


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
        pytest.fail(f"early_stopping said stop after epoch {BEST}, whose val_acc {VAL_SCRIPT[BEST - 1]:.0f}% was a new "
                    f"best, and {best_path.name} still holds epoch {matches[-1]}: finish the epoch (save the new best) "
                    "before breaking out of the loop")
    pytest.fail(wrong_best(matches[-1] if matches else None, BEST, best_path.name))
