"""Tests of 05_checkpoint/checkpoint.py: load_model_for_inference, predict_single_image, exact resume.

Each failure names the cause and the fix. "not started" means the test reached a stub's
NotImplementedError. The checkpoints the tests read are written by the tests themselves, so a
broken save_checkpoint does not fail the load tests. Hints: `grader hint 05`.
"""
from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from grader.checks import checkpoints as ckpt
from grader.checks.checkpoints import same, small_model, trained
from grader.checks.devices import OnDevice, unmoved

GRADES = "checkpoint"

pytestmark = pytest.mark.usefixtures("one_thread")  # torch on one thread: these tensors are tiny


def snapshot(module_or_optimizer) -> dict:
    """A detached CPU copy of a state_dict."""
    return _to_cpu(module_or_optimizer.state_dict())


def _to_cpu(x):
    if isinstance(x, torch.Tensor):
        return x.detach().cpu().clone()
    if isinstance(x, dict):
        return {k: _to_cpu(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return type(x)(_to_cpu(v) for v in x)
    return x


# ----------------------------------------------------------------------------- inference

@pytest.mark.points(2)
def test_load_model_for_inference(mod, tmp_path, device, monkeypatch):
    source, _ = trained(0, device)
    path = tmp_path / "best_model.pth"
    torch.save(source.state_dict(), path)  # the format fit() writes for the best model: a bare state_dict
    model = small_model(1).to(device).train()
    result = mod.load_model_for_inference(model, path)
    assert result is model, "load_model_for_inference should load into the model it is given and return that model"
    assert same(model.state_dict(), source.state_dict()), (
        "load_model_for_inference did not load the weights: model.load_state_dict(torch.load(path, ...))")
    assert not any(m.training for m in model.modules()), (
        "load_model_for_inference left the model in training mode (dropout would stay active): call model.eval()")

    foreign = tmp_path / "best-saved-on-a-gpu.pth"  # as written on a GPU machine, read where that GPU is missing
    ckpt.save_as_if_on(source.state_dict(), foreign)
    model = small_model(2).to(device)
    map_locations = ckpt.record_map_locations(monkeypatch)
    exc = ckpt.call_expecting_error(mod.load_model_for_inference, model, foreign)
    monkeypatch.undo()
    assert exc is None, ckpt.foreign_load_failed("load_model_for_inference", exc, map_locations)
    assert same(model.state_dict(), source.state_dict()), (
        "load_model_for_inference did not load the weights of a file saved on another device")


class _ProbeNet(nn.Module):
    """A tiny CNN (with dropout) that records, at every forward call, how it was called."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(1, 4, 3, padding=1)
        self.drop = nn.Dropout(0.5)
        self.fc = nn.Linear(4 * 7 * 7, 10)
        self.calls: list[dict] = []

    def forward(self, x):
        self.calls.append({"training": self.training or self.drop.training, "grad": torch.is_grad_enabled(),
                           "shape": tuple(x.shape), "device": x.device})
        x = F.max_pool2d(F.relu(self.conv(x)), 4)
        return self.fc(self.drop(torch.flatten(x, 1))).as_subclass(OnDevice)  # .cpu() before NumPy, as on a GPU


def probe_setup(device):
    torch.manual_seed(0)
    model = _ProbeNet().to(device)
    images = torch.randn(4, 1, 28, 28, generator=torch.Generator().manual_seed(1))
    model.eval()
    with torch.no_grad():
        probs = torch.softmax(model(images.to(device)), dim=1).cpu()
    model.calls.clear()
    return model, images, probs


def predict(mod, model, image, device):
    try:
        return mod.predict_single_image(model, unmoved(image)[0], device=device)  # fails unless moved, as on a GPU
    except NotImplementedError:
        raise
    except Exception as exc:
        if model.calls and model.calls[-1]["shape"] != (1, 1, 28, 28):
            raise AssertionError(f"the model received a tensor of shape {model.calls[-1]['shape']}: it expects a batch, so add "
                        "the batch dimension first, image.unsqueeze(0) -> (1, 1, 28, 28)") from exc
        raise


def check_prediction(i: int, result, probs: torch.Tensor, logits: torch.Tensor) -> None:
    """One image's (class, confidence) against its softmax ``probs`` (C,) and raw ``logits`` (C,)."""
    assert isinstance(result, tuple) and len(result) == 2, (
        f"predict_single_image should return a tuple (class, confidence), got {result!r}")
    cls, confidence = result
    expected_cls = int(probs.argmax())
    expected_conf = float(probs[expected_cls]) * 100
    if isinstance(cls, float) and confidence == expected_cls and abs(cls - expected_conf) < 1e-3 and abs(expected_conf - expected_cls) > 1e-3:
        raise AssertionError(f"image {i}: predict_single_image returned (confidence, class) = ({cls!r}, {confidence!r}): "
                             "the two are swapped. Return them in the contract's order, (class, confidence).")
    assert isinstance(cls, int) and not isinstance(cls, bool), (
        f"the predicted class should be a Python int, got {type(cls).__name__}: use .item()")
    assert isinstance(confidence, float), (
        f"the confidence should be a Python float, got {type(confidence).__name__}: use .item()")
    assert not (confidence == 100.0 and expected_conf < 99.99), (
        f"image {i}: confidence is exactly 100% (predicted class {cls}), but softmax over the classes gives "
        f"{expected_conf:.2f}% to class {expected_cls}: the softmax was taken over the batch dimension (dim=0), where a "
        "batch of one image has one entry, so every probability is 1. Take it over the classes: softmax(logits, dim=1)")
    assert cls == expected_cls, f"image {i}: predicted class {cls}, but the largest logit is class {expected_cls}"
    assert not (confidence <= 1.0 and abs(confidence * 100 - expected_conf) < 1e-3), (
        f"image {i}: confidence {confidence:.4f} is a fraction between 0 and 1: return it as a percent "
        "(multiply the softmax probability by 100)")
    raw = float(logits[expected_cls])
    assert not (abs(confidence - raw) < 1e-3 or abs(confidence - 100 * raw) < 1e-3), (
        f"image {i}: confidence {confidence:.4f} is the raw logit of the predicted class, not a probability: "
        "turn the logits into probabilities with softmax first, then report 100 * p[class]")
    assert 0.0 <= confidence <= 100.0 and abs(confidence - expected_conf) < 1e-3, (
        f"image {i}: confidence should be 100 * softmax(logits)[predicted class] = {expected_conf:.4f} "
        f"percent, got {confidence!r}")


@pytest.mark.points(2)
def test_predict_single_image_values(mod, device):
    model, images, probs = probe_setup(device)
    with torch.no_grad():
        logits = model(images.to(device)).cpu()
    model.calls.clear()
    for i, image in enumerate(images):
        model.eval()
        check_prediction(i, predict(mod, model, image, device), probs[i], logits[i])


@pytest.mark.points(2)
def test_predict_single_image_mode(mod, device):
    model, images, probs = probe_setup(device)
    with torch.no_grad():
        logits = model(images[:1].to(device)).cpu()
    model.calls.clear()
    model.train()  # as it would be straight after training
    result = predict(mod, model, images[0], device)
    assert model.calls, "predict_single_image never called the model"
    for call in model.calls:
        assert not call["training"], (
            "predict_single_image ran the model in training mode, so dropout was active and the prediction is "
            "random: call model.eval() before predicting")
        assert not call["grad"], (
            "predict_single_image tracked gradients during the forward pass: wrap it in torch.no_grad() "
            "(or torch.inference_mode())")
        assert call["shape"] == (1, 1, 28, 28), (
            f"the model received shape {call['shape']}: add the batch dimension, image.unsqueeze(0) -> (1, 1, 28, 28)")
        assert call["device"].type == torch.device(device).type, (
            f"the image reached the model on {call['device']}, not on {device}: move it with .to(device)")
    check_prediction(0, result, probs[0], logits[0])


# ----------------------------------------------------------------------------- resuming

RESUME_N, RESUME_M = 3, 3


def resume_setup(seed: int) -> tuple[nn.Module, torch.optim.Optimizer]:
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Linear(10, 32), nn.ReLU(), nn.Dropout(0.3), nn.Linear(32, 3))
    return model, torch.optim.Adam(model.parameters(), lr=0.01)


def resume_data() -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(123)
    return torch.randn(96, 10, generator=g), torch.randint(0, 3, (96,), generator=g)


def run_epochs(model, optimizer, x, y, first: int, stop: int) -> float:
    """Epochs first .. stop-1. Each epoch reseeds torch, so batch order and dropout masks depend only on its number."""
    model.train()
    loss = torch.tensor(0.0)
    for epoch in range(first, stop):
        torch.manual_seed(1000 + epoch)
        order = torch.randperm(len(x))
        for start in range(0, len(x), 16):
            batch = order[start:start + 16]
            optimizer.zero_grad()
            loss = F.cross_entropy(model(x[batch]), y[batch])
            loss.backward()
            optimizer.step()
    return loss.item()


@pytest.mark.points(4)
def test_resume_is_bit_exact(mod, tmp_path):
    x, y = resume_data()
    straight, straight_opt = resume_setup(0)
    run_epochs(straight, straight_opt, x, y, 0, RESUME_N + RESUME_M)

    first, first_opt = resume_setup(0)
    loss = run_epochs(first, first_opt, x, y, 0, RESUME_N)
    path = tmp_path / "resume" / "checkpoint.pth"
    ckpt.save(mod, first, first_opt, RESUME_N, loss, 50.0, path)
    saved_model, saved_opt = snapshot(first), snapshot(first_opt)

    resumed, resumed_opt = resume_setup(1)  # fresh objects with a different initialisation
    try:
        info, load_error = mod.load_checkpoint(path, resumed, resumed_opt), None
    except NotImplementedError:
        raise
    except Exception as exc:  # noqa: BLE001 - diagnosed below
        info, load_error = None, exc
    try:
        raw = torch.load(path, map_location="cpu", weights_only=True)
    except Exception:  # noqa: BLE001 - reported below
        raw = None
    optimizer_saved = isinstance(raw, dict) and isinstance(raw.get("optimizer_state_dict"), dict) and bool(
        raw["optimizer_state_dict"].get("state"))
    no_optimizer = (
        f"resumed training differs from {RESUME_N + RESUME_M} epochs straight through: the checkpoint holds no "
        "optimizer state, so Adam restarts with empty moment estimates and takes different steps. Save "
        "optimizer.state_dict() as 'optimizer_state_dict' and restore it in load_checkpoint")
    held = ckpt.refused_objects(path) if raw is None else None
    assert raw is not None, (
        "the file written by save_checkpoint cannot be read with torch.load(path, weights_only=True), so training "
        "cannot resume from it" + (f": it holds {held}" if held else "") + ". Save a dict of state_dicts, numbers and "
        "a string")
    if load_error is not None:
        assert optimizer_saved, no_optimizer
        raise AssertionError(f"load_checkpoint failed on a file written by save_checkpoint: "
                             f"{type(load_error).__name__}: {str(load_error)[:150]}") from load_error
    after_load_model, after_load_opt = snapshot(resumed), snapshot(resumed_opt)
    start = info.get("epoch") if isinstance(info, dict) else None
    run_epochs(resumed, resumed_opt, x, y, RESUME_N, RESUME_N + RESUME_M)

    if all(torch.equal(a, b) for a, b in zip(straight.state_dict().values(), resumed.state_dict().values())):
        return
    assert optimizer_saved, no_optimizer
    assert same(after_load_model, saved_model), (
        "resumed training differs from training straight through: load_checkpoint did not restore the model's "
        "parameters (model.load_state_dict(checkpoint['model_state_dict']))")
    assert same(after_load_opt, saved_opt), (
        "resumed training differs from training straight through: load_checkpoint did not restore the optimizer "
        "state, so Adam restarted its moment estimates: call optimizer.load_state_dict(checkpoint['optimizer_state_dict'])")
    assert start == RESUME_N, (
        f"load_checkpoint returned epoch {start!r}, but the checkpoint was saved after epoch {RESUME_N}")
    raise AssertionError("resumed training differs from training straight through although the model and optimizer were "
                "restored: make sure save_checkpoint and load_checkpoint change nothing else (no extra steps, "
                "no changes to the parameters)")
