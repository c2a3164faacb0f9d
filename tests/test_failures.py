"""Failures by cause (grader/core/failures.py): each table says every cause in both languages, a
keyed failure reaches the results as its ``cause`` and ``translations``, and the learner reads it
in their language, under plain pytest and on the scorecard."""
from __future__ import annotations

import ast
import io
import re
from pathlib import Path

import pytest

from grader.core import failures, kit
from grader.core.results import ExerciseResult, Status, TestResult
from grader.report.scorecard import print_scorecard
from grader.run.verdict import as_test

pytest_plugins = ["pytester"]

ROOT = Path(__file__).resolve().parents[1]
TABLES = (sorted(ROOT.glob("exercises/*/failures.toml")) + sorted(ROOT.glob("grader/checks/*.toml"))
          + sorted(ROOT.glob("grader/train/*.toml")))
RAISED = re.compile(r"""\bFAIL\(\s*["']([a-z0-9_]+)["']""")

TABLE = '''
[answer_wrong]
en = "the answer must be 42, got {got}"
zh-TW = "答案必須是 42，得到 {got}"
'''
TESTS = '''
from grader.core import failures

FAIL = failures.table(__file__)

def test_answer(mod):
    got = mod.answer()
    if got != 42:
        raise FAIL("answer_wrong", got=got)
'''


def test_a_table_names_each_malformed_entry(tmp_path):
    path = tmp_path / "failures.toml"
    path.write_text('[one]\nen = "x {a}"\n\n[two]\nen = "{a}"\nzh-TW = "{b}"\n\n[three]\nen = "ok {a}"\nzh-TW = "好 {a}"\n')
    with pytest.raises(ValueError) as raised:
        failures.load(path)
    assert "one: needs exactly the strings en, zh-TW" in str(raised.value)
    assert "two: the languages fill different fields" in str(raised.value)
    assert "three" not in str(raised.value)


def test_a_failure_carries_its_folders_key_and_both_texts(tmp_path):
    folder = tmp_path / "01_demo"
    folder.mkdir()
    (folder / "failures.toml").write_text(TABLE)
    failure = failures.table(folder / "test_demo.py")("answer_wrong", got=7)
    assert isinstance(failure, AssertionError)
    assert (failure.key, str(failure)) == ("01_demo.answer_wrong", "the answer must be 42, got 7")
    assert failure.texts["zh-TW"] == "答案必須是 42，得到 7"
    both = failures.joined("01_demo.answers", [failure, failures.table(folder / "test_demo.py")("answer_wrong", got=8)])
    assert (both.key, str(both), both.texts["zh-TW"]) == (
        "01_demo.answers", "the answer must be 42, got 7; the answer must be 42, got 8", "答案必須是 42，得到 7; 答案必須是 42，得到 8")
    inner = failures.table(folder / "test_demo.py")("answer_wrong", got=failure)
    assert (str(inner), inner.texts["zh-TW"]) == ("the answer must be 42, got the answer must be 42, got 7",
                                                  "答案必須是 42，得到 答案必須是 42，得到 7")
    (tmp_path / "model_checks.toml").write_text(TABLE)
    assert failures.module_table(tmp_path / "model_checks.py")("answer_wrong", got=1).key == "model_checks.answer_wrong"


def sources(table: Path) -> list[Path]:
    """The files that raise a table's causes: an exercise's test files, or the check module."""
    if table.name == failures.FILE_NAME:
        return sorted(table.parent.glob("test_*.py"))
    return [table.with_suffix(".py")]


def bare_messages(source: Path) -> list[str]:
    """Failure messages of ``source`` that bypass its table: an assert with a message, pytest.fail."""
    found = []
    for node in sorted(ast.walk(ast.parse(source.read_text(encoding="utf-8"))), key=lambda n: getattr(n, "lineno", 0)):
        if isinstance(node, ast.Assert) and node.msg is not None:
            found.append(f"{source.name}:{node.lineno}: assert with a message")
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "fail"
              and isinstance(node.func.value, ast.Name) and node.func.value.id == "pytest"):
            found.append(f"{source.name}:{node.lineno}: pytest.fail")
        elif (isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call) and isinstance(node.exc.func, ast.Name)
              and node.exc.func.id == "AssertionError"):
            found.append(f"{source.name}:{node.lineno}: raise AssertionError")
    return found


