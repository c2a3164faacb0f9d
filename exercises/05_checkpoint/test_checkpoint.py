"""Tests for 05_checkpoint: what a checkpoint holds, atomic saving, safe loading, inference, exact resume."""
from __future__ import annotations

import builtins
import io
import os
import pickle
import random
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from grader.checks.devices import OnDevice, unmoved

KEYS = ("epoch", "model_state_dict", "optimizer_state_dict", "loss", "accuracy", "model_architecture")


# ----------------------------------------------------------------------------- helpers

pytestmark = pytest.mark.usefixtures("one_thread")  # torch on one thread: these tensors are tiny


def call_expecting_error(fn, *args, **kwargs) -> Exception | None:
    """Call fn; return the exception it raised (None if none). A stub's NotImplementedError passes through."""
    try:
        fn(*args, **kwargs)
    except NotImplementedError:
        raise
    except Exception as exc:  # noqa: BLE001 - any error type is acceptable, we inspect it
        return exc
    return None


def small_model(seed: int) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Flatten(), nn.Linear(16, 12), nn.ReLU(), nn.Dropout(0.25), nn.Linear(12, 4))


def trained(seed: int, device: torch.device) -> tuple[nn.Module, torch.optim.Optimizer]:
    """A small model and an Adam optimizer after two steps, so the optimizer has state to save."""
    model = small_model(seed).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    g = torch.Generator().manual_seed(seed)
    x, y = torch.randn(8, 16, generator=g).to(device), torch.randint(0, 4, (8,), generator=g).to(device)
    for _ in range(2):
        optimizer.zero_grad()
        F.cross_entropy(model(x), y).backward()
        optimizer.step()
    return model, optimizer


def fresh(seed: int, device: torch.device) -> tuple[nn.Module, torch.optim.Optimizer]:
    model = small_model(seed).to(device)
    return model, torch.optim.Adam(model.parameters(), lr=0.01)


def same(a, b) -> bool:
    """Deep equality for state dicts: tensors exactly equal (on CPU), containers element-wise."""
    if isinstance(a, torch.Tensor) or isinstance(b, torch.Tensor):
        return (isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor) and a.shape == b.shape
                and torch.equal(a.detach().cpu(), b.detach().cpu()))
    if isinstance(a, dict) or isinstance(b, dict):
        return isinstance(a, dict) and isinstance(b, dict) and a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)) or isinstance(b, (list, tuple)):
        return isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)) and len(a) == len(b) and all(map(same, a, b))
    return a == b


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


def read_checkpoint(path: Path) -> dict:
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise AssertionError(f"the file written by save_checkpoint cannot be read with torch.load(path, weights_only=True) "
                             f"(it raised {type(exc).__name__}): save a dict of state_dicts, numbers and a string, "
                             "not the model or optimizer objects themselves") from exc
    assert isinstance(checkpoint, dict), (
        f"the checkpoint file should hold one dict with the keys {KEYS}, got a {type(checkpoint).__name__}")
    return checkpoint


def write_contract_checkpoint(path: Path, model: nn.Module, optimizer, epoch=5, loss=0.25, accuracy=91.5) -> None:
    """A checkpoint in the contract's format, written by the test itself (so load tests do not depend on save)."""
    torch.save({"epoch": epoch, "model_state_dict": model.state_dict(), "optimizer_state_dict": optimizer.state_dict(),
                "loss": loss, "accuracy": accuracy, "model_architecture": str(model)}, path)


def names_path(exc: Exception, path: Path) -> bool:
    text = str(exc)
    return str(path) in text or str(path.resolve()) in text


# ----------------------------------------------------------------------------- save_checkpoint

