"""The kit's pytest plugin: which implementation is graded, points, and outcomes.

Active through ``addopts = -p grader.plugin`` in pyproject.toml. Options:
``--solutions`` / ``--target DIR`` choose the implementation (default: exercises/),
``--device`` the torch device. Each test file ``NN_name/test_<module>.py`` grades
``<target>/NN_name/<module>.py``, which the ``mod`` fixture imports lazily, so a module that
does not import fails its tests with one line instead of breaking collection.

Markers: ``points(n)`` (default 1); ``needs("test_a", ...)``: the test is *blocked* (skipped
with a reason) unless those tests of the same file passed, so a slow threshold test never runs
on a broken model.

Outcome kinds recorded per test: passed, failed, not_started (a stub's NotImplementedError),
error (the module does not import, or a fixture failed), blocked.
"""
from __future__ import annotations

import argparse
import json
import os
import re
from pathlib import Path
from typing import Any, TextIO

import pytest

from grader import kit
from grader.integrity import KEY_VARIABLE, Snapshot, sign
from grader.loader import ModuleLoadError, load_module_file

DEFAULT_POINTS = 1
BLOCKED_PREFIX = "blocked: "
_state: dict[str, Any] = {"target": kit.EXERCISES_DIR, "device": "auto"}


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("grader", "neural-network basics kit")
    group.addoption("--solutions", action="store_true", help="grade solutions/ instead of exercises/")
    group.addoption("--target", metavar="DIR", help="grade DIR, laid out like exercises/")
    group.addoption("--device", default="auto", choices=["auto", "cpu", "cuda"], help="torch device (auto: CUDA when available)")
    group.addoption("--grader-report", metavar="PATH", help=argparse.SUPPRESS)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "points(n): points the test is worth (default 1)")
    config.addinivalue_line("markers", "needs(*tests): blocked unless these tests of the same file passed")
    config.addinivalue_line("markers", "bonus: the test's points are bonus points (set per file with pytestmark)")
    solutions, target = config.getoption("--solutions"), config.getoption("--target")
    if solutions and target:
        raise pytest.UsageError("choose one of --solutions and --target DIR")
    if target and not Path(target).is_dir():
        raise pytest.UsageError(f"--target {target}: no such folder")
    _state["target"] = kit.SOLUTIONS_DIR if solutions else Path(target).resolve() if target else kit.EXERCISES_DIR
    _state["device"] = config.getoption("--device")
    report_path = config.getoption("--grader-report")
    key = os.environ.pop(KEY_VARIABLE, "")  # gone before any graded code can look for it
    config.pluginmanager.register(Recorder(open(report_path, "w") if report_path else None, key), "grader-recorder")


def target_dir() -> Path:
    """The folder being graded (exercises/, solutions/ or a hand-in)."""
    return _state["target"]


def load(exercise: str, module: str):
    """The learner's ``<target>/<exercise>/<module>.py``; raises ModuleLoadError with one line."""
    return load_module_file(target_dir() / exercise / f"{module}.py")


def torch_device():
    """The torch.device chosen by ``--device`` (auto: CUDA when available)."""
    import torch

    choice = _state["device"]
    if choice == "auto":
        choice = "cuda" if torch.cuda.is_available() else "cpu"
    if choice == "cuda" and not torch.cuda.is_available():
        pytest.exit("--device cuda: CUDA is not available on this machine", returncode=4)
    return torch.device(choice)


@pytest.fixture
def mod(request: pytest.FixtureRequest):
    """The module under test: ``test_<module>.py`` in ``NN_name/`` grades ``<target>/NN_name/<module>.py``."""
    path = Path(request.node.path)
    return load(path.parent.name, path.stem.removeprefix("test_"))


@pytest.fixture
def device():
    return torch_device()


def max_points(item: pytest.Item) -> int:
    marker = item.get_closest_marker("points")
    return int(marker.args[0]) if marker else DEFAULT_POINTS


def _is_not_started(exc: BaseException | None) -> bool:
    seen = set()
    while exc is not None and id(exc) not in seen:
        if isinstance(exc, NotImplementedError):
            return True
        seen.add(id(exc))
        exc = exc.__cause__ or exc.__context__
    return False


def _message(excinfo: pytest.ExceptionInfo) -> str:
    """A learner-facing line: the assertion's own message, or the exception and where it arose."""
    exc = excinfo.value
    if isinstance(exc, pytest.fail.Exception):
        return str(exc)
    if isinstance(exc, AssertionError):
        text = str(exc).split("\nassert ")[0].strip()
        if text:
            return text
    missing = re.fullmatch(r"module 'graded_\d\d_\w+?_(\w+)' has no attribute '(\w+)'", str(exc))
    if isinstance(exc, AttributeError) and missing:
        module, name = missing.groups()
        return f"{module}.py has no {name!r}: define it with the name and signature its docstring and README give"
    root = target_dir().resolve()
    where = ""
    for entry in excinfo.traceback:
        path = Path(str(entry.path))
        if path.is_relative_to(root):
            where = f" ({path.name}, line {entry.lineno + 1})"
    return f"{type(exc).__name__}: {exc}{where}".strip()


