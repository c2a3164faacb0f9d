"""The bubblewrap sandbox a hand-in's test process runs in (``--sandbox``).

Inside, the process sees: the system's programs and libraries and the Python installation
(read-only), the grader package, the kit's exercises/ (tests and stubs) and pyproject.toml
(read-only), the datasets (read-only), the graded folder alone (read-only), a private, empty
/tmp and HOME, /proc with the kernel's tunables read-only, and an allowlist of environment
variables. It does not see solutions/ (unless that is what is graded), other
hand-ins, the grader's own files or any output path. It has no network, its own PID namespace
(nothing it starts outlives it) and no capabilities. Results leave through an inherited pipe.
"""
from __future__ import annotations

import functools
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

from grader.core import kit
from grader.data.paths import FOLDERS
from grader.run.cache import signing_key_path

SYSTEM_DIRS = ("/usr", "/etc")
MERGED_USR_LINKS = ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
HOME = "/tmp/home"
# Kernel interfaces that a process mapped to the host's root could otherwise write through /proc.
PROC_READ_ONLY = ("/proc/sys", "/proc/sysrq-trigger", "/proc/irq", "/proc/bus", "/proc/fs", "/proc/acpi",
                  "/proc/kcore", "/proc/keys", "/proc/timer_list", "/proc/scsi")
# The only environment variables the graded code sees (anything else may carry an instructor's secrets).
ENVIRONMENT = ("PATH", "LANG", "LC_ALL", "LC_CTYPE", "LC_MESSAGES", "TZ", "MPLBACKEND", "PYTHONDONTWRITEBYTECODE",
               "PYTHONPYCACHEPREFIX", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "CUBLAS_WORKSPACE_CONFIG",
               "CUDA_VISIBLE_DEVICES", "PYTHONPATH", "GRADER_DATA_DIR", "GRADER_KIT_ROOT", "GRADER_LANG", "NO_COLOR",
               "PYTEST_DISABLE_PLUGIN_AUTOLOAD")
NAMESPACES = ["--unshare-all", "--unshare-user", "--uid", "1000", "--gid", "1000", "--die-with-parent",
              "--new-session", "--cap-drop", "ALL"]


class SandboxUnavailable(RuntimeError):
    """bubblewrap is missing or cannot create namespaces here; ``str()`` says which."""


class SandboxRefused(RuntimeError):
    """A folder the test process needs would reveal what it must not see; ``str()`` says which."""


