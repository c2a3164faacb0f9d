"""The learner's code as ``grader train`` calls it: every call goes through one object that turns
any failure (an unfinished stub, an exception, ``sys.exit``) into one message naming the exercise
and the function, and the command to check it with."""
from __future__ import annotations

import re
import traceback
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

from grader.core import kit
from grader.core.causes import find_cause
from grader.run.loader import ModuleLoadError, load_module_file

STUB_PREFIX = re.compile(r"^\s*(\d\d_[A-Za-z0-9_]+)\.([A-Za-z_][\w.]*)\s*:?\s*")


class PipelineError(Exception):
    """Stops the run with one clear message for the learner (exit 1, nothing written)."""


def one_line(exc: BaseException, limit: int = 300) -> str:
    """``exc``'s message on one line, cut to ``limit`` characters."""
    text = " ".join(str(exc).split())
    return text if len(text) <= limit else text[:limit - 3] + "..."


class Implementation:
    """The chosen implementation's modules; every call into them goes through :meth:`run`, which
    turns any failure into a :class:`PipelineError` naming the exercise and function."""

    def __init__(self, target: Path, test_option: str) -> None:
        self.target = target
        self.test_option = test_option  # appended to "pytest exercises/NN_name" in messages
        self.modules: dict[str, ModuleType] = {}

    def pytest_command(self, exercise: str) -> str:
        return f"pytest exercises/{exercise}{self.test_option}"

    def module(self, exercise: str) -> ModuleType:
        if exercise not in self.modules:
            path = self.target / exercise / kit.exercise(exercise).file_name
            try:
                self.modules[exercise] = load_module_file(path)
            except ModuleLoadError as exc:
                raise PipelineError(
                    f"grader train cannot use {exercise}/{path.name}: {exc}.\n"
                    f"Fix it first; check it with: {self.pytest_command(exercise)}") from None
        return self.modules[exercise]

    def get(self, exercise: str, name: str) -> Any:
        module = self.module(exercise)
        if not hasattr(module, name):
            file_name = kit.exercise(exercise).file_name
            raise PipelineError(
                f"grader train needs {exercise}.{name}, but {self.target / exercise / file_name} "
                f"has no `{name}`.\nRestore it (the kit's exercises/{exercise}/{file_name} shows its "
                f"signature); check it with: {self.pytest_command(exercise)}")
        return getattr(module, name)

    def call(self, exercise: str, name: str, *args: Any, **kwargs: Any) -> Any:
        return self.run(exercise, name, self.get(exercise, name), *args, **kwargs)

    def run(self, exercise: str, name: str, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """``fn(*args, **kwargs)``; any exception (SystemExit too, not Ctrl-C) -> PipelineError."""
        try:
            return fn(*args, **kwargs)
        except (KeyboardInterrupt, PipelineError):
            raise
        except BaseException as exc:
            raise PipelineError(self.explain(exc, exercise, name)) from exc

    def explain(self, exc: BaseException, exercise: str, name: str) -> str:
        stub = find_cause(exc, NotImplementedError)
        if stub is not None:
            text = one_line(stub)
            match = STUB_PREFIX.match(text)
            if match:  # the stub's own message says where it is, e.g. "04_train.train_step: ..."
                exercise, where, text = match[1], f"{match[1]}.{match[2]}", text[match.end():]
            else:
                where = f"{exercise}.{name}"
            return (f"grader train needs {where} (not implemented yet: {text or 'NotImplementedError'}).\n"
                    f"Finish {exercise} first: {self.pytest_command(exercise)}")
        if isinstance(exc, SystemExit):
            what = f"called sys.exit({exc.code!r})"
        else:
            what = f"raised {type(exc).__name__}: {one_line(exc)}"
        return (f"grader train stopped: {exercise}.{name} {what}{self._location(exc)}.\n"
                f"Check it with: {self.pytest_command(exercise)}")

    def _location(self, exc: BaseException) -> str:
        """' (04_train/train.py, line 57)': the deepest frame of ``exc`` inside the target folder."""
        root = self.target.resolve()
        for frame in reversed(traceback.extract_tb(exc.__traceback__)):
            path = Path(frame.filename)
            if path.is_absolute() and path.resolve().is_relative_to(root):
                return f" ({path.parent.name}/{path.name}, line {frame.lineno})"
        return ""


def predictions(impl: Implementation, model: Any, loader: Any, device: Any) -> tuple[Any, Any, Any]:
    """(preds, labels, probs) from the learner's 08_evaluate.collect_predictions, preds and labels
    flattened to NumPy; anything else it returns (e.g. a tensor still on the GPU) -> PipelineError."""
    import numpy as np

    collected = impl.call("08_evaluate", "collect_predictions", model, loader, device)
    try:
        preds, labels, probs = collected
        return np.asarray(preds).ravel(), np.asarray(labels).ravel(), probs
    except Exception as exc:  # noqa: BLE001 - the learner's value may fail in any way
        raise PipelineError(f"grader train stopped: 08_evaluate.collect_predictions must return NumPy arrays "
                            f"(preds, labels, probs), e.g. t.cpu().numpy() per batch ({type(exc).__name__}: "
                            f"{one_line(exc)}).\nCheck it with: {impl.pytest_command('08_evaluate')}") from None

