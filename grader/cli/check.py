"""``grader check``: the instructor's consistency check of the whole kit.

Every solution passes 100%; every stub reports "not started" (never passed, never error);
exercises/ and solutions/ expose the same public names with the same signatures and
docstrings; every test carries points; every exercise has a README with hints, and every README
has a Traditional Chinese translation in step with it (README.zh-TW.md).
"""
from __future__ import annotations

import argparse
import ast
import inspect
import re
from collections import Counter
from pathlib import Path

from grader.cli.grading import grade
from grader.cli.settings import settings_from
from grader.core import i18n, kit
from grader.core.results import ExerciseResult, Status
from grader.core.target import Target
from grader.report.hints import parse_hints
from grader.report.scorecard import print_scorecard
from grader.run.loader import ModuleLoadError, load_module_file


def module_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.glob("*.py") if not p.name.startswith("test_"))


def _signature(value) -> str:
    try:
        return str(inspect.signature(value))
    except (TypeError, ValueError):
        return "?"


def public_api(path: Path) -> dict[str, tuple[str, str]]:
    """name -> (signature or kind, docstring) for the public names a module defines itself."""
    module = load_module_file(path)
    api = {}
    for name, value in vars(module).items():
        if name.startswith("_") or inspect.ismodule(value) or getattr(value, "__module__", module.__name__) != module.__name__:
            continue
        if callable(value):
            api[name] = (_signature(value), inspect.getdoc(value) or "")
            if inspect.isclass(value):
                for attr, member in vars(value).items():
                    if not attr.startswith("_") and callable(member):
                        api[f"{name}.{attr}"] = (_signature(member), inspect.getdoc(member) or "")
        elif name.isupper():
            api[name] = ("constant", "")
    return api


def parity_problems(name: str) -> list[str]:
    """Differences between the stub and the solution modules of one exercise."""
    problems = []
    stubs, refs = module_files(kit.EXERCISES_DIR / name), module_files(kit.SOLUTIONS_DIR / name)
    if [p.name for p in stubs] != [p.name for p in refs]:
        return [f"{name}: exercises/ has {[p.name for p in stubs]}, solutions/ has {[p.name for p in refs]}"]
    for stub, ref in zip(stubs, refs):
        try:
            a, b = public_api(stub), public_api(ref)
        except ModuleLoadError as exc:
            problems.append(f"{name}: {exc}")
            continue
        for missing in sorted(set(a) ^ set(b)):
            where = "exercises/" if missing in b else "solutions/"
            problems.append(f"{name}/{stub.name}: {missing} is missing from {where}")
        for item in sorted(set(a) & set(b)):
            if a[item][0] != b[item][0]:
                problems.append(f"{name}/{stub.name}: {item} has signature {a[item][0]} in exercises/ but {b[item][0]} in solutions/")
            elif a[item][1] != b[item][1]:
                problems.append(f"{name}/{stub.name}: {item} has different docstrings in exercises/ and solutions/")
    return problems


def points_problems(name: str) -> list[str]:
    """Test functions without a points marker."""
    problems = []
    for path in kit.test_files(name):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef) and node.name.startswith("test_"):
                if "pytest.mark.points" not in " ".join(ast.unparse(d) for d in node.decorator_list):
                    problems.append(f"{name}/{path.name}: {node.name} has no @pytest.mark.points")
    return problems


def name_problems(name: str) -> list[str]:
    """Test names defined in more than one test file of the exercise (``needs``, the gallery, hints and
    thresholds name tests by function name alone)."""
    files: dict[str, list[str]] = {}
    for path in kit.test_files(name):
        for test in kit.tests_defined(path):
            files.setdefault(test, []).append(path.name)
    return [f"{name}: {test} is defined in {', '.join(where)}; test names must be unique within an exercise"
            for test, where in files.items() if len(where) > 1]


def readme_problems(name: str) -> list[str]:
    readme = kit.EXERCISES_DIR / name / "README.md"
    if not readme.is_file():
        return [f"{name}: README.md is missing"]
    return [] if "## Hints" in readme.read_text() else [f"{name}: README.md has no '## Hints' section"]


