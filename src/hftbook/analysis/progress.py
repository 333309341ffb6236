"""A progress bar on stderr, by bytes read (written here: a few lines, no dependency).

On a terminal it redraws one line in place (`\\r`), at most ten times a second; elsewhere (a
log file, when forced with `--progress`) it writes a plain line at each tenth of the work, so
a log stays readable. `close` clears the terminal line, so what follows (warnings, the table
on stdout when both go to the terminal) starts on a clean line.

It reads the monotonic clock only to pace the redraws: what it shows never reaches stdout,
so the analysis output stays a pure function of the input.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TextIO

WIDTH = 28  # characters of bar
PERIOD = 0.1  # seconds between redraws on a terminal


def _mb(n: int) -> str:
    return f"{n / 1e6:,.1f} MB"


class Progress:
    __slots__ = ("_clock", "_drawn", "_label", "_last", "_step", "_stream", "_total", "_tty")

    def __init__(self, stream: TextIO, tty: bool, clock: Callable[[], float] = time.monotonic) -> None:
        self._stream = stream
        self._tty = tty
        self._clock = clock
        self._label = ""
        self._total = 0
        self._last = -PERIOD  # clock at the last redraw
        self._step = -1  # tenths written so far (not a terminal)
        self._drawn = False  # a terminal line is showing

    def start(self, label: str, total: int) -> None:
        """A new phase of `total` bytes."""
        self._label = label
        self._total = total
        self._step = -1
        self._last = -PERIOD
        self.update(0)

    def update(self, done: int) -> None:
        total = self._total
        frac = min(1.0, done / total) if total > 0 else 1.0
        if self._tty:
            now = self._clock()
            if now - self._last < PERIOD and done < total:
                return
            self._last = now
            filled = int(frac * WIDTH)
            bar = "#" * filled + "." * (WIDTH - filled)
            self._stream.write(f"\r{self._label:<10} [{bar}] {frac:4.0%}  {_mb(done)} of {_mb(total)}\x1b[K")
            self._drawn = True
        else:
            step = int(frac * 10)
            if step <= self._step:
                return
            self._step = step
            self._stream.write(f"{self._label}: {step * 10}% ({_mb(done)} of {_mb(total)})\n")
        self._stream.flush()

    def note(self, text: str) -> None:
        """A phase without a measure (drawing the charts)."""
        if self._tty:
            self._stream.write(f"\r{text}\x1b[K")
            self._drawn = True
        else:
            self._stream.write(text + "\n")
        self._stream.flush()

    def close(self) -> None:
        if self._tty and self._drawn:
            self._stream.write("\r\x1b[K")
            self._stream.flush()
            self._drawn = False
