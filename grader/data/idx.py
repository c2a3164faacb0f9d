"""The IDX format of the MNIST files: a big-endian header, then the uint8 data.

Images: magic 2051, then n, rows, cols (16 bytes); labels: magic 2049, then n (8 bytes).
"""
from __future__ import annotations

import struct
from pathlib import Path

import numpy as np

IMAGES_MAGIC, LABELS_MAGIC = 2051, 2049


def idx_bytes(array: np.ndarray) -> bytes:
    """Encode uint8 images (n, rows, cols) or labels (n,) as an IDX file (big-endian header)."""
    array = np.ascontiguousarray(array, dtype=np.uint8)
    if array.ndim == 3:
        header = struct.pack(">IIII", IMAGES_MAGIC, *array.shape)
    elif array.ndim == 1:
        header = struct.pack(">II", LABELS_MAGIC, array.shape[0])
    else:
        raise ValueError(f"IDX expects images (n, rows, cols) or labels (n,), got shape {array.shape}")
    return header + array.tobytes()


def read_idx(path: Path) -> np.ndarray:
    """Parse an uncompressed IDX file (images 2051 or labels 2049) into a uint8 array."""
    data = Path(path).read_bytes()
    magic = struct.unpack_from(">I", data)[0] if len(data) >= 4 else None
    if magic == IMAGES_MAGIC and len(data) >= 16:
        shape = struct.unpack_from(">III", data, 4)
        offset = 16
    elif magic == LABELS_MAGIC and len(data) >= 8:
        shape = struct.unpack_from(">I", data, 4)
        offset = 8
    else:
        raise ValueError(f"{path} is not an MNIST IDX file (magic {magic})")
    count = int(np.prod(shape))
    if len(data) - offset != count:
        raise ValueError(f"{path}: header says {count:,} bytes of data, file has {len(data) - offset:,}")
    return np.frombuffer(data, dtype=np.uint8, offset=offset).reshape(shape)