def grading_problems(solutions: list[ExerciseResult], stubs: list[ExerciseResult]) -> list[str]:
    problems = []
    for r in solutions:
        if r.status != Status.PASSED or r.points != r.max_points:
            problems.append(f"{r.name}: the solution is {r.status.label} ({r.points}/{r.max_points}): {r.message}")
    for r in stubs:
        if r.status != Status.NOT_STARTED:
            problems.append(f"{r.name}: the stubs report {r.status.label}, expected not started: {r.message}")
        for t in r.tests:
            if t.kind not in (Status.NOT_STARTED, Status.BLOCKED):
                problems.append(f"{r.name}: stub test {t.id.split('::')[-1]} came out {t.kind}, expected not started or blocked")
    return problems


TABLE_ROW = re.compile(r"^\| (\d\d) \| `(\w+)`(\s*(?:\(bonus\)|（加分）))? \|", flags=re.M)


def manifest_problems() -> list[str]:
    """Where exercises/kit.toml, the folders and the README tables disagree: a folder the manifest
    does not list, a listed exercise without its stub, reference, tests or README, or a table row
    (number, module, bonus mark) that is not the manifest's."""
    listed = kit.exercises()
    problems = [f"exercises/{p.name}/ is not listed in exercises/kit.toml" for p in sorted(kit.EXERCISES_DIR.iterdir())
                if p.is_dir() and p.name[:2].isdigit() and p.name not in {e.name for e in listed}]
    for e in listed:
        for path in (kit.EXERCISES_DIR / e.name / e.file_name, kit.SOLUTIONS_DIR / e.name / e.file_name):
            if not path.is_file():
                problems.append(f"{e.name}: kit.toml names module {e.module!r}, but {path.relative_to(kit.KIT_ROOT)} is missing")
        if not kit.test_files(e.name):
            problems.append(f"{e.name}: no test_*.py in exercises/{e.name}/")
    expected = [(e.name[:2], e.module, e.bonus) for e in listed]
    for readme in (kit.KIT_ROOT / "README.md", kit.KIT_ROOT / i18n.README_NAMES["zh-TW"]):
        if readme.is_file():
            rows = [(n, m, bool(b)) for n, m, b in TABLE_ROW.findall(readme.read_text(encoding="utf-8"))]
            if rows and rows != expected:
                problems.append(f"{readme.name}: the exercise table {rows} is not exercises/kit.toml's {expected}")
    return problems


def static_problems(names: list[str]) -> list[str]:
    per_exercise = [p for n in names for p in parity_problems(n) + points_problems(n) + name_problems(n) + readme_problems(n)]
    return manifest_problems() + per_exercise + translations_problems(names)


FENCED = re.compile(r"^```.*?^```[ \t]*$", flags=re.M | re.S)
INDENTED = re.compile(r"(?:(?<=\n\n)|\A)((?: {4,}\S.*\n(?:[ \t]*\n(?= {4,}\S))?)+)")


def readme_outline(text: str, lang: str) -> dict:
    """What a README and its translation must share: heading levels in order, the number of
    hints and each hint's inline code spans and numbers, the code blocks (fenced or indented) verbatim, the inline code spans and the number
    tokens (both as multisets), and whether it links to the other language before its first section."""
    blocks = FENCED.findall(text)
    prose = FENCED.sub("\n", text)
    blocks += INDENTED.findall(prose)
    prose = INDENTED.sub("\n", prose)
    other = i18n.README_NAMES["zh-TW" if lang == "en" else "en"]
    return {
        "headings": [len(m) for m in re.findall(r"^(#{1,3}) ", prose, flags=re.M)],
        "hints": len(parse_hints(text, lang)),
        "each hint": [Counter(re.findall(r"`([^`]+)`|(\d+(?:[.,]\d+)*)", hint)) for hint in parse_hints(text, lang)],
        "code blocks": blocks,
        "inline code": Counter(" ".join(span.split()) for span in re.findall(r"`([^`]+)`", prose)),
        "numbers": Counter(re.findall(r"\d+(?:[.,]\d+)*", text)),
        "link": f"]({other})" in prose.split("\n## ", 1)[0],
    }


