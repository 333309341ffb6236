"""What an incoming order does once it may start: a new order just accepted, a stop just
released (contract rule 11), an ``oco`` part being placed or an activated take-profit. All go
through the same steps, so they behave the same.

An incoming order first passes two gates (``refusal``): a market order needs something on
the other side (``no_liquidity``), a post-only order must not trade (``post_only``). A new
order that fails a gate is rejected; a released stop or an activated take-profit is
cancelled with that reason. Then ``execute`` fixes the circuit breaker's band, runs the FOK
dry run, matches, and decides what happens to the remainder. (The release of triggered
stops, which interleaves with the settling of contingent effects, is
``settle.settle_and_release``.)

Invariants:

- ``refusal`` and the dry runs change nothing; ``execute`` writes every event of the
  order's own matching and either rests the remainder (a GTC/GTD/DAY limit order, at the
  back of its level; an iceberg shows a slice of it and hides the rest) or cancels it:
  ``no_liquidity`` or ``market_protection`` for a market order, ``ioc`` for IOC.
- A market order's protection (``risk.protection_bound``) is fixed once, when ``execute``
  starts, before the FOK dry run, so the dry run and the matching reach the same makers; its
  remainder is cancelled ``no_liquidity`` if nothing is left against it, else
  ``market_protection`` (only the protection can stop it with makers left).
- An incoming iceberg (never IOC or FOK) goes through the post-only check and matching
  with its whole quantity, like any limit order; only what rests is cut into slices.
- ``execute`` is a matching step of the circuit breaker (``breaker``): the band (None when the
  breaker is off or not armed) is fixed when it starts, right after the protection and before
  the FOK dry run, which then counts only makers inside it; the ``refusal`` gates come before
  the step and ignore the band. A step the band stopped ends in a volatility halt and the
  remainder is cancelled ``volatility`` (``breaker.stopped_by_band``), whatever the order's
  type and tif.

Only the standard library is used.
"""

from __future__ import annotations

from .breaker import band_at, stopped_by_band
from .matching import fok_would_fill, post_only_would_trade
from .model import Order
from .risk import protection_bound
from .state import ReferenceState

__all__ = ["execute", "refusal"]


def refusal(state: ReferenceState, order: Order) -> str | None:
    """Why ``order`` cannot start (``no_liquidity`` or ``post_only``), or None."""
    if order.price is None and not state.book.has_orders_against(order.symbol, order.side):
        return "no_liquidity"
    if order.post_only and post_only_would_trade(state.book, order):
        return "post_only"
    return None


def execute(state: ReferenceState, order: Order) -> None:
    """Band, FOK check, matching, then rest or cancel the remainder (or halt the symbol)."""
    events = state.events
    order.bound = protection_bound(state, order)  # None unless a protected market order
    order.band = band_at(state, order.symbol)  # None unless the circuit breaker is armed
    if order.tif == "fok" and not fok_would_fill(state.book, order):
        order.band = None
        events.cancelled(order, "fok", order.open)
        return
    alive = state.match(order)
    if stopped_by_band(state, order, alive):
        return
    if not alive or order.open == 0:
        return
    if order.price is None:
        empty = not state.book.has_orders_against(order.symbol, order.side)
        events.cancelled(order, "no_liquidity" if empty else "market_protection", order.open)
    elif order.tif == "ioc":
        events.cancelled(order, "ioc", order.open)
    elif order.tif == "fok":  # cannot happen after a passed dry run; kept for safety
        events.cancelled(order, "fok", order.open)
    else:
        state.book.rest(order)
        events.rested(order)

