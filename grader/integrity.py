"""Guards between the graded code and the grader inside one test process.

A hand-in runs in the same interpreter as its tests, so it could try to rewrite what pytest
reports or what the assertions compute. Two cheap guards raise the bar (neither is a sandbox):

- :class:`Snapshot` remembers, before any hand-in code is imported, the callables the tests
  and the grader rely on (pytest's runner and reports, this package, builtins, math, the
  comparisons of NumPy and torch) and the registered pytest plugins; :meth:`Snapshot.changes`
  names whatever was replaced since.
- :func:`sign` / :func:`verify`: each line of the results channel carries an HMAC under a key
  the runner passes in the environment and the plugin removes from it before the hand-in
  is imported, so forged lines are recognised.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import sys
from typing import Any

KEY_VARIABLE = "GRADER_REPORT_KEY"
# Whole namespaces whose callables nothing may rebind during a test run ...
WATCHED_MODULES = ("builtins", "math", "json", "pytest", "_pytest.runner", "_pytest.reports", "_pytest.python",
                   "_pytest.outcomes", "_pytest.main", "_pytest.fixtures", "pluggy", "grader.plugin",
                   "grader.loader", "grader.integrity", "grader.harness", "numpy.testing", "torch.testing")
WATCHED_CLASSES = (("_pytest.reports", "TestReport"), ("_pytest.runner", "CallInfo"),
                   ("grader.plugin", "Recorder"), ("pluggy", "PluginManager"))
# ... and the comparisons the tests rely on in libraries that rebind other names lazily
# (torch wraps torch.manual_seed when its compiler loads, for example).
WATCHED_NAMES = {"numpy": ("allclose", "array_equal", "isclose", "all", "any", "abs", "max", "isnan", "isfinite"),
                 "torch": ("allclose", "equal", "isclose", "all", "any", "is_grad_enabled", "no_grad", "inference_mode")}


def _namespaces() -> dict[str, Any]:
    spaces = {name: sys.modules[name] for name in WATCHED_MODULES if name in sys.modules}
    for module, cls in WATCHED_CLASSES:
        if module in sys.modules and hasattr(sys.modules[module], cls):
            spaces[f"{module}.{cls}"] = getattr(sys.modules[module], cls)
    return spaces


def _callables() -> dict[str, Any]:
    found = {f"{label}.{attr}": value for label, space in _namespaces().items()
             for attr, value in list(vars(space).items()) if callable(value) or isinstance(value, (classmethod, staticmethod))}
    for module, names in WATCHED_NAMES.items():
        if module in sys.modules:
            found.update({f"{module}.{name}": getattr(sys.modules[module], name, None) for name in names})
    return found


class Snapshot:
    """What the watched namespaces and the plugin manager held when it was taken."""

    def __init__(self, plugins: list[object]) -> None:
        self.callables = _callables()
        self.plugins = {id(p) for p in plugins}

    def changes(self, plugins: list[object]) -> list[str]:
        """Names replaced or deleted since the snapshot, and plugins registered since."""
        now = _callables()
        changed = [name for name, value in self.callables.items() if now.get(name) is not value]
        if {id(p) for p in plugins} - self.plugins:
            changed.append("a new pytest plugin was registered")
        return changed


def sign(key: str, event: dict) -> str:
    """The event as one JSON line with its HMAC-SHA256 under ``key`` in the field "sig"."""
    body = json.dumps(event, sort_keys=True)
    digest = hmac.new(key.encode(), body.encode(), hashlib.sha256).hexdigest()
    return json.dumps({**event, "sig": digest}, sort_keys=True)


def verify(key: str, event: dict) -> bool:
    """True when ``event`` (a parsed line) carries a valid signature under ``key``."""
    claimed = event.get("sig")
    if not isinstance(claimed, str):
        return False
    body = json.dumps({k: v for k, v in event.items() if k != "sig"}, sort_keys=True)
    return hmac.compare_digest(claimed, hmac.new(key.encode(), body.encode(), hashlib.sha256).hexdigest())
