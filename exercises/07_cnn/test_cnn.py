"""Tests of 07_cnn/cnn.py: SimpleCNN (shapes, size, dropout, logits, then MNIST accuracy).

Each failure names the cause and the fix. "not started" means the test reached a stub's
NotImplementedError; "blocked" means a test it needs (see @needs) has not passed yet, so fix that one
first. The architecture is judged by behaviour, never attribute names. Hints: `grader hint 07`.
"""
from __future__ import annotations

import itertools
import re
from functools import reduce

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
from grader.checks.signatures import default_failure, started
from grader.core import failures, kit
from grader.core.failures import Failure

FAIL = failures.table(__file__)
DEFAULT_PARAMETERS = 421_642
LAYERS = "conv 1->32 (3x3, padding 1): 320, conv 32->64 (3x3, padding 1): 18,496, " \
         "Linear 3136->128: 401,536, Linear 128->10: 1,290"
# The MNIST threshold and its training settings are in exercises/kit.toml; `grader calibrate`
# measures the reference against it.


CONTRACT_SIZES = FAIL("contract_sizes")
CONVS = {"": (3, 1), "conv_without_padding": (3, 0), "conv_5x5_without_padding": (5, 0)}  # (kernel, padding)
POOLS = {"": (2, 2), "pool_stride_1": (2, 1), "pool_left_out": None}  # (kernel, stride)


def deviation(change: str, n: int) -> Failure:
    """The phrase for one deviation of ``CONVS``/``POOLS`` in the n-th block: 'the 1st conv without padding'."""
    nth = {"n": n, "suffix": "st" if n == 1 else "nd"}
    phrases = {"conv_without_padding": lambda: FAIL("conv_without_padding", **nth),
               "conv_5x5_without_padding": lambda: FAIL("conv_5x5_without_padding", **nth),
               "pool_stride_1": lambda: FAIL("pool_stride_1", **nth),
               "pool_left_out": lambda: FAIL("pool_left_out", **nth)}
    return phrases[change]()


def features_per_image() -> dict[int, list[list[tuple[str, int]]]]:
    """Values per image entering the first Linear (64 channels) -> the ways of getting it, each a list of
    the deviations from the contract (kernel, padding, pooling) it takes, as (change, block number)."""
    found: dict[int, list[list[tuple[str, int]]]] = {}
    for conv1, pool1, conv2, pool2 in itertools.product(CONVS, POOLS, CONVS, POOLS):
        side, wrong = 28, []
        for which, conv, pool in ((1, conv1, pool1), (2, conv2, pool2)):
            kernel, padding = CONVS[conv]
            side = side + 2 * padding - kernel + 1
            if POOLS[pool]:
                side = (side - POOLS[pool][0]) // POOLS[pool][1] + 1
            wrong += [(conv, which)] * bool(conv) + [(pool, which)] * bool(pool)
        found.setdefault(64 * side * side, []).append(wrong)
    return found


def flattening_hint(text: str, x: torch.Tensor) -> Failure | None:
    """Why a forward pass that crashed on ``text`` probably did: the flattening, or a feature map whose
    size (read from the error) is named with the deviations (one or two) that would give it."""
    product = re.search(r"mat1 and mat2 shapes cannot be multiplied \((\d+)x(\d+) and", text)
    if product and int(product.group(1)) != len(x):
        return FAIL("batch_merged", rows=product.group(1), n=len(x))
    view = re.search(r"is invalid for input of size (\d+)", text)
    total = int(product.group(2)) * len(x) if product else int(view.group(1)) if view else None
    if total is None:
        return FAIL("feature_map_size", sizes=CONTRACT_SIZES) if "shape" in text or "size" in text else None
    got = total // len(x)
    ways = sorted((w for w in features_per_image().get(got, []) if 0 < len(w) <= 2), key=len)[:4]
    said = [reduce(lambda a, b: FAIL("and", first=a, second=b), [deviation(*d) for d in way]) for way in ways]
    why = FAIL("as_with", ways=reduce(lambda a, b: FAIL("or_else", first=a, second=b), said)) if said else ""
    return FAIL("features_wrong", got=got, why=why, sizes=CONTRACT_SIZES)


