"""Device-strict tensors: grading on the CPU that fails where grading on a GPU would.

On a CPU-only machine ``x.to(device)`` changes nothing, so code that forgets it passes there and
crashes on CUDA. The tests that hand the learner's code a device give it *Unmoved* batches (CPU
tensors that must go through ``.to(device)`` or ``.cuda()`` before they meet the model, and are
*OnDevice* after) and probe models whose outputs are OnDevice (they must go through ``.cpu()``
before NumPy). Each refuses what CUDA refuses, and says so in the learner's terms:

- an Unmoved tensor (not a 0-dim scalar) in one operation with a model parameter or an OnDevice
  tensor raises RuntimeError, as CUDA's "Expected all tensors to be on the same device";
- ``.numpy()`` or ``np.asarray`` of an OnDevice tensor raises TypeError, as CUDA's "can't
  convert cuda:0 device type tensor to numpy";
- under HostFactories, a tensor the learner creates without ``device=`` (``torch.randn(x.shape)``)
  may not meet an OnDevice one, as a CPU tensor may not meet a CUDA one.
"""
from __future__ import annotations

from typing import Any

import torch
from torch import nn
from torch.overrides import TorchFunctionMode
from torch.utils._pytree import tree_flatten

NOT_MOVED = {
    "parameters": "a batch tensor that was not moved to the device went into the model ({op}); on a GPU this "
                  "stops with 'Expected all tensors to be on the same device'. Move it first: images = images.to(device)",
    "outputs": "a batch tensor that was not moved to the device met the model's outputs in {op}; on a GPU this "
               "stops with 'Expected all tensors to be on the same device'. Move it first: labels = labels.to(device)",
    "created": "a tensor created without device= (such as torch.randn(shape)) met a tensor on the device in {op}; "
               "on a GPU this stops with 'Expected all tensors to be on the same device'. Create it where x is: "
               "torch.randn(x.shape, device=x.device) or torch.randn_like(x)",
}
TO_NUMPY = ("a tensor on the device was turned into NumPy without .cpu() (on a GPU this stops with "
            "\"can't convert cuda:0 device type tensor to numpy\"): call .cpu() first, e.g. t.cpu().numpy()")


def _moves(name: str, args: tuple, kwargs: dict) -> bool:
    """Whether the call sends its tensor to a device (``.to(device)``, ``.to(tensor)``, ``.cuda()``),
    as opposed to changing only its dtype (``.to(torch.float32)``, ``.float()``)."""
    if name in ("cuda", "type_as"):
        return True
    if name != "to":
        return False
    return "device" in kwargs or "other" in kwargs or any(
        isinstance(a, (torch.device, str, torch.Tensor)) or (isinstance(a, int) and not isinstance(a, bool))
        for a in args[1:])


def _to_device(name: str, args: tuple, kwargs: dict) -> bool:
    """Whether a move goes to the grading device rather than back to the host (``.cpu()``,
    ``.to("cpu")``; a torch.device is taken to be the grading device, as the tests hand out)."""
    if name == "cpu":
        return False
    target = kwargs.get("device", args[1] if len(args) > 1 else None)
    return not (isinstance(target, str) and target.startswith("cpu"))


class _Placed(torch.Tensor):
    """What Unmoved and OnDevice share: the checks, then the operation on plain tensors."""

    @classmethod
    def __torch_function__(cls, func: Any, types: Any, args: tuple = (), kwargs: dict | None = None) -> Any:
        kwargs = kwargs or {}
        name = getattr(func, "__name__", "")
        subject = args[0] if args else None
        with torch._C.DisableTorchFunctionSubclass():
            flat = [t for t in tree_flatten((args, kwargs))[0] if isinstance(t, torch.Tensor)]
            host = next((type(t) for t in flat if isinstance(t, Unmoved)), None)
            unmoved = next((t for t in flat if isinstance(t, Unmoved) and t.dim() > 0), None)
            on_device = any(isinstance(t, OnDevice) for t in flat)
            if unmoved is not None and not _moves(name, args, kwargs) and (
                    on_device or any(isinstance(t, nn.Parameter) for t in flat)):
                what = "created" if isinstance(unmoved, Created) else "outputs" if on_device else "parameters"
                raise RuntimeError(NOT_MOVED[what].format(op=name or "an operation"))
            if isinstance(subject, OnDevice) and name in ("numpy", "__array__"):
                raise TypeError(TO_NUMPY)
            # without a GPU, .cuda() is taken as the move it would be there
            out = subject if name == "cuda" and not torch.cuda.is_available() else func(*args, **kwargs)
        if isinstance(subject, _Placed) and isinstance(out, torch.Tensor) and (
                name == "cpu" or _moves(name, args, kwargs)):
            back: type[torch.Tensor] = type(subject) if isinstance(subject, Unmoved) else torch.Tensor  # on the host
            return out.as_subclass(OnDevice if _to_device(name, args, kwargs) else back)
        if name == "__array__" or not isinstance(out, (torch.Tensor, tuple, list)):
            return out
        return torch._tensor._convert(out, OnDevice if on_device else host or torch.Tensor)


class Unmoved(_Placed):
    """A batch tensor still on the host: it must be moved before it meets the model."""


class OnDevice(_Placed):
    """A model's output on the device: it must come back with .cpu() before NumPy."""


class Created(Unmoved):
    """A tensor the learner's code created on the host (no device=) while CPU grading stands in for a GPU."""


FACTORIES = {torch.randn, torch.rand, torch.randint, torch.randperm, torch.normal, torch.zeros, torch.ones,
             torch.full, torch.empty, torch.tensor, torch.as_tensor, torch.arange, torch.linspace, torch.eye}


class HostFactories(TorchFunctionMode):
    """While active, tensors made by a factory (torch.randn, torch.zeros, ...) without ``device=``
    (or with a "cpu" string) from no tensor are Created: they may not meet OnDevice tensors."""

    def __torch_function__(self, func: Any, types: Any, args: tuple = (), kwargs: dict | None = None) -> Any:
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        device = kwargs.get("device")
        if (func in FACTORIES and isinstance(out, torch.Tensor) and not isinstance(out, _Placed)
                and (device is None or isinstance(device, str) and device.startswith("cpu"))
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
