"""A tiny stand-in kit (two exercises, no torch) for fast tests of the plugin, runner and CLI.

Tests point the grader at it with GRADER_KIT_ROOT, so every code path of the real kit runs,
in a fraction of a second per exercise.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

TESTS = {
    "01_alpha/test_alpha.py": '''
import pytest

@pytest.mark.points(2)
def test_double(mod):
    assert mod.double(3) == 6, "double(3) must be 6"

@pytest.mark.points(1)
def test_double_negative(mod):
    assert mod.double(-2) == -4, "double(-2) must be -4"
''',
    "02_beta/test_beta.py": '''
import pytest

@pytest.mark.points(1)
def test_inc(mod):
    assert mod.inc(1) == 2, "inc(1) must be 2"

@pytest.mark.points(2)
@pytest.mark.needs("test_inc")
def test_threshold(mod):
    assert mod.inc(41) == 42, "inc(41) must be 42"
''',
}
MANIFEST = '[01_alpha]\nmodule = "alpha"\n\n[02_beta]\nmodule = "beta"\n'
SOLUTIONS = {
    "01_alpha/alpha.py": '"""Alpha."""\n\n\ndef double(x: int) -> int:\n    """Twice x."""\n    return 2 * x\n',
    "02_beta/beta.py": '"""Beta."""\n\n\ndef inc(x: int) -> int:\n    """x plus one."""\n    return x + 1\n',
}
STUBS = {
    "01_alpha/alpha.py": '"""Alpha."""\n\n\ndef double(x: int) -> int:\n    """Twice x."""\n    raise NotImplementedError("01_alpha.double: return 2 * x")\n',
    "02_beta/beta.py": '"""Beta."""\n\n\ndef inc(x: int) -> int:\n    """x plus one."""\n    raise NotImplementedError("02_beta.inc: return x + 1")\n',
}


def write(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    return root


def make_kit(root: Path) -> Path:
    """A kit at ``root``: exercises/ (stubs + tests + READMEs), solutions/, pyproject.toml."""
    write(root / "exercises", TESTS)
    write(root / "exercises", STUBS)
    write(root / "solutions", SOLUTIONS)
    (root / "exercises" / "kit.toml").write_text(MANIFEST)
    for name in ("01_alpha", "02_beta"):
        (root / "exercises" / name / "README.md").write_text(f"# {name}\n\n## Hints\n1. First hint.\n2. Second hint.\n")
    shutil.copy(REPO / "pyproject.toml", root / "pyproject.toml")
    return root


def use_kit(monkeypatch, root: Path) -> Path:
    """Point this process's grader at the kit at ``root`` (for in-process tests)."""
    from grader.core import kit

    for name, path in (("KIT_ROOT", root), ("EXERCISES_DIR", root / "exercises"), ("SOLUTIONS_DIR", root / "solutions"),
                       ("MANIFEST", root / "exercises" / "kit.toml")):
        monkeypatch.setattr(kit, name, path)
    return root


def handin(root: Path, alpha: str | None = SOLUTIONS["01_alpha/alpha.py"], beta: str | None = SOLUTIONS["02_beta/beta.py"]) -> Path:
    """A hand-in folder; pass None to leave a module out."""
    files = {k: v for k, v in {"01_alpha/alpha.py": alpha, "02_beta/beta.py": beta}.items() if v is not None}
    (root / "01_alpha").mkdir(parents=True, exist_ok=True)
    (root / "02_beta").mkdir(parents=True, exist_ok=True)
    return write(root, files)


def run_grader(kit_root: Path, *args: str, timeout: float = 120, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """``python -m grader ARGS`` on the kit at ``kit_root``, in English, with ``env`` added."""
    env = {**os.environ, "GRADER_KIT_ROOT": str(kit_root), "NO_COLOR": "1", "GRADER_LANG": "en", **(env or {})}
    return subprocess.run([sys.executable, "-m", "grader", *args], cwd=kit_root, env=env,
                          capture_output=True, text=True, timeout=timeout)
