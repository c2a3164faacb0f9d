"""The mistake gallery: each classic mistake, applied to a copy of the reference, fails its
exercise with a message that names it; each alternative correct style passes.

A gallery file ``tests/gallery/NN_name.py`` holds MUTANTS (code appended to the solution
module, the test(s) it must fail, a phrase the failure message must contain) and CORRECT
(code that must pass the listed tests, or all of them).

A mutant is run on the tests named in its ``fails``; when the gallery file defines ``SLOW``
(the names of its slow tests, possibly empty) and the mutant names none of them, on every fast
test of the exercise. One of its ``fails`` tests must fail with its ``says`` phrase.

No wrong blame, in two rules. Every test a mutant fails is one it names in ``fails`` or in its
optional ``also_fails`` (tests whose message is true for this mistake too), so a second
message cannot blame a cause the mistake does not have. And no failing message of a mutant may
contain the ``says`` phrase of another mutant of the same exercise, unless that phrase is part
of the mutant's own ``says`` or is listed in its optional ``also`` (for a message that is true
for both mistakes).
"""
from __future__ import annotations

import os
import runpy
import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from kit_device import DEVICE

from grader.core import kit
from grader.core.results import ExerciseResult
from grader.core.target import Target
from grader.run.runner import run_exercise

GALLERY = Path(__file__).parent / "gallery"


def entries() -> tuple[list[tuple[str, str, dict]], dict[str, list[str] | None]]:
    """Every (exercise, kind, entry) of the gallery, and each exercise's SLOW list (None if absent)."""
    found, slow = [], {}
    for path in sorted(GALLERY.glob("[0-9][0-9]_*.py")):
        data = runpy.run_path(str(path))
        slow[path.stem] = list(data["SLOW"]) if "SLOW" in data else None
        found += [(path.stem, "mutant", e) for e in data.get("MUTANTS", [])]
        found += [(path.stem, "correct", e) for e in data.get("CORRECT", [])]
    return found, slow


ENTRIES, SLOW = entries()


def names(kind: str, entry: dict) -> list[str] | None:
    """The tests a mutant must fail (``fails``) or a correct style must pass (``tests``)."""
    listed = entry.get("fails") if kind == "mutant" else entry.get("tests")
    return [listed] if isinstance(listed, str) else listed


def run_options(exercise: str, kind: str, entry: dict) -> tuple[list[str] | None, list[str]]:
    """(select, extra pytest options) for one gallery entry.

    A mutant of a file with SLOW runs every fast test; one that names a slow test runs just the
    tests it names (a slow test is judged on its own, as its prerequisites would block it).
    """
    slow, listed = SLOW[exercise], names(kind, entry)
    if kind == "correct" or slow is None or set(slow) & set(listed or []):
        return listed, []
    return None, (["-k", "not (" + " or ".join(slow) + ")"] if slow else [])


def grade_variant(root: Path, exercise: str, kind: str, entry: dict) -> ExerciseResult:
    folder = root / exercise
    shutil.copytree(kit.SOLUTIONS_DIR / exercise, folder, ignore=shutil.ignore_patterns("__pycache__"))
    (module,) = [p for p in folder.glob("*.py") if not p.name.startswith("test_")]
    module.write_text(module.read_text() + "\n\n# --- gallery variant ---\n" + entry["code"].strip() + "\n")
    select, options = run_options(exercise, kind, entry)
    return run_exercise(exercise, Target.handin(root), pytest_args=options, device=DEVICE, timeout=300, select=select,
                        threads=1, warm=True)


@pytest.fixture(scope="session")
def gallery_results(request, tmp_path_factory) -> dict[int, ExerciseResult]:
    """Grade every selected variant once, two at a time (each in its own subprocess)."""
    chosen = [item.callspec.params["index"] for item in request.session.items
              if item.originalname == "test_gallery"]
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        futures = {i: pool.submit(grade_variant, tmp_path_factory.mktemp(f"variant{i}"), *ENTRIES[i]) for i in chosen}
        return {i: f.result() for i, f in futures.items()}


def function_name(test_id: str) -> str:
    return test_id.split("::")[-1].split("[")[0]


def wrong_blames(exercise: str, entry: dict, messages: list[str]) -> list[str]:
    """The ``says`` phrases of other mutants of ``exercise`` that appear in ``messages`` without reason."""
    own = entry["says"].lower()
    allowed = [a.lower() for a in entry.get("also", [])]
    others = {e["says"] for ex, kind, e in ENTRIES if ex == exercise and kind == "mutant" and e is not entry}
    return sorted(p for p in others if p.lower() not in own and p.lower() not in allowed
                  and any(p.lower() in m.lower() for m in messages))


@pytest.mark.parametrize("index", range(len(ENTRIES)), ids=[f"{ex}-{kind}-{e['name']}" for ex, kind, e in ENTRIES])
def test_gallery(index, gallery_results):
    exercise, kind, entry = ENTRIES[index]
    result = gallery_results[index]
    detail = "; ".join(f"{function_name(t.id)}: {t.kind}: {t.message}" for t in result.tests
                       if t.kind != "passed") or result.message
    if kind == "correct":
        assert result.status == "passed", f"a correct style ({entry['name']}) was rejected: {detail}"
        return
    assert result.status == "failed", f"mistake {entry['name']!r} was not caught (status {result.status}): {detail}"
    failed = [t for t in result.tests if t.kind == "failed"]
    targets = names(kind, entry)
    named = [t.message for t in failed if targets is None or function_name(t.id) in targets]
    assert any(entry["says"].lower() in m.lower() for m in named), (
        f"mistake {entry['name']!r} failed, but no message of {targets or 'its tests'} says {entry['says']!r}: {detail}")
    unexpected = [f"{function_name(t.id)}: {t.message}" for t in failed
                  if targets is not None and function_name(t.id) not in targets + entry.get("also_fails", [])]
    assert not unexpected, (
        f"mistake {entry['name']!r} also fails tests it does not name in fails or also_fails: {'; '.join(unexpected)}")
    blamed = wrong_blames(exercise, entry, [t.message for t in failed])
    assert not blamed, (
        f"mistake {entry['name']!r} is blamed on other mistakes ({', '.join(map(repr, blamed))}): {detail}")
