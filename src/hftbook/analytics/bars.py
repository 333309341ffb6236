"""OHLCV bars of trades over fixed intervals of the input clock.

Bar k covers ts in [k * interval, (k + 1) * interval): bars are aligned to multiples of the
interval from ts = 0, so the same trades always give the same bars whatever the first ts.
A bar opens with the first trade of its interval and closes as soon as the clock reaches its
end, start + interval (the tracker calls `close_bar` then), whether a trade, a book update
or a bare `on_time` moved the clock. An interval without trades gives no bar (no flat bars
are invented: the consumer sees the gap in `start`).

Invariants: `closed` holds the last `keep` closed bars, oldest first, in increasing `start`;
the open bar (if any) starts after every closed one; in each bar low <= open, close <= high,
volume >= trades >= 1 and notional == sum(price * qty) over its trades.
"""

from __future__ import annotations

from collections import deque
from typing import NamedTuple


class Bar(NamedTuple):
    """One interval's trades: prices in ticks, volume in lots, notional in ticks * lots."""

    start: int
    open: int
    high: int
    low: int
    close: int
    volume: int
    notional: int
    trades: int


class BarBuilder:
    __slots__ = ("close", "closed", "end", "high", "interval", "low", "notional", "open", "start",
                 "trades", "volume")

    def __init__(self, interval: int, keep: int) -> None:
        self.interval = interval
        self.closed: deque[Bar] = deque(maxlen=keep)
        self.trades = 0  # 0: no open bar
        self.start = self.end = 0
        self.open = self.high = self.low = self.close = self.volume = self.notional = 0

    def close_bar(self) -> None:
        """Close the open bar (the caller saw the clock reach `end`)."""
        self.closed.append(self._bar())
        self.trades = 0

    def trade(self, price: int, qty: int, ts: int) -> None:
        """Add a trade at the current clock `ts` (the caller advanced the clock first)."""
        if self.trades:
            if price > self.high:
                self.high = price
            elif price < self.low:
                self.low = price
            self.close = price
            self.volume += qty
            self.notional += price * qty
            self.trades += 1
            return
        self.start = ts - ts % self.interval
        self.end = self.start + self.interval
        self.open = self.high = self.low = self.close = price
        self.volume = qty
        self.notional = price * qty
        self.trades = 1

    def current(self) -> Bar | None:
        """The open bar so far, or None."""
        return self._bar() if self.trades else None

    def _bar(self) -> Bar:
        return Bar(self.start, self.open, self.high, self.low, self.close, self.volume, self.notional,
                   self.trades)
