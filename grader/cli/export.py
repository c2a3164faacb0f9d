"""``grader export gradescope OUT.zip``: the kit as a Gradescope autograder, and the grading it runs there.

The bundle holds ``setup.sh`` (run once when Gradescope builds the image: Python, CPU-only torch,
the kit, then ``grader data`` so that grading never downloads), ``run_autograder`` (run for each
submission) and ``kit/``: the student copy of ``grader release`` (no ``solutions/``, no
``tests/``, scanned for leaks).

``run_autograder`` calls :func:`run_autograder`: the upload in ``$ROOT/submission`` becomes a
hand-in folder laid out like ``exercises/`` (``NN_name/module.py`` folders, anywhere in the
upload, or bare module files mapped by name), the exercises are graded as with ``--target``,
and ``$ROOT/results/results.json`` is written in Gradescope's format. ``ROOT`` is
``$GRADESCOPE_ROOT``, else ``/autograder``. Whatever the upload holds, results.json is written.
"""
from __future__ import annotations

import ast
import os
import shutil
import sys
import tempfile
import time
import traceback
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from grader.cli.parser import autograder_parser
from grader.cli.settings import DEFAULT_MEMORY, Settings, decide_sandbox, seconds, size
from grader.core import kit
from grader.core.files import write_json
from grader.core.results import ExerciseResult, Status
from grader.core.target import Target
from grader.report.scorecard import status_label, to_gradescope
from grader.run.limits import Limits
from grader.run.runner import DEFAULT_TIMEOUT

JUNK_DIRS = {"__MACOSX", "__pycache__", ".git", ".ipynb_checkpoints"}
LISTED = 12  # names listed per line of the upload report
CPU_WHEELS = "https://download.pytorch.org/whl/cpu"
HIDE_ENV = "GRADER_HIDE_THRESHOLDS"

SETUP_SH = """#!/usr/bin/env bash
# Gradescope runs this once, as root, when it builds the autograder image.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
apt-get update
apt-get install -y --no-install-recommends python3 python3-venv python3-pip bubblewrap
# Fashion-MNIST from Debian/Ubuntu where the package exists; otherwise grader data downloads it.
apt-get install -y --no-install-recommends dataset-fashion-mnist || true
python3 -m venv /autograder/venv
/autograder/venv/bin/pip install --upgrade pip
# CPU-only wheels: Gradescope has no GPU, and the CUDA wheels are gigabytes.
/autograder/venv/bin/pip install --index-url {cpu_wheels} {torch_specs}
/autograder/venv/bin/pip install -e /autograder/source/kit
cd /autograder/source/kit
# Fetch and verify MNIST and Fashion-MNIST now, so that grading never downloads.
/autograder/venv/bin/grader data
/autograder/venv/bin/grader data --check
"""

RUN_AUTOGRADER = """#!/usr/bin/env bash
# Gradescope runs this for every submission: grade /autograder/submission into
# /autograder/results/results.json. GRADESCOPE_ROOT replaces /autograder (for trying it locally);
# GRADER_EXERCISES (e.g. "01 03") grades only those exercises; GRADER_TIMEOUT is per exercise.
ROOT="${{GRADESCOPE_ROOT:-/autograder}}"
export GRADER_KIT_ROOT="$ROOT/source/kit"
export PYTHONPATH="$GRADER_KIT_ROOT${{PYTHONPATH:+:$PYTHONPATH}}"  # this kit's grader, also inside the sandbox
export {hide_env}="${{{hide_env}:-{hide}}}"
cd "$GRADER_KIT_ROOT"
exec "${{GRADER_PYTHON:-/autograder/venv/bin/python}}" -m grader.cli.export --root "$ROOT"
"""


def module_files() -> dict[str, list[str]]:
    """Exercise -> the file names of its module(s): the stubs in exercises/NN_name/ that are not tests."""
    return {name: sorted(p.name for p in (kit.EXERCISES_DIR / name).glob("*.py") if not p.name.startswith("test_"))
            for name in kit.exercise_names()}


