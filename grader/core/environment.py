"""The reproducibility record every results JSON carries: what graded, where, and how.

Two results from two machines can be compared field by field, and a disputed grade can be
re-run with the same settings (``grader regrade``). Nothing here imports torch unless the
device is CUDA (for the GPU's name).
"""
from __future__ import annotations

import os
import platform
import subprocess
from importlib import metadata

from grader.core import kit

SEEDS = [0, 1, 2]  # the harness's training seeds: the first, then borderline retries in order
DETERMINISM = {
    "cpu": "torch.use_deterministic_algorithms(True, warn_only=True) during threshold training",
    "cuda": ("torch.use_deterministic_algorithms(True, warn_only=True), cudnn.deterministic, cudnn.benchmark off, "
             "TF32 off during threshold training; CUBLAS_WORKSPACE_CONFIG=:4096:8"),
}


def _version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def kit_commit() -> str | None:
    """The kit's git commit (with '+changes' when the work tree differs), or None outside git."""
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=kit.KIT_ROOT, capture_output=True, text=True, timeout=10)
        if head.returncode != 0:
            return None
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=kit.KIT_ROOT,
                               capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        return None
    return head.stdout.strip() + ("+changes" if dirty else "")


def gpu_name(device: str) -> str | None:
    if device != "cuda":
        return None
    import torch

    return torch.cuda.get_device_name(0)


def record(device: str, threads: int | None = None, sandbox: bool = False, timeout: float | None = None,
           unsandboxed: str | None = None) -> dict:
    """The "environment" object of the results JSON (docs/results-schema.json); ``threads`` None
    means torch's default (one per physical core); ``unsandboxed`` why a hand-in was graded
    without the sandbox (None: it was sandboxed, or it was not a hand-in)."""
    return {
        "python": platform.python_version(), "platform": platform.platform(),
        "torch": _version("torch"), "torchvision": _version("torchvision"), "numpy": _version("numpy"),
        "pytest": _version("pytest"), "kit_version": _version("nn-basics-kit"), "kit_commit": kit_commit(),
        "device": device, "gpu": gpu_name(device), "cpu_count": os.cpu_count(),
        "threads": threads, "seeds": SEEDS, "deterministic": DETERMINISM[device],
        "sandbox": sandbox, "unsandboxed_reason": unsandboxed, "timeout": timeout,
    }
