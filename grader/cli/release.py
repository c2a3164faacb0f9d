"""``grader release OUT``: a student copy of the kit, without solutions/ and nothing that leaks them.

In the copy: exercises/ (stubs, tests, READMEs), grader/, pyproject.toml, README.md,
data/README.md, .gitignore and a LICENSE if there is one. Left out: solutions/, the kit's own
tests/ (the mistake gallery holds near-solutions and correct alternatives, and the other kit
tests need solutions/), .git/, .ci/, data files, runs/, .grader/, caches, *.egg-info.

In a git checkout the candidates are the files git knows about (tracked, plus untracked files
that are not ignored, which are named so nothing uncommitted ships unnoticed); elsewhere a walk
of exercises/ and grader/. The copy's README gets a note, its pytest configuration points at
exercises/, and every copied file is scanned for solution code before the release is declared
clean.
"""
from __future__ import annotations

import ast
import copy
import shutil
import subprocess
import sys
from pathlib import Path, PurePosixPath

from grader.core import kit

TOP_FILES = {"pyproject.toml", "README.md", "README.zh-TW.md", ".gitignore", "data/README.md"}
TOP_DIRS = {"exercises", "grader"}
JUNK_SUFFIXES = (".pyc", ".pyo", "~", ".swp", ".swo", ".tmp", ".orig", ".rej")
README_NOTE = """
> **Student copy.** This copy has no `solutions/` and none of the kit's own tests (`tests/`), so
> the instructor's commands (`grader --solutions`, `grader check`) do not work here. Your work
> goes in `exercises/`; `grader` shows your progress and `pytest` runs the exercise suites.
"""
README_NOTE_ZH = """
> **學生版副本。** 這份副本沒有 `solutions/`，也沒有套件自己的測試（`tests/`），所以講師用的指令
> （`grader --solutions`、`grader check`）在這裡無法使用。你的作業寫在 `exercises/`；`grader` 顯示
> 你的進度，`pytest` 執行各練習的測試。
"""


def releasable(rel: str) -> bool:
    """Whether the kit-relative POSIX path ``rel`` belongs in a student copy."""
    parts = PurePosixPath(rel).parts
    if rel in TOP_FILES or (len(parts) == 1 and parts[0].upper().startswith(("LICENSE", "LICENCE", "COPYING"))):
        return True
    if len(parts) < 2 or parts[0] not in TOP_DIRS:
        return False
    hidden = any(p.startswith((".", "#")) or p == "__pycache__" or p.endswith(".egg-info") for p in parts)
    return not hidden and not rel.endswith(JUNK_SUFFIXES)


