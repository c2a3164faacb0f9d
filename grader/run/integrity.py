"""Guards between the graded code and the grader inside one test process.

A hand-in runs in the same interpreter as its tests, so it could try to rewrite what pytest
reports or what the assertions compute. Two cheap guards raise the bar (neither is a sandbox):

- :class:`Snapshot` remembers, before any hand-in code is imported, the callables the tests
  and the grader rely on (pytest's runner and reports, this package, builtins, math, the
  comparisons of NumPy and torch, and what reads kit.toml: tomllib, io and pathlib's paths) and the
  registered pytest plugins; :meth:`Snapshot.changes` names whatever was replaced since.
- :func:`sign` / :func:`verify`: each line of the results channel carries an HMAC under a key
  the runner hands the plugin through a pipe (never the environment or the command line), so
  forged lines are recognised.

:func:`comparisons_are_honest` is the body of the control test that must pass: it fails when
NumPy's, torch's or pytest's comparisons were bent to say "equal" to everything.
"""
from __future__ import annotations

import ast
import hashlib
import hmac
import importlib
import json
import sys
import types
from collections.abc import Iterable
from pathlib import Path
from typing import Any

# Whole namespaces whose callables nothing may rebind during a test run ...
WATCHED_MODULES = ("builtins", "math", "json", "hmac", "pytest", "_pytest.runner", "_pytest.reports", "_pytest.python",
                   "_pytest.outcomes", "_pytest.main", "_pytest.fixtures", "_pytest.python_api", "_pytest.nodes",
                   "pluggy", "tomllib", "tomli", "io", "numpy", "numpy.testing", "numpy.testing._private.utils",
                   "numpy._core.numeric", "numpy._core.fromnumeric", "numpy._core._methods", "torch.testing",
                   "torch.nn.functional")
WATCHED_PACKAGE = "grader"  # and every module of the kit's own package that is loaded
WATCHED_CLASSES = (("_pytest.reports", "TestReport"), ("_pytest.runner", "CallInfo"), ("_pytest.python", "Function"),
                   ("_pytest.nodes", "Item"), ("_pytest.nodes", "Node"), ("_pytest.fixtures", "FixtureDef"),
                   ("grader.run.recorder", "Recorder"), ("grader.run.plain", "GradedModule"), ("grader.run.integrity", "Snapshot"),
                   ("pluggy", "PluginManager"), ("pathlib", "Path"), ("pathlib", "PurePath"),
                   ("torch", "Tensor"), ("torch._C", "TensorBase"), ("torch.nn", "Module"))
# ... and the comparisons the tests rely on in libraries that rebind other names lazily
# (torch wraps torch.manual_seed when its compiler loads, for example).
WATCHED_NAMES = {"torch": ("allclose", "equal", "isclose", "all", "any", "is_grad_enabled", "no_grad", "inference_mode")}


def _namespaces() -> dict[str, Any]:
    """The watched modules and classes, as objects (kept: a decoy in sys.modules changes nothing)."""
    kit = [name for name in list(sys.modules) if name.startswith(f"{WATCHED_PACKAGE}.")]
    spaces: dict[str, Any] = {name: sys.modules[name] for name in (*WATCHED_MODULES, *kit) if name in sys.modules}
    for module, cls in WATCHED_CLASSES:
        if module in sys.modules and hasattr(sys.modules[module], cls):
            spaces[f"{module}.{cls}"] = getattr(sys.modules[module], cls)
    for module, names in WATCHED_NAMES.items():
        if module in sys.modules:
            spaces[module] = types.SimpleNamespace(**{name: getattr(sys.modules[module], name, None) for name in names}) \
                if module not in spaces else spaces[module]
    return spaces


def import_kit_modules(test_files: Iterable[Path]) -> None:
    """Import every grader module that ``test_files`` import anywhere, inside a test too (06_mlp's
    accuracy test imports grader.train.harness), so that the snapshot holds it: graded code could
    otherwise import it first and rebind its helpers unseen."""
    for path in test_files:
        try:
            tree = ast.parse(Path(path).read_text())
        except (OSError, SyntaxError, ValueError):
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                names = [node.module, *(f"{node.module}.{alias.name}" for alias in node.names)]
            else:
                continue
            for name in names:
                if name.split(".")[0] == WATCHED_PACKAGE and name not in sys.modules:
                    try:
                        importlib.import_module(name)
                    except Exception:  # noqa: BLE001 - not a module (a name it defines), or the test reports it
                        pass


def _code(value: Any) -> tuple:
    """Identity of what a callable runs: its code (NumPy's dispatchers: their implementation's), and
    for a function also its defaults and what its closure's cells hold (a decorator's wrapper, such
    as torch.no_grad's, runs the function in a cell)."""
    inner = getattr(value, "_implementation", value)
    if not isinstance(inner, types.FunctionType):
        return (id(getattr(inner, "__code__", None)),)
    return (id(inner.__code__), id(inner.__defaults__), tuple((k, id(v)) for k, v in (inner.__kwdefaults__ or {}).items()),
            tuple(id(_cell(cell)) for cell in inner.__closure__ or ()))


def _cell(cell: types.CellType) -> object:
    try:
        return cell.cell_contents
    except ValueError:  # empty
        return None


