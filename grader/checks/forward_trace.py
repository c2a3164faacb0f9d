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

Each finding is a keyed Failure (forward_trace.toml), built from phrases of the same table (a
layer, a gap's steps, how parts combine), so it is said in each language in its own words.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import reduce

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils import _pytree as pytree
from torch.utils._python_dispatch import TorchDispatchMode

from grader.core import failures
from grader.core.failures import Failure

Make = Callable[..., nn.Module]
Forward = Callable[[nn.Module, torch.Tensor, str], torch.Tensor]
Text = str | Failure  # code or numbers, or a phrase said in each language
FAIL = failures.module_table(__file__)

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

    def describe(self) -> Failure:
        return describe_weight(self.weight)


def describe_weight(shape: tuple[int, ...]) -> Failure:
    """'Linear 784->128' (weight (out, in)) or 'conv 1->32 (3x3)' (weight (out, in, kh, kw))."""
    if len(shape) == 4:
        return FAIL("conv_layer", n_in=shape[1], n_out=shape[0], kh=shape[2], kw=shape[3])
    if len(shape) == 2:
        return FAIL("linear_layer", n_in=shape[1], n_out=shape[0])
    return FAIL("other_layer", shape=shape)


def _listed(parts: Sequence[Text]) -> Text:
    """'a, b, c' in each language (one part: itself)."""
    return reduce(lambda first, second: FAIL("listed", first=first, second=second), parts)


def _either(parts: Sequence[Text]) -> Text:
    """'a or b or c' in each language."""
    return reduce(lambda first, second: FAIL("either", first=first, second=second), parts)


def _then(parts: Sequence[Text]) -> Text:
    """'a then b' in each language."""
    return reduce(lambda first, second: FAIL("then", first=first, second=second), parts)


def _ran(ops: list[str]) -> Failure:
    """' (ops that ran there: ...)', the ops run in a gap, each once."""
    return FAIL("ops_ran", ops=", ".join(dict.fromkeys(ops))) if ops else FAIL("only_reshapes_ran")


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
                      weights: list[tuple[int, ...]] | None) -> Failure | None:
    """For a parameter-count message: the layers the eval-mode pass runs when they differ from the
    contract's ``weights`` (with the output widths missing or extra; not compared if None), and the parameters that ops
    other than layers read, with the op; None when neither applies or the pass crashes (the shape
    tests report crashes)."""
    training = model.training
    try:
        found = trace(model.eval(), x, forward, what)
    except AssertionError:
        return None
    finally:
        model.train(training)
    parts: list[Failure] = []
    ran = [layer.weight for layer in found.layers]
    if weights is not None and ran != weights:
        outs, wanted = [w[0] for w in ran], [w[0] for w in weights]
        missing: list[Text] = [str(n) for n in wanted if n not in outs]
        extra: list[Text] = [str(n) for n in outs if n not in wanted]
        parts.append(FAIL("layers_differ", what=what,
                          ran=_listed([describe_weight(w) for w in ran]) if ran else FAIL("no_weight_layer"),
                          contract=_listed([describe_weight(w) for w in weights]),
                          missing=FAIL("outputs_missing", outputs=_either(missing)) if missing else "",
                          extra=FAIL("outputs_extra", outputs=_either(extra)) if extra else ""))
    by_op: dict[str, list[str]] = {}
    for op, shape in found.foreign:
        by_op.setdefault(op, []).append(str(shape))
    parts += [FAIL("foreign_parameters", what=what, op=op, shapes=", ".join(shapes)) for op, shapes in by_op.items()]
    return reduce(lambda first, second: FAIL("also", first=first, second=second), parts) if parts else None


@dataclass(frozen=True)
class Gap:
    """What the contract runs between two layers (or between the input and the first layer)."""
    where: Text  # e.g. "after the 1st hidden Linear", a phrase of the exercise's table
    relu: bool = False
    max_pool: bool = False  # 2x2, stride 2
    dropout: bool = False

    def describe(self) -> Text:
        parts = ([FAIL("step_relu")] * self.relu + [FAIL("step_max_pool")] * self.max_pool
                 + [FAIL("step_dropout")] * self.dropout)
        return _then(parts) if parts else FAIL("no_step")


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