def _git(root: Path, *args: str) -> list[str] | None:
    """NUL-separated output of a git command run in ``root``, or None when that is not possible."""
    try:
        proc = subprocess.run(["git", "-C", str(root), *args], capture_output=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return [p for p in proc.stdout.decode(errors="surrogateescape").split("\0") if p] if proc.returncode == 0 else None


def candidate_files(root: Path) -> tuple[list[str], list[str]]:
    """(releasable files, the untracked ones among them), as kit-relative POSIX paths."""
    inside = _git(root, "rev-parse", "--is-inside-work-tree")
    tracked = _git(root, "ls-files", "-z", "--cached") if inside else None
    if tracked is not None:
        others = _git(root, "ls-files", "-z", "--others", "--exclude-standard") or []
        untracked = sorted(p for p in set(others) - set(tracked) if releasable(p))
        files = sorted(p for p in set(tracked) | set(untracked) if releasable(p) and (root / p).is_file())
        return files, untracked
    found = [p.relative_to(root).as_posix() for top in sorted(TOP_DIRS) for p in (root / top).rglob("*") if p.is_file()]
    found += [p.name for p in root.iterdir() if p.is_file()] + ["data/README.md"]
    return sorted(p for p in set(found) if releasable(p) and (root / p).is_file()), []


def _docstring_free(node: ast.AST) -> ast.AST:
    node = copy.deepcopy(node)
    for sub in ast.walk(node):
        body = getattr(sub, "body", None)
        if (isinstance(sub, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and body
                and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant)
                and isinstance(body[0].value.value, str)):
            sub.body = body[1:] or [ast.Pass()]
    return node


def definitions(source: str) -> dict[str, str]:
    """Qualified name -> canonical form (AST dump without docstrings) of each function, class, method."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return {}
    found: dict[str, str] = {}

    def visit(nodes: list[ast.stmt], prefix: str) -> None:
        for node in nodes:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                found[prefix + node.name] = ast.dump(_docstring_free(node))
                if isinstance(node, ast.ClassDef):
                    visit(node.body, f"{prefix}{node.name}.")

    visit(tree.body, "")
    return found


def _read(path: Path) -> str:
    return path.read_text(errors="replace")


def committed_text(root: Path, rel: str) -> str | None:
    """The file ``rel`` as committed at git HEAD in the checkout at ``root``, or None."""
    try:
        proc = subprocess.run(["git", "-C", str(root), "show", f"HEAD:./{rel}"], capture_output=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return proc.stdout.decode(errors="replace") if proc.returncode == 0 else None


def find_leaks(out: Path, solutions: Path) -> list[str]:
    """Solution code found in the copy at ``out``, one line per finding (empty: clean).

    A released file leaks when it equals a solution file, or defines a function, class or method
    identical (docstrings aside) to a solution's. The one exception is a helper the stub gives
    complete: allowed when the stub as committed at git HEAD (still a stub, with NotImplementedError)
    has it too. The working-tree stub is no reference, since it may be the one that was filled in.
    Every exercise module must still raise NotImplementedError somewhere.
    """
    problems: list[str] = []
    solution_files = sorted(solutions.rglob("*.py")) if solutions.is_dir() else []
    whole = {p.read_bytes(): p for p in solution_files if definitions(_read(p))}  # not empty __init__.py
    secret: dict[str, str] = {}
    for sol in solution_files:
        reference = committed_text(solutions.parent, f"exercises/{sol.relative_to(solutions).as_posix()}")
        given = set(definitions(reference).values()) if reference and "NotImplementedError" in reference else set()
        for name, dump in definitions(_read(sol)).items():
            if dump not in given:
                secret.setdefault(dump, f"{sol.relative_to(solutions.parent).as_posix()}: {name}")
    for path in sorted(p for p in out.rglob("*") if p.is_file()):
        rel = path.relative_to(out).as_posix()
        if "solutions" in PurePosixPath(rel).parts[:1]:
            problems.append(f"{rel}: a solutions/ folder is in the copy")
        data = path.read_bytes()
        if data in whole:
            problems.append(f"{rel}: identical to {whole[data].relative_to(solutions.parent).as_posix()}")
        elif path.suffix == ".py":
            problems += [f"{rel}: {name} is the solution's code ({secret[dump]})"
                         for name, dump in definitions(_read(path)).items() if dump in secret]
    for module in sorted((out / "exercises").glob("*/*.py")):
        if not module.name.startswith("test_") and "NotImplementedError" not in _read(module):
            problems.append(f"{module.relative_to(out).as_posix()}: no NotImplementedError left, "
                            "so this is not a stub (a filled-in copy?)")
    return problems


def _adapt(out: Path) -> None:
    """The copy's README gets a note; its pytest configuration runs the exercise suites."""
    for name, note in (("README.md", README_NOTE), ("README.zh-TW.md", README_NOTE_ZH)):
        readme = out / name
        if readme.is_file():
            head, sep, rest = _read(readme).partition("\n")
            readme.write_text(head + sep + note + rest)
    pyproject = out / "pyproject.toml"
    if pyproject.is_file():
        text = _read(pyproject).replace('testpaths = ["tests"]', 'testpaths = ["exercises"]')
        pyproject.write_text(text.replace('pythonpath = ["tests"]\n', ""))


def _unsafe_destination(out: Path, root: Path) -> str | None:
    """Why the copy must not be written to (or ``--force`` empty) ``out``, or None when it may."""
    if out == root or out in root.parents:
        return "it holds the kit itself"
    if any(out == root / top or root / top in out.parents for top in (*TOP_DIRS, "solutions", "tests", "data", ".git")):
        return "it is inside the kit's own folders"
    if out == Path.home() or out == Path(out.anchor):
        return "it is your home folder or the filesystem root"
    return None


def release(out_arg: str, force: bool = False, github_classroom: bool = False) -> int:
    """Write the student copy to ``out_arg``; 0 clean, 1 a leak was found, 2 refused.

    ``github_classroom`` adds the grading workflow (:mod:`grader.report.classroom`)."""
    root, out = kit.KIT_ROOT.resolve(), Path(out_arg).expanduser().resolve()
    if out.exists() and not out.is_dir():
        print(f"grader release: {out_arg} exists and is not a folder", file=sys.stderr)
        return 2
    reason = _unsafe_destination(out, root)
    if reason:
        print(f"grader release: refusing to write to {out_arg}: {reason}", file=sys.stderr)
        return 2
    if out.is_dir() and any(out.iterdir()):
        if not force:
            print(f"grader release: {out_arg} is not empty; choose an empty folder, or --force to replace its contents",
                  file=sys.stderr)
            return 2
        shutil.rmtree(out)
    files, untracked = candidate_files(root)
    out.mkdir(parents=True, exist_ok=True)
    for rel in files:
        (out / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(root / rel, out / rel)
    _adapt(out)
    if github_classroom:
        from grader.report.classroom import write_workflow

        print(f"Added {write_workflow(out).relative_to(out).as_posix()}: grades every push anew, scorecard in the job "
              "summary, points to GitHub Classroom. It is feedback for the student, who can edit it and the tests; "
              "for grades, clone the repositories and run grader batch with this kit (docs/grading-a-class.md).")
    exercises = sorted({PurePosixPath(p).parts[1] for p in files if p.startswith("exercises/")})
    print(f"Released {len(files)} files ({len(exercises)} exercises) from {root} to {out}")
    print("Left out: solutions/, tests/ (the kit's own tests), .git/, data files, caches and local state.")
    if untracked:
        print(f"Note: {len(untracked)} file(s) not yet committed to git are included: " + ", ".join(untracked[:8])
              + (" ..." if len(untracked) > 8 else ""))
    problems = find_leaks(out, kit.SOLUTIONS_DIR)
    if problems:
        print(f"\nLEAK: {len(problems)} problem(s); do not hand this copy out:", file=sys.stderr)
        for problem in problems:
            print(f"  {problem}", file=sys.stderr)
        print("(A helper that the stub gives complete is allowed once committed, unchanged, in the stub.)", file=sys.stderr)
        return 1
    print("Leak scan: no solution code found in the copy.")
    return 0
