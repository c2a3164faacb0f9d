"""``grader batch DIR --cluster ADDRESS|local:N``: one Dask task per hand-in.

Each task carries the hand-in's files as bytes (workers share no filesystem with this machine),
unpacks them into a temporary folder on a worker, grades them with the worker's kit exactly as a
local ``batch`` would (same runner and settings, sandboxed where this run is), and returns the
results JSON with the worker's paths replaced by this machine's: the CSV and the per-hand-in
JSON equal a local batch's. A task that fails is retried once; a worker that dies while grading
costs only the hand-ins it held, each retried once (``local:N`` sets the scheduler's
``allowed-failures`` to 1; on your own scheduler set ``distributed.scheduler.allowed-failures``),
then reported as ``error`` in its row. Dask is the optional extra ``cluster``.
"""
from __future__ import annotations

import hashlib
import logging
import os
import tempfile
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from grader.cli.settings import Settings
from grader.core import kit
from grader.core.results import ExerciseResult, Status
from grader.core.target import Target
from grader.report.scorecard import to_json

if TYPE_CHECKING:
    from grader.cli.grading import Graded

MAX_BYTES = 64 << 20  # what one hand-in may ship to a worker
INSTALL = 'pip install -e ".[cluster]"  (or: pip install "dask[distributed]")'
Entry = tuple[str, str, bytes]  # (kind: dir | file | link, POSIX path in the hand-in, content or link target)


class ClusterUnavailable(RuntimeError):
    """Dask is missing, the address is malformed, or the scheduler cannot be reached; ``str()`` says which."""


class KitMismatch(RuntimeError):
    """The worker's kit (tests or grader) is not the one this batch was started with."""


def problem_with(address: str) -> str | None:
    """Why ``--cluster address`` cannot work before anything starts (Dask missing, bad form), or None."""
    try:
        import distributed  # noqa: F401
    except ImportError:
        return f"--cluster needs Dask, which is not installed: {INSTALL}"
    if address.startswith("local"):
        count = address.partition(":")[2]
        if address.count(":") != 1 or not count.isdigit() or int(count) < 1:
            return f"--cluster {address}: write local:N with N worker processes, e.g. local:4"
    elif not address.strip() or any(c.isspace() for c in address):
        return f"--cluster {address!r}: give the scheduler's address (tcp://HOST:8786) or local:N"
    return None


