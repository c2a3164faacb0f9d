"""The device flow of the reference models on CUDA, checked without a GPU: under FakeTensorMode,
tensors carry a device and shapes but no data, so a CUDA model meets only CUDA tensors."""
from __future__ import annotations

import importlib.util

import pytest
import torch
import torch.nn.functional as F
from torch._subclasses import fake_tensor

from grader.core import kit

CUDA = torch.device("cuda")


def reference(exercise: str, module: str):
    path = kit.SOLUTIONS_DIR / exercise / f"{module}.py"
    spec = importlib.util.spec_from_file_location(f"reference_{exercise}", path)
    assert spec and spec.loader
    loaded = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(loaded)
    return loaded


@pytest.mark.parametrize("exercise, module, name", [("06_mlp", "mlp", "MLP"), ("07_cnn", "cnn", "SimpleCNN")])
def test_the_reference_s_forward_and_loss_stay_on_the_gpu(exercise, module, name):
    """(The backward pass needs a real CUDA device: bench/gpu_check.sh runs it where there is one.)"""
    build = getattr(reference(exercise, module), name)
    with fake_tensor.FakeTensorMode(), CUDA:
        model = build()
        images, labels = torch.empty(4, 1, 28, 28), torch.zeros(4, dtype=torch.int64)
        logits = model(images)
        loss = F.cross_entropy(logits, labels)
        assert logits.shape == (4, 10) and loss.device.type == "cuda"
        assert all(p.device.type == "cuda" for p in model.parameters())
        with pytest.raises(Exception, match="same device"):
            model(torch.empty(4, 1, 28, 28, device="cpu"))  # a batch left on the host stops, as on a GPU


def test_the_reference_noise_is_drawn_on_the_input_s_device():
    noise = reference("09_experiments", "experiments").add_gaussian_noise
    with fake_tensor.FakeTensorMode():
        x = torch.empty(2, 1, 28, 28, device=CUDA)
        assert noise(x, std=0.1).device.type == "cuda"
