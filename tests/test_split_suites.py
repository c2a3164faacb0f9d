"""An exercise's tests split over several files: ``GRADES`` names the graded module, ``needs`` sees
every test file of the exercise's folder and refuses a prerequisite that would run too late."""
from __future__ import annotations

from pathlib import Path

import pytest

from grader.core import kit
from grader.run.runner import selected_paths

pytest_plugins = ["pytester"]

RIGHT = "def value():\n    return 42\n"
WRONG = "def value():\n    return 41\n"
BASE = '''
import pytest

@pytest.mark.points(1)
def test_base(mod):
    assert mod.value() == 42, "value() must be 42"
'''
DEPENDENT = '''
import pytest

GRADES = "demo"

@pytest.mark.points(2)
@pytest.mark.needs("test_base")
def test_dependent(mod):
    assert mod.value() + 1 == 43, "value() + 1 must be 43"
'''


@pytest.fixture
def demo(pytester: pytest.Pytester):
    """Run pytest in-process on an exercise folder ``01_demo/`` of test files, grading ``demo.py``."""

    def run(module: str, files: dict[str, str], *args: str) -> pytest.RunResult:
        for name, text in files.items():
            (pytester.path / "01_demo" / name).parent.mkdir(parents=True, exist_ok=True)
            (pytester.path / "01_demo" / name).write_text(text)
        target = pytester.path / "handin" / "01_demo"
        target.mkdir(parents=True, exist_ok=True)
        (target / "demo.py").write_text(module)
        return pytester.runpytest_inprocess("-p", "grader.run.plugin", "--target", str(target.parent), *args)

    return run


def test_grades_names_the_module_of_a_topic_file(demo):
    result = demo(RIGHT, {"test_demo.py": BASE, "test_demo_more.py": DEPENDENT})
    result.stdout.fnmatch_lines(["grader: 3/3 points (2 passed)*"])  # test_dependent ran: test_base had passed


def test_a_topic_file_without_grades_looks_for_its_own_name(demo):
    result = demo(RIGHT, {"test_demo.py": BASE, "test_demo_more.py": DEPENDENT.replace('GRADES = "demo"', "")})
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(["*demo_more.py is missing*"])


def test_needs_blocks_on_a_test_of_another_file(demo):
    result = demo(WRONG, {"test_demo.py": BASE, "test_demo_more.py": DEPENDENT})
    assert result.parseoutcomes() == {"failed": 1, "blocked": 1}
    result.stdout.fnmatch_lines(["grader: 0/3 points (1 failed, 1 blocked)*"])


def test_needs_of_a_test_not_collected_does_not_block(demo):
    files = {"test_demo.py": BASE, "test_demo_more.py": DEPENDENT}
    result = demo(WRONG, files, str(Path("01_demo") / "test_demo_more.py"))
    result.assert_outcomes(failed=1)  # test_base did not run: test_dependent runs, and fails on its own


def test_needs_of_no_test_of_the_exercise_stops_collection(demo):
    result = demo(RIGHT, {"test_demo.py": BASE, "test_demo_more.py": DEPENDENT.replace("test_base", "test_nowhere")})
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*needs('test_nowhere') names no test of 01_demo/*"])


def test_needs_of_a_test_of_another_folder_stops_collection(demo):
    result = demo(RIGHT, {"test_demo.py": BASE.replace("test_base", "test_first"),
                          "../02_other/test_demo_more.py": DEPENDENT, "../02_other/test_base.py": ""})
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*needs('test_base') names no test of 02_other/*"])


def test_needs_of_a_test_that_runs_later_stops_collection(demo):
    result = demo(RIGHT, {"test_demo.py": DEPENDENT, "test_demo_zz.py": BASE})
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*test_demo.py::test_dependent: needs('test_base'), but pytest runs that test "
                                 "only after this one*"])


def test_needs_of_a_later_test_of_the_same_file_stops_collection(demo):
    later = DEPENDENT + BASE.replace("import pytest", "")
    result = demo(RIGHT, {"test_demo.py": later})
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*runs that test only after this one*"])


@pytest.fixture
def two_files(tmp_path, monkeypatch) -> Path:
    """exercises/01_demo/ with test_demo.py (BASE) and test_demo_more.py (DEPENDENT), as the kit's."""
    folder = tmp_path / "exercises" / "01_demo"
    folder.mkdir(parents=True)
    (folder / "test_demo.py").write_text(BASE)
    (folder / "test_demo_more.py").write_text(DEPENDENT)
    monkeypatch.setattr(kit, "EXERCISES_DIR", tmp_path / "exercises")
    return folder


def test_a_selected_test_is_run_from_the_file_that_defines_it(two_files):
    folder = two_files
    assert selected_paths("01_demo", ["test_dependent", "test_base"]) == [
        f"{folder / 'test_demo.py'}::test_base", f"{folder / 'test_demo_more.py'}::test_dependent"]
    assert selected_paths("01_demo", ["test_missing"]) == [f"{folder / 'test_demo.py'}::test_missing"], (
        "a name no file defines goes to pytest, which reports it")


def test_grader_check_refuses_a_test_name_defined_in_two_files(two_files):
    from grader.cli.check import name_problems

    folder = two_files
    assert name_problems("01_demo") == []
    (folder / "test_demo_more.py").write_text(DEPENDENT + BASE.replace("import pytest", ""))
    assert name_problems("01_demo") == ["01_demo: test_base is defined in test_demo.py, test_demo_more.py; "
                                        "test names must be unique within an exercise"]
