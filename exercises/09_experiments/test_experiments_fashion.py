"""Tests of 09_experiments (bonus): your MLP of 06_mlp and CNN of 07_cnn on Fashion-MNIST.

They train your own models (from the same folder as this exercise) with the kit's harness. They
are "blocked" until every other test of 09_experiments passes, and while 06_mlp or 07_cnn is
unfinished. A failure says how far the accuracy fell short. Hints: `grader hint 09`.
"""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import pytest
import torch
from torch import nn

from grader.checks.reference import seed_everything
from grader.core import failures, kit

FAIL = failures.table(__file__)

GRADES = "experiments"


# ---------------------------------------------------------------- Fashion-MNIST (bonus thresholds)

OWN_TESTS = ("test_noise_keeps_shape_dtype_device_and_input", "test_noise_has_mean_zero_and_the_requested_std",
             "test_noise_is_repeatable_with_a_generator",
             "test_augment_without_rotation_or_noise_is_plain_normalisation",
             "test_augment_noise_is_added_after_normalising", "test_augment_rotation_is_random_and_bounded",
             "test_augment_defaults", "test_run_sweep_calls_each_value_once_in_order",
             "test_plot_sweep_writes_png", "test_plot_sweep_shows_accuracy_against_value")

# The harness trains the learner's model on the 60,000 Fashion-MNIST training images (Adam, LR
# decaying linearly to 0) and scores it on the official 10,000 test images; the thresholds and
# training settings are in exercises/kit.toml, measured against the reference by `grader calibrate`.
FASHION = {
    "mlp": dict(exercise="06_mlp", module="mlp", name="MLP", parameters=109_386, test="test_fashion_mnist_mlp"),
    "cnn": dict(exercise="07_cnn", module="cnn", name="SimpleCNN", parameters=421_642, test="test_fashion_mnist_cnn"),
}


def learners_model(spec: dict, device, other_exercise) -> nn.Module:
    """The learner's model from 06_mlp / 07_cnn, built with its defaults; blocked when unfinished."""
    from grader.run.loader import ModuleLoadError
    from grader.run.recorder import BLOCKED_PREFIX

    exercise, name = spec["exercise"], spec["name"]
    finish = f"{BLOCKED_PREFIX}finish {exercise} first (pytest exercises/{exercise} should pass)"
    try:
        module = other_exercise(exercise)
    except ModuleLoadError as exc:
        pytest.skip(f"{finish}: {exc}")
    builder = getattr(module, name, None)
    if builder is None:
        pytest.skip(f"{finish}: {spec['module']}.py defines no {name}")
    seed_everything(0)
    try:
        model = builder()
        assert isinstance(model, nn.Module)
        model.to(device).eval()
        with torch.no_grad():
            out = model(torch.zeros(2, 1, 28, 28, device=device))
    except NotImplementedError:
        pytest.skip(f"{finish}: its {name} is still a stub")
    except AssertionError:
        pytest.skip(f"{finish}: {name}() is not an nn.Module")
    except Exception as exc:  # noqa: BLE001 - a broken architecture blocks, it is not this exercise's fault
        pytest.skip(f"{finish}: {name}() on images of shape (2, 1, 28, 28) raised {type(exc).__name__}")
    if not isinstance(out, torch.Tensor) or tuple(out.shape) != (2, 10):
        shape = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
        pytest.skip(f"{finish}: {name}() returns {shape} for 2 images instead of logits of shape (2, 10)")
    count = sum(p.numel() for p in model.parameters() if p.requires_grad)
    if count != spec["parameters"]:
        pytest.skip(f"{finish}: {name}() has {count:,} trainable parameters instead of {spec['parameters']:,}")
    return model


def fashion_threshold(key: str, device, metrics: dict, progress, other_exercise) -> None:
    from grader.data.datasets import DatasetUnavailable
    from grader.run.recorder import BLOCKED_PREFIX
    from grader.train.harness import judge_threshold

    spec = FASHION[key]
    learners_model(spec, device, other_exercise)  # blocks the test unless the learner's model is ready
    build = getattr(other_exercise(spec["exercise"]), spec["name"])
    try:
        verdict = judge_threshold(build, kit.threshold("09_experiments", spec["test"]), device=device,
                                  progress=progress, metrics=metrics)
    except DatasetUnavailable as exc:
        pytest.skip(f"{BLOCKED_PREFIX}Fashion-MNIST is not available: {str(exc).splitlines()[0]} "
                    "(run `grader data` to see what to do)")
    if not verdict.passed:
        raise FAIL("fashion_below_threshold", name=spec["name"], exercise=spec["exercise"], verdict=verdict.describe())


@pytest.mark.points(2)
@pytest.mark.needs(*OWN_TESTS)
def test_fashion_mnist_mlp(device, metrics, progress, other_exercise):
    fashion_threshold("mlp", device, metrics, progress, other_exercise)


@pytest.mark.points(3)
@pytest.mark.needs(*OWN_TESTS)
def test_fashion_mnist_cnn(device, metrics, progress, other_exercise):
    fashion_threshold("cnn", device, metrics, progress, other_exercise)
