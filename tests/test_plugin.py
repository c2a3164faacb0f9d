"""The plugin in-process (pytester): how a learner's failure reads under plain ``pytest``, and how
each test is classified. An exercise folder ``exercises/01_demo/`` grades ``handin/01_demo/demo.py``;
``kitlib.py`` stands for the kit's helpers, whose frames a learner never needs to read."""
from __future__ import annotations

import pytest

from grader.core import kit

pytest_plugins = ["pytester"]

HELPER = '''
def check_answer(value):
    if value != 42:
        raise AssertionError(f"the answer must be 42, got {value}")
'''
TESTS = '''
import pytest
from kitlib import check_answer

@pytest.mark.points(1)
def test_answer(mod):
    check_answer(mod.answer())

def test_double(mod):  # worth the default point
    assert mod.double(2) == 4, "double(2) must be 4"

@pytest.mark.needs("test_double")
@pytest.mark.points(2)
def test_needs_double(mod):
    assert mod.double(3) == 6, "double(3) must be 6"
'''
RIGHT = "def answer():\n    return 42\n\n\ndef double(x):\n    return 2 * x\n"


@pytest.fixture
def run(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch):
    """Run the demo exercise in-process against a hand-in whose demo.py is ``module``."""
    monkeypatch.setattr(kit, "EXERCISES_DIR", pytester.path / "exercises")
    pytester.syspathinsert(pytester.path / "lib")
    (pytester.path / "lib").mkdir()
    (pytester.path / "lib" / "kitlib.py").write_text(HELPER)
    (pytester.path / "exercises" / "01_demo").mkdir(parents=True)
    (pytester.path / "exercises" / "01_demo" / "test_demo.py").write_text(TESTS)
    handin = pytester.path / "handin" / "01_demo"
    handin.mkdir(parents=True)

    def grade(module: str, *args: str) -> pytest.RunResult:
        (handin / "demo.py").write_text(module)
        return pytester.runpytest_inprocess("-p", "grader.run.plugin", "-p", "no:cacheprovider",
                                            "--target", str(handin.parent), "exercises/01_demo", *args)

    return grade


def test_a_correct_module_passes(run):
    run(RIGHT).stdout.fnmatch_lines(["grader: 4/4 points (3 passed)*"])


def test_a_failure_shows_the_tests_line_and_the_learners_code_not_the_kits_helpers(run):
    out = run(RIGHT.replace("return 42", "return helper()") + "\n\ndef helper():\n    return 41\n").stdout.str()
    assert "test_demo.py:7: in test_answer" in out and "E   AssertionError: the answer must be 42, got 41" in out
    assert "kitlib.py" not in out and "_pytest" not in out


def test_an_error_in_the_learners_code_shows_its_line(run):
    out = run(RIGHT.replace("return 2 * x", "return 2 * y")).stdout.str()
    assert "demo.py:6: in double" in out and "NameError: name 'y' is not defined" in out
    assert "_pytest" not in out


def test_verbose_shows_the_long_form_and_full_trace_everything(run):
    failing = RIGHT.replace("return 42", "return 41")
    long_form = run(failing, "-v").stdout.str()
    assert "def test_answer(mod):" in long_form and "kitlib.py" not in long_form
    assert "kitlib.py" in run(failing, "--full-trace").stdout.str()


def test_an_explicit_traceback_style_is_kept(run):
    out = run(RIGHT.replace("return 42", "return 41"), "--tb=line").stdout.str()
    assert "kitlib.py:4: AssertionError: the answer must be 42, got 41" in out


def test_internal_module_names_read_as_the_learners_file(run):
    out = run("def double(x):\n    return 2 * x\n").stdout.str()
    assert "module 'demo' has no attribute 'answer'" in out and "graded_" not in out


def test_a_stub_is_not_started_and_what_needs_it_is_blocked(run):
    stub = "def answer():\n    return 42\n\n\ndef double(x):\n    raise NotImplementedError('01_demo.double: twice x')\n"
    result = run(stub)
    result.stdout.fnmatch_lines(["exercises/01_demo/test_demo.py .Nb*", "grader: 1/4 points (1 passed, 1 not started, 1 blocked)*"])


def test_a_skip_asked_for_by_the_graded_code_is_a_failure(run):
    result = run(RIGHT.replace("return 42", "__import__('pytest').skip('later')"))
    result.stdout.fnmatch_lines(["grader: 3/4 points (1 failed, 2 passed)*"])
    assert "answer (demo.py, line 2) called pytest.skip (later)" in result.stdout.str()


