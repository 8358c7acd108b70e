"""A one-line progress bar on stderr, shown only when stderr is a terminal."""

from __future__ import annotations

import sys
import time
from typing import TextIO


class ProgressBar:
    """`attributing [#####.....] 120/500 files`, redrawn at most ten times a second."""

    def __init__(self, label: str, stream: TextIO | None = None, enabled: bool = True, unit: str = "files") -> None:
        self.stream = stream or sys.stderr
        self.label = label
        self.unit = unit
        self.enabled = enabled and self.stream.isatty()
        self._last = 0.0
        self._shown = False

    def __call__(self, done: int, total: int) -> None:
        """Show DONE of TOTAL."""
        if not self.enabled:
            return
        now = time.monotonic()
        if done < total and now - self._last < 0.1:
            return
        self._last = now
        width = 30
        filled = width * done // total if total else width
        self.stream.write(f"\r{self.label} [{'#' * filled}{'.' * (width - filled)}] {done}/{total} {self.unit}")
        self.stream.flush()
        self._shown = True

    def close(self) -> None:
        """Erase the bar so the next output starts on a clean line."""
        if self._shown:
            self.stream.write("\r\033[K")
            self.stream.flush()
            self._shown = False
