"""The grader's layers: each subpackage imports only from the ones below it, and no modules
import each other in a circle (function-level imports count too)."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "grader"
LAYERS = [("core",), ("data", "checks"), ("run",), ("train",), ("report",), ("cli",)]
FLOOR = {name: level for level, names in enumerate(LAYERS) for name in names}
TOP_LEVEL = {"__init__", "__main__"}


def _module(path: Path) -> str:
    return ".".join(("grader", *path.relative_to(PACKAGE).with_suffix("").parts)).removesuffix(".__init__")


def _imports(path: Path) -> set[str]:
    """The grader modules ``path`` imports, anywhere in it."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name.startswith("grader."))
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("grader"):
            for alias in node.names:
                candidate = f"{node.module}.{alias.name}"
                found.add(candidate if (PACKAGE.parent / candidate.replace(".", "/")).with_suffix(".py").exists()
                          else node.module)
    return found


GRAPH = {_module(p): _imports(p) for p in PACKAGE.rglob("*.py")}


def _floor(module: str) -> int | None:
    parts = module.split(".")
    return FLOOR.get(parts[1]) if len(parts) > 2 else None


def test_every_subpackage_has_a_floor():
    packages = {p.name for p in PACKAGE.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    assert packages == set(FLOOR), "add the new subpackage to LAYERS in this file (and docs/authoring.md)"
    loose = [p.stem for p in PACKAGE.glob("*.py") if p.stem not in TOP_LEVEL]
    assert not loose, f"modules outside the layers: {loose}"


@pytest.mark.parametrize("module", sorted(GRAPH))
def test_imports_only_go_down(module):
    here = _floor(module)
    if here is None:
        return
    upward = [target for target in GRAPH[module] if (_floor(target) or 0) > here]
    assert not upward, f"{module} imports from a higher layer: {upward}"


def test_no_circles():
    finished: set[str] = set()

    def visit(module: str, path: list[str]) -> None:
        for target in sorted(GRAPH.get(module, ())):
            if target in path:
                raise AssertionError("import circle: " + " -> ".join(path[path.index(target):] + [target]))
            if target not in finished:
                visit(target, path + [target])
        finished.add(module)

    for module in GRAPH:
        visit(module, [module])


def test_the_check_sees_imports():
    assert "grader.core.kit" in GRAPH["grader.run.runner"]
    assert _floor("grader.cli.main") > _floor("grader.run.runner") > _floor("grader.core.kit")
