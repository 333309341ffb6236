"""The reference exchange's clock and event output: every event is written here.

``EventLog`` holds the exchange clock (``ts``), the trade id counter and the list of events
of the command being processed, and knows how to write each event type that more than one
command produces (rejections, cancels, modifies, trades).

Invariants:

- Every event carries the clock as it is when the event is written; only
  ``ReferenceExchange.apply`` sets the clock, to the ``ts`` of a command that has a valid
  one (it is not required to increase).
- ``begin`` starts a fresh list for each command, so a list handed back by ``apply`` is
  never touched again.
- ``next_trade_id`` counts trades over the whole exchange, starting at 1, and goes up by
  exactly one per ``trade`` event.
- The instruments mapping is the exchange's own (shared, not copied) and is only read, to
  turn ticks and lots into decimal strings.
- ``modified`` reports an order's whole open quantity (an iceberg's visible slice plus its
  hidden part), then ``reason`` and ``refill`` only when given; ``trade`` ends with
  ``maker_refill`` only when the trade used up an iceberg slice and a new one was shown, or
  with ``"auction": true`` for a fill of a call auction's uncross (at the auction price, which
  need not be the maker's; such a fill never refills).
  ``cancelled`` writes the ``remaining`` its caller gives (the whole open quantity, except
  for an STP decrement to zero, which reports what was taken off).
- ``indicative`` writes a call's indicative uncross: price null and volume and surplus ``"0"``
  when nothing would trade; the surplus is signed (buy minus sell).
- ``triggered`` writes a stop's level exactly: a whole number of ticks as every price is;
  a fractional one (possible only after a tick redefinition) as its exact decimal.

Only the standard library is used.
"""

from __future__ import annotations

from collections.abc import Mapping
from fractions import Fraction
from typing import Any

from .decimals import format_scaled, round_half_even
from .fields import is_id
from .model import Event, Indicative, Instrument, Order

__all__ = ["EventLog"]


class EventLog:
    """The clock, the trade ids and the events of the current command."""

    def __init__(self, instruments: Mapping[str, Instrument]) -> None:
        self.ts = 0
        self.next_trade_id = 1
        self.out: list[Event] = []
        self._instruments = instruments

    def begin(self) -> list[Event]:
        """Start the events of a new command; return the (empty) list they will go to."""
        self.out = []
        return self.out

    def append(self, event: Event) -> None:
        self.out.append(event)

    def reject(self, cmd: dict[str, Any], reason: str, message: str) -> None:
        """A rejection that echoes whichever of user, id, symbol and cmd are well-typed."""
        ev: Event = {"type": "rejected", "ts": self.ts}
        if isinstance(cmd.get("user"), str):
            ev["user"] = cmd["user"]
        if is_id(cmd.get("id")):
            ev["id"] = cmd["id"]
        if isinstance(cmd.get("symbol"), str):
            ev["symbol"] = cmd["symbol"]
        if isinstance(cmd.get("cmd"), str):
            ev["cmd"] = cmd["cmd"]
        ev["reason"] = reason
        ev["message"] = message
        self.out.append(ev)

    def cancelled(self, order: Order, reason: str, remaining: int) -> None:
        inst = self._instruments[order.symbol]
        self.out.append(
            {
                "type": "cancelled",
                "ts": self.ts,
                "user": order.user,
                "id": order.id,
                "symbol": order.symbol,
                "order_id": order.order_id,
                "reason": reason,
                "remaining": inst.qty_str(remaining),
            }
        )

    def modified(self, order: Order, reason: str | None, refill: int | None = None,
                 auction: bool = False) -> None:
        inst = self._instruments[order.symbol]
        ev: Event = {
            "type": "modified",
            "ts": self.ts,
            "user": order.user,
            "id": order.id,
            "symbol": order.symbol,
            "order_id": order.order_id,
            "price": None if order.price is None else inst.price_str(order.price),
            "qty": inst.qty_str(order.total()),
        }
        if reason is not None:
            ev["reason"] = reason
        if refill is not None:
            ev["refill"] = inst.qty_str(refill)
        if auction:
            ev["auction"] = True  # an STP decrement in an uncross
        self.out.append(ev)

    def trade(
        self, maker: Order, taker: Order, qty: int, maker_refill: int | None = None,
        auction: int | None = None,
    ) -> None:
        """A fill at the maker's price, or, with ``auction`` (a price in ticks), a fill of a call
        auction's uncross at that price (then ``"auction": true`` is the last key)."""
        inst = self._instruments[maker.symbol]
        price = maker.price if auction is None else auction
        assert price is not None
        ev: Event = {
            "type": "trade",
            "ts": self.ts,
            "symbol": maker.symbol,
            "trade_id": self.next_trade_id,
            "price": inst.price_str(price),
            "qty": inst.qty_str(qty),
            "side": taker.side,
            "maker": {"user": maker.user, "id": maker.id, "order_id": maker.order_id},
            "taker": {"user": taker.user, "id": taker.id, "order_id": taker.order_id},
        }
        if maker_refill is not None:
            ev["maker_refill"] = inst.qty_str(maker_refill)
        if auction is not None:
            ev["auction"] = True
        self.out.append(ev)
        self.next_trade_id += 1

    def indicative(self, symbol: str, value: Indicative) -> None:
        """A call's indicative uncross (price None: nothing would trade)."""
        inst = self._instruments[symbol]
        price, volume, surplus = value
        self.out.append(
            {
                "type": "indicative",
                "ts": self.ts,
                "symbol": symbol,
                "price": None if price is None else inst.price_str(price),
                "volume": inst.qty_str(volume),
                "surplus": inst.qty_str(surplus),
            }
        )

    def rested(self, order: Order) -> None:
        """``order`` just joined the back of its level: the last event says so (``rests``)."""
        inst = self._instruments[order.symbol]
        assert order.price is not None
        rest = {"order_id": order.order_id, "side": order.side, "price": inst.price_str(order.price),
                "qty": inst.qty_str(order.open)}
        self.out[-1].setdefault("rests", []).append(rest)

    def triggered(self, order: Order, level: int | Fraction) -> None:
        """A stop was released: its level when it fired."""
        inst = self._instruments[order.symbol]
        if isinstance(level, int) or level.denominator == 1:
            level_str = inst.price_str(int(level))
        else:
            value = level * Fraction(inst.tick)
            places = next((k for k in range(64) if (value * 10**k).denominator == 1), 64)
            scaled = value * 10**places
            exact = scaled.denominator == 1
            level_str = format_scaled(int(scaled), -places) if exact else round_half_even(value, 64)
        self.out.append(
            {
                "type": "triggered",
                "ts": self.ts,
                "user": order.user,
                "id": order.id,
                "symbol": order.symbol,
                "order_id": order.order_id,
                "trigger_price": level_str,
            }
        )
