"""Run one exercise's tests in a subprocess with a time limit and read back what happened.

Results travel as signed JSON lines through a pipe the test process inherits (never by
parsing pytest's text, never through a file the graded code could reach). The plugin announces
the collected tests before any learner code is imported, so the runner knows what it expected
and notices a process that ended early, hung, or contradicts its own exit status; two control
tests with unpredictable names (one must pass, one must fail) expose blanket tampering.
"""
from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from grader.core import handins, kit
from grader.core.results import ExerciseResult, Status, TestProgress, TestResult
from grader.core.target import Target
from grader.core.text import clip
from grader.run import sandbox as sandboxing
from grader.run import unprivileged, zygote
from grader.run.limits import CGroup, Limits
from grader.run.verdict import CONTROL_PREFIX, as_test, parse_events, summarise

DEFAULT_TIMEOUT = 600.0  # seconds per exercise
OUTPUT_TAIL = 4000  # bytes of the test process's output kept for diagnostics
CHANNEL_LIMIT = 8 << 20  # bytes of results the plugin may send; more means interference


class Drain(threading.Thread):
    """Reads a pipe to its end in the background, keeping at most ``limit`` bytes.

    ``tail`` keeps the last bytes (program output), otherwise the first ones are kept and
    ``overflow`` tells that more came (the results channel, which the plugin keeps small).
    """

    def __init__(self, fd: int, limit: int, tail: bool, on_line: Callable[[bytes], None] | None = None) -> None:
        super().__init__(daemon=True)
        self.fd, self.limit, self.keep_tail, self.on_line = fd, limit, tail, on_line
        self.data = bytearray()
        self.overflow = False
        self.seen = 0  # bytes of data already handed to on_line

    def run(self) -> None:
        try:
            while chunk := os.read(self.fd, 1 << 16):
                if self.keep_tail:
                    self.data += chunk
                    del self.data[:-self.limit]
                elif len(self.data) + len(chunk) <= self.limit:
                    self.data += chunk
                    self._lines()
                else:
                    self.overflow = True
        except OSError:
            pass

    def _lines(self) -> None:
        end = self.data.rfind(b"\n") + 1
        if self.on_line is None or end <= self.seen:
            return
        for line in bytes(self.data[self.seen:end]).splitlines():
            self.on_line(line)
        self.seen = end

    def finish(self) -> bytes:
        """The kept bytes once the writers closed the pipe (or after a short grace: a descendant
        that escaped may still hold it open)."""
        self.join(timeout=2)
        return bytes(self.data)


def _spawn_warm(preloaded: zygote.Zygote | None, pytest_args: list[str], env: dict[str, str],
                fds: tuple[int, int, int], threads: int | None, group: CGroup | None, user: int | None) -> int | None:
    """The pid of a test process forked by the zygote (as ``user``), or None to start one the slow way.

    Raises OSError when the zygote failed after taking the pipes: a test process may then hold
    them, so they must not be handed to another one.
    """
    if preloaded is None:
        return None
    return preloaded.spawn([*pytest_args, "--grader-channel", zygote.CHANNEL], env, kit.KIT_ROOT, fds, threads,
                           [str(d) for d in group.dirs] if group else [], user)


