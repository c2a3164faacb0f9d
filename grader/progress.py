"""``grader`` alone: how far the learner is, and what to do next (a rustlings-style loop).

Exercises are graded in order until the first one that does not pass. A passed exercise is
remembered with a fingerprint of its files, so it is not re-run until something changes.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

from tqdm import tqdm

from grader import kit
from grader.runner import run_exercise, target_options
from grader.scorecard import atomic_write_text, paint, status_label, use_colour

CACHE = kit.KIT_ROOT / ".grader" / "progress.json"


def fingerprint(target: Path, name: str) -> str:
    """Hash of the graded folder's and the kit's test files for one exercise."""
    digest = hashlib.sha256()
    for path in sorted((target / name).glob("*.py")) + kit.test_files(name):
        digest.update(str(path).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def _load_cache() -> dict:
    try:
        return json.loads(CACHE.read_text())
    except (OSError, ValueError):
        return {}


def show_progress(args: argparse.Namespace) -> int:
    """Print a bar of passed exercises and the next step; exit 0 when everything passed."""
    target = kit.SOLUTIONS_DIR if args.solutions else Path(args.target).resolve() if args.target else kit.EXERCISES_DIR
    names = kit.exercise_names()
    cache = _load_cache()
    done, pending = 0, None
    for name in names:
        key = f"{target}::{name}"
        stamp = fingerprint(target, name)
        if cache.get(key) == stamp:
            done += 1
            continue
        print(f"checking {name} ...", file=sys.stderr)
        result = run_exercise(name, target_options(args.solutions, args.target), device=args.device, timeout=args.timeout)
        if result.status != "passed":
            pending = result
            break
        cache[key] = stamp
        done += 1
    atomic_write_text(CACHE, json.dumps(cache, indent=1))
    bar = tqdm.format_meter(done, len(names), 0, ncols=60, bar_format="{l_bar}{bar}| {n_fmt}/{total_fmt} exercises")
    print(f"\nProgress: {bar}")
    if pending is None:
        print("Every exercise passes. Run `grader --all` for the full scorecard, or `grader train` to see it all work.")
        return 0
    colour = use_colour(sys.stdout)
    readme = (kit.EXERCISES_DIR / pending.name / "README.md").relative_to(kit.KIT_ROOT)
    module_dir = target / pending.name
    print(f"Next: {pending.name} ({paint(status_label(pending.status), pending.status, colour)}, "
          f"{pending.passed_tests}/{len(pending.tests)} tests, {pending.points}/{pending.max_points} points)")
    if pending.message:
        print(f"  {pending.message}")
    print(f"  read   {readme}")
    print(f"  edit   {module_dir}")
    print(f"  test   pytest exercises/{pending.name}")
    print(f"  hint   grader hint {pending.name}")
    return 1
