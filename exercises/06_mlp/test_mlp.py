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
from grader.checks.signatures import default_problems
from grader.core import kit

BATCH = 32
DEFAULT_PARAMETERS = 109_386
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


def no_parameters_hint(count: int) -> str:
    return ("; layers kept in a plain Python list (or dict) are invisible to PyTorch: use nn.Sequential, "
            "nn.ModuleList or one attribute per layer") if count == 0 else ""


def build(mod, device, **kwargs) -> nn.Module:
    model = build_model(mod.MLP, "MLP", device, (kwargs.get("input_size", 784),), **kwargs)
    args = ", ".join(f"{k}={v!r}" for k, v in kwargs.items())
    assert trainable(model) > 0, f"MLP({args}) has no trainable parameters" + no_parameters_hint(0)
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
            raise AssertionError(
                f"MLP() works on flat (N, 784) input but fails on images of shape (N, 1, 28, 28) ({error}): "
                "flatten each image in forward, e.g. x.view(x.size(0), -1) or nn.Flatten()") from exc
        raise AssertionError(
            f"MLP() with images of shape ({BATCH}, 1, 28, 28) raised {error}; flatten each image and keep "
            "the batch dimension: x.view(x.size(0), -1) gives (N, 784), while x.flatten() or x.view(-1) "
            "merge the whole batch into one vector") from exc
    with torch.no_grad():
        out_images = call_model(model, x, "MLP()")
        out_flat = call_model(model, x.reshape(BATCH, 784), "MLP()")
    assert tuple(out_images.shape) == (BATCH, 10), (
        f"MLP() turned images of shape ({BATCH}, 1, 28, 28) into shape {tuple(out_images.shape)}; "
        f"expected ({BATCH}, 10): one row of 10 logits per image (flatten with the batch dimension kept: "
        "x.view(x.size(0), -1), not x.view(-1) or x.flatten())")
    assert tuple(out_flat.shape) == (BATCH, 10), (
        f"MLP() turned flat input of shape ({BATCH}, 784) into shape {tuple(out_flat.shape)}; expected ({BATCH}, 10)")
    assert out_images.dtype == torch.float32, f"MLP() returned {out_images.dtype}; logits should be float32"
    if not deterministic(call_model, model, x, "MLP()"):
        return  # random in eval mode: the eval-mode dropout test says why; the layouts cannot be compared
    assert torch.allclose(out_images, out_flat, atol=1e-5), (
        "MLP() gave different logits for the same images as (N, 1, 28, 28) and as (N, 784): "
        "flatten each image row by row (x.view(x.size(0), -1)) so both layouts mean the same thing")


@pytest.mark.points(2)
def test_default_parameter_count(mod, device):
    model = build(mod, device)
    got = trainable(model)
    if got == DEFAULT_PARAMETERS:
        return
    found = layers_and_extras(model, images(device, 4), call_model, "MLP()", linear_weights([784, 128, 64, 10]))
    raise AssertionError(
        f"MLP() has {got:,} trainable parameters, expected {DEFAULT_PARAMETERS:,} = "
        f"{formula([784, 128, 64, 10])}: Linear(784, 128), Linear(128, 64), Linear(64, 10), "
        "each with a bias; ReLU and Dropout have no parameters" + no_parameters_hint(got)
        + (f"; {found}" if found else ""))


@pytest.mark.points(1)
def test_default_arguments(mod):
    problems = default_problems(mod.MLP, "MLP", dict(input_size=784, hidden_sizes=(128, 64), num_classes=10,
                                                     dropout=0.2))
    assert not problems, "; ".join(problems)


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
        assert got == want, (
            f"MLP({args}) has {got:,} trainable parameters, expected {want:,} = {formula(widths)}: "
            "build one Linear (+ReLU, +Dropout) per entry of hidden_sizes, starting from input_size, "
            "then a Linear to num_classes (do not hard-code 784, 128 or 64)" + no_parameters_hint(got))
        x = torch.randn(5, widths[0], device=device)
        with torch.no_grad():
            out = call_model(model, x, f"MLP({args})")
        assert tuple(out.shape) == (5, 10), (
            f"MLP({args}) turned input of shape (5, {widths[0]}) into {tuple(out.shape)}, expected (5, 10)")


