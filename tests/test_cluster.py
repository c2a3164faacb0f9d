"""`grader batch --cluster` on the stand-in kit: a Dask LocalCluster must give the CSV and JSON of a
local batch, a worker that dies must cost only its hand-in's row, and bad options stop before grading."""
from __future__ import annotations

import csv
import json
import os
import sys
import time
from pathlib import Path

import pytest
from fake_kit import SOLUTIONS, STUBS, handin, make_kit, run_grader
from test_routes_batch import deep_tree, remove_deep

from grader.cli.cluster import problem_with
from grader.core.handins import Refused, pack, unpack
from grader.run import sandbox

pytest.importorskip("distributed")

MEASURED = {"seconds", "peak_memory_mb", "environment"}  # measurements of the run, not grades
HANDINS = {  # name -> (alpha, beta); None leaves the module out
    "alice": (SOLUTIONS["01_alpha/alpha.py"], SOLUTIONS["02_beta/beta.py"]),
    "bob": ("def double(x):\n    return x + x if x > 0 else 0\n", STUBS["02_beta/beta.py"]),
    "dave": ("def double(x)\n    return 2 * x\n", "while True:\n    pass\n"),  # broken, hanging
    "mallory": ("import os\nos._exit(0)\n", "print('x' * 5_000_000)\ninc = lambda x: x + 1\n"),  # hostile
}


@pytest.fixture
def kit(tmp_path):
    return make_kit(tmp_path / "kit")


def handins(folder: Path) -> Path:
    for name, (alpha, beta) in HANDINS.items():
        handin(folder / name, alpha=alpha, beta=beta)
    handin(folder / "carol" / "kit-main" / "exercises")  # zipped with its top folders
    (folder / "erin").mkdir()  # empty
    # hostile ones (tests/test_routes_batch.py has more): each costs its own row, alike on both routes
    (folder / "frank").symlink_to(folder / "alice")
    (folder / "grace").mkdir()
    (folder / "grace" / "exercises").symlink_to("../alice")
    with open(handin(folder / "heidi") / "huge.bin", "wb") as f:
        f.truncate(200 << 30)
    deep_tree(handin(folder / "ivan"))
    os.mkfifo(handin(folder / "judy") / "01_alpha" / "fifo")
    handin(Path(os.fsdecode(os.fsencode(str(folder)) + b"/k\xff")))
    (folder / "=1+2").mkdir()
    (folder / "mallet.zip").write_bytes(b"PK")
    return folder


def without(data, keys: set[str]):
    """JSON data without the measured fields (timings, memory, the grading machine)."""
    if isinstance(data, dict):
        return {k: without(v, keys) for k, v in data.items() if k not in keys}
    if isinstance(data, list):
        return [without(v, keys) for v in data]
    return data


def batch(kit: Path, folder: Path, out: Path, *options: str) -> tuple[float, str, dict[str, dict]]:
    """(seconds, CSV text, hand-in -> JSON) of one `grader batch` run."""
    started = time.perf_counter()
    proc = run_grader(kit, "batch", str(folder), "--csv", str(out / "grades.csv"), "--json-dir", str(out / "json"),
                      "--timeout", "30", "--device", "cpu", *options, timeout=900)
    seconds = time.perf_counter() - started
    assert proc.returncode == 0, proc.stdout + proc.stderr
    reports = {p.name[:-5]: json.loads(p.read_text()) for p in (out / "json").iterdir()}
    return seconds, (out / "grades.csv").read_text(), reports


def test_cluster_batch_gives_the_rows_and_json_of_a_local_batch(kit, tmp_path):
    folder = handins(tmp_path / "handins")
    try:
        local_s, local_csv, local_json = batch(kit, folder, tmp_path / "local", "--jobs", "2")
        cluster_s, cluster_csv, cluster_json = batch(kit, folder, tmp_path / "cluster", "--cluster", "local:2")
    finally:
        remove_deep(folder / "ivan")
    print(f"\n14 hand-ins x 2 exercises: batch --jobs 2 {local_s:.1f} s, --cluster local:2 {cluster_s:.1f} s",
          file=sys.stderr)
    assert cluster_csv == local_csv
    rows = {r["handin"]: (r["total"], r["01_alpha_status"], r["02_beta_status"]) for r in csv.DictReader(local_csv.splitlines())}
    refused = ("0", "error", "error")
    assert rows == {"alice": ("6", "passed", "passed"), "bob": ("2", "failed", "not_started"),
                    "carol": ("6", "passed", "passed"), "dave": ("0", "error", "timeout"),
                    "erin": ("0", "error", "error"), "mallory": ("3", "error", "passed"),
                    "frank": refused, "grace": refused, "heidi": refused, "ivan": refused, "judy": refused,
                    "k\ufffd": ("6", "passed", "passed"), "'=1+2": refused, "mallet.zip": refused}
    sandboxed = "yes" if sandbox.unavailable_reason() is None else "no"
    assert {r["sandboxed"] for r in csv.DictReader(local_csv.splitlines())} == {sandboxed}
    assert without(cluster_json, MEASURED) == without(local_json, MEASURED)
    assert cluster_json["carol"]["target"] == str((folder / "carol" / "kit-main" / "exercises").resolve())
    assert str(folder.resolve()) in cluster_json["erin"]["exercises"][0]["message"], "messages name this machine's paths"


