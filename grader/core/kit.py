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


class ManifestError(RuntimeError):
    """exercises/kit.toml is missing, unreadable or malformed (a broken kit, not a learner's mistake)."""


@dataclass(frozen=True)
class Exercise:
    """One exercise of ``exercises/kit.toml``: its folder ``name`` (``NN_name``) holds the stub
    ``<module>.py``, its README and its tests; ``solutions/<name>/<module>.py`` is the reference."""

    name: str
    module: str
    bonus: bool = False
    datasets: tuple[str, ...] = ()
    uses: tuple[str, ...] = ()

    @property
    def file_name(self) -> str:
        return f"{self.module}.py"


def _manifest() -> dict:
    try:
        return tomllib.loads(MANIFEST.read_text())
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ManifestError(f"{MANIFEST}: {exc}") from exc


def exercises() -> list[Exercise]:
    """The kit's exercises, in the manifest's order (the order a learner takes them)."""
    found = []
    for name, entry in _manifest().items():
        if name == "thresholds":
            continue
        if not isinstance(entry, dict) or not isinstance(entry.get("module"), str):
            raise ManifestError(f"{MANIFEST}: [{name}] needs module = \"<graded module>\"")
        found.append(Exercise(name, entry["module"], bool(entry.get("bonus", False)),
                              tuple(entry.get("datasets", ())), tuple(u for u in entry.get("uses", ()) if u != name)))
    return found


def exercise(name: str) -> Exercise:
    """The manifest's entry for ``name`` (KeyError when it has none)."""
    for candidate in exercises():
        if candidate.name == name:
            return candidate
    raise KeyError(f"{MANIFEST.name} lists no exercise {name!r}")


def exercise_names() -> list[str]:
    """The exercises' folder names (``NN_name``), in order."""
    return [e.name for e in exercises()]


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


def datasets_needed(exercise_name: str) -> list[str]:
    """The datasets an exercise's tests read (none if unlisted)."""
    return list(exercise(exercise_name).datasets)


def tests_defined(path: Path) -> list[str]:
    """The test functions a test file defines at its top level (``def test_...``), in order."""
    try:
        tree = ast.parse(path.read_text())
    except (OSError, SyntaxError, ValueError):
        return []
    return [node.name for node in tree.body
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name.startswith("test")]


def uses(exercise_name: str) -> list[str]:
    """Other exercises whose graded modules this one's tests read."""
    return list(exercise(exercise_name).uses)


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
    found = [Threshold(**entry) for entry in _manifest().get("thresholds", [])]
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
