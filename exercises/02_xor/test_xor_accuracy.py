"""Tests of 02_xor/xor.py: xor_accuracy, judged on fixed logits.

Each failure names the cause and the fix. "not started" means the test reached a stub's
NotImplementedError; no test here needs another. The stand-in model answers with given logits of shape
(4, 1) and notes any operation on them that broadcasts. Hints: `grader hint 02`.
"""
from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from grader.core import failures
from grader.core.failures import Failure

FAIL = failures.table(__file__)
GRADES = "xor"
Y = torch.tensor([[0.0], [1.0], [1.0], [0.0]])


class Broadcasts(torch.Tensor):
    """A tensor that notes every operation on it whose result is larger than each of its inputs, as
    '(4, 1) with (4,) gave (4, 4)': a silent broadcast (the notes go to ``seen``, cleared by the caller),
    and every argmax/argmin over a single column (``picked``: its result is 0 for every row)."""

    seen: list[str] = []
    picked: list[str] = []

    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        out = super().__torch_function__(func, types, args, kwargs or {})
        with torch._C.DisableTorchFunctionSubclass():
            name = getattr(func, "__name__", "")
            if name in ("argmax", "argmin") and args and isinstance(args[0], torch.Tensor) and args[0].shape[-1:] == (1,):
                cls.picked.append(name)
            shapes = [tuple(a.shape) for a in args if isinstance(a, torch.Tensor)]
            if isinstance(out, torch.Tensor) and len(shapes) > 1 and all(out.numel() > math.prod(s) for s in shapes):
                cls.seen.append(f"{' with '.join(map(str, shapes))} gave {tuple(out.shape)}")
        return out


class FixedLogits(nn.Module):
    """A stand-in model that answers the four XOR points with given logits, of shape (4, 1)."""

    def __init__(self, logits: list[float]) -> None:
        super().__init__()
        self.logits = torch.tensor(logits).reshape(4, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.logits[: len(x)].as_subclass(Broadcasts)


# Logits for the four points and the accuracy they give against [0, 1, 1, 0]. Together they tell every
# rule of MISREADINGS apart: each rule gives a different list of accuracies over them.
ACCURACY_PROBES = [([-1.0, 2.0, -3.0, -0.5], 0.75), ([0.0, 2.0, 3.0, -1.0], 1.0), ([1.0, -1.0, -1.0, 1.0], 0.0),
                   ([-1.0, 0.3, 0.5, -0.3], 1.0)]
MISREADINGS = [
    (lambda t: t >= 0, FAIL("threshold_at_or_above_zero")),
    (lambda t: t > 0.5, FAIL("threshold_half")),
    (lambda t: t >= 0.5, FAIL("threshold_at_or_above_half")),
    (lambda t: t > -math.inf, FAIL("accuracy_always_half")),
]


def accuracy_hint(mod, got: float, expected: float, broadcasts: list[str], picked: list[str]) -> Failure:
    """What the learner's accuracy shows: a silent broadcast, an argmax over one column, a percentage, a count,
    or a misreading that gives the learner's result on every probe."""
    if broadcasts:
        return FAIL("accuracy_broadcast", shapes=broadcasts[0])
    if picked:
        return FAIL("accuracy_argmax_one_column", function=picked[0])
    if got == pytest.approx(100 * expected):
        return FAIL("accuracy_percentage")
    if got == pytest.approx(4 * expected):
        return FAIL("accuracy_count")
    results = []
    for logits, _ in ACCURACY_PROBES:
        try:
            results.append(mod.xor_accuracy(FixedLogits(logits)))
        except Exception:  # noqa: BLE001 - the failing probe's own message is the one to show
            return FAIL("accuracy_formula")
    for rule, slip in MISREADINGS:
        wanted = [(rule(torch.tensor(logits).reshape(4, 1)).float() == Y).float().mean().item()
                  for logits, _ in ACCURACY_PROBES]
        if results == pytest.approx(wanted):
            return slip
    return FAIL("accuracy_formula")


@pytest.mark.points(2)
@pytest.mark.parametrize("logits, expected", ACCURACY_PROBES)
def test_xor_accuracy(mod, logits, expected):
    Broadcasts.seen.clear()
    Broadcasts.picked.clear()
    got = mod.xor_accuracy(FixedLogits(logits))
    broadcasts, picked = list(Broadcasts.seen), list(Broadcasts.picked)
    if not isinstance(got, float):
        raise FAIL("accuracy_not_float", kind=type(got).__name__)
    if got != pytest.approx(expected):
        hint = accuracy_hint(mod, got, expected, broadcasts, picked)
        raise failures.joined(hint.key, [FAIL("accuracy_wrong", logits=logits, expected=expected, got=got), hint],
                              separator=": ")
