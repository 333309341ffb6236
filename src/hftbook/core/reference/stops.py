"""Waiting stop orders and the per-symbol last trade price, naively (contract rules 9-11).

``StopBook`` keeps every accepted, not yet released stop of every symbol in one plain list,
and the last trade price of every symbol that has traded. Matching calls ``on_print`` after
each single trade; it walks every waiting stop of that symbol, in list order, moves a
trailing stop's reference, recomputes its level from scratch and checks its condition.

Invariants:

- ``waiting`` holds exactly the live, unreleased stops (an activated stop-loss among them);
  each one's ``order`` has ``price is None`` and its whole quantity open (the submitted qty;
  a stop-loss's activated qty, raised by any growth). None of them is in the book. A bracket
  stop-loss's ``Stop`` is added here only when it is activated.
- A stop's level is ``trigger`` for ``stop`` / ``stop_limit``. For a trailing stop it is a
  pure function of its ``reference`` (None until the symbol has printed: then no level):
  reference -/+ ``trail_amount`` (sell/buy), or reference x (1 -/+ ``trail_pct``/100)
  rounded down (sell) / up (buy) to a whole tick.
- A sell trailing stop's reference only goes up, a buy one's only down, and only at a
  print on its own symbol; ``fired`` is set once (to the level at that print) and never
  changes afterwards: a triggered stop stays triggered and its level is frozen.
- ``last`` is in ticks of the symbol's current tick size: ``rescale`` forgets it when the
  symbol's tick is redefined, so it is always a whole number of ticks.
- ``pop_fired`` hands out the triggered stop with the lowest ``order_id`` among those whose
  symbol is not halted, and forgets it; a triggered stop of a halted symbol keeps waiting
  (triggered, its level frozen) until the symbol resumes.

Only the standard library is used.
"""

from __future__ import annotations

import math
from collections.abc import Collection
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

from .model import Order

__all__ = ["Price", "Stop", "StopBook", "limit_when_released", "stop_level"]

# A price in ticks. Integral in practice (a new tick forgets the last trade price, and the
# trailing levels are rounded to whole ticks); typed wide so the level arithmetic may be exact.
Price = int | Fraction

# trail_pct values this small move the level by less than one tick at any price a 64-bit
# tick count can hold; using this stand-in keeps the exact arithmetic small.
_TINY_PCT = Fraction(1, 10**30)


@dataclass
class Stop:
    """An accepted stop: the order it becomes on release, and how it is triggered."""

    order: Order  # user, id, symbol, side, qty, tif, expiry, post-only, stp, order_id
    kind: str  # stop, stop_limit, trailing_stop, trailing_stop_limit
    trigger: int | None = None  # stop, stop_limit
    limit: int | None = None  # stop_limit: its limit price
    trail_amount: int | None = None  # trailing: exactly one of amount and pct
    trail_pct: Decimal | None = None
    limit_offset: int | None = None  # trailing_stop_limit
    reference: Price | None = None  # trailing: the extreme print since acceptance
    fired: Price | None = None  # the level at the print that triggered it


def stop_level(stop: Stop) -> Price | None:
    """The price at which the stop triggers now, or None (a trailing stop, no print yet)."""
    if stop.trigger is not None:
        return stop.trigger
    ref = stop.reference
    if ref is None:
        return None
    sell = stop.order.side == "sell"
    if stop.trail_amount is not None:
        return ref - stop.trail_amount if sell else ref + stop.trail_amount
    assert stop.trail_pct is not None
    pct = max(Fraction(stop.trail_pct), _TINY_PCT)
    if sell:
        return math.floor(Fraction(ref) * (1 - pct / 100))
    return math.ceil(Fraction(ref) * (1 + pct / 100))


def limit_when_released(stop: Stop) -> int | None:
    """The limit price the stop becomes on release (None: it becomes a market order)."""
    if stop.kind == "stop_limit":
        return stop.limit
    if stop.kind != "trailing_stop_limit":
        return None
    assert stop.fired is not None and stop.limit_offset is not None
    if stop.order.side == "sell":
        return max(1, math.floor(stop.fired - stop.limit_offset))
    return max(1, math.ceil(stop.fired + stop.limit_offset))


def _holds(side: str, print_price: Price, level: Price) -> bool:
    return print_price >= level if side == "buy" else print_price <= level


class StopBook:
    """Every waiting stop of every symbol, and every symbol's last trade price."""

    def __init__(self) -> None:
        self.waiting: list[Stop] = []  # in no meaningful order
        self.last: dict[str, Price] = {}  # symbol -> last trade price, in ticks

    # -- arrival ------------------------------------------------------------------------

    def would_trigger(self, symbol: str, side: str, trigger: int) -> bool:
        """Whether a ``stop`` / ``stop_limit`` at ``trigger`` already holds on arrival."""
        last = self.last.get(symbol)
        return last is not None and _holds(side, last, trigger)

    def add(self, stop: Stop) -> None:
        """A newly accepted stop starts waiting; a trailing one takes the last print."""
        if stop.kind in ("trailing_stop", "trailing_stop_limit"):
            stop.reference = self.last.get(stop.order.symbol)
        self.waiting.append(stop)

    # -- trade prints -------------------------------------------------------------------

    def on_print(self, symbol: str, price: int) -> None:
        """One trade printed on ``symbol`` at ``price`` ticks: move the references of that
        symbol's trailing stops, then mark every stop whose condition now holds."""
        self.last[symbol] = price
        for stop in self.waiting:
            if stop.order.symbol != symbol or stop.fired is not None:
                continue
            if stop.trigger is None:  # trailing
                ref = stop.reference
                if ref is None:
                    stop.reference = price
                elif stop.order.side == "sell":
                    stop.reference = max(ref, price)
                else:
                    stop.reference = min(ref, price)
            level = stop_level(stop)
            if level is not None and _holds(stop.order.side, price, level):
                stop.fired = level

    def pop_fired(self, halted: Collection[str]) -> Stop | None:
        """The triggered stop accepted first among those not on a ``halted`` symbol, taken out of
        the waiting list; or None."""
        fired = [s for s in self.waiting if s.fired is not None and s.order.symbol not in halted]
        if not fired:
            return None
        first = min(fired, key=lambda s: s.order.order_id)
        self.waiting = [s for s in self.waiting if s is not first]
        return first

    # -- live-order questions (the book answers the same ones for resting orders) --------

    def orders(self) -> list[Order]:
        """The orders of every waiting stop, in no meaningful order."""
        return [s.order for s in self.waiting]

    def remove(self, order: Order) -> None:
        """Forget the waiting stop of ``order`` (nothing happens if it has none)."""
        self.waiting = [s for s in self.waiting if s.order is not order]

    def find_live(self, user: str, oid: str | int) -> Order | None:
        for s in self.waiting:
            o = s.order
            if o.user == user and type(o.id) is type(oid) and o.id == oid:
                return o
        return None

    def rescale(self, symbol: str, old_tick: Decimal, new_tick: Decimal) -> None:
        """The symbol's tick changed (no stop can be waiting on it): per the protocol a new tick
        forgets the last trade price, so the symbol is as before its first trade."""
        if old_tick != new_tick:
            self.last.pop(symbol, None)
