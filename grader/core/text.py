"""Bounds on text that a graded program controls: length, encodability, terminal control codes."""
from __future__ import annotations

import re

MESSAGE_LIMIT = 2000  # characters of one test's or exercise's message
# C0 and C1 control characters except tab and newline: a message must not move the cursor,
# clear the screen or retitle the terminal to paint a fake scorecard.
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def clip(text: str, limit: int = MESSAGE_LIMIT) -> str:
    """``text`` made safe to print and store (lone surrogates and control codes escaped) and cut
    to ``limit`` characters, saying how much was left out."""
    text = text.encode("utf-8", "backslashreplace").decode("utf-8")
    text = CONTROL.sub(lambda match: match.group().encode("unicode_escape").decode("ascii"), text)
    if len(text) <= limit:
        return text
    note = f" ... [{len(text) - limit:,} more characters cut]"
    return text[: max(0, limit - len(note))] + note
