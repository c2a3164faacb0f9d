"""Mutation score of the exercises' tests: how many small faults in the reference they catch.

    python bench/mutation.py [EXERCISE ...] [--workers N] [--survivors FILE] [--table FILE]

For each exercise (all, or those named: ``01`` or ``01_activations``) mutmut's engine writes
every mutant of the reference module ``solutions/NN_name/<module>.py`` into one copy of it,
each function behind a trampoline that runs the mutant named by ``MUTANT_UNDER_TEST``. The copy
sits in a scratch folder laid out like exercises/ and is graded with ``--target``, so the kit's
plugin imports it as it imports a hand-in. One warm process (torch, numpy, pytest imported)
forks a test process per mutant; each runs only the exercise's tests that call the mutated
function (and the tests they ``need``), stopping at the first failure. A mutant is killed when
a test fails (or turns into a skip, which the kit counts as a failure) or runs past its timeout.
Mutants listed in bench/mutation_equivalent.toml are equivalent: left out of the score.
The accuracy-threshold tests are replaced by a short training run (docs/mutation.md).

score = killed / (mutants - equivalent). Needs the ``mutation`` extra (pip install -e '.[mutation]').
"""
from __future__ import annotations

import argparse
import ast
import difflib
import json
import os
import shutil
import signal
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SOLUTIONS = ROOT / "solutions"
EQUIVALENT = Path(__file__).with_name("mutation_equivalent.toml")
# tests that train on the full dataset for minutes: replaced by QUICK_ACCURACY (06, 07) or left
# out (09's Fashion-MNIST tests train 06's and 07's models, never a function of 09's module)
THRESHOLD_TESTS = {"test_mnist_accuracy", "test_fashion_mnist_mlp", "test_fashion_mnist_cnn"}
QUICK_ACCURACY = {"06_mlp": ("MLP", 75.0), "07_cnn": ("SimpleCNN", 85.0)}  # class, bar (%): the reference 84.1, 93.0
QUICK_TRAIN, QUICK_TEST = 4000, 1000  # MNIST images: first N of the training and the test split
TIMEOUT_FACTOR, TIMEOUT_SLACK = 5.0, 20.0  # a mutant's timeout: factor * its tests' seconds + slack
PRELOAD = ("numpy", "torch", "torchvision", "pytest", "matplotlib.pyplot", "tqdm")


@dataclass
class Mutant:
    """One mutant: mutmut's name (``x_relu__mutmut_3``), the function it changes, where, and how."""

    name: str
    function: str  # Class.method or function
    line: int  # of the first changed line in the reference
    mutation: str  # its identity: the changed lines, '-' then '+', whitespace collapsed
    diff: str
    status: str = "not run"  # killed | timeout | survived | no tests | equivalent | error | not sampled
    reason: str = ""  # for an equivalent mutant
    tests: list[str] = field(default_factory=list)


def exercise_names(wanted: list[str]) -> list[str]:
    every = sorted(p.name for p in SOLUTIONS.iterdir() if p.is_dir() and p.name[:2].isdigit())
    if not wanted:
        return every
    chosen = [name for name in every if any(name == w or name.split("_")[0] == w for w in wanted)]
    missing = [w for w in wanted if not any(n == w or n.split("_")[0] == w for n in chosen)]
    if missing:
        raise SystemExit(f"no such exercise: {', '.join(missing)} (have {', '.join(every)})")
    return chosen


def module_file(exercise: str) -> Path:
    from grader.core import kit

    return SOLUTIONS / exercise / kit.exercise(exercise).file_name


def function_lines(source: str) -> dict[str, int]:
    """First line (decorators included) of each function and method: 'f' or 'Class.f' -> line."""
    lines: dict[str, int] = {}
    for node in ast.parse(source).body:
        inner = node.body if isinstance(node, ast.ClassDef) else [node]
        prefix = f"{node.name}." if isinstance(node, ast.ClassDef) else ""
        for fn in inner:
            if isinstance(fn, ast.FunctionDef | ast.AsyncFunctionDef):
                lines[prefix + fn.name] = min([fn.lineno, *(d.lineno for d in fn.decorator_list)])
    return lines


