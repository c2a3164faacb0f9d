"""Red team of the batch routes: hostile hand-in folders graded by a local `grader batch` and by
`grader batch --cluster local:2` must get the same refusals and the same CSV, one bad hand-in must
cost its own row only, and no cell of the CSV may become a live spreadsheet formula."""
from __future__ import annotations

import csv
import io
import json
import os
import shutil
import socket
import sys
from pathlib import Path

import jsonschema
import pytest
from fake_kit import MANIFEST, SOLUTIONS, STUBS, handin, make_kit, run_grader, use_kit
from results import SCHEMA

from grader.cli.batch import csv_text
from grader.cli.grading import grade_handin, results_of
from grader.cli.kit_files import PACKAGE, kit_files, kit_files_changed
from grader.cli.settings import Settings
from grader.core import handins
from grader.core.results import ExerciseResult
from grader.report.csv_cells import cell

FORMULAS = ["=1+2", '=HYPERLINK("http:x","y")', "+cmd", "-2+3", "@SUM(A1)", "\tTAB", "\rCR", " =1+2", "\"=1+2"]
DEEP = 1500


def deep_tree(top: Path, depth: int = DEEP) -> None:
    """``depth`` nested folders under ``top``, made one by one (os.makedirs recurses)."""
    path = top
    for _ in range(depth):
        path = path / "d"
        path.mkdir()


def remove_deep(top: Path) -> None:
    """Delete a tree too deep for shutil.rmtree's recursion, from the bottom up."""
    chain = [top]
    while (chain[-1] / "d").is_dir() and not (chain[-1] / "d").is_symlink():
        chain.append(chain[-1] / "d")
    for folder in reversed(chain[1:]):
        folder.rmdir()
    shutil.rmtree(top)


def hostile(folder: Path, kit: Path) -> Path:
    """One class of hand-ins: two honest ones, the others each attacking the batch another way."""
    handin(folder / "alice")
    handin(folder / "bob", alpha=SOLUTIONS["01_alpha/alpha.py"], beta=STUBS["02_beta/beta.py"])
    (folder / "zz_twin").symlink_to(folder / "alice")  # a hand-in that is a link to another one
    (folder / "zz_reference").symlink_to(kit / "solutions")  # a hand-in that is the reference
    (folder / "zz_loop").symlink_to("zz_loop")  # a link to itself: pathlib's resolve() raises on it
    (folder / "mallory").mkdir()
    (folder / "mallory" / "exercises").symlink_to("../alice")  # its graded folder is someone else's
    (folder / "nina").mkdir()
    (folder / "nina" / "kit-main").symlink_to("../alice")  # the same, one level down
    victor = handin(folder / "victor" / "exercises")  # a link beside its graded folder is not graded: fine
    (victor.parent / "python").symlink_to(sys.executable)
    oscar = handin(folder / "oscar", alpha=None, beta=None)  # links inside it to the reference
    (oscar / "01_alpha" / "alpha.py").symlink_to(kit / "solutions" / "01_alpha" / "alpha.py")
    (oscar / "02_beta" / "beta.py").symlink_to("../../../" + kit.name + "/solutions/02_beta/beta.py")
    walter = handin(folder / "walter", alpha=None)  # the reference under another name: a hard link
    os.link(kit / "solutions" / "01_alpha" / "alpha.py", walter / "01_alpha" / "alpha.py")
    peggy = handin(folder / "peggy", alpha=None)  # a relative link into another hand-in
    (peggy / "01_alpha" / "alpha.py").symlink_to("../../alice/01_alpha/alpha.py")
    trent = handin(folder / "trent", alpha=None)  # a link that stays inside its own hand-in: fine
    (trent / "loop").symlink_to("loop")  # and one to itself, inside, harms nobody
    (trent / "lib").mkdir()
    (trent / "lib" / "alpha.py").write_text(SOLUTIONS["01_alpha/alpha.py"])
    (trent / "01_alpha" / "alpha.py").symlink_to("../lib/alpha.py")
    sparse = handin(folder / "sparse")
    with open(sparse / "01_alpha" / "weights.bin", "wb") as f:
        f.truncate(200 << 30)  # 200 GB, instantly, on disk as nothing
    deep_tree(handin(folder / "deep"))
    os.mkfifo(handin(folder / "fifo") / "01_alpha" / "pipe")
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(handin(folder / "sock") / "02_beta" / "s"))
    server.close()
    odd = handin(Path(os.fsdecode(os.fsencode(str(folder)) + b"/b\xffad")))  # a name that is not UTF-8
    Path(os.fsdecode(os.fsencode(str(odd)) + b"/01_alpha/\xfe.txt")).write_text("nor is this one")
    (folder / "carol.zip").write_bytes(b"PK\x03\x04 not unpacked")  # a hand-in that is a file
    for name in FORMULAS:
        (folder / name).mkdir()
    return folder


