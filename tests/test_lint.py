"""The code passes the linter and the type checker the project configures in pyproject.toml."""
from __future__ import annotations

import subprocess
import sys

from grader.core import kit


def run(*command: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", *command], cwd=kit.KIT_ROOT, capture_output=True, text=True,
                          timeout=600)


def test_ruff_finds_nothing():
    proc = run("ruff", "check", "--output-format", "concise", "grader", "tests", "exercises", "solutions", "bench")
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_mypy_finds_nothing():
    proc = run("mypy")
    assert proc.returncode == 0, proc.stdout + proc.stderr