def threshold_tests() -> dict[str, list[str]]:
    """Exercise -> its threshold tests: in an exercise that reads a dataset (exercises/kit.toml), the
    tests named for MNIST that wait for the exercise's other tests (``needs``): those train a model to
    an accuracy threshold. These are what --hide-thresholds shows only after the due date."""
    found: dict[str, list[str]] = {}
    for name in kit.exercise_names():
        if not kit.datasets_needed(name):
            continue
        tests = [node.name for path in kit.test_files(name) for node in ast.parse(path.read_text()).body
                 if isinstance(node, ast.FunctionDef) and node.name.startswith("test_") and "mnist" in node.name
                 and any(isinstance(d, ast.Call) and isinstance(d.func, ast.Attribute) and d.func.attr == "needs"
                         for d in node.decorator_list)]
        if tests:
            found[name] = tests
    return found


# ---------------------------------------------------------------- the bundle

def _add(bundle: zipfile.ZipFile, name: str, data: bytes, executable: bool = False) -> None:
    info = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))
    info.external_attr = (0o100755 if executable else 0o100644) << 16
    info.compress_type = zipfile.ZIP_DEFLATED
    bundle.writestr(info, data)


def export_gradescope(out_arg: str, hide_thresholds: bool = False) -> int:
    """Write the Gradescope bundle to ``out_arg``; 0 written, 1 the kit copy leaks solution code, 2 refused."""
    from grader.cli.release import release

    out = Path(out_arg).expanduser().resolve()
    if out.is_dir():
        print(f"grader export: {out_arg} is a folder; give the zip file to write", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="grader-export-") as tmp:
        copy = Path(tmp) / "kit"
        status = release(str(copy))
        if status != 0:
            print("grader export: no bundle written (the kit copy is not clean)", file=sys.stderr)
            return status
        specs = " ".join(f'"{s}"' for s in kit.torch_requirements(copy / "pyproject.toml"))
        out.parent.mkdir(parents=True, exist_ok=True)
        fd, partial = tempfile.mkstemp(dir=out.parent, prefix=f".{out.name}.", suffix=".tmp")
        os.close(fd)
        try:
            with zipfile.ZipFile(partial, "w") as bundle:
                _add(bundle, "setup.sh", SETUP_SH.format(cpu_wheels=CPU_WHEELS, torch_specs=specs).encode(), True)
                _add(bundle, "run_autograder",
                     RUN_AUTOGRADER.format(hide_env=HIDE_ENV, hide=int(hide_thresholds)).encode(), True)
                for path in sorted(p for p in copy.rglob("*") if p.is_file()):
                    _add(bundle, f"kit/{path.relative_to(copy).as_posix()}", path.read_bytes())
            os.replace(partial, out)
        except BaseException:
            Path(partial).unlink(missing_ok=True)
            raise
    print(f"Wrote {out}: setup.sh, run_autograder and the kit (no solutions/, no tests/).")
    hidden = threshold_tests()
    if hide_thresholds:
        print("Shown after the due date only: "
              + "; ".join(f"{name}: {', '.join(tests)}" for name, tests in hidden.items()))
    print("Upload it as the autograder of a Gradescope programming assignment; see docs/grading-a-class.md "
          "for the memory and time to give it.")
    return 0


# ---------------------------------------------------------------- grading a submission

