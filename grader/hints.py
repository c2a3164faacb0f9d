"""``grader hint NAME``: the hints of an exercise's README, one more each time you ask."""
from __future__ import annotations

import json
import re

from grader import kit
from grader.scorecard import atomic_write_text

SEEN = kit.KIT_ROOT / ".grader" / "hints.json"


def read_hints(name: str) -> list[str]:
    """The numbered items of the README's '## Hints' section, in order."""
    text = (kit.EXERCISES_DIR / name / "README.md").read_text()
    section = text.split("## Hints", 1)[1] if "## Hints" in text else ""
    section = re.split(r"\n## ", section, maxsplit=1)[0]
    return [m.strip() for m in re.findall(r"^\d+\.\s+(.*(?:\n(?!\d+\.|\n).*)*)", section, flags=re.M)]


def show_hint(name: str, show_all: bool = False, reset: bool = False) -> int:
    hints = read_hints(name)
    if not hints:
        print(f"{name} has no hints in its README.")
        return 1
    try:
        seen = json.loads(SEEN.read_text())
    except (OSError, ValueError):
        seen = {}
    count = 1 if reset else len(hints) if show_all else min(seen.get(name, 0) + 1, len(hints))
    for number, hint in enumerate(hints[:count], start=1):
        print(f"Hint {number}/{len(hints)}: {hint}")
    seen[name] = count
    atomic_write_text(SEEN, json.dumps(seen))
    if count < len(hints):
        print(f"(run `grader hint {name}` again for the next one, `--all` for all)")
    return 0
