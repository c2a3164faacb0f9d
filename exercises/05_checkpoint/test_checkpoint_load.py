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
from grader.checks.signatures import defaults_failure
from grader.core import failures

FAIL = failures.table(__file__)

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
    if not same(model.state_dict(), source.state_dict()):
        raise FAIL("model_not_restored")
    if not isinstance(info, dict):
        raise FAIL("info_not_dict", type=type(info).__name__)
    expected = {"epoch": 5, "loss": 0.25, "accuracy": 91.5}
    got = {k: info.get(k) for k in expected}
    if got != expected and sorted(map(str, got.values())) == sorted(map(str, expected.values())):
        raise FAIL("info_under_wrong_keys", got=got)
    if got != expected:
        raise FAIL("info_wrong", expected=expected, got=got)
    extra = sorted(map(str, set(info) - set(expected)))
    if extra:
        raise FAIL("info_extra_keys", extra=extra)

    foreign = tmp_path / "saved-on-a-gpu.pth"  # as written on a GPU machine, read where that GPU is missing
    write_contract_checkpoint(foreign, source, optimizer, save=ckpt.save_as_if_on)
    model, _ = fresh(2, device)
    map_locations = ckpt.record_map_locations(monkeypatch)
    exc = call_expecting_error(mod.load_checkpoint, foreign, model, map_location=device)
    monkeypatch.undo()
    if exc is not None:
        raise ckpt.foreign_load_failed("load_checkpoint", exc, map_locations)
    if not same(model.state_dict(), source.state_dict()):
        raise FAIL("model_not_restored_foreign")


@pytest.mark.points(3)
def test_load_restores_optimizer(mod, tmp_path, device):
    source, source_optimizer = trained(0, device)
    path = tmp_path / "checkpoint.pth"
    write_contract_checkpoint(path, source, source_optimizer)
    model, optimizer = fresh(1, device)
    mod.load_checkpoint(path, model, optimizer, map_location=device)
    if not optimizer.state_dict()["state"]:
        raise FAIL("optimizer_not_restored")
    if not same(optimizer.state_dict(), source_optimizer.state_dict()):
        raise FAIL("optimizer_state_differs")


class _RunsCode:
    """Unpickling this object calls exec(code): what a booby-trapped checkpoint does."""

    def __init__(self, code: str) -> None:
        self.code = code

    def __reduce__(self):
        return (exec, (self.code,))


@pytest.mark.points(3)
def test_load_refuses_pickled_code(mod, tmp_path, device):
    source, optimizer = trained(0, device)
    for i, (kind, said) in enumerate((("torch.save zip file", FAIL("torch_save_file")),
                                      ("plain pickle file", FAIL("plain_pickle_file")))):
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
        if marker.exists():
            raise FAIL("pickled_code_ran", kind=said)
        if exc is None:
            raise FAIL("pickled_code_accepted", kind=said)


@pytest.mark.points(1)
def test_load_missing_file_names_path(mod, tmp_path, device):
    model, optimizer = fresh(0, device)
    path = tmp_path / "no-such-folder" / "checkpoint.pth"
    exc = call_expecting_error(mod.load_checkpoint, path, model, optimizer)
    if exc is None:
        raise FAIL("missing_file_accepted")
    if not names_path(exc, path):
        raise FAIL("missing_file_error_unnamed", type=type(exc).__name__, error=str(exc)[:120])


@pytest.mark.points(2)
def test_load_corrupt_file_names_path(mod, tmp_path, device):
    source, optimizer = trained(0, device)
    good = tmp_path / "good.pth"
    write_contract_checkpoint(good, source, optimizer)
    data = good.read_bytes()
    corrupt = {
        FAIL("random_bytes"): random.Random(0).randbytes(2000),
        FAIL("cut_off_halfway"): data[: len(data) // 2],
        FAIL("empty_file"): b"",
    }
    for i, (what, content) in enumerate(corrupt.items()):
        path = tmp_path / f"corrupt-{i}.pth"
        path.write_bytes(content)
        model, opt = fresh(1, device)
        exc = call_expecting_error(mod.load_checkpoint, path, model, opt)
        if exc is None:
            raise FAIL("corrupt_file_accepted", what=what)
        if names_path(exc, path):
            continue
        try:
            torch.load(path, map_location="cpu", weights_only=True)
        except Exception as own:  # noqa: BLE001 - what torch.load itself raises for this file
            unwrapped = type(own) is type(exc) and str(own) == str(exc)
        else:
            unwrapped = False
        if unwrapped:
            raise FAIL("torch_error_unwrapped", type=type(exc).__name__, what=what)
        raise FAIL("corrupt_file_error_unnamed", what=what, type=type(exc).__name__, error=str(exc)[:100])


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
    failure = defaults_failure([
        (load, "load_checkpoint", {"optimizer": None, "map_location": cpu_default(load, "map_location")}),
        (infer, "load_model_for_inference", {"map_location": cpu_default(infer, "map_location")}),
        (predict, "predict_single_image", {"device": cpu_default(predict, "device")}),
    ])
    if failure is not None:
        raise failure
