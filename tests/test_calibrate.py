"""grader calibrate's arithmetic and its warning, without training anything."""
from __future__ import annotations

import pytest

from grader.core import kit
from grader.train.calibrate import builders, calibration_warnings, failure_bound, table


@pytest.mark.parametrize("failures, runs, bound", [(0, 5, 0.4507), (0, 20, 0.1391), (1, 10, 0.3942), (5, 5, 1.0)])
def test_failure_bound_is_the_one_sided_clopper_pearson_limit(failures, runs, bound):
    assert failure_bound(failures, runs) == pytest.approx(bound, abs=1e-4)


def test_every_threshold_names_a_model_and_a_test_that_exist():
    specs = kit.thresholds()
    assert {s.exercise for s in specs} == {"06_mlp", "07_cnn", "09_experiments"}
    for spec in specs:
        assert (kit.SOLUTIONS_DIR / spec.module_path).is_file()
        assert f"def {spec.test}(" in "".join(p.read_text() for p in kit.test_files(spec.exercise))
        assert 0 < spec.band < 2 and spec.epochs >= 1
        assert "reference" in builders(spec, variants=1)


def test_a_thin_margin_is_warned_about():
    row = {"exercise": "07_cnn", "test": "test_mnist_accuracy", "dataset": "mnist", "threshold": 98.5, "band": 0.3,
           "runs": 5, "min": 98.6, "median": 98.9, "max": 99.0, "margin": 0.1, "failures": 0,
           "failure_rate_bound_95": 0.451, "seconds": 100.0}
    assert "| 07_cnn mnist >= 98.5% | 5 | 98.60 |" in table([row])
    (warning,) = calibration_warnings({"date": "today", "thresholds": [row]})
    assert "07_cnn::test_mnist_accuracy" in warning and "+0.10" in warning
    assert calibration_warnings({"thresholds": [{**row, "margin": 0.5}]}) == []