def batch(kit: Path, folder: Path, out: Path, *options: str):
    """(process, CSV text or None, hand-in -> JSON) of one `grader batch` run."""
    proc = run_grader(kit, "batch", str(folder), "--csv", str(out / "grades.csv"), "--json-dir", str(out / "json"),
                      "--timeout", "30", "--device", "cpu", "--sandbox", "off", *options, timeout=900)
    csv_file = out / "grades.csv"
    reports = {os.fsdecode(p.name)[:-5]: json.loads(p.read_text()) for p in (out / "json").glob("*.json")} \
        if (out / "json").is_dir() else {}
    return proc, csv_file.read_text() if csv_file.exists() else None, reports


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """The hostile class graded locally (--jobs 2) and on a Dask LocalCluster, without the sandbox
    (links to the reference work only where nothing else stops them)."""
    pytest.importorskip("distributed")
    tmp = tmp_path_factory.mktemp("routes")
    kit = make_kit(tmp / "kit")
    folder = hostile(tmp / "handins", kit)
    local = batch(kit, folder, tmp / "local", "--jobs", "2")
    cluster = batch(kit, folder, tmp / "cluster", "--cluster", "local:2")
    yield local, cluster
    remove_deep(folder / "deep")


def rows(text: str | None) -> dict[str, dict[str, str]]:
    assert text is not None, "no CSV was written"
    return {r["handin"]: r for r in csv.DictReader(io.StringIO(text))}


@pytest.mark.parametrize("route", ["local", "cluster"])
def test_one_bad_handin_costs_its_own_row_only(graded, route):
    proc, text, _ = graded[0 if route == "local" else 1]
    table = rows(text)
    assert "Traceback" not in proc.stderr, proc.stderr[-3000:]
    assert (table["alice"]["total"], table["bob"]["total"]) == ("6", "3"), "honest hand-ins are graded normally"
    for name in ("sparse", "deep", "fifo", "sock"):
        assert (table[name]["01_alpha_status"], table[name]["total"]) == ("error", "0"), name
    assert table["b\ufffdad"]["total"] == "6", "a name that is not UTF-8 is graded, and shown with U+FFFD"
    assert table["carol.zip"]["01_alpha_status"] == "error", "a hand-in that is a file gets a row saying so"
    assert table["zz_loop"]["01_alpha_status"] == "error", "a link to itself gets a row saying so"
    assert "carol.zip: 0/0 points (01 error, 02 error) [not sandboxed]\n  refused: the hand-in is a file" in proc.stdout
    assert {r["sandboxed"] for r in table.values()} == {"no"}, "graded with --sandbox off"


@pytest.mark.parametrize("route", ["local", "cluster"])
def test_links_to_other_handins_or_the_reference_are_refused(graded, route):
    proc, text, reports = graded[0 if route == "local" else 1]
    table = rows(text)
    for name in ("zz_twin", "zz_reference", "mallory", "nina", "oscar", "peggy"):
        assert (table[name]["total"], table[name]["01_alpha_status"]) == ("0", "error"), f"{name}: {table[name]}"
        assert "symbolic link" in reports[name]["exercises"][0]["message"], reports[name]["exercises"][0]["message"]
    assert (table["walter"]["total"], table["walter"]["01_alpha_status"]) == ("0", "error")
    assert "solutions/01_alpha/alpha.py under another name (a hard link)" in reports["walter"]["exercises"][0]["message"]
    assert table["trent"]["total"] == "6", "a link that stays inside its own hand-in is graded as the file it names"
    assert table["victor"]["total"] == "6", "a link outside the graded folder is neither shipped nor refused"


