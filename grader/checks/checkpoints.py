"""Small trained models for 05_checkpoint's tests, and how their saved state is compared.

The model maps inputs (N, 16) (or (N, 1, 4, 4)) to logits (N, 4), with dropout, so train and eval
mode differ; after two Adam steps the optimizer has state worth saving.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def call_expecting_error(fn, *args, **kwargs) -> Exception | None:
    """Call fn; return the exception it raised (None if none). A stub's NotImplementedError passes through."""
    try:
        fn(*args, **kwargs)
    except NotImplementedError:
        raise
    except Exception as exc:  # noqa: BLE001 - any error type is acceptable, we inspect it
        return exc
    return None


def small_model(seed: int) -> nn.Module:
    """A small classifier with dropout: inputs (N, 16) (or (N, 1, 4, 4)) -> logits (N, 4)."""
    torch.manual_seed(seed)
    return nn.Sequential(nn.Flatten(), nn.Linear(16, 12), nn.ReLU(), nn.Dropout(0.25), nn.Linear(12, 4))


def trained(seed: int, device: torch.device) -> tuple[nn.Module, torch.optim.Optimizer]:
    """A small model and an Adam optimizer after two steps, so the optimizer has state to save."""
    model = small_model(seed).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    g = torch.Generator().manual_seed(seed)
    x, y = torch.randn(8, 16, generator=g).to(device), torch.randint(0, 4, (8,), generator=g).to(device)
    for _ in range(2):
        optimizer.zero_grad()
        F.cross_entropy(model(x), y).backward()
        optimizer.step()
    return model, optimizer


def fresh(seed: int, device: torch.device) -> tuple[nn.Module, torch.optim.Optimizer]:
    """A small model and an Adam optimizer with no state yet."""
    model = small_model(seed).to(device)
    return model, torch.optim.Adam(model.parameters(), lr=0.01)


def same(a, b) -> bool:
    """Deep equality for state dicts: tensors exactly equal (on CPU), containers element-wise."""
    if isinstance(a, torch.Tensor) or isinstance(b, torch.Tensor):
        return (isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor) and a.shape == b.shape
                and torch.equal(a.detach().cpu(), b.detach().cpu()))
    if isinstance(a, dict) or isinstance(b, dict):
        return isinstance(a, dict) and isinstance(b, dict) and a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)) or isinstance(b, (list, tuple)):
        return isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)) and len(a) == len(b) and all(map(same, a, b))
    return a == b
