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
from grader.checks.signatures import defaults_failure
from grader.core import failures

FAIL = failures.table(__file__)

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
    transform = mod.mnist_transform()
    for kind, image in ((FAIL("pil_image"), Image.fromarray(pixels)), (FAIL("uint8_array"), pixels)):
        out = transform(image)
        if not isinstance(out, torch.Tensor):
            raise FAIL("transform_not_tensor", kind=kind, type=type(out).__name__)
        if tuple(out.shape) != (1, 28, 28):
            raise FAIL("transform_shape", kind=kind, shape=tuple(out.shape))
        if out.dtype != torch.float32:
            raise FAIL("transform_dtype", kind=kind, dtype=out.dtype)
        got = out[0].double().numpy()
        if np.allclose(got, want, atol=1e-4):
            continue
        wrong = [
            (FAIL("half_constants", kind=kind), (scaled - 0.5) / 0.5),
            (FAIL("no_normalize", kind=kind), scaled),
            (FAIL("no_to_tensor_scaling", kind=kind), (pixels - MEAN) / STD),
            (FAIL("mean_std_swapped", kind=kind), (scaled - STD) / MEAN),
        ]
        for cause, values in wrong:
            if np.allclose(got, values, atol=1e-4):
                raise cause
        raise FAIL("transform_values", kind=kind, black=(0 - MEAN) / STD, white=(1 - MEAN) / STD,
                   got_black=got[0, 0], got_white=got[0, 1])


# --------------------------------------------------------------------------- split_indices

def as_array(indices, which: str) -> np.ndarray:
    if isinstance(indices, torch.Tensor):
        indices = indices.cpu().numpy()
    arr = np.asarray(indices)
    if not (arr.ndim == 1 and (arr.size == 0 or np.issubdtype(arr.dtype, np.integer))):
        raise FAIL("indices_not_integers", which=which, shape=arr.shape, dtype=arr.dtype)
    return arr


def split(mod, n, **kwargs) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    result = mod.split_indices(n, **kwargs)
    if not (isinstance(result, (tuple, list)) and len(result) == 3):
        raise FAIL("split_not_three")
    return tuple(as_array(part, which) for part, which in zip(result, ("train", "val", "test")))


def check_partition(parts: tuple[np.ndarray, ...], n: int) -> None:
    names = ("train", "val", "test")
    for name, part in zip(names, parts):
        if len(np.unique(part)) != len(part):
            raise FAIL("split_duplicates", name=name)
    for i in range(3):
        for j in range(i + 1, 3):
            shared = np.intersect1d(parts[i], parts[j])
            if shared.size:
                raise FAIL("split_parts_overlap", first=names[i], second=names[j], shared=shared.size,
                           indices=FAIL("one_index") if shared.size == 1 else FAIL("several_indices"), example=shared[0])
    everything = np.concatenate(parts)
    if not (len(everything) == n and np.array_equal(np.sort(everything), np.arange(n))):
        raise FAIL("split_not_covering", n=n, total=len(everything), missing=len(np.setdiff1d(np.arange(n), everything)))


@pytest.mark.points(1)
def test_split_indices_mnist_sizes(mod):
    parts = split(mod, 70_000)
    sizes = tuple(len(p) for p in parts)
    if sizes != (42_000, 14_000, 14_000):
        raise FAIL("mnist_split_sizes", train=sizes[0], val=sizes[1], test=sizes[2])
    check_partition(parts, 70_000)


@pytest.mark.points(1)
def test_split_indices_disjoint_and_covering(mod):
    for n in (10, 1000):
        check_partition(split(mod, n), n)


@pytest.mark.points(1)
def test_split_indices_seeded_and_shuffled(mod):
    a, b = split(mod, 500, seed=3), split(mod, 500, seed=3)
    if not all(np.array_equal(p, q) for p, q in zip(a, b)):
        raise FAIL("split_not_reproducible")
    if np.array_equal(np.sort(a[0]), np.arange(len(a[0]))):
        raise FAIL("split_not_shuffled")
    c = split(mod, 500, seed=4)
    if np.array_equal(a[0], c[0]):
        raise FAIL("split_ignores_seed")
    d, e = split(mod, 500), split(mod, 500)
    if not np.array_equal(d[0], e[0]):
        raise FAIL("split_default_seed_not_reproducible")


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
        raise FAIL("split_parts_reordered", order=", ".join(order), got=results[0], want=cases[0][2])
    rest_to_val = [(int(n * f[0]), n - int(n * f[0]) - int(n * f[2]), int(n * f[2])) for n, f, _ in cases]
    if results == rest_to_val:
        raise FAIL("split_rest_to_val", got=results, want=[sizes for _, _, sizes in cases])
    for (n, fractions, sizes), got, part in zip(cases, results, parts):
        if got == sizes:
            check_partition(part, n)
            continue
        default = (int(n * 0.6), int(n * 0.2), n - int(n * 0.6) - int(n * 0.2))
        if fractions != (0.6, 0.2, 0.2) and got == default:
            raise FAIL("split_ignores_fractions", fractions=fractions, n=n, got=got, want=sizes)
        rounded = (round(n * fractions[0]), round(n * fractions[1]))
        if got[:2] == rounded and rounded != sizes[:2]:
            raise FAIL("split_rounded", n=n, fractions=fractions, got=got, want=sizes)
        raise FAIL("split_sizes_wrong", n=n, fractions=fractions, want=sizes, got=got)


# --------------------------------------------------------------------------- the contract's defaults

@pytest.mark.points(1)
def test_contract_defaults(mod):
    call_expecting_error(lambda: mod.EarlyStopping().step(1.0))  # still the stub: "not started", not a free point
    failure = defaults_failure([
        (mod.split_indices, "split_indices", {"fractions": (0.6, 0.2, 0.2), "seed": 42}),
        (mod.train_epoch, "train_epoch", {"progress": True}),
        (mod.EarlyStopping, "EarlyStopping", {"patience": 3, "min_delta": 0.0}),
        (mod.fit, "fit", {"early_stopping": None, "best_path": None}),
    ])
    if failure is not None:
        raise failure
