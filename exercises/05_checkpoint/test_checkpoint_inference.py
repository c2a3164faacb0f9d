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
from grader.core import failures

FAIL = failures.table(__file__)

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
    if result is not model:
        raise FAIL("inference_not_same_model")
    if not same(model.state_dict(), source.state_dict()):
        raise FAIL("inference_weights_not_loaded")
    if any(m.training for m in model.modules()):
        raise FAIL("inference_training_mode")

    foreign = tmp_path / "best-saved-on-a-gpu.pth"  # as written on a GPU machine, read where that GPU is missing
    ckpt.save_as_if_on(source.state_dict(), foreign)
    model = small_model(2).to(device)
    map_locations = ckpt.record_map_locations(monkeypatch)
    exc = ckpt.call_expecting_error(mod.load_model_for_inference, model, foreign)
    monkeypatch.undo()
    if exc is not None:
        raise ckpt.foreign_load_failed("load_model_for_inference", exc, map_locations)
    if not same(model.state_dict(), source.state_dict()):
        raise FAIL("inference_weights_not_loaded_foreign")


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
            raise FAIL("no_batch_dimension", shape=model.calls[-1]["shape"]) from exc
        raise


def check_prediction(i: int, result, probs: torch.Tensor, logits: torch.Tensor) -> None:
    """One image's (class, confidence) against its softmax ``probs`` (C,) and raw ``logits`` (C,)."""
    if not (isinstance(result, tuple) and len(result) == 2):
        raise FAIL("prediction_not_pair", result=result)
    cls, confidence = result
    expected_cls = int(probs.argmax())
    expected_conf = float(probs[expected_cls]) * 100
    if isinstance(cls, float) and confidence == expected_cls and abs(cls - expected_conf) < 1e-3 and abs(expected_conf - expected_cls) > 1e-3:
        raise FAIL("class_and_confidence_swapped", i=i, cls=cls, confidence=confidence)
    if not (isinstance(cls, int) and not isinstance(cls, bool)):
        raise FAIL("class_not_int", type=type(cls).__name__)
    if not isinstance(confidence, float):
        raise FAIL("confidence_not_float", type=type(confidence).__name__)
    if confidence == 100.0 and expected_conf < 99.99:
        raise FAIL("softmax_over_batch", i=i, cls=cls, want=expected_conf, want_cls=expected_cls)
    if cls != expected_cls:
        raise FAIL("class_not_argmax", i=i, cls=cls, want_cls=expected_cls)
    if confidence <= 1.0 and abs(confidence * 100 - expected_conf) < 1e-3:
        raise FAIL("confidence_as_fraction", i=i, confidence=confidence)
    raw = float(logits[expected_cls])
    if abs(confidence - raw) < 1e-3 or abs(confidence - 100 * raw) < 1e-3:
        raise FAIL("confidence_is_logit", i=i, confidence=confidence)
    if not (0.0 <= confidence <= 100.0 and abs(confidence - expected_conf) < 1e-3):
        raise FAIL("confidence_wrong", i=i, want=expected_conf, confidence=confidence)


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
    if not model.calls:
        raise FAIL("model_never_called")
    for call in model.calls:
        if call["training"]:
            raise FAIL("predict_training_mode")
        if call["grad"]:
            raise FAIL("predict_tracked_gradients")
        if call["shape"] != (1, 1, 28, 28):
            raise FAIL("wrong_input_shape", shape=call["shape"])
        if call["device"].type != torch.device(device).type:
            raise FAIL("image_not_moved", got=call["device"], device=device)
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
    no_optimizer = FAIL("resume_without_optimizer_state", epochs=RESUME_N + RESUME_M)
    if raw is None:
        held = ckpt.refused_objects(path)
        raise FAIL("resume_file_unreadable", held=FAIL("it_holds", held=held) if held else "")
    if load_error is not None:
        if not optimizer_saved:
            raise no_optimizer
        raise FAIL("load_failed_on_saved_file", error=f"{type(load_error).__name__}: {str(load_error)[:150]}") from load_error
    after_load_model, after_load_opt = snapshot(resumed), snapshot(resumed_opt)
    start = info.get("epoch") if isinstance(info, dict) else None
    run_epochs(resumed, resumed_opt, x, y, RESUME_N, RESUME_N + RESUME_M)

    if all(torch.equal(a, b) for a, b in zip(straight.state_dict().values(), resumed.state_dict().values())):
        return
    if not optimizer_saved:
        raise no_optimizer
    if not same(after_load_model, saved_model):
        raise FAIL("resume_model_not_restored")
    if not same(after_load_opt, saved_opt):
        raise FAIL("resume_optimizer_not_restored")
    if start != RESUME_N:
        raise FAIL("resume_wrong_epoch", start=start, epoch=RESUME_N)
    raise FAIL("resume_differs_otherwise")
