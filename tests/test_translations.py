"""The Traditional Chinese side of the kit: README pairs in step, language resolution, hints in zh-TW.

A README pair is in step (grader.cli.check.translation_problems, the function `grader check` uses) when
both have the same heading levels in the same order, the same number of hints, byte-identical code
blocks, the same inline code spans and the same number tokens, each counted as a multiset (so a
threshold changed on one side only, or a number dropped or added, is caught), and each links to the
other before its first section.
"""
from __future__ import annotations

import io
import subprocess
import sys
from contextlib import redirect_stdout
from pathlib import Path

import pytest
from fake_kit import make_kit, run_grader, use_kit

from grader.cli import check
from grader.core import i18n, kit
from grader.core.results import ExerciseResult
from grader.report import hints
from grader.report.scorecard import describe_age, print_scorecard

FOLDERS = [kit.KIT_ROOT] + [kit.EXERCISES_DIR / n for n in kit.exercise_names()]


@pytest.mark.parametrize("folder", FOLDERS, ids=lambda f: f.name)
def test_readme_pair_in_step(folder: Path) -> None:
    problems = check.translation_problems(folder / "README.md", folder / "README.zh-TW.md")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("folder", FOLDERS[1:], ids=lambda f: f.name)
def test_translation_has_hints_and_chinese_prose(folder: Path) -> None:
    text = (folder / "README.zh-TW.md").read_text(encoding="utf-8")
    assert hints.parse_hints(text, "zh-TW"), "no numbered hints under '## 提示'"
    assert sum(i18n.width(c) == 2 for c in text) > 200, "the translation is mostly not Chinese"


EN = """# 01 · Title

[繁體中文](README.zh-TW.md)

Intro with 0.25 and `relu`.

## Tasks

1. Task one, 97.0%.

```bash
pytest exercises/01
```

    x' = x / 255

## Hints

1. Use `np.maximum(x, 0)`.
2. Second hint.
"""
ZH = """# 01 · 標題

[English](README.md)

簡介，0.25 與 `relu`。

## 任務

1. 第一個任務，97.0%。

```bash
pytest exercises/01
```

    x' = x / 255

## 提示

1. 使用 `np.maximum(x, 0)`。
2. 第二個提示。
"""


def _problems(tmp_path: Path, en: str, zh: str | None) -> list[str]:
    (tmp_path / "README.md").write_text(en, encoding="utf-8")
    if zh is not None:
        (tmp_path / "README.zh-TW.md").write_text(zh, encoding="utf-8")
    return check.translation_problems(tmp_path / "README.md", tmp_path / "README.zh-TW.md")


@pytest.mark.parametrize("change, expected", [
    (lambda zh: zh.replace("2. 第二個提示。\n", ""), "1 hints under '## 提示', README.md has 2"),
    (lambda zh: zh.replace("## 任務", "### 任務"), "heading levels"),
    (lambda zh: zh.replace("pytest exercises/01", "pytest exercises/01 "), "code block(s) differ"),
    (lambda zh: zh.replace("    x' = x / 255\n", ""), "1 code blocks, README.md has 2"),
    (lambda zh: zh.replace("97.0%", "97.5%"), "numbers differ: README.md has '97.0' more; this one has '97.5' more"),
    (lambda zh: zh.replace("0.25 與 ", ""), "README.md has '0.25' more"),
    (lambda zh: zh.replace("`np.maximum(x, 0)`", "`np.maximum(x,0)`"), "inline code differ"),
    (lambda zh: zh.replace("[English](README.md)\n", ""), "no link back to README.md"),
])
def test_out_of_step_translation_is_reported(tmp_path: Path, change, expected: str) -> None:
    assert _problems(tmp_path, EN, ZH) == []
    problems = _problems(tmp_path, EN, change(ZH))
    assert any(expected in p for p in problems), problems


def test_missing_translation_and_missing_link_are_reported(tmp_path: Path) -> None:
    assert "README.zh-TW.md is missing" in _problems(tmp_path, EN, None)[0]
    problems = _problems(tmp_path, EN.replace("[繁體中文](README.zh-TW.md)\n", ""), ZH)
    assert problems and "README.md does not link to README.zh-TW.md" in problems[0]