def test_reasons_are_one_line_and_name_the_cause(graded):
    _, _, reports = graded[0]
    reasons = {name: reports[name]["exercises"][0]["message"] for name in ("sparse", "deep", "fifo", "sock", "carol.zip")}
    assert "more than 64 MiB" in reasons["sparse"] and "01_alpha/weights.bin" in reasons["sparse"]
    assert "folders deep" in reasons["deep"]
    assert "FIFO" in reasons["fifo"] and "socket" in reasons["sock"]
    assert "a file, not a folder" in reasons["carol.zip"]
    assert all("\n" not in r for r in reasons.values()), reasons
    for report in reports.values():
        jsonschema.validate(report, SCHEMA)


def test_the_cluster_gives_the_csv_of_a_local_batch_for_hostile_handins(graded):
    (local_proc, local_csv, _), (cluster_proc, cluster_csv, _) = graded
    assert local_csv is not None and cluster_csv == local_csv, cluster_proc.stderr[-3000:]
    assert local_proc.returncode == cluster_proc.returncode == 0, "refusals are not failures of the grader"


def test_no_cell_of_the_batch_csv_is_a_formula(graded):
    _, text, _ = graded[0]
    assert text is not None
    names = [r[0] for r in list(csv.reader(io.StringIO(text)))[1:]]
    for name in FORMULAS:
        shown = name.replace("\r", "\\r")  # a carriage return in a name is shown escaped: inert already
        assert (shown if shown.startswith("\\") else "'" + shown) in names, f"{name!r} is not neutralised: {names}"
    for row in csv.reader(io.StringIO(text)):
        for value in row:
            assert value[:1] not in ("=", "+", "-", "@", "\t", "\r"), row
            assert value.lstrip(" \"'")[:1] not in ("=", "+", "-", "@") or value.startswith("'"), row


def test_a_handin_inside_the_reference_is_refused_on_both_routes(tmp_path):
    pytest.importorskip("distributed")
    kit = make_kit(tmp_path / "kit")
    folder = tmp_path / "kit" / "solutions" / "class"
    shutil.copytree(kit / "solutions", folder / "zed")
    for route in ((), ("--cluster", "local:1")):
        out = tmp_path / ("cluster" if route else "local")
        proc, text, reports = batch(kit, folder, out, *route)
        assert rows(text)["zed"]["total"] == "0", f"{route}: the reference graded as a hand-in"
        assert "solutions/" in reports["zed"]["exercises"][0]["message"]


def test_a_link_on_a_worker_resolves_inside_the_copy_only(tmp_path):
    """Packing keeps links as links; unpacked on a worker, a link may name only its own hand-in's files."""
    root = tmp_path / "handin"
    (root / "01_alpha").mkdir(parents=True)
    (root / "01_alpha" / "alpha.py").symlink_to("../../../elsewhere/alpha.py")
    entries = handins.pack(root)
    assert ("link", "01_alpha/alpha.py", b"../../../elsewhere/alpha.py") in entries
    with pytest.raises(handins.Refused, match="symbolic link"):
        handins.unpack(entries, tmp_path / "copy" / "handin")
    with pytest.raises(handins.Refused, match="symbolic link"):
        handins.unpack([("link", "a", b"/etc")], tmp_path / "copy2" / "handin")
    with pytest.raises(ValueError, match="outside the hand-in"):  # a file written through a shipped link
        handins.unpack([("dir", "x", b""), ("link", "x/l", b"."), ("file", "x/l/f", b"")], tmp_path / "copy3" / "h")


def test_sizes_are_checked_before_anything_is_read(tmp_path, monkeypatch):
    root = handin(tmp_path / "handin")
    (root / "big.bin").write_bytes(b"")
    os.truncate(root / "big.bin", 1 << 30)
    opened: list[str] = []
    real_open = os.open
    monkeypatch.setattr(handins.os, "open", lambda path, *a, **k: opened.append(str(path)) or real_open(path, *a, **k))
    with pytest.raises(handins.Refused, match="more than 64 MiB"):
        handins.pack(root)
    assert opened == [], f"files were read before the sizes were checked: {opened}"
    (root / "big.bin").unlink()
    for junk in (".git", "__MACOSX", "01_alpha/__pycache__"):
        (root / junk).mkdir()
        with open(root / junk / "pack", "wb") as f:
            f.truncate(1 << 30)
    monkeypatch.undo()
    shipped = {rel for _, rel, _ in handins.pack(root)}
    assert shipped == {"01_alpha", "01_alpha/alpha.py", "02_beta", "02_beta/beta.py"}, "history and caches stay home"


