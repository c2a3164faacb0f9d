"""``grader regrade RESULT.json --target DIR``: grade a disputed hand-in again, the same way.

RESULT.json is untrusted input: anyone may have edited it. It may narrow the run (which
exercises, the device, the threads, a shorter time limit), each field validated before anything
is graded; what keeps this machine safe (the sandbox, the resource limits, a longer time limit)
comes only from the command line. The new results are compared with the old ones test by test;
differences in the reproducibility record (another torch, another kit commit, another sandbox)
are listed first, since they may explain the rest.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import stat
import sys
from dataclasses import dataclass, replace
from pathlib import Path

from grader.cli.grading import grade
from grader.cli.settings import Settings, check_folders, refuse_unwritable, settings_from, writable_file
from grader.core import kit
from grader.core.device import resolve_device
from grader.core.files import write_json
from grader.core.results import ExerciseResult
from grader.core.target import Target
from grader.core.text import clip
from grader.report.scorecard import print_scorecard, to_json
from grader.run.sandbox import unavailable_reason

COMPARED = ("python", "torch", "torchvision", "numpy", "kit_version", "kit_commit", "device", "gpu", "threads",
            "sandbox", "timeout")
MAX_BYTES = 16 << 20  # a whole kit's results are tens of KB (messages are capped at 2,000 characters)
SHOWN = 100  # characters of a value from the file in a message


class RegradeError(ValueError):
    """RESULT.json cannot be regraded; ``str()`` says why in one line."""


def shown(value: object, quote: bool = True) -> str:
    """A value read from the file, safe to print: a scalar as JSON writes it (a string bare unless
    ``quote``), escaped and cut; an array or object by its kind."""
    if isinstance(value, str) and not quote:
        return clip(value, SHOWN)
    if value is None or isinstance(value, (str, int, float)):
        return clip(json.dumps(value), SHOWN)
    return f"a JSON {'array' if isinstance(value, list) else 'object'}"


def read_json(path: Path) -> object:
    """The JSON in ``path``: a regular file (never waiting on a pipe) of at most MAX_BYTES."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except OSError as exc:
        raise RegradeError(f"{path}: cannot read it ({exc.strerror or exc})") from None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise RegradeError(f"{path}: not a regular file (give the results JSON that grader --json wrote)")
        with os.fdopen(fd, "rb", closefd=False) as file:
            data = file.read(MAX_BYTES + 1)
    except OSError as exc:
        raise RegradeError(f"{path}: cannot read it ({exc.strerror or exc})") from None
    finally:
        os.close(fd)
    if len(data) > MAX_BYTES:
        raise RegradeError(f"{path}: larger than {MAX_BYTES >> 20} MiB, which no results JSON is")
    try:
        return json.loads(data.decode("utf-8"))
    except (ValueError, RecursionError) as exc:  # UnicodeDecodeError is a ValueError
        raise RegradeError(f"{path}: not JSON ({clip(str(exc), SHOWN)})") from None


def exercises_of(entries: object, path: Path) -> list[str]:
    """The exercise names of the file's "exercises": a non-empty list of known names, each once."""
    if not isinstance(entries, list) or not entries:
        raise RegradeError(f"{path}: no exercises to regrade (\"exercises\" must be a non-empty list)")
    known, names = kit.exercise_names(), []
    for index, entry in enumerate(entries):
        name = entry.get("name") if isinstance(entry, dict) else None
        if not isinstance(name, str):
            raise RegradeError(f"{path}: exercises[{index}] has no exercise name")
        if name not in known:
            raise RegradeError(f"{path}: unknown exercise {shown(name, quote=False)} (this kit has {', '.join(known)})")
        if name in names:
            raise RegradeError(f"{path}: {name} is listed twice in exercises")
        names.append(name)
    return names


def threads_of(value: object, path: Path) -> int | None:
    """environment.threads: null (torch's default) or a whole number from 1 to this machine's cores."""
    cores = os.cpu_count() or 1
    if value is None or (isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= cores):
        return value
    raise RegradeError(f"{path}: environment.threads is {shown(value)}; it must be null or a whole number from 1 "
                       f"to {cores} (the cores here)")


def timeout_of(value: object, path: Path) -> float | None:
    """environment.timeout: null (none recorded) or a finite number of seconds greater than 0."""
    if value is None:
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        try:
            seconds = float(value)
        except OverflowError:  # an integer of hundreds of digits
            seconds = math.inf
        if math.isfinite(seconds) and seconds > 0:
            return seconds
    raise RegradeError(f"{path}: environment.timeout is {shown(value)}; it must be null or a finite number of "
                       "seconds greater than 0")


@dataclass(frozen=True)
class Record:
    """A results JSON, with the fields a regrade takes from it validated; the rest (``data``) is
    only ever shown, escaped and cut, in the comparison."""

    path: Path
    data: dict
    names: list[str]
    device: str
    threads: int | None
    timeout: float | None


def read_record(path: Path) -> Record:
    """RESULT.json, or RegradeError naming the first field a regrade cannot use."""
    data = read_json(path)
    if not isinstance(data, dict):
        raise RegradeError(f"{path}: not a results JSON (a JSON object, as grader --json writes)")
    names = exercises_of(data.get("exercises"), path)
    env = data.get("environment")
    if not isinstance(env, dict):
        raise RegradeError(f"{path}: no \"environment\" record (grader --json writes one)")
    device = env.get("device")
    if not isinstance(device, str) or device not in ("cpu", "cuda"):
        raise RegradeError(f"{path}: environment.device is {shown(device)}, not \"cpu\" or \"cuda\"")
    return Record(path, data, names, device, threads_of(env.get("threads"), path), timeout_of(env.get("timeout"), path))


