"""`grader export gradescope`: the bundle, the upload mapping, and run_autograder end to end.

The end-to-end tests unpack the real kit's bundle into a folder laid out like /autograder
(GRADESCOPE_ROOT) and run its run_autograder on four uploads, grading only exercises 01 and 03
(GRADER_EXERCISES) to stay quick; the results must follow Gradescope's results.json format.
"""
from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
from fake_kit import make_kit, run_grader

from grader.cli.export import collect_upload, gradescope_results, threshold_tests
from grader.core import kit
from grader.core.results import ExerciseResult
from grader.core.results import TestResult as Outcome

VISIBILITIES = {"hidden", "after_due_date", "after_published", "visible"}
SELECTED = ["01_activations", "03_backprop"]
STUB_03 = (kit.EXERCISES_DIR / "03_backprop" / "backprop.py").read_text()


def solution(name: str, module: str) -> str:
    return (kit.SOLUTIONS_DIR / name / module).read_text()


def check_results_format(data: dict) -> None:
    """Gradescope's results.json: what its documentation requires, and what this kit promises."""
    assert set(data) >= {"score", "execution_time", "output", "stdout_visibility", "tests"}
    assert isinstance(data["score"], (int, float)) and isinstance(data["execution_time"], int)
    assert isinstance(data["output"], str) and data["stdout_visibility"] in VISIBILITIES
    for test in data["tests"]:
        assert set(test) >= {"name", "score", "max_score", "output", "visibility"}, test
        assert isinstance(test["name"], str) and isinstance(test["output"], str)
        assert 0 <= test["score"] <= test["max_score"] and test["visibility"] in VISIBILITIES
    assert data["score"] == sum(t["score"] for t in data["tests"])


# ---------------------------------------------------------------- the bundle (stand-in kit, fast)

def test_bundle_holds_the_scripts_and_the_kit_without_solutions_or_tests(tmp_path):
    fake = make_kit(tmp_path / "kit")
    (fake / "tests").mkdir()
    (fake / "tests" / "test_kit.py").write_text("")
    out = tmp_path / "out" / "bundle.zip"
    proc = run_grader(fake, "export", "gradescope", str(out))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    with zipfile.ZipFile(out) as bundle:
        names = bundle.namelist()
        modes = {i.filename: i.external_attr >> 16 for i in bundle.infolist()}
        setup, run = bundle.read("setup.sh").decode(), bundle.read("run_autograder").decode()
    assert {"setup.sh", "run_autograder", "kit/exercises/01_alpha/test_alpha.py", "kit/pyproject.toml"} <= set(names)
    assert not [n for n in names if n.startswith(("kit/solutions/", "kit/tests/"))], names
    assert all(modes[n] & stat.S_IXUSR for n in ("setup.sh", "run_autograder"))
    assert "grader data\n" in setup and "grader data --check" in setup and "pip install -e /autograder/source/kit" in setup
    assert "download.pytorch.org/whl/cpu" in setup and setup.startswith("#!") and "set -euo pipefail" in setup
    assert '${GRADESCOPE_ROOT:-/autograder}' in run and "GRADER_HIDE_THRESHOLDS:-0" in run

    hidden = run_grader(fake, "export", "gradescope", str(out), "--hide-thresholds")
    with zipfile.ZipFile(out) as bundle:
        assert "GRADER_HIDE_THRESHOLDS:-1" in bundle.read("run_autograder").decode(), hidden.stdout
    assert run_grader(fake, "export", "gradescope", str(tmp_path)).returncode == 2, "a folder is not a zip file"


# ---------------------------------------------------------------- the upload (no grading)

