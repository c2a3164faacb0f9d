"""Files the grader writes: whole or not at all (a temporary file beside the target, then a rename)."""
from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import IO, Any


def _new_file_mode() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


_NEW_FILE_MODE = _new_file_mode()  # read once: os.umask can only be read by setting it


def _replace(path: Path, mode: str, write: Callable[[IO[Any]], object], durable: bool = False) -> None:
    """Run ``write`` on a temporary file beside ``path``, then rename it over ``path``.

    On any failure (Ctrl-C included) the temporary file goes and ``path`` is untouched.
    ``durable``: fsync the file, and the folder after the rename where the OS allows.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, mode) as f:
            write(f)
            if durable:
                f.flush()
                os.fsync(f.fileno())
        os.chmod(tmp, _NEW_FILE_MODE)  # as an ordinary new file would be, not mkstemp's 0600
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    if durable:
        with contextlib.suppress(OSError):
            dir_fd = os.open(path.parent, os.O_RDONLY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)


def atomic_write_text(path: str | Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file and a rename: never half-written.

    A symbolic link is written through (the file it names is replaced, not the link); a device
    or a pipe (``/dev/stdout``) is written to directly, since it cannot be replaced.
    """
    path = Path(path).resolve()
    if path.exists() and not path.is_file():
        with open(path, "w") as stream:
            stream.write(text)
        return
    _replace(path, "w", lambda f: f.write(text))


def atomic_write_bytes(path: str | Path, data: bytes | Iterable[bytes]) -> None:
    """Write ``data`` (bytes, or chunks of them) to ``path`` all-or-nothing, synced to disk.

    A symbolic link at ``path`` is replaced by the new file.
    """
    chunks = [data] if isinstance(data, (bytes, bytearray, memoryview)) else data
    _replace(Path(path), "wb", lambda f: f.writelines(chunks), durable=True)


def write_json(path: str | Path, data: dict) -> str | None:
    """Write ``data`` atomically; None when written, else one line saying why not."""
    try:
        atomic_write_text(path, json.dumps(data, indent=2) + "\n")
    except OSError as exc:
        return f"could not write {path}: {exc.strerror or exc}"
    return None
