"""How a run grades: device, time limit, parallelism, sandbox and limits, checked before any grading.

Every grading command (``grader NAME``, ``batch``, ``watch``, ``check``) shares these options;
each check here turns a bad value into one line and exit status 2 *before* minutes of grading
are spent, so that nothing is lost to a typo.
"""
from __future__ import annotations

import argparse
import math
import os
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from grader.core import environment, kit
from grader.core.device import resolve_device
from grader.core.results import ExerciseResult, TestProgress, TestResult
from grader.core.target import Target
from grader.run import cache
from grader.run import sandbox as sandboxing
from grader.run.limits import Limits, parse_size
from grader.run.runner import DEFAULT_TIMEOUT, run_safely

DEFAULT_MEMORY = "4G"


@dataclass(frozen=True)
class Settings:
    device: str = "cpu"
    timeout: float = DEFAULT_TIMEOUT
    jobs: int = 1
    sandbox: bool = False
    limits: Limits | None = None
    threads: int | None = None  # torch threads per test process; None: torch's default
    cache: bool = False  # reuse a remembered result whose inputs did not change (never for a hand-in)
    store: bool = False  # remember what this run grades (--fresh grades anew, and still remembers)
    warm: bool = True  # fork test processes from a preloaded zygote when not sandboxed
    unsandboxed: str | None = None  # why a hand-in is graded without the sandbox (None: sandboxed, or not a hand-in)

    def environment(self) -> dict:
        """The reproducibility record of a run with these settings."""
        return environment.record(self.device, self.threads, self.sandbox, self.timeout, self.unsandboxed)

    def _key(self, name: str, target: Target) -> str | None:
        """The code part of the cache key, or None when this run neither reads nor writes the cache:
        a hand-in is never remembered (its grade is someone else's to read)."""
        if not (self.cache or self.store) or target.is_handin:
            return None
        how = f"device={self.device} sandbox={self.sandbox} limits={self.limits}"
        return cache.code_key(name, target.folder, how)

    def remembered(self, name: str, target: Target) -> ExerciseResult | None:
        """The cached result of this exercise with its current inputs, without grading (None if none)."""
        code = self._key(name, target) if self.cache else None
        return cache.load(cache.key(code, name)) if code else None

    def run(self, name: str, target: Target, on_test: Callable[[TestResult], None] | None = None,
            on_progress: TestProgress | None = None) -> ExerciseResult:
        """Grade one exercise with these settings (never raises for the exercise's sake);
        ``on_test`` sees each test's result as it finishes (all at once for a remembered result),
        ``on_progress`` a slow test's progress (see :func:`grader.run.runner.run_exercise`)."""
        code = self._key(name, target)
        remembered = cache.load(cache.key(code, name)) if code and self.cache else None
        if remembered is not None:
            if on_test is not None:
                for test in remembered.tests:
                    on_test(test)
            return remembered
        before = cache.entries()
        result = run_safely(name, target, device=self.device, timeout=self.timeout, threads=self.threads,
                            sandbox=self.sandbox, limits=self.limits, warm=self.warm, on_test=on_test,
                            on_progress=on_progress)
        cache.discard_foreign(before)
        if code and self.store:
            cache.store(cache.key(code, name), result)  # the datasets as the run left them
        return result


