"""What a model's forward pass actually runs, compared with a layer-by-layer contract (06_mlp, 07_cnn).

The pass is traced with a ``TorchDispatchMode``: it sees every tensor operation as the aten op
torch dispatches, after the Python spelling is gone (nn.Linear, F.linear, ``x @ w.T`` and
torch.matmul all arrive as addmm/mm; nn.ReLU, F.relu and ``x.relu_()`` as relu/relu_), in-place
ops included. A ``TorchFunctionMode`` would see the Python-level calls instead, one spelling
each, and would need a table of them.

The trace only finds the layers: an op that reads a weight (a parameter with 2 dims: a Linear;
4 dims: a convolution, or a tensor computed from one alone, such as ``w.t()``) and the data. Of
each layer it copies the data it read and its result, bias included. What runs BETWEEN two
layers is then judged by its values, not by op names: the data a layer reads is compared with
what the contract's steps (ReLU, 2x2 max pooling, dropout) make of the previous layer's result,
so ``clamp(min=0)``, ``where(x > 0, x, 0)`` or ``x * (x > 0)`` count as the ReLU they are, and a
max pooling before or after the ReLU is the same (max and ReLU commute: both are monotonic).
Flattening is a reshape: values are compared image by image, in any order. Parameters read by
other ops (a BatchNorm's weight and bias, say) are listed with the op, for the parameter counts.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils import _pytree as pytree
from torch.utils._python_dispatch import TorchDispatchMode

Make = Callable[..., nn.Module]
Forward = Callable[[nn.Module, torch.Tensor, str], torch.Tensor]

SHAPE_ONLY = {"view", "_unsafe_view", "reshape", "flatten", "detach", "alias", "clone", "contiguous", "expand",
              "t", "transpose", "permute", "squeeze", "unsqueeze", "_to_copy", "lift_fresh", "empty_like",
              "scalar_tensor", "zeros_like", "ones_like", "copy_"}
ACTIVATIONS: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "ReLU": F.relu, "nothing": lambda v: v, "sigmoid": torch.sigmoid, "tanh": torch.tanh,
    "LeakyReLU": F.leaky_relu, "ReLU6": F.relu6, "GELU": F.gelu, "ELU": F.elu, "softplus": F.softplus,
}
POOLING = ("max_pool2d", "max_pool2d_with_indices", "avg_pool2d")
POOLS: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "2x2 max pooling": lambda v: F.max_pool2d(v, 2), "2x2 average pooling": lambda v: F.avg_pool2d(v, 2),
}


@dataclass
class Layer:
    """One op that multiplied the data by a weight of shape ``weight``."""
    weight: tuple[int, ...]
    inputs: torch.Tensor   # the data it read (copied before it ran)
    outputs: torch.Tensor  # its result, bias included (copied)
    ops_before: list[str]  # the other ops run since the previous layer (or the model's input)

    def describe(self) -> str:
        return describe_weight(self.weight)


def describe_weight(shape: tuple[int, ...]) -> str:
    """'Linear 784->128' (weight (out, in)) or 'conv 1->32 (3x3)' (weight (out, in, kh, kw))."""
    if len(shape) == 4:
        return f"conv {shape[1]}->{shape[0]} ({shape[2]}x{shape[3]})"
    return f"Linear {shape[1]}->{shape[0]}" if len(shape) == 2 else f"a layer with a weight of shape {shape}"


def _label(name: str, args: tuple) -> str:
    """The op's name; a pooling's with its window, stride and padding (the ints among its arguments)."""
    if name not in POOLING:
        return name.lstrip("_").split("_legit")[0]
    sizes = [list(a) if isinstance(a, (list, tuple)) else [a] for a in args[1:4] if isinstance(a, (list, tuple, int))]
    kernel, stride, padding = [*sizes, [], []][:3]
    return f"{name}(kernel {kernel}, stride {stride or kernel}, padding {padding or [0]})"


@dataclass
class Trace:
    """One forward pass: its layers in order, what it returned, and the parameters other ops read."""
    layers: list[Layer]
    output: torch.Tensor | None
    foreign: list[tuple[str, tuple[int, ...]]]  # (op, shape of a parameter it read), for ops that are no layer


class _Recorder(TorchDispatchMode):
    """Records the layers of one forward pass (see the module docstring)."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.roots: dict[int, torch.Tensor] = {id(p): p for p in model.parameters()}  # tensor id -> its parameter
        self.alive: list[torch.Tensor] = []  # every traced tensor, so that no id is reused during the pass
        self.layers: list[Layer] = []
        self.ops: list[str] = []
        self.foreign: list[tuple[str, tuple[int, ...]]] = []
        self.last: torch.Tensor | None = None  # the latest layer's result, to which its bias may be added

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        tensors = [a for a in pytree.tree_leaves((args, kwargs)) if isinstance(a, torch.Tensor)]
        params = [self.roots[id(t)] for t in tensors if id(t) in self.roots]
        data = [t for t in tensors if id(t) not in self.roots and t.is_floating_point()]
        weight = next((p for p in params if p.dim() >= 2), None)
        before = data[0].detach().clone() if weight is not None and data else None
        out = func(*args, **kwargs)
        results = [o for o in pytree.tree_leaves(out) if isinstance(o, torch.Tensor)]
        self.alive += tensors + results
        name = func.overloadpacket.__name__
        if tensors and len(params) == len(tensors):  # computed from parameters alone, e.g. w.t()
            self.roots.update((id(o), weight if weight is not None else params[0]) for o in results)
        elif before is not None:
            self.layers.append(Layer(tuple(weight.shape), before, results[0].detach().clone(), self.ops))
            self.ops, self.last = [], results[0]
        elif (name in ("add", "add_") and params and all(p.dim() == 1 for p in params)
              and any(t is self.last for t in data)):  # the bias of the latest layer
            self.layers[-1].outputs, self.last = results[0].detach().clone(), results[0]
        elif name not in SHAPE_ONLY:
            self.ops.append(_label(name, args))
            self.foreign += [(self.ops[-1], tuple(p.shape)) for p in params]
        return out


