"""Device-strict tensors: grading on the CPU that fails where grading on a GPU would.

On a CPU-only machine ``x.to(device)`` changes nothing, so code that forgets it passes there and
crashes on CUDA. The tests that hand the learner's code a device give it *Unmoved* batches (host
tensors that must be moved before they meet the model; *OnDevice* once moved) and probe models
whose outputs are OnDevice. Each refuses what CUDA refuses, and says so in the learner's terms:

- a host tensor (Unmoved; Created; BackOnHost, from ``.cpu()``) that is not a 0-dim scalar, in
  one operation with a model parameter or an OnDevice tensor, raises RuntimeError, as CUDA's
  "Expected all tensors to be on the same device";
- ``.numpy()`` or ``np.asarray`` of an OnDevice tensor raises TypeError, as CUDA's "can't
  convert cuda:0 device type tensor to numpy";
- under HostFactories, a tensor the learner creates without ``device=`` (``torch.randn(x.shape)``)
  is Created: a host tensor.

On the CPU every device is the CPU, so where code names a device the kit cannot tell the grading
device from the host (``.to(torch.device("cpu"))``, ``.to(str(device))``, ``device=x.device``)
it takes the reading under which the code is right: a correct hand-in must never fail here.
"""
from __future__ import annotations

from typing import Any

import torch
from torch import nn
from torch.overrides import TorchFunctionMode
from torch.utils._pytree import tree_flatten

SAME_DEVICE = "on a GPU this stops with 'Expected all tensors to be on the same device'"
NOT_MOVED = {
    "parameters": "a batch tensor that was not moved to the device went into the model ({op}); " + SAME_DEVICE
                  + ". Move it first: images = images.to(device)",
    "outputs": "a batch tensor that was not moved to the device met the model's outputs in {op}; " + SAME_DEVICE
               + ". Move it first: labels = labels.to(device)",
    "created": "a tensor created without device= (such as torch.randn(shape)) met a tensor on the device in {op}; "
               + SAME_DEVICE + ". Create it where x is: torch.randn(x.shape, device=x.device) or torch.randn_like(x)",
    "back": "a tensor brought back to the host with .cpu() met a tensor still on the device in {op}; " + SAME_DEVICE
            + ". Put both on one device, e.g. preds.cpu() == labels.cpu()",
}
TO_NUMPY = ("a tensor on the device was turned into NumPy without .cpu() (on a GPU this stops with "
            "\"can't convert cuda:0 device type tensor to numpy\"): call .cpu() first, e.g. t.cpu().numpy()")
SHAPE_ONLY = {"view_as", "reshape_as", "expand_as"}  # the other tensor lends its shape only


def _moves(name: str, args: tuple, kwargs: dict) -> bool:
    """Whether the call puts its tensor on a named device (``.to(device)``, ``.to(tensor)``,
    ``.cuda()``, ``torch.as_tensor(t, device=...)``), as opposed to changing only its dtype
    (``.to(torch.float32)``, ``.float()``)."""
    if name in ("cuda", "type_as") or kwargs.get("device") is not None:
        return True
    return name == "to" and ("other" in kwargs or any(
        isinstance(a, (torch.device, str, torch.Tensor)) or (isinstance(a, int) and not isinstance(a, bool))
        for a in args[1:]))


def _result_class(flat: list[torch.Tensor]) -> type[torch.Tensor]:
    """Where the result of an operation lives: on the device if any operand is; else on the host
    if a host operand that is not a 0-dim scalar is (a scalar follows the other operands)."""
    if any(isinstance(t, OnDevice) for t in flat):
        return OnDevice
    host = [t for t in flat if isinstance(t, Unmoved)]
    sized = [t for t in host if t.dim() > 0]
    if sized:
        return type(sized[0])
    if host and all(isinstance(t, Unmoved) or t.dim() == 0 for t in flat):
        return type(host[0])
    return torch.Tensor


