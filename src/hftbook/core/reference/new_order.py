"""The ``new`` command of the reference exchange: validation, ``accepted``, then either
matching (limit and market orders) or waiting (the four stop types).

Invariants:

- The checks run in the protocol's order, first failure wins: field types
  (``bad_command``), unknown symbol, ``bad_qty`` (``qty``, then ``display_qty``: a lot
  multiple in 1 .. qty, then ``display_variance``: a lot multiple in 0 .. display - 1), then
  ``bad_price`` for each price field in the order of the protocol's table (``price``;
  ``trigger_price`` then ``price``; ``trail_amount`` or ``trail_pct`` then
  ``limit_offset``), duplicate id (among every live order), halted symbol (unless the
  symbol's call collects the order: ``call.halted_refusal``), GTD already expired, the risk
  step (``risk.admit``: ``user_killed``, ``rate_limited``, ``qty_too_small``,
  ``qty_too_large``, ``price_out_of_collar``, ``notional_too_large``, ``too_many_orders``),
  a ``stop`` / ``stop_limit`` whose condition already holds (``stop_would_trigger``), market
  order with nothing against it, post-only that would take. The stop types never reach the
  last two: they do not trade on arrival, and neither does an order collected by a call
  (``call.collect``: a limit rests at once without matching, a market order is held for the
  uncross).
- Every rejection (and every ``Malformed``) leaves the state exactly as it was: nothing is
  changed before the last check has passed, except the rate-limit token the risk step takes.
- An accepted order takes the next ``order_id``. A stop is written ``accepted`` with its
  own fields after the common ones and then only waits: no trade, no other event.
- An iceberg is written ``accepted`` with ``display_qty`` (and ``display_variance`` when it
  is not 0) last; its generator is seeded with its ``order_id`` when it takes it.
- ``order_terms`` (stage 3: units) and ``accepted_event`` are shared with the ``oco`` and
  ``bracket`` commands (``contingent_commands``), whose parts are checked like ``new``.

Only the standard library is used.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from .call import collect, halted_refusal
from .decimals import decimal_parts, decimal_places, format_scaled, to_units
from .fields import STOP_TYPES, NewOrderFields, parse_new_order
from .incoming import execute, refusal
from .model import Event, Iceberg, Instrument, Order, Refused
from .risk import admit
from .state import ReferenceState
from .stops import Stop

__all__ = ["Refused", "accepted_event", "cmd_new", "order_terms"]

_TICKS = "must be a positive tick multiple"


class _BadPrice(Exception):
    """A price field that is well-formed but not acceptable (``bad_price``)."""


def _ticks(value: Decimal | None, inst: Instrument, name: str) -> int | None:
    """A positive tick multiple in ticks (None stays None), or ``_BadPrice``."""
    if value is None:
        return None
    ticks = to_units(value, inst.tick)
    if ticks is None:
        raise _BadPrice(f"{name} {_TICKS}")
    return ticks


def _offset_ticks(value: Decimal | None, inst: Instrument) -> int | None:
    """``limit_offset``: zero or a positive tick multiple, or ``_BadPrice``."""
    if value is None or value == 0:
        return None if value is None else 0
    ticks = to_units(value, inst.tick)
    if ticks is None:
        raise _BadPrice("limit_offset must be a tick multiple >= 0")
    return ticks


def _stop_of(f: NewOrderFields, inst: Instrument, order: Order) -> Stop | None:
    """The stop record of a stop type (None for limit and market); its price fields are
    checked in the table's order (``_BadPrice``)."""
    if f.order_type not in STOP_TYPES:
        return None
    trigger = _ticks(f.trigger_price, inst, "trigger_price")
    limit = _ticks(f.price, inst, "price")
    amount = _ticks(f.trail_amount, inst, "trail_amount")
    if f.trail_pct is not None and not 0 < f.trail_pct < 100:
        raise _BadPrice("trail_pct must be between 0 and 100")
    if f.trail_pct is not None and decimal_places(f.trail_pct) > 6:
        raise _BadPrice("trail_pct has more than 6 decimal places")
    offset = _offset_ticks(f.limit_offset, inst)
    return Stop(order, f.order_type, trigger, limit, amount, f.trail_pct, offset)


def _iceberg_of(f: NewOrderFields, inst: Instrument, qty: int) -> Iceberg | str | None:
    """The iceberg terms in lots (None for any other order), or the ``bad_qty`` message."""
    if f.display_qty is None:
        return None
    display = to_units(f.display_qty, inst.lot)
    if display is None or display > qty:
        return "display_qty must be a positive lot multiple <= qty"
    variance = 0
    if f.display_variance is not None and f.display_variance != 0:
        units = to_units(f.display_variance, inst.lot)
        if units is None or units >= display:
            return "display_variance must be a lot multiple >= 0 and < display_qty"
        variance = units
    return Iceberg(display, variance)