def test_grader_check_reports_translations(monkeypatch, tmp_path: Path) -> None:
    """`grader check` (static_problems) reports an exercise README without a translation."""
    use_kit(monkeypatch, make_kit(tmp_path / "kit"))
    assert check.static_problems(["01_alpha"]) == ["exercises/01_alpha/README.zh-TW.md is missing (the translation of README.md)"]


@pytest.mark.parametrize("explicit, environ, expected", [
    (None, {}, "en"),
    (None, {"LANG": "en_US.UTF-8"}, "en"),
    (None, {"LANG": "zh_TW.UTF-8"}, "zh-TW"),
    (None, {"LANG": "zh_HK.UTF-8"}, "zh-TW"),
    (None, {"LANG": "zh_Hant_TW"}, "zh-TW"),
    (None, {"LANG": "zh_CN.UTF-8"}, "zh-TW"),
    (None, {"LC_ALL": "zh_TW.UTF-8", "LANG": "en_US.UTF-8"}, "zh-TW"),
    (None, {"LC_ALL": "C", "LANG": "zh_TW.UTF-8"}, "en"),
    (None, {"LC_MESSAGES": "zh_TW", "LANG": "en_US"}, "zh-TW"),
    (None, {"GRADER_LANG": "zh-TW", "LANG": "en_US.UTF-8"}, "zh-TW"),
    (None, {"GRADER_LANG": "en", "LANG": "zh_TW.UTF-8"}, "en"),
    (None, {"GRADER_LANG": "klingon", "LANG": "zh_TW.UTF-8"}, "zh-TW"),
    ("en", {"GRADER_LANG": "zh-TW", "LC_ALL": "zh_TW"}, "en"),
    ("zh-TW", {"GRADER_LANG": "en"}, "zh-TW"),
])
def test_language_resolution(explicit: str | None, environ: dict[str, str], expected: str) -> None:
    assert i18n.language(explicit, environ) == expected


def _hint_output(monkeypatch, tmp_path: Path, *args, **kwargs) -> list[str]:
    monkeypatch.setattr(hints, "SEEN", tmp_path / "hints.json")
    out = io.StringIO()
    with redirect_stdout(out):
        assert hints.show_hint(*args, **kwargs) == 0
    return out.getvalue().splitlines()


def test_hints_served_from_the_translation_one_at_a_time(monkeypatch, tmp_path: Path) -> None:
    name = "01_activations"
    english, chinese = hints.read_hints(name), hints.read_hints(name, "zh-TW")
    assert len(english) == len(chinese) > 1 and english != chinese
    first = _hint_output(monkeypatch, tmp_path, name, lang="zh-TW")
    assert first == [f"提示 1/{len(chinese)}：{chinese[0]}",
                     f"（再執行一次 `grader hint {name} --lang zh-TW` 看下一個提示，加 `--all` 看全部）"]
    everything = _hint_output(monkeypatch, tmp_path, name, show_all=True, lang="zh-TW")
    assert everything[-2:] == [f"提示 {len(chinese)}/{len(chinese)}：{chinese[-1]}", "這是最後一個提示了。"]
    assert _hint_output(monkeypatch, tmp_path, name, lang="zh-TW")[-1] == "這是最後一個提示了。"
    english_last = _hint_output(monkeypatch, tmp_path, name, show_all=True)
    assert english_last[-2:] == [f"Hint {len(english)}/{len(english)}: {english[-1]}", "That was the last hint."]