def trace(model: nn.Module, x: torch.Tensor, forward: Forward, what: str) -> Trace:
    """What ``forward(model, x, what)`` runs (no gradients are recorded)."""
    recorder = _Recorder(model)
    with torch.no_grad(), recorder:
        output = forward(model, x, what)
    return Trace(recorder.layers, output.detach().clone() if isinstance(output, torch.Tensor) else None,
                 recorder.foreign)


def layers_and_extras(model: nn.Module, x: torch.Tensor, forward: Forward, what: str,
                      weights: list[tuple[int, ...]] | None) -> str:
    """For a parameter-count message: the layers the eval-mode pass runs when they differ from the
    contract's ``weights`` (with the output widths missing or extra; not compared if None), and the parameters that ops
    other than layers read, with the op; "" when neither applies or the pass crashes (the shape
    tests report crashes)."""
    training = model.training
    try:
        found = trace(model.eval(), x, forward, what)
    except AssertionError:
        return ""
    finally:
        model.train(training)
    parts = []
    ran = [layer.weight for layer in found.layers]
    if weights is not None and ran != weights:
        outs, wanted = [w[0] for w in ran], [w[0] for w in weights]
        missing = [str(n) for n in wanted if n not in outs]
        extra = [str(n) for n in outs if n not in wanted]
        parts.append(f"{what}'s forward pass runs {', '.join(map(describe_weight, ran)) or 'no layer that reads a weight'}"
                     f"; the contract runs {', '.join(map(describe_weight, weights))}"
                     + (f": no layer with {' or '.join(missing)} outputs runs" if missing else "")
                     + (f"; a layer with {' or '.join(extra)} outputs is not in the contract" if extra else ""))
    by_op: dict[str, list[str]] = {}
    for op, shape in found.foreign:
        by_op.setdefault(op, []).append(str(shape))
    parts += [f"besides its layers' weights and biases, {what}'s forward pass runs {op} with parameters of shape {', '.join(shapes)}, "
              "which the contract does not have: remove that layer (the contract has only Linear/conv layers with "
              "parameters; ReLU, max pooling and dropout have none)" for op, shapes in by_op.items()]
    return "; ".join(parts)


@dataclass(frozen=True)
class Gap:
    """What the contract runs between two layers (or between the input and the first layer)."""
    where: str  # e.g. "after the 1st hidden Linear"
    relu: bool = False
    max_pool: bool = False  # 2x2, stride 2
    dropout: bool = False

    def describe(self) -> str:
        parts = ["a ReLU"] * self.relu + ["2x2 max pooling"] * self.max_pool + ["dropout"] * self.dropout
        return " then ".join(parts) or "nothing (a reshape at most)"


