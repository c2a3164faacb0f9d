"""What grading one exercise produces: a status per exercise, a kind and an outcome per test.

``Status`` is a string enum: its members are the very strings of the results JSON (``not_started``
with an underscore), so they compare equal to them, print as them and serialise as them.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from enum import Enum


class Status(str, Enum):
    """An exercise's status, and (all but TIMEOUT) the kind of one of its tests.

    A test is PASSED, FAILED, NOT_STARTED (a stub's NotImplementedError), ERROR (the module does
    not import, a fixture failed, or the run cannot be trusted), BLOCKED (a test it needs did not
    pass) or SKIPPED (only the kit's own tests may skip). An exercise is also TIMEOUT."""

    PASSED = "passed"
    FAILED = "failed"
    NOT_STARTED = "not_started"
    ERROR = "error"
    TIMEOUT = "timeout"
    BLOCKED = "blocked"
    SKIPPED = "skipped"

    def __str__(self) -> str:
        return str(self.value)

    def __format__(self, spec: str) -> str:
        return format(str(self.value), spec)

    @property
    def label(self) -> str:
        """How a person reads it: ``not started``."""
        return str(self.value).replace("_", " ")

    @property
    def outcome(self) -> Status:
        """A test kind as the JSON contract's outcome: passed, failed, error or skipped."""
        return {Status.NOT_STARTED: Status.FAILED, Status.BLOCKED: Status.SKIPPED}.get(self, self)


TEST_KINDS = frozenset(Status) - {Status.TIMEOUT}

Progress = Callable[[str, int, int], None]  # a slow test's (label, steps done, steps planned)
TestProgress = Callable[[str, str, int, int], None]  # the same, of the test with this id (first)


@dataclass
class TestResult:
    id: str
    outcome: Status  # the kind's outcome: passed | failed | error | skipped (the JSON contract)
    kind: Status  # one of TEST_KINDS
    points: int
    max_points: int
    message: str = ""
    metrics: dict | None = None  # what a threshold test measured (accuracy, threshold, epochs, ...)
    cause: str = ""  # the failure's key in its table (grader/core/failures.py), when it has one
    translations: dict[str, str] | None = None  # the message in the other languages, by language

    def __post_init__(self) -> None:  # also from the strings of a stored result
        self.outcome, self.kind = Status(self.outcome), Status(self.kind)

    def said(self, lang: str) -> str:
        """The message in ``lang`` when the test has it translated, else as recorded."""
        return (self.translations or {}).get(lang, self.message)


@dataclass
class ExerciseResult:
    name: str
    status: Status
    points: int
    max_points: int
    seconds: float
    message: str = ""
    tests: list[TestResult] = field(default_factory=list)
    bonus: bool = False
    output: str = ""
    peak_memory_mb: float | None = None
    cached_age: float | None = None  # seconds since it was graded, when it comes from the cache

    def __post_init__(self) -> None:  # also from the strings of a stored result
        self.status = Status(self.status)

    @property
    def passed_tests(self) -> int:
        return sum(t.kind == Status.PASSED for t in self.tests)

    def to_json(self) -> dict:
        data = asdict(self)
        data.pop("output")
        data["cached"] = data.pop("cached_age") is not None
        for test in data["tests"]:
            test.pop("kind")
            for optional in ("metrics", "cause", "translations"):
                if not test[optional]:
                    del test[optional]
        data["seconds"] = round(self.seconds, 2)
        return data
