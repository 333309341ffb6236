"""What an incoming order does once it may start: a new order just accepted, or a stop just
released (contract rule 11). Both go through the same steps, so they behave the same.

An incoming order first passes two gates (``refusal``): a market order needs something on
the other side (``no_liquidity``), a post-only order must not trade (``post_only``). A new
order that fails a gate is rejected; a released stop is cancelled with that reason. Then
``execute`` runs the FOK dry run, matches, and decides what happens to the remainder.

Invariants:

- ``refusal`` and the dry runs change nothing; ``execute`` writes every event of the
  order's own matching and either rests the remainder (a GTC/GTD/DAY limit order, at the
  back of its level; an iceberg shows a slice of it and hides the rest) or cancels it:
  ``no_liquidity`` for a market order, ``ioc`` for IOC.
- An incoming iceberg (never IOC or FOK) goes through the post-only check and matching
  with its whole quantity, like any limit order; only what rests is cut into slices.
- ``release_triggered`` releases one stop at a time, always the triggered one with the
  lowest ``order_id`` (stops triggered by a released stop's own trades included), and
  returns only when no triggered stop is left. Each release writes ``triggered`` first.
- A released stop keeps its ``order_id``, ``user``, ``id``, tif, expiry, post-only and STP;
  it becomes a market order (``stop``, ``trailing_stop``) or a limit order (the others).

Only the standard library is used.
"""

from __future__ import annotations

from .matching import fok_would_fill, post_only_would_trade
from .model import Order
from .state import ReferenceState
from .stops import limit_when_released

__all__ = ["execute", "refusal", "release_triggered"]


def refusal(state: ReferenceState, order: Order) -> str | None:
    """Why ``order`` cannot start (``no_liquidity`` or ``post_only``), or None."""
    if order.price is None and not state.book.has_orders_against(order.symbol, order.side):
        return "no_liquidity"
    if order.post_only and post_only_would_trade(state.book, order):
        return "post_only"
    return None


def execute(state: ReferenceState, order: Order) -> None:
    """FOK check, matching, then rest or cancel the remainder."""
    events = state.events
    if order.tif == "fok" and not fok_would_fill(state.book, order):
        events.cancelled(order, "fok", order.open)
        return
    alive = state.match(order)
    if not alive or order.open == 0:
        return
    if order.price is None:
        events.cancelled(order, "no_liquidity", order.open)
    elif order.tif == "ioc":
        events.cancelled(order, "ioc", order.open)
    elif order.tif == "fok":  # cannot happen after a passed dry run; kept for safety
        events.cancelled(order, "fok", order.open)
    else:
        state.book.rest(order)


def release_triggered(state: ReferenceState) -> None:
    """Release every triggered stop, earliest accepted first, until none is left."""
    while (stop := state.stops.pop_fired()) is not None:
        order = stop.order
        assert stop.fired is not None
        state.events.triggered(order, stop.fired)
        order.price = limit_when_released(stop)
        order.order_type = "market" if order.price is None else "limit"
        reason = refusal(state, order)
        if reason is not None:
            state.events.cancelled(order, reason, order.open)
            continue
        execute(state, order)
