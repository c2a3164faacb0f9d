"""Report grading results: the terminal scorecard, the JSON contract and Gradescope's results.json."""
from __future__ import annotations

import os
import sys
from functools import partial
from typing import TextIO

from grader.core import i18n
from grader.core.environment import record
from grader.core.results import ExerciseResult, Status, TestResult
from grader.core.text import clip

COLOURS: dict[str, str] = {Status.PASSED: "32", Status.FAILED: "31", Status.ERROR: "31", Status.TIMEOUT: "31",
                           Status.NOT_STARTED: "33", Status.BLOCKED: "35"}


def use_colour(stream: TextIO) -> bool:
    """Colour only on a terminal, and never when NO_COLOR is set."""
    return stream.isatty() and "NO_COLOR" not in os.environ


def paint(text: str, status: str, colour: bool) -> str:
    code = COLOURS.get(status)
    return f"\033[{code}m{text}\033[0m" if colour and code else text


def status_label(status: str, lang: str = "en") -> str:
    """``not_started`` -> ``not started`` (or its zh-TW word)."""
    return i18n.text(status, lang) if status in i18n.MESSAGES else status.replace("_", " ")


def print_scorecard(results: list[ExerciseResult], target: str, device: str, *, verbose: bool = False,
                    stream: TextIO = sys.stdout, lang: str | None = None, unsandboxed: str | None = None) -> None:
    """One row per exercise (status, tests, points, seconds), a total row, then reasons; first, when
    a hand-in was graded without the sandbox, why (``unsandboxed``).

    Headings, status words and the failures that have a translation are in ``lang`` (default:
    i18n.language())."""
    lang = lang or i18n.language()
    t = partial(i18n.text, lang=lang)
    left, right = i18n.ljust, i18n.rjust
    colour = use_colour(stream)
    bonus_tag = t("bonus_tag")
    width = max([i18n.width(r.name) + (1 + i18n.width(bonus_tag)) * r.bonus for r in results] + [8])
    status_width = max(11, *(i18n.width(status_label(s, lang)) for s in COLOURS))
    header = (f"{left(t('col_exercise'), width)}  {left(t('col_status'), status_width)}  {right(t('col_tests'), 7)}  "
              f"{right(t('col_points'), 9)}  {right(t('col_seconds'), 8)}")
    print(t("grading", target=clip(target), device=device), file=stream)
    if unsandboxed:
        print(paint(t("unsandboxed", reason=clip(unsandboxed)), Status.FAILED, colour), file=stream)
    print(header, file=stream)
    print("-" * i18n.width(header), file=stream)
    for r in results:
        label = paint(left(status_label(r.status, lang), status_width), r.status, colour)
        tests = f"{r.passed_tests}/{len(r.tests)}"
        name = f"{r.name} {bonus_tag}" if r.bonus else r.name
        cached = f"  ({t('cached', age=describe_age(r.cached_age, lang))})" if r.cached_age is not None else ""
        memory = f"  {r.peak_memory_mb:.0f} MB" if verbose and r.peak_memory_mb else ""
        print(f"{left(name, width)}  {label}  {tests:>7}  {f'{r.points}/{r.max_points}':>9}  {r.seconds:>8.1f}"
              f"{memory}{cached}", file=stream)
    print("-" * i18n.width(header), file=stream)
    passed = sum(r.status == Status.PASSED for r in results)
    core = [r for r in results if not r.bonus]
    points, max_points = sum(r.points for r in core), sum(r.max_points for r in core)
    tests = f"{sum(r.passed_tests for r in results)}/{sum(len(r.tests) for r in results)}"
    total = t("n_passed", passed=passed, total=len(results))
    bonus = [r for r in results if r.bonus]
    extra = f"  {t('bonus_total')} {sum(r.points for r in bonus)}/{sum(r.max_points for r in bonus)}" if bonus else ""
    print(f"{left(t('total'), width)}  {left(total, status_width)}  {tests:>7}  {f'{points}/{max_points}':>9}  "
          f"{sum(r.seconds for r in results):>8.1f}{extra}", file=stream)
    reasons = [r for r in results if r.status != Status.PASSED and r.message]
    if t("english_failures") and any(headline(r, lang) == r.message for r in reasons):
        print(f"\n{t('english_failures')}", file=stream)
    for r in reasons:
        said = headline(r, lang)
        label = status_label(r.status, lang if said != r.message else "en")  # an English reason keeps its English word
        reason = said if r.message.startswith(status_label(r.status)) else f"{label}: {said}"
        print(f"\n{r.name}: {reason}", file=stream)
        if verbose:
            for test in r.tests:
                if test.kind not in (Status.PASSED, Status.NOT_STARTED) and test.message:
                    print(f"  - {test.id.split('::', 1)[-1]}: {test.said(lang)}", file=stream)
    measured = [(r.name, test) for r in results for test in r.tests if test.metrics] if verbose else []
    if measured:
        print("", file=stream)
    for name, test in measured:
        print(f"{name}  {test.id.split('::', 1)[-1]}: {describe_metrics(test.metrics or {})}", file=stream)


