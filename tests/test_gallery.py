"""The mistake gallery: each classic mistake, applied to a copy of the reference, fails its
exercise with a message that names it; each alternative correct style passes.

A gallery file ``tests/gallery/NN_name.py`` holds MUTANTS (code appended to the solution
module, the test(s) it must fail, a phrase the failure message must contain) and CORRECT
(code that must pass the listed tests, or all of them).
"""
from __future__ import annotations

import os
import runpy
import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from grader import kit
from grader.runner import ExerciseResult, run_exercise

GALLERY = Path(__file__).parent / "gallery"


def entries() -> list[tuple[str, str, dict]]:
    found = []
    for path in sorted(GALLERY.glob("[0-9][0-9]_*.py")):
        data = runpy.run_path(str(path))
        found += [(path.stem, "mutant", e) for e in data.get("MUTANTS", [])]
        found += [(path.stem, "correct", e) for e in data.get("CORRECT", [])]
    return found


ENTRIES = entries()


def selected(kind: str, entry: dict) -> list[str] | None:
    names = entry.get("fails") if kind == "mutant" else entry.get("tests")
    return [names] if isinstance(names, str) else names


def grade_variant(root: Path, exercise: str, kind: str, entry: dict) -> ExerciseResult:
    folder = root / exercise
    shutil.copytree(kit.SOLUTIONS_DIR / exercise, folder, ignore=shutil.ignore_patterns("__pycache__"))
    (module,) = [p for p in folder.glob("*.py") if not p.name.startswith("test_")]
    module.write_text(module.read_text() + "\n\n# --- gallery variant ---\n" + entry["code"].strip() + "\n")
    return run_exercise(exercise, ["--target", str(root)], device="cpu", timeout=300, select=selected(kind, entry),
                        threads=1)


@pytest.fixture(scope="session")
def gallery_results(request, tmp_path_factory) -> dict[int, ExerciseResult]:
    """Grade every selected variant once, two at a time (each in its own subprocess)."""
    chosen = [item.callspec.params["index"] for item in request.session.items
              if item.originalname == "test_gallery"]
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        futures = {i: pool.submit(grade_variant, tmp_path_factory.mktemp(f"variant{i}"), *ENTRIES[i]) for i in chosen}
        return {i: f.result() for i, f in futures.items()}


@pytest.mark.parametrize("index", range(len(ENTRIES)), ids=[f"{ex}-{kind}-{e['name']}" for ex, kind, e in ENTRIES])
def test_gallery(index, gallery_results):
    exercise, kind, entry = ENTRIES[index]
    result = gallery_results[index]
    detail = "; ".join(f"{t.id.split('::')[-1]}: {t.kind}: {t.message}" for t in result.tests) or result.message
    if kind == "correct":
        assert result.status == "passed", f"a correct style ({entry['name']}) was rejected: {detail}"
        return
    assert result.status == "failed", f"mistake {entry['name']!r} was not caught (status {result.status}): {detail}"
    messages = [t.message for t in result.tests if t.kind == "failed"]
    assert any(entry["says"].lower() in m.lower() for m in messages), (
        f"mistake {entry['name']!r} failed, but no message says {entry['says']!r}: {detail}")