@dataclass
class Upload:
    """What was found in a submission: exercise -> [(module file, where in the upload)], and the rest."""
    found: dict[str, list[tuple[str, str]]] = field(default_factory=dict)
    missing: list[tuple[str, str]] = field(default_factory=list)  # (exercise, module file)
    ignored: list[str] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)

    def report(self) -> list[str]:
        """Learner-facing lines: what was graded from where, what is missing, what was not used."""
        lines = []
        moved = [f"{where} as {name}/{module}" for name, pairs in self.found.items()
                 for module, where in pairs if where != f"{name}/{module}"]
        if moved:
            lines.append("Used " + _listing(moved) + ".")
        if self.missing:
            lines.append("Missing (those tests score 0): " + _listing(
                [f"{module} (upload it as {module} or {name}/{module})" for name, module in self.missing]) + ".")
        if self.duplicates:
            lines.append("Found more than once, first one used: " + _listing(self.duplicates) + ".")
        if self.ignored:
            expected = sorted({m for pairs in module_files().values() for m in pairs})
            lines.append("Not used (not a module of these exercises): " + _listing(self.ignored)
                         + f". Expected files: {', '.join(expected)}.")
        return lines


def _listing(items: list[str]) -> str:
    return ", ".join(items[:LISTED]) + (f" and {len(items) - LISTED} more" if len(items) > LISTED else "")


def _files(submission: Path) -> list[Path]:
    """The upload's files (and links to files), shallowest first, then by path; archive junk skipped."""
    found = []
    for folder, dirs, files in os.walk(submission):
        dirs[:] = [d for d in dirs if d not in JUNK_DIRS and not d.startswith(".")]
        found += [Path(folder, f) for f in files if not f.startswith(".")]
    return sorted(found, key=lambda p: (len(p.relative_to(submission).parts), p.as_posix()))


def collect_upload(submission: Path, handin: Path, names: list[str]) -> Upload:
    """Copy the modules of ``names`` from ``submission`` into ``handin`` (laid out like exercises/).

    A file counts for an exercise when its folder is named like the exercise (``01_activations/
    activations.py``, at any depth) or, failing that, when its bare name is the exercise's module
    (``activations.py`` anywhere). Symlinks are never followed.
    """
    modules = module_files()
    owner = {module: name for name in names for module in modules.get(name, [])}
    upload, placed = Upload(), {}
    found = _files(submission) if submission.is_dir() else []
    files = [p for p in found if not p.is_symlink()]
    in_folder = [p for p in files if p.parent.name in names and p.name in modules.get(p.parent.name, [])]
    bare = [p for p in files if p not in in_folder and p.name in owner]
    for path in [*in_folder, *bare]:
        key = (path.parent.name if path in in_folder else owner[path.name], path.name)
        where = path.relative_to(submission).as_posix()
        if key in placed:
            upload.duplicates.append(where)
            continue
        placed[key] = where
        (handin / key[0]).mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, handin / key[0] / key[1])
    used = set(in_folder) | set(bare)
    upload.ignored = [p.relative_to(submission).as_posix() + (" (a link, not followed)" if p.is_symlink() else "")
                      for p in found if p not in used]
    for name in names:
        (handin / name).mkdir(parents=True, exist_ok=True)
        upload.found[name] = [(m, placed[(name, m)]) for m in modules.get(name, []) if (name, m) in placed]
        upload.missing += [(name, m) for m in modules.get(name, []) if (name, m) not in placed]
    return upload


def _relative(text: str, handin: Path) -> str:
    """Messages name files relative to the hand-in, not the grader's temporary folder."""
    return text.replace(f"{handin}/", "").replace(str(handin), ".")


def gradescope_results(results: list[ExerciseResult], upload: Upload, handin: Path, elapsed: float,
                       hide_thresholds: bool, unsandboxed: str | None = None) -> dict:
    """Gradescope's results.json: per test name, score, max_score, output, visibility; top-level score,
    execution_time, output (the upload report, whether it was sandboxed, each exercise's status) and
    stdout_visibility."""
    data = to_gradescope(results)
    hidden = {f"{name}: {test}" for name, tests in threshold_tests().items() for test in tests} if hide_thresholds else set()
    for test in data["tests"]:
        test["output"] = _relative(test["output"], handin)
        test["visibility"] = "after_due_date" if test["name"] in hidden else "visible"
    statuses = "; ".join(f"{r.name}: {status_label(r.status)} ({r.points}/{r.max_points})" for r in results)
    reasons = [f"{r.name}: {_relative(r.message, handin)}" for r in results if r.status != Status.PASSED and r.message]
    notes = ["Threshold tests (training on MNIST / Fashion-MNIST) are shown after the due date."] if hidden else []
    sandbox = [f"Graded without the sandbox ({unsandboxed})."
               + (" The tests ran as an unprivileged user, for whom the kit is read-only." if os.geteuid() == 0 else "")
               ] if unsandboxed else []
    data.update(execution_time=round(elapsed), stdout_visibility="hidden",
                output="\n".join([*upload.report(), *sandbox, statuses, *reasons, *notes]))
    return data


