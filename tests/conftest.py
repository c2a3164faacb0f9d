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


def _traversable(folders: set[Path], bits: int = stat.S_IXOTH) -> list[tuple[Path, int]]:
    """Give others ``bits`` (search, by default) on ``folders``; (folder, old mode) of each one changed."""
    changed = []
    for folder in sorted(folders):
        mode = stat.S_IMODE(folder.stat().st_mode)
        if mode & bits != bits:
            folder.chmod(mode | bits)
            changed.append((folder, mode))
    return changed


@pytest.fixture(scope="session", autouse=True)
def reachable_by_the_unprivileged_user(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """As root: the interpreter, the kit and every temporary folder a test makes (pytest makes them
    0700) may be entered by others; the folders changed outside pytest's are restored at the end."""
    if os.geteuid() != 0:
        yield
        return
    base = tmp_path_factory.getbasetemp()
    leaves = [Path(sys.executable).resolve(), Path(sys.prefix).resolve(), REPO, base]
    changed = _traversable({parent for leaf in leaves for parent in [leaf, *leaf.parents] if parent.is_dir()})
    make = pytest.TempPathFactory.mktemp

    def mktemp(self: pytest.TempPathFactory, basename: str, numbered: bool = True) -> Path:
        path = make(self, basename, numbered)
        _traversable(set(path.parents))  # again: another pytest session may have reset them
        _traversable({path}, stat.S_IROTH | stat.S_IXOTH)  # a test may grade this very folder as a hand-in
        return path

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(pytest.TempPathFactory, "mktemp", mktemp)
        yield
    for folder, mode in changed:
        folder.chmod(mode)


@pytest.fixture(scope="session")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The real kit's Gradescope bundle (``grader export gradescope``), made once."""
    out = tmp_path_factory.mktemp("export") / "autograder.zip"
    proc = subprocess.run([sys.executable, "-m", "grader", "export", "gradescope", str(out)], cwd=REPO,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return out
