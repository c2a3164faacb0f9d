"""Live progress bars (tqdm) for slow tests, fed by the progress events of the test processes.

A threshold test trains for tens of seconds: its bar shows the steps of the current training
run ("seed 0", then "seed 1" for a borderline retry) with tqdm's rate and ETA. A bar is closed
when its test reports its result, so the lines printed for finished tests stay in order.
"""
from __future__ import annotations

import shutil
import threading
from typing import TextIO

from tqdm import tqdm


class LiveBars:
    """One bar per running test and label, on ``stream`` (stderr)."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.bars: dict[str, tuple[str, tqdm]] = {}  # test id -> (label, its bar)
        self.lock = threading.Lock()  # exercises graded in parallel report from several threads

    def update(self, exercise: str, test: str, label: str, done: int, total: int) -> None:
        """Show that ``test`` of ``exercise`` is at step ``done`` of ``total`` in its run ``label``."""
        with self.lock:
            current = self.bars.get(test)
            if current is not None and current[0] != label:
                current[1].close()
                current = None
            if current is None:
                name = test.split("::")[-1]
                columns, rows = shutil.get_terminal_size(fallback=(100, 24))  # a terminal of size 0 too
                bar = tqdm(total=total, desc=f"  [{exercise}] {name} ({label})", unit="step", leave=False,
                           file=self.stream, ncols=columns, nrows=rows, mininterval=0.5)
                current = self.bars[test] = (label, bar)
            bar = current[1]
            bar.total = max(total, 1)
            bar.update(max(0, min(done, bar.total) - bar.n))

    def finish(self, test: str) -> None:
        """Close the bar of ``test`` (its result has arrived)."""
        with self.lock:
            current = self.bars.pop(test, None)
            if current is not None:
                current[1].close()
