"""Tests of 07_cnn/cnn.py: SimpleCNN (shapes, size, dropout, logits, then MNIST accuracy).

Each failure names the cause and the fix. "not started" means the test reached a stub's
NotImplementedError; "blocked" means a test it needs (see @needs) has not passed yet, so fix that one
first. The architecture is judged by behaviour, never attribute names. Hints: `grader hint 07`.
"""
from __future__ import annotations

import itertools
import re

import pytest
import torch
from torch import nn

from grader.checks.forward_trace import Gap, check_forward_contract, layers_and_extras
from grader.checks.model_checks import (
    build_model,
    call_model,
    check_dropout_in_training,
    check_no_dropout_in_eval,
    check_num_classes,
    check_raw_logits,
    images,
    trainable,
)
from grader.checks.signatures import default_problems
from grader.core import kit

DEFAULT_PARAMETERS = 421_642
LAYERS = "conv 1->32 (3x3, padding 1): 320, conv 32->64 (3x3, padding 1): 18,496, " \
         "Linear 3136->128: 401,536, Linear 128->10: 1,290"
# The MNIST threshold and its training settings are in exercises/kit.toml; `grader calibrate`
# measures the reference against it.


CONTRACT_SIZES = "two 3x3 convs with padding=1, each followed by a 2x2 max-pool: 28 -> 14 -> 7"
CONVS = {"": (3, 1), "without padding": (3, 0), "5x5 without padding": (5, 0)}  # (kernel, padding)
POOLS = {"": (2, 2), "with stride 1 (MaxPool2d(2, stride=1))": (2, 1), "left out": None}  # (kernel, stride)


def features_per_image() -> dict[int, list[list[str]]]:
    """Values per image entering the first Linear (64 channels) -> the ways of getting it, each a list of
    the deviations from the contract (kernel, padding, pooling) it takes."""
    found: dict[int, list[list[str]]] = {}
    for conv1, pool1, conv2, pool2 in itertools.product(CONVS, POOLS, CONVS, POOLS):
        side, wrong = 28, []
        for which, conv, pool in (("1st", conv1, pool1), ("2nd", conv2, pool2)):
            kernel, padding = CONVS[conv]
            side = side + 2 * padding - kernel + 1
            if POOLS[pool]:
                side = (side - POOLS[pool][0]) // POOLS[pool][1] + 1
            wrong += [f"the {which} conv {conv}"] * bool(conv) + [f"the {which} max-pool {pool}"] * bool(pool)
        found.setdefault(64 * side * side, []).append(wrong)
    return found


def flattening_hint(text: str, x: torch.Tensor) -> str:
    """Why a forward pass that crashed on ``text`` probably did: the flattening, or a feature map whose
    size (read from the error) is named with the deviations (one or two) that would give it."""
    product = re.search(r"mat1 and mat2 shapes cannot be multiplied \((\d+)x(\d+) and", text)
    if product and int(product.group(1)) != len(x):
        return (f"; the first Linear got {product.group(1)} row(s) for {len(x)} images, so flattening merged the "
                "batch: keep the batch dimension, x.view(x.size(0), -1) or torch.flatten(x, 1)")
    view = re.search(r"is invalid for input of size (\d+)", text)
    total = int(product.group(2)) * len(x) if product else int(view.group(1)) if view else None
    if total is None:
        return f"; the flattened feature map must hold 64*7*7 = 3136 values per image ({CONTRACT_SIZES})" \
            if "shape" in text or "size" in text else ""
    got = total // len(x)
    ways = sorted((w for w in features_per_image().get(got, []) if 0 < len(w) <= 2), key=len)[:4]
    why = ", as with: " + "; or ".join(" and ".join(w) for w in ways) if ways else ""
    return (f"; the first Linear gets {got:,} values per image, not 64*7*7 = 3,136{why} "
            f"(the contract: {CONTRACT_SIZES})")


def build(mod, device, **kwargs) -> nn.Module:
    return build_model(mod.SimpleCNN, "SimpleCNN", device, **kwargs)


def call(model: nn.Module, x: torch.Tensor, what: str) -> torch.Tensor:
    return call_model(model, x, what, flattening_hint)


def describe_layers(model: nn.Module) -> str:
    """The learner's conv and linear layers with their parameter counts (for messages only)."""
    parts = []
    for m in model.modules():
        own = sum(p.numel() for p in m.parameters(recurse=False))
        if isinstance(m, nn.Conv2d):
            k = "x".join(map(str, m.kernel_size))
            pad = m.padding if isinstance(m.padding, str) else \
                str(m.padding[0]) if len(set(m.padding)) == 1 else "x".join(map(str, m.padding))
            parts.append(f"conv {m.in_channels}->{m.out_channels} ({k}, padding {pad}): {own:,}")
        elif isinstance(m, nn.Linear):
            parts.append(f"Linear {m.in_features}->{m.out_features}: {own:,}")
    return ", ".join(parts) if parts else "no nn.Conv2d / nn.Linear layers found"


