"""The contracts in docs/ stay true: every command and option the program accepts is in the CLI
reference, and no project file points at a document outside the repository."""
from __future__ import annotations

import re

import pytest

from grader.cli.main import main
from grader.cli.parser import GRADE, build
from grader.core import kit

REFERENCE = (kit.KIT_ROOT / "docs" / "cli.md").read_text()


def help_text(command: list[str], capsys) -> str:
    with pytest.raises(SystemExit):
        main([*command, "--help"])
    return capsys.readouterr().out


@pytest.mark.parametrize("command", [[], *([name] for name in build()[1] if name != GRADE)])
def test_the_cli_reference_describes_every_command_and_option(command, capsys):
    options = set(re.findall(r"(?<![\w-])(--[a-z][\w-]*)", help_text(command, capsys))) - {"--help"}
    assert command == [] or f"## `grader {command[0]}" in REFERENCE, f"docs/cli.md has no section for {command[0]}"
    missing = sorted(o for o in options if f"`{o}" not in REFERENCE)
    assert not missing, f"docs/cli.md does not describe {missing} of grader {' '.join(command)}"


def test_no_project_file_cites_a_document_outside_the_repository():
    cited = [str(p.relative_to(kit.KIT_ROOT)) for folder in ("grader", "docs", "exercises", "solutions", "tests", "bench")
             for p in (kit.KIT_ROOT / folder).rglob("*") if p.suffix in (".py", ".md", ".toml") and p.is_file()
             and re.search(r"\bKIT\.md\b|\bCURRICULUM\.md\b|\.\./shared/", p.read_text(errors="replace"))
             and p.name != "test_docs.py"]
    assert not cited, f"these cite documents that are not in the repository: {cited}"


def test_the_architecture_page_names_every_module_of_the_grader():
    page = (kit.KIT_ROOT / "docs" / "architecture.md").read_text()

    def section(package: str) -> str:
        return page.split(f"## `grader/{package}/`")[-1].split("\n## ")[0] if f"## `grader/{package}/`" in page else ""

    missing = [f"{path.parent.name}/{path.name}" for path in sorted((kit.KIT_ROOT / "grader").glob("*/*.py"))
               if path.name != "__init__.py" and f"`{path.name}`" not in section(path.parent.name)]
    assert not missing, f"docs/architecture.md does not describe {missing}"