def _same(a: torch.Tensor, b: torch.Tensor) -> bool:
    """Equal image by image, whatever the layout (flattening is a reshape; its order is not the contract's)."""
    a, b = a.reshape(len(a), -1), b.reshape(len(b), -1)
    if a.shape != b.shape:
        return False
    return torch.allclose(a, b, rtol=1e-5, atol=1e-6) or torch.allclose(a.sort(1).values, b.sort(1).values,
                                                                        rtol=1e-5, atol=1e-6)


def _activation(gap: Gap) -> str:
    return "ReLU" if gap.relu else "nothing"


def _apply(gap: Gap, values: torch.Tensor, activation: str | None = None, pool: str = "2x2 max pooling",
           pool_first: bool = False) -> torch.Tensor:
    """The gap's deterministic steps on ``values``, with ``activation`` (default: the contract's) in
    place of its ReLU and ``pool`` in place of its max pooling (if it has one)."""
    act = ACTIVATIONS[activation or _activation(gap)]
    pooled = POOLS[pool] if gap.max_pool and values.dim() == 4 else (lambda v: v)
    return act(pooled(values)) if pool_first else pooled(act(values))


def _eval_problem(gap: Gap, before: torch.Tensor, after: torch.Tensor, ops: list[str], reads: str) -> str | None:
    """What differs between the contract's steps on ``before`` and ``after`` (eval mode), or None."""
    if _same(_apply(gap, before), after):
        return None
    ran = f" (ops that ran there: {', '.join(dict.fromkeys(ops)) or 'none but reshapes'})"
    for activation in ACTIVATIONS:
        for pool in POOLS if gap.max_pool else ["2x2 max pooling"]:
            if not any(_same(_apply(gap, before, activation, pool, first), after) for first in (False, True)):
                continue
            parts = []
            if activation == "nothing" and gap.relu:
                parts.append("no rectifier runs: put a ReLU there (nn.ReLU() or F.relu)")
            elif activation != _activation(gap):
                parts.append(f"a {activation} runs where the contract has "
                             + ("a ReLU" if gap.relu else "no activation"))
            if pool != "2x2 max pooling":
                parts.append(f"{pool} runs where the contract has max pooling: use nn.MaxPool2d(2) or "
                             "F.max_pool2d(x, 2)")
            return f"{gap.where} " + "; and ".join(parts) + ran
    want = tuple(_apply(gap, before).shape[1:])
    if tuple(after.shape[1:]) != want and after[0].numel() != _apply(gap, before)[0].numel():
        return (f"{reads} data of shape {tuple(after.shape[1:])} per image, but {gap.describe()} {gap.where} "
                f"turns the previous layer's {tuple(before.shape[1:])} into {want}{ran}")
    pools = [op for op in dict.fromkeys(ops) if op.startswith(POOLING) and "(kernel [2], stride [2], padding [0])" not in op
             and "(kernel [2, 2], stride [2, 2], padding [0])" not in op]
    if gap.max_pool and pools:
        return (f"{gap.where} the pooling is {', '.join(pools)}, where the contract has 2x2 max pooling with stride 2 "
                f"and no padding: use nn.MaxPool2d(2) or F.max_pool2d(x, 2){ran}")
    affine = _affine(_apply(gap, before), after)
    if affine is not None:
        scale, shift = affine
        steps = gap.relu or gap.max_pool or gap.dropout
        return (f"{gap.where} the values are multiplied by {scale:.4g} and shifted by {shift:+.4g}"
                + (f" after {gap.describe()}" if steps else "")
                + f", as (x - {-shift / scale:.4g}) / {1 / scale:.4g} does; the contract runs {gap.describe()} there: "
                "remove that arithmetic from forward" + ("" if steps else " (the data loader already normalises the "
                                                         "images)") + ran)
    return f"{gap.where} something other than {gap.describe()} changes the values{ran}"


