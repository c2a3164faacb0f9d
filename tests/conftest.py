"""Run as root, the kit's tests grade hand-ins without the sandbox as the unprivileged user the
grader drops to (grader/run/unprivileged.py): that user must reach the interpreter, the kit and
the tests' temporary folders, as it would in a container laid out for grading."""
from __future__ import annotations

import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def _traversable(folders: set[Path]) -> list[tuple[Path, int]]:
    """Give others search (x) permission on ``folders``; (folder, old mode) of each one changed."""
    changed = []
    for folder in sorted(folders):
        mode = folder.stat().st_mode
        if not mode & stat.S_IXOTH:
            folder.chmod(stat.S_IMODE(mode) | stat.S_IXOTH)
            changed.append((folder, stat.S_IMODE(mode)))
    return changed


@pytest.fixture(scope="session", autouse=True)
def reachable_by_the_unprivileged_user(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    if os.geteuid() != 0:
        yield
        return
    base = tmp_path_factory.getbasetemp()
    leaves = [Path(sys.executable).resolve(), Path(sys.prefix).resolve(), REPO, base]
    folders = {parent for leaf in leaves for parent in [leaf, *leaf.parents] if parent.is_dir()}
    changed = _traversable(folders)
    yield
    for folder, mode in changed:
        folder.chmod(mode)


@pytest.fixture(autouse=True)
def reachable_temporary_folder(request: pytest.FixtureRequest) -> None:
    """A test's tmp_path (made 0700 by pytest) may be entered by that user too, as root."""
    if os.geteuid() == 0 and "tmp_path" in request.fixturenames:
        folder = request.getfixturevalue("tmp_path")
        _traversable({folder, *folder.parents})  # pytest (another session's too) makes its folders 0700


@pytest.fixture(scope="session")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The real kit's Gradescope bundle (``grader export gradescope``), made once."""
    out = tmp_path_factory.mktemp("export") / "autograder.zip"
    proc = subprocess.run([sys.executable, "-m", "grader", "export", "gradescope", str(out)], cwd=REPO,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return out
