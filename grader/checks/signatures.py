"""The contract's defaults: a graded function or class keeps the parameters and defaults its stub gives.

A default is part of the contract (``make_xor_net(hidden=8)``, ``EarlyStopping(patience=3)``): a
caller who leaves the argument out gets what the README promises. A behavioural probe sees a wrong
default only as a wrong result with a cause it cannot name; the signature names it directly.
"""
from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

MISSING = inspect.Parameter.empty


def _same(default: Any, expected: Any) -> bool:
    """Equal as values; a list and a tuple of the same items are the same default (hidden sizes)."""
    if isinstance(default, (list, tuple)) and isinstance(expected, (list, tuple)):
        return list(default) == list(expected)
    return type(default) is type(expected) and default == expected or (
        isinstance(expected, float) and isinstance(default, (int, float)) and not isinstance(default, bool)
        and float(default) == expected)


def default_problems(graded: Callable, name: str, expected: dict[str, Any]) -> list[str]:
    """What differs from the contract's ``expected`` defaults (parameter -> value) in ``graded``'s
    signature (a class: its ``__init__``), one line each naming the parameter; [] when none."""
    try:
        parameters = inspect.signature(graded).parameters
    except (TypeError, ValueError):
        return [f"{name} has no signature Python can read: define it with def, as its stub does"]
    problems = []
    for parameter, value in expected.items():
        found = parameters.get(parameter)
        if found is None:
            problems.append(f"{name} has no parameter {parameter!r}: keep the stub's signature "
                            f"({parameter}={value!r})")
        elif found.default is MISSING:
            problems.append(f"{name}'s {parameter} has no default: the contract's default is {parameter}={value!r}")
        elif not _same(found.default, value):
            problems.append(f"{name}'s default is {parameter}={found.default!r}; the contract's is "
                            f"{parameter}={value!r} (a caller who leaves {parameter} out must get {value!r})")
    return problems
