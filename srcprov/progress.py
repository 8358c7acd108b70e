"""A progress bar on stderr, only when stderr is a terminal and the output is not JSON."""

from __future__ import annotations

import sys
import time


class Progress:
    """`with Progress(total, "verify") as p: p.advance()` draws a bar; silent when not on a terminal."""

    def __init__(self, total: int, label: str, enabled: bool = True) -> None:
        self.total, self.label, self.done = max(total, 0), label, 0
        self.enabled = enabled and total > 0 and sys.stderr.isatty()
        self._last = 0.0

    def __enter__(self) -> Progress:
        return self

    def advance(self, n: int = 1) -> None:
        """Count N more items done and redraw at most ten times a second."""
        self.done += n
        now = time.monotonic()
        if self.enabled and (now - self._last > 0.1 or self.done >= self.total):
            self._last = now
            width = 30
            filled = int(width * self.done / self.total) if self.total else width
            sys.stderr.write(f"\r{self.label} [{'#' * filled}{'.' * (width - filled)}] {self.done}/{self.total}")
            sys.stderr.flush()

    def __exit__(self, *exc: object) -> None:
        if self.enabled:
            sys.stderr.write("\r" + " " * (len(self.label) + 50) + "\r")
            sys.stderr.flush()
