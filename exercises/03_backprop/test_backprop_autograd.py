"""Tests of 03_backprop/backprop.py: autograd_example and sgd_update.

Each failure names the cause and the fix. "not started" means the test reached a stub's
NotImplementedError; "blocked" means a test it needs (see @needs) has not passed yet, so fix that one
first. Reference values are computed here in NumPy or torch float64. Hints: `grader hint 03`.
"""
from __future__ import annotations

import numpy as np
import pytest
import torch

from grader.checks.signatures import default_failure, defaults_failure, started
from grader.core import failures
from grader.core.failures import Failure

FAIL = failures.table(__file__)
GRADES = "backprop"


# ---------------------------------------------------------------- autograd_example

AUTOGRAD_KEYS = ("y", "loss", "x_grad", "w_grad", "b_grad")
CONTRACT_DEFAULTS = dict(x=1.0, w=2.0, b=1.0, target=5.0)


def _expected_autograd(x, w, b, target):
    y = w * x + b
    d = 2 * (y - target)
    return {"y": y, "loss": (y - target) ** 2, "x_grad": d * w, "w_grad": d * x, "b_grad": d}


FORMULAS = {"y": "w*x + b", "loss": "(y - target)**2", "x_grad": "2*(y - target)*w", "w_grad": "2*(y - target)*x",
            "b_grad": "2*(y - target)"}


def _leaf_values(loss: torch.Tensor) -> list[float]:
    """The values of the one-element leaves that loss.backward() fills .grad of (those made with requires_grad)."""
    found, todo, seen = [], [loss.grad_fn], set()
    while todo:
        node = todo.pop()
        if node is None or node in seen:
            continue
        seen.add(node)
        if hasattr(node, "variable") and node.variable.numel() == 1:
            found.append(node.variable.detach().item())
        todo += [child for child, _ in node.next_functions]
    return found


def _listed(names: list[str], key: str) -> str | Failure:
    """``names`` as one field: "x and w" (key "both_names") or "'y' or 'loss'" (key "either_name")."""
    if len(names) == 1:
        return names[0]
    rest = _listed(names[1:], key)
    return FAIL("both_names", first=names[0], rest=rest) if key == "both_names" else \
        FAIL("either_name", first=names[0], rest=rest)


def _autograd(mod, call: str, args: dict):
    """autograd_example(**args); a None .grad (AttributeError on None) is explained from the graph backward() ran on."""
    losses: list = []
    original = torch.autograd.backward

    def spy(tensors, *rest, **kwargs):
        losses.append(tensors)
        return original(tensors, *rest, **kwargs)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(torch.autograd, "backward", spy)
        try:
            return mod.autograd_example(**args)
        except AttributeError as exc:
            if "NoneType" not in str(exc):
                raise
            values = dict(x=1.0, w=2.0, b=1.0) | {k: v for k, v in args.items() if k != "target"}
            leaves = [v for t in losses if isinstance(t, torch.Tensor) and t.grad_fn is not None for v in _leaf_values(t)]
            unmatched, missing = list(leaves), []
            for v in values.values():  # each leaf accounts for one argument of its value
                found = next((i for i, leaf in enumerate(unmatched) if v == pytest.approx(leaf)), None)
                if found is None:
                    missing.append(v)
                else:
                    unmatched.pop(found)
            suspects = [k for k, v in values.items() if any(v == pytest.approx(m) for m in missing)]
            if not losses:
                cause = FAIL("backward_never_called")
            elif missing:
                which = _listed(suspects, "both_names") if len(suspects) == len(missing) else (
                    FAIL("one_of_equal_values", names=", ".join(suspects)) if len(missing) == 1 else
                    FAIL("some_of_equal_values", count=len(missing), names=", ".join(suspects)))
                cause = (FAIL("tensor_without_requires_grad", which=which, suspect=suspects[0]) if len(missing) == 1
                         else FAIL("tensors_without_requires_grad", which=which, suspect=suspects[0]))
            else:
                cause = FAIL("grad_of_computed_tensor")
            raise failures.joined(cause.key, [FAIL("autograd_attribute_error", call=call, error=exc), cause],
                                  separator=": ") from exc


def _check_autograd(result, call: str, expected: dict):
    if not isinstance(result, dict):
        raise FAIL("autograd_not_dict", call=call, kind=type(result).__name__)
    missing = [k for k in AUTOGRAD_KEYS if k not in result]
    if missing:
        raise FAIL("autograd_keys_missing", call=call, missing=missing, keys=list(AUTOGRAD_KEYS))
    got = {k: float(result[k]) for k in AUTOGRAD_KEYS}
    wrong = [k for k in AUTOGRAD_KEYS if got[k] != pytest.approx(expected[k], rel=1e-5, abs=1e-6)]
    holds = {k: [o for o in wrong if o != k and got[k] == pytest.approx(expected[o], rel=1e-5, abs=1e-6)] for k in wrong}
    if len(wrong) > 1 and all(holds.values()) and sorted(got[k] for k in wrong) == pytest.approx(
            sorted(expected[k] for k in wrong), rel=1e-5, abs=1e-6):
        items = [FAIL("value_under_wrong_key", entry=repr(k), got=got[k], other=_listed(list(map(repr, holds[k])), "either_name"),
                      other_formula=FORMULAS[holds[k][0]], want=expected[k], formula=FORMULAS[k]) for k in wrong]
        raise FAIL("values_under_wrong_keys", call=call, items=failures.joined("", items))
    for k in wrong:
        seen = dict(call=call, entry=repr(k), got=got[k], want=expected[k], formula=FORMULAS[k])
        raise FAIL("autograd_gradient_wrong", **seen) if k.endswith("_grad") else FAIL("autograd_value_wrong", **seen)


