"""Bounds on text that a graded program controls."""
from __future__ import annotations

MESSAGE_LIMIT = 2000  # characters of one test's or exercise's message


def clip(text: str, limit: int = MESSAGE_LIMIT) -> str:
    """``text`` cut to ``limit`` characters, saying how much was left out."""
    if len(text) <= limit:
        return text
    note = f" ... [{len(text) - limit:,} more characters cut]"
    return text[: max(0, limit - len(note))] + note
