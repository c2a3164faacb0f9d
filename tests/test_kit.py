"""The whole kit, as an instructor checks it: `grader check` must find nothing wrong.

It grades every exercise against solutions/ (100% required, thresholds included) and against
the stubs (every exercise "not started"), and compares the public API of stubs and solutions.
"""
from __future__ import annotations

import subprocess
import sys

from kit_device import DEVICE

from grader.core import kit


def test_grader_check_passes_on_the_kit():
    proc = subprocess.run([sys.executable, "-m", "grader", "check", "--device", DEVICE], cwd=kit.KIT_ROOT,
                          capture_output=True, text=True, timeout=1800)
    print(proc.stdout)
    assert proc.returncode == 0, f"grader check found problems:\n{proc.stdout[-6000:]}\n{proc.stderr[-3000:]}"
    assert "exercises consistent" in proc.stdout
