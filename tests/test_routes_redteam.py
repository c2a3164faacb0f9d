"""A red-team round on the routes around the test process: each test here is an attack that
worked when it was written, and each docstring says what the fix had to be."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest
from fake_kit import SOLUTIONS, STUBS, handin, make_kit, run_grader
from results import load_valid

from grader.run import sandbox

# 01's module rewrites, in place (same inode) and with its modification time restored, the entry
# the grader itself stored for 02 in an earlier run, so that it now says "passed"
IN_PLACE_FORGER = SOLUTIONS["01_alpha/alpha.py"] + '''
import os as _os
from pathlib import Path as _Path
from grader.core.results import ExerciseResult, TestResult
from grader.run import cache as _cache
_target = _Path(__file__).resolve().parents[1]
_key = _cache.key(_cache.code_key("02_beta", _target, "device=cpu sandbox=False limits=None"), "02_beta")
_path = _cache.FOLDER / f"{_key}.json"
_before = _path.stat()
_tests = [TestResult("exercises/02_beta/test_beta.py::test_inc", "passed", "passed", 1, 1),
          TestResult("exercises/02_beta/test_beta.py::test_threshold", "passed", "passed", 2, 2)]


def _in_place(path, text):
    with open(path, "r+") as f:
        f.write(text)
        f.truncate()


_real, _cache.atomic_write_text = _cache.atomic_write_text, _in_place
_cache.store(_key, ExerciseResult("02_beta", "passed", 3, 3, 0.1, tests=_tests))
_cache.atomic_write_text = _real
_os.utime(_path, ns=(_before.st_atime_ns, _before.st_mtime_ns))
'''


def test_an_entry_rewritten_in_place_with_its_time_restored_is_discarded(tmp_path):
    """cache.entries() compares (inode, mtime): both survive an in-place write followed by
    os.utime. Fix: compare st_ctime_ns (which no process can set) instead of st_mtime_ns, in
    entries() and in _WRITTEN (record (inode, ctime) and compare the pair)."""
    kit = make_kit(tmp_path / "kit")
    env = {"XDG_CACHE_HOME": str(tmp_path / "user-cache")}
    out = tmp_path / "r.json"

    def grade() -> dict[str, dict]:
        proc = run_grader(kit, "--all", "--device", "cpu", "--json", str(out), env=env)
        assert proc.returncode in (0, 1), proc.stdout + proc.stderr
        return {e["name"]: e for e in load_valid(out)["exercises"]}

    assert grade()["02_beta"]["status"] == "not_started"  # the stub's result is remembered
    (kit / "exercises" / "01_alpha" / "alpha.py").write_text(IN_PLACE_FORGER)
    results = grade()
    assert results["02_beta"]["status"] == "not_started", "a stub passed through a rewritten cache entry"
    assert grade()["02_beta"]["status"] == "not_started", "the rewritten entry survived into the next run"


# alice hands in a repository (alice/exercises/...) holding nothing but exercises/; her 01 runs
# any classmate's 01_alpha/alpha.py it can reach from the folders above her own
ANCESTOR_BORROWER = '''
from pathlib import Path
_here = Path(__file__).resolve()
_found = None
for _up in _here.parents:
    for _candidate in _up.glob("*/01_alpha/alpha.py"):
        if _candidate.resolve() != _here:
            try:
                _found = _candidate.read_text()
                break
            except OSError:
                pass
    if _found:
        break
if _found:
    exec(_found)
else:
    def double(x):
        raise NotImplementedError("01_alpha.double: nothing to borrow")
'''


@pytest.mark.skipif(sandbox.unavailable_reason() is not None, reason="bubblewrap unavailable")
@pytest.mark.parametrize("how", ["working directory", "PYTHONPATH"])
def test_a_folder_above_the_hand_in_s_parent_is_not_bound(tmp_path, how):
    """hidden() hides the folders beside the graded folder only; with --target alice/exercises,
    the working directory (sys.path[0]) or a PYTHONPATH entry that holds alice/ (and so bob/) is
    bound by python_dirs(). Fix: python_dirs() leaves out (and command() refuses as a dataset
    folder) any folder that holds a hand-in's graded folder, or hidden() adds the siblings of
    every ancestor of the graded folder."""
    kit = make_kit(tmp_path / "kit")
    handins = tmp_path / "handins"
    alice = handin(handins / "alice" / "exercises", alpha=ANCESTOR_BORROWER, beta=STUBS["02_beta/beta.py"])
    handin(handins / "bob")  # a classmate with right answers
    out = tmp_path / "r.json"
    env = {**os.environ, "GRADER_KIT_ROOT": str(kit), "NO_COLOR": "1", "GRADER_LANG": "en"}
    if how == "PYTHONPATH":
        env["PYTHONPATH"] = os.pathsep.join(p for p in (env.get("PYTHONPATH"), str(handins)) if p)
    proc = subprocess.run([sys.executable, "-m", "grader", "--all", "--device", "cpu", "--sandbox", "on",
                           "--target", str(alice), "--json", str(out)],
                          cwd=handins if how == "working directory" else tmp_path, env=env, capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode in (0, 1), proc.stdout + proc.stderr
    results = {e["name"]: e for e in load_valid(out)["exercises"]}
    assert results["01_alpha"]["status"] != "passed", "alice's 01 ran bob's code"


# alice's 01 looks, in the folder that holds her own fresh copy, for a classmate's copy
# being graded at the same time, and runs its 01
COPY_READER = '''
import os, time
from pathlib import Path
_above = Path(__file__).resolve().parents[3]  # TMP / grader-handin-XXXX / handin / 01_alpha / alpha.py
_found = None
_until = time.monotonic() + 60
while _found is None and time.monotonic() < _until:
    try:
        _names = os.listdir(_above)
    except OSError:
        break
    for _name in _names:
        try:
            _text = (_above / _name / "handin" / "01_alpha" / "alpha.py").read_text()
        except OSError:
            continue
        if "bob" + "'s own" in _text:
            _found = _text
            break
    time.sleep(0.05)
if _found:
    exec(_found)
else:
    def double(x):
        raise NotImplementedError("01_alpha.double: nothing to borrow")
'''


@pytest.mark.skipif(os.geteuid() != 0, reason="the unprivileged-uid route is taken by root only")
def test_concurrent_hand_ins_cannot_read_each_other_s_copy_as_root_without_bubblewrap(tmp_path):
    """grade_copy() makes each copy in a folder of the system's temporary folder, mode 0711, "it
    knows the path, nothing more": but /tmp is listable, so another hand-in graded at the same time
    (--jobs 2, as another uid) finds the name and reads the copy (0755 folders, 0644 files). Fix:
    make the copies inside a root-owned folder of mode 0711 that is not /tmp (so that no one can
    list it), or chown each copy to the uid leased for it and make it 0700. The private HOME of
    the unprivileged route (mkdir'd 0755 in a grader-run-XXXX of /tmp) has the same problem: make
    it 0700."""
    kit = make_kit(tmp_path / "kit")
    shutil.rmtree(kit / "solutions")  # a student copy of the kit, as on Gradescope
    handins = tmp_path / "handins"
    handin(handins / "alice", alpha=COPY_READER, beta=STUBS["02_beta/beta.py"])
    handin(handins / "bob", alpha=SOLUTIONS["01_alpha/alpha.py"] + "# bob's own\n")
    handins.chmod(0o700)  # the originals: for root only
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    out = tmp_path / "json"
    proc = run_grader(kit, "batch", str(handins), "--csv", str(tmp_path / "g.csv"), "--json-dir", str(out),
                      "--jobs", "2", "--device", "cpu", env={"PATH": str(bin_dir)}, timeout=300)  # no bwrap
    assert proc.returncode == 0, proc.stdout + proc.stderr
    alice = {e["name"]: e for e in json.loads((out / "alice.json").read_text())["exercises"]}
    assert alice["01_alpha"]["status"] != "passed", "alice's 01 ran bob's copy"


# 01's module stores a signed "passed" entry for 02, then makes the cache's folder one that its
# owner may enter and write but not list: discard_foreign() sees no entry at all
UNLISTABLE_FORGER = SOLUTIONS["01_alpha/alpha.py"] + '''
import os as _os
from pathlib import Path as _Path
from grader.core.results import ExerciseResult, TestResult
from grader.run import cache as _cache
_target = _Path(__file__).resolve().parents[1]
_key = _cache.key(_cache.code_key("02_beta", _target, "device=cpu sandbox=False limits=None"), "02_beta")
_tests = [TestResult("exercises/02_beta/test_beta.py::test_inc", "passed", "passed", 1, 1),
          TestResult("exercises/02_beta/test_beta.py::test_threshold", "passed", "passed", 2, 2)]
_cache.store(_key, ExerciseResult("02_beta", "passed", 3, 3, 0.1, tests=_tests))
_os.chmod(_cache.FOLDER, 0o300)
'''


@pytest.mark.skipif(os.geteuid() == 0 and shutil.which("setpriv") is None, reason="needs setpriv to run as a user")
def test_a_cache_folder_made_unlistable_does_not_keep_a_forged_entry(tmp_path):
    """cache.entries() returns {} when the folder cannot be listed, so discard_foreign() deletes
    nothing, and load() reads an entry by its name, which needs only search permission. (Root
    lists any folder; an ordinary user, the learner's usual case, does not.) Fix: entries()
    reports the failure and discard_foreign() then restores the folder's mode and deletes every
    entry (or the folder), or load() reads nothing from a folder it cannot list."""
    base = tmp_path / "learner"
    kit = make_kit(base / "kit")
    (kit / "exercises" / "01_alpha" / "alpha.py").write_text(UNLISTABLE_FORGER)
    (base / "home").mkdir()
    prefix: list[str] = []
    if os.geteuid() == 0:  # grade as an ordinary user, who owns the kit and the cache
        subprocess.run(["chown", "-R", "65534:65534", str(base)], check=True)
        prefix = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
    env = {**os.environ, "HOME": str(base / "home"), "XDG_CACHE_HOME": str(base / "home" / ".cache"),
           "GRADER_KIT_ROOT": str(kit), "NO_COLOR": "1", "GRADER_LANG": "en"}
    out = base / "r.json"
    for _ in range(2):
        proc = subprocess.run([*prefix, sys.executable, "-m", "grader", "--all", "--device", "cpu", "--json", str(out)],
                              cwd=kit, env=env, capture_output=True, text=True, timeout=300)
        assert proc.returncode in (0, 1), proc.stdout + proc.stderr
        results = {e["name"]: e for e in load_valid(out)["exercises"]}
        assert results["02_beta"]["status"] == "not_started", "a stub passed through a forged cache entry"


def test_regrade_compares_whatever_test_ids_the_record_holds(tmp_path):
    """differences() builds {t.get("id"): t}: an id that is a JSON array or object is unhashable,
    and regrade dies with a traceback after grading (exit 1, the status of "results changed"),
    without the comparison. Fix: keep only string ids (isinstance(t.get("id"), str)) there."""
    kit = make_kit(tmp_path / "kit")
    target = handin(tmp_path / "h" / "alice")
    record = {"exercises": [{"name": "01_alpha", "status": "passed", "points": 3, "max_points": 3,
                             "tests": [{"id": ["a list"], "outcome": "passed"}, {"id": {"an": "object"}}]}],
              "environment": {"device": "cpu", "threads": None, "timeout": None}}
    (tmp_path / "old.json").write_text(json.dumps(record))
    proc = run_grader(kit, "regrade", str(tmp_path / "old.json"), "--target", str(target), "--sandbox", "off")
    assert "Traceback" not in proc.stderr, proc.stderr[-600:]
    assert "Environment then and now" in proc.stdout
