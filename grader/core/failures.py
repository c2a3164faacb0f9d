"""Failure messages by cause: each failing check names a stable key and says it in both languages.

A table is a TOML file of one table per cause, each with an ``en`` and a ``zh-TW`` format string
over the same fields::

    [relu_negative]
    en = "relu({x}) returned {got}; it must be 0 for every negative input"
    zh-TW = "relu({x}) 回傳 {got}；負數輸入的結果必須是 0"

An exercise's tests keep theirs in ``failures.toml`` beside them and fail with
``raise FAIL("relu_negative", x=x, got=got)`` where ``FAIL = failures.table(__file__)``; a shared
check module ``grader/checks/<name>.py`` keeps its own in ``<name>.toml`` beside it
(``FAIL = failures.module_table(__file__)``). The exception's text is the English one (what pytest
and the results JSON show); the key travels to the results as the test's ``cause``
(``<scope>.<key>``: ``01_activations.relu_negative``, ``model_checks.dropout_missing``), and the
other language's text as its ``translations``, so a class report can group failures by cause and
the scorecard can speak the learner's language.
"""
from __future__ import annotations

import string
from dataclasses import dataclass
from pathlib import Path
from typing import Any

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib  # type: ignore[no-redef]

LANGUAGES = ("en", "zh-TW")
FILE_NAME = "failures.toml"


class Failure(AssertionError):
    """A failed check: ``key`` names its cause, ``texts`` holds its message per language."""

    def __init__(self, key: str, texts: dict[str, str]) -> None:
        super().__init__(texts["en"])
        self.key = key
        self.texts = texts


def joined(key: str, parts: list[Failure], separator: str = "; ") -> Failure:
    """Several findings as one failure under ``key``, each language's texts joined by ``separator``
    (one check that finds three wrong defaults says all three)."""
    return Failure(key, {lang: separator.join(part.texts[lang] for part in parts) for lang in LANGUAGES})


def fields(template: str) -> set[str]:
    """The field names a format string fills: ``"{x} got {got:.3f}"`` -> {"x", "got"}."""
    return {name.split(".")[0].split("[")[0] for _, name, _, _ in string.Formatter().parse(template) if name}


def problems(entries: dict[str, Any]) -> list[str]:
    """What is wrong with a table's entries: a missing language, or languages over other fields."""
    found = []
    for key, entry in entries.items():
        if not isinstance(entry, dict) or set(entry) != set(LANGUAGES) or not all(isinstance(t, str) for t in entry.values()):
            found.append(f"{key}: needs exactly the strings {', '.join(LANGUAGES)}")
        elif len({frozenset(fields(t)) for t in entry.values()}) > 1:
            found.append(f"{key}: the languages fill different fields ({entry['en']!r} / {entry['zh-TW']!r})")
    return found


@dataclass(frozen=True)
class Table:
    """One file's causes: ``table(key, **values)`` is the Failure to raise."""

    path: Path
    entries: dict[str, dict[str, str]]

    @property
    def scope(self) -> str:
        """What a cause key starts with: the exercise folder's name, or the check module's."""
        return self.path.parent.name if self.path.name == FILE_NAME else self.path.stem

    def __call__(self, key: str, **values: Any) -> Failure:
        """A value that is itself a Failure fills its field with its own text in each language (a finding
        inside another: "tanh_grad inherits the fault of your tanh: {fault}")."""
        entry = self.entries[key]
        return Failure(f"{self.scope}.{key}", {lang: entry[lang].format(**{
            name: value.texts[lang] if isinstance(value, Failure) else value for name, value in values.items()})
            for lang in LANGUAGES})


def load(path: Path) -> Table:
    """The table in ``path``; raises ValueError naming each malformed entry."""
    with open(path, "rb") as handle:
        entries = tomllib.load(handle)
    found = problems(entries)
    if found:
        raise ValueError(f"{path}: " + "; ".join(found))
    return Table(path, entries)


def table(test_file: str | Path) -> Table:
    """The table of an exercise's tests: ``failures.toml`` beside ``test_file`` (its ``__file__``)."""
    return load(Path(test_file).with_name(FILE_NAME))


def module_table(module_file: str | Path) -> Table:
    """The table of a shared check module: ``<name>.toml`` beside ``<name>.py`` (its ``__file__``)."""
    return load(Path(module_file).with_suffix(".toml"))
