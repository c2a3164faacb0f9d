"""Experiments after the first model: data augmentation, hyper-parameter sweeps, a new data set.

Noise and random rotations make a model robust to small changes of its input; a sweep trains
once per value of one hyper-parameter and plots accuracy against it. (The third experiment,
Fashion-MNIST, needs no code here: the grader trains your 06 MLP and 07 CNN on it.)
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # draw into files only: no screen needed

import matplotlib.pyplot as plt
import torch
from torchvision import transforms

MNIST_MEAN = 0.1307  # mean pixel value of the MNIST training images, after scaling to [0, 1]
MNIST_STD = 0.3081  # their standard deviation


def add_gaussian_noise(x: torch.Tensor, std: float = 0.1,
                       generator: torch.Generator | None = None) -> torch.Tensor:
    """Return x + std * z with z ~ N(0, 1) drawn independently for every element.

    x: float tensor of any shape, on any device. The result has x's shape, dtype and device;
    x itself is not modified. ``generator`` (a torch.Generator on x's device) makes the noise
    repeatable; without one, torch's global generator is used (seed it with torch.manual_seed).
    std = 0 returns a tensor equal to x.
    """
    noise = torch.randn(x.shape, generator=generator, dtype=x.dtype, device=x.device)
    return x + std * noise  # a new tensor: x is left as it was


def augment_transform(max_rotation: float = 15.0, noise_std: float = 0.1) -> Callable[[Any], torch.Tensor]:
    """A training transform for MNIST images: PIL image (28 x 28, mode "L") -> (1, 28, 28) float32.

    In this order:
      1. rotate by an angle drawn uniformly from [-max_rotation, +max_rotation] degrees, a new
         angle on every call (the corners that come into view are black, i.e. background);
      2. ToTensor, then Normalize((MNIST_MEAN,), (MNIST_STD,)):  x' = (x / 255 - 0.1307) / 0.3081;
      3. add Gaussian noise of standard deviation noise_std (in normalised units), new on every call.
    max_rotation = 0 and noise_std = 0 give exactly the plain normalised image.
    """
    return transforms.Compose([
        transforms.RandomRotation(max_rotation),  # on the PIL image: corners filled with 0 = black
        transforms.ToTensor(),
        transforms.Normalize((MNIST_MEAN,), (MNIST_STD,)),
        transforms.Lambda(lambda t: add_gaussian_noise(t, noise_std)),
    ])


def run_sweep(values: Iterable[Any], train_and_evaluate: Callable[[Any], float]) -> list[dict[str, Any]]:
    """Call train_and_evaluate(v) exactly once for each v of ``values``, in order.

    Returns [{"value": v, "accuracy": a}, ...] in the same order, where a is what
    train_and_evaluate(v) returned (e.g. a test accuracy in percent).
    """
    return [{"value": value, "accuracy": float(train_and_evaluate(value))} for value in values]


def plot_sweep(results: list[dict[str, Any]], path: str | Path, xlabel: str) -> Path:
    """Plot accuracy against value for the results of run_sweep and save the figure as a PNG.

    One axes: the values on the x axis (labelled ``xlabel``), the accuracies on the y axis.
    Creates missing parent folders of ``path``; returns ``path`` as a pathlib.Path.
    """
    path = Path(path)
    values = [r["value"] for r in results]
    accuracies = [r["accuracy"] for r in results]
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot(values, accuracies, marker="o")
    numeric = values and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)
    if numeric and min(values) > 0 and max(values) / min(values) >= 100:
        ax.set_xscale("log")  # learning rates and the like span decades
    ax.set_xlabel(xlabel)
    ax.set_ylabel("accuracy (%)")
    ax.set_title(f"accuracy against {xlabel}")
    ax.grid(True, alpha=0.3)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path
