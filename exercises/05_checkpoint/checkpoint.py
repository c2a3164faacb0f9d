"""Checkpoints: save training safely, resume it exactly, load a model for inference, predict.

A checkpoint is one file holding everything needed to continue training where it stopped:
the model's parameters, the optimizer's state (Adam's moment estimates and step counts), the
epoch, the latest loss and accuracy, and a printable description of the architecture.

Read exercises/05_checkpoint/README.md first. Run the tests with
``pytest exercises/05_checkpoint`` or ``grader 05``.
"""
from __future__ import annotations

import os
from pathlib import Path

import torch
from torch import nn

#: The keys every checkpoint file holds.
CHECKPOINT_KEYS = ("epoch", "model_state_dict", "optimizer_state_dict", "loss", "accuracy", "model_architecture")


def save_checkpoint(model: nn.Module, optimizer: torch.optim.Optimizer, epoch: int, loss: float,
                    accuracy: float, path: str | os.PathLike) -> Path:
    """Write a checkpoint to ``path`` atomically and return ``Path(path)``.

    The file holds one dict with the six CHECKPOINT_KEYS:
        "epoch": epoch (int), "model_state_dict": model.state_dict(),
        "optimizer_state_dict": optimizer.state_dict(), "loss": loss (float),
        "accuracy": accuracy (float, percent), "model_architecture": str(model).

    - Create missing parent folders.
    - Atomic: write into a temporary file in the same folder, then move it onto ``path`` in one
      step (``os.replace``). A crash halfway must leave an earlier checkpoint at ``path``
      intact, and a successful save leaves no temporary file behind.
    """
    raise NotImplementedError(
        "05_checkpoint.save_checkpoint: write the training state to path so that path always holds a complete "
        "checkpoint; return the path")


def load_checkpoint(path: str | os.PathLike, model: nn.Module, optimizer: torch.optim.Optimizer | None = None,
                    map_location: str | torch.device = "cpu") -> dict:
    """Restore ``model`` (and ``optimizer`` when it is not None) from a checkpoint file.

    - Read with ``torch.load(path, map_location=map_location, weights_only=True)``: only
      tensors, numbers, strings and plain containers are accepted, so a file that carries
      pickled code is refused instead of run.
    - A missing or corrupt file raises an error whose message contains the path.
    - Returns {"epoch": int, "loss": float, "accuracy": float} read from the file.
    """
    raise NotImplementedError(
        "05_checkpoint.load_checkpoint: restore the model (and the optimizer) from the file safely; return its "
        "epoch, loss and accuracy")


def load_model_for_inference(model: nn.Module, path: str | os.PathLike,
                             map_location: str | torch.device = "cpu") -> nn.Module:
    """Load a bare state_dict (``torch.save(model.state_dict(), path)``, e.g. best_model.pth).

    Loads it into ``model``, switches the model to evaluation mode and returns the same model.
    """
    raise NotImplementedError(
        "05_checkpoint.load_model_for_inference: return the model with the saved weights, ready for predictions")


def predict_single_image(model: nn.Module, image: torch.Tensor,
                         device: str | torch.device = "cpu") -> tuple[int, float]:
    """Classify one image of shape (1, 28, 28); returns (class, confidence in percent).

    Add the batch dimension -> (1, 1, 28, 28), move it to ``device``, run the model in
    evaluation mode without gradient tracking; logits (1, C) -> p = softmax(logits);
    class = argmax p (Python int), confidence = 100 * p[class] (Python float in 0..100).
    """
    raise NotImplementedError(
        "05_checkpoint.predict_single_image: return (predicted class, confidence in %) for one image")