@pytest.mark.parametrize("path", TABLES, ids=lambda p: p.parent.name if p.name == failures.FILE_NAME else p.stem)
def test_every_cause_is_said_in_both_languages_raised_and_alone(path):
    """A table loads (both languages, same fields); each of its keys is raised and each raised key is
    in it; and the files it serves say no failure any other way, so no message escapes its cause."""
    table = failures.load(path)
    raised = {key for source in sources(path) for key in RAISED.findall(source.read_text(encoding="utf-8"))}
    assert not raised - set(table.entries), f"raised but not in {path.name}: {sorted(raised - set(table.entries))}"
    assert not set(table.entries) - raised, f"in {path.name} but never raised: {sorted(set(table.entries) - raised)}"
    bare = [line for source in sources(path) for line in bare_messages(source)]
    assert not bare, f"failures said without a key of {path.name}: {bare}"


def test_bare_messages_are_found(tmp_path):
    source = tmp_path / "test_x.py"
    source.write_text("import pytest\n\ndef test_a():\n    assert 1, 'm'\n    pytest.fail('m')\n"
                      "    raise AssertionError('m')\n    assert 1\n    raise FAIL('key')\n")
    assert bare_messages(source) == ["test_x.py:4: assert with a message", "test_x.py:5: pytest.fail",
                                     "test_x.py:6: raise AssertionError"]


@pytest.fixture
def run(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch):
    """Run a one-test exercise in-process against a hand-in whose answer() returns ``value``."""
    monkeypatch.setattr(kit, "EXERCISES_DIR", pytester.path / "exercises")
    monkeypatch.delenv("GRADER_LANG", raising=False)
    monkeypatch.setenv("LANG", "C.UTF-8")
    folder = pytester.path / "exercises" / "01_demo"
    folder.mkdir(parents=True)
    (folder / "test_demo.py").write_text(TESTS)
    (folder / "failures.toml").write_text(TABLE)

    def grade(value: int, *args: str) -> pytest.RunResult:
        handin = pytester.path / f"handin{value}" / "01_demo"  # a folder per answer: modules load once per path
        handin.mkdir(parents=True, exist_ok=True)
        (handin / "demo.py").write_text(f"def answer():\n    return {value}\n")
        return pytester.runpytest_inprocess("-p", "grader.run.plugin", "-p", "no:cacheprovider",
                                            "--target", str(handin.parent), "exercises/01_demo", *args)

    return grade


def test_plain_pytest_shows_a_keyed_failure_in_the_chosen_language(run):
    assert "答案" not in run(42, "--lang", "zh-TW").stdout.str()
    english = run(7).stdout.str()
    assert "the answer must be 42, got 7" in english and "答案" not in english
    chinese = run(7, "--lang", "zh-TW").stdout.str()
    assert "答案必須是 42，得到 7" in chinese and "the answer must be 42, got 7" in chinese


def test_the_results_keep_the_cause_and_translation_and_the_scorecard_speaks_the_language():
    event = {"event": "result", "id": "exercises/01_demo/test_demo.py::test_answer", "kind": "failed", "points": 0,
             "max_points": 1, "message": "the answer must be 42, got 7", "cause": "01_demo.answer_wrong",
             "translations": {"zh-TW": "答案必須是 42，得到 7"}}
    test = as_test(event, 1)
    assert (test.cause, test.said("zh-TW"), test.said("en")) == (
        "01_demo.answer_wrong", "答案必須是 42，得到 7", "the answer must be 42, got 7")
    result = ExerciseResult("01_demo", Status.FAILED, 0, 1, 0.5, test.message, [test])
    stored = result.to_json()["tests"][0]
    assert (stored["cause"], stored["translations"]) == ("01_demo.answer_wrong", {"zh-TW": "答案必須是 42，得到 7"})
    assert TestResult(**{**stored, "kind": stored["outcome"]}).said("zh-TW") == "答案必須是 42，得到 7"
    for lang, seen, unseen in (("zh-TW", "答案必須是 42，得到 7", "got 7"), ("en", "got 7", "答案")):
        out = io.StringIO()
        print_scorecard([result], "handin", "cpu", stream=out, lang=lang)
        assert seen in out.getvalue() and unseen not in out.getvalue(), out.getvalue()


def test_a_failure_without_a_table_has_no_cause():
    test = as_test({"event": "result", "id": "t", "kind": "failed", "points": 0, "max_points": 1, "message": "m"}, 1)
    assert (test.cause, test.translations, test.said("zh-TW")) == ("", None, "m")
    stored = ExerciseResult("x", Status.FAILED, 0, 1, 0.1, "m", [test]).to_json()["tests"][0]
    assert "cause" not in stored and "translations" not in stored
