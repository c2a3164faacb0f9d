"""Warm start: one preloaded process forks a fresh test process per exercise.

Importing torch, numpy, matplotlib and pytest costs seconds; a ``grader`` run pays it once,
in the zygote, instead of once per exercise. For each exercise the zygote forks a child that
forks the test process and exits at once, so the test process is re-parented to the grader
(a child subreaper): the grader waits for it, times it out and kills it exactly as it would a
process it had started itself. Each test process is a fresh copy of the zygote, which never
imports graded code, so exercises stay isolated from each other. Sandboxed runs, and runs under
resource limits (an rlimit on data would be spent by the preloaded libraries), do not use it.

The libraries the first exercises need are imported before the first answer, the others while
no request waits, so that the first test process starts about a second sooner.

Protocol on a Unix socket: the grader sends one JSON line (argv, env, cwd, threads, cgroup
folders) with three descriptors attached (output, results channel, secrets); the zygote
answers with the test process's pid as one line.
"""
from __future__ import annotations

import ctypes
import gc
import json
import os
import select
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

# Libraries only: the grader's plugin must be imported by pytest itself, which rewrites its asserts.
PRELOAD = ("numpy", "torch", "pytest")  # before the first answer
PRELOAD_WHEN_IDLE = ("matplotlib.pyplot", "tqdm", "torchvision")  # while no request waits (torchvision: 1 s)
PR_SET_PDEATHSIG, PR_SET_CHILD_SUBREAPER = 1, 36
CHANNEL = "{channel}"  # in argv: replaced by the test process's own descriptor numbers
REPLY_TIMEOUT = 60.0  # seconds the zygote may take to answer (it imports torch before its first answer)
ADOPTION_TIMEOUT = 10.0  # seconds a test process waits to be adopted by the grader


def _resolve_prctl() -> Callable[[int, int], int] | None:
    try:
        return ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):  # not Linux
        return None


# Resolved once, here: looking a symbol up in a child forked from a threaded process may deadlock.
_PRCTL = _resolve_prctl()


def prctl(option: int, value: int) -> bool:
    """Linux's prctl(option, value); False where it failed or does not exist. Safe after fork."""
    return _PRCTL is not None and _PRCTL(option, value) == 0


class Zygote:
    """The grader's side: start the zygote, ask it for test processes.

    The zygote ends when the grader's end of the socket closes (the grader ended); every wait
    for it has a deadline, so a zygote that hangs costs one exercise (an error result, after
    which the next exercise gets a new zygote), never the whole run.
    """

    def __init__(self) -> None:
        if not prctl(PR_SET_CHILD_SUBREAPER, 1):
            raise OSError("this system cannot re-parent test processes to the grader")
        ours, theirs = socket.socketpair()
        env = {**os.environ, "MPLBACKEND": "Agg", "PYTHONDONTWRITEBYTECODE": "1"}
        self.proc = subprocess.Popen([sys.executable, "-m", "grader.run.zygote", str(theirs.fileno())],
                                     pass_fds=(theirs.fileno(),), stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
        theirs.close()
        ours.settimeout(REPLY_TIMEOUT)
        self.socket, self.lock = ours, threading.Lock()
        self.replies = ours.makefile("r")

    def spawn(self, argv: list[str], env: dict[str, str], cwd: Path, fds: tuple[int, int, int],
              threads: int | None, cgroups: list[str], uid: int | None = None) -> int:
        """The pid of a new test process running ``pytest argv`` with output to ``fds[0]``, as ``uid``
        when given (see :mod:`grader.run.unprivileged`)."""
        request = json.dumps({"argv": argv, "env": env, "cwd": str(cwd), "threads": threads, "cgroups": cgroups,
                              "uid": uid})
        with self.lock:
            try:
                socket.send_fds(self.socket, [request.encode() + b"\n"], list(fds))
                reply = self.replies.readline()
            except OSError as exc:  # a timeout included: this zygote is not to be asked again
                self.close()
                raise OSError(f"the zygote did not answer ({exc or type(exc).__name__})") from exc
        if not reply.strip().isdigit():
            self.close()
            raise OSError(f"the zygote did not start a test process ({reply.strip() or 'it ended'})")
        return int(reply)

    def close(self) -> None:
        """End the zygote (test processes it started are the grader's and go on)."""
        self.proc.kill()
        self.proc.wait()


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

def _test_process(request: dict[str, Any], fds: list[int], grader: int) -> None:
    """In the forked test process: take the descriptors and settings (the uid for good), run pytest, exit."""
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
    tempfile.tempdir = None  # looked up again, in this request's TMPDIR
    if request.get("uid") is not None:
        from grader.run.unprivileged import drop  # after the environment: it reads the kit's place

        drop(int(request["uid"]))
        prctl(PR_SET_PDEATHSIG, signal.SIGKILL)  # a change of user cleared it
        if os.getppid() != grader:
            os._exit(70)
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
    gc.freeze()  # the libraries' objects: never scanned again, so pytest's closing collections take ms, not 0.7 s
    grader = os.getppid()
    conn = socket.socket(fileno=fd)
    later = list(PRELOAD_WHEN_IDLE)
    while True:
        if later and not select.select([conn], [], [], 0)[0]:
            __import__(later.pop(0))
            gc.freeze()
            continue
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
            me = os.getpid()
            pid = os.fork()
            if pid == 0:
                conn.close()
                os.close(read_pid)
                os.close(write_pid)
                try:
                    if _wait_for_adoption(me, grader):
                        _test_process(request, fds, grader)
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


def _wait_for_adoption(middle: int, grader: int, timeout: float = ADOPTION_TIMEOUT) -> bool:
    """Wait until our short-lived parent ``middle`` is gone and ``grader`` adopted us, then ask
    to die with the grader. False if the grader is gone or did not adopt us in ``timeout``.

    The parent is named, not read on entry: it may have ended before this process first ran.
    """
    deadline = time.monotonic() + timeout
    while os.getppid() == middle:
        if time.monotonic() > deadline:
            return False
        time.sleep(0.0005)
    prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    return os.getppid() == grader  # checked after the request: the grader may have died before it


if __name__ == "__main__":
    _serve(int(sys.argv[1]))
