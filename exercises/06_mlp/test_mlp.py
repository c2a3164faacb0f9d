"""Tests of 06_mlp/mlp.py: MLP (shapes, size, dropout, logits, then MNIST accuracy) and count_parameters.

Each failure names the cause and the fix. "not started" means the test reached a stub's
NotImplementedError; "blocked" means a test it needs (see @needs) has not passed yet, so fix that one
first. The architecture is judged by behaviour, never attribute names. Hints: `grader hint 06`.
"""
from __future__ import annotations

import numbers

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
    deterministic,
    images,
    trainable,
)
from grader.checks.reference import seed_everything
from grader.checks.signatures import default_failure, started
from grader.core import failures, kit
from grader.core.failures import Failure

BATCH = 32
DEFAULT_PARAMETERS = 109_386
FAIL = failures.table(__file__)
# The MNIST threshold and its training settings are in exercises/kit.toml (an MLP without
# hidden ReLUs reaches about 92.4%); `grader calibrate` measures the reference against it.


def expected_parameters(widths: list[int]) -> int:
    """Linear layers between consecutive widths: in*out weights + out biases each."""
    return sum(a * b + b for a, b in zip(widths, widths[1:]))


def linear_weights(widths: list[int]) -> list[tuple[int, int]]:
    """The weight shapes (out, in) of Linear layers between consecutive widths."""
    return [(b, a) for a, b in zip(widths, widths[1:])]


def formula(widths: list[int]) -> str:
    return " + ".join(f"{a}*{b}+{b}" for a, b in zip(widths, widths[1:]))


def no_parameters_hint(count: int) -> Failure | str:
    return FAIL("plain_list_hint") if count == 0 else ""


def build(mod, device, **kwargs) -> nn.Module:
    model = build_model(mod.MLP, "MLP", device, (kwargs.get("input_size", 784),), **kwargs)
    args = ", ".join(f"{k}={v!r}" for k, v in kwargs.items())
    if trainable(model) == 0:
        raise FAIL("no_parameters", args=args, hint=no_parameters_hint(0))
    return model


@pytest.mark.points(2)
def test_output_shape_for_images_and_vectors(mod, device):
    model = build(mod, device).eval()
    x = images(device, BATCH)
    try:
        model(x)
    except Exception as exc:
        try:
            model(x.view(BATCH, 784))
        except Exception:  # noqa: BLE001
            works_flat = False
        else:
            works_flat = True
        error = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
        if works_flat:
            raise FAIL("flat_only", error=error) from exc
        raise FAIL("images_crash", batch=BATCH, error=error) from exc
    with torch.no_grad():
        out_images = call_model(model, x, "MLP()")
        out_flat = call_model(model, x.reshape(BATCH, 784), "MLP()")
    if tuple(out_images.shape) != (BATCH, 10):
        raise FAIL("images_output_shape", batch=BATCH, shape=tuple(out_images.shape))
    if tuple(out_flat.shape) != (BATCH, 10):
        raise FAIL("flat_output_shape", batch=BATCH, shape=tuple(out_flat.shape))
    if out_images.dtype != torch.float32:
        raise FAIL("logits_dtype", dtype=out_images.dtype)
    if not deterministic(call_model, model, x, "MLP()"):
        return  # random in eval mode: the eval-mode dropout test says why; the layouts cannot be compared
    if not torch.allclose(out_images, out_flat, atol=1e-5):
        raise FAIL("layouts_differ")


@pytest.mark.points(2)
def test_default_parameter_count(mod, device):
    model = build(mod, device)
    got = trainable(model)
    if got == DEFAULT_PARAMETERS:
        return
    found = layers_and_extras(model, images(device, 4), call_model, "MLP()", linear_weights([784, 128, 64, 10]))
    raise FAIL("default_parameters_wrong", got=got, want=DEFAULT_PARAMETERS, formula=formula([784, 128, 64, 10]),
               hint=no_parameters_hint(got), found=FAIL("trace_found", finding=found) if found else "")