def test_an_unreadable_file_or_folder_costs_its_row(tmp_path, monkeypatch):
    root = handin(tmp_path / "alice")
    (root / "01_alpha" / "notes.txt").write_text("x")
    (root / "01_alpha" / "notes.txt").chmod(0)
    real_open = os.open

    def refuse(path, *args, **kwargs):
        if str(path).endswith("notes.txt"):  # root reads anything: refuse as the kernel would for others
            raise PermissionError(13, "Permission denied", str(path))
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(handins.os, "open", refuse)
    graded = grade_handin(root, ["01_alpha", "02_beta"], Settings(timeout=30.0))
    assert [r.status for r in results_of(graded.report)] == ["error", "error"]
    assert "notes.txt" in graded.report["exercises"][0]["message"]
    assert "Permission denied" in graded.report["exercises"][0]["message"]
    real_scandir = os.scandir

    def unreadable(path):
        if str(path).endswith("02_beta"):
            raise PermissionError(13, "Permission denied", str(path))
        return real_scandir(path)

    monkeypatch.setattr(handins.os, "scandir", unreadable)
    graded = grade_handin(root, ["01_alpha", "02_beta"], Settings(timeout=30.0))
    assert not graded.crashed and "02_beta cannot be read (Permission denied)" in graded.report["exercises"][1]["message"]


def test_csv_cells_are_neutralised_and_numbers_stay_numbers():
    for text in FORMULAS + ["\n=1", "\x00x", "＝1+2"]:
        assert cell(text).startswith("'"), repr(text)
    for text in ("alice", "b\ufffdad", "O'Brien", "2026-12-02", "passed"):
        assert cell(text) == text
    assert cell(6) == 6 and cell(2.5) == 2.5 and cell(-1) == -1
    result = [ExerciseResult("01_alpha", "passed", 3, 3, 0.1)]
    table = list(csv.reader(io.StringIO(csv_text(["01_alpha"], [("=1+2", result, False, ["=evil.py"])]))))
    assert table[0] == ["handin", "01_alpha", "total", "max_total", "01_alpha_status", "sandboxed", "kit_files_changed"]
    assert table[1] == ["'=1+2", "3", "3", "3", "passed", "no", "'=evil.py"]



# ---------------------------------------------------------------- a repository of the kit (GitHub Classroom)

