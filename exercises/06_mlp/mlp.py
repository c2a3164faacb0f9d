"""06_mlp: a multi-layer perceptron that classifies MNIST digits.

Fill in MLP.__init__, MLP.forward and count_parameters. The README explains the maths;
`pytest exercises/06_mlp` (or `grader 06`) checks your work.
"""
from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn


class MLP(nn.Module):
    """A fully connected classifier.

    For every entry h of ``hidden_sizes`` (in order): Linear(previous width, h) -> ReLU ->
    Dropout(p=dropout). Then one Linear(last width, num_classes) with NO activation: the
    output is raw logits (nn.CrossEntropyLoss applies log-softmax itself).

    Input: float32 of shape (N, 1, 28, 28) or (N, input_size); flatten everything but the
    batch dimension first. Output: float32 of shape (N, num_classes).

    Parameters: with widths w = (input_size, *hidden_sizes, num_classes) there are
    sum over consecutive (a, b) of a*b + b; for the defaults
    784*128+128 + 128*64+64 + 64*10+10 = 109,386.

    Dropout zeroes each hidden activation with probability ``dropout`` in training mode
    (model.train()) and does nothing in evaluation mode (model.eval()).
    """

    def __init__(self, input_size: int = 784, hidden_sizes: Sequence[int] = (128, 64),
                 num_classes: int = 10, dropout: float = 0.2) -> None:
        super().__init__()
        raise NotImplementedError("06_mlp.MLP.__init__: create the hidden layers (sizes from hidden_sizes) and the "
                                  "output layer")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(N, 1, 28, 28) or (N, input_size) -> (N, num_classes) logits."""
        raise NotImplementedError("06_mlp.MLP.forward: return the (N, num_classes) logits for a batch of images")


def count_parameters(model: nn.Module) -> int:
    """The number of trainable scalars in ``model``: the sum of p.numel() over its
    parameters p with p.requires_grad (weights and biases alike; frozen parameters and
    buffers such as BatchNorm running statistics do not count). Returns a Python int."""
    raise NotImplementedError("06_mlp.count_parameters: return the number of trainable parameters as an int")