def kit_fingerprint() -> str:
    """A digest of what decides the grades: the kit's tests, its manifest and its pyproject.toml (version)."""
    digest = hashlib.sha256()
    for path in [*sorted(kit.EXERCISES_DIR.glob("*/test_*.py")), kit.MANIFEST, kit.KIT_ROOT / "pyproject.toml"]:
        if path.is_file():
            digest.update(path.relative_to(kit.KIT_ROOT).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def pack(root: Path, limit: int = MAX_BYTES) -> list[Entry]:
    """The tree under ``root`` as entries; links are kept as links (never followed), as on a local batch.

    Raises ValueError when the files add up to more than ``limit`` bytes."""
    entries: list[Entry] = []
    total = 0
    for folder, dirs, files in os.walk(root):
        here = Path(folder)
        for name in sorted(dirs) + sorted(files):
            path = here / name
            rel = path.relative_to(root).as_posix()
            if path.is_symlink():
                entries.append(("link", rel, os.fsencode(os.readlink(path))))
            elif path.is_dir():
                entries.append(("dir", rel, b""))
            elif path.is_file():
                data = path.read_bytes()
                total += len(data)
                if total > limit:
                    raise ValueError(f"the hand-in holds more than {limit >> 20} MiB of files; nothing was shipped")
                entries.append(("file", rel, data))
        dirs[:] = [d for d in dirs if not (here / d).is_symlink()]
    return entries


def unpack(entries: list[Entry], root: Path) -> None:
    """Recreate ``pack``'s entries under ``root`` (paths that would leave ``root`` are refused)."""
    root.mkdir(parents=True)
    for kind, rel, data in entries:
        parts = PurePosixPath(rel).parts
        if not parts or PurePosixPath(rel).is_absolute() or ".." in parts:
            raise ValueError(f"refusing to unpack {rel!r} outside the hand-in")
        path = root.joinpath(*parts)
        if kind == "dir":
            path.mkdir(exist_ok=True)
        elif kind == "link":
            os.symlink(os.fsdecode(data), path)
        else:
            path.write_bytes(data)


def _replace_paths(value: Any, old: str, new: str) -> Any:
    """``value`` (JSON data) with ``old`` replaced by ``new`` in every string."""
    if isinstance(value, str):
        return value.replace(old, new)
    if isinstance(value, list):
        return [_replace_paths(v, old, new) for v in value]
    if isinstance(value, dict):
        return {k: _replace_paths(v, old, new) for k, v in value.items()}
    return value


def grade_shipped(entries: list[Entry], names: list[str], settings: Settings, origin: str, fingerprint: str) -> dict:
    """On a worker: grade the shipped hand-in and return its results JSON, with ``origin`` (the hand-in's
    path on the submitting machine) as target and in messages. Raises when the worker cannot grade alike."""
    from grader.cli.grading import grade
    from grader.run import sandbox as sandboxing

    if kit_fingerprint() != fingerprint:
        raise KitMismatch(f"the kit at {kit.KIT_ROOT} on this worker differs from the submitting machine's "
                          "(tests, kit.toml or version); install the same kit on every worker")
    if settings.sandbox and (reason := sandboxing.unavailable_reason()):
        raise sandboxing.SandboxUnavailable(f"this worker cannot sandbox ({reason}); install bubblewrap on the "
                                            "workers, or grade with --sandbox off")
    try:
        from distributed import get_worker

        threads: int | None = max(1, (os.cpu_count() or 1) // max(1, int(get_worker().state.nthreads)))
    except (ImportError, ValueError, AttributeError):
        threads = settings.threads
    with tempfile.TemporaryDirectory(prefix="grader-handin-") as tmp:
        root = Path(tmp).resolve() / "handin"
        unpack(entries, root)
        here = replace(settings, jobs=1, threads=threads)
        results = grade(names, Target.handin(root), here)
        return _replace_paths(to_json(results, str(root), here.device, here.sandbox, here.environment()), str(root), origin)


def rows_from_json(data: dict) -> list[ExerciseResult]:
    """What the CSV and the progress lines need of each exercise, from a results JSON."""
    return [ExerciseResult(e["name"], e["status"], e["points"], e["max_points"], e["seconds"], e.get("message", ""))
            for e in data["exercises"]]


def _failed(handin: Path, names: list[str], settings: Settings, reason: str) -> tuple[Path, Graded, dict]:
    """The row of a hand-in the cluster could not grade: every exercise ``error`` with the reason."""
    results = [ExerciseResult(n, Status.ERROR, 0, 0, 0.0, f"the grader could not grade this hand-in: {reason}") for n in names]
    target = str(handin.resolve())
    return handin, (target, results, True), to_json(results, target, settings.device, settings.sandbox, settings.environment())


def connect(address: str) -> tuple[Any, Any]:
    """(Client, LocalCluster or None) for ``address``; raises ClusterUnavailable."""
    import dask
    from distributed import Client, LocalCluster

    try:
        if address.startswith("local:"):
            with dask.config.set({"distributed.scheduler.allowed-failures": 1}):
                cluster = LocalCluster(n_workers=int(address.partition(":")[2]), threads_per_worker=1, processes=True,
                                       dashboard_address=None, memory_limit=0, silence_logs=logging.ERROR)
            return Client(cluster), cluster
        return Client(address, timeout="10s"), None
    except (OSError, TimeoutError, ValueError) as exc:
        raise ClusterUnavailable(f"cannot reach the Dask scheduler at {address}: {exc}") from None


def graded_on_cluster(address: str, handins: list[Path], names: list[str],
                      settings: Settings) -> Iterator[tuple[Path, Graded, dict]]:
    """(hand-in, what grading it gave, its results JSON) as each task finishes on the cluster, with a
    tqdm bar over hand-ins. Raises ClusterUnavailable before the first hand-in when the cluster is out of reach."""
    from distributed import as_completed
    from tqdm import tqdm

    from grader.cli.grading import handin_root

    if problem := problem_with(address):
        raise ClusterUnavailable(problem)
    client, cluster = connect(address)
    fingerprint = kit_fingerprint()
    try:
        futures, origins = {}, {}
        with tqdm(total=len(handins), unit="hand-in", desc="graded", disable=None) as bar:
            for index, handin in enumerate(handins):
                root = handin_root(handin, names).resolve()
                try:
                    entries = pack(root)
                except (OSError, ValueError) as exc:
                    bar.update()
                    yield _failed(handin, names, settings, f"{type(exc).__name__}: {exc}")
                    continue
                future = client.submit(grade_shipped, entries, names, settings, str(root), fingerprint,
                                       key=f"grade-{index}-{hashlib.sha1(str(root).encode()).hexdigest()[:12]}",
                                       pure=False, retries=1)
                futures[future], origins[future] = handin, str(root)
            for future in as_completed(list(futures)):
                handin = futures[future]
                try:
                    data = future.result()
                except Exception as exc:  # noqa: BLE001 - a lost worker or a failed task costs only this row
                    reason = f"{type(exc).__name__}: {exc}"
                    if type(exc).__name__ == "KilledWorker":
                        reason = f"the worker grading it died, twice ({reason})"
                    bar.update()
                    yield _failed(handin, names, settings, reason)
                    continue
                bar.update()
                yield handin, (origins[future], rows_from_json(data), False), data
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
