"""Classifies every test of a run and reports it: signed JSON lines on the runner's channel, points
on the terminal.

Outcome kinds per test: passed, failed, not_started (a stub's NotImplementedError), error (the
module does not import, a fixture failed, or the process was tampered with), blocked (a test it
``needs`` did not pass). Any other skip asked for by the graded code (``pytest.skip``,
``unittest.SkipTest``) is a failure; only the kit's own tests may skip.
"""
from __future__ import annotations

import os
import posixpath
import resource
from pathlib import Path
from typing import Any, TextIO

import pytest

from grader.core import kit
from grader.core.causes import find_cause
from grader.core.failures import Failure
from grader.core.results import Status
from grader.core.text import clip
from grader.run.integrity import Snapshot, comparisons_are_honest, import_kit_modules, sign
from grader.run.loader import ModuleLoadError
from grader.run.outcomes import (
    exception_text,
    failure_message,
    grades_an_exercise,
    learner_frame,
    plain_metrics,
    skip_by_graded_code,
)
from grader.run.tracebacks import learner_repr

DEFAULT_POINTS = 1
BLOCKED_PREFIX = "blocked: "


def max_points(item: pytest.Item) -> int:
    marker = item.get_closest_marker("points")
    return int(marker.args[0]) if marker else DEFAULT_POINTS


def _folder(nodeid: str) -> str:
    """The folder of a test id (``exercises/04_train`` of ``exercises/04_train/test_train.py::test_x``)."""
    return posixpath.dirname(nodeid.split("::")[0])


def _function(nodeid: str) -> str:
    """The test function of a test id, without parameters."""
    return nodeid.split("::")[-1].split("[")[0]


def _needs_problems(items: list[pytest.Item], patterns: list[str]) -> list[str]:
    """What is wrong with the ``needs`` markers of ``items`` (in run order).

    A needed name must be a test of the item's folder (any of its test files, collected or not)
    and, when collected, must run before the item at least once.
    """
    problems = []
    position: dict[tuple[str, str], int] = {}
    for index, item in enumerate(items):
        position.setdefault((_folder(item.nodeid), _function(item.nodeid)), index)
    known: dict[Path, set[str]] = {}
    for index, item in enumerate(items):
        marker = item.get_closest_marker("needs")
        if not marker:
            continue
        folder = Path(str(item.path)).parent
        if folder not in known:
            files = {path for pattern in patterns for path in folder.glob(pattern)}
            known[folder] = {name for path in files for name in kit.tests_defined(path)}
        unknown = [name for name in marker.args if name not in known[folder]]
        late = [name for name in marker.args if position.get((_folder(item.nodeid), name), -1) > index]
        if unknown:
            problems.append(f"{item.nodeid}: needs({', '.join(map(repr, unknown))}) names no test of "
                            f"{folder.name}/; fix the marker")
        if late:
            problems.append(f"{item.nodeid}: needs({', '.join(map(repr, late))}), but pytest runs "
                            f"{'that test' if len(late) == 1 else 'those tests'} only after this one; move "
                            "it into a test file that sorts before this one (e.g. test_<module>.py)")
    return problems


def _control_must_pass() -> None:
    comparisons_are_honest()


def _control_must_fail() -> None:
    raise AssertionError("a control test that must fail")


