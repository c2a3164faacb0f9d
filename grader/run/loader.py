"""Import a learner's module from a file path, turning every way it can fail into one line."""
from __future__ import annotations

import importlib.util
import sys
import traceback
from pathlib import Path
from types import ModuleType


class ModuleLoadError(Exception):
    """The module under test does not import; ``str()`` is a one-line reason for the learner."""


_cache: dict[Path, ModuleType | ModuleLoadError] = {}
_internal_names: dict[str, str] = {}  # sys.modules name of a graded module -> its file's stem


def graded_stem(module_name: str) -> str | None:
    """The file stem of the graded module imported as ``module_name`` (None: not a graded module)."""
    return _internal_names.get(module_name)


def plain_names(text: str) -> str:
    """``text`` with each graded module's internal name (``graded_06_mlp_mlp``) as its file's stem
    (``mlp``): what a learner wrote and can find."""
    for internal, stem in _internal_names.items():
        text = text.replace(internal, stem)
    return text


def _where(exc: BaseException, path: Path) -> str:
    """' (file.py, line N)' for the deepest frame of ``exc`` inside ``path``, else ''."""
    if isinstance(exc, SyntaxError) and exc.lineno:
        return f" ({Path(exc.filename or path).name}, line {exc.lineno})"
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if Path(f.filename) == path]
    return f" ({path.name}, line {frames[-1].lineno})" if frames else ""


def load_module_file(path: Path) -> ModuleType:
    """Import ``path`` once per process (cached), with its folder on ``sys.path`` while it runs.

    Raises ModuleLoadError when the file is missing or raises anything while importing,
    including SyntaxError and SystemExit.
    """
    path = Path(path).resolve()
    cached = _cache.get(path)
    if isinstance(cached, ModuleLoadError):
        raise cached
    if cached is not None:
        return cached
    if not path.is_file():
        missing = _cache[path] = ModuleLoadError(f"{path.name} is missing: expected it at {path}")
        raise missing
    name = f"graded_{path.parent.name}_{path.stem}"  # unique: never shadows a library or another exercise's module
    _internal_names[name] = path.stem
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    sys.path.insert(0, str(path.parent))
    try:
        spec.loader.exec_module(module)
    except KeyboardInterrupt:
        raise
    except SystemExit as exc:
        error = ModuleLoadError(f"{path.name} called sys.exit({exc.code!r}) while importing{_where(exc, path)}")
    except BaseException as exc:  # noqa: BLE001 - any failure of foreign code is reported, not raised
        detail = exc.msg if isinstance(exc, SyntaxError) else str(exc)
        error = ModuleLoadError(f"{path.name} does not import: {type(exc).__name__}: {detail}{_where(exc, path)}")
    else:
        _cache[path] = module
        return module
    finally:
        if str(path.parent) in sys.path:
            sys.path.remove(str(path.parent))
    sys.modules.pop(name, None)
    _cache[path] = error
    raise error