@pytest.mark.points(1)
def test_default_arguments(mod):
    started(mod.MLP)
    failure = default_failure(mod.MLP, "MLP", dict(input_size=784, hidden_sizes=(128, 64), num_classes=10,
                                                   dropout=0.2))
    if failure is not None:
        raise failure


@pytest.mark.points(2)
@pytest.mark.needs("test_output_shape_for_images_and_vectors", "test_default_parameter_count")
def test_hidden_sizes_and_input_size_shape_the_network(mod, device):
    cases = [
        (dict(hidden_sizes=(256,)), [784, 256, 10]),
        (dict(hidden_sizes=[64, 32, 16]), [784, 64, 32, 16, 10]),
        (dict(input_size=100, hidden_sizes=(32,)), [100, 32, 10]),
    ]
    for kwargs, widths in cases:
        args = ", ".join(f"{k}={v!r}" for k, v in kwargs.items())
        model = build(mod, device, **kwargs).eval()
        got, want = trainable(model), expected_parameters(widths)
        if got != want:
            raise FAIL("hidden_sizes_ignored", args=args, got=got, want=want, formula=formula(widths),
                       hint=no_parameters_hint(got))
        x = torch.randn(5, widths[0], device=device)
        with torch.no_grad():
            out = call_model(model, x, f"MLP({args})")
        if tuple(out.shape) != (5, 10):
            raise FAIL("hidden_sizes_output_shape", args=args, width=widths[0], shape=tuple(out.shape))


@pytest.mark.points(1)
@pytest.mark.needs("test_output_shape_for_images_and_vectors")
def test_num_classes(mod, device):
    check_num_classes(lambda **kw: build(mod, device, **kw), call_model, images(device, 5), "MLP",
                      output_layer=FAIL("output_linear"), parameters=expected_parameters([784, 128, 64, 7]),
                      default=DEFAULT_PARAMETERS,
                      how=f" = {formula([784, 128, 64, 7])}")


def _check_count(mod, model: nn.Module, description: Failure | str) -> None:
    want = trainable(model)
    got = mod.count_parameters(model)
    if not isinstance(got, numbers.Integral) or isinstance(got, bool):
        raise FAIL("count_not_int", type=type(got).__name__, got=got)
    if got == want:
        return
    params = list(model.parameters())
    said = dict(model=description, got=got, want=want)
    mistakes = [  # (what the mistake counts, the failure naming it)
        (sum(p.numel() for p in params if p.requires_grad and p.dim() > 1), FAIL("counted_only_weights", **said)),
        (sum(p.numel() for p in params), FAIL("counted_frozen", **said)),
        (sum(t.numel() for t in model.state_dict().values()), FAIL("counted_buffers", **said)),
        (len(params), FAIL("counted_tensors", **said)),
    ]
    raise next((failure for value, failure in mistakes if value == got and value != want),
               FAIL("count_wrong", **said))


@pytest.mark.points(2)
def test_count_parameters(mod, device):
    seed_everything(0)
    _check_count(mod, build(mod, device), "MLP()")
    plain = nn.Sequential(nn.Linear(10, 5), nn.ReLU(), nn.Linear(5, 2))
    _check_count(mod, plain, "Linear(10, 5) + Linear(5, 2)")
    normed = nn.Sequential(nn.Linear(10, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, 2))
    _check_count(mod, normed, "Linear(10, 8) + BatchNorm1d(8) + Linear(8, 2)")
    frozen = nn.Sequential(nn.Flatten(), nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 10))
    for p in frozen[1].parameters():
        p.requires_grad_(False)
    _check_count(mod, frozen, FAIL("first_linear_frozen"))
    half_frozen = nn.Sequential(nn.Linear(10, 5), nn.Linear(5, 2))
    half_frozen[0].bias.requires_grad_(False)
    _check_count(mod, half_frozen, FAIL("first_bias_frozen"))


@pytest.mark.points(2)
@pytest.mark.needs("test_output_shape_for_images_and_vectors")
def test_dropout_in_training_mode(mod, device):
    check_dropout_in_training(lambda **kw: build(mod, device, **kw), call_model, images(device, BATCH), "MLP",
                              where=FAIL("after_each_hidden_relu"), everything_dropped=FAIL("every_hidden_unit"),
                              dropout_layer=FAIL("dropout_after_hidden_layers"))


