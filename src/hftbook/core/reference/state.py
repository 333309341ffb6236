"""The reference exchange's whole mutable state, shared by its command handlers.

``ReferenceState`` bundles the instruments, the naive book, the waiting stops (with the
last trade prices), the contingent links (with the dormant bracket children), the market
orders held by a call auction, the users' risk
state (limits, token ledgers, kill switches), the event log (which holds the clock) and the
order id counter, every trade print of each symbol (the circuit breaker's tape), with the few
steps that touch several of them at once.

Invariants:

- ``events`` reads the very ``instruments`` dict held here (one dict, never replaced).
- ``next_order_id`` counts accepted orders only, starting at 1; a rejected command never
  takes an id.
- The live orders are the resting ones (``book``), the waiting stops (``stops``), the
  dormant bracket children (``links.dormant``) and the market orders held by a call
  (``held``: collected in a halt, waiting for the uncross at the resume; only while their
  symbol is halted); no order is in two of them. Every question about live orders here
  (``find_live``, ``is_live``, expiry, ``end_of_day``, ``cancel_all``, busy symbols) asks all
  four and merges the answers.
- ``cancel_each`` removes each order from the book, the stops, the dormant children or the
  held orders before writing its ``cancelled`` event, in the order given, reporting its whole
  open quantity (for an iceberg, its visible slice plus its hidden part; for a dormant child,
  its current qty; for a held market order, its qty).
  It writes events only: what a cancel does to the order's links is ``settle``'s.
- ``users`` has an entry only for a user who was sent a successful ``limits`` or
  ``kill_switch`` command; a user without one has no limits and is not killed.
- ``match`` is the only way in to ``matching.match``: every trade print is appended to
  ``prints`` and reaches ``StopBook.on_print`` at once, before the next maker is looked at
  (``record_print``, which the call auction's uncross uses for its prints too).
- ``prints`` holds the trades of each symbol as (ts, price in ticks), in the order printed,
  never trimmed by age (the circuit breaker reads its window off it, from scratch); an
  ``instrument`` command that sets the breaker where there was none, removes it or changes
  the tick size forgets the symbol's list (``session_commands``), so while a breaker is set
  it holds exactly the trades since it was set.

Only the standard library is used.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from .book import NaiveBook
from .events import EventLog
from .fields import symbol_field
from .links import Links
from .matching import match
from .model import Instrument, Order, UserRisk
from .stops import StopBook

__all__ = ["ReferenceState"]


def _find_held(held: list[Order], user: str, oid: str | int) -> Order | None:
    for o in held:
        if o.user == user and type(o.id) is type(oid) and o.id == oid:
            return o
    return None


@dataclass
class ReferenceState:
    """Instruments, resting orders, clock and events, and the order id counter."""

    instruments: dict[str, Instrument] = field(default_factory=dict)
    book: NaiveBook = field(default_factory=NaiveBook)
    stops: StopBook = field(default_factory=StopBook)
    links: Links = field(default_factory=Links)
    users: dict[str, UserRisk] = field(default_factory=dict)
    prints: dict[str, list[tuple[int, int]]] = field(default_factory=dict)  # symbol -> (ts, ticks)
    held: list[Order] = field(default_factory=list)  # market orders held by a call, by order_id
    events: EventLog = field(init=False)
    next_order_id: int = 1

    def __post_init__(self) -> None:
        self.events = EventLog(self.instruments)

    def take_order_id(self) -> int:
        order_id = self.next_order_id
        self.next_order_id += 1
        return order_id

    def match(self, taker: Order) -> bool:
        """``matching.match`` with every print recorded and reported to the waiting stops."""

        return match(self.book, self.events, taker, self.record_print)

    def record_print(self, symbol: str, price: int) -> None:
        """One trade printed: the circuit breaker's tape and the waiting stops see it."""
        self.prints.setdefault(symbol, []).append((self.events.ts, price))
        self.stops.on_print(symbol, price)

    def halted_symbols(self) -> set[str]:
        return {symbol for symbol, inst in self.instruments.items() if inst.halted}

    # -- live orders: resting ones, waiting stops and dormant children ---------------------

    def live_orders(self) -> list[Order]:
        """Every live order, resting, waiting or dormant, by order_id."""
        every = self.book.live + self.stops.orders() + self.links.dormant + self.held
        return sorted(every, key=lambda o: o.order_id)

    def find_live(self, user: str, oid: str | int) -> Order | None:
        found = self.book.find_live(user, oid)
        if found is None:
            found = self.stops.find_live(user, oid)
        if found is None:
            found = self.links.find_dormant(user, oid)
        if found is None:
            found = _find_held(self.held, user, oid)
        return found

    def is_live(self, order: Order) -> bool:
        return any(o is order for o in self.live_orders())

    def has_live_orders(self, symbol: str) -> bool:
        return any(o.symbol == symbol for o in self.live_orders())

    def orders_of(self, user: str, symbol: str | None) -> list[Order]:
        """The user's live orders (on ``symbol``, or everywhere if None), by order_id."""
        return [
            o
            for o in self.live_orders()
            if o.user == user and (symbol is None or o.symbol == symbol)
        ]

    def day_orders(self) -> list[Order]:
        return [o for o in self.live_orders() if o.tif == "day"]

    def cancel_each(self, orders: Iterable[Order], reason: str) -> None:
        """Take each order out of the book (or the stops, the dormant children or the held
        orders) and report it cancelled."""
        for o in orders:
            self.remove(o)
            self.events.cancelled(o, reason, o.total())

    def remove(self, order: Order) -> None:
        """``order`` is no longer live: out of wherever it was (writes no event)."""
        self.book.remove(order)
        self.stops.remove(order)
        self.links.wake(order)
        self.held = [o for o in self.held if o is not order]

    def expire_gtd(self) -> None:
        """Cancel (reason ``expired``) every GTD order whose expiry the clock has reached,
        by (expire_ts, order_id)."""
        ts = self.events.ts
        due = [
            o
            for o in self.live_orders()
            if o.tif == "gtd" and o.expire_ts is not None and o.expire_ts <= ts
        ]
        due.sort(key=lambda o: (o.expire_ts, o.order_id))
        self.cancel_each(due, "expired")

    def known_instrument(self, cmd: dict[str, Any]) -> Instrument | None:
        """The command's instrument, or None after rejecting it ``unknown_symbol``.

        Raises ``Malformed`` if the symbol is not a string.
        """
        symbol = symbol_field(cmd)
        inst = self.instruments.get(symbol)
        if inst is None:
            self.events.reject(cmd, "unknown_symbol", "unknown symbol")
        return inst