@pytest.mark.points(2)
def test_output_shape(mod, device):
    model = build(mod, device).eval()
    for n in (4, 1):
        with torch.no_grad():
            out = call(model, images(device, n), "SimpleCNN()")
        assert tuple(out.shape) == (n, 10), (
            f"SimpleCNN() turned images of shape ({n}, 1, 28, 28) into shape {tuple(out.shape)}; "
            f"expected ({n}, 10): one row of 10 logits per image (flatten the 64x7x7 feature map "
            "with the batch dimension kept: x.view(x.size(0), -1) or nn.Flatten())")
        assert out.dtype == torch.float32, f"SimpleCNN() returned {out.dtype}; logits should be float32"


@pytest.mark.points(3)
def test_parameter_count(mod, device):
    model = build(mod, device)
    got = trainable(model)
    if got == DEFAULT_PARAMETERS:
        return
    hints = []
    for m in model.modules():
        if isinstance(m, nn.Conv2d) and m.padding in ((0, 0), "valid"):
            hints.append("a conv without padding shrinks the image (28 -> 26): use padding=1")
        if isinstance(m, nn.Linear) and m.out_features == 128 and m.in_features != 3136:
            hints.append(f"the first Linear takes {m.in_features:,} features, but two 3x3 convs with "
                         "padding=1 and two 2x2 max-pools turn a 28x28 image into 64x7x7 = 3,136")
    found = layers_and_extras(model, images(device, 2), call, "SimpleCNN()", None)
    raise AssertionError(
        f"SimpleCNN() has {got:,} trainable parameters, expected {DEFAULT_PARAMETERS:,} "
        f"({LAYERS}); yours: {describe_layers(model)}" + "".join(f"; {h}" for h in dict.fromkeys(hints))
        + (f"; {found}" if found else ""))


@pytest.mark.points(1)
def test_default_arguments(mod):
    problems = default_problems(mod.SimpleCNN, "SimpleCNN", dict(num_classes=10, dropout=0.25))
    assert not problems, "; ".join(problems)


@pytest.mark.points(1)
@pytest.mark.needs("test_output_shape")
def test_num_classes(mod, device):
    check_num_classes(lambda **kw: build(mod, device, **kw), call, images(device, 5), "SimpleCNN",
                      output_layer="the last Linear", parameters=DEFAULT_PARAMETERS - 3 * 129, default=DEFAULT_PARAMETERS,
                      how=" (the last Linear 128->7 has 128*7+7 = 903)")


@pytest.mark.points(2)
@pytest.mark.needs("test_output_shape")
def test_dropout_in_training_mode(mod, device):
    check_dropout_in_training(lambda **kw: build(mod, device, **kw), call, images(device, 16), "SimpleCNN",
                              where="after the ReLU of the first Linear",
                              everything_dropped="every unit before the last Linear",
                              dropout_layer="the dropout between the two Linear layers")


@pytest.mark.points(1)
@pytest.mark.needs("test_output_shape")
def test_no_dropout_in_eval_mode(mod, device):
    check_no_dropout_in_eval(lambda **kw: build(mod, device, **kw), call, images(device, 16), "SimpleCNN")


@pytest.mark.points(1)
@pytest.mark.needs("test_output_shape")
def test_outputs_are_raw_logits(mod, device):
    check_raw_logits(lambda **kw: build(mod, device, **kw), call, images(device, 16), "SimpleCNN",
                     last_layer="nn.Linear(128, num_classes)")


@pytest.mark.points(2)
@pytest.mark.needs("test_output_shape", "test_parameter_count")
def test_forward_runs_conv_relu_maxpool_blocks_then_the_classifier(mod, device):
    """The operations forward really runs, traced as torch dispatches them (grader/checks/forward_trace.py):
    conv, ReLU, 2x2 max-pool (the ReLU may follow the max-pool: they commute), twice; flatten; Linear,
    ReLU, dropout (training mode only, scaling what it keeps by 1/(1-p)); Linear."""
    check_forward_contract(
        lambda **kw: build(mod, device, **kw), call, images(device, 8), "SimpleCNN", kwargs={},
        weights=[(32, 1, 3, 3), (64, 32, 3, 3), (128, 3136), (10, 128)], p=0.25,
        gaps=[Gap("on the input, before the first convolution"),
              Gap("between the 1st and 2nd convolution", relu=True, max_pool=True),
              Gap("between the 2nd convolution and the first Linear", relu=True, max_pool=True),
              Gap("between the two Linear layers", relu=True, dropout=True)])


ARCHITECTURE = ("test_output_shape", "test_parameter_count", "test_default_arguments", "test_num_classes",
                "test_dropout_in_training_mode", "test_no_dropout_in_eval_mode",
                "test_outputs_are_raw_logits", "test_forward_runs_conv_relu_maxpool_blocks_then_the_classifier")


@pytest.mark.points(10)
@pytest.mark.needs(*ARCHITECTURE)
def test_mnist_accuracy(mod, device, metrics, progress):
    from grader.train.harness import judge_threshold

    verdict = judge_threshold(mod.SimpleCNN, kit.threshold("07_cnn", "test_mnist_accuracy"), device=device,
                              progress=progress, metrics=metrics)
    assert verdict.passed, (
        f"SimpleCNN() on the 10,000 MNIST test images: {verdict.describe()}; the reference clears the "
        "threshold with these settings: compare your layers with the README (conv, ReLU, max-pool twice; "
        "Linear, ReLU, Dropout; a plain Linear output) and check nothing else changes the data in forward")
