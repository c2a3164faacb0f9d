"""Grading a hand-in as root without bubblewrap: the test process runs as an unprivileged user.

Containers often forbid the user namespaces bubblewrap needs (Gradescope's among them). There,
a test process running as root could rewrite the kit's tests, the grader or the results of
later exercises. So a hand-in graded by root without the sandbox runs as ``nobody``, for whom
the kit is read-only, with the sandbox's allowlist of environment variables and a private HOME
and TMPDIR; its results still travel only through the inherited pipe. Before grading, the
grader checks as that user that it can read what the tests need and write none of the kit
(:func:`problems`); after each exercise it kills every process of that user, so that nothing an
exercise started can wait for the next one's test process.
"""
from __future__ import annotations

import functools
import json
import os
import signal
import stat
import sys
import sysconfig
from pathlib import Path

from grader.core.target import Target

USER = GROUP = 65534  # nobody / nogroup on Debian, Ubuntu and Alpine images


def user_for(sandbox: bool, target: Target) -> int | None:
    """The uid a test process of ``target`` runs as: :data:`USER` for a hand-in graded by root
    without the sandbox, else None (the grader's own user)."""
    return USER if target.is_handin and not sandbox and os.geteuid() == 0 else None


def drop(uid: int) -> None:
    """Become ``uid`` for good (in the child between fork and exec): no groups, its group, its uid."""
    os.setgroups([])
    os.setgid(GROUP)
    os.setuid(uid)


def _writable(path: Path) -> list[str]:
    """``path`` and what is under it that the calling user may write (at most a few named)."""
    found: list[str] = []
    pending = [path]
    while pending and len(found) < 3:
        here = pending.pop()
        try:
            info = here.lstat()
        except OSError:
            continue
        if stat.S_ISLNK(info.st_mode):
            continue
        if os.access(here, os.W_OK):
            found.append(str(here))
        if stat.S_ISDIR(info.st_mode):
            try:
                pending += sorted(here.iterdir())
            except OSError:
                continue
    return found


def _searchable(path: Path) -> bool:
    """True unless ``path`` is a folder the calling user cannot enter (or cannot even look at)."""
    try:
        return not path.is_dir() or os.access(path, os.X_OK)
    except OSError:
        return False


def _probe(uid: int, readable: tuple[Path, ...], read_only: tuple[Path, ...], shallow: tuple[Path, ...]) -> list[str]:
    """What ``uid`` cannot read of ``readable`` or can write of ``read_only`` (whole trees) and
    ``shallow`` (the folders themselves), found by a child that became ``uid``."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - runs in the child
        os.close(r)
        try:
            drop(uid)
            found = [f"cannot read {p}" for p in readable if not (os.access(p, os.R_OK) and _searchable(p))]
            found += [f"can write {p}" for tree in read_only for p in _writable(tree)]
            found += [f"can write {p}" for p in shallow if os.access(p, os.W_OK)]
        except OSError as exc:
            found = [f"cannot become uid {uid}: {exc}"]
        except BaseException as exc:  # noqa: BLE001 - reported, never raised in a forked child
            found = [f"could not be checked: {exc}"]
        os.write(w, json.dumps(found).encode())
        os._exit(0)
    os.close(w)
    with os.fdopen(r, "rb") as pipe:
        data = pipe.read()
    os.waitpid(pid, 0)
    try:
        return [str(p) for p in json.loads(data)]
    except ValueError:
        return [f"the check as uid {uid} gave no answer"]


def interpreter_paths() -> list[str]:
    """The folders a fresh interpreter (the test process) imports from: the installation's and
    $PYTHONPATH's, not whatever this process added to its own sys.path."""
    return [sys.prefix, sys.base_prefix, *sysconfig.get_paths().values(),
            *(p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p)]


@functools.cache
def problems(uid: int, kit_root: Path, target: Path, data: Path) -> tuple[str, ...]:
    """Why ``uid`` may not run the tests of ``target`` safely (empty: it may): it must read the
    interpreter, its libraries, the grader, the kit, the hand-in and the datasets, and write none
    of the grader or the kit (tests, manifest, data) nor the Python installation's folders."""
    python = tuple(Path(p) for p in dict.fromkeys(interpreter_paths()) if Path(p).is_dir())
    package = Path(__file__).resolve().parents[1]  # grader/
    kit_files = (package, kit_root / "exercises", kit_root / "pyproject.toml", *([data] if data.is_dir() else []))
    return tuple(_probe(uid, (Path(sys.executable).resolve(), *python, *kit_files, target), kit_files,
                        (kit_root, *python)))


def kill_all(uid: int) -> None:
    """SIGKILL every process of ``uid`` (what an exercise left behind), from a child that became it."""
    pid = os.fork()
    if pid == 0:  # pragma: no cover - runs in the child
        try:
            os.setgroups([])
            os.setgid(GROUP)
            os.setuid(uid)
            os.kill(-1, signal.SIGKILL)  # every process this uid may signal, except the caller
        except OSError:
            pass
        os._exit(0)
    os.waitpid(pid, 0)
