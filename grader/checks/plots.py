"""Checks on the figures 01, 08 and 09 save: which matplotlib figures were saved, whether the one saved
had anything drawn on it when it was saved, and whether a file is a PNG of sensible size, not blank, that the function
returned the path of."""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from weakref import WeakKeyDictionary

import pytest

from grader.core import failures

FAIL = failures.module_table(__file__)
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


_DATA_WHEN_SAVED: WeakKeyDictionary = WeakKeyDictionary()  # figure -> had data drawn at its last savefig


def has_data(figure) -> bool:
    """Whether any axes of ``figure`` holds a drawn artist: a line, points, an image, a patch (bars) or a text
    (titles and axis labels do not count)."""
    return any(ax.lines or ax.collections or ax.images or ax.patches or ax.texts or ax.artists or ax.tables
               for ax in figure.axes)


def figures_saved(monkeypatch: pytest.MonkeyPatch) -> list:
    """Every matplotlib Figure saved from now until the test ends (plt.savefig and fig.savefig both land here)."""
    import matplotlib.figure

    captured: list = []
    original = matplotlib.figure.Figure.savefig

    def spy(self, *args, **kwargs):
        captured.append(self)
        _DATA_WHEN_SAVED[self] = has_data(self)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(matplotlib.figure.Figure, "savefig", spy)
    return captured


def check_drawn(figure, name: str) -> None:
    """The figure ``name`` saved has axes (an empty one means the drawing went to another figure), and when it
    was saved some of them held data (empty axes then mean savefig ran before the drawing)."""
    if not figure.axes:
        raise FAIL("empty_figure", name=name, causes=FAIL("blank_figure_causes"))
    if has_data(figure) and not _DATA_WHEN_SAVED.get(figure, True):
        raise FAIL("saved_before_drawing", name=name)


def check_existing_folder(name: str, save: Callable[[Path], object], folder: Path) -> None:
    """``save(path)``, a call of ``name``, writes into ``folder`` although it exists already: the parent folders
    are created with exist_ok=True."""
    path = folder / f"{name} again.png"
    try:
        save(path)
    except FileExistsError as exc:
        raise folder_exists(name, path, exc) from exc


def folder_exists(name: str, path: Path, error: FileExistsError) -> failures.Failure:
    """The failure of ``name`` raising ``error`` while writing ``path`` into a folder that exists."""
    return FAIL("folder_exists", name=name, path=path, error=error)


def check_png(name: str, path, result) -> None:
    """``name`` wrote a PNG of sensible size (100..5000 pixels a side), not of one colour, at ``path`` and
    returned ``path``."""
    import matplotlib.image

    if not path.is_file():
        raise FAIL("no_file", name=name, path=path)
    if result is None or Path(result) != path:
        raise FAIL("wrong_return", name=name, path=path, result=result)
    if path.read_bytes()[:8] != PNG_MAGIC:
        raise FAIL("not_png", name=name)
    pixels = matplotlib.image.imread(path)
    height, width = pixels.shape[:2]
    if not (pixels.ndim == 3 and 100 <= height <= 5000 and 100 <= width <= 5000):
        raise FAIL("image_size", name=name, width=width, height=height)
    if not (pixels != pixels[0, 0]).any():
        raise FAIL("blank_image", name=name, causes=FAIL("blank_figure_causes"))
