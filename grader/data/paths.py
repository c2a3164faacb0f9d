"""Where the datasets live: their names, the data folder, and torchvision's raw layout in it.

``<data>/MNIST/raw/`` and ``<data>/FashionMNIST/raw/`` each hold the four uncompressed IDX
files of :data:`FILES`, so ``torchvision.datasets.MNIST(root=<data>)`` reads them as they are.
"""
from __future__ import annotations

import os
from pathlib import Path

from grader.core.kit import KIT_ROOT

ENV_VAR = "GRADER_DATA_DIR"
FILES = (
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
)
FOLDERS = {"mnist": "MNIST", "fashion": "FashionMNIST"}  # torchvision's class names
TITLES = {"mnist": "MNIST", "fashion": "Fashion-MNIST"}
ALIASES = {"fashion-mnist": "fashion", "fashion_mnist": "fashion", "fashionmnist": "fashion"}


def canonical(name: str) -> str:
    """``"mnist"`` or ``"fashion"`` (accepts ``fashion-mnist`` and similar spellings)."""
    key = name.strip().lower()
    key = ALIASES.get(key, key)
    if key not in FOLDERS:
        raise ValueError(f"unknown dataset {name!r}; choose from: {', '.join(FOLDERS)}")
    return key


def data_dir(override: str | Path | None = None) -> Path:
    """The data folder: ``override`` > env var ``GRADER_DATA_DIR`` > ``KIT_ROOT/data``."""
    chosen = override if override is not None else os.environ.get(ENV_VAR) or KIT_ROOT / "data"
    return Path(chosen).expanduser()


def raw_dir(name: str = "mnist", root: str | Path | None = None) -> Path:
    """``<data>/MNIST/raw`` or ``<data>/FashionMNIST/raw`` (not created)."""
    return data_dir(root) / FOLDERS[canonical(name)] / "raw"