def layout(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    return root


def test_upload_folders_and_bare_files_are_mapped_by_module_name(tmp_path):
    submission = layout(tmp_path / "submission", {
        "repo/exercises/01_activations/activations.py": "A = 1\n",  # a whole repository, folders deep down
        "activations.py": "A = 2\n",  # also bare: the folder wins
        "work/backprop.py": "B = 1\n",  # bare, in any folder
        "notes.txt": "x", "__MACOSX/01_activations/._activations.py": "junk", ".DS_Store": "x",
    })
    handin = tmp_path / "handin"
    upload = collect_upload(submission, handin, SELECTED)
    assert (handin / "01_activations" / "activations.py").read_text() == "A = 1\n"
    assert (handin / "03_backprop" / "backprop.py").read_text() == "B = 1\n"
    assert upload.missing == [] and upload.ignored == ["notes.txt"] and upload.duplicates == ["activations.py"]
    report = "\n".join(upload.report())
    assert "work/backprop.py as 03_backprop/backprop.py" in report and "notes.txt" in report
    assert "repo/exercises" in report, "a file found deeper than NN_name/module.py says where it came from"


def test_upload_missing_files_and_symlinks_are_reported_not_followed(tmp_path):
    secret = layout(tmp_path / "elsewhere", {"backprop.py": "SECRET = 1\n"})
    submission = layout(tmp_path / "submission", {"01_activations/activations.py": "A = 1\n"})
    (submission / "backprop.py").symlink_to(secret / "backprop.py")
    handin = tmp_path / "handin"
    upload = collect_upload(submission, handin, SELECTED)
    assert not (handin / "03_backprop" / "backprop.py").exists() and (handin / "03_backprop").is_dir()
    assert upload.missing == [("03_backprop", "backprop.py")]
    report = "\n".join(upload.report())
    assert "backprop.py (upload it as backprop.py or 03_backprop/backprop.py)" in report
    assert "backprop.py (a link, not followed)" in report
    assert collect_upload(tmp_path / "no-such-upload", tmp_path / "h2", SELECTED).missing == [
        ("01_activations", "activations.py"), ("03_backprop", "backprop.py")]


def test_threshold_tests_are_hidden_until_after_the_due_date_only_on_request(tmp_path):
    hidden = threshold_tests()
    assert hidden["06_mlp"] == ["test_mnist_accuracy"] and "01_activations" not in hidden
    assert "test_per_class_accuracy_percent_of_true_class" not in sum(hidden.values(), []), "not a threshold test"
    tests = [Outcome("exercises/06_mlp/test_mlp.py::test_num_classes", "passed", "passed", 1, 1),
             Outcome("exercises/06_mlp/test_mlp.py::test_mnist_accuracy", "failed", "failed", 0, 4,
                     f"89.1% is below the threshold; see {tmp_path}/06_mlp/mlp.py")]
    results = [ExerciseResult("06_mlp", "failed", 1, 5, 61.2, "below the threshold", tests)]
    upload = collect_upload(tmp_path / "submission", tmp_path, ["06_mlp"])
    shown, kept = (gradescope_results(results, upload, tmp_path, 62.4, hide) for hide in (False, True))
    for data in (shown, kept):
        check_results_format(data)
    assert [t["visibility"] for t in shown["tests"]] == ["visible", "visible"]
    assert [t["visibility"] for t in kept["tests"]] == ["visible", "after_due_date"]
    assert kept["tests"][1]["output"].endswith("see 06_mlp/mlp.py"), "no grader temp paths in messages"
    assert kept["execution_time"] == 62 and "after the due date" in kept["output"]


# ---------------------------------------------------------------- run_autograder end to end (real kit, 01 + 03)

def run_autograder(bundle: Path, root: Path, upload: dict[str, str], exercises: str = "01 03",
                   before: Callable[[Path], str] | None = None) -> tuple[dict, str]:
    """Lay ``root`` out like /autograder with ``upload`` as the submission; run run_autograder; (results,
    stdout). ``before(kit folder)``, when given, is taken before the run into ``results["kit_digest"]``."""
    with zipfile.ZipFile(bundle) as z:
        z.extractall(root / "source")
    for script in ("run_autograder", "setup.sh"):
        (root / "source" / script).chmod(0o755)
    layout(root / "submission", upload)
    (root / "submission").mkdir(exist_ok=True)
    taken = before(root / "source" / "kit") if before else None
    env = {**os.environ, "GRADESCOPE_ROOT": str(root), "GRADER_PYTHON": sys.executable, "GRADER_EXERCISES": exercises}
    proc = subprocess.run([str(root / "source" / "run_autograder")], cwd=root, env=env, capture_output=True,
                          text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    data = json.loads((root / "results" / "results.json").read_text())
    check_results_format(data)
    if taken is not None:
        data["kit_digest"] = taken
    return data, proc.stdout


def by_exercise(data: dict) -> dict[str, tuple[float, float]]:
    totals: dict[str, tuple[float, float]] = {}
    for test in data["tests"]:
        name = test["name"].split(":")[0]
        score, most = totals.get(name, (0, 0))
        totals[name] = (score + test["score"], most + test["max_score"])
    return totals


UPLOADS = {
    "correct": {f"{n}/{m}": solution(n, m) for n, m in (("01_activations", "activations.py"), ("03_backprop", "backprop.py"))},
    "partial": {"01_activations/activations.py": solution("01_activations", "activations.py"),
                "03_backprop/backprop.py": STUB_03},
    "flat": {"activations.py": solution("01_activations", "activations.py"),
             "backprop.py": solution("03_backprop", "backprop.py"), "README.txt": "my notes", "helpers.py": "X = 1\n"},
    "broken": {"activations.py": "def sigmoid(x)\n    return x\n", "xor.py": "import os\n"},
}


@pytest.mark.parametrize("case", list(UPLOADS))
def test_run_autograder_grades_each_upload_shape(bundle, tmp_path, case):
    data, stdout = run_autograder(bundle, tmp_path / "autograder", UPLOADS[case])
    totals = by_exercise(data)
    assert set(totals) == set(SELECTED), "every selected exercise has its tests, even when its file is missing"
    full = {name: most for name, (_, most) in totals.items()}
    assert all(most > 0 for most in full.values())
    assert data["score"] == sum(score for score, _ in totals.values())
    assert "peak" in stdout and "MB" in stdout, "the instructor's log shows each exercise's peak memory"
    if case in ("correct", "flat"):
        assert data["score"] == sum(full.values()), data["output"]
    if case == "flat":
        assert "activations.py as 01_activations/activations.py" in data["output"]
        assert "README.txt" in data["output"] and "helpers.py" in data["output"], "unused files are named"
    if case == "partial":
        assert totals["01_activations"][0] == full["01_activations"] and totals["03_backprop"][0] == 0
        assert "not started" in data["output"]
    if case == "broken":
        assert data["score"] == 0
        assert "Missing (those tests score 0): backprop.py" in data["output"]
        assert "SyntaxError" in data["output"] and "xor.py" in data["output"]
        failing = [t["output"] for t in data["tests"] if t["name"].startswith("01_activations")]
        assert all("SyntaxError" in o for o in failing) and not any("/tmp/" in o for o in failing)


def test_run_autograder_writes_results_even_when_grading_cannot_start(bundle, tmp_path):
    data, _ = run_autograder(bundle, tmp_path / "autograder", {"activations.py": "x = 1\n"}, exercises="zz")
    assert data["score"] == 0 and data["tests"] == []
    assert "could not grade this submission" in data["output"] and "'zz' matches no exercise" in data["output"]