def test_hint_command_in_both_languages_and_fallback(tmp_path: Path) -> None:
    root = make_kit(tmp_path / "kit")
    proc = run_grader(root, "hint", "01", "--all", "--lang", "en")
    assert proc.returncode == 0 and proc.stdout.splitlines()[-1] == "That was the last hint.", proc.stdout
    proc = run_grader(root, "hint", "01", "--lang", "zh-TW", "--reset")
    assert proc.stdout.splitlines() == [
        "（01_alpha 還沒有中文版 README，以下是英文提示。）", "提示 1/2：First hint.",
        "（再執行一次 `grader hint 01_alpha --lang zh-TW` 看下一個提示，加 `--all` 看全部）"], proc.stdout
    (root / "exercises" / "01_alpha" / "README.zh-TW.md").write_text("# 01_alpha\n\n## 提示\n1. 第一個提示。\n", encoding="utf-8")
    proc = subprocess.run([sys.executable, "-m", "grader", "hint", "01"], cwd=root, capture_output=True, text=True,
                          env={"GRADER_KIT_ROOT": str(root), "GRADER_LANG": "zh-TW", "PATH": "/usr/bin:/bin"})
    assert proc.stdout.splitlines() == ["提示 1/1：第一個提示。", "這是最後一個提示了。"], proc.stdout + proc.stderr


def _result(name: str, status: str, message: str = "", bonus: bool = False) -> ExerciseResult:
    return ExerciseResult(name=name, status=status, points=3 if status == "passed" else 0, max_points=3,
                          seconds=1.0, message=message, tests=[], bonus=bonus)


def test_scorecard_in_chinese_says_once_that_untranslated_failures_stay_english() -> None:
    results = [_result("01_activations", "passed"), _result("02_xor", "failed", "collapse_linear: wrong order"),
               _result("03_backprop", "not_started", "not started: 03_backprop.forward: write it"),
               _result("09_experiments", "blocked", "blocked: finish 06 and 07", bonus=True)]
    out = io.StringIO()
    print_scorecard(results, "exercises", "cpu", stream=out, lang="zh-TW")
    text = out.getvalue()
    assert text.count("有些失敗訊息還沒有中文版") == 1
    for word in ("評分 exercises（裝置：cpu）", "練習", "狀態", "通過", "未通過", "尚未開始", "受阻", "總計", "（加分）"):
        assert word in text, word
    assert "02_xor: failed: collapse_linear: wrong order" in text
    rows = text.split("\n\n")[0].splitlines()[1:-1]  # header, rule, four rows, rule
    rows = [line for line in rows if not line.startswith("-")]
    assert len(rows) == 5 and len({i18n.width(line) for line in rows}) == 1, f"columns not aligned on a terminal:\n{text}"
    english = io.StringIO()
    print_scorecard(results, "exercises", "cpu", stream=english, lang="en")
    assert "Grading exercises on cpu" in english.getvalue() and "失敗" not in english.getvalue()
    assert "not started" in english.getvalue() and "total" in english.getvalue()


def test_cached_age_in_chinese_has_chinese_units() -> None:
    """The scorecard's cached column reads '11 分鐘前', not '11 min前'."""
    result = _result("01_activations", "passed")
    result.cached_age = 660.0
    out = io.StringIO()
    print_scorecard([result], "exercises", "cpu", stream=out, lang="zh-TW")
    assert "（快取結果，11 分鐘前）" in out.getvalue().replace("(", "（").replace(")", "）"), out.getvalue()
    assert [describe_age(s, "zh-TW") for s in (5, 660, 7200, 3 * 86400)] == ["5 秒", "11 分鐘", "2 小時", "3 天"]
    assert [describe_age(s) for s in (5, 660, 7200, 3 * 86400)] == ["5 s", "11 min", "2 h", "3 d"]


def test_each_hint_is_the_same_hint_in_both_languages(tmp_path: Path) -> None:
    """`grader hint` counts the hints seen across languages, so hint n must be the same in both READMEs:
    hints in another order are reported, although the README as a whole has the same code and numbers."""
    english = tmp_path / "README.md"
    english.write_text(EN, encoding="utf-8")
    chinese = tmp_path / "README.zh-TW.md"
    chinese.write_text(ZH.replace("1. 使用 `np.maximum(x, 0)`。\n2. 第二個提示。", "1. 第二個提示。\n2. 使用 `np.maximum(x, 0)`。"),
                       encoding="utf-8")
    problems = check.translation_problems(english, chinese)
    assert len(problems) == 2 and all(f"hint {n} has other inline code or numbers than README.md's hint {n}" in p
                                      for n, p in enumerate(problems, start=1)), problems
