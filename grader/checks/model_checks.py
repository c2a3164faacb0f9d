"""Behavioural checks shared by the model exercises (06_mlp, 07_cnn): building and calling the
learner's model, the num_classes argument, dropout and raw logits.

Each check takes ``make(**kwargs)``, which builds the learner's model on the test's device
(:func:`build_model`), ``forward(model, x, what)``, which runs it and turns a crash into a
learner-facing failure (:func:`call_model`), and a batch ``x`` of images (N, 1, 28, 28).
Failures raise a keyed :class:`~grader.core.failures.Failure` (model_checks.toml); the phrases a
check fills in for an exercise (``where``, ``output_layer``, ...) are Failures of the exercise's table
or code spellings, so each language says them in its own words.
"""
from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn
from torch.nn.parameter import is_lazy

from grader.checks.reference import seed_everything
from grader.core import failures
from grader.core.failures import Failure

Make = Callable[..., nn.Module]
Text = str | Failure  # code ("MLP()") or a phrase said in each language
Forward = Callable[[nn.Module, torch.Tensor, Text], torch.Tensor]
FAIL = failures.module_table(__file__)


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
    if not isinstance(model, nn.Module):
        raise FAIL("not_a_module", call=f"{name}({args})", type=type(model).__name__, name=name)
    model = model.to(device)
    if any(is_lazy(p) for p in model.parameters()):
        training = model.training
        with torch.no_grad():
            call_model(model.eval(), torch.randn(2, *sample, generator=torch.Generator().manual_seed(0)).to(device),
                       FAIL("lazy_sizing_call", call=f"{name}({args})"))
        model.train(training)
    return model


def call_model(model: nn.Module, x: torch.Tensor, what: Text,
               explain: Callable[[str, torch.Tensor], Failure | None] | None = None) -> torch.Tensor:
    """model(x), turning a crash into a learner-facing failure; ``explain(error line, x)`` may add a
    hint (a Failure whose texts start with their separator, "; ...")."""
    try:
        out = model(x)
    except Exception as exc:
        text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        hint = explain(text, x) if explain else None
        raise FAIL("call_crashed", what=what, shape=tuple(x.shape), error=type(exc).__name__, text=text,
                   hint=hint or "") from exc
    if not isinstance(out, torch.Tensor):
        raise FAIL("not_a_tensor", what=what, type=type(out).__name__)
    return out


def _twice(forward: Forward, model: nn.Module, x: torch.Tensor, what: Text) -> tuple[torch.Tensor, torch.Tensor]:
    with torch.no_grad():
        return forward(model, x, what), forward(model, x, what)


def deterministic(forward: Forward, model: nn.Module, x: torch.Tensor, what: Text) -> bool:
    """Two passes on the same input agree: the premise of every check that compares outputs.

    A model that is random in eval mode (dropout left on) fails the eval-mode dropout test;
    the other checks stay silent about it instead of blaming a cause they cannot see.
    """
    first, second = _twice(forward, model, x, what)
    return torch.equal(first, second)


def check_num_classes(make: Make, forward: Forward, x: torch.Tensor, name: str, *, output_layer: Text,
                      parameters: int, default: int, how: Text) -> None:
    """``name(num_classes=7)`` gives 7 logits per image and has ``parameters`` trainable parameters
    (judged only when ``name()`` has the right ``default`` count: else the parameter-count test
    names the layers that differ).

    ``output_layer`` names the layer whose outputs num_classes sets; ``how`` follows the expected
    count in the message (how it adds up).
    """
    model = make(num_classes=7).eval()
    with torch.no_grad():
        out = forward(model, x, f"{name}(num_classes=7)")
    if tuple(out.shape) != (len(x), 7):
        raise FAIL("num_classes_ignored", name=name, shape=tuple(out.shape), n=len(x), output_layer=output_layer)
    if trainable(make()) != default:
        return
    if trainable(model) != parameters:
        raise FAIL("num_classes_parameters", name=name, got=trainable(model), want=parameters, how=how)


def check_dropout_in_training(make: Make, forward: Forward, x: torch.Tensor, name: str, *,
                              where: Text, everything_dropped: Text, dropout_layer: Text) -> None:
    """Dropout is active in training mode, follows the ``dropout`` argument, and p=1 drops all."""
    first, second = _twice(forward, make().train(), x, f"{name}()")
    if torch.equal(first, second):
        raise FAIL("dropout_missing", name=name, where=where)
    first, second = _twice(forward, make(dropout=0.0).train(), x, f"{name}(dropout=0.0)")
    if not torch.equal(first, second):
        raise FAIL("dropout_argument_ignored", name=name)
    with torch.no_grad():
        out = forward(make(dropout=1.0).train(), x, f"{name}(dropout=1.0)")
    if not torch.allclose(out, out[:1].expand_as(out), atol=1e-6):
        raise FAIL("dropout_one_keeps_images", name=name, everything_dropped=everything_dropped,
                   dropout_layer=dropout_layer)


def check_no_dropout_in_eval(make: Make, forward: Forward, x: torch.Tensor, name: str) -> None:
    """In eval mode the model is deterministic and equals its dropout-free twin (also in eval mode: the
    twin's training-mode output would depend on how the dropout argument is used, which the
    training-mode check judges)."""
    model = make(dropout=0.5).eval()
    first, second = _twice(forward, model, x, f"{name}(dropout=0.5)")
    if not torch.equal(first, second):
        raise FAIL("dropout_active_in_eval", name=name)
    twin = make(dropout=0.0)
    twin.load_state_dict(model.state_dict())
    with torch.no_grad():
        reference = forward(twin.eval(), x, f"{name}(dropout=0.0)")
    if not torch.allclose(first, reference, atol=1e-5):
        raise FAIL("eval_dropout_changes_values", name=name)


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
    if len(biases) != 1:
        raise FAIL("output_bias_not_found", name=name, last_layer=last_layer)
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
        raise FAIL("softmax_at_output", name=name)
    if bool((before >= 0).all()):
        raise FAIL("activation_at_output", name=name)
    raise FAIL("output_changed", name=name)
