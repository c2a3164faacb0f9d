"""Warm start: one preloaded process forks a fresh test process per exercise.

Importing torch, numpy, matplotlib and pytest costs seconds; a ``grader`` run pays it once,
in the zygote, instead of once per exercise. For each exercise the zygote forks a child that
forks the test process and exits at once, so the test process is re-parented to the grader
(a child subreaper): the grader waits for it, times it out and kills it exactly as it would a
process it had started itself. Each test process is a fresh copy of the zygote, which never
imports graded code, so exercises stay isolated from each other. Sandboxed runs do not use it.

Protocol on a Unix socket: the grader sends one JSON line (argv, env, cwd, threads, cgroup
folders) with three descriptors attached (output, results channel, secrets); the zygote
answers with the test process's pid as one line.
"""
from __future__ import annotations

import ctypes
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

# Libraries only: the grader's plugin must be imported by pytest itself, which rewrites its asserts.
PRELOAD = ("numpy", "torch", "torchvision", "matplotlib.pyplot", "pytest", "tqdm")
PR_SET_PDEATHSIG, PR_SET_CHILD_SUBREAPER = 1, 36
CHANNEL = "{channel}"  # in argv: replaced by the test process's own descriptor numbers


def _prctl(option: int, value: int) -> bool:
    try:
        return ctypes.CDLL(None, use_errno=True).prctl(option, value) == 0
    except (OSError, AttributeError):
        return False


class Zygote:
    """The grader's side: start the zygote, ask it for test processes."""

    def __init__(self) -> None:
        if not _prctl(PR_SET_CHILD_SUBREAPER, 1):
            raise OSError("this system cannot re-parent test processes to the grader")
        ours, theirs = socket.socketpair()
        env = {**os.environ, "MPLBACKEND": "Agg", "PYTHONDONTWRITEBYTECODE": "1"}
        started: list[subprocess.Popen] = []

        def keeper() -> None:
            # The kernel's parent-death signal follows the *thread* that started a child: a thread
            # that lives as long as the grader starts the zygote, so it dies with the grader only.
            started.append(subprocess.Popen(
                [sys.executable, "-m", "grader.zygote", str(theirs.fileno())], pass_fds=(theirs.fileno(),),
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env,
                preexec_fn=lambda: _prctl(PR_SET_PDEATHSIG, signal.SIGKILL)))
            threading.Event().wait()

        threading.Thread(target=keeper, daemon=True, name="zygote-keeper").start()
        while not started:
            time.sleep(0.005)
        self.proc = started[0]
        theirs.close()
        self.socket, self.lock = ours, threading.Lock()
        self.replies = ours.makefile("r")

    def spawn(self, argv: list[str], env: dict[str, str], cwd: Path, fds: tuple[int, int, int],
              threads: int | None, cgroups: list[str]) -> int:
        """The pid of a new test process running ``pytest argv`` with output to ``fds[0]``."""
        request = json.dumps({"argv": argv, "env": env, "cwd": str(cwd), "threads": threads, "cgroups": cgroups})
        with self.lock:
            socket.send_fds(self.socket, [request.encode() + b"\n"], list(fds))
            reply = self.replies.readline()
        if not reply.strip().isdigit():
            raise OSError(f"the zygote did not start a test process ({reply.strip() or 'it ended'})")
        return int(reply)


_shared: Zygote | None = None
_shared_lock = threading.Lock()


def shared() -> Zygote | None:
    """The run's zygote (started on first use), or None where it cannot work."""
    global _shared
    with _shared_lock:
        if _shared is None or _shared.proc.poll() is not None:
            try:
                _shared = Zygote()
            except OSError:
                return None
        return _shared


# ---------------------------------------------------------------- the zygote process itself

def _test_process(request: dict[str, Any], fds: list[int]) -> None:
    """In the forked test process: take the descriptors and settings, run pytest, exit."""
    output, channel, secrets = fds
    os.setsid()
    os.dup2(output, 1)
    os.dup2(output, 2)
    os.close(output)
    for path in request["cgroups"]:
        fd = os.open(Path(path) / "cgroup.procs", os.O_WRONLY)
        os.write(fd, str(os.getpid()).encode())
        os.close(fd)
    os.environ.clear()
    os.environ.update(request["env"])
    sys.pycache_prefix = os.environ.get("PYTHONPYCACHEPREFIX")
    os.chdir(request["cwd"])
    if request["threads"]:
        import torch

        torch.set_num_threads(int(request["threads"]))
    import pytest

    argv = [f"{channel},{secrets}" if arg == CHANNEL else arg for arg in request["argv"]]
    sys.argv = ["pytest", *argv]
    code = pytest.main(argv)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(int(code))


def _serve(fd: int) -> None:
    for module in PRELOAD:
        __import__(module)
    conn = socket.socket(fileno=fd)
    while True:
        try:
            message, fds, _flags, _addr = socket.recv_fds(conn, 1 << 20, 3)
        except OSError:
            return
        if not message:
            return
        request = json.loads(message)
        read_pid, write_pid = os.pipe()
        middle = os.fork()
        if middle == 0:  # a short-lived parent, so the test process is re-parented to the grader
            pid = os.fork()
            if pid == 0:
                conn.close()
                try:
                    _wait_for_adoption()
                    _test_process(request, fds)
                finally:
                    os._exit(70)
            os.write(write_pid, f"{pid}\n".encode())
            os._exit(0)
        os.close(write_pid)
        with os.fdopen(read_pid) as pids:
            pid_line = pids.readline()
        for descriptor in fds:
            os.close(descriptor)
        os.waitpid(middle, 0)  # once it is reaped, the test process belongs to the grader
        conn.sendall(pid_line.encode() or b"none\n")


def _wait_for_adoption() -> None:
    """Block until the short-lived parent is gone, then die with the grader that adopted us."""
    parent = os.getppid()
    while os.getppid() == parent:
        os.sched_yield()
    _prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


if __name__ == "__main__":
    _serve(int(sys.argv[1]))