def headline(result: ExerciseResult, lang: str) -> str:
    """The exercise's message in ``lang``: the translation of the test it quotes, when there is one."""
    quoted = next((t for t in result.tests if t.message == result.message and t.translations), None)
    return quoted.said(lang) if quoted else result.message


def describe_metrics(metrics: dict) -> str:
    """'98.71% >= 98.5% (1 epoch, 31 s)', with every try when there were several."""
    accuracy, threshold = metrics.get("accuracy"), metrics.get("threshold")
    if not isinstance(accuracy, (int, float)) or not isinstance(threshold, (int, float)):
        return ", ".join(f"{k} {v}" for k, v in metrics.items())
    epochs, seconds = metrics.get("epochs"), metrics.get("seconds")
    text = f"{accuracy:.2f}% {'>=' if accuracy >= threshold else '<'} {threshold:g}%"
    if isinstance(epochs, int) and isinstance(seconds, (int, float)):
        text += f" ({epochs} epoch{'s' if epochs != 1 else ''}, {seconds:.0f} s)"
    tries = metrics.get("tries") or []
    if len(tries) > 1:
        text += "; tries: " + ", ".join(f"{t.get('accuracy', 0):.2f}% (seed {t.get('seed')})" for t in tries)
    return text


def test_line(test: TestResult) -> str:
    """One finished test: its outcome and name, and the first line of why it did not pass."""
    name = test.id.split("::")[-1]
    label = status_label(test.kind)
    reason = test.message.removeprefix(f"{label}: ").splitlines()[0][:160] if test.kind != Status.PASSED and test.message else ""
    return f"{label} {name}" + (f": {reason}" if reason else "")


def describe_age(seconds: float, lang: str = "en") -> str:
    """'12 s', '5 min', '3 h', '2 d' (in zh-TW '12 秒', '5 分鐘', '3 小時', '2 天')."""
    unit, size = next(((u, s) for u, s in (("d", 86400), ("h", 3600), ("min", 60)) if seconds >= s), ("s", 1))
    return i18n.text(f"age_{unit}", lang, n=f"{seconds // size:.0f}")


def to_json(results: list[ExerciseResult], target: str, device: str, sandbox: bool = False,
            environment: dict | None = None) -> dict:
    """The results JSON (docs/results-schema.json), with the reproducibility record."""
    return {"target": target, "device": device, "sandbox": sandbox,
            "environment": environment if environment is not None else record(device, sandbox=sandbox),
            "points": sum(r.points for r in results), "max_points": sum(r.max_points for r in results),
            "exercises": [r.to_json() for r in results]}


def to_gradescope(results: list[ExerciseResult]) -> dict:
    """Gradescope's results.json (gradescope-autograders.readthedocs.io, specs): a top-level score and
    execution_time, then one entry per test with name, score, max_score, status, output, visibility."""
    tests = []
    for r in results:
        for t in r.tests:
            tests.append({"name": f"{r.name}: {t.id.split('::', 1)[-1]}", "score": t.points,
                          "max_score": t.max_points, "output": t.message or t.kind.label,
                          "visibility": "visible", "status": "passed" if t.kind == Status.PASSED else "failed"})
        if not r.tests:
            tests.append({"name": r.name, "score": 0, "max_score": 0, "output": r.message,
                          "visibility": "visible", "status": "failed"})
    # Plain-text formats: Gradescope's default (simple_format) would treat "<...>" in messages as HTML.
    return {"score": sum(r.points for r in results), "execution_time": round(sum(r.seconds for r in results)),
            "visibility": "visible", "output_format": "text", "test_output_format": "text",
            "output": "; ".join(f"{r.name}: {status_label(r.status)}" for r in results), "tests": tests}
