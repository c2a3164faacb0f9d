"""The kit's pytest plugin: which implementation is graded, points, and outcomes.

Active through ``addopts = -p grader.run.plugin`` in pyproject.toml. Options:
``--solutions`` / ``--target DIR`` choose the implementation (default: exercises/),
``--device`` the torch device, ``--lang`` the language a failure is also shown in when its
test raises it from a table of causes. A test file of ``NN_name/`` grades ``<target>/NN_name/<module>.py``,
which the ``mod`` fixture imports lazily, so a module that does not import fails its tests with
one line instead of breaking collection. The module is the file's ``GRADES = "<module>"`` when it
declares one (an exercise's tests split by topic: ``test_train_fit.py`` grades ``train``), else
its name: ``test_<module>.py``.

Markers: ``points(n)`` (default 1); ``needs("test_a", ...)``: the test is *blocked* (skipped
with a reason) unless those tests of the same exercise (the test files of its folder) passed, so
a slow threshold test never runs on a broken model. Collection stops when a name in ``needs`` is
no test of the folder, or when the needed test would run only after the test that needs it
(pytest runs files in name order: keep needed tests in ``test_<module>.py``).

Outcome kinds recorded per test: passed, failed, not_started (a stub's NotImplementedError),
error (the module does not import, or a fixture failed), blocked. Any other skip (the graded
code calling ``pytest.skip`` or raising ``unittest.SkipTest``) counts as failed.

When the runner starts pytest it passes ``--grader-channel W,R``: R delivers the signing key
and the control-test token, W takes the signed results. The plugin then adds two control tests
(one must pass, one must fail) after the exercise's own tests.
"""
from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any, TextIO

import pytest

from grader.core import i18n, kit
from grader.core.device import resolve_device
from grader.core.results import Progress
from grader.core.target import Target
from grader.run.loader import load_module_file
from grader.run.outcomes import grades_an_exercise
from grader.run.plain import GradedModule
from grader.run.recorder import Recorder
from grader.run.tracebacks import choose_style

PROGRESS_EVERY = 0.25  # seconds between progress events of one test


@dataclass(frozen=True)
class Grading:
    """What this run grades (``--solutions`` / ``--target DIR``: a folder laid out like exercises/)
    and on which device (``--device``), kept in the pytest config's stash."""

    folder: Path
    device: str  # auto | cpu | cuda


GRADING = pytest.StashKey[Grading]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("grader", "neural-network basics kit")
    group.addoption("--solutions", action="store_true", help="grade solutions/ instead of exercises/")
    group.addoption("--target", metavar="DIR", help="grade DIR, laid out like exercises/")
    group.addoption("--device", default="auto", choices=["auto", "cpu", "cuda"], help="torch device (auto: CUDA when available)")
    group.addoption("--lang", choices=i18n.LANGUAGES, default=None,
                    help="language of the failures that have a translation (default: $GRADER_LANG, else the locale)")
    group.addoption("--grader-channel", metavar="W,R", help=argparse.SUPPRESS)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "points(n): points the test is worth (default 1)")
    config.addinivalue_line("markers", "needs(*tests): blocked unless these tests of the same exercise passed")
    solutions, target = config.getoption("--solutions"), config.getoption("--target")
    if solutions and target:
        raise pytest.UsageError("choose one of --solutions and --target DIR")
    if target and not Path(target).is_dir():
        raise pytest.UsageError(f"--target {target}: no such folder")
    grading = config.stash[GRADING] = Grading(Target(solutions, target).folder, config.getoption("--device"))
    stream, key, control = _open_channel(config.getoption("--grader-channel"))
    recorder = Recorder(stream, key, control, grading.folder, i18n.language(config.getoption("--lang")))
    config.pluginmanager.register(recorder, "grader-recorder")


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    choose_style(config, items, exercise_suite=all(grades_an_exercise(item) for item in items))


def _open_channel(spec: str | None) -> tuple[TextIO | None, str, str]:
    """(results stream, signing key, control token) from the runner's inherited pipes."""
    if not spec:
        return None, "", ""
    write_fd, read_fd = (int(fd) for fd in spec.split(","))
    with os.fdopen(read_fd, "r") as secrets:
        key, control = (secrets.read().split() + ["", ""])[:2]
    os.set_inheritable(write_fd, False)  # the graded code's own subprocesses do not get it
    return os.fdopen(write_fd, "w"), key, control


def load_exercise(folder: Path, exercise: str) -> ModuleType:
    """``<folder>/<exercise>/<module>.py`` (the manifest's module); raises ModuleLoadError with one line."""
    return load_module_file(folder / exercise / kit.exercise(exercise).file_name)


def torch_device(choice: str):
    """The torch.device for ``--device`` ``choice`` (auto: CUDA when available)."""
    import torch

    try:
        return torch.device(resolve_device(choice))
    except ValueError as exc:
        pytest.exit(str(exc), returncode=4)


def graded_module(test_module: Any, path: Path) -> str:
    """The module a test file grades: its ``GRADES`` constant, else ``test_<module>.py`` -> ``<module>``."""
    declared = getattr(test_module, "GRADES", None)
    return declared if isinstance(declared, str) else path.stem.removeprefix("test_")


@pytest.fixture
def mod(request: pytest.FixtureRequest) -> GradedModule:
    """The module under test: a test file in ``NN_name/`` grades ``<target>/NN_name/<module>.py``,
    seen through :class:`GradedModule` (its functions return plain values)."""
    path = Path(request.node.path)
    folder = request.config.stash[GRADING].folder
    return GradedModule(load_module_file(folder / path.parent.name / f"{graded_module(request.module, path)}.py"))


@pytest.fixture
def other_exercise(request: pytest.FixtureRequest) -> Callable[[str], ModuleType]:
    """``other_exercise("06_mlp")``: another exercise's module of the graded folder, as it is (09
    trains the learner's MLP and CNN); raises ModuleLoadError with one line."""
    folder = request.config.stash[GRADING].folder
    return lambda exercise: load_exercise(folder, exercise)


@pytest.fixture
def metrics() -> dict[str, Any]:
    """What a threshold test measured (accuracy, threshold, epochs, seconds, tries): the test fills
    it, the results JSON carries it as the test's "metrics" and ``grader -v`` shows it."""
    return {}


@pytest.fixture
def progress(request: pytest.FixtureRequest) -> Progress:
    """``progress(label, done, total)``: how far a slow test is (e.g. training steps), shown by the
    grader as a live bar; sent at most every PROGRESS_EVERY seconds, and on the last step."""
    recorder = request.config.pluginmanager.get_plugin("grader-recorder")
    last = [0.0]

    def report(label: str, done: int, total: int) -> None:
        now = time.monotonic()
        if recorder is not None and (done >= total or now - last[0] >= PROGRESS_EVERY):
            last[0] = now
            recorder.emit_progress(request.node.nodeid, str(label), int(done), int(total))

    return report


@pytest.fixture
def one_thread() -> Iterator[None]:
    """torch on one CPU thread for the test (``pytestmark = pytest.mark.usefixtures("one_thread")``):
    tiny tensors gain nothing from more, and on a busy machine each small op waits for the other
    threads (measured: 50x slower under load)."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture
def device(request: pytest.FixtureRequest):
    """The torch.device of the run."""
    return torch_device(request.config.stash[GRADING].device)