@pytest.mark.points(1)
@pytest.mark.needs("test_output_shape_for_images_and_vectors")
def test_no_dropout_in_eval_mode(mod, device):
    check_no_dropout_in_eval(lambda **kw: build(mod, device, **kw), call_model, images(device, BATCH), "MLP")


@pytest.mark.points(2)
@pytest.mark.needs("test_output_shape_for_images_and_vectors")
def test_outputs_are_raw_logits(mod, device):
    check_raw_logits(lambda **kw: build(mod, device, **kw), call_model, images(device, BATCH), "MLP",
                     last_layer="nn.Linear(last_hidden, num_classes)")


@pytest.mark.points(1)
@pytest.mark.needs("test_outputs_are_raw_logits", "test_default_parameter_count")
def test_hidden_layers_use_relu(mod, device):
    model = build(mod, device, dropout=0.0).eval()
    with torch.no_grad():
        for p in model.parameters():
            if p.dim() == 1:
                p.zero_()  # without biases, a ReLU network satisfies f(2x) = 2 f(x)
        x = images(device, BATCH)
        out, doubled, negated = (call_model(model, v, "MLP()") for v in (x, 2 * x, -x))
    scale = out.abs().max().item() + 1e-12
    homogeneous = torch.allclose(doubled, 2 * out, atol=1e-4 * scale)
    if homogeneous and torch.allclose(negated, -out, atol=1e-5 * scale):
        raise FAIL("linear_network")
    if not homogeneous:
        raise FAIL("not_positively_homogeneous")


def after_hidden_linear(n: int) -> Failure:
    """'after the 1st hidden Linear' (English ordinals: 1st, 2nd, 3rd, 4th, ...)."""
    return FAIL("after_hidden_linear", n=n, suffix={1: "st", 2: "nd", 3: "rd"}.get(n, "th"))


@pytest.mark.points(2)
@pytest.mark.needs("test_output_shape_for_images_and_vectors", "test_default_parameter_count")
def test_forward_runs_linear_relu_dropout_per_hidden_layer(mod, device):
    """The operations forward really runs, traced as torch dispatches them (grader/checks/forward_trace.py):
    per hidden layer a Linear, a ReLU, then dropout (in training mode, scaling what it keeps by 1/(1-p));
    nothing on the input but flattening. Run with the defaults and with three hidden layers."""
    for kwargs in ({}, {"hidden_sizes": (64, 32, 16)}):
        widths = [784, *kwargs.get("hidden_sizes", (128, 64)), 10]
        if kwargs and trainable(build(mod, device, **kwargs)) != expected_parameters(widths):
            continue  # hidden_sizes ignored: test_hidden_sizes_and_input_size_shape_the_network says so
        gaps = [Gap(FAIL("on_the_input"))] + [
            Gap(after_hidden_linear(i), relu=True, dropout=True) for i in range(1, len(widths) - 1)]
        check_forward_contract(lambda **kw: build(mod, device, **kw), call_model, images(device, 16), "MLP",
                               kwargs=kwargs, weights=linear_weights(widths), gaps=gaps,
                               p=0.2)


ARCHITECTURE = ("test_output_shape_for_images_and_vectors", "test_default_parameter_count", "test_default_arguments",
                "test_hidden_sizes_and_input_size_shape_the_network", "test_num_classes",
                "test_dropout_in_training_mode", "test_no_dropout_in_eval_mode",
                "test_outputs_are_raw_logits", "test_hidden_layers_use_relu",
                "test_forward_runs_linear_relu_dropout_per_hidden_layer")


@pytest.mark.points(5)
@pytest.mark.needs(*ARCHITECTURE)
def test_mnist_accuracy(mod, device, metrics, progress):
    from grader.train.harness import judge_threshold

    verdict = judge_threshold(mod.MLP, kit.threshold("06_mlp", "test_mnist_accuracy"), device=device,
                              progress=progress, metrics=metrics)
    if not verdict.passed:
        raise FAIL("accuracy_below_threshold", verdict=verdict.describe())