def build(mod, device, **kwargs) -> nn.Module:
    return build_model(mod.SimpleCNN, "SimpleCNN", device, **kwargs)


def call(model: nn.Module, x: torch.Tensor, what: Failure | str) -> torch.Tensor:
    return call_model(model, x, what, flattening_hint)


def describe_layers(model: nn.Module) -> Failure | str:
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
    return ", ".join(parts) if parts else FAIL("no_conv_or_linear")


@pytest.mark.points(2)
def test_output_shape(mod, device):
    model = build(mod, device).eval()
    for n in (4, 1):
        with torch.no_grad():
            out = call(model, images(device, n), "SimpleCNN()")
        if tuple(out.shape) != (n, 10):
            raise FAIL("images_output_shape", n=n, shape=tuple(out.shape))
        if out.dtype != torch.float32:
            raise FAIL("logits_dtype", dtype=out.dtype)


@pytest.mark.points(3)
def test_parameter_count(mod, device):
    model = build(mod, device)
    got = trainable(model)
    if got == DEFAULT_PARAMETERS:
        return
    hints = []
    for m in model.modules():
        if isinstance(m, nn.Conv2d) and m.padding in ((0, 0), "valid"):
            hints.append(FAIL("conv_without_padding_shrinks"))
        if isinstance(m, nn.Linear) and m.out_features == 128 and m.in_features != 3136:
            hints.append(FAIL("first_linear_features", features=m.in_features))
    once = list({hint.texts["en"]: hint for hint in hints}.values())
    found = layers_and_extras(model, images(device, 2), call, "SimpleCNN()", None)
    raise FAIL("parameter_count_wrong", got=got, want=DEFAULT_PARAMETERS, layers=LAYERS, yours=describe_layers(model),
               hints=failures.joined("07_cnn.hints", once, "") if once else "",
               found=FAIL("trace_found", finding=found) if found else "")


@pytest.mark.points(1)
def test_default_arguments(mod):
    started(mod.SimpleCNN)
    failure = default_failure(mod.SimpleCNN, "SimpleCNN", dict(num_classes=10, dropout=0.25))
    if failure is not None:
        raise failure


@pytest.mark.points(1)
@pytest.mark.needs("test_output_shape")
def test_num_classes(mod, device):
    check_num_classes(lambda **kw: build(mod, device, **kw), call, images(device, 5), "SimpleCNN",
                      output_layer=FAIL("last_linear"), parameters=DEFAULT_PARAMETERS - 3 * 129,
                      default=DEFAULT_PARAMETERS, how=FAIL("last_linear_count"))


@pytest.mark.points(2)
@pytest.mark.needs("test_output_shape")
def test_dropout_in_training_mode(mod, device):
    check_dropout_in_training(lambda **kw: build(mod, device, **kw), call, images(device, 16), "SimpleCNN",
                              where=FAIL("after_first_linear_relu"),
                              everything_dropped=FAIL("every_unit_before_last_linear"),
                              dropout_layer=FAIL("dropout_between_linears"))


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
        gaps=[Gap(FAIL("on_the_input")),
              Gap(FAIL("between_convolutions"), relu=True, max_pool=True),
              Gap(FAIL("between_conv_and_linear"), relu=True, max_pool=True),
              Gap(FAIL("between_linears"), relu=True, dropout=True)])


ARCHITECTURE = ("test_output_shape", "test_parameter_count", "test_default_arguments", "test_num_classes",
                "test_dropout_in_training_mode", "test_no_dropout_in_eval_mode",
                "test_outputs_are_raw_logits", "test_forward_runs_conv_relu_maxpool_blocks_then_the_classifier")


@pytest.mark.points(10)
@pytest.mark.needs(*ARCHITECTURE)
def test_mnist_accuracy(mod, device, metrics, progress):
    from grader.train.harness import judge_threshold

    verdict = judge_threshold(mod.SimpleCNN, kit.threshold("07_cnn", "test_mnist_accuracy"), device=device,
                              progress=progress, metrics=metrics)
    if not verdict.passed:
        raise FAIL("accuracy_below_threshold", verdict=verdict.describe())