def failure_results(reason: str, seconds: float) -> dict:
    """results.json when grading itself failed: score 0 and the reason, never a missing file."""
    return {"score": 0, "execution_time": round(seconds), "stdout_visibility": "hidden", "output_format": "text",
            "output": f"The autograder could not grade this submission: {reason}. Please tell your instructor.",
            "tests": []}


def selected_names() -> list[str]:
    """$GRADER_EXERCISES (names or prefixes, separated by spaces or commas), else every exercise."""
    wanted = os.environ.get("GRADER_EXERCISES", "").replace(",", " ").split()
    return kit.resolve_names(wanted) if wanted else kit.exercise_names()


def autograder_settings() -> Settings:
    """How a submission is graded: on the CPU, one exercise at a time, sandboxed where bubblewrap
    works (else as an unprivileged user, see :mod:`grader.run.unprivileged`), always under limits;
    $GRADER_TIMEOUT (seconds per exercise) and $GRADER_MEMORY (e.g. 2G) as for ``--timeout``/``--memory``."""
    timeout = seconds(os.environ.get("GRADER_TIMEOUT") or str(DEFAULT_TIMEOUT))
    memory = size(os.environ.get("GRADER_MEMORY") or DEFAULT_MEMORY)
    sandbox, unsandboxed = decide_sandbox("auto", untrusted=True)
    return Settings(device="cpu", timeout=timeout, jobs=1, sandbox=sandbox, limits=Limits(memory=memory),
                    unsandboxed=unsandboxed)


def run_autograder(root: Path) -> int:
    """Grade ``root``/submission into ``root``/results/results.json; 0 once the file is written."""
    started = time.perf_counter()
    results_path = root / "results" / "results.json"
    hide = os.environ.get(HIDE_ENV, "0") not in ("", "0")
    with tempfile.TemporaryDirectory(prefix="gradescope-") as tmp:
        handin = Path(tmp) / "handin"
        try:
            names = selected_names()
            upload = collect_upload(root / "submission", handin, names)
            settings = autograder_settings()
            handin.chmod(0o755)  # readable by the unprivileged user that grades without the sandbox
            Path(tmp).chmod(0o711)
            from grader.cli.grading import grade

            results = grade(names, Target.handin(handin), settings)
            for r in results:
                print(f"{r.name}: {r.status} {r.points}/{r.max_points} in {r.seconds:.1f} s, "
                      f"peak {r.peak_memory_mb} MB", flush=True)
            data = gradescope_results(results, upload, handin, time.perf_counter() - started, hide, settings.unsandboxed)
        except Exception as exc:  # noqa: BLE001 - Gradescope must get a results.json whatever happened
            traceback.print_exc()
            data = failure_results(f"{type(exc).__name__}: {exc}", time.perf_counter() - started)
    problem = write_json(results_path, data)
    if problem:
        print(f"grader: {problem}", file=sys.stderr)
        return 1
    print(f"Wrote {results_path}: {data['score']} points")
    return 0


def main(argv: list[str] | None = None) -> int:
    """``python -m grader.cli.export --root ROOT``: what run_autograder runs."""
    return run_autograder(Path(autograder_parser().parse_args(argv).root))


if __name__ == "__main__":
    sys.exit(main())
