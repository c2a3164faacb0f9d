"""Tests of 05_checkpoint/checkpoint.py: load_checkpoint (restoring, refusing pickled code, errors).

Each failure names the cause and the fix. "not started" means the test reached a stub's
NotImplementedError. The checkpoints the tests read are written by the tests themselves, so a
broken save_checkpoint does not fail the load tests. Hints: `grader hint 05`.
"""
from __future__ import annotations

import inspect
import pickle
import random
from pathlib import Path

import pytest
import torch
from torch import nn

from grader.checks import checkpoints as ckpt
from grader.checks.checkpoints import call_expecting_error, fresh, same, trained
from grader.checks.signatures import default_problems

GRADES = "checkpoint"

pytestmark = pytest.mark.usefixtures("one_thread")  # torch on one thread: these tensors are tiny


def write_contract_checkpoint(path: Path, model: nn.Module, optimizer, epoch=5, loss=0.25, accuracy=91.5,
                              save=torch.save) -> None:
    """A checkpoint in the contract's format, written by the test itself (so load tests do not depend on save)."""
    save({"epoch": epoch, "model_state_dict": model.state_dict(), "optimizer_state_dict": optimizer.state_dict(),
          "loss": loss, "accuracy": accuracy, "model_architecture": str(model)}, path)


def names_path(exc: Exception, path: Path) -> bool:
    text = str(exc)
    return str(path) in text or str(path.resolve()) in text


# ----------------------------------------------------------------------------- load_checkpoint

@pytest.mark.points(2)
def test_load_restores_model_and_returns_info(mod, tmp_path, device, monkeypatch):
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
    if got != expected and sorted(map(str, got.values())) == sorted(map(str, expected.values())):
        pytest.fail(f"load_checkpoint returned {got}: the right numbers under the wrong keys. Return "
                    "{'epoch': checkpoint['epoch'], 'loss': checkpoint['loss'], 'accuracy': checkpoint['accuracy']}")
    assert got == expected, f"load_checkpoint should return {expected} from the file, got {got}"
    extra = sorted(map(str, set(info) - set(expected)))
    assert not extra, (
        f"load_checkpoint returned the extra key(s) {extra}: return only {{'epoch', 'loss', 'accuracy'}}. The model "
        "and optimizer are restored in place, so the caller needs only these three numbers (and a dict holding the "
        "state_dicts keeps every tensor alive)")

    foreign = tmp_path / "saved-on-a-gpu.pth"  # as written on a GPU machine, read where that GPU is missing
    write_contract_checkpoint(foreign, source, optimizer, save=ckpt.save_as_if_on)
    model, _ = fresh(2, device)
    map_locations = ckpt.record_map_locations(monkeypatch)
    exc = call_expecting_error(mod.load_checkpoint, foreign, model, map_location=device)
    monkeypatch.undo()
    assert exc is None, ckpt.foreign_load_failed("load_checkpoint", exc, map_locations)
    assert same(model.state_dict(), source.state_dict()), (
        "load_checkpoint did not restore the model from a checkpoint saved on another device")


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


# ----------------------------------------------------------------------------- the contract's defaults

def cpu_default(fn, parameter: str):
    """The contract's "cpu", or fn's own default when that names the CPU too (torch.device("cpu"))."""
    parameters = inspect.signature(fn).parameters
    own = parameters[parameter].default if parameter in parameters else None
    return own if isinstance(own, torch.device) and str(own) == "cpu" else "cpu"


@pytest.mark.points(1)
def test_contract_defaults(mod, tmp_path):
    call_expecting_error(mod.load_checkpoint, tmp_path / "none.pth", nn.Linear(1, 1))  # a stub is "not started"
    load, infer, predict = mod.load_checkpoint, mod.load_model_for_inference, mod.predict_single_image
    problems = (default_problems(load, "load_checkpoint", {"optimizer": None, "map_location": cpu_default(load, "map_location")})
                + default_problems(infer, "load_model_for_inference", {"map_location": cpu_default(infer, "map_location")})
                + default_problems(predict, "predict_single_image", {"device": cpu_default(predict, "device")}))
    assert not problems, "; ".join(problems)
