"""Small trained models for 05_checkpoint's tests, and how their saved state is compared.

The model maps inputs (N, 16) (or (N, 1, 4, 4)) to logits (N, 4), with dropout, so train and eval
mode differ; after two Adam steps the optimizer has state worth saving.
"""
from __future__ import annotations

import os

import torch
import torch.nn.functional as F
from torch import nn

from grader.core import failures
from grader.core.failures import Failure

FAIL = failures.module_table(__file__)


def call_expecting_error(fn, *args, **kwargs) -> Exception | None:
    """Call fn; return the exception it raised (None if none). A stub's NotImplementedError passes through."""
    try:
        fn(*args, **kwargs)
    except NotImplementedError:
        raise
    except Exception as exc:  # noqa: BLE001 - any error type is acceptable, we inspect it
        return exc
    return None


def text_mode_cause(exc: BaseException) -> Failure | None:
    """The cause of torch.save's bytes meeting a file opened in text mode ('w'), or None for another error."""
    if isinstance(exc, TypeError) and "write() argument must be str" in str(exc):
        return FAIL("text_mode_file", error=f"{type(exc).__name__}: {str(exc)[:80]}")
    return None


def save(mod, *args):
    """mod.save_checkpoint(*args); a file opened in text mode fails with that cause instead of torch's TypeError."""
    try:
        return mod.save_checkpoint(*args)
    except TypeError as exc:
        cause = text_mode_cause(exc)
        if cause is None:
            raise
        raise cause from exc


def small_model(seed: int) -> nn.Module:
    """A small classifier with dropout: inputs (N, 16) (or (N, 1, 4, 4)) -> logits (N, 4)."""
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
    """A small model and an Adam optimizer with no state yet."""
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


def refused_objects(path: str | os.PathLike) -> Failure | None:
    """What a file that torch.load(weights_only=True) refuses holds instead of plain data, in the
    learner's terms (None when the file names no object, cannot be read, or torch < 2.5 cannot list them)."""
    list_globals = getattr(torch.serialization, "get_unsafe_globals_in_checkpoint", None)
    try:
        names = list_globals(path) if list_globals else []
    except Exception:  # noqa: BLE001 - not a readable torch.save file: nothing to name
        return None
    if "builtins.getattr" in names:
        return FAIL("holds_bound_method")
    return FAIL("holds_pickled_objects", names=", ".join(names)) if names else None


#: A device no grading machine has: tensors tagged with it load only through map_location.
FOREIGN_DEVICE = "cuda:63"


def save_as_if_on(obj, path: str | os.PathLike, location: str = FOREIGN_DEVICE) -> None:
    """torch.save(obj, path), with every tensor recorded as saved on ``location``, as a checkpoint
    written on a GPU is: torch.load restores it only when map_location names a device here."""
    real = torch.serialization.location_tag
    torch.serialization.location_tag = lambda storage: location
    try:
        torch.save(obj, path)
    finally:
        torch.serialization.location_tag = real


def record_map_locations(monkeypatch) -> list:
    """Wrap torch.load (for this test) so each call's map_location is appended to the returned list."""
    calls, real = [], torch.load

    def load(f, map_location=None, *args, **kwargs):
        calls.append(map_location)
        return real(f, map_location, *args, **kwargs)

    monkeypatch.setattr(torch, "load", load)
    return calls


def foreign_load_failed(who: str, exc: Exception, map_locations: list) -> Failure:
    """Why ``who`` could not read a file saved on FOREIGN_DEVICE, by the map_location it gave torch.load."""
    error = f"{type(exc).__name__}: {str(exc)[:160]}"
    if map_locations and all(m is None for m in map_locations):
        return FAIL("load_without_map_location", who=who, device=FOREIGN_DEVICE, error=error)
    return FAIL("foreign_load_failed", who=who, device=FOREIGN_DEVICE, error=error)