@pytest.mark.points(1)
@pytest.mark.needs("test_output_shape_for_images_and_vectors")
def test_num_classes(mod, device):
    check_num_classes(lambda **kw: build(mod, device, **kw), call_model, images(device, 5), "MLP",
                      output_layer="the output Linear", parameters=expected_parameters([784, 128, 64, 7]),
                      default=DEFAULT_PARAMETERS,
                      how=f" = {formula([784, 128, 64, 7])}")


def _check_count(mod, model: nn.Module, description: str) -> None:
    want = trainable(model)
    got = mod.count_parameters(model)
    assert isinstance(got, numbers.Integral) and not isinstance(got, bool), (
        f"count_parameters returned {type(got).__name__} ({got!r}); return a Python int "
        "(sum of p.numel(), or .item() if you summed a tensor)")
    if got == want:
        return
    params = list(model.parameters())
    hints = [
        (sum(p.numel() for p in params if p.requires_grad and p.dim() > 1),
         "you seem to count only the weights: biases are parameters too"),
        (sum(p.numel() for p in params),
         "you seem to count frozen parameters too: count only those with requires_grad=True"),
        (sum(t.numel() for t in model.state_dict().values()),
         "you seem to count the state_dict, which also holds buffers (e.g. BatchNorm running "
         "statistics) that are not trainable parameters: use model.parameters()"),
        (len(params), "you seem to count parameter tensors, not the numbers inside them: sum p.numel()"),
    ]
    why = next((text for value, text in hints if value == got and value != want),
               "count every trainable number: sum(p.numel() for p in model.parameters() if p.requires_grad)")
    raise AssertionError(f"count_parameters({description}) returned {got:,}, expected {want:,}: {why}")


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
    _check_count(mod, frozen, "a model whose first Linear(784, 128) is frozen")
    half_frozen = nn.Sequential(nn.Linear(10, 5), nn.Linear(5, 2))
    half_frozen[0].bias.requires_grad_(False)
    _check_count(mod, half_frozen, "a model whose first bias is frozen")


@pytest.mark.points(2)
@pytest.mark.needs("test_output_shape_for_images_and_vectors")
def test_dropout_in_training_mode(mod, device):
    check_dropout_in_training(lambda **kw: build(mod, device, **kw), call_model, images(device, BATCH), "MLP",
                              where="after each hidden ReLU",
                              everything_dropped="every hidden unit (only the output bias is left)",
                              dropout_layer="the dropout after the hidden layers")


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
    assert not (homogeneous and torch.allclose(negated, -out, atol=1e-5 * scale)), (
        "MLP() behaves like a linear function of its input (with the biases set to zero, "
        "f(2x) = 2 f(x) and f(-x) = -f(x)): put a ReLU after every hidden Linear; without it the stacked "
        "layers collapse into one linear layer")
    assert homogeneous, (
        "with the biases set to zero a ReLU network satisfies f(2x) = 2 f(x), but MLP() does not: either the "
        "hidden activation is not ReLU (use nn.ReLU or F.relu, not sigmoid or tanh) or forward adds other "
        "arithmetic, such as shifting its input by a constant (the forward trace test names which)")


def ordinal(n: int) -> str:
    return {1: "1st", 2: "2nd", 3: "3rd"}.get(n, f"{n}th")


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
        gaps = [Gap("on the input, before the first Linear")] + [
            Gap(f"after the {ordinal(i)} hidden Linear", relu=True, dropout=True) for i in range(1, len(widths) - 1)]
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
    assert verdict.passed, (
        f"MLP() on the 10,000 MNIST test images: {verdict.describe()}; the reference clears the "
        "threshold with these settings: compare your layers with the README (Linear+ReLU+Dropout per "
        "hidden layer, a plain Linear output) and check nothing else changes the data in forward")
