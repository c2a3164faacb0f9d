"""Checks on the figures 01, 08 and 09 save: which matplotlib figures were saved, whether the one saved
had anything drawn on it when it was saved, and whether a file is a PNG of sensible size, not blank, that the function
returned the path of."""
from __future__ import annotations

from pathlib import Path
from weakref import WeakKeyDictionary

import pytest

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


EMPTY_CAUSES = ("plt.savefig saves the current figure, which is a new, blank one after plt.close() or another "
                "plt.figure(): save first and close after, or save the figure you drew on with fig.savefig(path)")


def check_drawn(figure, name: str) -> None:
    """The figure ``name`` saved has axes (an empty one means the drawing went to another figure), and when it
    was saved some of them held data (empty axes then mean savefig ran before the drawing)."""
    assert figure.axes, f"{name} saved an empty figure (no axes, nothing drawn): {EMPTY_CAUSES}"
    assert _DATA_WHEN_SAVED.get(figure, True) or not has_data(figure), (
        f"{name} saved its figure while its axes were still empty: the data was drawn after savefig, so the PNG "
        "shows empty axes. Draw everything first, then call fig.savefig(path)")


def check_png(name: str, path, result) -> None:
    """``name`` wrote a PNG of sensible size (100..5000 pixels a side), not of one colour, at ``path`` and
    returned ``path``."""
    import matplotlib.image

    assert path.is_file(), f"{name} wrote no file at the path it was given ({path})"
    assert result is not None and Path(result) == path, f"{name} must return the path it wrote ({path}), got {result!r}"
    assert path.read_bytes()[:8] == PNG_MAGIC, (
        f"{name} wrote a file that is not a PNG: save with fig.savefig(path) where path ends in .png")
    pixels = matplotlib.image.imread(path)
    height, width = pixels.shape[:2]
    assert pixels.ndim == 3 and 100 <= height <= 5000 and 100 <= width <= 5000, (
        f"{name} wrote a {width}x{height} pixel image: give the figure a sensible size (figsize, dpi)")
    assert (pixels != pixels[0, 0]).any(), (
        f"{name} wrote a blank image (every pixel the same colour), a figure with nothing drawn on it: {EMPTY_CAUSES}")