def function_of(mutant_name: str) -> str:
    """``xǁMLPǁ__init____mutmut_2`` -> ``MLP.__init__``; ``x_relu__mutmut_3`` -> ``relu``."""
    from mutmut.utils.format_utils import orig_function_and_class_names_from_key

    name, cls = orig_function_and_class_names_from_key(mutant_name)
    return f"{cls}.{name}" if cls else name


def describe(diff: str, start: int) -> tuple[int, str]:
    """(line in the reference, identity) of a function-relative unified diff."""
    offset, removed, added, first = 0, [], [], None
    for line in diff.splitlines()[2:]:  # after the ---/+++ header
        if line.startswith("@@"):
            offset = int(line.split()[1].split(",")[0].lstrip("-")) - 1
            continue
        if line.startswith("-"):
            removed.append(" ".join(line[1:].split()))
            first = offset if first is None else first
        elif line.startswith("+"):
            added.append(" ".join(line[1:].split()))
            first = offset if first is None else first
        if not line.startswith("+"):
            offset += 1
    return start + (first or 0), f"{' / '.join(removed)} -> {' / '.join(added)}"


def mutate(exercise: str, stage: Path) -> tuple[list[Mutant], str]:
    """Write the trampolined copy of ``exercise``'s module into ``stage``; its mutants and module name."""
    import libcst
    from mutmut.mutation.diff_apply import read_mutant_function, read_original_function
    from mutmut.mutation.file_mutation import mutate_file_contents

    path = module_file(exercise)
    source = path.read_text()
    mutated = mutate_file_contents(str(path), source)
    (stage / exercise / path.name).write_text(mutated.code)
    starts, relative = function_lines(source), str(path.relative_to(ROOT))
    tree, mutants = libcst.parse_module(mutated.code), []
    for name in mutated.mutant_names:  # the diff as `mutmut show` prints it, the file parsed once
        before, after = (libcst.Module([f]).code.strip().split("\n")
                         for f in (read_original_function(tree, name), read_mutant_function(tree, name)))
        diff = "\n".join(difflib.unified_diff(before, after, fromfile=relative, tofile=relative, lineterm=""))
        function = function_of(name)
        line, identity = describe(diff, starts.get(function, 1))
        mutants.append(Mutant(name, function, line, identity, diff))
    return mutants, f"graded_{exercise}_{path.stem}"  # the name grader/run/loader.py imports it under


def load_equivalent() -> dict[tuple[str, str, str], str]:
    """(exercise, function, mutation) -> reason, from bench/mutation_equivalent.toml."""
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib
    data = tomllib.loads(EQUIVALENT.read_text()) if EQUIVALENT.is_file() else {}
    return {(e["exercise"], e["function"], " ".join(e["mutation"].split())): e["reason"]
            for e in data.get("equivalent", [])}


