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
from grader.core import failures
from grader.core.failures import Failure

FAIL = failures.table(__file__)

KEYS = ("epoch", "model_state_dict", "optimizer_state_dict", "loss", "accuracy", "model_architecture")

pytestmark = pytest.mark.usefixtures("one_thread")  # torch on one thread: these tensors are tiny


def read_checkpoint(path: Path) -> dict:
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        held = refused_objects(path)
        raise FAIL("checkpoint_unreadable", error=type(exc).__name__,
                   held=FAIL("it_holds", held=held) if held else "") from exc
    if not isinstance(checkpoint, dict):
        raise FAIL("checkpoint_not_dict", keys=KEYS, type=type(checkpoint).__name__)
    return checkpoint


# ----------------------------------------------------------------------------- save_checkpoint

@pytest.mark.points(3)
def test_save_checkpoint_contents(mod, tmp_path, device):
    model, optimizer = trained(0, device)
    path = tmp_path / "checkpoint.pth"
    save(mod, model, optimizer, 7, 0.4321, 88.5, path)
    if not path.is_file():
        raise FAIL("no_file_written")
    checkpoint = read_checkpoint(path)
    missing = [k for k in KEYS if k not in checkpoint]
    if "optimizer_state_dict" in missing:
        raise FAIL("optimizer_state_missing")
    if missing:
        raise FAIL("keys_missing", missing=missing, keys=list(KEYS))
    passed = {"epoch": 7, "loss": 0.4321, "accuracy": 88.5}
    holds = {key: next((name for name, value in passed.items() if checkpoint[key] == value), None) for key in passed}
    if set(holds.values()) == set(passed) and any(key != name for key, name in holds.items()):
        moved = failures.joined("05_checkpoint.key_holds", [FAIL("key_holds", entry=key, value=checkpoint[key], name=name)
                                             for key, name in holds.items() if key != name], ", ")
        raise FAIL("numbers_under_wrong_keys", moved=moved)
    if not (type(checkpoint["epoch"]) is int and checkpoint["epoch"] == 7):
        raise FAIL("number_not_stored", entry="epoch", type="int", value=7, got=checkpoint["epoch"])
    if not (isinstance(checkpoint["loss"], float) and checkpoint["loss"] == 0.4321):
        raise FAIL("number_not_stored", entry="loss", type="float", value=0.4321, got=checkpoint["loss"])
    if not (isinstance(checkpoint["accuracy"], float) and checkpoint["accuracy"] == 88.5):
        raise FAIL("number_not_stored", entry="accuracy", type="float", value=88.5, got=checkpoint["accuracy"])
    if checkpoint["model_architecture"] != str(model):
        raise FAIL("architecture_not_str")
    if not same(checkpoint["model_state_dict"], model.state_dict()):
        raise FAIL("model_state_wrong")
    if not same(checkpoint["optimizer_state_dict"], optimizer.state_dict()):
        raise FAIL("optimizer_state_wrong")


@pytest.mark.points(1)
def test_save_creates_parent_folders(mod, tmp_path, device):
    model, optimizer = trained(0, device)
    path = tmp_path / "runs" / "experiment-1" / "checkpoint.pth"
    exc = call_expecting_error(mod.save_checkpoint, model, optimizer, 1, 0.5, 80.0, path)
    if exc is not None and path.parent.is_dir():
        raise text_mode_cause(exc) or FAIL("failed_after_folders", error=f"{type(exc).__name__}: {str(exc)[:120]}")
    if exc is not None:
        raise FAIL("parent_folders_missing", error=f"{type(exc).__name__}: {str(exc)[:120]}")
    if not path.is_file():
        raise FAIL("no_file_in_new_folders")


@pytest.mark.points(1)
def test_save_returns_path(mod, tmp_path, device):
    model, optimizer = trained(0, device)
    path = tmp_path / "checkpoint.pth"
    result = save(mod, model, optimizer, 1, 0.5, 80.0, str(path))
    if not isinstance(result, Path):
        raise FAIL("returned_not_path", type=type(result).__name__)
    if result.resolve() != path.resolve():
        raise FAIL("returned_other_path", result=result, path=path)


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
    if not path.is_file():
        raise FAIL("no_file_at_path")
    before = path.read_bytes()

    def check_failed_save(how: Failure, exc: Exception | None) -> None:
        """The earlier checkpoint survived the failed save, and the failure was not swallowed."""
        if path.read_bytes() != before:
            raise FAIL("not_atomic", how=how)
        if exc is None:
            raise FAIL("error_swallowed", how=how)

    # 1. the model's state cannot be serialised: torch.save fails after it has started writing.
    model.counter = torch.zeros(1).as_subclass(_CrashWhenPickled)
    exc = call_expecting_error(mod.save_checkpoint, model, optimizer, 2, 0.8, 70.0, path)
    check_failed_save(FAIL("how_serialising"), exc)
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
    exc = call_expecting_error(mod.save_checkpoint, model, optimizer, 3, 0.7, 75.0, path)
    monkeypatch.undo()
    if calls:  # only meaningful when the implementation goes through torch.save
        check_failed_save(FAIL("how_torch_save_crashed"), exc)

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
    exc = call_expecting_error(mod.save_checkpoint, model, optimizer, 4, 0.6, 80.0, path)
    monkeypatch.undo()
    if crashed:
        check_failed_save(FAIL("how_writing_path_crashed"), exc)

    # 4. the temporary file is moved onto path from path's own folder: a rename is atomic only within one file system.
    moves = record_moves(monkeypatch)
    save(mod, model, optimizer, 5, 0.5, 85.0, path)
    monkeypatch.undo()
    elsewhere = [src.parent for src, dst in moves if dst == path.resolve() and src.parent != path.parent.resolve()]
    if elsewhere:
        raise FAIL("temporary_file_elsewhere", folder=elsewhere[0])


@pytest.mark.points(1)
def test_save_leaves_no_temporary_files(mod, tmp_path, device):
    model, optimizer = trained(0, device)
    folder = tmp_path / "checkpoints"
    folder.mkdir()
    path = folder / "checkpoint.pth"
    save(mod, model, optimizer, 1, 0.5, 80.0, path)
    save(mod, model, optimizer, 2, 0.4, 85.0, path)  # overwrite an existing checkpoint
    extra = sorted(p.name for p in folder.iterdir() if p.name != path.name)
    if extra:
        raise FAIL("temporary_files_left", extra=extra)
    checkpoint = read_checkpoint(path)
    if (checkpoint.get("epoch"), checkpoint.get("loss")) == (1, 0.5):
        raise FAIL("old_checkpoint_kept")
    if checkpoint.get("epoch", 2) != 2:
        raise FAIL("wrong_epoch_after_overwrite", epoch=checkpoint["epoch"])
