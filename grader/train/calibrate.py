"""``grader calibrate``: how safely does each accuracy threshold separate right from wrong here?

For every threshold of ``exercises/kit.toml`` it trains the reference model, and correct
variants of it (the mistake gallery's correct styles: layers in another order, nn.Sequential or
attributes, functional or module activations), over K seeds on this machine and device, exactly
as the threshold test does. Per threshold it prints min / median / max accuracy, the worst
margin to the threshold, the observed failure rate with a 95% upper bound, and the time, and
writes the table to JSON (``.grader/calibration.json`` unless told). ``grader check`` warns when
the latest calibration shows a margin below :data:`MIN_MARGIN`.
"""
from __future__ import annotations

import importlib.util
import json
import platform
import runpy
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path

import torch
from torch import nn

from grader.checks.reference import seed_everything
from grader.core import environment, kit
from grader.core.files import atomic_write_text
from grader.train.harness import train_and_score

DEFAULT_OUTPUT = kit.KIT_ROOT / ".grader" / "calibration.json"
GALLERY = kit.KIT_ROOT / "tests" / "gallery"
MIN_MARGIN = 0.2  # percentage points between the worst correct run and the threshold


def failure_bound(failures: int, runs: int, confidence: float = 0.95) -> float:
    """One-sided Clopper-Pearson upper bound of a failure rate after ``failures`` in ``runs``."""
    if failures >= runs:
        return 1.0

    def tail(p: float) -> float:  # P(X <= failures) for X ~ Binomial(runs, p)
        term, total = (1 - p) ** runs, 0.0
        for k in range(failures + 1):
            total += term
            term *= (runs - k) / (k + 1) * p / (1 - p) if p < 1 else 0
        return total

    low, high = failures / runs, 1.0
    for _ in range(60):
        middle = (low + high) / 2
        low, high = (middle, high) if tail(middle) > 1 - confidence else (low, middle)
    return high


def builders(spec: kit.Threshold, variants: int) -> dict[str, Callable[[], nn.Module]]:
    """'reference' and up to ``variants`` correct styles of the model, each built with its defaults."""
    reference = kit.SOLUTIONS_DIR / spec.module_path
    found = {"reference": _builder(reference, spec.class_name, "")}
    gallery = GALLERY / f"{Path(spec.module_path).parent.name}.py"
    correct = runpy.run_path(str(gallery)).get("CORRECT", []) if gallery.is_file() else []
    for entry in [e for e in correct if f"class {spec.class_name}" in e["code"]][:variants]:
        found[entry["name"]] = _builder(reference, spec.class_name, entry["code"])
    return found


def _builder(reference: Path, class_name: str, extra: str) -> Callable[[], nn.Module]:
    folder = Path(tempfile.mkdtemp(prefix="grader-calibrate-"))
    source = folder / reference.name
    shutil.copy(reference, source)
    source.write_text(source.read_text() + "\n\n" + extra)
    spec = importlib.util.spec_from_file_location(f"calibrate_{abs(hash((str(reference), extra)))}", source)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    shutil.rmtree(folder, ignore_errors=True)
    return getattr(module, class_name)


def calibrate(spec: kit.Threshold, seeds: int, variants: int, device: str) -> dict:
    """Train every builder over ``seeds`` seeds; the row of the table for this threshold."""
    accuracies, runs, started = [], [], time.perf_counter()
    for name, build in builders(spec, variants).items():
        for seed in range(seeds):
            seed_everything(seed)
            score = train_and_score(build(), spec.dataset, seed=seed, device=torch.device(device), **spec.training())
            accuracies.append(score.accuracy)
            runs.append({"model": name, "seed": seed, "accuracy": round(score.accuracy, 2),
                         "seconds": round(score.seconds, 1)})
            print(f"  {spec.exercise} {spec.test}: {name}, seed {seed}: {score.accuracy:.2f}%", flush=True)
    failures = sum(a < spec.threshold for a in accuracies)
    return {"exercise": spec.exercise, "test": spec.test, "dataset": spec.dataset, "threshold": spec.threshold,
            "band": spec.band, "runs": len(accuracies), "min": round(min(accuracies), 2),
            "median": round(statistics.median(accuracies), 2), "max": round(max(accuracies), 2),
            "margin": round(min(accuracies) - spec.threshold, 2), "failures": failures,
            "failure_rate_bound_95": round(failure_bound(failures, len(accuracies)), 3),
            "seconds": round(time.perf_counter() - started, 1), "details": runs}


def table(rows: list[dict]) -> str:
    """The calibration as a Markdown table (the README shows it)."""
    lines = ["| threshold | runs | min | median | max | worst margin | failures (95% bound) | time |",
             "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['exercise']} {r['dataset']} >= {r['threshold']:g}% | {r['runs']} | {r['min']:.2f} | "
                     f"{r['median']:.2f} | {r['max']:.2f} | {r['margin']:+.2f} | {r['failures']} "
                     f"(<= {100 * r['failure_rate_bound_95']:.0f}%) | {r['seconds']:.0f} s |")
    return "\n".join(lines)


def run_calibration(names: list[str], seeds: int, variants: int, device: str, output: Path) -> int:
    """Calibrate the thresholds of ``names``, print the table, write the JSON; 1 if a margin is thin."""
    specs = [s for s in kit.thresholds() if s.exercise in names]
    if not specs:
        print(f"grader calibrate: no threshold among {', '.join(names)}")
        return 2
    rows: list[dict] = []
    record = {"date": datetime.now(timezone.utc).isoformat(timespec="seconds"), "machine": platform.platform(),
              "environment": environment.record(device), "seeds": seeds, "thresholds": rows}
    for spec in specs:  # written after each threshold, so an interrupted run keeps what it measured
        rows.append(calibrate(spec, seeds, variants, device))
        atomic_write_text(output, json.dumps(record, indent=1) + "\n")
    print(table(rows))
    print(f"Wrote {output}")
    thin = calibration_warnings(record)
    for warning in thin:
        print(f"WARNING  {warning}")
    return 1 if thin else 0


def calibration_warnings(record: dict | None = None, path: Path = DEFAULT_OUTPUT) -> list[str]:
    """Thresholds whose worst calibrated margin is below MIN_MARGIN (reads ``path`` if no record)."""
    if record is None:
        try:
            record = json.loads(path.read_text())
        except (OSError, ValueError):
            return []
    return [f"{r['exercise']}::{r['test']}: the worst correct run is only {r['margin']:+.2f} points from "
            f"{r['threshold']:g}% (calibrated {record.get('date', '?')}); lower the threshold or train longer"
            for r in record.get("thresholds", []) if isinstance(r, dict) and r.get("margin", 0) < MIN_MARGIN]