class Probe:
    """Pytest plugin of a test process: leaves out or replaces the threshold tests, records which
    tests call which mutated function (the baseline run), shows the active mutant's signature to
    ``inspect`` and counts a skip of a test that passed in the baseline as a failure, as the kit does."""

    def __init__(self, exercise: str, baseline_passed: set[str] | None = None, active: str = "stats") -> None:
        self.exercise, self.baseline_passed, self.active = exercise, baseline_passed, active
        self.hits: dict[str, set[str]] = {}
        self.tests: dict[str, dict[str, Any]] = {}  # nodeid -> outcome, seconds, needs
        self.current: str | None = None
        self.skipped_a_passing_test = False

    def pytest_collection_modifyitems(self, config: Any, items: list[Any]) -> None:
        keep = [i for i in items if i.name not in THRESHOLD_TESTS or self.exercise in QUICK_ACCURACY]
        config.hook.pytest_deselected(items=[i for i in items if i not in keep])
        items[:] = keep
        for item in items:
            needs = [a for m in item.iter_markers("needs") for a in m.args]
            self.tests[item.nodeid] = {"outcome": "not run", "seconds": 0.0, "needs": needs, "name": item.originalname}

    def pytest_pyfunc_call(self, pyfuncitem: Any) -> bool | None:
        if pyfuncitem.name not in THRESHOLD_TESTS:
            return None
        quick_accuracy(getattr(pyfuncitem.funcargs["mod"], QUICK_ACCURACY[self.exercise][0]),
                       QUICK_ACCURACY[self.exercise][1])
        return True

    def pytest_runtest_setup(self, item: Any) -> None:
        self.current = item.nodeid

    def pytest_runtest_call(self, item: Any) -> None:
        """Point the trampoline's ``__wrapped__`` at the active mutant: mutmut's trampoline wraps the
        original, so ``inspect.signature`` (the kit's default-value checks) would otherwise read the
        original's defaults, and a mutated default would survive every signature test."""
        module_name, _, mutant = self.active.rpartition(".")
        module = sys.modules.get(module_name)
        if module is None:
            return
        owner_name, _, function = function_of(mutant).rpartition(".")
        owner = getattr(module, owner_name) if owner_name else module
        trampoline, mutated = vars(owner).get(function), vars(owner).get(mutant)
        if trampoline is not None and mutated is not None:
            trampoline.__wrapped__ = mutated

    def pytest_runtest_logreport(self, report: Any) -> None:
        record = self.tests[report.nodeid]
        record["seconds"] += report.duration
        if record["outcome"] != "failed" and (report.when == "call" or not report.passed):
            record["outcome"] = report.outcome
        if report.skipped and self.baseline_passed is not None and report.nodeid in self.baseline_passed:
            self.skipped_a_passing_test = True

    def hit(self, qualified: str, caller: Any = None) -> None:
        if self.current is not None:
            self.hits.setdefault(qualified.rpartition(".")[2], set()).add(self.current)

    def watch_signatures(self) -> None:
        """Count ``inspect.signature`` of a trampolined function (a class: its ``__init__``) as a
        call of it, so the tests that only read a function's defaults cover its mutants too."""
        import inspect

        from mutmut.utils.format_utils import make_mutant_key

        original = inspect.signature

        def signature(obj: Any, *args: Any, **kwargs: Any) -> inspect.Signature:
            function = vars(obj).get("__init__") if isinstance(obj, type) else obj
            inner = getattr(function, "__wrapped__", None)
            if inner is not None:
                owner, _, name = getattr(inner, "__qualname__", "").rpartition(".")
                self.hit(make_mutant_key(name, owner or None))
            return original(obj, *args, **kwargs)

        inspect.signature = signature


def quick_accuracy(build: Any, bar: float) -> None:
    """The threshold tests' property, cheaply: ``build()`` trained one epoch on the first
    QUICK_TRAIN MNIST training images reaches ``bar`` % on the first QUICK_TEST test images."""
    import torch

    from grader.data.datasets import load_tensors
    from grader.train.harness import accuracy, deterministic, seed_everything, train_classifier

    x, y = load_tensors("mnist", train=True)
    x_test, y_test = load_tensors("mnist", train=False)
    seed_everything(0)
    model, cpu = build(), torch.device("cpu")
    with deterministic(cpu):
        train_classifier(model, x[:QUICK_TRAIN], y[:QUICK_TRAIN], epochs=1, device=cpu, batch_size=64, lr=0.002)
        score = accuracy(model, x_test[:QUICK_TEST], y_test[:QUICK_TEST], cpu)
    assert score >= bar, f"quick accuracy {score:.1f}% < {bar}%"


def pytest_args(stage: Path, tests: list[str]) -> list[str]:
    return [*tests, "--target", str(stage), "--device", "cpu", "-x", "-q", "-p", "no:cacheprovider"]


def baseline(exercise: str, stage: Path, out: Path) -> dict[str, Any]:
    """Run every test once with no mutant active (in a forked test process, which writes ``out``):
    which tests call which function, their outcomes and times."""
    pid = start(exercise, stage, "stats", [str(ROOT / "exercises" / exercise)], set(), out)
    code = os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])
    if not out.is_file():
        raise SystemExit(f"{exercise}: the baseline run crashed (exit code {code})")
    return json.loads(out.read_text())


def covering(mutant: Mutant, stats: dict[str, Any]) -> list[str]:
    """The tests calling the mutant's function, with the tests they need, in collection order."""
    mangled = mutant.name.partition("__mutmut_")[0]
    chosen = set(stats["hits"].get(mangled, ()))
    by_name = {t["name"]: nodeid for nodeid, t in stats["tests"].items() if "name" in t}
    pending = list(chosen)
    while pending:
        for need in stats["tests"][pending.pop()]["needs"]:
            if by_name.get(need) and by_name[need] not in chosen:
                chosen.add(by_name[need])
                pending.append(by_name[need])
    return [t for t in stats["tests"] if t in chosen]