def _eval_problem(gap: Gap, before: torch.Tensor, after: torch.Tensor, ops: list[str], layer: Failure,
                  what: str) -> Failure | None:
    """What differs between the contract's steps on ``before`` and ``after`` (eval mode), or None."""
    if _same(_apply(gap, before), after):
        return None
    ran, where, steps = _ran(ops), gap.where, gap.describe()
    for activation in ACTIVATIONS:
        for pool in POOLS if gap.max_pool else ["2x2 max pooling"]:
            if not any(_same(_apply(gap, before, activation, pool, first), after) for first in (False, True)):
                continue
            parts = []
            if activation == "nothing" and gap.relu:
                parts.append(FAIL("no_relu"))
            elif activation != _activation(gap):
                parts.append(FAIL("wrong_activation", activation=activation) if gap.relu
                             else FAIL("activation_not_in_contract", activation=activation))
            if pool != "2x2 max pooling":
                parts.append(FAIL("average_pooling"))
            findings = parts[0] if len(parts) == 1 else FAIL("two_findings", first=parts[0], second=parts[1])
            return FAIL("gap_steps_differ", what=what, where=where, findings=findings, ran=ran)
    want = tuple(_apply(gap, before).shape[1:])
    if tuple(after.shape[1:]) != want and after[0].numel() != _apply(gap, before)[0].numel():
        return FAIL("shape_differs", what=what, layer=layer, got=tuple(after.shape[1:]), steps=steps, where=where,
                    before=tuple(before.shape[1:]), want=want, ran=ran)
    pools = [op for op in dict.fromkeys(ops) if op.startswith(POOLING) and "(kernel [2], stride [2], padding [0])" not in op
             and "(kernel [2, 2], stride [2, 2], padding [0])" not in op]
    if gap.max_pool and pools:
        return FAIL("pooling_window", what=what, where=where, pools=", ".join(pools), ran=ran)
    affine = _affine(_apply(gap, before), after)
    if affine is not None:
        scale, shift = affine
        has_steps = gap.relu or gap.max_pool or gap.dropout
        return FAIL("affine_arithmetic", what=what, where=where, scale=scale, shift=shift,
                    after=FAIL("after_steps", steps=steps) if has_steps else "", center=-shift / scale,
                    spread=1 / scale, steps=steps, loader="" if has_steps else FAIL("loader_normalises"), ran=ran)
    return FAIL("values_changed", what=what, where=where, steps=steps, ran=ran)


def _affine(expected: torch.Tensor, got: torch.Tensor) -> tuple[float, float] | None:
    """(a, b) with got = a * expected + b everywhere (one scale and one shift for all values), or None."""
    e, g = expected.flatten().double(), got.flatten().double()
    if e.shape != g.shape or float(e.std()) == 0:
        return None
    scale = float(((e - e.mean()) * (g - g.mean())).sum() / ((e - e.mean()) ** 2).sum())
    shift = float(g.mean() - scale * e.mean())
    fits = torch.allclose(g, scale * e + shift, rtol=1e-4, atol=1e-5 * float(g.abs().max()))
    return (scale, shift) if fits and scale != 0 else None


def _train_problem(gap: Gap, before: torch.Tensor, after: torch.Tensor, p: float, what: str) -> Failure | None:
    """Whether dropout runs in ``gap`` (training mode) as the contract says, with the scale 1/(1-p)."""
    expected = _apply(gap, before).reshape(len(before), -1)
    got = after.reshape(len(after), -1)
    if got.shape != expected.shape:
        return None  # the eval-mode comparison reports shapes
    if _same(got, expected):
        return FAIL("train_no_dropout", what=what, where=gap.where) if gap.dropout else None
    live = expected != 0
    kept = got[live] / expected[live]
    nonzero = kept[kept != 0]
    scale = nonzero.median().item() if len(nonzero) else 0.0
    masked = (bool((got[~live] == 0).all()) and len(nonzero) < len(kept)
              and torch.allclose(nonzero, torch.full_like(nonzero, scale), rtol=1e-4))
    if not masked:
        return FAIL("random_not_dropout", what=what, where=gap.where, steps=gap.describe())
    if not gap.dropout:
        return FAIL("dropout_not_in_contract", what=what, where=gap.where)
    if abs(scale * (1 - p) - 1) > 1e-3:
        return FAIL("dropout_scale_wrong", what=what, where=gap.where, scale=scale, p=p, inverse=1 / (1 - p),
                    as_p=FAIL("as_dropout_p", q=1 - 1 / scale) if scale > 1 else "")
    return None


def check_forward_contract(make: Make, forward: Forward, x: torch.Tensor, name: str, *, kwargs: dict,
                           weights: list[tuple[int, ...]], gaps: list[Gap], p: float) -> None:
    """``make(**kwargs)`` runs layers with ``weights`` in this order and, before layer i, exactly
    what ``gaps[i]`` says (gap 0 acts on the input), each convolution keeping its input's height and width: in eval mode the ReLU and max pooling, in
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
    if ran != weights:
        raise FAIL("layers_out_of_order", what=what,
                   ran=_listed([layer.describe() for layer in first]) if first else FAIL("none_that_read_a_weight"),
                   contract=_listed([describe_weight(w) for w in weights]))
    for layer in first:  # the contract's convolutions are all 'same': padding (k - 1) / 2, stride 1
        (h_in, w_in), (h_out, w_out) = layer.inputs.shape[-2:], layer.outputs.shape[-2:]
        if len(layer.weight) == 4 and (h_in, w_in) != (h_out, w_out):
            raise FAIL("conv_changes_size", what=what, layer=layer.describe(), h_in=h_in, w_in=w_in, h_out=h_out,
                       w_out=w_out, padding=(layer.weight[2] - 1) // 2)
    trained = trace(model.train(), x, forward, what)
    for stage, check in (("eval", first), ("train", trained.layers)):
        for i, (gap, layer) in enumerate(zip(gaps, check)):
            before = x if i == 0 else check[i - 1].outputs
            problem = (_eval_problem(gap, before, layer.inputs, layer.ops_before, first[i].describe(), what)
                       if stage == "eval" else _train_problem(gap, before, layer.inputs, p, what))
            if problem is not None:
                raise problem
    last = Gap(FAIL("after_last_layer", layer=first[-1].describe()))
    if evaluated.output is not None and _same(evaluated.output, first[-1].outputs) and trained.output is not None:
        problem = _train_problem(last, trained.layers[-1].outputs, trained.output, p, what)
        if problem is not None:
            raise problem
