"""Device-strict tensors: CPU grading refuses exactly what a GPU would, and nothing else."""
from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from grader.checks.devices import BackOnHost, HostFactories, OnDevice, Unmoved, on_device, outputs_on_device, unmoved

DEVICE = torch.device("cpu")  # the grading device the tests hand out


def setup():
    model = outputs_on_device(nn.Linear(4, 3))
    images, labels = unmoved(torch.randn(5, 4), torch.randint(0, 3, (5,)))
    return model, images, labels


# (what the learner's code does, what a GPU would say: None for nothing)
CASES = [
    ("model(images)", lambda m, x, y: m(x), "images = images.to(device)"),
    ("model(images.float())", lambda m, x, y: m(x.float()), "images = images.to(device)"),
    ("model(images.to(torch.float32))", lambda m, x, y: m(x.to(torch.float32)), "images = images.to(device)"),
    ("loss with labels left behind", lambda m, x, y: F.cross_entropy(m(x.to(DEVICE)), y), "labels = labels.to(device)"),
    ("accuracy with labels left behind", lambda m, x, y: (m(x.to(DEVICE)).argmax(1) == y).sum(), "labels = labels.to(device)"),
    ("preds.numpy()", lambda m, x, y: m(x.to(DEVICE)).argmax(1).numpy(), "without .cpu()"),
    ("np.asarray(preds)", lambda m, x, y: np.asarray(m(x.to(DEVICE)).argmax(1)), "without .cpu()"),
    ("moved labels .numpy()", lambda m, x, y: y.to(DEVICE).numpy(), "without .cpu()"),
    ("model(images.to(device))", lambda m, x, y: m(x.to(DEVICE)), None),
    ("model(images.to(device=device, non_blocking=True))", lambda m, x, y: m(x.to(device=DEVICE, non_blocking=True)), None),
    ("model(images.cuda())", lambda m, x, y: m(x.cuda()), None),
    ("model(images.type_as(weight))", lambda m, x, y: m(x.type_as(m.weight)), None),
    ("model(images.to(weight))", lambda m, x, y: m(x.to(m.weight)), None),
    ("loss and backward, both moved", lambda m, x, y: F.cross_entropy(m(x.to(DEVICE)), y.to(DEVICE)).backward(), None),
    ("preds.cpu().numpy()", lambda m, x, y: m(x.to(DEVICE)).argmax(1).cpu().numpy(), None),
    ("preds.to('cpu').numpy()", lambda m, x, y: m(x.to(DEVICE)).argmax(1).to("cpu").numpy(), None),
    ("outputs.detach().cpu().numpy()", lambda m, x, y: m(x.to(DEVICE)).detach().cpu().numpy(), None),
    ("labels.numpy() never moved", lambda m, x, y: y.numpy(), None),
    ("preds.cpu() == labels never moved", lambda m, x, y: (m(x.to(DEVICE)).argmax(1).cpu() == y).sum(), None),
    (".item() and .tolist() on the device", lambda m, x, y: (m(x.to(DEVICE))[0, 0].item(), m(x.to(DEVICE)).tolist()), None),
    ("a 0-dim host scalar with device outputs", lambda m, x, y: m(x.to(DEVICE)) * unmoved(torch.tensor(2.0))[0], None),
    ("reshaping before the move", lambda m, x, y: m(x.view(5, -1).to(DEVICE)), None),
    ("len and size of a host batch", lambda m, x, y: (len(y), y.size(0), x.shape), None),
    # a GPU accepts these: the kit must too (every one was once refused)
    ("images.to(str(device))", lambda m, x, y: m(x.to(str(DEVICE))), None),
    ("probs.to(torch.device('cpu')).numpy()", lambda m, x, y: m(x.to(DEVICE)).detach().to(torch.device("cpu")).numpy(), None),
    ("preds.to(labels.device) == labels", lambda m, x, y: (m(x.to(DEVICE)).argmax(1).to(y.device) == y).sum(), None),
    ("labels.view_as(preds) on the host", lambda m, x, y: m(x.to(DEVICE)).argmax(1, keepdim=True).cpu().eq(
        y.view_as(m(x.to(DEVICE)).argmax(1, keepdim=True))).sum(), None),
    ("numpy(force=True)", lambda m, x, y: m(x.to(DEVICE)).numpy(force=True), None),
    ("scoring on the host: outputs.cpu() with labels never moved",
     lambda m, x, y: F.cross_entropy(m(x.to(DEVICE)).cpu(), y), None),
    # and refuses what a GPU refuses
    ("preds.cpu() == labels moved to the device", lambda m, x, y: (m(x.to(DEVICE)).argmax(1).cpu() == y.to(DEVICE)).sum(),
     "preds.cpu() == labels.cpu()"),
]


@pytest.mark.parametrize("case, act, says", CASES, ids=[c[0] for c in CASES])
def test_what_a_gpu_refuses_is_refused_and_nothing_else(case, act, says):
    model, images, labels = setup()
    if says is None:
        act(model, images, labels)
        return
    with pytest.raises((RuntimeError, TypeError), match="on a GPU") as raised:
        act(model, images, labels)
    assert says in str(raised.value), f"{case}: {raised.value}"


def test_markers_follow_the_moves():
    model, images, labels = setup()
    assert type(images) is Unmoved and type(images.to(DEVICE)) is OnDevice and type(images.cuda()) is OnDevice
    assert type(images) is Unmoved, "moving makes a new tensor; the batch itself stays as it was"
    assert type(model(images.to(DEVICE)).cpu()) is BackOnHost
    assert type(images.cpu()) is Unmoved, ".cpu() of a host tensor moves nothing"
    model(images.to(DEVICE)).sum().backward()
    assert model.weight.grad is not None, "gradients flow through marked outputs"


@pytest.mark.parametrize("make, refused", [
    (lambda x: torch.randn(x.shape), True),
    (lambda x: torch.normal(0.0, 1.0, size=x.shape), True),
    (lambda x: torch.zeros(x.shape, device=str(x.device)), False),  # on the CPU "cpu" may name the device
    (lambda x: torch.randn(x.shape, device=x.device), False),
    (lambda x: torch.randn_like(x), False),
    (lambda x: torch.empty_like(x).normal_(), False),
    (lambda x: torch.randn(x.shape).to(x.device), False),
    (lambda x: torch.tensor(0.5), False),  # a 0-dim scalar may meet device tensors
    (lambda x: torch.tensor(0.5) * torch.randn(x.shape, device=x.device), False),  # and does not taint the result
])
def test_tensors_created_without_a_device_may_not_meet_device_tensors(make, refused):
    x = on_device(torch.randn(3, 4))
    with HostFactories():
        if refused:
            with pytest.raises(RuntimeError, match="created without device="):
                x + make(x)
        else:
            x + make(x)
