"""The grader's two languages: English and Traditional Chinese (Taiwan), ``en`` and ``zh-TW``.

Only what the learner reads between tests is translated: the progress screen, the scorecard's
headings, status words and next-step lines, ``grader hint``, and the failure messages that a test
raises from its table of causes (grader/core/failures.py); any other failure message stays English.

The language comes from ``--lang``, else ``GRADER_LANG``, else the locale (``LC_ALL``, then
``LC_MESSAGES``, then ``LANG``, the first one set wins): any Chinese locale (``zh_TW``,
``zh_HK``, ``zh_Hant``, and also ``zh_CN``/``zh_SG``, since zh-TW is the only Chinese the kit
has and the chapter is written in it) means zh-TW; anything else, English.
"""
from __future__ import annotations

import os
import unicodedata
from pathlib import Path

LANGUAGES = ("en", "zh-TW")
DEFAULT = "en"

# key -> (English, Traditional Chinese)
MESSAGES: dict[str, tuple[str, str]] = {
    "passed": ("passed", "通過"),
    "failed": ("failed", "未通過"),
    "error": ("error", "錯誤"),
    "timeout": ("timeout", "逾時"),
    "not_started": ("not started", "尚未開始"),
    "blocked": ("blocked", "受阻"),
    "grading": ("Grading {target} on {device}", "評分 {target}（裝置：{device}）"),
    "unsandboxed": ("Graded WITHOUT the sandbox: {reason}", "未在沙箱中評分：{reason}"),
    "col_exercise": ("exercise", "練習"),
    "col_status": ("status", "狀態"),
    "col_tests": ("tests", "測試"),
    "col_points": ("points", "分數"),
    "col_seconds": ("seconds", "秒數"),
    "total": ("total", "總計"),
    "n_passed": ("{passed}/{total} passed", "{passed}/{total} 通過"),
    "bonus_tag": ("(bonus)", "（加分）"),
    "bonus_total": ("+ bonus", "+ 加分"),
    "english_failures": ("", "（有些失敗訊息還沒有中文版，以英文顯示。）"),
    "checking": ("checking {name} ...", "正在檢查 {name} ..."),
    "progress": ("Progress:", "進度："),
    "bar_unit": ("exercises", "個練習"),
    "all_done": (
        "Every exercise passes. Run `grader --all` for the full scorecard, or `grader train` to see it all work.",
        "所有練習都已通過。執行 `grader --all` 看完整成績單，或執行 `grader train` 看整套流程實際運作。"),
    "next": (
        "Next: {name} ({status}, {tests} tests, {points} points)",
        "下一個：{name}（{status}，測試 {tests}，分數 {points}）"),
    "step_read": ("  read   {path}", "  閱讀   {path}"),
    "step_edit": ("  edit   {path}", "  編輯   {path}"),
    "step_test": ("  test   pytest exercises/{name}", "  測試   pytest exercises/{name}"),
    "step_hint": ("  hint   grader hint {name}", "  提示   grader hint {name} --lang zh-TW"),
    "no_hints": ("{name} has no hints in its README.", "{name} 的 README 沒有提示。"),
    "hint": ("Hint {number}/{total}: {text}", "提示 {number}/{total}：{text}"),
    "more_hints": (
        "(run `grader hint {name}` again for the next one, `--all` for all)",
        "（再執行一次 `grader hint {name} --lang zh-TW` 看下一個提示，加 `--all` 看全部）"),
    "last_hint": ("That was the last hint.", "這是最後一個提示了。"),
    "cached": ("cached, {age} ago", "快取結果，{age}前"),
    "age_s": ("{n} s", "{n} 秒"),
    "age_min": ("{n} min", "{n} 分鐘"),
    "age_h": ("{n} h", "{n} 小時"),
    "age_d": ("{n} d", "{n} 天"),
    "cached_tag": ("(cached)", "（快取）"),
    "n_cached": ("{count} cached, not graded in this run", "{count} 個快取結果，本次未重新評分"),
    "not_sandboxed": (
        "Not sandboxed: the tests ran your code directly, as they always do for your own `exercises/`.",
        "未使用沙箱：測試直接執行你的程式碼；評分你自己的 `exercises/` 時一向如此。"),
    "no_translation": ("", "（{name} 還沒有中文版 README，以下是英文提示。）"),
}

README_NAMES = {"en": "README.md", "zh-TW": "README.zh-TW.md"}
HINTS_HEADINGS = {"en": "## Hints", "zh-TW": "## 提示"}


def from_locale(value: str) -> str | None:
    """``zh_TW.UTF-8``, ``zh_Hant_HK``, ``zh-CN`` ... -> ``zh-TW``; ``C``, ``en_US`` -> ``en``; empty -> None."""
    if not value:
        return None
    return "zh-TW" if value.lower().replace("-", "_").split(".")[0].split("_")[0] == "zh" else "en"


def normalise(value: str) -> str | None:
    """An explicit choice (``--lang``, ``GRADER_LANG``): ``zh-TW``, ``zh_TW``, ``zh`` ... or ``en``; else None."""
    lang = from_locale(value)
    return lang if lang == "zh-TW" or value.lower().startswith("en") else None


def language(explicit: str | None = None, environ: dict[str, str] | None = None) -> str:
    """``explicit``, else ``GRADER_LANG`` (when it names a language), else the first of LC_ALL /
    LC_MESSAGES / LANG that is set, else English."""
    env = os.environ if environ is None else environ
    for choice in (explicit, env.get("GRADER_LANG")):
        lang = normalise(choice or "")
        if lang is not None:
            return lang
    for variable in ("LC_ALL", "LC_MESSAGES", "LANG"):
        lang = from_locale(env.get(variable, ""))
        if lang is not None:
            return lang
    return DEFAULT


def text(key: str, lang: str, **fields: object) -> str:
    """The message ``key`` in ``lang`` with ``fields`` filled in."""
    return MESSAGES[key][LANGUAGES.index(lang)].format(**fields)


def readme_path(folder: Path, lang: str) -> Path:
    return folder / README_NAMES[lang]


def width(s: str) -> int:
    """Terminal columns of ``s``: East Asian wide and full-width characters take two."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in s)


def ljust(s: str, columns: int) -> str:
    return s + " " * max(0, columns - width(s))


def rjust(s: str, columns: int) -> str:
    return " " * max(0, columns - width(s)) + s
