"""Which implementation is graded: the learner's exercises/ (the default), the kit's solutions/
(``--solutions``) or a hand-in folder laid out like exercises/ (``--target DIR``)."""
from __future__ import annotations

import shlex
from dataclasses import dataclass
from pathlib import Path

from grader.core import kit


@dataclass(frozen=True)
class Target:
    """The graded implementation; ``given`` is ``--target DIR`` as typed (None: not a hand-in)."""

    solutions: bool = False
    given: str | None = None

    @classmethod
    def handin(cls, folder: str | Path) -> Target:
        return cls(given=str(folder))

    @property
    def folder(self) -> Path:
        """The folder graded."""
        if self.solutions:
            return kit.SOLUTIONS_DIR
        return Path(self.given).resolve() if self.given else kit.EXERCISES_DIR

    @property
    def is_handin(self) -> bool:
        return not self.solutions and self.given is not None

    @property
    def options(self) -> list[str]:
        """The plugin's pytest options that grade it."""
        if self.solutions:
            return ["--solutions"]
        return ["--target", str(self.folder)] if self.given else []

    @property
    def flag(self) -> str:
        """The option that chooses it on a command line ('' for exercises/)."""
        if self.solutions:
            return "--solutions"
        return f"--target {shlex.quote(self.given)}" if self.given else ""

    def reveals_solutions(self) -> bool:
        """True for a hand-in that is, holds or lies inside the kit's solutions/: grading it would
        grade (or expose) the reference."""
        if not self.is_handin or not kit.SOLUTIONS_DIR.is_dir():  # a student copy has no reference
            return False
        solutions, folder = kit.SOLUTIONS_DIR.resolve(), self.folder
        return folder.is_relative_to(solutions) or solutions.is_relative_to(folder)
