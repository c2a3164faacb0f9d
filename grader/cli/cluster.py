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
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

from grader.cli.grading import Graded, failure, finished, grade_copy, prepare, unfinished
from grader.cli.settings import Settings
from grader.core import kit
from grader.core.handins import Entry

INSTALL = 'pip install -e ".[cluster]"  (or: pip install "dask[distributed]")'


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


def grade_shipped(entries: list[Entry], names: list[str], settings: Settings, origin: str, fingerprint: str) -> dict:
    """On a worker: grade the shipped hand-in as a local batch would (:func:`grade_copy`) and return its
    results JSON, with ``origin`` (its graded folder on the submitting machine) for the copy's path.
    Raises when the worker cannot grade alike."""
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
    return grade_copy(entries, names, replace(settings, threads=threads), origin)


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
                      settings: Settings) -> Iterator[tuple[Path, Graded]]:
    """(hand-in, what grading it gave) as each task finishes on the cluster (refusals first), with a
    tqdm bar over hand-ins. Raises ClusterUnavailable before the first hand-in when the cluster is out of reach."""
    from distributed import as_completed
    from tqdm import tqdm

    if problem := problem_with(address):
        raise ClusterUnavailable(problem)
    client, cluster = connect(address)
    fingerprint = kit_fingerprint()
    try:
        futures: dict[Any, tuple[Path, list[str]]] = {}  # the files stay with the task only
        with tqdm(total=len(handins), unit="hand-in", desc="graded", disable=None) as bar:
            for index, handin in enumerate(handins):
                prepared = prepare(handin, names, settings)
                if isinstance(prepared, Graded):
                    bar.update()
                    yield handin, prepared
                    continue
                origin = str(prepared.root)
                key = hashlib.sha1(os.fsencode(origin)).hexdigest()[:12]
                future = client.submit(grade_shipped, prepared.entries, names, settings, origin, fingerprint,
                                       key=f"grade-{index}-{key}", pure=False, retries=1)
                futures[future] = handin, prepared.kit_files_changed
            for future in as_completed(list(futures)):
                handin, changed = futures.pop(future)
                bar.update()
                try:
                    report = future.result()
                except Exception as exc:  # noqa: BLE001 - a lost worker or a failed task costs only this row
                    reason = failure(exc)
                    if type(exc).__name__ == "KilledWorker":
                        reason = f"the grader could not grade this hand-in: the worker grading it died, twice ({exc})"
                    yield handin, unfinished(handin, names, settings, reason, True, changed)
                    continue
                yield handin, finished(report, changed)
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
