"""Target: which implementation is graded, its pytest options and how a command line names it."""
from __future__ import annotations

from fake_kit import make_kit, use_kit

from grader.core.target import Target


def test_the_three_targets(tmp_path, monkeypatch):
    root = use_kit(monkeypatch, make_kit(tmp_path / "kit"))
    assert (Target().folder, Target().options, Target().flag) == (root / "exercises", [], "")
    assert (Target(solutions=True).folder, Target(solutions=True).options) == (root / "solutions", ["--solutions"])
    handin = Target.handin(tmp_path / "my work")
    assert handin.is_handin and handin.options == ["--target", str((tmp_path / "my work").resolve())]
    assert handin.flag == f"--target '{tmp_path / 'my work'}'"


def test_a_handin_that_is_holds_or_lies_in_the_reference_reveals_it(tmp_path, monkeypatch):
    root = use_kit(monkeypatch, make_kit(tmp_path / "kit"))
    assert Target.handin(root / "solutions").reveals_solutions()
    assert Target.handin(root / "solutions" / "01_alpha").reveals_solutions()
    assert Target.handin(root).reveals_solutions()
    assert not Target.handin(tmp_path / "alice").reveals_solutions()
    assert not Target(solutions=True).reveals_solutions()  # the reference itself, by its own flag


def test_a_student_copy_has_no_reference_to_reveal(tmp_path, monkeypatch):
    root = use_kit(monkeypatch, make_kit(tmp_path / "kit"))
    monkeypatch.setattr("grader.core.kit.SOLUTIONS_DIR", root / "no-solutions")
    assert not Target.handin(root).reveals_solutions()
