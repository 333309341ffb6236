"""The order commands of the reference exchange on live orders: ``cancel``, ``modify`` and
``cancel_all`` (``new`` has a module of its own, ``new_order``).

Each handler takes the exchange state and one command (a dict whose ``ts`` has already been
applied), raises ``Malformed`` for a field of the wrong type, writes a rejection for any
other refusal, and otherwise writes its events in the order the protocol gives.

Invariants:

- Every rejection (and every ``Malformed``) leaves the state exactly as it was: nothing is
  changed before the last check has passed.
- ``modify`` checks, in order: fields (``bad_command``) -> ``unknown_order`` -> ``bad_price``,
  ``bad_qty`` -> ``halted`` -> the risk step (``risk.check_modify``: ``user_killed``, then the
  qty limits, the collar and the notional of the order it would leave: the given price and
  qty, or its own where the modify gives none) -> ``post_only``. It takes no rate-limit
  token and never counts toward ``max_open_orders``.
- ``cancel`` and ``cancel_all`` reach every live order: resting ones, waiting stops and
  dormant bracket children. ``modify`` reaches resting orders only: a waiting stop or a
  dormant child is ``unknown_order`` to it, before its price and qty are looked at.
- They write their own events only; what a cancel or a crossing modify causes to linked
  orders (the OCO rule, a bracket's activation) is settled after the command (``settle``).
- A modify's ``qty`` is the whole open quantity (an iceberg's visible slice plus its hidden
  part). One that keeps the price and does not raise the quantity keeps the order's time
  priority (an iceberg loses hidden quantity first, then visible); any other modify takes
  it out, matches it as a taker with its whole quantity and rests what is left at the back
  of its level (an iceberg as a fresh first slice). The iceberg's generator carries on.
- ``cancel_all`` cancels in ``order_id`` order, resting orders, waiting stops and dormant
  children merged.
- A modify that takes the order out of its queue is a matching step of the circuit breaker
  (``breaker``): the band is fixed after the ``post_only`` check (which ignores it), and a
  step the band stopped halts the symbol and cancels the order (``volatility``) instead of
  resting it.

Only the standard library is used.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from .breaker import band_at, stopped_by_band
from .decimals import to_units
from .fields import Malformed, nonempty_str, optional_number_field, symbol_field, user_id_fields
from .matching import post_only_would_trade
from .model import Refused
from .risk import check_modify
from .state import ReferenceState

__all__ = ["cmd_cancel", "cmd_cancel_all", "cmd_modify"]


def cmd_cancel(state: ReferenceState, cmd: dict[str, Any]) -> None:
    user, oid = user_id_fields(cmd)
    order = state.find_live(user, oid)
    if order is None:
        state.events.reject(cmd, "unknown_order", "no such live order")
        return
    state.cancel_each([order], "user")


def cmd_modify(state: ReferenceState, cmd: dict[str, Any]) -> None:
    events = state.events
    user, oid = user_id_fields(cmd)
    price_dec = optional_number_field(cmd, "price")
    qty_dec = optional_number_field(cmd, "qty")
    if price_dec is None and qty_dec is None:
        raise Malformed("modify needs price and/or qty")
    order = state.book.find_live(user, oid)
    if order is None:
        events.reject(cmd, "unknown_order", "no such live order")
        return
    inst = state.instruments[order.symbol]
    assert order.price is not None
    new_price = order.price
    if price_dec is not None:
        parsed_price = to_units(price_dec, inst.tick)
        if parsed_price is None:
            events.reject(cmd, "bad_price", "price must be a positive tick multiple")
            return
        new_price = parsed_price
    new_qty = order.total()
    if qty_dec is not None:
        parsed_qty = to_units(qty_dec, inst.lot)
        if parsed_qty is None:
            events.reject(cmd, "bad_qty", "qty must be a positive lot multiple")
            return
        new_qty = parsed_qty
    if inst.halted:
        events.reject(cmd, "halted", "symbol is halted")
        return
    try:  # the risk step
        check_modify(state, inst, order, new_price, new_qty)
    except Refused as exc:
        events.reject(cmd, exc.reason, exc.message)
        return
    if order.post_only:
        # A stand-in taker with the whole new quantity (dry runs read no iceberg terms).
        probe = replace(order, price=new_price, open=new_qty, seq=0, ice=None)
        if post_only_would_trade(state.book, probe):
            events.reject(cmd, "post_only", "post-only modify would trade")
            return
    ice = order.ice
    if new_price == order.price and new_qty <= order.total():  # keeps its time priority
        cut = order.total() - new_qty
        if ice is not None:
            from_hidden = min(cut, ice.hidden)
            ice.hidden -= from_hidden
            cut -= from_hidden
        order.open -= cut
        events.modified(order, None)
        return
    order.price = new_price
    order.open = new_qty  # a taker again: its whole quantity, nothing hidden
    if ice is not None:
        ice.hidden = 0
    events.modified(order, None)
    state.book.remove(order)
    order.band = band_at(state, order.symbol)  # a matching step: None unless the breaker is armed
    alive = state.match(order)
    if stopped_by_band(state, order, alive):
        return
    if alive and order.open > 0:
        state.book.rest(order)
        events.rested(order)


def cmd_cancel_all(state: ReferenceState, cmd: dict[str, Any]) -> None:
    user = cmd.get("user")
    if not nonempty_str(user):
        raise Malformed("user must be a non-empty string")
    assert isinstance(user, str)
    symbol: str | None = None
    if "symbol" in cmd and cmd["symbol"] is not None:
        symbol = symbol_field(cmd)
        if symbol not in state.instruments:
            state.events.reject(cmd, "unknown_symbol", "unknown symbol")
            return
    state.cancel_each(state.orders_of(user, symbol), "mass_cancel")