def test_a_worker_that_dies_costs_only_its_row(kit, tmp_path):
    folder = tmp_path / "handins"
    handin(folder / "alice")
    handin(folder / "killer", alpha="import os, signal\nos.kill(os.getppid(), signal.SIGKILL)\n")  # kills the worker
    proc = run_grader(kit, "batch", str(folder), "--csv", str(tmp_path / "grades.csv"), "--cluster", "local:2",
                      "--sandbox", "off", "--timeout", "60", "--device", "cpu", timeout=900)
    rows = {r["handin"]: r for r in csv.DictReader((tmp_path / "grades.csv").open())}
    assert (rows["alice"]["total"], rows["alice"]["01_alpha_status"]) == ("6", "passed")
    if os.geteuid() == 0:  # the test process runs as an unprivileged uid: the worker (root's) cannot be killed
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert (rows["killer"]["01_alpha_status"], rows["killer"]["02_beta_status"]) == ("error", "passed")
        return
    assert proc.returncode == 1, "the grader failed on a hand-in: exit 1, with the reason in its row"
    assert (rows["killer"]["01_alpha_status"], rows["killer"]["02_beta_status"]) == ("error", "error")
    assert "killer: 0/0 points" in proc.stdout and "the worker grading it died, twice" in proc.stdout


def test_cluster_usage_errors_stop_before_grading(kit, tmp_path, monkeypatch):
    handin(tmp_path / "h" / "alice")
    for bad in ("local:0", "local:x", "local", "tcp://host:8786 extra"):
        proc = run_grader(kit, "batch", str(tmp_path / "h"), "--csv", str(tmp_path / "x.csv"), "--cluster", bad)
        assert proc.returncode == 2 and "--cluster" in proc.stderr and not (tmp_path / "x.csv").exists(), bad
    proc = run_grader(kit, "batch", str(tmp_path / "h"), "--csv", str(tmp_path / "x.csv"), "--device", "cpu",
                      "--cluster", "tcp://127.0.0.1:9", timeout=120)
    assert proc.returncode == 2 and "cannot reach the Dask scheduler at tcp://127.0.0.1:9" in proc.stderr
    assert "Traceback" not in proc.stderr
    monkeypatch.setitem(sys.modules, "distributed", None)
    assert "pip install -e \".[cluster]\"" in problem_with("local:2")


def test_pack_ships_files_folders_and_links_without_following_them(tmp_path):
    root = tmp_path / "handin"
    handin(root, beta=None)
    (root / "lib").mkdir()
    (root / "lib" / "beta.py").write_text(SOLUTIONS["02_beta/beta.py"])
    (root / "02_beta" / "beta.py").symlink_to("../lib/beta.py")
    (root / "02_beta" / "notes.txt").symlink_to(tmp_path / "elsewhere.py")
    (tmp_path / "elsewhere.py").write_text("SECRET = 1\n")
    entries = pack(root)
    assert ("link", "02_beta/beta.py", b"../lib/beta.py") in entries
    assert ("link", "02_beta/notes.txt", str(tmp_path / "elsewhere.py").encode()) in entries
    assert not any(b"SECRET" in data for _, _, data in entries)
    inside = [e for e in entries if e[1] != "02_beta/notes.txt"]
    unpack(inside, tmp_path / "copy")
    assert (tmp_path / "copy" / "01_alpha" / "alpha.py").read_text() == SOLUTIONS["01_alpha/alpha.py"]
    assert (tmp_path / "copy" / "02_beta" / "beta.py").is_symlink()
    assert (tmp_path / "copy" / "02_beta" / "beta.py").read_text() == SOLUTIONS["02_beta/beta.py"]
    with pytest.raises(Refused, match="symbolic link to .*elsewhere.py, outside the hand-in"):
        unpack(entries, tmp_path / "copy1")
    with pytest.raises(Refused, match="more than"):
        pack(root, limit=10)
    with pytest.raises(ValueError, match="outside the hand-in"):
        unpack([("file", "../escape.py", b"x")], tmp_path / "copy2")