def order_terms(f: NewOrderFields, inst: Instrument) -> tuple[Order, Stop | None]:
    """Stage 3 of ``new``: the order in lots and ticks (not yet numbered) and its stop record
    (None for limit and market orders), or ``Refused`` (``bad_qty``, then ``bad_price``)."""
    qty = to_units(f.qty, inst.lot)
    if qty is None:
        raise Refused("bad_qty", "qty must be a positive lot multiple")
    ice = _iceberg_of(f, inst, qty)
    if isinstance(ice, str):
        raise Refused("bad_qty", ice)
    order = Order(0, f.user, f.id, f.symbol, f.side, f.order_type, None, qty, f.tif,
                  f.expire_ts, f.post_only, f.stp, ice=ice)  # fmt: skip
    try:
        if f.order_type == "limit":
            order.price = _ticks(f.price, inst, "price")
        stop = _stop_of(f, inst, order)
    except _BadPrice as exc:
        raise Refused("bad_price", str(exc)) from None
    return order, stop


def accepted_event(
    f: NewOrderFields, inst: Instrument, order: Order, stop: Stop | None, ts: int
) -> Event:
    """The ``accepted`` event of a numbered order (its qty is ``order.open``)."""
    ev: Event = {
        "type": "accepted",
        "ts": ts,
        "user": f.user,
        "id": f.id,
        "symbol": f.symbol,
        "order_id": order.order_id,
        "side": f.side,
        "order_type": f.order_type,
        "price": None if order.price is None else inst.price_str(order.price),
        "qty": inst.qty_str(order.open),
        "tif": f.tif,
        "post_only": f.post_only,
        "stp": f.stp,
    }
    if f.tif == "gtd":
        ev["expire_ts"] = f.expire_ts
    if order.ice is not None:  # a limit order: no stop fields
        ev["display_qty"] = inst.qty_str(order.ice.display)
        if order.ice.variance > 0:
            ev["display_variance"] = inst.qty_str(order.ice.variance)
    if stop is None:
        return ev
    if stop.kind == "stop_limit":  # price of a waiting stop_limit is its future limit
        assert stop.limit is not None
        ev["price"] = inst.price_str(stop.limit)
    if stop.trigger is not None:
        ev["trigger_price"] = inst.price_str(stop.trigger)
    if stop.trail_amount is not None:
        ev["trail_amount"] = inst.price_str(stop.trail_amount)
    if stop.trail_pct is not None:
        ev["trail_pct"] = format_scaled(*decimal_parts(stop.trail_pct))
    if stop.limit_offset is not None:
        ev["limit_offset"] = inst.price_str(stop.limit_offset)
    return ev


def cmd_new(state: ReferenceState, cmd: dict[str, Any]) -> None:
    events = state.events
    f = parse_new_order(cmd)  # 1. field types
    inst = state.instruments.get(f.symbol)  # 2. symbol
    if inst is None:
        events.reject(cmd, "unknown_symbol", "unknown symbol")
        return
    try:  # 3. qty, display_qty, display_variance, then prices
        order, stop = order_terms(f, inst)
    except Refused as exc:
        events.reject(cmd, exc.reason, exc.message)
        return
    if state.find_live(f.user, f.id) is not None:  # 4. duplicate
        events.reject(cmd, "duplicate_id", "id is already live")
        return
    collecting = inst.halted  # 5. halted: refused, or taken by the symbol's call
    if collecting and (why := halted_refusal(inst, order)) is not None:
        events.reject(cmd, "halted", why)
        return
    if f.expire_ts is not None and f.expire_ts <= events.ts:  # 6. gtd already expired
        events.reject(cmd, "expired", "expire_ts has passed")
        return
    try:  # the risk step
        admit(state, inst, f.user, [("", order, stop)])
    except Refused as exc:
        events.reject(cmd, exc.reason, exc.message)
        return
    if stop is not None and stop.trigger is not None:  # 7. stop condition already holds
        if state.stops.would_trigger(f.symbol, f.side, stop.trigger):
            events.reject(cmd, "stop_would_trigger", "stop condition already holds")
            return
    if stop is None and not collecting:  # 8. market against an empty side, 9. post-only that would take
        reason = refusal(state, order)
        if reason is not None:
            message = "nothing to match" if reason == "no_liquidity" else "post-only would trade"
            events.reject(cmd, reason, message)
            return
    order.order_id = state.take_order_id()
    if order.ice is not None:
        order.ice.rng = order.order_id  # the seed of its refill generator
    events.append(accepted_event(f, inst, order, stop, events.ts))
    if stop is not None:
        state.stops.add(stop)
    elif collecting:
        collect(state, order)
    else:
        execute(state, order)
