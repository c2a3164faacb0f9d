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
    (lambda t: t >= 0, "a logit of exactly 0 is class 0: class 1 is logit > 0 (or sigmoid(logit) > 0.5), not >= 0"),
    (lambda t: t > 0.5, "it thresholds the logits at 0.5, as if they were probabilities: a logit is not a probability; "
                        "class 1 is logit > 0 (equivalently sigmoid(logit) > 0.5)"),
    (lambda t: t >= 0.5, "it thresholds the logits at 0.5 (>= 0.5), as if they were probabilities: a logit is not a "
                         "probability; class 1 is logit > 0 (equivalently sigmoid(logit) > 0.5)"),
    (lambda t: t > -math.inf, "every probe gives 0.5: that is what predicting the same class for every point gives "
                              "(class 1 as a sigmoid applied to something that is already a probability, then > 0.5, "
                              "does; class 0 as an argmax over the single logit column does), and also what comparing "
                              "predictions and targets of different shapes, (4, 1) with (4,), gives (a (4, 4) table of "
                              "all 16 pairs, half of them equal). Compare the raw logit with 0, with predictions and "
                              "XOR_Y of the same shape"),
]


def accuracy_hint(mod, got: float, expected: float, broadcasts: list[str], picked: list[str]) -> str:
    """What the learner's accuracy shows: a silent broadcast, an argmax over one column, a percentage, a count,
    or a misreading that gives the learner's result on every probe."""
    if broadcasts:
        return (f"xor_accuracy compared tensors whose shapes broadcast ({broadcasts[0]}): comparing (4, 1) with (4,) "
                "makes a table of all 16 pairs, so its mean is not over the four points. Give predictions and XOR_Y "
                "the same shape (both (4, 1), or both flattened with .view(-1))")
    if picked:
        return (f"xor_accuracy takes the {picked[0]} over the logits' single column (shape (4, 1)): with one column it "
                "is 0 for every point, so every point is predicted class 0. There is one logit per point, not one per "
                "class: class 1 is logit > 0")
    if got == pytest.approx(100 * expected):
        return "return a fraction between 0 and 1, not a percentage"
    if got == pytest.approx(4 * expected):
        return "that is the number of correct points: divide it by 4"
    results = []
    for logits, _ in ACCURACY_PROBES:
        try:
            results.append(mod.xor_accuracy(FixedLogits(logits)))
        except Exception:  # noqa: BLE001 - the failing probe's own message is the one to show
            return "count predictions that equal the target (logit > 0 means class 1) and divide by 4"
    for rule, text in MISREADINGS:
        wanted = [(rule(torch.tensor(logits).reshape(4, 1)).float() == Y).float().mean().item()
                  for logits, _ in ACCURACY_PROBES]
        if results == pytest.approx(wanted):
            return text
    return "count predictions that equal the target (logit > 0 means class 1) and divide by 4"


@pytest.mark.points(2)
@pytest.mark.parametrize("logits, expected", ACCURACY_PROBES)
def test_xor_accuracy(mod, logits, expected):
    Broadcasts.seen.clear()
    Broadcasts.picked.clear()
    got = mod.xor_accuracy(FixedLogits(logits))
    broadcasts, picked = list(Broadcasts.seen), list(Broadcasts.picked)
    assert isinstance(got, float), f"xor_accuracy must return a Python float, got {type(got).__name__}"
    if got != pytest.approx(expected):
        raise AssertionError(f"logits {logits} against targets [0, 1, 1, 0] give accuracy {expected}, got {got}: "
                             + accuracy_hint(mod, got, expected, broadcasts, picked))
