"""The reference exchange's whole mutable state, shared by its command handlers.

``ReferenceState`` bundles the instruments, the naive book, the event log (which holds the
clock) and the order id counter, with the few steps that touch several of them at once.

Invariants:

- ``events`` reads the very ``instruments`` dict held here (one dict, never replaced).
- ``next_order_id`` counts accepted orders only, starting at 1; a rejected command never
  takes an id.
- ``cancel_each`` removes each order from the book before writing its ``cancelled`` event,
  in the order given, reporting its whole open quantity.

Only the standard library is used.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from .book import NaiveBook
from .events import EventLog
from .fields import symbol_field
from .model import Instrument, Order

__all__ = ["ReferenceState"]


@dataclass
class ReferenceState:
    """Instruments, resting orders, clock and events, and the order id counter."""

    instruments: dict[str, Instrument] = field(default_factory=dict)
    book: NaiveBook = field(default_factory=NaiveBook)
    events: EventLog = field(init=False)
    next_order_id: int = 1

    def __post_init__(self) -> None:
        self.events = EventLog(self.instruments)

    def take_order_id(self) -> int:
        order_id = self.next_order_id
        self.next_order_id += 1
        return order_id

    def cancel_each(self, orders: Iterable[Order], reason: str) -> None:
        """Take each order out of the book and report it cancelled with ``reason``."""
        for o in orders:
            self.book.remove(o)
            self.events.cancelled(o, reason, o.open)

    def expire_gtd(self) -> None:
        """Cancel (reason ``expired``) every GTD order whose expiry the clock has reached."""
        self.cancel_each(self.book.gtd_expiring(self.events.ts), "expired")

    def known_instrument(self, cmd: dict[str, Any]) -> Instrument | None:
        """The command's instrument, or None after rejecting it ``unknown_symbol``.

        Raises ``Malformed`` if the symbol is not a string.
        """
        symbol = symbol_field(cmd)
        inst = self.instruments.get(symbol)
        if inst is None:
            self.events.reject(cmd, "unknown_symbol", "unknown symbol")
        return inst