@pytest.mark.points(1)
def test_autograd_example_defaults(mod):
    """The call without arguments; wrong defaults are named first (they decide what that call computes)."""
    wrong = default_failure(mod.autograd_example, "autograd_example", CONTRACT_DEFAULTS)
    if wrong is not None:
        raise FAIL("autograd_defaults_wrong", problems=wrong)
    _check_autograd(_autograd(mod, "autograd_example()", {}), "autograd_example()",
                    {"y": 3.0, "loss": 4.0, "x_grad": -8.0, "w_grad": -4.0, "b_grad": -4.0})


@pytest.mark.points(1)
def test_autograd_example_other_inputs(mod):
    for args in [dict(x=2.0, w=-1.0, b=0.5, target=1.0), dict(x=-1.5, w=0.5, b=3.0, target=-2.0),
                 dict(x=1.0, w=2.0, b=1.0, target=3.0)]:
        call = "autograd_example(" + ", ".join(f"{k}={v:g}" for k, v in args.items()) + ")"
        _check_autograd(_autograd(mod, call, args), call, _expected_autograd(**args))


@pytest.mark.points(1)
def test_autograd_example_returns_floats(mod):
    result = _autograd(mod, "autograd_example(x=0.5, w=-2, b=0.25, target=1)", dict(x=0.5, w=-2.0, b=0.25, target=1.0))
    for k in AUTOGRAD_KEYS:
        value = result[k]
        if not isinstance(value, float):
            raise FAIL("autograd_not_float", entry=repr(k), kind=f"{type(value).__module__}.{type(value).__name__}")


@pytest.mark.points(1)
def test_defaults_are_the_contracts(mod):
    """autograd_example(x=1.0, w=2.0, b=1.0, target=5.0), numerical_gradient(f, x, h=1e-5) and
    init_params(..., seed=0): a caller who leaves an argument out gets the README's value."""
    started(lambda: mod.init_params(2, 3, 2))  # a stub is "not started"; other errors are other tests' to report
    failure = defaults_failure([(mod.autograd_example, "autograd_example", CONTRACT_DEFAULTS),
                                (mod.numerical_gradient, "numerical_gradient", {"h": 1e-5}),
                                (mod.init_params, "init_params", {"seed": 0})])
    if failure is not None:
        raise failure


# ---------------------------------------------------------------- sgd_update

def _sgd_wrong(seen: Failure, got, param, grad, lr) -> Failure:
    """``seen`` (what sgd_update gave) with the usual slip named (all three are computed before the call)."""
    if np.allclose(np.asarray(got, dtype=np.float64), np.asarray(param + lr * grad, dtype=np.float64)):
        hint = FAIL("sgd_uphill")
    else:
        hint = FAIL("sgd_formula")
    return failures.joined(hint.key, [seen, hint], separator="")


@pytest.mark.points(1)
def test_sgd_update_values(mod, device):
    """Expected values come from copies taken before each call, so an in-place update that returns
    the right numbers is not called wrong here (test_sgd_update_does_not_modify_input reports it)."""
    out = mod.sgd_update(2.0, 4.0, 0.1)
    if not (isinstance(out, float) and out == pytest.approx(1.6)):
        raise _sgd_wrong(FAIL("sgd_scalar_wrong", got=repr(out)), out, 2.0, 4.0, 0.1)

    p, g = np.array([[1.0, -2.0], [0.5, 3.0]]), np.array([[0.5, 1.0], [-1.0, 2.0]])
    p0, g0 = p.copy(), g.copy()
    out = mod.sgd_update(p, g, 0.5)
    if not (isinstance(out, np.ndarray) and out.shape == p0.shape):
        raise FAIL("sgd_array_type", shape=p0.shape, kind=type(out).__name__)
    if not np.allclose(out, p0 - 0.5 * g0):
        raise _sgd_wrong(FAIL("sgd_array_wrong", got=out.tolist(), want=(p0 - 0.5 * g0).tolist()), out, p0, g0, 0.5)

    pt = torch.tensor([1.0, 2.0, -3.0], device=device)
    gt = torch.tensor([10.0, -10.0, 0.0], device=device)
    pt0, gt0 = pt.clone(), gt.clone()
    out = mod.sgd_update(pt, gt, 0.01)
    if not isinstance(out, torch.Tensor):
        raise FAIL("sgd_tensor_type", kind=type(out).__name__)
    if not torch.allclose(out, pt0 - 0.01 * gt0):
        raise _sgd_wrong(FAIL("sgd_tensor_wrong", got=out.tolist(), want=(pt0 - 0.01 * gt0).tolist()),
                         out.cpu().numpy(), pt0.cpu().numpy(), gt0.cpu().numpy(), 0.01)


@pytest.mark.points(1)
def test_sgd_update_does_not_modify_input(mod, device):
    p, g = np.array([1.0, 2.0, 3.0]), np.array([1.0, 1.0, 1.0])
    mod.sgd_update(p, g, 0.1)
    if not np.array_equal(p, [1.0, 2.0, 3.0]):
        raise FAIL("sgd_modified_array", values=p.tolist())
    if not np.array_equal(g, [1.0, 1.0, 1.0]):
        raise FAIL("sgd_changed_grad")

    pt, gt = torch.tensor([1.0, 2.0], device=device), torch.tensor([1.0, -1.0], device=device)
    mod.sgd_update(pt, gt, 0.1)
    if pt.tolist() != [1.0, 2.0]:
        raise FAIL("sgd_modified_tensor", values=pt.tolist())
