"""Tests of 04_train/train.py: mnist_transform and split_indices.

Each failure names the cause and the fix. "not started" means the test reached a stub's
NotImplementedError; "blocked" means a test it needs (see @needs) has not passed yet, so fix that one
first. Hints: `grader hint 04`.
"""
from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch

from grader.checks.checkpoints import call_expecting_error
from grader.checks.signatures import default_problems

GRADES = "train"
MEAN, STD = 0.1307, 0.3081

pytestmark = pytest.mark.usefixtures("one_thread")  # torch on one thread: these tensors are tiny


# --------------------------------------------------------------------------- mnist_transform

@pytest.mark.points(2)
def test_mnist_transform_values(mod):
    from PIL import Image

    pixels = np.random.default_rng(0).integers(0, 256, size=(28, 28), dtype=np.uint8)
    pixels[0, 0], pixels[0, 1] = 0, 255
    scaled = pixels.astype(np.float64) / 255
    want = (scaled - MEAN) / STD
    wrong = {
        "the constants 0.5 / 0.5: use MNIST's own mean 0.1307 and std 0.3081": (scaled - 0.5) / 0.5,
        "no Normalize step: add Normalize((0.1307,), (0.3081,)) after ToTensor": scaled,
        "no ToTensor scaling (pixels were not divided by 255): put ToTensor() first": (pixels - MEAN) / STD,
        "mean and std swapped: Normalize((0.1307,), (0.3081,)) takes the mean first": (scaled - STD) / MEAN,
    }
    transform = mod.mnist_transform()
    for kind, image in (("a PIL image", Image.fromarray(pixels)), ("a (28, 28) uint8 array", pixels)):
        out = transform(image)
        assert isinstance(out, torch.Tensor), f"mnist_transform()({kind}) must give a tensor, got {type(out).__name__}"
        assert tuple(out.shape) == (1, 28, 28), (
            f"mnist_transform()({kind}) must give shape (1, 28, 28) (channel first), got {tuple(out.shape)}")
        assert out.dtype == torch.float32, f"mnist_transform()({kind}) must give float32, got {out.dtype}"
        got = out[0].double().numpy()
        if np.allclose(got, want, atol=1e-4):
            continue
        for mistake, values in wrong.items():
            if np.allclose(got, values, atol=1e-4):
                pytest.fail(f"mnist_transform() on {kind}: {mistake}")
        pytest.fail(f"mnist_transform() on {kind}: pixel 0 must become {(0 - MEAN) / STD:.4f} and 255 "
                    f"{(1 - MEAN) / STD:.4f}, got {got[0, 0]:.4f} and {got[0, 1]:.4f}: "
                    "ToTensor() then Normalize((0.1307,), (0.3081,))")


# --------------------------------------------------------------------------- split_indices

def as_array(indices, which: str) -> np.ndarray:
    if isinstance(indices, torch.Tensor):
        indices = indices.cpu().numpy()
    arr = np.asarray(indices)
    assert arr.ndim == 1 and (arr.size == 0 or np.issubdtype(arr.dtype, np.integer)), (
        f"split_indices: the {which} indices must be a 1-D sequence of integers, got shape {arr.shape}, dtype {arr.dtype}")
    return arr


def split(mod, n, **kwargs) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    result = mod.split_indices(n, **kwargs)
    assert isinstance(result, (tuple, list)) and len(result) == 3, (
        "split_indices must return three index arrays (train, val, test)")
    return tuple(as_array(part, which) for part, which in zip(result, ("train", "val", "test")))


def check_partition(parts: tuple[np.ndarray, ...], n: int) -> None:
    names = ("train", "val", "test")
    for name, part in zip(names, parts):
        assert len(np.unique(part)) == len(part), f"split_indices: the {name} indices contain duplicates"
    for i in range(3):
        for j in range(i + 1, 3):
            shared = np.intersect1d(parts[i], parts[j])
            assert shared.size == 0, (
                f"split_indices: {names[i]} and {names[j]} share {shared.size} "
                f"{'index' if shared.size == 1 else 'indices'} (e.g. {shared[0]}), so the "
                "model would be scored on images it trained on. Shuffle range(n) once (a permutation) and cut "
                "it into consecutive pieces.")
    everything = np.concatenate(parts)
    assert len(everything) == n and np.array_equal(np.sort(everything), np.arange(n)), (
        f"split_indices({n}): together the three parts must be exactly range({n}); "
        f"got {len(everything)} indices, {len(np.setdiff1d(np.arange(n), everything))} of range(n) missing")


@pytest.mark.points(1)
def test_split_indices_mnist_sizes(mod):
    parts = split(mod, 70_000)
    sizes = tuple(len(p) for p in parts)
    assert sizes == (42_000, 14_000, 14_000), (
        f"split_indices(70000) must give 42000 / 14000 / 14000 (60% / 20% / 20%), got {sizes[0]} / {sizes[1]} / {sizes[2]}")
    check_partition(parts, 70_000)