class Recorder:
    """Classifies every test, streams signed results as JSON lines, sums points for the terminal.

    A test's result is emitted after its teardown, once the integrity snapshot (taken after
    collection, before any graded code is imported) has been compared with the process.
    """

    def __init__(self, stream: TextIO | None, key: str) -> None:
        self.stream = stream
        self.key = key
        self.kinds: dict[str, str] = {}  # nodeid -> kind
        self.pending: dict[str, tuple[str, str]] = {}  # nodeid -> (kind, message), until teardown
        self.points = [0, 0]
        self.snapshot: Snapshot | None = None

    def _emit(self, event: dict) -> None:
        if self.stream is not None:
            self.stream.write(sign(self.key, event) + "\n")
            self.stream.flush()

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        tests = [{"id": item.nodeid, "max_points": max_points(item)} for item in session.items]
        self.points[1] = sum(t["max_points"] for t in tests)
        self.snapshot = Snapshot(session.config.pluginmanager.get_plugins())
        bonus = any(item.get_closest_marker("bonus") for item in session.items)
        self._emit({"event": "collected", "pid": os.getpid(), "tests": tests, "bonus": bonus})

    def pytest_runtest_setup(self, item: pytest.Item) -> None:
        marker = item.get_closest_marker("needs")
        if not marker:
            return
        prefix = item.nodeid.split("::")[0] + "::"
        unmet = []
        for name in marker.args:
            kinds = [k for node, k in self.kinds.items() if node.startswith(prefix) and node[len(prefix):].split("[")[0] == name]
            if any(k != "passed" for k in kinds):
                unmet.append(name)
        if unmet:
            pytest.skip(f"{BLOCKED_PREFIX}needs {', '.join(unmet)} to pass first")

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo):
        outcome = yield
        report: pytest.TestReport = outcome.get_result()
        if report.when == "teardown":
            self._finish(item)
            return
        if report.when == "setup" and report.passed:
            return
        excinfo = call.excinfo
        message = ""
        if report.skipped:
            reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
            reason = reason.removeprefix("Skipped: ")
            kind, message = ("blocked" if reason.startswith(BLOCKED_PREFIX) else "skipped"), reason
        elif report.passed:
            kind = "passed"
        elif excinfo is not None and isinstance(excinfo.value, ModuleLoadError):
            kind, message = "error", str(excinfo.value)
            report.longrepr = message
        elif excinfo is not None and _is_not_started(excinfo.value):
            kind, message = "not_started", f"not started: {excinfo.value}"
            report.longrepr = message
        elif report.when == "setup":
            kind, message = "error", _message(excinfo)
        else:
            kind, message = "failed", _message(excinfo)
        report.grader_kind = kind
        self.pending[item.nodeid] = (kind, message)

    def _finish(self, item: pytest.Item) -> None:
        """Check the process is as the snapshot left it, then record and emit the test's result."""
        kind, message = self.pending.pop(item.nodeid, ("error", "the test produced no result"))
        changes = self.snapshot.changes(item.config.pluginmanager.get_plugins()) if self.snapshot else []
        if changes:
            kind = "error"
            message = f"tampering: the graded code replaced {', '.join(changes[:3])}; results cannot be trusted"
        self.kinds[item.nodeid] = kind
        points = max_points(item) if kind == "passed" else 0
        self.points[0] += points
        self._emit({"event": "result", "id": item.nodeid, "kind": kind, "points": points,
                    "max_points": max_points(item), "message": message})

    def pytest_report_teststatus(self, report: pytest.TestReport):
        kind = getattr(report, "grader_kind", None)
        if kind == "not_started":
            return "not started", "N", "NOT STARTED"
        if kind == "blocked":
            return "blocked", "b", "BLOCKED"
        return None

    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        self._emit({"event": "finished", "exitstatus": int(exitstatus)})

    def pytest_terminal_summary(self, terminalreporter) -> None:
        if not any(Path(node.split("::")[0]).parent.name[:2].isdigit() for node in self.kinds):
            return  # not an exercise suite (e.g. the kit's own tests)
        counts = {k: list(self.kinds.values()).count(k) for k in dict.fromkeys(self.kinds.values())}
        detail = ", ".join(f"{n} {k.replace('_', ' ')}" for k, n in counts.items())
        terminalreporter.write_line(f"grader: {self.points[0]}/{self.points[1]} points ({detail}) for {target_dir()}")
