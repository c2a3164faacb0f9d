"""Tests for 02_xor: collapsing linear layers, the XOR net, its training, and the separability check."""
from __future__ import annotations

import copy

import numpy as np
import pytest
import torch
from torch import nn

X = torch.tensor([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
Y = torch.tensor([[0.0], [1.0], [1.0], [0.0]])
SEEDS = range(10)


@pytest.fixture(autouse=True)
def one_thread():
    """Four-point nets are far faster on one thread: no thread start-up or contention per op."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


class FixedLogits(nn.Module):
    """A stand-in model that answers the four XOR points with given logits."""

    def __init__(self, logits: list[float]) -> None:
        super().__init__()
        self.logits = torch.tensor(logits).reshape(4, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.logits[: len(x)]


def trusted_accuracy(model: nn.Module) -> float:
    with torch.no_grad():
        return ((model(X) > 0).float() == Y).float().mean().item()


def linear_layers(model: nn.Module) -> list[nn.Linear]:
    return [m for m in model.modules() if isinstance(m, nn.Linear)]


def is_linear(model: nn.Module) -> bool:
    """f(a + b) - f(b) == f(a) - f(0) for random a, b holds exactly when f is affine."""
    g = torch.Generator().manual_seed(0)
    a, b = torch.randn(64, 2, generator=g) * 5, torch.randn(64, 2, generator=g) * 5
    with torch.no_grad():
        return torch.allclose(model(a + b) - model(b), model(a) - model(torch.zeros(64, 2)), atol=1e-4)


@pytest.mark.points(2)
@pytest.mark.parametrize("sizes", [(3, 5, 2), (4, 4, 4)])
def test_collapse_linear(mod, sizes):
    n_in, n_hidden, n_out = sizes
    rng = np.random.default_rng(0)
    W1, b1 = rng.normal(size=(n_hidden, n_in)), rng.normal(size=n_hidden)
    W2, b2 = rng.normal(size=(n_out, n_hidden)), rng.normal(size=n_out)
    W, b = mod.collapse_linear(W1, b1, W2, b2)
    W, b = np.asarray(W), np.asarray(b)
    assert W.shape == (n_out, n_in), f"W must be (out, in) = {(n_out, n_in)}, got {W.shape}: W = W2 @ W1 (W1 acts first)"
    assert np.allclose(W, W2 @ W1), "W is wrong: the first layer acts first, so W = W2 @ W1, not W1 @ W2"
    assert np.shape(b) == (n_out,), f"b must have shape ({n_out},), got {np.shape(b)}"
    assert np.allclose(b, W2 @ b1 + b2), "b is wrong: the first bias passes through the second layer too, so b = W2 @ b1 + b2"


@pytest.mark.points(2)
@pytest.mark.parametrize("activation", ["tanh", "relu", "sigmoid", None])
def test_make_xor_net_shapes(mod, activation):
    torch.manual_seed(0)
    net = mod.make_xor_net(hidden=8, activation=activation)
    assert isinstance(net, nn.Module), "make_xor_net must return an nn.Module"
    for n in (4, 7):
        out = net(torch.rand(n, 2))
        assert tuple(out.shape) == (n, 1), f"the net must map (N, 2) to (N, 1) logits; (N={n}, 2) gave {tuple(out.shape)}"
    count = sum(p.numel() for p in net.parameters())
    assert count == 33, (f"with hidden=8 the net should have 2*8 + 8 + 8*1 + 1 = 33 parameters (two Linear layers "
                         f"with biases), it has {count}")
    assert sum(p.numel() for p in mod.make_xor_net(hidden=3, activation=activation).parameters()) == 13, (
        "make_xor_net ignores `hidden`: hidden=3 should give 2*3 + 3 + 3 + 1 = 13 parameters")


@pytest.mark.points(2)
def test_activation_makes_the_difference(mod):
    torch.manual_seed(0)
    assert is_linear(mod.make_xor_net(activation=None)), (
        "make_xor_net(activation=None) must be purely linear: no nonlinearity between the layers")
    for activation in ("tanh", "relu", "sigmoid"):
        torch.manual_seed(0)
        assert not is_linear(mod.make_xor_net(activation=activation)), (
            f"make_xor_net(activation={activation!r}) behaves like a linear function: put the activation between the two layers")


@pytest.mark.points(2)
def test_train_xor_follows_adam_on_bce(mod):
    torch.manual_seed(3)
    net = mod.make_xor_net()
    reference = copy.deepcopy(net)
    before = [p.detach().clone() for p in net.parameters()]
    losses = mod.train_xor(net, epochs=30, lr=0.05)
    assert isinstance(losses, list) and len(losses) == 30, "train_xor must return a list with one loss per epoch"
    assert all(isinstance(v, float) for v in losses), "return the losses as Python floats (loss.item())"
    assert any(not torch.equal(a, p) for a, p in zip(before, net.parameters())), (
        "train_xor did not change the parameters: call loss.backward() and optimizer.step() every epoch")
    optimizer = torch.optim.Adam(reference.parameters(), lr=0.05)
    expected = []
    for _ in range(30):
        optimizer.zero_grad()
        loss = nn.functional.binary_cross_entropy_with_logits(reference(X), Y)
        loss.backward()
        optimizer.step()
        expected.append(loss.item())
    assert losses[0] == pytest.approx(expected[0], rel=1e-5), (
        f"the first loss should be BCEWithLogitsLoss of the untrained net, {expected[0]:.5f}; got {losses[0]:.5f} "
        "(feed raw logits to BCEWithLogitsLoss: no sigmoid before it)")
    drift = max((a - b).abs().max().item() for a, b in zip(net.parameters(), reference.parameters()))
    assert drift < 1e-4, (
        f"after 30 epochs the parameters differ from full-batch Adam(lr={0.05}) on BCEWithLogitsLoss by {drift:.2g}: "
        "call optimizer.zero_grad() every epoch, create one Adam(model.parameters(), lr=lr) before the loop, "
        "and step once per epoch on all four points")


@pytest.mark.points(2)
@pytest.mark.parametrize("logits, expected", [([-1.0, 2.0, -3.0, -0.5], 0.75), ([0.0, 2.0, 3.0, -1.0], 1.0),
                                               ([1.0, -1.0, -1.0, 1.0], 0.0)])
def test_xor_accuracy(mod, logits, expected):
    got = mod.xor_accuracy(FixedLogits(logits))
    assert isinstance(got, float), f"xor_accuracy must return a Python float, got {type(got).__name__}"
    assert got == pytest.approx(expected), (
        f"logits {logits} against targets [0, 1, 1, 0] give accuracy {expected}, got {got}: count predictions "
        "that equal the target (logit > 0 means class 1) and divide by 4")


@pytest.mark.points(5)
@pytest.mark.needs("test_make_xor_net_shapes", "test_train_xor_follows_adam_on_bce")
def test_xor_is_separable_with_a_hidden_nonlinearity(mod):
    solved = []
    for seed in SEEDS:
        torch.manual_seed(seed)
        net = mod.make_xor_net(activation="tanh")
        mod.train_xor(net)
        solved.append(trusted_accuracy(net) == 1.0)
    assert sum(solved) >= 9, (
        f"with a tanh hidden layer XOR should be solved for at least 9 of seeds 0..9; solved for {sum(solved)} "
        f"(seeds {[s for s, ok in zip(SEEDS, solved) if ok]})")


@pytest.mark.points(3)
@pytest.mark.needs("test_collapse_linear", "test_make_xor_net_shapes", "test_train_xor_follows_adam_on_bce")
def test_linear_net_cannot_solve_xor(mod):
    for seed in SEEDS:
        torch.manual_seed(seed)
        net = mod.make_xor_net(activation=None)
        mod.train_xor(net)
        accuracy = trusted_accuracy(net)
        assert accuracy <= 0.75, (f"seed {seed}: a net without activation reached accuracy {accuracy}, "
                                  "which no straight line can: make sure activation=None adds no nonlinearity")
        first, second = linear_layers(net)
        W, b = mod.collapse_linear(*(t.detach().numpy().astype(np.float64) for t in
                                     (first.weight, first.bias, second.weight, second.bias)))
        with torch.no_grad():
            direct = net(X).numpy()
        assert np.allclose(X.numpy() @ np.asarray(W).T + np.asarray(b), direct, atol=1e-4), (
            "collapse_linear of the trained linear net does not reproduce its outputs")