def settings_for(old: Record, args: argparse.Namespace, parser: argparse.ArgumentParser) -> Settings:
    """The command line's settings (sandbox, limits, time limit), narrowed by the record: its device
    unless --device is given, its threads, and its time limit where that is shorter."""
    if args.device is None:
        try:
            resolve_device(old.device)
        except ValueError:
            parser.error(f"{old.path}: graded on cuda, and CUDA is not available here (regrade with --device cpu)")
    settings = settings_from(argparse.Namespace(**{**vars(args), "device": args.device or old.device}), parser,
                             untrusted=True)
    if old.timeout is not None and old.timeout > settings.timeout:
        print(f"grader: {old.path} was graded with a time limit of {old.timeout:g} s; this run uses the shorter "
              f"{settings.timeout:g} s (--timeout {old.timeout:g} to match)", file=sys.stderr)
    timeout = settings.timeout if old.timeout is None else min(settings.timeout, old.timeout)
    return replace(settings, timeout=timeout, threads=old.threads)


def settings_line(settings: Settings, args: argparse.Namespace) -> str:
    """The settings this run uses, in one line: device (and whence), time limit, threads, sandbox."""
    device = f"{settings.device} ({'--device' if args.device else 'as recorded'})"
    threads = settings.threads or "torch's default"
    memory = f", memory {settings.limits.memory >> 20} MiB" if settings.limits else ""
    why = "" if settings.sandbox else f" ({'--sandbox off' if args.sandbox == 'off' else unavailable_reason()})"
    return (f"Regrading with device {device}, time limit {settings.timeout:g} s, threads {threads}{memory}, "
            f"sandbox {'yes' if settings.sandbox else 'no'}{why}")


def differences(old: dict, new: list[ExerciseResult]) -> list[str]:
    """One line per exercise or test whose status or points changed (what the file says is shown,
    escaped and cut, whatever its types)."""
    lines = []
    entries = old.get("exercises")
    before = {e.get("name"): e for e in entries if isinstance(e, dict)} if isinstance(entries, list) else {}
    for result in new:
        was = before.get(result.name, {})
        if (was.get("status"), was.get("points")) != (result.status, result.points):
            lines.append(f"{result.name}: {shown(was.get('status'), False)} {shown(was.get('points'))}/"
                         f"{shown(was.get('max_points'))} -> {result.status} {result.points}/{result.max_points}")
        tests = was.get("tests")
        listed = tests if isinstance(tests, list) else []
        old_tests = {t["id"]: t for t in listed if isinstance(t, dict) and isinstance(t.get("id"), str)}
        # a test moved to another file of its exercise keeps its name: match by name when the id is new
        by_name = {str(key).split("::")[-1]: t for key, t in old_tests.items()}
        for test in result.tests:
            prior = old_tests.get(test.id) or by_name.get(test.id.split("::")[-1], {})
            if (prior.get("outcome"), prior.get("points")) != (test.outcome, test.points):
                lines.append(f"  {test.id.split('::')[-1]}: {shown(prior.get('outcome'), False)} -> {test.outcome}"
                             + (f" ({test.message.splitlines()[0][:160]})" if test.message else ""))
    return lines


def record_changes(old: dict, now: dict) -> list[str]:
    """Fields of the reproducibility record that differ between then (the file) and ``now``,
    including a device or sandbox at the file's top level that disagrees with its own record."""
    recorded = old.get("environment")
    then: dict = recorded if isinstance(recorded, dict) else {}
    lines = [f"{key}: {shown(then.get(key))} then, {shown(now.get(key))} now" for key in COMPARED
             if then.get(key) != now.get(key)]
    lines += [f"{key} (top level of the file): {shown(old[key])} then, {shown(now[key])} now"
              for key in ("device", "sandbox") if key in old and old[key] != then.get(key) and old[key] != now[key]]
    return lines


def cmd_regrade(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    """Regrade, print the scorecard, then what changed; exit 0 when nothing did, 1 otherwise, 2 when
    the command line or RESULT.json cannot be used (before anything is graded)."""
    check_folders(parser, args.target, args.data_dir)
    refuse_unwritable(parser, writable_file(args.json, "--json"))
    try:
        old = read_record(Path(args.result))
    except RegradeError as exc:
        parser.error(str(exc))
    settings = settings_for(old, args, parser)
    target = str(Path(args.target).resolve())
    print(settings_line(settings, args), flush=True)
    results = grade(old.names, Target.handin(target), settings, stream=sys.stderr.isatty())
    now = settings.environment()
    problem = write_json(args.json, to_json(results, target, settings.device, settings.sandbox, now)) if args.json else None
    print_scorecard(results, target, settings.device, verbose=True, unsandboxed=settings.unsandboxed)
    if problem:
        print(f"grader: {problem}", file=sys.stderr)
    changed_record, changed_results = record_changes(old.data, now), differences(old.data, results)
    print("\nEnvironment then and now: " + ("the same" if not changed_record else ""))
    for line in changed_record:
        print(f"  {line}")
    print("Results: " + ("the same as recorded" if not changed_results else "changed"))
    for line in changed_results:
        print(f"  {line}")
    return 1 if changed_results else 0
