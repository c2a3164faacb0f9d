"""Where the kit lives on disk and which exercises it has."""
from __future__ import annotations

import ast
import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

KIT_ROOT = Path(os.environ.get("GRADER_KIT_ROOT", Path(__file__).resolve().parents[2]))
EXERCISES_DIR = KIT_ROOT / "exercises"
SOLUTIONS_DIR = KIT_ROOT / "solutions"
MANIFEST = EXERCISES_DIR / "kit.toml"


def exercise_names() -> list[str]:
    """Folders of exercises/ named like ``NN_name``, in order."""
    return sorted(
        p.name for p in EXERCISES_DIR.iterdir() if p.is_dir() and p.name[:2].isdigit() and "_" in p.name
    )


def resolve_names(requested: list[str]) -> list[str]:
    """Map names or unique prefixes (``04``, ``04_tr``) to exercise names.

    Raises ValueError naming the offending request when it matches none or several.
    """
    names = exercise_names()
    resolved: list[str] = []
    for req in requested:
        matches = [n for n in names if n == req] or [n for n in names if n.startswith(req)]
        if len(matches) != 1:
            what = "no exercise" if not matches else f"several exercises ({', '.join(matches)})"
            raise ValueError(f"{req!r} matches {what}; choose from: {', '.join(names)}")
        if matches[0] not in resolved:
            resolved.append(matches[0])
    return resolved


def test_files(exercise: str) -> list[Path]:
    """The kit's test files of one exercise, in the order pytest runs them (always from exercises/,
    never from a hand-in). An exercise's tests may be split over several files, see docs/authoring.md."""
    return sorted((EXERCISES_DIR / exercise).glob("test_*.py"))


def tests_defined(path: Path) -> list[str]:
    """The test functions a test file defines at its top level (``def test_...``), in order."""
    try:
        tree = ast.parse(path.read_text())
    except (OSError, SyntaxError, ValueError):
        return []
    return [node.name for node in tree.body
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name.startswith("test")]


def _entry(exercise: str) -> dict:
    """The exercise's table of ``exercises/kit.toml`` (empty when absent or unreadable)."""
    try:
        manifest = tomllib.loads(MANIFEST.read_text())
    except (OSError, tomllib.TOMLDecodeError):
        return {}
    entry = manifest.get(exercise, {})
    return entry if isinstance(entry, dict) else {}


def datasets_needed(exercise: str) -> list[str]:
    """The datasets an exercise's tests read, from ``exercises/kit.toml`` (none if unlisted)."""
    return list(_entry(exercise).get("datasets", []))


def uses(exercise: str) -> list[str]:
    """Other exercises whose graded modules this one's tests read (``uses`` in kit.toml)."""
    return [name for name in _entry(exercise).get("uses", []) if name != exercise]


@dataclass(frozen=True)
class Threshold:
    """An accuracy threshold of ``exercises/kit.toml``: the model ``model`` ('NN_name/file.py:Class',
    built with its defaults) trained by the harness on ``dataset`` must reach ``threshold`` percent."""

    exercise: str
    test: str
    model: str
    dataset: str
    threshold: float
    band: float
    epochs: int
    batch_size: int
    lr: float
    time_budget: float

    @property
    def module_path(self) -> str:
        return self.model.split(":")[0]

    @property
    def class_name(self) -> str:
        return self.model.split(":")[1]

    def training(self) -> dict:
        """The harness's settings for this threshold (lr decays linearly to 0 over the run)."""
        return {"epochs": self.epochs, "batch_size": self.batch_size, "lr": self.lr,
                "time_budget": self.time_budget, "lr_decay": True}


def thresholds(exercise: str | None = None) -> list[Threshold]:
    """The thresholds of kit.toml (of one exercise's tests when ``exercise`` is given)."""
    try:
        entries = tomllib.loads(MANIFEST.read_text()).get("thresholds", [])
    except (OSError, tomllib.TOMLDecodeError):
        return []
    found = [Threshold(**entry) for entry in entries]
    return [t for t in found if exercise in (None, t.exercise)]


def threshold(exercise: str, test: str) -> Threshold:
    """The threshold judged by ``test`` of ``exercise`` (KeyError when kit.toml has none)."""
    for candidate in thresholds(exercise):
        if candidate.test == test:
            return candidate
    raise KeyError(f"exercises/kit.toml has no threshold for {exercise}::{test}")


def torch_requirements(pyproject: Path) -> list[str]:
    """The kit's torch and torchvision requirements (from pyproject.toml), for the CPU wheel index."""
    dependencies = tomllib.loads(pyproject.read_text())["project"]["dependencies"]
    return [d for d in dependencies if re.match(r"torch(vision)?\b", d)]