def run_mutants(exercise: str, stage: Path, module: str, mutants: list[Mutant], stats: dict[str, Any],
                workers: int) -> None:
    """Test the mutants not yet decided, ``workers`` test processes at a time."""
    passed = {t for t, r in stats["tests"].items() if r["outcome"] == "passed"}
    queue = [m for m in mutants if m.status == "not run"]
    running: dict[int, tuple[Mutant, float]] = {}
    for mutant in queue:
        mutant.tests = covering(mutant, stats)
        if not mutant.tests:
            mutant.status = "no tests"
    queue = [m for m in queue if m.status == "not run"]
    decided, total = 0, len(queue)
    while queue or running:
        while queue and len(running) < workers:
            mutant = queue.pop(0)
            seconds = sum(stats["tests"][t]["seconds"] for t in mutant.tests)
            running[start(exercise, stage, f"{module}.{mutant.name}", mutant.tests, passed)] = \
                (mutant, time.monotonic() + TIMEOUT_FACTOR * seconds + TIMEOUT_SLACK)
        time.sleep(0.02)
        for pid, (mutant, deadline) in list(running.items()):
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                code = os.waitstatus_to_exitcode(status)
                mutant.status = {0: "survived", 1: "killed"}.get(code, "error")
                if mutant.status == "error":
                    mutant.reason = f"test process exit code {code}"
            elif time.monotonic() > deadline:
                os.killpg(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
                mutant.status = "timeout"
            else:
                continue
            del running[pid]
            decided += 1
            if decided % 20 == 0:
                print(f"{exercise}: {decided}/{total} mutants tested", file=sys.stderr, flush=True)


def start(exercise: str, stage: Path, active: str, tests: list[str], passed: set[str], out: Path | None = None) -> int:
    """Fork a test process running ``tests`` with mutant ``active`` ("stats": none, and the calls of
    each function are recorded into ``out``); its pid. Its exit code is pytest's."""
    pid = os.fork()
    if pid:
        return pid
    code = 3
    try:
        os.setpgid(0, 0)
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, 1)
        os.dup2(null, 2)
        import pytest
        import torch
        from mutmut.mutation import trampoline

        torch.set_num_threads(1)
        probe = Probe(exercise, passed, active)
        if active == "stats":
            probe.watch_signatures()
        trampoline.record_trampoline_hit = probe.hit
        trampoline.set_mutant_under_test(active)
        code = int(pytest.main(pytest_args(stage, tests), plugins=[probe]))
        code = 1 if probe.skipped_a_passing_test else code
        if out is not None:
            out.write_text(json.dumps({"code": code, "tests": probe.tests,
                                       "hits": {k: sorted(v) for k, v in probe.hits.items()}}))
    finally:
        os._exit(code)


def measure(exercise: str, workers: int, equivalent: dict[tuple[str, str, str], str], every: int) -> dict[str, Any]:
    """Mutate ``exercise`` and test its mutants, in a forked process that collects the tests once
    first (its test processes, forked from it, find the test modules imported); its figures."""
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="mutation-") as scratch:
        out = Path(scratch) / "row.json"
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                out.write_text(json.dumps(serve(exercise, Path(scratch), workers, equivalent, every)))
                code = 0
            finally:
                os._exit(code)
        code = os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])
        if code != 0 or not out.is_file():
            raise SystemExit(f"{exercise}: the measurement failed (exit code {code})")
        mutants = [Mutant(**m) for m in json.loads(out.read_text())]
    made = len(mutants)
    mutants = [m for m in mutants if m.status != "not sampled"]
    count = {s: sum(m.status == s for m in mutants) for s in ("killed", "timeout", "survived", "no tests",
                                                                "equivalent", "error")}
    killed = count["killed"] + count["timeout"]
    scored = len(mutants) - count["equivalent"]
    return {"exercise": exercise, "mutants": len(mutants), "made": made, "killed": killed, "timeouts": count["timeout"],
            "equivalent": count["equivalent"], "survived": count["survived"] + count["no tests"],
            "no_tests": count["no tests"], "errors": count["error"],
            "score": round(killed / scored, 4) if scored else 1.0,
            "seconds": round(time.perf_counter() - started, 1), "mutant_list": [asdict(m) for m in mutants]}


