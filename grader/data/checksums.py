"""The datasets' checksums, and checking the files in a raw folder against them (no repair).

:data:`CHECKSUMS` holds the MD5 of each uncompressed IDX file, as published with each dataset
(tests may monkeypatch it).
"""
from __future__ import annotations

import hashlib
from pathlib import Path

from grader.data.paths import canonical, raw_dir

CHECKSUMS: dict[str, dict[str, str]] = {
    "mnist": {
        "train-images-idx3-ubyte": "6bbc9ace898e44ae57da46a324031adb",
        "train-labels-idx1-ubyte": "a25bea736e30d166cdddb491f175f624",
        "t10k-images-idx3-ubyte": "2646ac647ad5339dbf082846283269ea",
        "t10k-labels-idx1-ubyte": "27ae3e4e09519cfbb04c329615203637",
    },
    "fashion": {
        "train-images-idx3-ubyte": "f4a8712d7a061bf5bd6d2ca38dc4d50a",
        "train-labels-idx1-ubyte": "9018921c3c673c538a1fc5bad174d6f9",
        "t10k-images-idx3-ubyte": "8181f5470baa50b63fa0f6fddb340f0a",
        "t10k-labels-idx1-ubyte": "15d484375f8d13e6eb1aabb0c3f46965",
    },
}


def md5_of(data: bytes | Path) -> str:
    """Hex MD5 of bytes or of a file's content."""
    digest = hashlib.md5()
    if isinstance(data, Path):
        with open(data, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                digest.update(block)
    else:
        digest.update(data)
    return digest.hexdigest()


def problems(raw: Path, table: dict[str, str]) -> dict[str, str]:
    """File name -> what is wrong with it, for every file that is missing or fails its MD5."""
    found: dict[str, str] = {}
    for fname, expected in table.items():
        path = raw / fname
        if not path.is_file():
            found[fname] = "missing"
            continue
        got = md5_of(path)
        if got != expected:
            found[fname] = f"checksum mismatch (MD5 {got}, expected {expected}; {path.stat().st_size:,} bytes)"
    return found


def check(name: str = "mnist", root: str | Path | None = None) -> list[str]:
    """Problems with a dataset's files, one line each (``[]`` means all four verify). No repair."""
    key = canonical(name)
    raw = raw_dir(key, root)
    return [f"{raw / fname}: {problem}" for fname, problem in problems(raw, CHECKSUMS[key]).items()]
