"""Remembered results, so that an exercise whose inputs did not change is not graded again.

Only the learner's own ``exercises/`` and the kit's ``solutions/`` are remembered and reused; a
hand-in never is (its grade is read by someone else, and code graded without a sandbox could
have written the folder). A result is stored under a key that hashes everything it depends on:
every file of the graded folders of the exercise and of the exercises it reads (``uses`` in
``exercises/kit.toml``), in any subfolder, links resolved, and every file of the graded folder
outside the exercises' folders; the kit's tests, manifest and pyproject.toml; the grader's own
sources; the Python, torch, torchvision, numpy and pytest versions; how it was graded (device,
sandbox, limits, user); and the datasets it reads, taken *after* the run, so that data the run
itself fetched does not make its own entry unreachable. A folder too large or too deep to hash
is not remembered. Entries live in ``.grader/results/`` and carry an HMAC under a key kept
outside the kit (``~/.cache/nn-basics-kit/``), so an entry that the grader did not write (one
committed to a repository, say) is never read; one that cannot be read is ignored. Code graded
without the sandbox runs as the user who owns that key, so the grader also deletes every entry
that appeared or changed while a test process ran (:func:`discard_foreign`): a module cannot
forge the result of an exercise graded after it.
"""
from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import os
import secrets
import shutil
import stat
import sys
import time
from collections.abc import Iterator
from dataclasses import asdict
from importlib import metadata
from pathlib import Path

from grader.core import kit
from grader.core.files import atomic_write_text
from grader.core.results import ExerciseResult, Status, TestResult

FOLDER = kit.KIT_ROOT / ".grader" / "results"
PACKAGE = Path(__file__).resolve().parents[1]  # grader/
LIBRARIES = ("torch", "torchvision", "numpy", "pytest")
MAX_FILE = 4 << 20  # bytes of one graded file that are hashed; a larger one counts by size and time
MAX_ENTRIES = 5000  # files and folders of a graded folder; more and it is not remembered
MAX_DEPTH = 32
SKIPPED = {"__pycache__"}  # never read by a graded run (compiled files are looked up elsewhere)


def signing_key_path() -> Path:
    """Where the key that signs entries lives: in the user's cache folder, never in the kit."""
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "nn-basics-kit" / "results.key"


def _signing_key() -> bytes | None:
    """The key (made on first use, readable by its owner only), or None where it cannot be had."""
    path = signing_key_path()
    try:
        return bytes.fromhex(path.read_text().strip())
    except FileNotFoundError:
        pass
    except (OSError, ValueError):
        return None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_hex(32))
    except FileExistsError:  # made meanwhile by a parallel run
        pass
    except OSError:
        return None
    try:
        return bytes.fromhex(path.read_text().strip())
    except (OSError, ValueError):
        return None


def _version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "absent"


def _fingerprint(path: Path, info: os.stat_result) -> bytes:
    """A regular file's bytes when of sane size; otherwise what it is, so the key still changes with it."""
    if stat.S_ISREG(info.st_mode) and info.st_size <= MAX_FILE:
        try:
            with open(path, "rb") as f:
                return f.read(MAX_FILE + 1)
        except OSError as exc:
            return f"unreadable: {exc.errno}".encode()
    return f"not read: mode {info.st_mode:o}, {info.st_size} bytes, mtime {info.st_mtime_ns}".encode()


def _tree(root: Path, skip: set[str]) -> Iterator[tuple[str, bytes]]:
    """(label, content) for every entry under ``root`` (names in ``skip`` left out at its top), links
    resolved: a link counts by where it points and what is there. Iterative and bounded: raises
    OverflowError for more than MAX_ENTRIES entries or MAX_DEPTH levels."""
    pending = [(root, "", 0)]
    seen_dirs: set[tuple[int, int]] = set()
    count = 0
    while pending:
        folder, prefix, depth = pending.pop()
        if depth > MAX_DEPTH:
            raise OverflowError(f"{folder} is more than {MAX_DEPTH} folders deep")
        try:
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError as exc:
            yield f"{prefix}!", f"unlistable: {exc.errno}".encode()
            continue
        for entry in entries:
            if entry.name in SKIPPED or (depth == 0 and entry.name in skip):
                continue
            count += 1
            if count > MAX_ENTRIES:
                raise OverflowError(f"{root} holds more than {MAX_ENTRIES} files and folders")
            label = f"{prefix}{os.fsencode(entry.name).hex()}"
            path = Path(entry.path)
            link = os.readlink(path).encode("utf-8", "surrogateescape") if entry.is_symlink() else b""
            try:
                info = path.stat()
            except OSError:
                yield label, b"dangling link to " + link
                continue
            if stat.S_ISDIR(info.st_mode):
                if (info.st_dev, info.st_ino) not in seen_dirs:
                    seen_dirs.add((info.st_dev, info.st_ino))
                    pending.append((path, f"{label}/", depth + 1))
                yield label, b"folder " + link
            else:
                yield label, link + b"\0" + _fingerprint(path, info)