def _kill(pid: int, group: CGroup | None) -> None:
    """SIGKILL the test process, its process group (once it has made one) and its cgroup."""
    for kill in (os.killpg, os.kill):  # the process itself too: it may not lead a group yet
        try:
            kill(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
    if group is not None:
        group.kill_all()


def _wait(pid: int, timeout: float, group: CGroup | None) -> tuple[int | None, int]:
    """(exit status or None on timeout, peak resident memory in bytes) of our child ``pid``."""
    deadline = time.monotonic() + timeout
    timed_out = False
    try:
        while True:
            done, status, usage = os.wait4(pid, 0 if timed_out else os.WNOHANG)
            if done:
                break
            if time.monotonic() > deadline:
                _kill(pid, group)
                timed_out = True
                continue
            time.sleep(0.02)
    except BaseException:  # Ctrl-C: never leave a test process behind
        _kill(pid, group)
        try:
            os.waitpid(pid, 0)
        except ChildProcessError:
            pass
        raise
    if group is not None:
        group.kill_all()  # descendants that outlived the test process
    return (None if timed_out else os.waitstatus_to_exitcode(status)), usage.ru_maxrss * 1024


def selected_paths(name: str, select: list[str]) -> list[str]:
    """``file::test`` for each selected test, in the file that defines it (files in run order); a
    name no file defines is asked of the first file, so pytest reports it missing."""
    files = {path: set(kit.tests_defined(path)) for path in kit.test_files(name)}
    found = [f"{path}::{test}" for path, defined in files.items() for test in select if test in defined]
    missing = [test for test in select if not any(test in defined for defined in files.values())]
    return found + [f"{next(iter(files))}::{test}" for test in missing]


_DATASETS = threading.Lock()  # one fetch of a dataset at a time, whatever runs in parallel


def prepare_datasets(name: str) -> None:
    """Fetch and verify what exercise ``name`` reads, before a test process that cannot (sandboxed,
    or running as an unprivileged uid) runs it. A dataset that cannot be had is left to the
    tests, which report it in the learner's terms."""
    from grader.data.datasets import DatasetUnavailable, prepare

    with _DATASETS:
        for dataset in kit.datasets_needed(name):
            with contextlib.suppress(DatasetUnavailable):
                prepare(dataset, progress=False)


def _unsafe_as(user: int, target: Target) -> tuple[str, ...]:
    """What keeps ``user`` from running ``target``'s tests safely (see :func:`unprivileged.problems`)."""
    from grader.data.datasets import data_dir

    return unprivileged.problems(user, kit.KIT_ROOT.resolve(), target.folder, data_dir().resolve())


def _unprivileged_environment(env: dict[str, str], private: Path, user: int) -> dict[str, str]:
    """The sandbox's allowlist of ``env``, with HOME and TMPDIR in a folder of ``private`` that only
    ``user`` may write (``private`` itself stays root's, so the compiled-files prefix cannot be made)."""
    home = private / "home"
    home.mkdir(mode=0o700)
    os.chown(home, user, user)
    private.chmod(0o711)
    return {**sandboxing.allowed_environment(env), "HOME": str(home), "TMPDIR": str(home),
            "MPLCONFIGDIR": str(home / ".matplotlib")}


def run_exercise(name: str, target: Target, *, device: str = "auto", timeout: float = DEFAULT_TIMEOUT,
                 select: list[str] | None = None, pytest_args: Sequence[str] = (), threads: int | None = None,
                 sandbox: bool = False, limits: Limits | None = None, warm: bool = False,
                 on_test: Callable[[TestResult], None] | None = None,
                 on_progress: TestProgress | None = None) -> ExerciseResult:
    """Grade exercise ``name`` of ``target`` (tests from the kit) in a fresh process.

    ``select`` limits the run to test functions of that name, ``pytest_args`` adds pytest options
    (both e.g. for the mistake gallery);
    ``threads`` caps torch's CPU threads (OMP_NUM_THREADS) when several runs share the cores;
    ``sandbox`` runs the process in bubblewrap (:mod:`grader.run.sandbox`) under ``limits``;
    ``warm`` forks the process from the preloaded zygote (:mod:`grader.run.zygote`) when not
    sandboxed; ``on_test`` is called with each test's result as soon as it arrives, and
    ``on_progress(test id, label, done, total)`` with a slow test's progress (training steps).
    Results come back through a pipe whose write end the process inherits; the signing key
    and the names of the control tests arrive through another pipe, never the environment.
    """
    started = time.perf_counter()
    paths = [str(p) for p in kit.test_files(name)]
    if not paths:
        return ExerciseResult(name, Status.ERROR, 0, 0, 0.0, f"the kit has no tests for {name}")
    if target.reveals_solutions():
        return ExerciseResult(name, Status.ERROR, 0, 0, 0.0, "refused: the graded folder is, holds or lies inside the "
                                                         "kit's solutions/ (grade the reference with --solutions)")
    if target.is_handin and (refusal := handins.reference_copy(target.folder)):
        return ExerciseResult(name, Status.ERROR, 0, 0, 0.0, refusal)
    if select:
        paths = selected_paths(name, select)
    lease = unprivileged.Lease() if unprivileged.needed(sandbox, target) else None
    user = lease.uid if lease else None
    if lease and (trouble := _unsafe_as(lease.uid, target)):
        lease.release()
        return ExerciseResult(name, Status.ERROR, 0, 0, 0.0, clip(
            f"refused: grading as root without the sandbox, the hand-in would run as uid {lease.uid}, which "
            f"{'; '.join(trouble[:3])}; let others read and enter what it names, keep the kit unwritable for "
            "them, or install bubblewrap where user namespaces work"))
    if sandbox or user is not None:
        prepare_datasets(name)
    key, control = secrets.token_hex(16), secrets.token_hex(6)
    report_r, report_w = os.pipe()
    secret_r, secret_w = os.pipe()
    os.write(secret_w, f"{key}\n{control}\n".encode())
    os.close(secret_w)
    # --tb=native: the messages come from the plugin, and pytest's own tracebacks (kept only as the
    # output's tail) cost a source parse per frame, up to a second per exercise of failing stubs
    pytest_args = [*paths, "-q", "-p", "no:cacheprovider", "--tb=native", "--rootdir", str(kit.KIT_ROOT),
                   "-c", str(kit.KIT_ROOT / "pyproject.toml"), "--device", device, *target.options, *pytest_args]
    private = tempfile.mkdtemp(prefix="grader-run-")  # the test process's HOME and TMPDIR when unprivileged
    env = {**os.environ, "MPLBACKEND": "Agg", "PYTHONDONTWRITEBYTECODE": "1", "CUBLAS_WORKSPACE_CONFIG": ":4096:8",
           "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1",  # only the kit's plugin: no installed plugin joins the grading
           # compiled files are looked for in an empty, unguessable place: a .pyc shipped in a
           # hand-in's __pycache__ is never run instead of its source
           "PYTHONPYCACHEPREFIX": f"{private}/no-pyc-{secrets.token_hex(8)}"}
    if threads:
        env["OMP_NUM_THREADS"] = str(threads)
    if user is not None:
        env = _unprivileged_environment(env, Path(private), user)
    group = CGroup.create(limits)
    output_r, output_w = os.pipe()
    proc: subprocess.Popen | None = None
    try:
        preloaded = zygote.shared() if warm and not sandbox and limits is None else None
        pid = _spawn_warm(preloaded, pytest_args, env, (output_w, report_w, secret_r), threads, group, user)
        if pid is None:
            cmd = [sys.executable, "-m", "pytest", *pytest_args, "--grader-channel", f"{report_w},{secret_r}"]
            if sandbox:
                from grader.data.datasets import data_dir

                env = sandboxing.allowed_environment({**env, "GRADER_DATA_DIR": str(data_dir().resolve())})
                cmd = sandboxing.command(cmd, target=target.folder, data_dir=data_dir().resolve(),
                                         handin=target.is_handin)

            def prepare_child() -> None:
                if group is not None:
                    group.enter()
                if limits is not None:
                    limits.apply_rlimits()
                if user is not None:
                    unprivileged.drop(user)
                if not sandbox:  # bubblewrap's --die-with-parent does it for the sandbox; after the drop,
                    zygote.prctl(zygote.PR_SET_PDEATHSIG, signal.SIGKILL)  # which clears it

            proc = subprocess.Popen(cmd, cwd=kit.KIT_ROOT, stdin=subprocess.DEVNULL, stdout=output_w,
                                    stderr=subprocess.STDOUT, env=env, start_new_session=True,
                                    pass_fds=(report_w, secret_r), preexec_fn=prepare_child)
            pid = proc.pid
    except BaseException:
        if group is not None:
            group.close()  # also ends a test process the zygote may have started before failing
        os.close(output_r)
        os.close(report_r)
        shutil.rmtree(private, ignore_errors=True)
        if lease:
            lease.release()
        raise
    finally:
        for fd in (output_w, report_w, secret_r):
            os.close(fd)

    def stream(line: bytes) -> None:
        events, _ = parse_events(line, key)
        for event in events:
            if on_test and event.get("event") == "result" and f"::{CONTROL_PREFIX}" not in str(event.get("id")):
                on_test(as_test(event, int(event.get("max_points", 0))))
            elif on_progress and event.get("event") == "progress":
                with contextlib.suppress(KeyError, TypeError, ValueError):
                    on_progress(str(event["id"]), str(event["label"]), int(event["done"]), int(event["total"]))

    output = Drain(output_r, OUTPUT_TAIL, tail=True)
    channel = Drain(report_r, CHANNEL_LIMIT, tail=False, on_line=stream if on_test or on_progress else None)
    output.start()
    channel.start()
    try:
        returncode, peak = _wait(pid, timeout, group)
        if proc is not None:
            proc.returncode = -1 if returncode is None else returncode  # reaped above, by wait4
        events, forged = parse_events(channel.finish(), key)
        tail = output.finish().decode(errors="replace")
    finally:
        if group is not None:
            group.close()
        if lease:
            lease.release()
        os.close(output_r)
        os.close(report_r)
        shutil.rmtree(private, ignore_errors=True)
    if channel.overflow:
        forged += 1
    result = summarise(name, events, returncode, timeout, time.perf_counter() - started, forged, control)
    result.output = tail
    reported = next((e.get("peak_rss_kb") for e in events if e.get("event") == "finished"), None)
    if isinstance(reported, int):  # seen from inside: wait4 sees only bubblewrap when sandboxed
        peak = max(peak, reported * 1024)
    result.peak_memory_mb = round(peak / 2**20, 1)
    return result


def run_safely(name: str, target: Target, **settings: Any) -> ExerciseResult:
    """:func:`run_exercise`, with a failure of the grader itself turned into an ``error`` result,
    so that one exercise never costs the others theirs."""
    try:
        return run_exercise(name, target, **settings)
    except sandboxing.SandboxRefused as exc:
        return ExerciseResult(name, Status.ERROR, 0, 0, 0.0, clip(str(exc)))
    except Exception as exc:  # noqa: BLE001 - reported in the exercise's row
        return ExerciseResult(name, Status.ERROR, 0, 0, 0.0,
                              clip(f"the grader failed on this exercise: {type(exc).__name__}: {exc}"))
