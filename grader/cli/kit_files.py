"""Which of the kit's own files a hand-in changed, compared with the kit that grades it.

In a GitHub Classroom repository the student owns everything: the tests, ``exercises/kit.toml``,
``grader/`` and ``.github/workflows/grade.yml`` may have been edited. The batch grades with the
instructor's kit only, and names the files that differ so that an instructor sees the attempt.
"""
from __future__ import annotations

import re
import stat
import tempfile
from functools import cache
from pathlib import Path

import grader
from grader.core import kit
from grader.core.handins import read_exactly, walk
from grader.report.classroom import WORKFLOW_PATH, write_workflow

PACKAGE = Path(grader.__file__).resolve().parent
IGNORED = frozenset({"__pycache__"})  # compiled caches, made by whoever ran the grader
TEST = re.compile(r"[^/]+/test_[^/]*\.py")
WORKFLOW = WORKFLOW_PATH.as_posix()


def _expected_workflow() -> bytes:
    """What ``grader release --github-classroom`` writes as the workflow for this kit."""
    with tempfile.TemporaryDirectory(prefix="grader-workflow-") as tmp:
        (Path(tmp) / "pyproject.toml").write_bytes((kit.KIT_ROOT / "pyproject.toml").read_bytes())
        return write_workflow(Path(tmp)).read_bytes()


@cache
def kit_files() -> dict[str, bytes]:
    """The kit's own files, by their path in a student's repository, with their contents."""
    files = {f"exercises/{p.parent.name}/{p.name}": p.read_bytes() for p in kit.EXERCISES_DIR.glob("*/test_*.py")}
    files["exercises/kit.toml"] = kit.MANIFEST.read_bytes()
    for rel, path, info in walk(PACKAGE, skip=IGNORED):
        if stat.S_ISREG(info.st_mode) and not rel.endswith(".pyc"):
            files[f"grader/{rel}"] = path.read_bytes()
    files[WORKFLOW] = _expected_workflow()
    return files


def _carried(folder: Path, root: Path) -> tuple[dict[str, tuple[Path, int, int]], bool]:
    """(the hand-in's files at the kit's places: kit path -> (path, lstat mode, size), whether the
    hand-in is a whole repository of the kit: grader/ or the workflow next to its exercises/)."""
    base = root.parent if root.name == "exercises" and root != folder else root
    found: dict[str, tuple[Path, int, int]] = {}
    for rel, path, info in walk(root):
        if TEST.fullmatch(rel) or rel == "kit.toml":
            found[f"exercises/{rel}"] = (path, info.st_mode, info.st_size)
    package = base / "grader"
    if package.is_symlink() or (package.exists() and not package.is_dir()):
        found["grader/"] = (package, package.lstat().st_mode, 0)
    elif package.is_dir():
        for rel, path, info in walk(package, skip=IGNORED):
            if not stat.S_ISDIR(info.st_mode) and not rel.endswith(".pyc"):
                found[f"grader/{rel}"] = (path, info.st_mode, info.st_size)
    if (workflow := _lstat_within(base, WORKFLOW_PATH)) is not None:
        found[WORKFLOW] = workflow
    return found, package.is_symlink() or package.exists() or WORKFLOW in found


def _lstat_within(base: Path, rel: Path) -> tuple[Path, int, int] | None:
    """(path, lstat mode, size) of ``base/rel`` without following a link on the way (a link met
    on the way is what is found), or None when nothing is there."""
    path = base
    for index, part in enumerate(rel.parts, start=1):
        path = path / part
        try:
            info = path.lstat()
        except FileNotFoundError:
            return None
        if index == len(rel.parts) or not stat.S_ISDIR(info.st_mode):
            break
    return path, info.st_mode, info.st_size


def kit_files_changed(folder: Path, root: Path) -> list[str]:
    """The kit's files that the hand-in ``folder`` (graded folder ``root``) changed, added or
    deleted, as paths in a student's repository (``grader/`` per file), sorted.

    Deleted files count only in a whole repository of the kit; loose exercise folders name only
    the kit files they carry that differ, and none when they carry none. Links, FIFOs and the
    like at a kit file's place count as changed; nothing is followed, and a file is read only
    when its size equals the kit file's."""
    found, repository = _carried(folder, root)
    if not found:
        return []
    expected = kit_files()
    changed = []
    for rel, (path, mode, size) in found.items():
        want = expected.get(rel)
        if want is None or not stat.S_ISREG(mode) or size != len(want) or read_exactly(path, rel, size) != want:
            changed.append(rel)
    if repository:
        whole = ("grader/",) if "grader/" in found else ()  # a link or a file in place of grader/: one entry
        changed += [rel for rel in expected if rel not in found and not rel.startswith(whole)]
    return sorted(changed)
