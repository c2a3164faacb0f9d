"""07_cnn: a small convolutional network that classifies MNIST digits.

Fill in SimpleCNN.__init__ and SimpleCNN.forward. The README explains the layers;
`pytest exercises/07_cnn` (or `grader 07`) checks your work.
"""
from __future__ import annotations

import torch
from torch import nn


class SimpleCNN(nn.Module):
    """Two convolution blocks, then a two-layer classifier.

    Shapes for a batch of N images:
      (N, 1, 28, 28)
      -> Conv2d(1, 32, kernel_size=3, padding=1), ReLU   -> (N, 32, 28, 28)
      -> MaxPool2d(2)                                     -> (N, 32, 14, 14)
      -> Conv2d(32, 64, kernel_size=3, padding=1), ReLU  -> (N, 64, 14, 14)
      -> MaxPool2d(2)                                     -> (N, 64, 7, 7)
      -> flatten (keep the batch dimension)               -> (N, 3136)
      -> Linear(3136, 128), ReLU, Dropout(p=dropout)      -> (N, 128)
      -> Linear(128, num_classes), no activation          -> (N, num_classes) logits

    Parameters (weights + biases): 1*32*3*3+32 = 320, 32*64*3*3+64 = 18,496,
    3136*128+128 = 401,536, 128*10+10 = 1,290; 421,642 in total for 10 classes.
    """

    def __init__(self, num_classes: int = 10, dropout: float = 0.25) -> None:
        super().__init__()
        raise NotImplementedError("07_cnn.SimpleCNN.__init__: create the layers of the network")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(N, 1, 28, 28) float32 -> (N, num_classes) logits."""
        raise NotImplementedError("07_cnn.SimpleCNN.forward: return the (N, num_classes) logits for a batch of images")