@functools.cache
def unavailable_reason() -> str | None:
    """None when bubblewrap works here, else a one-line reason."""
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        return "bubblewrap (bwrap) is not installed (Debian/Ubuntu: apt-get install bubblewrap)"
    probe = [bwrap, *_system_binds(), "--proc", "/proc", "--dev", "/dev", *NAMESPACES, "true"]
    try:
        proc = subprocess.run(probe, capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"bubblewrap does not start: {exc}"
    if proc.returncode != 0:
        return f"bubblewrap cannot create namespaces here: {proc.stderr.strip().splitlines()[-1:] or proc.returncode}"
    return None


def _system_binds() -> list[str]:
    args: list[str] = []
    for link in MERGED_USR_LINKS:
        path = Path(link)
        if path.is_symlink():
            args += ["--symlink", str(path.readlink()), link]
        elif path.is_dir():
            args += ["--ro-bind", link, link]
    for folder in SYSTEM_DIRS:
        if Path(folder).is_dir():
            args += ["--ro-bind", folder, folder]
    return args


def _revealed(path: Path, secrets: list[Path]) -> Path | None:
    """The first of ``secrets`` that binding ``path`` would reveal (it is one, holds one or lies inside one)."""
    return next((s for s in secrets if path == s or s.is_relative_to(path) or path.is_relative_to(s)), None)


def python_dirs(secrets: list[Path]) -> list[Path]:
    """The installation's folders (prefixes, stdlib, site-packages, sys.path) that reveal no secret."""
    candidates = {sys.prefix, sys.base_prefix, sys.exec_prefix, *sysconfig.get_paths().values(), *sys.path}
    folders = {Path(p).resolve() for p in candidates if p and Path(p).is_dir()}
    kept = sorted(f for f in folders if _revealed(f, secrets) is None and f != Path("/"))
    return [f for f in kept if not any(f != other and f.is_relative_to(other) for other in kept)]


def hidden(target: Path, handin: bool, needed: list[Path]) -> list[Path]:
    """What the test process of ``target`` must not see: the reference (unless graded), the kit's
    writable state (remembered results, ``grader train``'s runs, the cache's signing key) and, for
    a hand-in, the folders beside it (other hand-ins) that hold nothing ``needed``."""
    found = [kit.KIT_ROOT.resolve() / ".grader", kit.KIT_ROOT.resolve() / "runs", signing_key_path().parent.resolve()]
    if target != kit.SOLUTIONS_DIR.resolve():
        found.append(kit.SOLUTIONS_DIR.resolve())
    if handin and target.parent != target:
        try:
            beside = [p.resolve() for p in target.parent.iterdir() if p.resolve() != target]
        except OSError:
            beside = []
        found += [p for p in beside if not any(n.is_relative_to(p) for n in needed)]
    return found


def allowed_environment(env: dict[str, str]) -> dict[str, str]:
    """The variables of ``env`` that the sandbox passes on. bubblewrap itself must be started with
    just these: inside, it is process 1, whose environment any process there can read."""
    return {name: value for name, value in env.items() if name in ENVIRONMENT}


def command(inner: list[str], *, target: Path, data_dir: Path, handin: bool) -> list[str]:
    """``inner`` (a test-process command line) wrapped in bubblewrap for grading ``target`` (a hand-in
    when ``handin``); start it with :func:`allowed_environment`. Every folder bound is checked
    against :func:`hidden`: an optional one that would reveal it is left out, a needed one (the
    graded folder, a dataset) refuses the run with SandboxRefused."""
    reason = unavailable_reason()
    if reason:
        raise SandboxUnavailable(reason)
    target = target.resolve()
    package = Path(__file__).resolve().parents[1]  # grader/
    exercises, pyproject = kit.EXERCISES_DIR.resolve(), (kit.KIT_ROOT / "pyproject.toml").resolve()
    # each dataset folder, bound where the tests look for it (GRADER_DATA_DIR) from where it really is
    datasets = {data_dir / name: (data_dir / name).resolve() for name in FOLDERS.values() if (data_dir / name).is_dir()}
    needed = [package, exercises, pyproject, target, *datasets.values(), Path(sys.executable).resolve().parent]
    secrets = hidden(target, handin, needed)
    for path, what in [(package, "the grader"), (exercises, "the kit's exercises/"), (pyproject, "pyproject.toml"),
                       (target, "the graded folder")]:
        if (exposed := _revealed(path, secrets)) is not None:
            raise SandboxRefused(f"refused: binding {what} ({path}) into the sandbox would reveal {exposed}")
    # the graded folder is bound by itself: a folder that holds it would reveal what lies beside it
    secrets.append(target)
    for path in datasets.values():
        if (exposed := _revealed(path, secrets)) is not None:
            raise SandboxRefused(f"refused: binding the dataset folder {path} into the sandbox would reveal {exposed}")
    args = [shutil.which("bwrap") or "bwrap", *_system_binds(), "--proc", "/proc", "--dev", "/dev"]
    for kernel in PROC_READ_ONLY:
        args += ["--ro-bind-try", kernel, kernel]
    args += ["--tmpfs", "/tmp", "--tmpfs", "/dev/shm", "--dir", HOME]
    for folder in python_dirs(secrets):
        args += ["--ro-bind", str(folder), str(folder)]
    for folder in [package, exercises, pyproject, target]:
        args += ["--ro-bind", str(folder), str(folder)]
    for seen_as, folder in datasets.items():
        args += ["--ro-bind", str(folder), str(seen_as)]
    args += ["--setenv", "HOME", HOME, "--setenv", "TMPDIR", "/tmp", "--setenv", "MPLCONFIGDIR", f"{HOME}/.matplotlib",
             "--chdir", "/tmp", *NAMESPACES, "--", *inner]
    return args