def classroom_repo(root: Path, kit: Path) -> Path:
    """A student's repository as `grader release --github-classroom` makes it: exercises/ with the kit's
    tests and stubs, grader/, pyproject.toml and the workflow."""
    from grader.report.classroom import write_workflow

    shutil.copytree(kit / "exercises", root / "exercises")
    shutil.copytree(PACKAGE, root / "grader", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(kit / "pyproject.toml", root / "pyproject.toml")
    write_workflow(root)
    return root


def rewrite_to_pass(repo: Path) -> None:
    """What a student who owns the repository could do: tests that pass anything, a kit.toml and a
    grader that say so, a new test and a new grader module, a deleted grader module, a new workflow."""
    for test in repo.glob("exercises/*/test_*.py"):
        test.write_text("import pytest\n\n@pytest.mark.points(100)\ndef test_anything():\n    pass\n")
    (repo / "exercises" / "02_beta" / "test_extra.py").write_text("def test_more():\n    pass\n")
    (repo / "exercises" / "kit.toml").write_text(MANIFEST.replace("[02_beta]", "[02_beta]\npoints = 100"))
    (repo / "grader" / "run" / "verdict.py").write_text("def verdict(*a, **k):\n    return 'passed'\n")
    (repo / "grader" / "run" / "bribe.py").write_text("PASS = True\n")
    (repo / "grader" / "core" / "text.py").unlink()
    (repo / ".github" / "workflows" / "grade.yml").write_text("on: push\njobs: {}\n")


REWRITTEN = ["exercises/01_alpha/test_alpha.py", "exercises/02_beta/test_beta.py", "exercises/02_beta/test_extra.py",
             "exercises/kit.toml", ".github/workflows/grade.yml", "grader/core/text.py", "grader/run/bribe.py",
             "grader/run/verdict.py"]


@pytest.fixture
def fake_kit(tmp_path, monkeypatch):
    kit_root = make_kit(tmp_path / "kit")
    use_kit(monkeypatch, kit_root)
    kit_files.cache_clear()
    yield kit_root
    kit_files.cache_clear()


def test_kit_files_changed_names_what_a_repository_changed_added_or_deleted(fake_kit, tmp_path):
    repo = classroom_repo(tmp_path / "alice", fake_kit)
    root = repo / "exercises"
    assert kit_files_changed(repo, root) == [], "an untouched repository changed nothing"
    for cache in (root / "01_alpha" / "__pycache__", repo / "grader" / "__pycache__"):
        cache.mkdir(exist_ok=True)
        (cache / "x.cpython-311.pyc").write_bytes(b"compiled by whoever ran it")
    assert kit_files_changed(repo, root) == [], "compiled caches are nobody's edit"
    rewrite_to_pass(repo)
    assert kit_files_changed(repo, root) == sorted(REWRITTEN)
    shutil.rmtree(repo / "grader")
    (repo / "grader").symlink_to(PACKAGE)  # the real grader, through a link: not the kit's files
    assert "grader/" in kit_files_changed(repo, root)
    assert not any(f.startswith("grader/") and f != "grader/" for f in kit_files_changed(repo, root))
    (root / "02_beta" / "test_beta.py").unlink()
    assert "exercises/02_beta/test_beta.py" in kit_files_changed(repo, root), "a deleted test counts"


def test_kit_files_changed_of_loose_folders(fake_kit, tmp_path):
    loose = handin(tmp_path / "bob")
    assert kit_files_changed(loose, loose) == [], "loose exercise folders carry none of the kit's files"
    shutil.copy(fake_kit / "exercises" / "01_alpha" / "test_alpha.py", loose / "01_alpha")
    assert kit_files_changed(loose, loose) == [], "an unchanged test handed in with the module is no change"
    (loose / "01_alpha" / "test_alpha.py").write_text("def test_x():\n    pass\n")
    (loose / "01_alpha" / "test_mine.py").symlink_to("/etc/passwd")  # never followed, never read
    assert kit_files_changed(loose, loose) == ["exercises/01_alpha/test_alpha.py", "exercises/01_alpha/test_mine.py"]


def test_a_repository_rewritten_to_pass_is_graded_by_the_instructors_kit(tmp_path):
    kit_root = make_kit(tmp_path / "kit")
    folder = tmp_path / "handins"
    rewrite_to_pass(classroom_repo(folder / "mallory", kit_root))
    classroom_repo(folder / "alice", kit_root)
    handin(folder / "bob")
    out = tmp_path / "out"
    proc = run_grader(kit_root, "batch", str(folder), "--csv", str(out / "grades.csv"), "--json-dir", str(out / "json"),
                      "--timeout", "30", "--device", "cpu", timeout=600, env={"PATH": str(tmp_path / "no-bwrap-here")})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    table = rows((out / "grades.csv").read_text())
    assert (table["mallory"]["01_alpha_status"], table["mallory"]["02_beta_status"]) == ("not_started", "not_started")
    assert (table["mallory"]["total"], table["mallory"]["max_total"]) == ("0", "6")
    assert table["mallory"]["kit_files_changed"] == "; ".join(sorted(REWRITTEN))
    assert json.loads((out / "json" / "mallory.json").read_text())["kit_files_changed"] == sorted(REWRITTEN)
    assert table["alice"]["kit_files_changed"] == table["bob"]["kit_files_changed"] == ""
    # sandbox auto without bubblewrap: graded unsandboxed, and every row and progress line says so
    assert "grading without a sandbox" in proc.stderr
    assert {r["sandboxed"] for r in table.values()} == {"no"}
    assert all(json.loads(p.read_text())["sandbox"] is False for p in (out / "json").iterdir())
    assert proc.stdout.count("[not sandboxed]") == 3, proc.stdout