def code_key(exercise: str, target: Path, how: str) -> str | None:
    """The hash of everything but the datasets that ``exercise`` of ``target`` depends on, graded
    ``how`` (device, sandbox, limits, user); None when the graded folder is too large to hash."""
    digest = hashlib.sha256()

    def add(label: str, data: bytes) -> None:
        digest.update(label.encode("utf-8", "surrogateescape") + b"\0" + hashlib.sha256(data).digest())

    names = [exercise, *kit.uses(exercise)]
    try:
        for name in names:
            for label, data in _tree(target / name, set()):
                add(f"graded/{name}/{label}", data)
        for label, data in _tree(target, set(kit.exercise_names())):  # what lies beside the exercises' folders
            add(f"graded/{label}", data)
    except OverflowError:
        return None
    for path in [*kit.test_files(exercise), kit.MANIFEST, kit.KIT_ROOT / "pyproject.toml"]:
        add(f"kit/{path.name}", path.read_bytes() if path.is_file() else b"")
    for path in sorted(PACKAGE.rglob("*.py")):
        add(f"grader/{path.relative_to(PACKAGE).as_posix()}", path.read_bytes())
    versions = [sys.version, how, str(target.resolve()), *(f"{lib}={_version(lib)}" for lib in LIBRARIES)]
    add("environment", "\n".join(versions).encode())
    return digest.hexdigest()


def key(code: str, exercise: str) -> str:
    """``code`` (:func:`code_key`) with the state of the datasets ``exercise`` reads now: after a run
    that fetched them, the same key as before the next run."""
    digest = hashlib.sha256(code.encode())
    if kit.datasets_needed(exercise):
        from grader.data.datasets import raw_dir  # only when an exercise reads data

        for name in kit.datasets_needed(exercise):
            for path in sorted(p for p in raw_dir(name).glob("*") if p.is_file()):
                info = path.stat()
                digest.update(f"{name}/{path.name}:{info.st_size}:{info.st_mtime_ns}\0".encode())
    return digest.hexdigest()


_WRITTEN: dict[str, tuple[int, int]] = {}  # entry file name -> (inode, change time) of the file this process wrote


def entries() -> dict[str, tuple[int, int]] | None:
    """(inode, change time) of every entry file now, what :func:`discard_foreign` compares (no
    process can set a file's change time back); None when the folder exists but cannot be listed."""
    try:
        return {e.name: (e.inode(), e.stat(follow_symlinks=False).st_ctime_ns) for e in os.scandir(FOLDER)}
    except FileNotFoundError:
        return {}
    except OSError:
        return None


def discard_foreign(before: dict[str, tuple[int, int]] | None) -> None:
    """Delete every entry made or changed since ``before`` (taken as a test process started) that this
    process did not write: only graded code could have (forging a result for an exercise graded
    later). A folder that could not be listed then or now loses every entry."""
    now = entries()
    if before is None or now is None:
        with contextlib.suppress(OSError):
            FOLDER.chmod(0o700)  # made unlistable by graded code that owns it
        shutil.rmtree(FOLDER, ignore_errors=True)
        return
    for name, seen in now.items():
        if before.get(name) != seen and _WRITTEN.get(name) != seen:
            (FOLDER / name).unlink(missing_ok=True)


def _signature(signing_key: bytes, cache_key: str, record: dict) -> str:
    payload = cache_key.encode() + b"\0" + json.dumps(record, sort_keys=True).encode()
    return hmac.new(signing_key, payload, hashlib.sha256).hexdigest()


def load(cache_key: str) -> ExerciseResult | None:
    """The result stored under ``cache_key`` with its ``cached_age``, or None (missing, unreadable,
    malformed, or not signed by this user's key)."""
    signing_key = _signing_key()
    if signing_key is None:
        return None
    try:
        data = json.loads((FOLDER / f"{cache_key}.json").read_text())
        record = {"saved": data["saved"], "result": data["result"]}
        if not hmac.compare_digest(str(data["mac"]), _signature(signing_key, cache_key, record)):
            return None
        result = dict(record["result"])
        tests = [TestResult(**t) for t in result.pop("tests")]
        return ExerciseResult(**result, tests=tests, cached_age=max(0.0, time.time() - float(record["saved"])))
    except (OSError, ValueError, TypeError, KeyError, AttributeError):
        return None


def store(cache_key: str, result: ExerciseResult) -> None:
    """Remember ``result``, signed (never a timeout, which depends on the machine's load); errors ignored."""
    signing_key = _signing_key()
    if result.status == Status.TIMEOUT or signing_key is None:
        return
    result_record = asdict(result)
    result_record.pop("cached_age")
    record = {"saved": time.time(), "result": result_record}
    record = json.loads(json.dumps(record))  # as it will be read back (enums as strings)
    path = FOLDER / f"{cache_key}.json"
    try:
        atomic_write_text(path, json.dumps({**record, "mac": _signature(signing_key, cache_key, record)}))
        info = path.stat()
        _WRITTEN[path.name] = (info.st_ino, info.st_ctime_ns)
    except OSError:
        pass
