"""Grading a hand-in as root without bubblewrap: the test process runs as an unprivileged user.

Containers often forbid the user namespaces bubblewrap needs (Gradescope's among them). There,
a test process running as root could rewrite the kit's tests, the grader or the results of
later exercises. So a hand-in graded by root without the sandbox runs as a uid of its own that
no account on the system has (:class:`Lease`), for whom the kit is read-only, with the sandbox's allowlist of environment variables and a private HOME
and TMPDIR; its results still travel only through the inherited pipe. Before grading, the
grader checks as that user that it can read what the tests need and write none of the kit
(:func:`problems`); after each exercise it kills every process of that uid, so that nothing an
exercise started can wait for the next one's test process.
"""
from __future__ import annotations

import fcntl
import functools
import json
import os
import pwd
import signal
import stat
import sys
import sysconfig
import tempfile
from pathlib import Path

from grader.core.target import Target

FIRST_UID, ACCOUNTS = 64000, 1000  # uids with no account on the system: one per test process running at once
LEASES = Path(tempfile.gettempdir()) / "grader-unprivileged"  # root's own folder of lock files, one per uid


def needed(sandbox: bool, target: Target) -> bool:
    """Whether a test process of ``target`` drops to an unprivileged uid: a hand-in graded by root
    without the sandbox."""
    return target.is_handin and not sandbox and os.geteuid() == 0


def _has_account(uid: int) -> bool:
    try:
        pwd.getpwuid(uid)
    except KeyError:
        return False
    return True


class Lease:
    """A uid no other test process uses while this one runs (a lock file held in :data:`LEASES`,
    across grader processes too, such as a cluster's workers): test processes cannot signal,
    trace or read each other, and :meth:`release` kills every process the uid still has."""

    def __init__(self) -> None:
        LEASES.mkdir(mode=0o700, exist_ok=True)
        info = LEASES.lstat()
        if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.geteuid() or stat.S_IMODE(info.st_mode) & 0o077:
            raise PermissionError(f"{LEASES} is not a folder that only this user may use; remove it")
        for slot in range(ACCOUNTS):
            if _has_account(FIRST_UID + slot):
                continue
            fd = os.open(LEASES / str(slot), os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                continue
            self.uid, self._fd = FIRST_UID + slot, fd
            return
        raise RuntimeError(f"all {ACCOUNTS} unprivileged uids are in use")

    def release(self) -> None:
        """Kill what the uid left behind, then free it."""
        kill_all(self.uid)
        os.close(self._fd)


def drop(uid: int) -> None:
    """Become ``uid`` for good (in the child between fork and exec): no groups, group and user ``uid``."""
    os.setgroups([])
    os.setgid(uid)
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
            drop(uid)
            os.kill(-1, signal.SIGKILL)  # every process this uid may signal, except the caller
        except OSError:
            pass
        os._exit(0)
    os.waitpid(pid, 0)
