"""Drive the microstructure analytics (`hftbook.analytics.BookSignals`) from the feed.

`SignalsDriver` takes a symbol's `l2` and `trades` messages in publication order: level
updates are gathered until the one flagged last in its batch and then applied as one book
event (`on_levels`), so the event-sampled signals see each batch's result, never a
half-applied book; trades go to `on_trade`. Other channels and symbols are ignored.

Invariant: after the last message of a batch, the signals' book equals the feed's visible
book for the symbol (the analytics property tests compare them with a from-scratch
recomputation).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from hftbook.analytics import BookSignals


class SignalsDriver:
    __slots__ = ("_changes", "signals", "symbol")

    def __init__(self, symbol: str, signals: BookSignals) -> None:
        self.symbol = symbol
        self.signals = signals
        self._changes: list[tuple[int, int, int]] = []

    def on_messages(self, msgs: Iterable[tuple[Any, ...]]) -> None:
        symbol = self.symbol
        changes = self._changes
        sig = self.signals
        for m in msgs:
            if m[1] != symbol:
                continue
            channel = m[0]
            if channel == "l2":
                changes.append((m[5], m[6], m[7]))
                if m[9]:
                    sig.on_levels(changes, m[3])
                    changes.clear()
            elif channel == "trades" and m[4] == "trade":
                sig.on_trade(m[6], m[7], m[8], m[3])