@pytest.mark.points(3)
def test_save_checkpoint_contents(mod, tmp_path, device):
    model, optimizer = trained(0, device)
    path = tmp_path / "checkpoint.pth"
    mod.save_checkpoint(model, optimizer, 7, 0.4321, 88.5, path)
    assert path.is_file(), "save_checkpoint(model, optimizer, epoch, loss, accuracy, path) did not create a file at path"
    checkpoint = read_checkpoint(path)
    missing = [k for k in KEYS if k not in checkpoint]
    assert "optimizer_state_dict" not in missing, (
        "the checkpoint holds no optimizer state ('optimizer_state_dict' is missing): without Adam's moment "
        "estimates training cannot resume where it stopped; save optimizer.state_dict() under that key")
    assert not missing, f"the checkpoint is missing the key(s) {missing}; it must hold all of {list(KEYS)}"
    assert type(checkpoint["epoch"]) is int and checkpoint["epoch"] == 7, (
        f"checkpoint['epoch'] should be the int 7 that was passed in, got {checkpoint['epoch']!r}")
    assert isinstance(checkpoint["loss"], float) and checkpoint["loss"] == 0.4321, (
        f"checkpoint['loss'] should be the float 0.4321 that was passed in, got {checkpoint['loss']!r}")
    assert isinstance(checkpoint["accuracy"], float) and checkpoint["accuracy"] == 88.5, (
        f"checkpoint['accuracy'] should be the float 88.5 that was passed in, got {checkpoint['accuracy']!r}")
    assert checkpoint["model_architecture"] == str(model), (
        "checkpoint['model_architecture'] should be str(model), the printed description of the layers")
    assert same(checkpoint["model_state_dict"], model.state_dict()), (
        "checkpoint['model_state_dict'] does not match model.state_dict(): save the model's state_dict()")
    assert same(checkpoint["optimizer_state_dict"], optimizer.state_dict()), (
        "checkpoint['optimizer_state_dict'] does not match optimizer.state_dict(): save the optimizer's "
        "state_dict() (it carries Adam's moment estimates and step counts)")


@pytest.mark.points(1)
def test_save_creates_parent_folders(mod, tmp_path, device):
    model, optimizer = trained(0, device)
    path = tmp_path / "runs" / "experiment-1" / "checkpoint.pth"
    exc = call_expecting_error(mod.save_checkpoint, model, optimizer, 1, 0.5, 80.0, path)
    assert exc is None, (
        f"save_checkpoint failed when the parent folder did not exist yet ({type(exc).__name__}: {str(exc)[:120]}): "
        "create it first with path.parent.mkdir(parents=True, exist_ok=True)")
    assert path.is_file(), "save_checkpoint did not write the file when its parent folders had to be created"


@pytest.mark.points(1)
def test_save_returns_path(mod, tmp_path, device):
    model, optimizer = trained(0, device)
    path = tmp_path / "checkpoint.pth"
    result = mod.save_checkpoint(model, optimizer, 1, 0.5, 80.0, str(path))
    assert isinstance(result, Path), (
        f"save_checkpoint should return a pathlib.Path even when given a str, got {type(result).__name__}: "
        "convert with Path(path) and return it")
    assert result.resolve() == path.resolve(), f"save_checkpoint returned {result}, expected the path it wrote, {path}"


class _CrashWhenPickled(torch.Tensor):
    """A tensor that raises while torch.save serialises it: simulates a crash in the middle of a write."""

    def __reduce_ex__(self, protocol):
        raise RuntimeError("simulated crash while writing the checkpoint")


