"""How a test's failure reads to the learner: the assertion's own message, or the exception and
the line of the learner's code where it arose, with the kit's internal names as the learner's."""
from __future__ import annotations

from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from grader.core import kit
from grader.run.loader import graded_stem, plain_names


def exception_text(exc: BaseException) -> str:
    """``str(exc)``, or a placeholder when the exception's ``__str__`` (graded code) raises."""
    try:
        return str(exc)
    except Exception:  # noqa: BLE001 - foreign code
        return "<str() of the exception raised an error>"


def failure_message(excinfo: pytest.ExceptionInfo | None, graded: Path) -> str:
    """A learner-facing line: the assertion's own message, or the exception and where it arose."""
    if excinfo is None:
        return "the test failed without an exception (see the output)"
    exc = excinfo.value
    text = exception_text(exc)
    if isinstance(exc, pytest.fail.Exception):
        return text
    if isinstance(exc, AssertionError) and text.split("\nassert ")[0].strip():
        return text.split("\nassert ")[0].strip()
    owner = getattr(exc, "obj", None) if isinstance(exc, AttributeError) else None
    stem = graded_stem(str(getattr(owner, "__name__", ""))) if isinstance(owner, ModuleType) else None
    if stem is not None and isinstance(getattr(exc, "name", None), str):
        return f"{stem}.py has no {exc.name!r}: define it with the name and signature its docstring and README give"
    frame = learner_frame(excinfo, graded)
    where = f" ({frame[0]}, line {frame[1]})" if frame else ""
    return plain_names(f"{type(exc).__name__}: {text}{where}".strip())


def learner_frame(excinfo: pytest.ExceptionInfo | None, graded: Path) -> tuple[str, int, str] | None:
    """(file name, line, function) of the deepest traceback frame in the ``graded`` folder."""
    if excinfo is None:
        return None
    root = graded.resolve()
    found = None
    for entry in excinfo.traceback:
        path = Path(str(entry.path))
        if path.is_relative_to(root):
            found = (path.name, entry.lineno + 1, entry.name)
    return found


def grades_an_exercise(item: pytest.Item) -> bool:
    """True for a test of an exercise suite (``exercises/NN_name/test_*.py``)."""
    return Path(str(item.path)).resolve().parent.parent == kit.EXERCISES_DIR.resolve()


def skip_by_graded_code(excinfo: pytest.ExceptionInfo | None, reason: str, graded: Path) -> str:
    """The failure message for a skip that the graded code, not the kit, asked for."""
    frame = learner_frame(excinfo, graded)
    who = f"{frame[2]} ({frame[0]}, line {frame[1]})" if frame else "the graded code"
    how = "called pytest.skip" if excinfo is None or isinstance(excinfo.value, pytest.skip.Exception) else (
        f"raised {type(excinfo.value).__name__}")
    return (f"{who} {how} ({reason or 'no reason'}): a test cannot be skipped by the code it grades; "
            "unfinished code should raise NotImplementedError")


def plain_metrics(measured: Any) -> dict[str, Any] | None:
    """The metrics as JSON-safe plain values (numbers, strings, lists of them), or None."""
    if not isinstance(measured, dict):
        return None

    def plain(value: Any) -> Any:
        if isinstance(value, (list, tuple)):
            return [plain(v) for v in value][:20]
        if isinstance(value, dict):
            return {str(k): plain(v) for k, v in list(value.items())[:20]}
        return value if isinstance(value, (int, float, str, bool, type(None))) else str(value)[:200]

    return {str(k): plain(v) for k, v in list(measured.items())[:20]}
