"""Attacks on what the sandbox binds: whatever the working directory and options, the test
process of a hand-in sees neither the reference nor another hand-in nor the kit's writable state."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from fake_kit import SOLUTIONS, STUBS, handin, make_kit
from results import load_valid

from grader.run import sandbox

pytestmark = pytest.mark.skipif(sandbox.unavailable_reason() is not None,
                                reason=f"bubblewrap unavailable: {sandbox.unavailable_reason()}")

# a hand-in that has no answer of its own: it runs whatever reference it can reach
BORROWER = '''
from pathlib import Path
from grader.core import kit
_found = []
for _candidate in [kit.SOLUTIONS_DIR / "01_alpha" / "alpha.py", *Path(kit.KIT_ROOT).parent.glob("**/bob/01_alpha/alpha.py")]:
    try:
        exec(_candidate.read_text())
        _found.append(str(_candidate))
        break
    except OSError:
        pass
if not _found:
    def double(x):
        raise NotImplementedError("01_alpha.double: nothing to borrow")
'''


def grade_from(folder: Path, kit: Path, *args: str) -> tuple[subprocess.CompletedProcess, dict]:
    """``python -m grader --all ARGS`` started in ``folder`` (so that it is sys.path[0])."""
    out = kit.parent / "r.json"
    env = {**os.environ, "GRADER_KIT_ROOT": str(kit), "NO_COLOR": "1", "GRADER_LANG": "en"}
    proc = subprocess.run([sys.executable, "-m", "grader", "--all", "--device", "cpu", "--sandbox", "on",
                           "--json", str(out), *args], cwd=folder, env=env, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode in (0, 1), proc.stdout + proc.stderr
    return proc, {e["name"]: e for e in load_valid(out)["exercises"]}


@pytest.fixture
def setting(tmp_path):
    kit = make_kit(tmp_path / "kit")
    handins = tmp_path / "handins"
    alice = handin(handins / "alice", alpha=BORROWER, beta=SOLUTIONS["02_beta/beta.py"])
    handin(handins / "bob")  # a classmate with right answers
    return kit, alice, handins


@pytest.mark.parametrize("where", ["inside solutions/01_alpha", "inside a classmate's folder", "the kit's root"])
def test_the_working_directory_never_reveals_the_reference_or_a_classmate(setting, where):
    kit, alice, handins = setting
    folder = {"inside solutions/01_alpha": kit / "solutions" / "01_alpha",
              "inside a classmate's folder": handins / "bob" / "01_alpha", "the kit's root": kit}[where]
    _, results = grade_from(folder, kit, "--target", str(alice))
    assert results["01_alpha"]["status"] == "not_started", results["01_alpha"]
    assert results["02_beta"]["status"] == "passed"


@pytest.mark.parametrize("data_dir", [".", "solutions", "..", "../handins"])
def test_a_data_folder_that_holds_the_reference_or_hand_ins_reveals_neither(setting, data_dir):
    kit, alice, _ = setting
    proc, results = grade_from(kit, kit, "--target", str(alice), "--data-dir", data_dir)
    assert results["01_alpha"]["status"] != "passed", results["01_alpha"]
    assert "nothing to borrow" in results["01_alpha"]["message"] or "refused" in results["01_alpha"]["message"]


def test_the_kit_s_writable_state_is_hidden(setting):
    """The remembered results and the cache's signing key are out of the test process's sight."""
    kit, alice, _ = setting
    (kit / ".grader" / "results").mkdir(parents=True)
    (kit / ".grader" / "results" / "x.json").write_text("{}")
    probe = ("from pathlib import Path\nfrom grader.core import kit\n"
             "def double(x):\n    return 2 * x if not (Path(kit.KIT_ROOT) / '.grader').exists() else 0\n")
    (alice / "01_alpha" / "alpha.py").write_text(probe)
    _, results = grade_from(kit, kit, "--target", str(alice))
    assert results["01_alpha"]["status"] == "passed", results["01_alpha"]["message"]


def test_a_stub_hand_in_still_scores_nothing_when_its_classmates_are_right(setting):
    kit, _, handins = setting
    carol = handin(handins / "carol", alpha=STUBS["01_alpha/alpha.py"], beta=STUBS["02_beta/beta.py"])
    _, results = grade_from(handins / "bob", kit, "--target", str(carol))
    assert {e["status"] for e in results.values()} == {"not_started"}


@pytest.mark.parametrize("sandboxed", ["on", "off"])
def test_a_hard_link_to_the_reference_in_a_target_folder_is_refused(setting, sandboxed):
    """A hard link (which no link check sees, and the sandbox binds with the folder) to solutions/."""
    kit, alice, _ = setting
    (alice / "01_alpha" / "alpha.py").unlink()
    os.link(kit / "solutions" / "01_alpha" / "alpha.py", alice / "01_alpha" / "alpha.py")
    out = kit.parent / "r.json"
    env = {**os.environ, "GRADER_KIT_ROOT": str(kit), "NO_COLOR": "1"}
    subprocess.run([sys.executable, "-m", "grader", "--all", "--device", "cpu", "--sandbox", sandboxed, "--target",
                    str(alice), "--json", str(out)], cwd=kit, env=env, capture_output=True, timeout=300)
    results = {e["name"]: e for e in load_valid(out)["exercises"]}
    assert results["01_alpha"]["status"] == "error" and "hard link" in results["01_alpha"]["message"]
