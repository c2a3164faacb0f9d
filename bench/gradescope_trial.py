"""The Gradescope route as Gradescope runs it, timed: the kit's bundle unpacked into a tree laid
out like /autograder (source/, submission/, results/), one submission of the reference's modules,
``run_autograder`` run as this user with bubblewrap and again where it cannot run (bwrap left off
PATH, as in containers that forbid user namespaces).

    python bench/gradescope_trial.py [--exercises "01 02"] [--route with|without|both]

Prints, per route: the wall time of the whole submission, the score, and each exercise's
status, seconds and peak memory (from the autograder's own log).
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def bundle(folder: Path) -> Path:
    out = folder / "autograder.zip"
    subprocess.run([sys.executable, "-m", "grader", "export", "gradescope", str(out)], cwd=ROOT, check=True,
                   stdout=subprocess.DEVNULL)
    return out


def submission(folder: Path) -> None:
    """The reference's modules, as a student uploading the exercise folders would."""
    for module in (ROOT / "solutions").glob("*/*.py"):
        target = folder / module.parent.name / module.name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(module, target)


def trial(zip_path: Path, route: str, exercises: str) -> None:
    with tempfile.TemporaryDirectory(prefix="autograder-") as tmp:
        root = Path(tmp)
        root.chmod(0o755)
        with zipfile.ZipFile(zip_path) as z:
            z.extractall(root / "source")
        (root / "source" / "run_autograder").chmod(0o755)
        for dataset in (ROOT / "data").iterdir():  # what setup.sh's `grader data` fetches when the image is built
            if dataset.is_dir():
                shutil.copytree(dataset, root / "source" / "kit" / "data" / dataset.name)
        submission(root / "submission")
        env = {**os.environ, "GRADESCOPE_ROOT": str(root), "GRADER_PYTHON": sys.executable}
        if exercises:
            env["GRADER_EXERCISES"] = exercises
        if route == "without":
            tools = root / "bin"
            tools.mkdir()
            for tool in ("bash", "env"):
                (tools / tool).symlink_to(shutil.which(tool) or f"/usr/bin/{tool}")
            env["PATH"] = str(tools)
        started = time.perf_counter()
        proc = subprocess.run([str(root / "source" / "run_autograder")], env=env, capture_output=True, text=True)
        elapsed = time.perf_counter() - started
        data = json.loads((root / "results" / "results.json").read_text())
        most = sum(t["max_score"] for t in data["tests"])
        print(f"\n{route} bubblewrap: {elapsed:.1f} s for the submission, score {data['score']}/{most}")
        print("\n".join(f"  {line}" for line in proc.stdout.splitlines() if " peak " in line))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--exercises", default="", help='GRADER_EXERCISES, e.g. "01 02" (default: all)')
    parser.add_argument("--route", choices=["with", "without", "both"], default="both")
    args = parser.parse_args()
    print(f"user {os.geteuid()}, {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}")
    with tempfile.TemporaryDirectory() as tmp:
        zip_path = bundle(Path(tmp))
        for route in (["with", "without"] if args.route == "both" else [args.route]):
            trial(zip_path, route, args.exercises)


if __name__ == "__main__":
    main()
