"""The Gradescope route tried the way Gradescope runs it: the real kit's bundle unpacked into a
tree laid out like /autograder (source, submission, results), run_autograder run as this
user (root in CI), once with bubblewrap and once where it cannot run, with submissions of
loose files, of folders and of a whole repository. A submission whose 01 rewrites the bundled
tests of 02 and 03 must not lift their stubs above zero, and must leave the kit unchanged."""
from __future__ import annotations

import hashlib
import os
import shutil
import sys
from pathlib import Path

import pytest
from test_export import UPLOADS, by_exercise, run_autograder, solution

from grader.core import kit
from grader.run import sandbox

EXERCISES = "01 02 03"
# a right 01 that, on import, turns every test of 02 and 03 into one that returns at once
REWRITER = solution("01_activations", "activations.py") + '''
import re as _re
from pathlib import Path as _Path
from grader.core import kit as _kit
for _name in ("02_xor", "03_backprop"):
    for _file in (_Path(_kit.EXERCISES_DIR) / _name).glob("test_*.py"):
        try:
            _file.write_text(_re.sub(r"(\\ndef test_\\w+\\([^)]*\\)(?: -> None)?:\\n)", r"\\1    return\\n",
                                     _file.read_text()))
        except OSError:
            pass
'''
STUBS = {f"{name}/{module}": (kit.EXERCISES_DIR / name / module).read_text()
         for name, module in (("02_xor", "xor.py"), ("03_backprop", "backprop.py"))}
SUBMISSIONS = {
    "loose files": {"activations.py": REWRITER, "xor.py": STUBS["02_xor/xor.py"],
                    "backprop.py": STUBS["03_backprop/backprop.py"]},
    "folders": {"01_activations/activations.py": REWRITER, **STUBS},
    "a whole repository": {"repo/exercises/01_activations/activations.py": REWRITER,
                           **{f"repo/exercises/{rel}": text for rel, text in STUBS.items()},
                           # its own copy of the kit's tests, rewritten to pass: never used
                           "repo/exercises/02_xor/test_xor.py": "def test_everything():\n    pass\n",
                           "repo/grader/__init__.py": "raise SystemExit(0)\n"},
}


def digest(folder: Path) -> str:
    files = sorted(p for p in folder.rglob("*") if p.is_file() and "__pycache__" not in p.parts)
    return hashlib.sha256(b"".join(p.relative_to(folder).as_posix().encode() + p.read_bytes() for p in files)).hexdigest()


@pytest.fixture(params=["with bubblewrap", "without bubblewrap"])
def route(request, tmp_path, monkeypatch):
    """How the container runs it: bubblewrap usable, or missing from PATH (as where namespaces are forbidden)."""
    if request.param == "with bubblewrap" and sandbox.unavailable_reason() is not None:
        pytest.skip(f"bubblewrap unavailable: {sandbox.unavailable_reason()}")
    if request.param == "without bubblewrap":
        bin_dir = tmp_path / "bin"
        bin_dir.mkdir()
        for tool in ("bash", "env"):
            (bin_dir / tool).symlink_to(shutil.which(tool) or f"/usr/bin/{tool}")
        monkeypatch.setenv("PATH", str(bin_dir))
    return request.param


@pytest.mark.parametrize("shape", list(SUBMISSIONS))
def test_a_submission_cannot_rewrite_the_bundled_tests(bundle, tmp_path, route, shape):
    root = tmp_path / "autograder"
    data, stdout = run_autograder(bundle, root, SUBMISSIONS[shape], exercises=EXERCISES, before=digest)
    totals = by_exercise(data)
    assert totals["01_activations"][0] == totals["01_activations"][1] > 0, data["output"]
    assert totals["02_xor"][0] == 0 and totals["03_backprop"][0] == 0, data["output"]
    assert digest(root / "source" / "kit") == data["kit_digest"], "the submission changed the kit"
    if route == "without bubblewrap":
        assert "Graded without the sandbox" in data["output"]
        if os.geteuid() == 0:
            assert "unprivileged user" in data["output"]
    else:
        assert "without the sandbox" not in data["output"]


def test_a_correct_submission_gets_full_marks_without_bubblewrap_too(bundle, tmp_path, monkeypatch):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("bash", "env"):
        (bin_dir / tool).symlink_to(shutil.which(tool) or f"/usr/bin/{tool}")
    monkeypatch.setenv("PATH", str(bin_dir))
    data, stdout = run_autograder(bundle, tmp_path / "autograder", UPLOADS["correct"])
    assert data["score"] == sum(most for _, most in by_exercise(data).values()) > 0, data["output"]
    assert "peak" in stdout


if sys.platform != "linux":  # pragma: no cover
    pytest.skip("the route is Linux's", allow_module_level=True)