def threads_for(jobs: int) -> int | None:
    """torch threads per test process when ``jobs`` share the cores (no oversubscription)."""
    return max(1, (os.cpu_count() or 1) // jobs) if jobs > 1 else None


def seconds(text: str) -> float:
    """argparse type: a finite number of seconds greater than zero."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"{text!r}: give a finite number of seconds greater than 0")
    return value


def positive_int(text: str) -> int:
    """argparse type: an integer of at least 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: give a whole number of at least 1")
    return value


def size(text: str) -> int:
    """argparse type: a memory size such as 4G or 512M, in bytes."""
    try:
        return parse_size(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def jobs_on(device: str, jobs: int) -> int:
    """``jobs`` capped, on CUDA, at the number of visible GPUs: test processes sharing one GPU would
    share its memory and its time (and slow each other's thresholds), so they take turns."""
    if device != "cuda" or jobs == 1:
        return jobs
    import torch

    gpus = max(1, torch.cuda.device_count())
    if jobs > gpus:
        print(f"grader: --jobs {jobs} on {gpus} GPU(s): grading {gpus} at a time", file=sys.stderr)
    return min(jobs, gpus)


def decide_sandbox(choice: str, untrusted: bool) -> tuple[bool, str | None]:
    """(whether to sandbox, why untrusted code is graded without it): 'auto' sandboxes untrusted
    code where possible, warning once if not.

    Raises ValueError for 'on' where bubblewrap cannot run.
    """
    if not untrusted and choice != "on":
        return False, None
    if choice == "off":
        return False, "--sandbox off"
    reason = sandboxing.unavailable_reason()
    if reason is None:
        return True, None
    if choice == "on":
        raise ValueError(f"--sandbox on: {reason}")
    print(f"grader: warning: grading without a sandbox: {reason} (--sandbox on refuses instead)", file=sys.stderr)
    return False, reason


def settings_from(args: argparse.Namespace, parser: argparse.ArgumentParser, *, untrusted: bool) -> Settings:
    """Settings from parsed options; a bad combination is a usage error (exit 2). Untrusted code (a
    hand-in) always runs under resource limits, sandboxed or not, and is never cached."""
    try:
        device = resolve_device(args.device)
        sandbox, unsandboxed = decide_sandbox(args.sandbox, untrusted)
    except ValueError as exc:
        parser.error(str(exc))
    limits = Limits(memory=args.memory, limit_data=device == "cpu") if sandbox or untrusted else None
    jobs = jobs_on(device, getattr(args, "jobs", 1))
    remembers = hasattr(args, "fresh") and not untrusted
    return Settings(device, args.timeout, jobs, sandbox, limits, threads_for(jobs),
                    cache=remembers and not args.fresh, store=remembers, unsandboxed=unsandboxed)


def writable_file(path: str | None, what: str) -> str | None:
    """None when ``path`` can be written (its folder exists or can be made, and takes a file; what
    is there now, if anything, is a regular file that a rename may replace), else why."""
    if path is None:
        return None
    if not path.strip():
        return f"{what}: the path is empty"
    target = Path(path)
    if target.is_dir():
        return f"{what} {path}: is a folder"
    if target.exists() and not target.resolve().is_file():  # a device or a pipe: written to directly
        return None if os.access(target, os.W_OK) else f"{what} {path}: cannot write there"
    target = target.resolve()
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=target.parent, prefix=f".{target.name}.", suffix=".probe"):
            pass
    except OSError as exc:
        return f"{what} {path}: cannot write there ({exc.strerror or exc})"
    return None


def writable_folder(path: str | None, what: str) -> str | None:
    """None when ``path`` is (or can be made) a folder that takes files, else why."""
    if path is None:
        return None
    if not path.strip():
        return f"{what}: the path is empty"
    try:
        Path(path).mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path, prefix=".probe."):
            pass
    except OSError as exc:
        return f"{what} {path}: cannot write there ({exc.strerror or exc})"
    return None


def check_folders(parser: argparse.ArgumentParser, target: str | None, data_dir: str | None) -> None:
    """Exit 2 unless ``target`` (--target) names a folder and ``data_dir`` (--data-dir) a folder (or
    nothing yet); then use the data folder for this run."""
    if target is not None and (not target.strip() or not Path(target).is_dir()):
        parser.error(f"--target {target!r}: no such folder")
    if data_dir is not None:
        if not data_dir.strip() or (Path(data_dir).exists() and not Path(data_dir).is_dir()):
            parser.error(f"--data-dir {data_dir!r}: not a folder")
        os.environ["GRADER_DATA_DIR"] = str(Path(data_dir).resolve())


def refuse_unwritable(parser: argparse.ArgumentParser, *problems: str | None) -> None:
    """Exit 2 naming the first output path that cannot be written, before any grading."""
    for problem in problems:
        if problem:
            parser.error(problem)


def chosen_exercises(parser: argparse.ArgumentParser, wanted: list[str]) -> list[str]:
    """The exercises ``wanted`` names (unique prefixes work), or every one when it names none;
    a name that matches no exercise is a usage error (exit 2)."""
    try:
        return kit.resolve_names(wanted) if wanted else kit.exercise_names()
    except ValueError as exc:
        parser.error(str(exc))
