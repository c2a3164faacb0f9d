"""Resource limits for one test process and everything it starts.

Two layers, both applied in the child between fork and exec:

- rlimits, everywhere: address-space-independent data size (RLIMIT_DATA, so a 6 GB allocation
  fails with MemoryError while torch's large virtual reservations still work), file size,
  process count (ignored by the kernel for root), no core files;
- a cgroup per test process where the grader may create one (root, cgroup v1 or v2): a
  memory limit that also covers tmpfs files and child processes, a process-count limit that
  holds for root too, and a way to kill every process of the exercise (used even without
  limits, so that no detached descendant outlives its exercise).
"""
from __future__ import annotations

import os
import re
import resource
import secrets
import signal
from dataclasses import dataclass
from pathlib import Path

CGROUP_ROOT = Path("/sys/fs/cgroup")
UNITS = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}


SMALLEST, LARGEST = 256 << 20, 1 << 40  # a test process needs a few hundred MB; more than a TiB is a typo


def parse_size(text: str) -> int:
    """Bytes from '4G', '512M', '1.5GiB', '2048' (binary units), between 256M and 1T; ValueError otherwise."""
    match = re.fullmatch(r"\s*(\d{1,12}(?:\.\d{1,6})?)\s*([KMGT]?)(?:i?B)?\s*", text, flags=re.I)
    if not match:
        raise ValueError(f"{text[:40]!r} is not a size such as 4G or 512M")
    size = int(float(match.group(1)) * UNITS[match.group(2).upper()])
    if not SMALLEST <= size <= LARGEST:
        raise ValueError(f"{text!r}: give a size between 256M and 1T")
    return size


@dataclass(frozen=True)
class Limits:
    """What one exercise may use: memory (bytes), processes, bytes per written file."""

    memory: int = 4 << 30
    processes: int = 256
    file_size: int = 1 << 30
    limit_data: bool = True  # False on CUDA, whose driver maps more than any sane data limit

    def apply_rlimits(self) -> None:
        """Set the rlimits of the calling process (run in the child before exec)."""
        pairs = [(resource.RLIMIT_FSIZE, self.file_size), (resource.RLIMIT_NPROC, self.processes),
                 (resource.RLIMIT_CORE, 0)]
        if self.limit_data:
            pairs.append((resource.RLIMIT_DATA, self.memory))
        for which, value in pairs:
            soft, hard = resource.getrlimit(which)
            cap = value if hard == resource.RLIM_INFINITY else min(value, hard)
            resource.setrlimit(which, (cap, cap))


class CGroup:
    """A fresh cgroup (memory and pids) for one test process, removed by :meth:`close`.

    ``CGroup.create`` returns None where the grader may not create one; everything else still
    works then, with the rlimits alone.
    """

    def __init__(self, dirs: list[Path], version: int) -> None:
        self.dirs, self.version = dirs, version

    @classmethod
    def create(cls, limits: Limits | None) -> CGroup | None:
        """A new group enforcing ``limits`` (None: only tracking the processes), or None if impossible."""
        name = f"grader-{os.getpid()}-{secrets.token_hex(4)}"
        unified = CGROUP_ROOT / "cgroup.controllers"
        try:
            if unified.exists():
                wanted = {"memory", "pids"}
                if not wanted <= set(unified.read_text().split()):
                    return None
                (CGROUP_ROOT / "cgroup.subtree_control").write_text("+memory +pids")
                folder = CGROUP_ROOT / name
                folder.mkdir()
                group = cls([folder], 2)
                if limits is not None:
                    (folder / "memory.max").write_text(str(limits.memory))
                    (folder / "memory.swap.max").write_text("0")
                    (folder / "pids.max").write_text(str(limits.processes))
                return group
            memory, pids = CGROUP_ROOT / "memory" / name, CGROUP_ROOT / "pids" / name
            if not (memory.parent / "cgroup.procs").exists() or not (pids.parent / "cgroup.procs").exists():
                return None
            memory.mkdir()
            group = cls([memory], 1)
            pids.mkdir()
            group.dirs.append(pids)
            if limits is not None:
                (memory / "memory.limit_in_bytes").write_text(str(limits.memory))
                (pids / "pids.max").write_text(str(limits.processes))
            return group
        except OSError:
            if "group" in locals():
                group.close()
            return None

    def enter(self) -> None:
        """Move the calling process into the group (run in the child before exec)."""
        for folder in self.dirs:  # plain system calls: this runs between fork and exec
            fd = os.open(folder / "cgroup.procs", os.O_WRONLY)
            try:
                os.write(fd, str(os.getpid()).encode())
            finally:
                os.close(fd)

    def pids(self) -> set[int]:
        found: set[int] = set()
        for folder in self.dirs:
            try:
                found |= {int(p) for p in (folder / "cgroup.procs").read_text().split()}
            except OSError:
                pass
        return found

    def kill_all(self) -> None:
        """SIGKILL every process still in the group (descendants that left the session too)."""
        for _ in range(50):
            left = self.pids()
            if not left:
                return
            for pid in left:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass

    def close(self) -> None:
        self.kill_all()
        for folder in self.dirs:
            try:
                folder.rmdir()
            except OSError:
                pass
