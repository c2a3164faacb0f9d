"""The output folder of a ``grader train`` run, never half-written.

The run writes into a hidden staging folder next to ``--out`` and moves it into place in one
step at the very end; any failure or Ctrl-C removes the staging folder (and any parent folder
the run created), so ``runs/`` never holds a half-filled run.
"""
from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

from grader.core import kit

RUNS_DIR = kit.KIT_ROOT / "runs"  # default parent of --out (ignored by git)


def _umask() -> int:
    """The process's umask (reading it means setting it: set it back at once)."""
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def staged(out: Path) -> Iterator[Path]:
    """Yield a hidden staging folder beside ``out``; on success move it to ``out`` in one
    rename. On any failure (Ctrl-C included) remove it and every parent folder it created."""
    created: list[Path] = []
    parent = out.parent
    while not parent.exists():
        created.append(parent)
        parent = parent.parent
    out.parent.mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(prefix=f".{out.name}.partial-", dir=out.parent))
    try:
        yield stage
        if out.is_dir():  # an empty folder the user named with --out (checked up front)
            out.rmdir()
        mask = _umask()
        for path in stage.rglob("*"):  # temporary-file helpers create 0600 files; give them the usual mode
            os.chmod(path, (0o777 if path.is_dir() else 0o666) & ~mask)
        os.rename(stage, out)
        os.chmod(out, 0o777 & ~mask)
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        for folder in created:  # deepest first; stops at the first one that is not empty
            try:
                folder.rmdir()
            except OSError:
                break
        raise


def default_out() -> Path:
    """runs/<timestamp>/ in the kit, with -2, -3, ... when that run already exists."""
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    out, n = RUNS_DIR / stamp, 2
    while out.exists():
        out, n = RUNS_DIR / f"{stamp}-{n}", n + 1
    return out

