"""exercises/kit.toml is the one list of exercises: the grader reads it, `grader check` holds the
folders and the README tables against it."""
from __future__ import annotations

from pathlib import Path

import pytest
from fake_kit import make_kit, use_kit

from grader.cli.check import manifest_problems
from grader.core import kit


@pytest.fixture
def fake(tmp_path, monkeypatch) -> Path:
    return use_kit(monkeypatch, make_kit(tmp_path / "kit"))


def test_the_kit_agrees_with_its_manifest():
    assert manifest_problems() == []
    assert kit.exercise_names() == sorted(p.name for p in kit.EXERCISES_DIR.iterdir() if p.is_dir() and p.name[:2].isdigit())
    assert kit.exercise("04_train").module == "train" and kit.exercise("09_experiments").bonus


def test_the_manifest_sets_the_order_module_and_bonus(fake):
    (fake / "exercises" / "kit.toml").write_text('[02_beta]\nmodule = "beta"\nbonus = true\n\n[01_alpha]\nmodule = "alpha"\n')
    assert kit.exercise_names() == ["02_beta", "01_alpha"]
    assert kit.exercise("02_beta").bonus and not kit.exercise("01_alpha").bonus
    assert kit.resolve_names(["01"]) == ["01_alpha"]


def test_an_unlisted_folder_and_a_missing_module_are_named(fake):
    (fake / "exercises" / "kit.toml").write_text('[01_alpha]\nmodule = "alfa"\n')
    problems = manifest_problems()
    assert "exercises/02_beta/ is not listed in exercises/kit.toml" in problems
    assert any("'alfa'" in p and "exercises/01_alpha/alfa.py is missing" in p for p in problems)
    assert any("solutions/01_alpha/alfa.py is missing" in p for p in problems)


def test_a_readme_table_that_is_not_the_manifest_is_named(fake):
    (fake / "README.md").write_text("| | exercise |\n|---|---|\n| 01 | `alpha` | a |\n| 02 | `beta` (bonus) | b |\n")
    assert any(p.startswith("README.md: the exercise table") for p in manifest_problems())
    (fake / "README.md").write_text("| | exercise |\n|---|---|\n| 01 | `alpha` | a |\n| 02 | `beta` | b |\n")
    assert manifest_problems() == []


def test_a_broken_manifest_says_which_file(fake):
    (fake / "exercises" / "kit.toml").write_text("[01_alpha\n")
    with pytest.raises(kit.ManifestError, match="kit.toml"):
        kit.exercise_names()
    (fake / "exercises" / "kit.toml").write_text("[01_alpha]\nbonus = true\n")
    with pytest.raises(kit.ManifestError, match=r"\[01_alpha\] needs module"):
        kit.exercise_names()

