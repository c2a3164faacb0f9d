"""Probes of the training loop (04_train), so that its test files read as tests: a tiny model that
writes down how it was called, loaders of batches that must be moved to the device, and the
gradients an optimizer step should have seen.

A probe classifies N_FEATURES = 4 inputs into N_CLASSES = 3 classes; loaders give batches of
BATCH = 8 samples, x (B, 4) and labels (B,), as Unmoved tensors. Failures are keyed causes of
probes.toml, said in each language.
"""
from __future__ import annotations

import math
import numbers
import re
from collections.abc import Iterator
from contextlib import contextmanager

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, TensorDataset
from torch.utils.data.dataloader import default_collate

from grader.checks.devices import OnDevice, Unmoved, unmoved
from grader.core import failures
from grader.core.failures import Failure

FAIL = failures.module_table(__file__)

N_FEATURES, N_CLASSES = 4, 3
BATCH = 8


def unmoved_collate(batch):
    """Batches as Unmoved tensors: on the CPU as on a GPU, they must be moved before use."""
    return unmoved(*default_collate(batch))


class Probe(nn.Module):
    """A linear classifier (optionally followed by BatchNorm) that writes down every call."""

    def __init__(self, seed: int = 0, norm: bool = False) -> None:
        super().__init__()
        torch.manual_seed(seed)
        self.linear = nn.Linear(N_FEATURES, N_CLASSES)
        self.norm = nn.BatchNorm1d(N_CLASSES) if norm else nn.Identity()
        self.calls: list[dict] = []

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.calls.append({"training": self.training, "grad": torch.is_grad_enabled(),
                           "moved": not isinstance(x, Unmoved), "device": x.device})
        return self.norm(self.linear(x)).as_subclass(OnDevice)


def random_data(n: int, seed: int = 1) -> tuple[torch.Tensor, torch.Tensor]:
    """n samples: inputs (n, N_FEATURES) from a standard normal, labels (n,) in 0..N_CLASSES-1."""
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, N_FEATURES, generator=g), torch.randint(0, N_CLASSES, (n,), generator=g)


def loader_of(x: torch.Tensor, y: torch.Tensor, batch_size: int = BATCH) -> DataLoader:
    """Equal batches, fixed order (so the mean per sample and the mean of batch means agree), of
    Unmoved tensors: code that forgets .to(device) fails here as it would on a GPU."""
    return DataLoader(TensorDataset(x, y), batch_size=batch_size, shuffle=False, collate_fn=unmoved_collate)


def labels_with_accuracy(model: Probe, x: torch.Tensor, n_right: int) -> torch.Tensor:
    """Labels that ``model`` gets right for exactly the first ``n_right`` samples of x."""
    with torch.no_grad():
        predicted = model.cpu()(x).argmax(dim=1)
    model.calls.clear()
    wrong = (predicted + 1) % N_CLASSES
    return torch.where(torch.arange(len(x)) < n_right, predicted, wrong)


def mean_loss(model: Probe, x: torch.Tensor, y: torch.Tensor, device: torch.device) -> float:
    """The mean cross-entropy of the probe on (x, y), not written down as a call."""
    with torch.no_grad():
        loss = F.cross_entropy(model(x.to(device)), y.to(device)).item()
    model.calls.clear()
    return loss


def same_device(got: torch.device, want: torch.device) -> bool:
    """cuda:0 is the device "cuda" names; cpu is cpu."""
    return got.type == want.type and (want.index is None or got.index == want.index)


def is_number(value) -> bool:
    """A plain Python number (a tensor, even with one element, is not)."""
    return isinstance(value, numbers.Real) and not isinstance(value, (bool, torch.Tensor))


def check_numbers(result, who: str) -> tuple[float, float]:
    """(avg_loss, accuracy) from a result that must be a pair of plain numbers."""
    if not (isinstance(result, tuple) and len(result) == 2):
        raise FAIL("not_a_pair", who=who, type=type(result).__name__, result=result)
    for name, value in zip(("avg_loss", "accuracy"), result):
        if not is_number(value):
            raise FAIL("not_a_number", who=who, name=name, type=type(value).__name__)
    return float(result[0]), float(result[1])


def near(a: float, b: float) -> bool:
    """Equal up to float rounding (rtol 1e-4, atol 1e-6)."""
    return math.isclose(a, b, rel_tol=1e-4, abs_tol=1e-6)


#: torch's error when a (C,) tensor meets the (B,) labels: predictions taken over the batch dimension.
_BATCH_ARGMAX = re.compile(rf"size of tensor a \(({N_CLASSES}|{BATCH})\) must match the size of tensor b "
                           rf"\(({N_CLASSES}|{BATCH})\)")


