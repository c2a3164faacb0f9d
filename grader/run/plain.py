"""Plain values from whatever the graded code returns, so that comparisons cannot be lied to.

A hand-in could return a float subclass whose ``__eq__`` always says yes, an ndarray subclass
whose ``__array_function__`` answers every ``np.allclose`` with True, a Tensor subclass with a
``__torch_function__`` doing the same, or an object whose ``__class__`` property claims to be
a float. :func:`plain` replaces each such value by the base type holding the same data (read
through the base type's own slots), recursively through tuples, lists and dicts; every other
object (models, paths, figures) is returned as it is.
"""
from __future__ import annotations

import functools
import sys
import types
from typing import Any

import numpy as np


def plain(value: Any) -> Any:
    """``value`` with numbers, arrays and tensors as exact base types (same data, no views copied)."""
    kind = type(value)  # never value.__class__, which the graded code controls
    if kind in (float, int, bool, str, bytes, type(None), np.ndarray):
        return value
    if issubclass(kind, float):
        return float.__float__(value)
    if issubclass(kind, int):
        return int.__int__(value)
    if issubclass(kind, np.ndarray):
        return np.ndarray.view(value, np.ndarray)
    torch = sys.modules.get("torch")
    if torch is not None and issubclass(kind, torch.Tensor) and kind not in (torch.Tensor, torch.nn.Parameter):
        with torch._C.DisableTorchFunctionSubclass():
            return torch.Tensor.as_subclass(value, torch.Tensor)
    if issubclass(kind, tuple):  # named tuples too: the tests unpack and index, never read fields
        return tuple(plain(v) for v in tuple.__iter__(value))
    if issubclass(kind, list):
        return [plain(v) for v in list.__iter__(value)]
    if issubclass(kind, dict):
        return {plain(k): plain(v) for k, v in dict.items(value)}
    claimed = getattr(value, "__class__", kind)
    if claimed is not kind:
        raise TypeError(f"returned a {kind.__name__} object that claims to be a {getattr(claimed, '__name__', claimed)}")
    return value


def _plain_results(function: types.FunctionType) -> Any:
    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        return plain(function(*args, **kwargs))

    return wrapper


class GradedModule:
    """The learner's module as the tests see it: its functions return :func:`plain` values.

    Attribute reads, writes and deletions reach the real module (so ``monkeypatch`` works);
    classes and constants come through unchanged.
    """

    def __init__(self, module: types.ModuleType) -> None:
        object.__setattr__(self, "_module", module)
        object.__setattr__(self, "_wrappers", {})

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._module, name)
        if type(value) is not types.FunctionType:
            return value
        cached = self._wrappers.get(name)
        if cached is None or cached.__wrapped__ is not value:
            cached = self._wrappers[name] = _plain_results(value)
        return cached

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self._module, name, value)

    def __delattr__(self, name: str) -> None:
        delattr(self._module, name)

    def __dir__(self) -> list[str]:
        return dir(self._module)

    def __repr__(self) -> str:
        return f"<graded module {self._module.__name__}>"