class _Crashable(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(4, 2)
        self.register_buffer("counter", torch.zeros(1))

    def forward(self, x):
        return self.fc(x)


@pytest.mark.points(3)
def test_save_is_atomic(mod, tmp_path, monkeypatch):
    torch.manual_seed(0)
    model = _Crashable()
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    path = tmp_path / "checkpoint.pth"
    mod.save_checkpoint(model, optimizer, 1, 0.9, 60.0, path)
    assert path.is_file(), "save_checkpoint did not create a file at path"
    before = path.read_bytes()
    not_atomic = ("a save that failed halfway ({how}) destroyed the earlier checkpoint at path: the write is not "
                  "atomic. Write into a temporary file in the same folder first, then move it onto path in one step "
                  "with os.replace(tmp, path), so path always holds a complete checkpoint")
    swallowed = ("save_checkpoint returned normally although writing failed ({how}): let the error propagate so "
                 "the caller knows the checkpoint was not saved")

    # 1. the model's state cannot be serialised: torch.save fails after it has started writing.
    model.counter = torch.zeros(1).as_subclass(_CrashWhenPickled)
    how = "an error while serialising the model"
    exc = call_expecting_error(mod.save_checkpoint, model, optimizer, 2, 0.8, 70.0, path)
    assert path.read_bytes() == before, not_atomic.format(how=how)
    assert exc is not None, swallowed.format(how=how)
    model.counter = torch.zeros(1)

    # 2. torch.save writes a few bytes, then the disk "fills up".
    calls = []

    def crashing_save(obj, f, *args, **kwargs):
        calls.append(f)
        if hasattr(f, "write"):
            f.write(b"half a checkpoint")
        else:
            with open(f, "wb") as handle:
                handle.write(b"half a checkpoint")
        raise OSError("simulated crash: no space left on device")

    monkeypatch.setattr(torch, "save", crashing_save)
    monkeypatch.setattr(torch.serialization, "save", crashing_save)
    how = "torch.save crashed after writing a few bytes"
    exc = call_expecting_error(mod.save_checkpoint, model, optimizer, 3, 0.7, 75.0, path)
    monkeypatch.undo()
    if calls:  # only meaningful when the implementation goes through torch.save
        assert path.read_bytes() == before, not_atomic.format(how=how)
        assert exc is not None, swallowed.format(how=how)

    # 3. whatever opens path itself for writing (torch.save(..., path), a copy onto path) crashes half-way;
    #    a rename (os.replace, os.rename, Path.replace) never opens path, so it is not affected.
    real_open, crashed = builtins.open, []

    def crashing_open(file, mode="r", *args, **kwargs):
        handle = real_open(file, mode, *args, **kwargs)
        if isinstance(file, (str, os.PathLike)) and set(mode) & set("wax+") and Path(file).resolve() == path.resolve():
            crashed.append(mode)
            handle.write(b"half" if "b" in mode else "half")
            handle.close()
            raise OSError("simulated crash: no space left on device")
        return handle

    monkeypatch.setattr(builtins, "open", crashing_open)
    monkeypatch.setattr(io, "open", crashing_open)
    how = "writing straight into path crashed after a few bytes"
    exc = call_expecting_error(mod.save_checkpoint, model, optimizer, 4, 0.6, 80.0, path)
    monkeypatch.undo()
    if crashed:
        assert path.read_bytes() == before, not_atomic.format(how=how)
        assert exc is not None, swallowed.format(how=how)


@pytest.mark.points(1)
def test_save_leaves_no_temporary_files(mod, tmp_path, device):
    model, optimizer = trained(0, device)
    folder = tmp_path / "checkpoints"
    folder.mkdir()
    path = folder / "checkpoint.pth"
    mod.save_checkpoint(model, optimizer, 1, 0.5, 80.0, path)
    mod.save_checkpoint(model, optimizer, 2, 0.4, 85.0, path)  # overwrite an existing checkpoint
    extra = sorted(p.name for p in folder.iterdir() if p.name != path.name)
    assert not extra, (
        f"after saving, the folder holds more than the checkpoint: {extra}. Move the temporary file onto path "
        "(os.replace) instead of copying it, and never leave it behind")
    assert read_checkpoint(path).get("epoch") == 2, (
        "saving again to the same path must replace the old checkpoint: the file still holds the first one")


# ----------------------------------------------------------------------------- load_checkpoint

@pytest.mark.points(2)
def test_load_restores_model_and_returns_info(mod, tmp_path, device):
    source, optimizer = trained(0, device)
    path = tmp_path / "checkpoint.pth"
    write_contract_checkpoint(path, source, optimizer, epoch=5, loss=0.25, accuracy=91.5)
    model, _ = fresh(1, device)
    info = mod.load_checkpoint(path, model, map_location=device)
    assert same(model.state_dict(), source.state_dict()), (
        "load_checkpoint did not restore the model: call model.load_state_dict(checkpoint['model_state_dict'])")
    assert isinstance(info, dict), f"load_checkpoint should return a dict, got {type(info).__name__}"
    expected = {"epoch": 5, "loss": 0.25, "accuracy": 91.5}
    got = {k: info.get(k) for k in expected}
    assert got == expected, f"load_checkpoint should return {expected} from the file, got {got}"


@pytest.mark.points(3)
def test_load_restores_optimizer(mod, tmp_path, device):
    source, source_optimizer = trained(0, device)
    path = tmp_path / "checkpoint.pth"
    write_contract_checkpoint(path, source, source_optimizer)
    model, optimizer = fresh(1, device)
    mod.load_checkpoint(path, model, optimizer, map_location=device)
    assert optimizer.state_dict()["state"], (
        "load_checkpoint did not restore the optimizer: the optimizer passed in still has no state. "
        "When an optimizer is given, call optimizer.load_state_dict(checkpoint['optimizer_state_dict'])")
    assert same(optimizer.state_dict(), source_optimizer.state_dict()), (
        "after load_checkpoint the optimizer's state_dict() differs from the saved one: restore it with "
        "optimizer.load_state_dict(checkpoint['optimizer_state_dict'])")


class _RunsCode:
    """Unpickling this object calls exec(code): what a booby-trapped checkpoint does."""

    def __init__(self, code: str) -> None:
        self.code = code

    def __reduce__(self):
        return (exec, (self.code,))


@pytest.mark.points(3)
def test_load_refuses_pickled_code(mod, tmp_path, device):
    source, optimizer = trained(0, device)
    for i, kind in enumerate(("torch.save zip file", "plain pickle file")):
        marker = tmp_path / f"payload-ran-{i}.txt"
        payload = _RunsCode(f"open({str(marker)!r}, 'w').write('the payload ran')")
        path = tmp_path / f"untrusted-{i}.pth"
        if kind.startswith("torch"):
            torch.save({"epoch": 3, "model_state_dict": source.state_dict(), "optimizer_state_dict": optimizer.state_dict(),
                        "loss": 0.1, "accuracy": 97.0, "model_architecture": str(source), "note": payload}, path)
        else:
            path.write_bytes(pickle.dumps({"epoch": 3, "note": payload}, protocol=2))
        model, opt = fresh(1, device)
        exc = call_expecting_error(mod.load_checkpoint, path, model, opt)
        assert not marker.exists(), (
            f"load_checkpoint ran code hidden inside an untrusted {kind} (it wrote a marker file): a pickle can run "
            "anything when it is unpickled. Read checkpoints with torch.load(path, weights_only=True), which only "
            "accepts tensors and plain data (never weights_only=False)")
        assert exc is not None, (
            f"load_checkpoint accepted a {kind} that carries pickled code: it must refuse it with an error "
            "(torch.load(path, weights_only=True) does)")


@pytest.mark.points(1)
def test_load_missing_file_names_path(mod, tmp_path, device):
    model, optimizer = fresh(0, device)
    path = tmp_path / "no-such-folder" / "checkpoint.pth"
    exc = call_expecting_error(mod.load_checkpoint, path, model, optimizer)
    assert exc is not None, "load_checkpoint returned although there is no file at path: it must raise an error"
    assert names_path(exc, path), (
        f"the error for a missing checkpoint does not name the path: got {type(exc).__name__}: {str(exc)[:120]!r}. "
        f"Put the path in the message, e.g. FileNotFoundError(f'no checkpoint at {{path}}')")


@pytest.mark.points(2)
def test_load_corrupt_file_names_path(mod, tmp_path, device):
    source, optimizer = trained(0, device)
    good = tmp_path / "good.pth"
    write_contract_checkpoint(good, source, optimizer)
    data = good.read_bytes()
    corrupt = {
        "random bytes": random.Random(0).randbytes(2000),
        "a checkpoint cut off halfway": data[: len(data) // 2],
        "an empty file": b"",
    }
    for i, (what, content) in enumerate(corrupt.items()):
        path = tmp_path / f"corrupt-{i}.pth"
        path.write_bytes(content)
        model, opt = fresh(1, device)
        exc = call_expecting_error(mod.load_checkpoint, path, model, opt)
        assert exc is not None, f"load_checkpoint accepted a corrupt file ({what}): it must raise an error"
        if names_path(exc, path):
            continue
        try:
            torch.load(path, map_location="cpu", weights_only=True)
        except Exception as own:  # noqa: BLE001 - what torch.load itself raises for this file
            unwrapped = type(own) is type(exc) and str(own) == str(exc)
        else:
            unwrapped = False
        if unwrapped:
            pytest.fail(f"load_checkpoint let torch.load's own {type(exc).__name__} through for a corrupt file ({what}), "
                        "and that error does not name the file. Keep torch.load(path, weights_only=True), catch its "
                        "error and raise your own whose message includes the path "
                        "(raise RuntimeError(f'cannot read checkpoint {path}') from exc)")
        pytest.fail(f"the error for a corrupt file ({what}) does not name the path: got {type(exc).__name__}: "
                    f"{str(exc)[:100]!r}. Put the path in the message, e.g. "
                    "raise RuntimeError(f'cannot read checkpoint {path}') from exc")


# ----------------------------------------------------------------------------- inference

@pytest.mark.points(2)
def test_load_model_for_inference(mod, tmp_path, device):
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


@pytest.mark.points(2)
def test_predict_single_image_values(mod, device):
    model, images, probs = probe_setup(device)
    with torch.no_grad():
        logits = model(images.to(device)).cpu()
    model.calls.clear()
    for i, image in enumerate(images):
        model.eval()
        result = predict(mod, model, image, device)
        assert isinstance(result, tuple) and len(result) == 2, (
            f"predict_single_image should return a tuple (class, confidence), got {result!r}")
        cls, confidence = result
        expected_cls = int(probs[i].argmax())
        expected_conf = float(probs[i, expected_cls]) * 100
        assert isinstance(cls, int) and not isinstance(cls, bool), (
            f"the predicted class should be a Python int, got {type(cls).__name__}: use .item()")
        assert isinstance(confidence, float), (
            f"the confidence should be a Python float, got {type(confidence).__name__}: use .item()")
        assert cls == expected_cls, f"image {i}: predicted class {cls}, but the largest logit is class {expected_cls}"
        assert not (confidence <= 1.0 and abs(confidence * 100 - expected_conf) < 1e-3), (
            f"image {i}: confidence {confidence:.4f} is a fraction between 0 and 1: return it as a percent "
            "(multiply the softmax probability by 100)")
        raw = float(logits[i, expected_cls])
        assert not (abs(confidence - raw) < 1e-3 or abs(confidence - 100 * raw) < 1e-3), (
            f"image {i}: confidence {confidence:.4f} is the raw logit of the predicted class, not a probability: "
            "turn the logits into probabilities with softmax first, then report 100 * p[class]")
        assert 0.0 <= confidence <= 100.0 and abs(confidence - expected_conf) < 1e-3, (
            f"image {i}: confidence should be 100 * softmax(logits)[predicted class] = {expected_conf:.4f} "
            f"percent, got {confidence!r}")


@pytest.mark.points(2)
def test_predict_single_image_mode(mod, device):
    model, images, probs = probe_setup(device)
    model.train()  # as it would be straight after training
    cls, confidence = predict(mod, model, images[0], device)
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
    expected = int(probs[0].argmax())
    assert cls == expected and abs(confidence - float(probs[0, expected]) * 100) < 1e-3, (
        "in evaluation mode the prediction should equal the argmax of the logits with its softmax confidence in percent")


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
    mod.save_checkpoint(first, first_opt, RESUME_N, loss, 50.0, path)
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
    assert raw is not None, (
        "the file written by save_checkpoint cannot be read with torch.load(path, weights_only=True), so training "
        "cannot resume from it: save a dict of state_dicts, numbers and a string")
    if load_error is not None:
        assert optimizer_saved, no_optimizer
        raise AssertionError(f"load_checkpoint failed on a file written by save_checkpoint: "
                    f"{type(load_error).__name__}: {str(load_error)[:150]}")
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
