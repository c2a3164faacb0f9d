"""The learner's and instructor's loop, timed: every row measured once per run, against its goal.

    python bench/run.py [--repeat N] [--skip-cold]

Each row is a whole command as a person types it (fresh processes, no warm-up besides what
the row says). With --repeat N the median of N runs is shown. The machine and its load are
printed first: figures from a busy machine are not comparable with the goals.
"""
from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
GRADER = [sys.executable, "-m", "grader"]
PYTEST = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]


def timed(cmd: list[str]) -> float:
    """Wall seconds of ``cmd`` run to completion in the kit's folder (its output discarded)."""
    started = time.perf_counter()
    subprocess.run(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env={**os.environ, "NO_COLOR": "1"})
    return time.perf_counter() - started


def first_line(cmd: list[str]) -> float:
    """Seconds until ``cmd`` prints its first line (then it is stopped)."""
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    assert proc.stdout is not None
    proc.stdout.readline()
    elapsed = time.perf_counter() - started
    proc.kill()
    proc.wait()
    return elapsed


def again(cmd: list[str]) -> float:
    """Seconds of the second of two runs of ``cmd`` (the first fills the cache)."""
    timed(cmd)
    return timed(cmd)


ROWS: list[tuple[str, Callable[[], float], float, bool]] = [
    ("grader --all on the stubs (--fresh)", lambda: timed([*GRADER, "--all", "--fresh"]), 5.0, False),
    ("grader, nothing changed since the last run", lambda: again(GRADER), 2.0, False),
    ("grader --all --solutions, cold (--fresh)", lambda: timed([*GRADER, "--all", "--solutions", "--fresh"]), 110.0, True),
    ("grader --all --solutions again, nothing changed", lambda: again([*GRADER, "--all", "--solutions"]), 5.0, True),
    ("pytest exercises/02_xor --solutions", lambda: timed([*PYTEST, "exercises/02_xor", "--solutions"]), 8.0, False),
    ("pytest exercises/01_activations", lambda: timed([*PYTEST, "exercises/01_activations"]), 2.0, False),
    ("grader watch 01: first line of output", lambda: first_line([*GRADER, "watch", "01"]), 1.0, False),
]


def machine() -> str:
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    return f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, load average {load}, Python {platform.python_version()}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=1, metavar="N", help="runs per row; the median is shown")
    parser.add_argument("--skip-cold", action="store_true", help="leave out the rows that train the reference (minutes)")
    args = parser.parse_args(argv)
    print(f"machine: {machine()}")
    print(f"{'row':<50} {'measured':>9} {'goal':>7}  verdict")
    misses = 0
    for label, measure, goal, cold in ROWS:
        if cold and args.skip_cold:
            continue
        value = statistics.median(measure() for _ in range(max(1, args.repeat)))
        ok = value <= goal
        misses += not ok
        print(f"{label:<50} {value:>8.1f}s {goal:>6.0f}s  {'met' if ok else 'MISSED'}", flush=True)
    print(f"machine after: {machine()}")
    return 1 if misses else 0


if __name__ == "__main__":
    sys.exit(main())
