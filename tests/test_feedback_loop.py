"""The learner's loop: remembered results, warm test processes, streaming, on the stand-in kit."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap

import pytest
from fake_kit import MANIFEST, SOLUTIONS, handin, make_kit, run_grader
from results import load_valid

from grader.core import kit as real_kit
from grader.run import cache, zygote


@pytest.fixture
def kit(tmp_path):
    root = make_kit(tmp_path / "kit")
    (root / "exercises" / "kit.toml").write_text(MANIFEST + 'uses = ["01_alpha"]\n')
    return root


def cached(kit, *args: str) -> dict[str, bool]:
    out = kit / "r.json"
    proc = run_grader(kit, "--all", "--json", str(out), *args)
    assert proc.returncode in (0, 1), proc.stdout + proc.stderr
    return {e["name"]: e["cached"] for e in load_valid(out)["exercises"]}


def test_an_unchanged_exercise_is_not_graded_again(kit):
    assert cached(kit, "--solutions") == {"01_alpha": False, "02_beta": False}
    proc = run_grader(kit, "--all", "--solutions")
    assert proc.stdout.count("cached,") == 2 and proc.returncode == 0
    assert cached(kit, "--solutions", "--fresh") == {"01_alpha": False, "02_beta": False}
    assert cached(kit, "--solutions") == {"01_alpha": True, "02_beta": True}, "--fresh remembers what it graded"


@pytest.mark.parametrize("changed, regraded", [
    ("solutions/02_beta/beta.py", {"02_beta"}),                   # the graded module
    ("exercises/02_beta/test_beta.py", {"02_beta"}),              # the kit's tests
    ("solutions/01_alpha/alpha.py", {"01_alpha", "02_beta"}),     # a module 02 uses (kit.toml)
    ("exercises/kit.toml", {"01_alpha", "02_beta"}),              # the manifest
])
def test_any_changed_input_means_grading_again(kit, changed, regraded):
    cached(kit, "--solutions")
    path = kit / changed
    path.write_text(path.read_text() + "\n# changed\n")
    again = cached(kit, "--solutions")
    assert {name for name, hit in again.items() if not hit} == regraded


def test_the_key_covers_device_and_environment():
    name = "01_activations"
    cpu = cache.code_key(name, real_kit.SOLUTIONS_DIR, "device=cpu")
    assert cpu == cache.code_key(name, real_kit.SOLUTIONS_DIR, "device=cpu")
    assert cpu != cache.code_key(name, real_kit.SOLUTIONS_DIR, "device=cuda")
    assert cpu != cache.code_key(name, real_kit.EXERCISES_DIR, "device=cpu")


def test_hand_ins_are_never_cached_and_a_corrupt_or_forged_entry_is_ignored(kit, tmp_path):
    target = handin(tmp_path / "h")
    cached(kit, "--target", str(target), "--sandbox", "off")
    assert cached(kit, "--target", str(target), "--sandbox", "off") == {"01_alpha": False, "02_beta": False}
    proc = run_grader(kit, "--all", "--target", str(target), "--cache")
    assert proc.returncode == 2 and "unrecognized arguments: --cache" in proc.stderr
    cached(kit, "--solutions")
    entries = sorted((kit / ".grader" / "results").glob("*.json"))
    assert len(entries) == 2, "only solutions/ was remembered"
    entries[0].write_text("{not json")
    forged = json.loads(entries[1].read_text())
    forged["result"]["points"] += 1
    entries[1].write_text(json.dumps(forged))
    assert cached(kit, "--solutions") == {"01_alpha": False, "02_beta": False}


def test_warm_test_processes_do_not_share_state(kit, tmp_path):
    polluter = "import json\njson.polluted = True\n" + SOLUTIONS["01_alpha/alpha.py"]
    victim = "import json\ndef inc(x):\n    return x + 1 if not hasattr(json, 'polluted') else x\n"
    target = handin(tmp_path / "h", alpha=polluter, beta=victim)
    out = tmp_path / "r.json"
    proc = run_grader(kit, "--all", "--target", str(target), "--sandbox", "off", "--json", str(out))
    assert proc.returncode == 0, proc.stdout
    assert {e["status"] for e in load_valid(out)["exercises"]} == {"passed"}


def test_results_stream_while_the_exercise_runs(kit, tmp_path):
    slow = "import time\ndef double(x):\n    if x < 0:\n        time.sleep(3)\n    return 2 * x\n"
    target = handin(tmp_path / "h", alpha=slow)
    script = textwrap.dedent(f"""
        import json, time
        from grader.core.target import Target
        from grader.run.runner import run_exercise
        seen = []
        started = time.monotonic()
        result = run_exercise("01_alpha", Target.handin({str(target)!r}), device="cpu", warm=True,
                              on_test=lambda t: seen.append((t.id.split("::")[-1], t.kind, time.monotonic())))
        ended = time.monotonic()
        print(json.dumps({{"seen": [(n, k, ended - at) for n, k, at in seen], "status": result.status}}))
    """)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "GRADER_KIT_ROOT": str(kit)})
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    assert report["status"] == "passed"
    assert [(name, kind) for name, kind, _ in report["seen"]] == [("test_double", "passed"),
                                                                 ("test_double_negative", "passed")]
    assert report["seen"][0][2] > 2.0, "the first test's result arrived only at the end"


def test_a_test_process_that_first_runs_after_its_short_lived_parent_ended_is_adopted():
    """The zygote's middle process may exit before the test process is first scheduled: the test
    process must still notice its adoption at once (it once spun forever, until the time limit)."""
    script = textwrap.dedent("""
        import os, time
        from grader.run import zygote
        assert zygote.prctl(zygote.PR_SET_CHILD_SUBREAPER, 1)
        grader = os.getpid()
        middle = os.fork()
        if middle == 0:
            me = os.getpid()
            if os.fork() == 0:
                time.sleep(0.5)  # the middle process is long gone by now
                started = time.monotonic()
                adopted = zygote._wait_for_adoption(me, grader, timeout=20)
                os._exit(0 if adopted and time.monotonic() - started < 1 else 3)
            os._exit(0)
        os.waitpid(middle, 0)
        _, status = os.wait()
        print("exit", os.waitstatus_to_exitcode(status))
    """)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert proc.stdout.strip() == "exit 0", proc.stdout + proc.stderr


def test_a_zygote_that_does_not_answer_costs_one_start_not_the_run(monkeypatch):
    monkeypatch.setattr(zygote, "REPLY_TIMEOUT", 0.5)
    stuck = zygote.Zygote()
    stuck.proc.send_signal(signal.SIGSTOP)  # alive, but never answers
    r, w = os.pipe()
    try:
        with pytest.raises(OSError, match="did not answer"):
            stuck.spawn(["--version"], {}, real_kit.KIT_ROOT, (w, w, r), None, [])
        assert stuck.proc.poll() is not None, "a zygote that failed to answer is ended"
    finally:
        os.close(r)
        os.close(w)


SLOW_TEST = '''
import time

def test_slow(mod, progress):
    for step in range(1, 201):  # quick steps: only the first and the last are sent
        progress("warm-up", step, 200)
    for step in range(1, 5):
        time.sleep(0.3)
        progress("training", step, 4)
    assert mod.double(1) == 2
'''


def test_a_slow_test_reports_its_progress_sparingly_and_before_its_result(kit):
    (kit / "exercises" / "01_alpha" / "test_alpha.py").write_text(SLOW_TEST)
    script = textwrap.dedent("""
        import json
        from grader.core.target import Target
        from grader.run.runner import run_exercise
        seen = []
        result = run_exercise("01_alpha", Target(solutions=True), device="cpu", warm=True,
                              on_test=lambda t: seen.append(["result", t.id.split("::")[-1]]),
                              on_progress=lambda test, label, done, total: seen.append([label, done, total]))
        print(json.dumps({"seen": seen, "status": result.status}))
    """)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "GRADER_KIT_ROOT": str(kit)})
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    assert report["status"] == "passed"
    seen = report["seen"]
    assert seen[:2] == [["warm-up", 1, 200], ["warm-up", 200, 200]], seen
    training = [event for event in seen if event[0] == "training"]
    assert 3 <= len(training) <= 4 and training[-1] == ["training", 4, 4], seen
    assert seen[-1] == ["result", "test_slow"], "the result comes after the progress"


def test_the_scorecard_shows_a_live_bar_for_a_slow_test(kit):
    (kit / "exercises" / "01_alpha" / "test_alpha.py").write_text(SLOW_TEST)
    proc = run_grader(kit, "01", "--solutions", "-v")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    shown = proc.stderr.replace("\r", "\n")
    assert "[01_alpha] test_slow (training)" in shown and "/4 [" in shown, shown
    assert shown.rindex("test_slow (training)") < shown.index("passed test_slow"), "the bar closes before the result"