def _affine(expected: torch.Tensor, got: torch.Tensor) -> tuple[float, float] | None:
    """(a, b) with got = a * expected + b everywhere (one scale and one shift for all values), or None."""
    e, g = expected.flatten().double(), got.flatten().double()
    if e.shape != g.shape or float(e.std()) == 0:
        return None
    scale = float(((e - e.mean()) * (g - g.mean())).sum() / ((e - e.mean()) ** 2).sum())
    shift = float(g.mean() - scale * e.mean())
    fits = torch.allclose(g, scale * e + shift, rtol=1e-4, atol=1e-5 * float(g.abs().max()))
    return (scale, shift) if fits and scale != 0 else None


def _train_problem(gap: Gap, before: torch.Tensor, after: torch.Tensor, p: float, reads: str) -> str | None:
    """Whether dropout runs in ``gap`` (training mode) as the contract says, with the scale 1/(1-p)."""
    expected = _apply(gap, before).reshape(len(before), -1)
    got = after.reshape(len(after), -1)
    if got.shape != expected.shape:
        return None  # the eval-mode comparison reports shapes
    if _same(got, expected):
        return f"in training mode no dropout runs {gap.where}: add nn.Dropout(dropout) there" if gap.dropout else None
    live = expected != 0
    kept = got[live] / expected[live]
    nonzero = kept[kept != 0]
    scale = nonzero.median().item() if len(nonzero) else 0.0
    masked = (bool((got[~live] == 0).all()) and len(nonzero) < len(kept)
              and torch.allclose(nonzero, torch.full_like(nonzero, scale), rtol=1e-4))
    if not masked:
        return (f"in training mode something random other than dropout changes the values {gap.where} "
                f"(the contract has {gap.describe()} there)")
    if not gap.dropout:
        return f"in training mode dropout runs {gap.where}, where the contract has no dropout"
    if abs(scale * (1 - p) - 1) > 1e-3:
        as_p = f", as Dropout(p={1 - 1 / scale:.2g}) does" if scale > 1 else ""
        return (f"in training mode the dropout {gap.where} multiplies the activations it keeps by {scale:.4g}{as_p}; "
                f"Dropout(p={p:g}) (the dropout argument) multiplies them by 1/(1-{p:g}) = {1 / (1 - p):.4g}")
    return None


def check_forward_contract(make: Make, forward: Forward, x: torch.Tensor, name: str, *, kwargs: dict,
                           weights: list[tuple[int, ...]], gaps: list[Gap], p: float) -> None:
    """``make(**kwargs)`` runs layers with ``weights`` in this order and, before layer i, exactly
    what ``gaps[i]`` says (gap 0 acts on the input): in eval mode the ReLU and max pooling, in
    training mode the dropout too, scaling what it keeps by 1/(1-p). After the last layer, only
    training mode is judged here (no dropout on the logits); eval mode is the raw-logits check's.

    Says nothing about a model that is random in eval mode (the eval-mode dropout check reports it).
    """
    args = ", ".join(f"{k}={v!r}" for k, v in kwargs.items())
    what = f"{name}({args})"
    model = make(**kwargs).eval()
    evaluated = trace(model, x, forward, what)
    first = evaluated.layers
    if not all(torch.equal(a.outputs, b.outputs) for a, b in zip(first, trace(model, x, forward, what).layers)):
        return
    ran = [tuple(layer.weight) for layer in first]
    contract = ", ".join(map(describe_weight, weights))
    assert ran == weights, (
        f"{what}'s forward pass runs these layers, in this order: "
        f"{', '.join(layer.describe() for layer in first) or 'none that read a weight'}; the contract runs "
        f"{contract}: each layer once, in that order")
    reads = [f"the {layer.describe()} reads" for layer in first]
    trained = trace(model.train(), x, forward, what)
    for stage, check in (("eval", first), ("train", trained.layers)):
        for i, (gap, layer) in enumerate(zip(gaps, check)):
            before = x if i == 0 else check[i - 1].outputs
            problem = (_eval_problem(gap, before, layer.inputs, layer.ops_before, reads[i]) if stage == "eval"
                       else _train_problem(gap, before, layer.inputs, p, reads[i]))
            assert problem is None, f"{what}: {problem}"
    last = Gap(f"after the last layer ({first[-1].describe()}, whose outputs are the logits)")
    if evaluated.output is not None and _same(evaluated.output, first[-1].outputs) and trained.output is not None:
        problem = _train_problem(last, trained.layers[-1].outputs, trained.output, p, "the output")
        assert problem is None, f"{what}: {problem}"