def _callables(spaces: dict[str, Any]) -> dict[str, tuple[Any, tuple]]:
    """The callables of the watched namespaces, and every value the grader's own modules hold (a
    path such as grader.core.kit.MANIFEST steers the tests as much as a function does)."""
    return {f"{label}.{attr}": (value, _code(value)) for label, space in spaces.items()
            for attr, value in list(vars(space).items())
            if callable(value) or isinstance(value, (classmethod, staticmethod))
            or (isinstance(space, types.ModuleType) and label.startswith(f"{WATCHED_PACKAGE}.") and not attr.startswith("__"))}


def _hooks(plugins: Any) -> dict[str, tuple[int, ...]]:
    """Every pytest hook's implementations (functions), so one slipped into a caller is seen."""
    hook = getattr(plugins, "hook", None)
    return {name: tuple(id(impl.function) for impl in caller.get_hookimpls())
            for name, caller in vars(hook).items() if hasattr(caller, "get_hookimpls")} if hook else {}


class Snapshot:
    """What the watched namespaces, objects, hooks and the plugin manager held when it was taken."""

    def __init__(self, plugins: Iterable[object], manager: Any = None) -> None:
        self.spaces = _namespaces()
        self.callables = _callables(self.spaces)
        self.plugins = {id(p) for p in plugins}
        self.manager, self.hooks = manager, _hooks(manager)
        self.instances: dict[str, tuple[object, tuple[str, ...] | None, dict[str, int]]] = {}
        self.functions: dict[str, tuple[object, object, tuple]] = {}

    def watch_items(self, items: list[Any]) -> None:
        """Also watch the collected tests: each item's function, its code, defaults and globals, and
        the functions of the fixtures it uses."""
        for item in items:
            fn = getattr(item, "obj", None)
            self.functions[item.nodeid] = (item, fn, _function_state(fn))
            info = getattr(item, "_fixtureinfo", None)
            for name, definitions in (info.name2fixturedefs.items() if info else []):
                for index, definition in enumerate(definitions):
                    self.watch_instance(f"fixture {name} #{index} of {item.nodeid}", definition, ("func",))

    def watch_instance(self, label: str, instance: object, only: tuple[str, ...] | None = None) -> None:
        """Also watch ``instance``'s own attributes (or just those named ``only``): none may be
        added, replaced or deleted."""
        self.instances[label] = (instance, only, _attributes(instance, only))

    def changes(self, plugins: list[object]) -> list[str]:
        """Names replaced or deleted (or their code swapped) since the snapshot, tests and fixtures
        changed, hook implementations slipped in, and plugins registered since."""
        now = _callables(self.spaces)
        changed = [name for name, entry in self.callables.items()
                   if name not in now or now[name][0] is not entry[0] or now[name][1] != entry[1]]
        changed += [f"the test {label}" for label, (item, fn, state) in self.functions.items()
                    if getattr(item, "obj", None) is not fn or _function_state(fn) != state]
        changed += [f"attributes of {label}" for label, (instance, only, state) in self.instances.items()
                    if _attributes(instance, only) != state]
        changed += [f"sys.modules[{name!r}]" for name, space in self.spaces.items()
                    if isinstance(space, types.ModuleType) and sys.modules.get(name) is not space]
        if _hooks(self.manager) != self.hooks:
            changed.append("the implementations of a pytest hook")
        if {id(p) for p in plugins} - self.plugins:
            changed.append("a new pytest plugin was registered")
        return changed


def _attributes(instance: object, only: tuple[str, ...] | None) -> dict[str, int]:
    return {k: id(v) for k, v in vars(instance).items() if only is None or k in only}


def _function_state(function: object) -> tuple:
    """Identities of what a function runs: its code, defaults and global namespace."""
    return tuple(id(getattr(function, attr, None)) for attr in ("__code__", "__defaults__", "__kwdefaults__", "__globals__"))


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


def comparisons_are_honest() -> None:
    """Raise AssertionError unless the comparisons the tests use tell 0 from 1 (and 1 from 1)."""
    import numpy as np
    import pytest

    zero, one = np.zeros(3), np.ones(3)
    checks = {"numpy.allclose": not np.allclose(zero, one) and np.allclose(one, one),
              "numpy.array_equal": not np.array_equal(zero, one) and np.array_equal(one, one),
              "numpy.isclose": not np.isclose(zero, one).any(), "ndarray ==": not (zero == one).any(),
              "numpy.max/abs": float(np.max(np.abs(zero - one))) == 1.0,
              "pytest.approx": not (0.0 == pytest.approx(1.0)) and 1.0 == pytest.approx(1.0)}
    try:
        np.testing.assert_allclose(zero, one)
        checks["numpy.testing.assert_allclose"] = False
    except AssertionError:
        pass
    torch = sys.modules.get("torch")
    if torch is not None:
        a, b = torch.zeros(3), torch.ones(3)
        checks.update({"torch.allclose": not torch.allclose(a, b) and torch.allclose(b, b),
                       "torch.equal": not torch.equal(a, b), "Tensor ==": not bool((a == b).any()),
                       "Tensor.argmax": int(torch.tensor([0.0, 2.0, 1.0]).argmax()) == 1})
    bent = [name for name, honest in checks.items() if not honest]
    if bent:
        raise AssertionError(f"comparisons give wrong answers: {', '.join(bent)}")