@contextmanager
def naming_batch_argmax(who: str) -> Iterator[None]:
    """Run a block that calls ``who``; torch's size error for a (C,) = (3,) prediction compared with
    the (B,) = (8,) labels fails with its cause: the arg-max ran over the batch dimension (dim=0)."""
    try:
        yield
    except RuntimeError as exc:
        sizes = _BATCH_ARGMAX.search(str(exc))
        if sizes is None or sizes.group(1) == sizes.group(2):
            raise
        raise FAIL("argmax_over_batch", who=who, classes=N_CLASSES, batch=BATCH, error=type(exc).__name__) from exc


def check_units(who: str, avg_loss: float, accuracy: float, want_loss: float, want_acc: float,
                n_samples: int, n_batches: int, batch_size: int) -> None:
    """Learner-facing diagnosis of the usual unit mistakes in (avg_loss, accuracy)."""
    if not near(accuracy, want_acc) and near(avg_loss, want_acc) and near(accuracy, want_loss):
        raise FAIL("loss_and_accuracy_swapped", who=who, loss=avg_loss, acc=accuracy, want_loss=want_loss,
                   want_acc=want_acc)
    if not near(accuracy, want_acc):
        if near(accuracy, want_acc / 100):
            raise FAIL("accuracy_as_fraction", who=who, acc=accuracy, want_acc=want_acc)
        if near(accuracy, want_acc * n_samples / 100):
            raise FAIL("accuracy_as_count", who=who, acc=accuracy, want_acc=want_acc)
        raise FAIL("accuracy_wrong", who=who, acc=accuracy, want_acc=want_acc)
    if not near(avg_loss, want_loss):
        ratio = avg_loss / want_loss if want_loss else float("nan")
        if math.isclose(ratio, n_batches, rel_tol=1e-3):
            raise FAIL("loss_summed_over_batches", who=who, loss=avg_loss, batches=n_batches, want_loss=want_loss)
        if math.isclose(ratio, 1 / batch_size, rel_tol=1e-3):
            raise FAIL("batch_means_divided_by_samples", who=who, loss=avg_loss)
        if math.isclose(ratio, n_samples, rel_tol=1e-3):
            raise FAIL("loss_summed_over_samples", who=who, loss=avg_loss, want_loss=want_loss)
        raise FAIL("loss_wrong", who=who, loss=avg_loss, want_loss=want_loss)


def record_steps(model: nn.Module, optimizer: torch.optim.Optimizer) -> list[dict]:
    """Snapshot parameters and gradients each time optimizer.step() is about to run."""
    steps: list[dict] = []

    def hook(opt, args, kwargs):
        steps.append({
            "params": {n: p.detach().clone() for n, p in model.named_parameters()},
            "grads": {n: None if p.grad is None else p.grad.detach().clone() for n, p in model.named_parameters()},
        })

    optimizer.register_step_pre_hook(hook)
    return steps


def batch_gradient(params: dict, images: torch.Tensor, labels: torch.Tensor, device: torch.device) -> dict:
    """d(cross-entropy of this one batch)/d(parameters), evaluated at ``params``."""
    ref = Probe().to(device)
    ref.load_state_dict(params, strict=False)
    loss = F.cross_entropy(ref(images.to(device)), labels.to(device))
    names = [n for n, _ in ref.named_parameters()]
    return dict(zip(names, torch.autograd.grad(loss, list(ref.parameters()))))


def add(a: dict, b: dict) -> dict:
    """Parameter name -> a[name] + b[name]."""
    return {n: a[n] + b[n] for n in a}


def grads_match(got: dict, want: dict) -> bool:
    """Every wanted gradient is present in ``got`` and equal to it (rtol 1e-4, atol 1e-6)."""
    return all(got.get(n) is not None and torch.allclose(got[n], want[n], rtol=1e-4, atol=1e-6) for n in want)


def grads_empty(got: dict) -> bool:
    """No gradient at all: each is None or all zeros."""
    return all(g is None or not torch.any(g) for g in got.values())


def current_grads(model: nn.Module) -> dict:
    """Parameter name -> a copy of its .grad (None where there is none)."""
    return {n: None if p.grad is None else p.grad.detach().clone() for n, p in model.named_parameters()}


def empty_step_cause(who: str, left: dict) -> Failure:
    """Why optimizer.step() saw no gradients, told apart by what backward() left behind.

    Gradients present after the call mean backward() ran after the step; none left means
    they were cleared between backward() and step().
    """
    if grads_empty(left):
        return FAIL("gradients_wiped_before_step", who=who)
    return FAIL("step_before_backward", who=who)
