"""Tests of 05_checkpoint/checkpoint.py: save_checkpoint (contents, folders, atomic writes).

Each failure names the cause and the fix. "not started" means the test reached a stub's
NotImplementedError. The checkpoints the tests read are written by the tests themselves, so a
broken save_checkpoint does not fail the load tests. Hints: `grader hint 05`.
"""
from __future__ import annotations

import builtins
import io
import os
from pathlib import Path

import pytest
import torch
from torch import nn

from grader.checks.checkpoints import call_expecting_error, refused_objects, same, save, text_mode_cause, trained

KEYS = ("epoch", "model_state_dict", "optimizer_state_dict", "loss", "accuracy", "model_architecture")

pytestmark = pytest.mark.usefixtures("one_thread")  # torch on one thread: these tensors are tiny


def read_checkpoint(path: Path) -> dict:
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        held = refused_objects(path)
        raise AssertionError(f"the file written by save_checkpoint cannot be read with torch.load(path, weights_only=True) "
                             f"(it raised {type(exc).__name__})" + (f": it holds {held}" if held else "")
                             + ". Save a dict of state_dicts (model.state_dict(), optimizer.state_dict()), numbers and "
                             "a string, not the model or optimizer objects themselves") from exc
    assert isinstance(checkpoint, dict), (
        f"the checkpoint file should hold one dict with the keys {KEYS}, got a {type(checkpoint).__name__}")
    return checkpoint


# ----------------------------------------------------------------------------- save_checkpoint

@pytest.mark.points(3)
def test_save_checkpoint_contents(mod, tmp_path, device):
    model, optimizer = trained(0, device)
    path = tmp_path / "checkpoint.pth"
    save(mod, model, optimizer, 7, 0.4321, 88.5, path)
    assert path.is_file(), "save_checkpoint(model, optimizer, epoch, loss, accuracy, path) did not create a file at path"
    checkpoint = read_checkpoint(path)
    missing = [k for k in KEYS if k not in checkpoint]
    assert "optimizer_state_dict" not in missing, (
        "the checkpoint holds no optimizer state ('optimizer_state_dict' is missing): without Adam's moment "
        "estimates training cannot resume where it stopped; save optimizer.state_dict() under that key")
    assert not missing, f"the checkpoint is missing the key(s) {missing}; it must hold all of {list(KEYS)}"
    passed = {"epoch": 7, "loss": 0.4321, "accuracy": 88.5}
    holds = {key: next((name for name, value in passed.items() if checkpoint[key] == value), None) for key in passed}
    if set(holds.values()) == set(passed) and any(key != name for key, name in holds.items()):
        moved = ", ".join(f"checkpoint[{key!r}] holds {checkpoint[key]!r}, the {name} passed in"
                          for key, name in holds.items() if key != name)
        pytest.fail(f"the numbers are stored under the wrong keys: {moved}. The call is save_checkpoint(model, "
                    "optimizer, epoch, loss, accuracy, path): keep the parameters in that order and store each "
                    "under its own key")
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
    if exc is not None and path.parent.is_dir():
        pytest.fail(text_mode_cause(exc) or f"save_checkpoint created the missing parent folders, then failed "
                    f"({type(exc).__name__}: {str(exc)[:120]})")
    assert exc is None, (
        f"save_checkpoint failed when the parent folder did not exist yet ({type(exc).__name__}: {str(exc)[:120]}): "
        "create it first with path.parent.mkdir(parents=True, exist_ok=True)")
    assert path.is_file(), "save_checkpoint did not write the file when its parent folders had to be created"


@pytest.mark.points(1)
def test_save_returns_path(mod, tmp_path, device):
    model, optimizer = trained(0, device)
    path = tmp_path / "checkpoint.pth"
    result = save(mod, model, optimizer, 1, 0.5, 80.0, str(path))
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


def record_moves(monkeypatch) -> list[tuple[Path, Path]]:
    """Wrap os.replace and os.rename (which Path.replace, Path.rename and shutil.move call) for this
    test: each move is appended as (source, destination), resolved."""
    moves: list[tuple[Path, Path]] = []

    def recording(real):
        def move(src, dst, *args, **kwargs):
            if isinstance(src, (str, bytes, os.PathLike)) and isinstance(dst, (str, bytes, os.PathLike)):
                moves.append((Path(os.fsdecode(src)).resolve(), Path(os.fsdecode(dst)).resolve()))
            return real(src, dst, *args, **kwargs)
        return move

    for name in ("replace", "rename"):
        monkeypatch.setattr(os, name, recording(getattr(os, name)))
    return moves


@pytest.mark.points(3)
def test_save_is_atomic(mod, tmp_path, monkeypatch):
    torch.manual_seed(0)
    model = _Crashable()
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    path = tmp_path / "checkpoint.pth"
    save(mod, model, optimizer, 1, 0.9, 60.0, path)
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

    # 4. the temporary file is moved onto path from path's own folder: a rename is atomic only within one file system.
    moves = record_moves(monkeypatch)
    save(mod, model, optimizer, 5, 0.5, 85.0, path)
    monkeypatch.undo()
    elsewhere = [src.parent for src, dst in moves if dst == path.resolve() and src.parent != path.parent.resolve()]
    assert not elsewhere, (
        f"save_checkpoint made its temporary file in {elsewhere[0]}, not in the checkpoint's folder, and moved it onto "
        "path from there: a rename is atomic only within one file system, and another folder may be on another one "
        "(then the move fails, or becomes a copy that a crash can cut short). Create the temporary file beside path, "
        "e.g. tempfile.mkstemp(dir=path.parent)")


@pytest.mark.points(1)
def test_save_leaves_no_temporary_files(mod, tmp_path, device):
    model, optimizer = trained(0, device)
    folder = tmp_path / "checkpoints"
    folder.mkdir()
    path = folder / "checkpoint.pth"
    save(mod, model, optimizer, 1, 0.5, 80.0, path)
    save(mod, model, optimizer, 2, 0.4, 85.0, path)  # overwrite an existing checkpoint
    extra = sorted(p.name for p in folder.iterdir() if p.name != path.name)
    assert not extra, (
        f"after saving, the folder holds more than the checkpoint: {extra}. Move the temporary file onto path "
        "(os.replace) instead of copying it, and never leave it behind")
    checkpoint = read_checkpoint(path)
    assert (checkpoint.get("epoch"), checkpoint.get("loss")) != (1, 0.5), (
        "saving again to the same path must replace the old checkpoint: the file still holds the first one "
        "(epoch 1, loss 0.5)")
    assert checkpoint.get("epoch", 2) == 2, (
        f"after saving epoch 2 over epoch 1, the file holds epoch {checkpoint['epoch']!r}: store the epoch that was "
        "passed in")