def serve(exercise: str, scratch: Path, workers: int, equivalent: dict[tuple[str, str, str], str],
          every: int) -> list[dict]:
    """The exercise's mutants, tested (every ``every``-th one): stage the reference, collect the
    tests, run the baseline and each mutant (in test processes forked from here)."""
    import pytest

    stage = scratch / "target"
    for reference in SOLUTIONS.glob("[0-9]*/*.py"):  # other exercises too: 09 trains 06's and 07's models
        (stage / reference.parent.name).mkdir(parents=True, exist_ok=True)
        shutil.copy(reference, stage / reference.parent.name / reference.name)
    mutants, module = mutate(exercise, stage)
    for index, m in enumerate(mutants):
        reason = equivalent.get((exercise, m.function, m.mutation))
        if index % every:
            m.status = "not sampled"
        elif reason:
            m.status, m.reason = "equivalent", reason
    null = os.open(os.devnull, os.O_WRONLY)
    saved = os.dup(1), os.dup(2)
    os.dup2(null, 1)
    os.dup2(null, 2)
    pytest.main([*pytest_args(stage, [str(ROOT / "exercises" / exercise)]), "--collect-only"])
    os.dup2(saved[0], 1)
    os.dup2(saved[1], 2)
    stats = baseline(exercise, stage, scratch / "baseline.json")
    failing = sorted(t for t, r in stats["tests"].items() if r["outcome"] == "failed")
    if failing:
        raise SystemExit(f"{exercise}: the reference fails {failing} without a mutant")
    run_mutants(exercise, stage, module, mutants, stats, workers)
    return [asdict(m) for m in mutants]


def table(rows: list[dict[str, Any]]) -> str:
    head = f"{'exercise':<16} {'mutants':>7} {'killed':>7} {'equiv.':>7} {'survived':>8} {'score':>6} {'seconds':>8}"
    lines = [head]
    for r in rows:
        lines.append(f"{r['exercise']:<16} {r['mutants']:>7} {r['killed']:>7} {r['equivalent']:>7} "
                     f"{r['survived']:>8} {r['score']:>6.1%} {r['seconds']:>8.0f}")
    return "\n".join(lines)


def survivors(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{"exercise": r["exercise"], "function": m["function"], "line": m["line"], "mutant": m["name"],
             "mutation": m["mutation"], "no_covering_test": m["status"] == "no tests", "diff": m["diff"]}
            for r in rows for m in r["mutant_list"] if m["status"] in ("survived", "no tests")]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("exercises", nargs="*", metavar="EXERCISE", help="e.g. 01 or 01_activations (default: all)")
    parser.add_argument("--workers", type=int, default=2, help="test processes at a time (default 2)")
    parser.add_argument("--every", type=int, default=1, metavar="K",
                        help="test only every K-th mutant of each exercise: a sample, for an estimate (default 1: all)")
    parser.add_argument("--survivors", type=Path, metavar="FILE", help="write the surviving mutants here (JSON)")
    parser.add_argument("--table", type=Path, metavar="FILE", help="write the per-exercise figures here (JSON)")
    args = parser.parse_args(argv)
    os.chdir(ROOT)  # mutmut reads its settings from pyproject.toml in the working folder
    os.environ.setdefault("MPLBACKEND", "Agg")
    for name in PRELOAD:  # once, in this process: every test process is forked from it
        __import__(name)
    equivalent, rows, started = load_equivalent(), [], time.perf_counter()
    for exercise in exercise_names(args.exercises):
        rows.append(measure(exercise, args.workers, equivalent, max(1, args.every)))
        errors = f", {rows[-1]['errors']} errors" if rows[-1]["errors"] else ""
        print(f"{exercise}: {rows[-1]['mutants']} mutants, score {rows[-1]['score']:.1%}{errors}, "
              f"{rows[-1]['seconds']:.0f} s", file=sys.stderr, flush=True)
    total = time.perf_counter() - started
    print(table(rows))
    sample = f", a sample: every {args.every}th mutant" if args.every > 1 else ""
    print(f"run time: {total:.0f} s, {args.workers} workers{sample}")
    if args.table:
        args.table.write_text(json.dumps({"seconds": round(total, 1), "workers": args.workers, "every": args.every,
                                          "exercises": [{k: v for k, v in r.items() if k != "mutant_list"}
                                                        for r in rows]}, indent=2) + "\n")
    if args.survivors:
        args.survivors.write_text(json.dumps(survivors(rows), indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