def _moved(subject: torch.Tensor, name: str) -> type[torch.Tensor]:
    """The class of ``subject`` after a move: a host tensor goes to the device; a device tensor
    comes back to the host with .cpu(), and with any other named device (which may be the host)
    it is left unchecked."""
    if isinstance(subject, Unmoved):
        return type(subject) if name == "cpu" else OnDevice
    return BackOnHost if name == "cpu" else OnDevice if name == "cuda" else torch.Tensor


class _Placed(torch.Tensor):
    """What the markers share: the checks, then the operation on plain tensors."""

    @classmethod
    def __torch_function__(cls, func: Any, types: Any, args: tuple = (), kwargs: dict | None = None) -> Any:
        kwargs = kwargs or {}
        name = getattr(func, "__name__", "")
        subject = args[0] if args else None
        moving = name == "cpu" or _moves(name, args, kwargs)
        with torch._C.DisableTorchFunctionSubclass():
            flat = [t for t in tree_flatten((args, kwargs))[0] if isinstance(t, torch.Tensor)]
            host = next((t for t in flat if isinstance(t, Unmoved) and t.dim() > 0), None)
            on_device = any(isinstance(t, OnDevice) for t in flat)
            if host is not None and not moving and name not in SHAPE_ONLY and (
                    on_device or any(isinstance(t, nn.Parameter) for t in flat)):
                what = ("created" if isinstance(host, Created) else "back" if isinstance(host, BackOnHost)
                        else "outputs" if on_device else "parameters")
                raise RuntimeError(NOT_MOVED[what].format(op=name or "an operation"))
            if isinstance(subject, OnDevice) and name in ("numpy", "__array__") and not kwargs.get("force"):
                raise TypeError(TO_NUMPY)
            # without a GPU, .cuda() is taken as the move it would be there
            out = subject if name == "cuda" and not torch.cuda.is_available() else func(*args, **kwargs)
            result = _result_class(flat)
        if not isinstance(out, (torch.Tensor, tuple, list)) or name == "__array__":
            return out
        if isinstance(subject, _Placed) and isinstance(out, torch.Tensor) and (moving or name in SHAPE_ONLY):
            return out.as_subclass(_moved(subject, name) if moving else type(subject))
        return torch._tensor._convert(out, result)


class Unmoved(_Placed):
    """A batch tensor still on the host: it must be moved before it meets the model."""


class OnDevice(_Placed):
    """A tensor on the device (a moved batch, a model's output): .cpu() before NumPy."""


class Created(Unmoved):
    """A tensor the learner's code created on the host (no device=) under HostFactories."""


class BackOnHost(Unmoved):
    """A device tensor brought back to the host with .cpu()."""


FACTORIES = {torch.randn, torch.rand, torch.randint, torch.randperm, torch.normal, torch.zeros, torch.ones,
             torch.full, torch.empty, torch.tensor, torch.as_tensor, torch.arange, torch.linspace, torch.eye}


class HostFactories(TorchFunctionMode):
    """While active, tensors made by a factory (torch.randn, torch.zeros, ...) from no tensor and
    without ``device=`` are Created: host tensors, which may not meet OnDevice ones."""

    def __torch_function__(self, func: Any, types: Any, args: tuple = (), kwargs: dict | None = None) -> Any:
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        if (func in FACTORIES and isinstance(out, torch.Tensor) and not isinstance(out, _Placed)
                and kwargs.get("device") is None
                and not any(isinstance(t, torch.Tensor) for t in tree_flatten((args, kwargs))[0])):
            return out.as_subclass(Created)
        return out


def unmoved(*tensors: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """The tensors as Unmoved (no copy)."""
    return tuple(t.as_subclass(Unmoved) for t in tensors)


def on_device(tensor: torch.Tensor) -> torch.Tensor:
    """``tensor`` as OnDevice (no copy)."""
    return tensor.as_subclass(OnDevice)


def outputs_on_device(model: nn.Module) -> nn.Module:
    """``model`` with its outputs marked OnDevice (a forward hook); returns the model."""
    model.register_forward_hook(lambda _module, _inputs, output: output.as_subclass(OnDevice)
                                if isinstance(output, torch.Tensor) else output)
    return model
