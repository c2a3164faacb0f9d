"""Attacks on the result cache: a remembered result stands in for grading only when the grader
wrote it, with every input unchanged, and never on a route whose grade someone else reads."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from fake_kit import MANIFEST, SOLUTIONS, STUBS, handin, make_kit, run_grader
from results import load_valid

# 01's module, imported by 01's tests, writes a correctly keyed and signed "passed" entry for 02
# with the grader's own functions (as code graded without the sandbox can: it runs as the key's owner)
FORGER = SOLUTIONS["01_alpha/alpha.py"] + '''
from pathlib import Path as _Path
from grader.core.results import ExerciseResult, TestResult
from grader.run import cache as _cache
from grader.run import unprivileged as _unprivileged
from grader.core.target import Target as _Target
_target = _Path(__file__).resolve().parents[1]
for _how in ("device=cpu sandbox=False limits=None",):
    _code = _cache.code_key("02_beta", _target, _how)
    _tests = [TestResult("exercises/02_beta/test_beta.py::test_inc", "passed", "passed", 1, 1),
              TestResult("exercises/02_beta/test_beta.py::test_threshold", "passed", "passed", 2, 2)]
    _cache.store(_cache.key(_code, "02_beta"), ExerciseResult("02_beta", "passed", 3, 3, 0.1, tests=_tests))
'''


@pytest.fixture
def kit(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "user-cache"))  # this test's own signing key
    return make_kit(tmp_path / "kit")


def grade(kit: Path, *args: str) -> dict[str, dict]:
    out = kit.parent / "r.json"
    proc = run_grader(kit, "--all", "--device", "cpu", "--json", str(out), *args, env={"XDG_CACHE_HOME": os.environ["XDG_CACHE_HOME"]})
    assert proc.returncode in (0, 1), proc.stdout + proc.stderr
    return {e["name"]: e for e in load_valid(out)["exercises"]}


def test_a_module_cannot_forge_the_result_of_an_exercise_graded_after_it(kit):
    (kit / "exercises" / "01_alpha" / "alpha.py").write_text(FORGER)
    first = grade(kit)
    assert first["02_beta"]["status"] == "not_started" and not first["02_beta"]["cached"]
    second = grade(kit)
    assert second["02_beta"]["status"] == "not_started", "a forged entry survived into the next run"
    assert second["01_alpha"]["cached"], "what the grader itself remembered is still used"


def test_entries_the_grader_did_not_sign_are_ignored(kit, tmp_path):
    """A repository that commits .grader/results/ (made with another key) gets nothing from it."""
    (kit / "exercises" / "01_alpha" / "alpha.py").write_text(SOLUTIONS["01_alpha/alpha.py"])
    (kit / "exercises" / "02_beta" / "beta.py").write_text(SOLUTIONS["02_beta/beta.py"])
    assert {e["status"] for e in grade(kit).values()} == {"passed"}
    committed = tmp_path / "committed"
    shutil.copytree(kit / ".grader" / "results", committed)
    (kit / "exercises" / "02_beta" / "beta.py").write_text(STUBS["02_beta/beta.py"])
    grade(kit)  # entries for the stub now exist too; replace the signing key, as on another machine
    shutil.rmtree(kit / ".grader" / "results")
    shutil.copytree(committed, kit / ".grader" / "results")
    (Path(os.environ["XDG_CACHE_HOME"]) / "nn-basics-kit" / "results.key").write_text("00" * 32)
    (kit / "exercises" / "02_beta" / "beta.py").write_text(SOLUTIONS["02_beta/beta.py"])
    results = grade(kit)
    assert not any(e["cached"] for e in results.values())


@pytest.mark.parametrize("change", ["a file that is not .py", "a file in a subfolder", "where a link points",
                                    "a file beside the exercises' folders"])
def test_every_file_the_module_could_read_is_part_of_the_key(kit, change):
    folder = kit / "solutions" / "01_alpha"
    reader = ("from pathlib import Path\n_here = Path(__file__).parent\n"
              "exec((_here / 'impl.txt').read_text())\n")
    (folder / "impl.txt").write_text("def double(x):\n    return 2 * x\n")
    (folder / "sub").mkdir()
    (folder / "sub" / "data.txt").write_text("2")
    (folder / "a.txt").write_text("2")
    (folder / "b.txt").write_text("3")
    (folder / "factor.txt").symlink_to("a.txt")
    (kit / "solutions" / "shared.txt").write_text("2")
    (folder / "alpha.py").write_text(reader)
    assert not grade(kit, "--solutions")["01_alpha"]["cached"]
    assert grade(kit, "--solutions")["01_alpha"]["cached"]
    if change == "a file that is not .py":
        (folder / "impl.txt").write_text("def double(x):\n    return x + x + 0\n")
    elif change == "a file in a subfolder":
        (folder / "sub" / "data.txt").write_text("3")
    elif change == "where a link points":
        (folder / "factor.txt").unlink()
        (folder / "factor.txt").symlink_to("b.txt")
    else:
        (kit / "solutions" / "shared.txt").write_text("3")
    assert not grade(kit, "--solutions")["01_alpha"]["cached"], f"changing {change} did not change the key"


def test_the_sandbox_mode_is_part_of_the_key(kit):
    from grader.run import sandbox

    if sandbox.unavailable_reason() is not None:
        pytest.skip(f"bubblewrap unavailable: {sandbox.unavailable_reason()}")
    grade(kit, "--solutions")
    assert all(e["cached"] for e in grade(kit, "--solutions").values())
    assert not any(e["cached"] for e in grade(kit, "--solutions", "--sandbox", "on").values())


def test_no_route_a_grade_is_read_from_uses_the_cache(kit, tmp_path):
    """--target and batch neither read nor write remembered results, even signed ones keyed for them."""
    target = handin(tmp_path / "h", beta=STUBS["02_beta/beta.py"])
    grade(kit, "--target", str(target), "--sandbox", "off")
    assert not (kit / ".grader" / "results").exists() or not any((kit / ".grader" / "results").iterdir())
    (target / "01_alpha" / "alpha.py").write_text(FORGER.replace('_Path(__file__).resolve().parents[1]', repr(str(target))))
    for _ in range(2):
        results = grade(kit, "--target", str(target), "--sandbox", "off")
        assert results["02_beta"]["status"] == "not_started" and not results["02_beta"]["cached"]
    proc = run_grader(kit, "batch", str(tmp_path / "h").rsplit("/", 1)[0], "--csv", str(tmp_path / "g.csv"),
                      "--sandbox", "off", "--device", "cpu", env={"XDG_CACHE_HOME": os.environ["XDG_CACHE_HOME"]})
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_data_fetched_by_a_run_does_not_make_its_own_entry_unreachable(kit, tmp_path):
    """A fresh clone's first run fetches the datasets; its second run must not grade again."""
    data = tmp_path / "data"
    (kit / "exercises" / "kit.toml").write_text(MANIFEST + 'datasets = ["mnist"]\n')
    fetcher = ("import os\nfrom pathlib import Path\n"
               "def test_fetches(mod):\n"
               "    raw = Path(os.environ['GRADER_DATA_DIR']) / 'MNIST' / 'raw'\n"
               "    raw.mkdir(parents=True, exist_ok=True)\n"
               "    (raw / 'train-images-idx3-ubyte').write_bytes(b'x')\n")
    (kit / "exercises" / "02_beta" / "test_beta_data.py").write_text('import pytest\nGRADES = "beta"\n' + fetcher.replace(
        "def test_fetches", "@pytest.mark.points(1)\ndef test_fetches"))
    first = grade(kit, "--solutions", "--data-dir", str(data))
    assert first["02_beta"]["status"] == "passed" and (data / "MNIST" / "raw").is_dir()
    again = grade(kit, "--solutions", "--data-dir", str(data))
    assert again["02_beta"]["cached"] and again["01_alpha"]["cached"]
    (data / "MNIST" / "raw" / "train-images-idx3-ubyte").write_bytes(b"changed data")
    assert not grade(kit, "--solutions", "--data-dir", str(data))["02_beta"]["cached"]
