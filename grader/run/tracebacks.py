"""What a learner sees when an exercise's test fails under plain ``pytest``: the test's own lines
and the learner's code, never the kit's helpers, torch's internals or pytest's machinery.

Short tracebacks by default, pytest's long ones with ``-v``; ``--full-trace`` shows everything.
Internal module names (``graded_06_mlp_mlp``) read as the learner's file stems (``mlp``).
"""
from __future__ import annotations

from pathlib import Path

import pytest
from _pytest._code.code import TerminalRepr, TracebackEntry

from grader.run.loader import plain_names


def choose_style(config: pytest.Config, items: list[pytest.Item], exercise_suite: bool) -> None:
    """``--tb=short`` for an exercise suite run without ``-v`` and without an explicit ``--tb``."""
    if exercise_suite and items and config.option.verbose < 1 and config.option.tbstyle == "auto":
        config.option.tbstyle = "short"


def learner_repr(item: pytest.Item, excinfo: pytest.ExceptionInfo, graded: Path) -> TerminalRepr | str | None:
    """The failure of ``item`` as its entries in the test's folder or the ``graded`` folder, or None
    to keep pytest's own (``--full-trace``, a ``--tb`` style other than short/long/auto, or no such entry)."""
    config = item.config
    style = config.option.tbstyle
    if config.getoption("fulltrace", False) or style not in ("auto", "short", "long"):
        return None
    roots = (Path(str(item.path)).resolve().parent, graded.resolve())

    def mine(entry: TracebackEntry) -> bool:
        try:
            path = Path(str(entry.path)).resolve()
        except (OSError, ValueError):  # the graded code chose its frames' file names (a NUL byte, say)
            return False
        return not entry.ishidden(excinfo) and any(path.is_relative_to(root) for root in roots)

    if not any(mine(entry) for entry in excinfo.traceback):
        return None
    shown = excinfo.getrepr(funcargs=True, showlocals=config.getoption("showlocals", False),
                            style="short" if style == "short" else "long",
                            tbfilter=lambda info: info.traceback.filter(mine))
    text = str(shown)
    return plain_names(text) if "graded_" in text else shown