def test_the_graded_folder_is_the_runs_own(pytester, run):
    """Two runs in one process with different targets: each grades its own (the plugin keeps no
    module-level state)."""
    run(RIGHT).stdout.fnmatch_lines(["grader: 4/4 points*"])
    solutions = pytester.path / "solutions" / "01_demo"
    solutions.mkdir(parents=True)
    (solutions / "demo.py").write_text(RIGHT.replace("return 42", "return 0"))
    result = pytester.runpytest_inprocess("-p", "grader.run.plugin", "--target", str(solutions.parent), "exercises/01_demo")
    result.stdout.fnmatch_lines(["grader: 3/4 points*"])


def test_an_exception_whose_str_raises_is_a_failure_not_a_crash(run):
    bad = "class Odd(Exception):\n    def __str__(self):\n        raise RuntimeError('no text')\n\n\n"
    result = run(bad + RIGHT.replace("return 42", "raise Odd()"))
    assert result.ret == 1 and "INTERNALERROR" not in result.stdout.str()
    result.stdout.fnmatch_lines(["grader: 3/4 points (1 failed, 2 passed)*"])


def test_code_that_claims_an_unusable_file_name_is_a_failure_not_a_crash(run):
    """The traceback filter reads each frame's file name, which the graded code controls."""
    nul = ("def _raise():\n    raise ValueError('wrong')\n\n\n_raise.__code__ = _raise.__code__.replace(co_filename='/tmp/a\\x00b.py')\n\n\n")
    result = run(nul + RIGHT.replace("return 42", "return _raise()"))
    assert result.ret == 1 and "INTERNALERROR" not in result.stdout.str()
    result.stdout.fnmatch_lines(["grader: 3/4 points (1 failed, 2 passed)*"])
    assert "demo.py:9: in answer" in result.stdout.str()


def test_plain_pytest_says_why_a_test_is_blocked_or_not_started(run):
    """The terminal shows only ``N`` and ``b`` for those tests; the summary says what to do."""
    stub = "def answer():\n    return 42\n\n\ndef double(x):\n    raise NotImplementedError('01_demo.double: twice x')\n"
    result = run(stub)
    result.stdout.fnmatch_lines(["*not started*test_double*01_demo.double: twice x*",
                                 "*blocked*test_needs_double*needs test_double to pass first*"])


def test_a_failing_load_checkpoint_shows_its_line_in_the_resume_test(pytester, tmp_path):
    """test_resume_is_bit_exact catches the learner's exception to diagnose it: the learner's line
    must still be shown (the assertion is raised from it)."""
    handin = tmp_path / "h" / "05_checkpoint"
    handin.mkdir(parents=True)
    source = (kit.SOLUTIONS_DIR / "05_checkpoint" / "checkpoint.py").read_text()
    broken = source.replace('model.load_state_dict(checkpoint["model_state_dict"])', 'model.load_state_dict(checkpoint["model_state"])')
    (handin / "checkpoint.py").write_text(broken)
    line = broken.splitlines().index('    model.load_state_dict(checkpoint["model_state"])') + 1
    result = pytester.runpytest_inprocess("-p", "grader.run.plugin", "-p", "no:cacheprovider", "--target", str(handin.parent),
                                          str(kit.EXERCISES_DIR / "05_checkpoint" / "test_checkpoint_inference.py"),
                                          "-k", "test_resume_is_bit_exact")
    out = result.stdout.str()
    assert "load_checkpoint failed on a file written by save_checkpoint: KeyError: 'model_state'" in out
    assert f"checkpoint.py:{line}: in load_checkpoint" in out, out


def test_a_missing_name_is_named_in_the_learners_file_whatever_the_exercise_is_called(tmp_path):
    """The one-line message for a name the module lacks comes from the module itself, not from
    parsing its internal name (``graded_10_my_ex_my_mod`` splits more than one way)."""
    from grader.run.loader import load_module_file
    from grader.run.outcomes import failure_message

    path = tmp_path / "10_my_ex" / "my_mod.py"
    path.parent.mkdir()
    path.write_text("def present():\n    return 1\n")
    module = load_module_file(path)
    with pytest.raises(AttributeError) as excinfo:
        module.absent  # noqa: B018 - the attribute access is the point
    assert failure_message(excinfo, tmp_path) == (
        "my_mod.py has no 'absent': define it with the name and signature its docstring and README give")
