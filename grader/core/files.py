"""Files the grader writes: whole or not at all."""
from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path


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
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # as an ordinary new file would be, not mkstemp's 0600
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_json(path: str | Path, data: dict) -> str | None:
    """Write ``data`` atomically; None when written, else one line saying why not."""
    try:
        atomic_write_text(path, json.dumps(data, indent=2) + "\n")
    except OSError as exc:
        return f"could not write {path}: {exc.strerror or exc}"
    return None
