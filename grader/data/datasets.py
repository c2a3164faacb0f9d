"""MNIST and Fashion-MNIST for the exercises: in-memory tensors, torchvision datasets, ``grader data``.

Images are (N, 1, 28, 28) float32, ``(x / 255 - mean) / std`` with :data:`NORMALIZATION`;
labels (N,) int64; train 60,000 and test 10,000 images for either dataset. The files are
prepared (fetched, verified) on first use; see :mod:`grader.data.prepare`.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from grader.data.checksums import CHECKSUMS, problems
from grader.data.idx import read_idx
from grader.data.paths import FOLDERS, TITLES, canonical, data_dir, raw_dir
from grader.data.prepare import DatasetUnavailable, prepare

NORMALIZATION = {"mnist": (0.1307, 0.3081), "fashion": (0.2860, 0.3530)}  # mean, std

_CACHE: dict[tuple[str, bool, str], tuple[Any, Any, tuple[int, int]]] = {}


def _split_tensors(key: str, train: bool, raw: Path) -> tuple[Any, Any]:
    """Parse one split's IDX files into normalised float32 images and int64 labels (CPU)."""
    import torch

    prefix = "train" if train else "t10k"
    pixels = read_idx(raw / f"{prefix}-images-idx3-ubyte")
    labels = read_idx(raw / f"{prefix}-labels-idx1-ubyte")
    if len(pixels) != len(labels):
        raise ValueError(f"{raw}: {len(pixels)} images but {len(labels)} labels")
    mean, std = NORMALIZATION[key]
    images = torch.from_numpy(pixels.copy()).unsqueeze(1).float().div_(255).sub_(mean).div_(std)
    return images, torch.from_numpy(labels.astype(np.int64))


def load_tensors(name: str = "mnist", train: bool = True, device: Any = "cpu",
                 root: str | Path | None = None) -> tuple[Any, Any]:
    """A whole split in memory: images (N, 1, 28, 28) float32 normalised, labels (N,) int64.

    Images are ``(x / 255 - mean) / std`` with :data:`NORMALIZATION`; the files are prepared
    on first use. The CPU tensors are parsed once per process and cached; on the CPU the
    cached tensors themselves are returned (no copy), so treat them as read-only. Should a
    caller modify them in place anyway, the next call notices and parses the files again.
    """
    key = canonical(name)
    raw = raw_dir(key, root)
    cache_key = (key, bool(train), str(raw.resolve()))
    hit = _CACHE.get(cache_key)
    if hit is None or hit[2] != (hit[0]._version, hit[1]._version):
        prepare(key, root, progress=True)
        images, labels = _split_tensors(key, bool(train), raw)
        _CACHE[cache_key] = hit = (images, labels, (images._version, labels._version))
    return hit[0].to(device), hit[1].to(device)


def torchvision_dataset(name: str = "mnist", train: bool = True, transform: Any = None,
                        root: str | Path | None = None) -> Any:
    """torchvision's MNIST / FashionMNIST over the prepared files (never downloads itself)."""
    from torchvision import datasets as tv

    key = canonical(name)
    prepare(key, root, progress=True)
    cls = tv.MNIST if key == "mnist" else tv.FashionMNIST
    return cls(str(data_dir(root)), train=train, transform=transform, download=False)


def run_data_command(names: list[str], check_only: bool, root: str | Path | None = None) -> int:
    """``grader data [--check]``: prepare (or only check) datasets, one status line per file.

    Returns 0 when every file verifies, 1 otherwise.
    """
    status = 0
    for requested in names or list(FOLDERS):
        try:
            key = canonical(requested)
        except ValueError as exc:
            print(f"error: {exc}")
            status = 1
            continue
        raw = raw_dir(key, root)
        if not check_only:
            try:
                prepare(key, root, progress=True)
            except DatasetUnavailable as exc:
                print(str(exc))
                status = 1
        bad = problems(raw, CHECKSUMS[key])
        print(f"{TITLES[key]} ({raw}): {'ok' if not bad else 'PROBLEM'}")
        for fname in CHECKSUMS[key]:
            if fname in bad:
                print(f"  FAIL  {fname}: {bad[fname]}")
            else:
                print(f"  ok    {fname} ({(raw / fname).stat().st_size:,} bytes, MD5 verified)")
        if bad:
            status = 1
            if check_only:
                print("  run `grader data` to fetch or repair the files")
    return status
