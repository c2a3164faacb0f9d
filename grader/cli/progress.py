"""``grader`` alone: how far the learner is, and what to do next (a rustlings-style loop).

Exercises are graded in order until the first one that does not pass; what is remembered in
the result cache (:mod:`grader.run.cache`) is not graded again until one of its inputs changes,
and exercises after the next step count as done when they are remembered as passed.
"""
from __future__ import annotations

import sys
from functools import partial

from tqdm import tqdm

from grader.cli.settings import Settings
from grader.core import i18n, kit
from grader.core.results import Status
from grader.core.target import Target
from grader.report.scorecard import paint, status_label, use_colour


def show_progress(target: Target, settings: Settings, lang: str) -> int:
    """Print a bar of passed exercises of ``target`` and the next step (in ``lang``); exit 0 when
    everything passed."""
    t = partial(i18n.text, lang=lang)
    names = kit.exercise_names()
    done, pending = 0, None
    for name in names:
        if pending is None:
            if settings.remembered(name, target) is None:
                print(t("checking", name=name), file=sys.stderr)
            result = settings.run(name, target)
            pending = None if result.status == Status.PASSED else result
            done += result.status == Status.PASSED
        else:  # after the next step, count what is known to pass (as grader --all would)
            known = settings.remembered(name, target)
            done += known is not None and known.status == Status.PASSED
    bar = tqdm.format_meter(done, len(names), 0, ncols=60, bar_format="{l_bar}{bar}| {n_fmt}/{total_fmt} " + t("bar_unit"))
    print(f"\n{t('progress')} {bar}")
    if pending is None:
        print(t("all_done"))
        return 0
    colour = use_colour(sys.stdout)
    folder = kit.EXERCISES_DIR / pending.name
    readme = i18n.readme_path(folder, lang)
    readme = (readme if readme.is_file() else folder / "README.md").relative_to(kit.KIT_ROOT)
    modules = [p for p in sorted((kit.EXERCISES_DIR / pending.name).glob("*.py")) if not p.name.startswith("test_")]
    module = target.folder / pending.name / (modules[0].name if modules else "")
    shown = module.relative_to(kit.KIT_ROOT) if module.is_relative_to(kit.KIT_ROOT) else module
    print(t("next", name=pending.name, status=paint(status_label(pending.status, lang), pending.status, colour),
            tests=f"{pending.passed_tests}/{len(pending.tests)}", points=f"{pending.points}/{pending.max_points}"))
    if pending.message:
        if t("english_failures"):
            print(f"  {t('english_failures')}")
        print(f"  {pending.message}")
    print(t("step_read", path=readme))
    print(t("step_edit", path=shown))
    print(t("step_test", name=pending.name))
    print(t("step_hint", name=pending.name))
    return 1
