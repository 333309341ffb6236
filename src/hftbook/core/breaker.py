"""The circuit breaker: a rolling window of a symbol's trades, a band around their mean
price, and the volatility halt when a matching step would print outside it.

docs/PROTOCOL.md ("Circuit breaker: volatility halts") fixes the rules. The book keeps the
window (`Window`: every trade of the symbol, oldest first, with the running sum of prices)
and its settings (`BreakerSpec`); `OrderBook.match` asks `band_key` for the band as a limit
key before a step, and records the step's trades after it.

Invariants: `Window.sum` is the sum of the prices held; the window only ever drops its
oldest trades (by ts) and gains new ones at the back, so it is a deque in ts order; the
band is computed from the trades before a step only (fixed for the step); all arithmetic is
on integers (ticks; the percentage as an integer fraction), so the band is exact.
"""

from __future__ import annotations

from collections import deque
from fractions import Fraction
from typing import Any

from hftbook.core.types import BUY


class BreakerSpec:
    """One symbol's breaker settings."""

    __slots__ = ("den", "halt_ns", "min_trades", "num", "pct", "window_ns", "wire")

    def __init__(self, pct: Fraction, window_ns: int, halt_ns: int, min_trades: int,
                 wire: dict[str, Any]) -> None:
        self.pct = pct
        self.num = pct.numerator  # plain ints: Fraction's terms are properties
        self.den = pct.denominator
        self.window_ns = window_ns
        self.halt_ns = halt_ns
        self.min_trades = min_trades
        self.wire = wire  # as given, canonical, for snapshots


class Window:
    """A symbol's recent trades: (ts, price), oldest first."""

    __slots__ = ("sum", "trades")

    def __init__(self) -> None:
        self.trades: deque[tuple[int, int]] = deque()
        self.sum = 0

    def expire(self, now: int, window_ns: int) -> None:
        """Drop the trades at or before `now - window_ns`."""
        trades = self.trades
        edge = now - window_ns
        while trades and trades[0][0] <= edge:
            self.sum -= trades.popleft()[1]

    def add(self, ts: int, price: int) -> None:
        self.trades.append((ts, price))
        self.sum += price


NO_TRADE = 1 << 64  # a limit key above every real key: nothing crosses it


def band_key(spec: BreakerSpec, window: Window, side: int, now: int, best: int | None) -> int | None:
    """The band as a limit key for a taker on `side` whose opposite side's best key is
    `best` (see book.py: the taker may trade with keys >= the limit key), or None while the
    breaker is not armed. The taker walks the opposite side from its best price outwards,
    so the band cuts the far end with its limit and, if the best price itself is outside
    the band on the near side (a bid above it for a seller, an ask below it for a buyer),
    nothing may trade: `NO_TRADE`."""
    window.expire(now, spec.window_ns)
    n = len(window.trades)
    if n < spec.min_trades:
        return None
    s = window.sum
    scale = 100 * spec.den * n
    upper = (s * (100 * spec.den + spec.num)) // scale  # floor(mean x (1 + pct/100))
    lower = max(1, -((-s * (100 * spec.den - spec.num)) // scale))  # ceil(mean x (1 - pct/100))
    if side == BUY:  # asks, key -price, walked from the lowest price up
        if best is not None and -best < lower:
            return NO_TRADE
        return -upper
    if best is not None and best > upper:  # bids, key price, walked from the highest down
        return NO_TRADE
    return lower
