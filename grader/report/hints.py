"""``grader hint NAME``: the hints of an exercise's README, one more each time you ask.

With ``--lang zh-TW`` (or GRADER_LANG, or a Chinese locale) the hints come from the exercise's
README.zh-TW.md; an exercise without a translation falls back to the English hints, with a note.
How many hints were seen (``.grader/hints.json``, per exercise) is shared by the languages: hint n is
the same hint in both READMEs, which `grader check` holds (each hint's inline code and numbers agree).
"""
from __future__ import annotations

import json
import re

from grader.core import i18n, kit
from grader.core.files import atomic_write_text

SEEN = kit.KIT_ROOT / ".grader" / "hints.json"


def parse_hints(text: str, lang: str = "en") -> list[str]:
    """The numbered items of the README's hints section ('## Hints' / '## 提示'), in order."""
    heading = i18n.HINTS_HEADINGS[lang]
    section = text.split(heading + "\n", 1)[1] if heading + "\n" in text else ""
    section = re.split(r"\n## ", section, maxsplit=1)[0]
    return [m.strip() for m in re.findall(r"^\d+\.\s+(.*(?:\n(?!\d+\.|\n).*)*)", section, flags=re.M)]


def read_hints(name: str, lang: str = "en") -> list[str]:
    """The hints of exercise ``name`` from its README in ``lang``."""
    return parse_hints(i18n.readme_path(kit.EXERCISES_DIR / name, lang).read_text(encoding="utf-8"), lang)


def show_hint(name: str, show_all: bool = False, reset: bool = False, lang: str = "en") -> int:
    """Print the hints seen so far plus one (all with ``show_all``); say when none are left."""
    source = lang
    if lang != "en" and not i18n.readme_path(kit.EXERCISES_DIR / name, lang).is_file():
        print(i18n.text("no_translation", lang, name=name))
        source = "en"
    hints = read_hints(name, source)
    if not hints:
        print(i18n.text("no_hints", lang, name=name))
        return 1
    try:
        seen = json.loads(SEEN.read_text())
    except (OSError, ValueError):
        seen = {}
    count = 1 if reset else len(hints) if show_all else min(seen.get(name, 0) + 1, len(hints))
    for number, hint in enumerate(hints[:count], start=1):
        print(i18n.text("hint", lang, number=number, total=len(hints), text=hint))
    seen[name] = count
    atomic_write_text(SEEN, json.dumps(seen))
    print(i18n.text("more_hints" if count < len(hints) else "last_hint", lang, name=name))
    return 0
