"""The device the kit's own suite grades the exercises on: ``GRADER_TEST_DEVICE`` (default cpu),
e.g. ``GRADER_TEST_DEVICE=cuda pytest tests/test_gallery.py`` on a machine with a GPU."""
from __future__ import annotations

import os

DEVICE = os.environ.get("GRADER_TEST_DEVICE", "cpu")
