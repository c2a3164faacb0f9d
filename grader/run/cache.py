"""Remembered results, so that an exercise whose inputs did not change is not graded again.

A result is stored under a key that hashes everything it depends on: the graded folder's
modules for the exercise and for the exercises it reads (``uses`` in ``exercises/kit.toml``),
the kit's test files, the grader's own sources, the Python, torch, torchvision and numpy
versions, the device, and the size and time of the dataset files it reads. Any change to any
of them is a new key. Entries live in ``.grader/results/``; one that cannot be read is ignored.
"""
from __future__ import annotations

import hashlib
import json
import sys
import time
from dataclasses import asdict
from importlib import metadata
from pathlib import Path
from stat import S_ISREG

from grader.core import kit
from grader.core.files import atomic_write_text
from grader.core.results import ExerciseResult, Status, TestResult

FOLDER = kit.KIT_ROOT / ".grader" / "results"
PACKAGE = Path(__file__).resolve().parents[1]  # grader/
LIBRARIES = ("torch", "torchvision", "numpy", "pytest")
MAX_FILE = 4 << 20  # bytes of one graded file that are hashed


def _version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "absent"


def _dataset_files(exercise: str) -> list[Path]:
    from grader.data.datasets import raw_dir  # only when an exercise reads data

    return sorted(p for name in kit.datasets_needed(exercise) for p in raw_dir(name).glob("*") if p.is_file())


def _contents(path: Path) -> bytes:
    """A graded file's bytes, read only when it is a regular file of sane size (never a FIFO, a
    device or a link to one); otherwise what it is, so that the key still changes with it."""
    stat = path.lstat()
    if not S_ISREG(stat.st_mode) or stat.st_size > MAX_FILE:
        return f"not read: mode {stat.st_mode:o}, {stat.st_size} bytes, mtime {stat.st_mtime_ns}".encode()
    with open(path, "rb") as f:
        return f.read(MAX_FILE + 1)


def key(exercise: str, target: Path, device: str) -> str:
    """The hash of everything exercise ``exercise`` of ``target`` depends on, on ``device``."""
    digest = hashlib.sha256()

    def add(label: str, data: bytes) -> None:
        digest.update(label.encode("utf-8", "surrogateescape") + b"\0" + hashlib.sha256(data).digest())

    for name in [exercise, *kit.uses(exercise)]:
        for path in sorted((target / name).glob("*.py")):
            add(f"graded/{name}/{path.name}", _contents(path))
    for path in kit.test_files(exercise) + [kit.MANIFEST]:
        add(f"kit/{path.name}", path.read_bytes() if path.is_file() else b"")
    for path in sorted(PACKAGE.rglob("*.py")):
        add(f"grader/{path.relative_to(PACKAGE).as_posix()}", path.read_bytes())
    for path in _dataset_files(exercise):
        stat = path.stat()
        add(f"data/{path.name}", f"{stat.st_size}:{stat.st_mtime_ns}".encode())
    versions = [sys.version, device, str(target.resolve()), *(f"{lib}={_version(lib)}" for lib in LIBRARIES)]
    add("environment", "\n".join(versions).encode())
    return digest.hexdigest()


def load(cache_key: str) -> ExerciseResult | None:
    """The result stored under ``cache_key`` with its ``cached_age``, or None (missing, unreadable
    or malformed)."""
    try:
        data = json.loads((FOLDER / f"{cache_key}.json").read_text())
        tests = [TestResult(**t) for t in data["result"].pop("tests")]
        return ExerciseResult(**data["result"], tests=tests, cached_age=max(0.0, time.time() - float(data["saved"])))
    except (OSError, ValueError, TypeError, KeyError, AttributeError):
        return None


def store(cache_key: str, result: ExerciseResult) -> None:
    """Remember ``result`` (never a timeout, which depends on the machine's load); errors ignored."""
    if result.status == Status.TIMEOUT:
        return
    record = asdict(result)
    record.pop("cached_age")
    try:
        atomic_write_text(FOLDER / f"{cache_key}.json", json.dumps({"saved": time.time(), "result": record}))
    except OSError:
        pass
