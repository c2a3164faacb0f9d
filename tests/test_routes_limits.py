"""Limits on every route: a hand-in that allocates far more than --memory fails its exercise
whether it is graded sandboxed or not, locally, in a batch or on the cluster."""
from __future__ import annotations

import csv

import pytest
from fake_kit import SOLUTIONS, handin, make_kit, run_grader
from results import load_valid

HOG = "_hog = bytearray(3 << 30)  # 3 GiB, touched\n_hog[::4096] = b'x' * len(_hog[::4096])\n" + SOLUTIONS["01_alpha/alpha.py"]
ROUTES = {
    "--target, --sandbox off": ["--all", "--target", "{handin}", "--sandbox", "off", "--json", "{out}/r.json"],
    "--target, sandboxed": ["--all", "--target", "{handin}", "--sandbox", "auto", "--json", "{out}/r.json"],
    "batch, --sandbox off": ["batch", "{handins}", "--csv", "{out}/g.csv", "--sandbox", "off"],
    "batch on the cluster, --sandbox off": ["batch", "{handins}", "--csv", "{out}/g.csv", "--sandbox", "off",
                                            "--cluster", "local:1"],
}


@pytest.mark.parametrize("route", list(ROUTES))
def test_the_memory_limit_holds_on_every_route(tmp_path, route):
    if "cluster" in route:
        pytest.importorskip("distributed")
    kit = make_kit(tmp_path / "kit")
    alice = handin(tmp_path / "handins" / "alice", alpha=HOG)
    words = [w.format(handin=alice, handins=tmp_path / "handins", out=tmp_path) for w in ROUTES[route]]
    proc = run_grader(kit, *words, "--memory", "512M", "--device", "cpu", timeout=600)
    assert proc.returncode in (0, 1), proc.stdout + proc.stderr
    if words[0] == "batch":
        (row,) = csv.DictReader((tmp_path / "g.csv").open())
        statuses = {"01_alpha": row["01_alpha_status"], "02_beta": row["02_beta_status"]}
    else:
        statuses = {e["name"]: e["status"] for e in load_valid(tmp_path / "r.json")["exercises"]}
    assert statuses["01_alpha"] != "passed", f"{route}: a 3 GiB hand-in passed under --memory 512M"
    assert statuses["02_beta"] == "passed"
