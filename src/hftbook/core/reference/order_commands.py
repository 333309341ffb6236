"""The order commands of the reference exchange: ``new``, ``cancel``, ``modify``, ``cancel_all``.

Each handler takes the exchange state and one command (a dict whose ``ts`` has already been
applied), raises ``Malformed`` for a field of the wrong type, writes a rejection for any
other refusal, and otherwise writes its events in the order the protocol gives.

Invariants:

- A ``new`` command is checked in a fixed order: field types, then unsupported features
  (stops, ``display_qty``), unknown symbol, qty, price, duplicate id, halted symbol, GTD
  already expired, market order with nothing against it, post-only that would take. The
  first failing check is the one reported.
- Every rejection (and every ``Malformed``) leaves the state exactly as it was: nothing is
  changed before the last check has passed.
- An accepted order takes the next ``order_id``; whatever is left of it after matching
  rests only if it is a GTC/GTD/DAY limit order, and is cancelled otherwise.
- A modify that keeps the price and does not raise the quantity keeps the order's time
  priority; any other modify takes it out, matches it as a taker and rests what is left at
  the back of its level.
- ``cancel_all`` cancels in ``order_id`` order.

Only the standard library is used.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from .decimals import to_units
from .fields import (
    STOP_TYPES,
    Malformed,
    nonempty_str,
    optional_number_field,
    parse_new_order,
    symbol_field,
    user_id_fields,
)
from .matching import fok_would_fill, match, post_only_would_trade
from .model import Event, Order
from .state import ReferenceState

__all__ = ["cmd_cancel", "cmd_cancel_all", "cmd_modify", "cmd_new"]


def cmd_new(state: ReferenceState, cmd: dict[str, Any]) -> None:
    events = state.events
    # 1. field types
    f = parse_new_order(cmd)
    # 2. not available yet
    if f.order_type in STOP_TYPES or "display_qty" in cmd:
        events.reject(cmd, "unsupported", "stops and icebergs are not available")
        return
    # 3. symbol
    inst = state.instruments.get(f.symbol)
    if inst is None:
        events.reject(cmd, "unknown_symbol", "unknown symbol")
        return
    # 4. qty, then price
    qty = to_units(f.qty, inst.lot)
    if qty is None:
        events.reject(cmd, "bad_qty", "qty must be a positive lot multiple")
        return
    price: int | None = None
    if f.price is not None:
        price = to_units(f.price, inst.tick)
        if price is None:
            events.reject(cmd, "bad_price", "price must be a positive tick multiple")
            return
    # 5. duplicate
    if state.book.find_live(f.user, f.id) is not None:
        events.reject(cmd, "duplicate_id", "id is already live")
        return
    # 6. halted
    if inst.halted:
        events.reject(cmd, "halted", "symbol is halted")
        return
    # 7. gtd already expired
    if f.expire_ts is not None and f.expire_ts <= events.ts:
        events.reject(cmd, "expired", "expire_ts has passed")
        return
    order = Order(
        order_id=0,
        user=f.user,
        id=f.id,
        symbol=f.symbol,
        side=f.side,
        order_type=f.order_type,
        price=price,
        open=qty,
        tif=f.tif,
        expire_ts=f.expire_ts,
        post_only=f.post_only,
        stp=f.stp,
    )
    # 8. market against an empty side
    if f.order_type == "market" and not state.book.has_orders_against(f.symbol, f.side):
        events.reject(cmd, "no_liquidity", "nothing to match")
        return
    # 9. post-only that would take
    if f.post_only and post_only_would_trade(state.book, order):
        events.reject(cmd, "post_only", "post-only order would trade")
        return
    order.order_id = state.take_order_id()
    accepted: Event = {
        "type": "accepted",
        "ts": events.ts,
        "user": f.user,
        "id": f.id,
        "symbol": f.symbol,
        "order_id": order.order_id,
        "side": f.side,
        "order_type": f.order_type,
        "price": None if price is None else inst.price_str(price),
        "qty": inst.qty_str(qty),
        "tif": f.tif,
        "post_only": f.post_only,
        "stp": f.stp,
    }
    if f.tif == "gtd":
        accepted["expire_ts"] = f.expire_ts
    events.append(accepted)

    if f.tif == "fok" and not fok_would_fill(state.book, order):
        events.cancelled(order, "fok", order.open)
        return
    alive = match(state.book, events, order)
    if not alive or order.open == 0:
        return
    if f.order_type == "market":
        events.cancelled(order, "no_liquidity", order.open)
    elif f.tif == "ioc":
        events.cancelled(order, "ioc", order.open)
    elif f.tif == "fok":  # cannot happen after a passed dry run; kept for safety
        events.cancelled(order, "fok", order.open)
    else:
        state.book.rest(order)


def cmd_cancel(state: ReferenceState, cmd: dict[str, Any]) -> None:
    user, oid = user_id_fields(cmd)
    order = state.book.find_live(user, oid)
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
    new_qty = order.open
    if qty_dec is not None:
        parsed_qty = to_units(qty_dec, inst.lot)
        if parsed_qty is None:
            events.reject(cmd, "bad_qty", "qty must be a positive lot multiple")
            return
        new_qty = parsed_qty
    if inst.halted:
        events.reject(cmd, "halted", "symbol is halted")
        return
    if order.post_only:
        probe = replace(order, price=new_price, open=new_qty, seq=0)
        if post_only_would_trade(state.book, probe):
            events.reject(cmd, "post_only", "post-only modify would trade")
            return
    keeps_priority = new_price == order.price and new_qty <= order.open
    order.price = new_price
    order.open = new_qty
    events.modified(order, None)
    if keeps_priority:
        return
    state.book.remove(order)
    alive = match(state.book, events, order)
    if alive and order.open > 0:
        state.book.rest(order)


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
    state.cancel_each(state.book.orders_of(user, symbol), "mass_cancel")
