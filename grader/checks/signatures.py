"""The contract's defaults: a graded function or class keeps the parameters and defaults its stub gives.

A default is part of the contract (``make_xor_net(hidden=8)``, ``EarlyStopping(patience=3)``): a
caller who leaves the argument out gets what the README promises. A behavioural probe sees a wrong
default only as a wrong result with a cause it cannot name; the signature names it directly.
"""
from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from grader.core import failures
from grader.core.failures import Failure

MISSING = inspect.Parameter.empty
FAIL = failures.module_table(__file__)


def _same(default: Any, expected: Any) -> bool:
    """Equal as values; a list and a tuple of the same items are the same default (hidden sizes)."""
    if isinstance(default, (list, tuple)) and isinstance(expected, (list, tuple)):
        return list(default) == list(expected)
    return type(default) is type(expected) and default == expected or (
        isinstance(expected, float) and isinstance(default, (int, float)) and not isinstance(default, bool)
        and float(default) == expected)


def started(call: Callable[[], object]) -> None:
    """Run ``call`` once, so that a stub's NotImplementedError makes a defaults test "not started" as it
    makes every other test of the stub; any other error is left to the tests that check that call."""
    try:
        call()
    except NotImplementedError:
        raise
    except Exception:  # noqa: BLE001 - the tests of that call report it
        pass


def default_failures(graded: Callable, name: str, expected: dict[str, Any]) -> list[Failure]:
    """What differs from the contract's ``expected`` defaults (parameter -> value) in ``graded``'s
    signature (a class: its ``__init__``), one finding each naming the parameter; [] when none."""
    try:
        parameters = inspect.signature(graded).parameters
    except (TypeError, ValueError):
        return [FAIL("no_signature", name=name)]
    found = []
    for parameter, value in expected.items():
        given = parameters.get(parameter)
        if given is None:
            found.append(FAIL("parameter_missing", name=name, parameter=parameter, value=value))
        elif given.default is MISSING:
            found.append(FAIL("no_default", name=name, parameter=parameter, value=value))
        elif not _same(given.default, value):
            found.append(FAIL("default_differs", name=name, parameter=parameter, value=value, default=given.default))
    return found


def default_failure(graded: Callable, name: str, expected: dict[str, Any]) -> Failure | None:
    """The findings of :func:`default_failures` as one failure to raise (under their cause when they
    share one), or None when the defaults are the contract's."""
    return defaults_failure([(graded, name, expected)])


def defaults_failure(checks: list[tuple[Callable, str, dict[str, Any]]]) -> Failure | None:
    """:func:`default_failure` over several graded functions, (graded, name, expected) each: every
    finding in one failure, or None when all their defaults are the contract's."""
    found = [failure for graded, name, expected in checks for failure in default_failures(graded, name, expected)]
    if not found:
        return None
    causes = {failure.key for failure in found}
    return failures.joined(causes.pop() if len(causes) == 1 else "signatures.defaults_differ", found)


def default_problems(graded: Callable, name: str, expected: dict[str, Any]) -> list[str]:
    """The English texts of :func:`default_failures`, one line each; [] when none."""
    return [failure.texts["en"] for failure in default_failures(graded, name, expected)]
