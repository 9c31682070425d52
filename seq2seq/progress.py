"""Progress of a long translation, on stderr (stdout carries translations only)."""

from __future__ import annotations

import contextlib
import logging
import sys
import time

import keras

log = logging.getLogger(__name__)


class Progress:
    """Progress of a long translation, on stderr (stdout carries translations only): at a
    terminal, ``keras.utils.Progbar``; elsewhere (a log file, a pipe, CI), a log line every
    ``every_seconds``; nothing when disabled."""

    def __init__(self, total: int, enabled: bool = True, every_seconds: float = 30.0) -> None:
        self.bar, self.total, self.every = None, total, every_seconds
        self.enabled = enabled and total > 0
        self._start = self._last = time.monotonic()
        if self.enabled and sys.stderr.isatty():
            with contextlib.redirect_stdout(sys.stderr):  # Progbar writes to sys.stdout
                self.bar = keras.utils.Progbar(total, unit_name="input")

    def update(self, done: int) -> None:
        """Moves the progress to ``done`` inputs (a bar ends its line at the total)."""
        if self.bar is not None:
            with contextlib.redirect_stdout(sys.stderr):
                self.bar.update(done)
            return
        now = time.monotonic()
        if not self.enabled or done >= self.total or now - self._last < self.every:
            return
        self._last = now
        rate = done / max(now - self._start, 1e-9)
        left = round((self.total - done) / max(rate, 1e-9))
        log.info("translated %s/%s inputs (%d%%), %s inputs/s, %d:%02d left", f"{done:,}",
                 f"{self.total:,}", 100 * done // self.total, f"{rate:,.0f}",
                 left // 60, left % 60)  # fmt: skip