class Recorder:
    """Classifies every test, streams signed results as JSON lines, sums points for the terminal.

    A test's result is emitted after its teardown, once the integrity snapshot (taken after
    collection, before any graded code is imported) has been compared with the process.
    """

    def __init__(self, stream: TextIO | None, key: str, control: str = "", graded: Path = kit.EXERCISES_DIR,
                 lang: str = "en") -> None:
        self.stream = stream
        self.graded = graded  # the folder graded
        self.lang = lang  # a keyed failure is also shown in this language
        self.key = key
        self.control = control
        self.kinds: dict[str, Status] = {}  # nodeid -> kind
        self.reasons: dict[str, str] = {}  # nodeid -> why it is blocked or not started, for the terminal
        self.pending: dict[str, tuple[Status, str, Failure | None]] = {}  # nodeid -> (kind, message, keyed
        # failure), until teardown
        self.points = [0, 0]
        self.snapshot: Snapshot | None = None

    def _emit(self, event: dict) -> None:
        if self.stream is not None:
            if "message" in event:
                event["message"] = clip(str(event["message"]))
            self.stream.write(sign(self.key, event) + "\n")
            self.stream.flush()

    def emit_progress(self, test: str, label: str, done: int, total: int) -> None:
        self._emit({"event": "progress", "id": test, "label": clip(label, 80), "done": done, "total": total})

    @pytest.hookimpl(trylast=True)
    def pytest_collection_modifyitems(self, session: pytest.Session, config: pytest.Config,
                                      items: list[pytest.Item]) -> None:
        """Refuse ``needs`` names that are no test of the exercise, or whose tests run only after the
        test that needs them; append the control tests."""
        for problem in _needs_problems(items, config.getini("python_files")):
            self._emit({"event": "collection_error", "message": problem})
            raise pytest.UsageError(problem)
        if self.control and items:
            parent = items[-1].parent
            for suffix, check in (("pass", _control_must_pass), ("fail", _control_must_fail)):
                name = f"test_grader_control_{self.control}_{suffix}"
                control = pytest.Function.from_parent(parent, name=name, callobj=check)
                control.add_marker(pytest.mark.points(0))
                items.append(control)

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        tests: list[dict[str, Any]] = [{"id": item.nodeid, "max_points": max_points(item)} for item in session.items]
        self.points[1] = sum(t["max_points"] for t in tests)
        import_kit_modules({Path(str(item.path)) for item in session.items if grades_an_exercise(item)})
        manager = session.config.pluginmanager
        self.snapshot = Snapshot(manager.get_plugins(), manager)
        self.snapshot.watch_instance("grader.run.recorder.Recorder()", self)
        self.snapshot.watch_items(session.items)
        for module in {id(m): m for m in (getattr(item, "module", None) for item in session.items) if m}.values():
            self.snapshot.watch_instance(f"the test module {module.__name__}", module)
        self._emit({"event": "collected", "pid": os.getpid(), "tests": tests})

    def pytest_runtest_setup(self, item: pytest.Item) -> None:
        marker = item.get_closest_marker("needs")
        if not marker:
            return
        folder = _folder(item.nodeid)
        unmet = []
        for name in marker.args:
            kinds = [k for node, k in self.kinds.items() if _folder(node) == folder and _function(node) == name]
            if any(k != Status.PASSED for k in kinds):
                unmet.append(name)
        if unmet:
            pytest.skip(f"{BLOCKED_PREFIX}needs {', '.join(unmet)} to pass first")

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo):
        raised = call.excinfo  # before pytest's unittest support swaps a SkipTest for a skip
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
            if reason.startswith(BLOCKED_PREFIX) and learner_frame(raised, self.graded) is None:
                kind, message = Status.BLOCKED, reason
            elif learner_frame(raised, self.graded) is None and not grades_an_exercise(item):
                kind, message = Status.SKIPPED, reason  # the kit's own tests may skip
            else:
                kind, message = Status.FAILED, skip_by_graded_code(raised, reason, self.graded)
                report.outcome, report.longrepr = "failed", message
                if hasattr(report, "wasxfail"):
                    del report.wasxfail
        elif report.passed:
            kind = Status.PASSED
        elif excinfo is not None and isinstance(excinfo.value, ModuleLoadError):
            kind, message = Status.ERROR, str(excinfo.value)
            report.longrepr = message
        elif excinfo is not None and find_cause(excinfo.value, NotImplementedError):
            kind, message = Status.NOT_STARTED, f"not started: {exception_text(excinfo.value)}"
            report.longrepr = message
        elif report.when == "setup":
            kind, message = Status.ERROR, failure_message(excinfo, self.graded)
        else:
            kind, message = Status.FAILED, failure_message(excinfo, self.graded)
        if kind in (Status.FAILED, Status.ERROR) and excinfo is not None and not isinstance(report.longrepr, str) \
                and grades_an_exercise(item):
            report.longrepr = learner_repr(item, excinfo, self.graded) or report.longrepr
        report.grader_kind = kind  # type: ignore[attr-defined]  # read back by pytest_report_teststatus
        keyed = excinfo.value if excinfo is not None and isinstance(excinfo.value, Failure) else None
        if keyed is not None and self.lang in keyed.texts and self.lang != "en":
            report.sections.append((self.lang, keyed.texts[self.lang]))
        self.pending[item.nodeid] = (kind, message, keyed if kind == Status.FAILED else None)
        if self.control and item.name == f"test_grader_control_{self.control}_fail" and kind == Status.FAILED:
            report.outcome, report.longrepr = "passed", None  # expected: not a failure of the run

    def _finish(self, item: pytest.Item, _changes: Any = Snapshot.changes) -> None:
        """Check the process is as the snapshot left it (with the check as it was when this module
        was imported, before any graded code), then record and emit the test's result."""
        kind, message, keyed = self.pending.pop(item.nodeid, (Status.ERROR, "the test produced no result", None))
        changes = _changes(self.snapshot, item.config.pluginmanager.get_plugins()) if self.snapshot else []
        if changes:
            kind, keyed = Status.ERROR, None
            message = f"tampering: the graded code replaced {', '.join(changes[:3])}; results cannot be trusted"
        if not item.name.startswith(f"test_grader_control_{self.control}_") or not self.control:
            self.kinds[item.nodeid] = kind  # the terminal summary and `needs` know the exercise's own tests
            if kind in (Status.BLOCKED, Status.NOT_STARTED):
                self.reasons[item.nodeid] = message
        points = max_points(item) if kind == Status.PASSED else 0
        self.points[0] += points
        measured = getattr(item, "funcargs", {}).get("metrics") or None
        self._emit({"event": "result", "id": item.nodeid, "kind": kind, "points": points,
                    "max_points": max_points(item), "message": message, "metrics": plain_metrics(measured),
                    **cause_fields(keyed)})

    def pytest_report_teststatus(self, report: pytest.TestReport):
        kind = getattr(report, "grader_kind", None)
        if kind == Status.NOT_STARTED:
            return "not started", "N", "NOT STARTED"
        if kind == Status.BLOCKED:
            return "blocked", "b", "BLOCKED"
        return None

    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        usage = [resource.getrusage(who).ru_maxrss for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)]
        self._emit({"event": "finished", "exitstatus": int(exitstatus), "peak_rss_kb": max(usage)})

    def pytest_terminal_summary(self, terminalreporter) -> None:
        if not any(Path(node.split("::")[0]).parent.name[:2].isdigit() for node in self.kinds):
            return  # not an exercise suite (e.g. the kit's own tests)
        counts = {k: list(self.kinds.values()).count(k) for k in dict.fromkeys(self.kinds.values())}
        detail = ", ".join(f"{n} {k.label}" for k, n in counts.items())
        for node, reason in self.reasons.items():  # pytest shows these tests as N and b, without a reason
            terminalreporter.write_line(f"{self.kinds[node].label} {_function(node)}: "
                                        f"{clip(reason.removeprefix('not started: ').removeprefix(BLOCKED_PREFIX), 500)}")
        terminalreporter.write_line(f"grader: {self.points[0]}/{self.points[1]} points ({detail}) for {self.graded}")


def cause_fields(keyed: Failure | None) -> dict[str, Any]:
    """A keyed failure's ``cause`` and ``translations`` for its result event (nothing for others)."""
    if keyed is None:
        return {}
    return {"cause": keyed.key, "translations": {lang: text for lang, text in keyed.texts.items() if lang != "en"}}
