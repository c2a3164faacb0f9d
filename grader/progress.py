"""``grader`` alone: how far the learner is, and what to do next (a rustlings-style loop).

Exercises are graded in order until the first one that does not pass. A passed exercise is
remembered with a fingerprint of its files, so it is not re-run until something changes.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import sys
from functools import partial
from pathlib import Path

from tqdm import tqdm

from grader import i18n, kit
from grader.runner import target_options
from grader.settings import Settings
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


def show_progress(args: argparse.Namespace, settings: Settings) -> int:
    """Print a bar of passed exercises and the next step (in --lang / GRADER_LANG / the locale's
    language); exit 0 when everything passed."""
    lang = i18n.language(getattr(args, "lang", None))
    t = partial(i18n.text, lang=lang)
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
        print(t("checking", name=name), file=sys.stderr)
        result = settings.run(name, target_options(args.solutions, args.target))
        if result.status != "passed":
            pending = result
            break
        cache[key] = stamp
        done += 1
    atomic_write_text(CACHE, json.dumps(cache, indent=1))
    bar = tqdm.format_meter(done, len(names), 0, ncols=60, bar_format="{l_bar}{bar}| {n_fmt}/{total_fmt} " + t("bar_unit"))
    print(f"\n{t('progress')} {bar}")
    if pending is None:
        print(t("all_done"))
        return 0
    colour = use_colour(sys.stdout)
    folder = kit.EXERCISES_DIR / pending.name
    readme = i18n.readme_path(folder, lang)
    readme = (readme if readme.is_file() else folder / "README.md").relative_to(kit.KIT_ROOT)
    module_dir = target / pending.name
    print(t("next", name=pending.name, status=paint(status_label(pending.status, lang), pending.status, colour),
            tests=f"{pending.passed_tests}/{len(pending.tests)}", points=f"{pending.points}/{pending.max_points}"))
    if pending.message:
        if t("english_failures"):
            print(f"  {t('english_failures')}")
        print(f"  {pending.message}")
    print(t("step_read", path=readme))
    print(t("step_edit", path=module_dir))
    print(t("step_test", name=pending.name))
    print(t("step_hint", name=pending.name))
    return 1