@pytest.mark.points(1)
def test_split_indices_disjoint_and_covering(mod):
    for n in (10, 1000):
        check_partition(split(mod, n), n)


@pytest.mark.points(1)
def test_split_indices_seeded_and_shuffled(mod):
    a, b = split(mod, 500, seed=3), split(mod, 500, seed=3)
    assert all(np.array_equal(p, q) for p, q in zip(a, b)), (
        "split_indices with the same seed must give the same split every time: draw from a generator "
        "seeded with `seed` (e.g. np.random.default_rng(seed).permutation(n))")
    assert not np.array_equal(np.sort(a[0]), np.arange(len(a[0]))), (
        "split_indices did not shuffle: the training part is just the first indices 0, 1, 2, ...; "
        "shuffle range(n) before cutting it")
    c = split(mod, 500, seed=4)
    assert not np.array_equal(a[0], c[0]), "split_indices ignores its seed: seeds 3 and 4 gave the same split"
    d, e = split(mod, 500), split(mod, 500)
    assert np.array_equal(d[0], e[0]), "split_indices with the default seed must be reproducible too"


PARTS = ("train", "val", "test")


def wrong_order(cases, results) -> tuple[str, ...] | None:
    """The order (a permutation of PARTS other than the contract's) in which every case's sizes came back."""
    for order in itertools.permutations(range(3)):
        if order != (0, 1, 2) and all(got == tuple(sizes[i] for i in order) for (_, _, sizes), got in zip(cases, results)):
            return tuple(PARTS[i] for i in order)
    return None


@pytest.mark.points(2)
def test_split_indices_other_sizes(mod):
    cases = [(7, (0.6, 0.2, 0.2), (4, 1, 2)), (103, (0.5, 0.25, 0.25), (51, 25, 27)), (10, (0.8, 0.1, 0.1), (8, 1, 1)),
             (10, (0.5, 0.3, 0.2), (5, 3, 2))]  # val and test differ: a wrong order and a wrong rest differ
    parts = [split(mod, n, fractions=fractions) for n, fractions, _ in cases]
    results = [tuple(len(p) for p in part) for part in parts]
    order = wrong_order(cases, results)
    if order is not None:
        pytest.fail(f"split_indices returned its parts in the order ({', '.join(order)}): with sizes {results[0]} "
                    f"for n=7 where (train, val, test) is {cases[0][2]}, and likewise for every fraction tried. "
                    "Return them as (train, val, test).")
    rest_to_val = [(int(n * f[0]), n - int(n * f[0]) - int(n * f[2]), int(n * f[2])) for n, f, _ in cases]
    if results == rest_to_val:
        pytest.fail(f"split_indices gave the rest to val and int(n * fractions[2]) to test: sizes {results}, expected "
                    f"{[sizes for _, _, sizes in cases]}. val is int(n * fractions[1]); test gets the rest.")
    for (n, fractions, sizes), got, part in zip(cases, results, parts):
        if got == sizes:
            check_partition(part, n)
            continue
        default = (int(n * 0.6), int(n * 0.2), n - int(n * 0.6) - int(n * 0.2))
        if fractions != (0.6, 0.2, 0.2) and got == default:
            pytest.fail(f"split_indices ignores its fractions argument: with fractions={fractions} it still cut "
                        f"{n} into 60% / 20% / 20% {got}, expected {sizes}")
        rounded = (round(n * fractions[0]), round(n * fractions[1]))
        if got[:2] == rounded and rounded != sizes[:2]:
            pytest.fail(f"split_indices({n}, fractions={fractions}) rounded the sizes to {got}: truncate with "
                        f"int(n * fraction) for train and val (the rest is test), which gives {sizes}")
        pytest.fail(f"split_indices({n}, fractions={fractions}) must give sizes {sizes} (int(n * fraction) for train "
                    f"and val, the rest for test), got {got}")


# --------------------------------------------------------------------------- the contract's defaults

@pytest.mark.points(1)
def test_contract_defaults(mod):
    call_expecting_error(lambda: mod.EarlyStopping().step(1.0))  # still the stub: "not started", not a free point
    problems = (default_problems(mod.split_indices, "split_indices", {"fractions": (0.6, 0.2, 0.2), "seed": 42})
                + default_problems(mod.train_epoch, "train_epoch", {"progress": True})
                + default_problems(mod.EarlyStopping, "EarlyStopping", {"patience": 3, "min_delta": 0.0})
                + default_problems(mod.fit, "fit", {"early_stopping": None, "best_path": None}))
    assert not problems, "; ".join(problems)