def _multiset_difference(a: Counter, b: Counter) -> str:
    return ", ".join(f"{k!r}" + (f" x{n}" if n > 1 else "") for k, n in sorted((a - b).items()))


def translation_problems(english: Path, chinese: Path) -> list[str]:
    """How ``chinese`` (README.zh-TW.md) is missing or out of step with ``english`` (README.md)."""
    where = chinese.relative_to(kit.KIT_ROOT) if chinese.is_relative_to(kit.KIT_ROOT) else chinese
    if not chinese.is_file():
        return [f"{where} is missing (the translation of README.md)"]
    en = readme_outline(english.read_text(encoding="utf-8"), "en")
    zh = readme_outline(chinese.read_text(encoding="utf-8"), "zh-TW")
    problems = []
    if en["headings"] != zh["headings"]:
        problems.append(f"heading levels {zh['headings']}, README.md has {en['headings']}")
    if en["hints"] != zh["hints"]:
        problems.append(f"{zh['hints']} hints under '## 提示', README.md has {en['hints']} under '## Hints'")
    else:
        problems += [f"hint {n} has other inline code or numbers than README.md's hint {n} (`grader hint` counts "
                     "the hints seen across languages, so hint n must be the same hint in both)"
                     for n, (a, b) in enumerate(zip(en["each hint"], zh["each hint"]), start=1) if a != b]
    if en["code blocks"] != zh["code blocks"]:
        changed = [a for a, b in zip(en["code blocks"], zh["code blocks"]) if a != b]
        problems.append(f"{len(zh['code blocks'])} code blocks, README.md has {len(en['code blocks'])}"
                        if len(en["code blocks"]) != len(zh["code blocks"])
                        else f"{len(changed)} code block(s) differ from README.md's, first the one starting "
                             f"{changed[0].strip().splitlines()[0]!r}")
    for key in ("inline code", "numbers"):
        if en[key] != zh[key]:
            missing, extra = _multiset_difference(en[key], zh[key]), _multiset_difference(zh[key], en[key])
            problems.append(f"{key} differ: " + "; ".join(
                part for part in (missing and f"README.md has {missing} more", extra and f"this one has {extra} more") if part))
    if not en["link"]:
        problems.append("README.md does not link to README.zh-TW.md before its first section")
    if not zh["link"]:
        problems.append("no link back to README.md before the first section")
    return [f"{where}: {p}" for p in problems]


def translations_problems(names: list[str]) -> list[str]:
    """translation_problems for the top-level README and every exercise README that exists."""
    folders = [kit.KIT_ROOT] + [kit.EXERCISES_DIR / n for n in names]
    return [p for f in folders if (f / "README.md").is_file()
            for p in translation_problems(f / "README.md", f / i18n.README_NAMES["zh-TW"])]


def cmd_check(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    """``grader check``: the static checks, then solutions and stubs graded; exit 1 on any problem."""
    from grader.train.calibrate import calibration_warnings  # imports torch

    names = kit.exercise_names()
    problems = static_problems(names)
    settings = settings_from(args, parser, untrusted=False)
    solutions = grade(names, Target(solutions=True), settings)
    print_scorecard(solutions, str(kit.SOLUTIONS_DIR), settings.device)
    stubs = grade(names, Target(), settings)
    print_scorecard(stubs, str(kit.EXERCISES_DIR), settings.device)
    problems += grading_problems(solutions, stubs)
    print()
    for problem in problems:
        print(f"PROBLEM  {problem}")
    for warning in calibration_warnings():
        print(f"WARNING  {warning}")
    print(f"grader check: {len(problems)} problem(s) in {len(names)} exercises" if problems
          else f"grader check: all {len(names)} exercises consistent")
    return 1 if problems else 0
