"""What a small net for XOR (2 inputs, one hidden layer, 1 logit) computes, read from its outputs and its
nn.Linear layers only (02_xor): whether it is affine, ends in a raw logit, and which activation it applies."""
from __future__ import annotations

import copy

import torch
from torch import nn


def linear_layers(model: nn.Module) -> list[nn.Linear]:
    return [m for m in model.modules() if isinstance(m, nn.Linear)]


def is_linear(model: nn.Module) -> bool:
    """f(a + b) - f(b) == f(a) - f(0) for random a, b holds exactly when f is affine."""
    g = torch.Generator().manual_seed(0)
    a, b = torch.randn(64, 2, generator=g) * 5, torch.randn(64, 2, generator=g) * 5
    with torch.no_grad():
        return torch.allclose(model(a + b) - model(b), model(a) - model(torch.zeros(64, 2)), atol=1e-4)


def output_layer(model: nn.Module) -> nn.Linear | None:
    """The Linear that produces the single logit (out_features == 1), if there is exactly one."""
    last = [m for m in linear_layers(model) if m.out_features == 1]
    return last[0] if len(last) == 1 else None


def is_raw_logit(model: nn.Module) -> bool:
    """True when nothing after the output Linear changes its values: shifting that layer's bias
    by c shifts every output by exactly c (a sigmoid or ReLU at the end would squash the shift)."""
    shifted = copy.deepcopy(model)
    layer = output_layer(shifted)
    if layer is None or layer.bias is None:
        return True  # nothing to probe; the training and separability tests still judge the outputs
    points = torch.rand(16, 2, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        layer.bias.add_(10.0)
        return torch.allclose(shifted(points) - model(points), torch.full((16, 1), 10.0), atol=1e-4)


def hidden_activation(model: nn.Module) -> str | None:
    """Which of "tanh", "relu", "sigmoid" or "no activation" the net applies between its Linear(2, hidden) and
    its Linear(hidden, 1), read from its outputs; None when it has not exactly those two layers, or applies
    something else."""
    layers, last = linear_layers(model), output_layer(model)
    first = [m for m in layers if m.in_features == 2]
    if len(layers) != 2 or len(first) != 1 or last is None:
        return None
    points = 3 * torch.randn(32, 2, generator=torch.Generator().manual_seed(2))
    known = {"tanh": torch.tanh, "relu": torch.relu, "sigmoid": torch.sigmoid, "no activation": lambda t: t}
    with torch.no_grad():
        out = model(points)
        return next((name for name, f in known.items() if torch.allclose(out, last(f(first[0](points))), atol=1e-5)),
                    None)
