"""Checks on the figures 01, 08 and 09 save: which matplotlib figures were saved, and whether a file
is a PNG of sensible size that the function returned the path of."""
from __future__ import annotations

from pathlib import Path

import pytest

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def figures_saved(monkeypatch: pytest.MonkeyPatch) -> list:
    """Every matplotlib Figure saved from now until the test ends (plt.savefig and fig.savefig both land here)."""
    import matplotlib.figure

    captured: list = []
    original = matplotlib.figure.Figure.savefig

    def spy(self, *args, **kwargs):
        captured.append(self)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(matplotlib.figure.Figure, "savefig", spy)
    return captured


def check_png(name: str, path, result) -> None:
    """``name`` wrote a PNG of sensible size (100..5000 pixels a side) at ``path`` and returned ``path``."""
    import matplotlib.image

    assert path.is_file(), f"{name} wrote no file at the path it was given ({path})"
    assert result is not None and Path(result) == path, f"{name} must return the path it wrote ({path}), got {result!r}"
    assert path.read_bytes()[:8] == PNG_MAGIC, (
        f"{name} wrote a file that is not a PNG: save with fig.savefig(path) where path ends in .png")
    pixels = matplotlib.image.imread(path)
    height, width = pixels.shape[:2]
    assert pixels.ndim == 3 and 100 <= height <= 5000 and 100 <= width <= 5000, (
        f"{name} wrote a {width}x{height} pixel image: give the figure a sensible size (figsize, dpi)")
