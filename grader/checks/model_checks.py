"""Behavioural checks shared by the model exercises (06_mlp, 07_cnn): building and calling the
learner's model, the num_classes argument, dropout and raw logits.

Each check takes ``make(**kwargs)``, which builds the learner's model on the test's device
(:func:`build_model`), ``forward(model, x, what)``, which runs it and turns a crash into a
learner-facing failure (:func:`call_model`), and a batch ``x`` of images (N, 1, 28, 28).
Failures raise AssertionError with a message.
"""
from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn
from torch.nn.parameter import is_lazy

from grader.checks.reference import seed_everything

Make = Callable[..., nn.Module]
Forward = Callable[[nn.Module, torch.Tensor, str], torch.Tensor]


def trainable(model: nn.Module) -> int:
    """The number of trainable parameters: sum of p.numel() over those with requires_grad."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def images(device: torch.device, n: int, seed: int = 1) -> torch.Tensor:
    """n random images (n, 1, 28, 28) from a standard normal, on ``device``."""
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, 1, 28, 28, generator=g).to(device)


def build_model(cls: Callable[..., object], name: str, device: torch.device, sample: tuple[int, ...] = (1, 28, 28),
                **kwargs) -> nn.Module:
    """``cls(**kwargs)`` (the learner's class ``name``) built after seeding everything with 0, checked
    to be an nn.Module, on ``device``. Lazy layers (nn.LazyLinear, ...) get their sizes from one
    forward pass (eval mode, no gradients) on two inputs of shape ``sample``, so parameters can be
    counted."""
    seed_everything(0)
    model = cls(**kwargs)
    args = ", ".join(f"{k}={v!r}" for k, v in kwargs.items())
    assert isinstance(model, nn.Module), (
        f"{name}({args}) returned {type(model).__name__}; {name} must subclass nn.Module")
    model = model.to(device)
    if any(is_lazy(p) for p in model.parameters()):
        training = model.training
        with torch.no_grad():
            call_model(model.eval(), torch.randn(2, *sample, generator=torch.Generator().manual_seed(0)).to(device),
                       f"{name}({args}), run once to size its lazy layers,")
        model.train(training)
    return model


def call_model(model: nn.Module, x: torch.Tensor, what: str,
               explain: Callable[[str, torch.Tensor], str] | None = None) -> torch.Tensor:
    """model(x), turning a crash into a learner-facing failure; ``explain(error line, x)`` may add a hint."""
    try:
        out = model(x)
    except Exception as exc:
        text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        hint = explain(text, x) if explain else ""
        raise AssertionError(f"{what} with input of shape {tuple(x.shape)} raised "
                             f"{type(exc).__name__}: {text}{hint}") from exc
    assert isinstance(out, torch.Tensor), f"{what} returned {type(out).__name__}, expected a tensor of logits"
    return out


def _twice(forward: Forward, model: nn.Module, x: torch.Tensor, what: str) -> tuple[torch.Tensor, torch.Tensor]:
    with torch.no_grad():
        return forward(model, x, what), forward(model, x, what)


def deterministic(forward: Forward, model: nn.Module, x: torch.Tensor, what: str) -> bool:
    """Two passes on the same input agree: the premise of every check that compares outputs.

    A model that is random in eval mode (dropout left on) fails the eval-mode dropout test;
    the other checks stay silent about it instead of blaming a cause they cannot see.
    """
    first, second = _twice(forward, model, x, what)
    return torch.equal(first, second)


def check_num_classes(make: Make, forward: Forward, x: torch.Tensor, name: str, *, output_layer: str,
                      parameters: int, default: int, how: str) -> None:
    """``name(num_classes=7)`` gives 7 logits per image and has ``parameters`` trainable parameters
    (judged only when ``name()`` has the right ``default`` count: else the parameter-count test
    names the layers that differ).

    ``output_layer`` names the layer whose outputs num_classes sets; ``how`` follows the expected
    count in the message (how it adds up).
    """
    model = make(num_classes=7).eval()
    with torch.no_grad():
        out = forward(model, x, f"{name}(num_classes=7)")
    assert tuple(out.shape) == (len(x), 7), (
        f"{name}(num_classes=7) returned shape {tuple(out.shape)} for {len(x)} images, expected ({len(x)}, 7): "
        f"{output_layer} must have num_classes outputs")
    if trainable(make()) != default:
        return
    assert trainable(model) == parameters, (
        f"{name}(num_classes=7) has {trainable(model):,} trainable parameters, expected {parameters:,}{how}")


def check_dropout_in_training(make: Make, forward: Forward, x: torch.Tensor, name: str, *,
                              where: str, everything_dropped: str, dropout_layer: str) -> None:
    """Dropout is active in training mode, follows the ``dropout`` argument, and p=1 drops all."""
    first, second = _twice(forward, make().train(), x, f"{name}()")
    assert not torch.equal(first, second), (
        f"in training mode (model.train()) two forward passes of {name}() on the same images gave identical "
        f"logits, so no dropout is active: add nn.Dropout(dropout) {where}")
    first, second = _twice(forward, make(dropout=0.0).train(), x, f"{name}(dropout=0.0)")
    assert torch.equal(first, second), (
        f"{name}(dropout=0.0) in training mode gave different logits for the same images on two calls: "
        "the dropout argument must set the dropout probability (nn.Dropout(dropout)), not a fixed value")
    with torch.no_grad():
        out = forward(make(dropout=1.0).train(), x, f"{name}(dropout=1.0)")
    assert torch.allclose(out, out[:1].expand_as(out), atol=1e-6), (
        f"{name}(dropout=1.0) in training mode should drop {everything_dropped}, so every image gets the same "
        f"logits; yours still depend on the image: pass the dropout argument to {dropout_layer}")


def check_no_dropout_in_eval(make: Make, forward: Forward, x: torch.Tensor, name: str) -> None:
    """In eval mode the model is deterministic and equals its dropout-free twin (also in eval mode: the
    twin's training-mode output would depend on how the dropout argument is used, which the
    training-mode check judges)."""
    model = make(dropout=0.5).eval()
    first, second = _twice(forward, model, x, f"{name}(dropout=0.5)")
    assert torch.equal(first, second), (
        f"in eval mode (model.eval()) two forward passes of {name}(dropout=0.5) on the same images differ: "
        "dropout is still active; use nn.Dropout, or F.dropout(x, p, training=self.training)")
    twin = make(dropout=0.0)
    twin.load_state_dict(model.state_dict())
    with torch.no_grad():
        reference = forward(twin.eval(), x, f"{name}(dropout=0.0)")
    assert torch.allclose(first, reference, atol=1e-5), (
        f"in eval mode {name}(dropout=0.5) and {name}(dropout=0.0) with the same weights give different logits: "
        "in eval mode dropout must pass activations through unchanged, whatever p (nn.Dropout does; "
        "do not scale by 1-p yourself)")


def check_raw_logits(make: Make, forward: Forward, x: torch.Tensor, name: str, *, last_layer: str) -> None:
    """Shifting the output bias shifts the outputs by exactly that much: nothing follows the last Linear.

    Says nothing about a model that is random in eval mode (the dropout checks report that) or
    that ignores num_classes (check_num_classes reports that).
    """
    model = make(num_classes=7).eval()
    with torch.no_grad():
        if forward(model, x, f"{name}(num_classes=7)").shape[-1] != 7:
            return
    biases = [p for p in model.parameters() if tuple(p.shape) == (7,)]
    assert len(biases) == 1, (
        "could not find the output layer's bias (one parameter of shape (num_classes,)) in "
        f"{name}(num_classes=7): the last layer should be {last_layer} with a bias")
    shift = torch.tensor([-30.0, -20.0, -10.0, 0.0, 10.0, 20.0, 30.0], device=x.device)
    if not deterministic(forward, model, x, f"{name}(num_classes=7)"):
        return
    with torch.no_grad():
        before = forward(model, x, f"{name}(num_classes=7)")
        biases[0].add_(shift)
        after = forward(model, x, f"{name}(num_classes=7)")
    if torch.allclose(after - before, shift.expand_as(before), atol=1e-3):
        return
    if torch.allclose(before.sum(dim=1), torch.ones(len(before), device=x.device), atol=1e-4):
        why = "every row sums to 1, so there is a softmax at the output"
    elif bool((before >= 0).all()):
        why = "every output is >= 0, so an activation (ReLU, sigmoid, ...) follows the last Linear"
    else:
        why = "something after the last Linear changes its values"
    raise AssertionError(f"{name} must return raw logits from its last Linear, but {why}: remove it "
                         "(nn.CrossEntropyLoss applies log-softmax itself; logits can be any real number)")
