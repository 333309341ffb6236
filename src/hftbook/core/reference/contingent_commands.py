"""The list commands of the reference exchange: ``oco`` and ``bracket`` (``docs/PROTOCOL.md``,
"Contingent orders"). Each submits linked orders all or nothing.

A part is checked like a ``new`` command (``fields.parse_new_order``, then
``new_order.order_terms``) with ``user``, ``symbol`` and ``side`` taken from the command; a
bracket's children get the opposite side and the entry's qty. What the links do afterwards
(the OCO rule, activation, growth) is ``settle``'s.

Invariants:

- The checks run in the protocol's stages, first failure wins, all parts through a stage
  before the next stage starts, except in the risk step, where each part goes through all
  four order checks before the next part starts. ``oco``: fields of the command, then of
  each part (``bad_command``: market, IOC or FOK parts, not exactly two parts, a part that
  is not an object or carries ``user``, ``symbol`` or ``side``, equal part ids) ->
  ``unknown_symbol`` -> per part ``bad_qty``, ``bad_price`` -> per part ``duplicate_id`` ->
  ``halted`` -> per part ``expired`` -> the risk step (``risk.admit``: the user's kill switch
  and token, each part's checks in turn, then both parts counted) -> per part
  ``stop_would_trigger`` -> per limit part ``would_trade`` (the post-only dry run with its
  STP). ``bracket``: fields of the command, the entry, the take-profit, the stop-loss
  (``bad_command``: also a child with a ``qty`` or ``display_qty`` (null counts as absent),
  a take-profit that is not a limit, a stop-loss that is not a stop type, a child tif other
  than gtc/gtd/day, no child (null counts as absent), an unknown ``activation``, equal ids)
  -> ``unknown_symbol`` -> ``bad_qty``, ``bad_price`` of the entry, the take-profit, the
  stop-loss -> ``duplicate_id`` -> ``halted`` -> ``expired`` (each part) -> the risk step
  (the entry, the take-profit, the stop-loss in turn; every part counted) -> the entry's own
  ``stop_would_trigger``, ``no_liquidity``, ``post_only``. A child's trigger is not checked
  against the last price.
- A refused command writes one ``rejected`` (``cmd``, the command's ``user`` and ``symbol``)
  and changes nothing but the one rate-limit token a list command that reached the risk step
  takes: no order id is taken before the last check has passed.
- ``oco`` success: ``accepted`` for each part (extra field ``oco``: the other part's id),
  then the first part is placed (a limit part matches, so its STP actions take place, and
  rests; a stop waits), then the second; the two are an unresolved ``Pair``.
- ``bracket`` success: ``accepted`` for the entry (``take_profit``, ``stop_loss`` as present,
  ``activation``), the take-profit, the stop-loss (``parent``, then ``oco`` when there are
  two; ``qty`` the entry's qty); the children go dormant (and are a ``Pair`` when there are
  two); then the entry acts exactly like a ``new`` order.

Only the standard library is used.
"""

from __future__ import annotations

from typing import Any

from .fields import (
    RESTING_TIFS,
    SIDES,
    STOP_TYPES,
    Malformed,
    NewOrderFields,
    nonempty_str,
    parse_new_order,
    symbol_field,
)
from .incoming import execute, refusal
from .links import Bracket, Pair
from .matching import post_only_would_trade
from .model import Instrument, Order, Refused
from .new_order import accepted_event, order_terms
from .risk import admit
from .state import ReferenceState
from .stops import Stop

__all__ = ["cmd_bracket", "cmd_oco"]

_FROM_COMMAND = ("user", "symbol", "side")
_ACTIVATIONS = ("full", "partial")


# -- fields ---------------------------------------------------------------------------------


def _head(cmd: dict[str, Any]) -> tuple[str, str, str]:
    """The command's own ``user``, ``symbol`` and ``side``."""
    user = cmd.get("user")
    if not nonempty_str(user):
        raise Malformed("user must be a non-empty string")
    assert isinstance(user, str)
    symbol = symbol_field(cmd)
    side = cmd.get("side")
    if side not in SIDES:
        raise Malformed("side must be buy or sell")
    assert isinstance(side, str)
    return user, symbol, side


def _part_command(part: object, name: str, user: str, symbol: str, side: str) -> dict[str, Any]:
    """A part as the ``new`` command it would be (``Malformed`` if it is no object or carries
    one of the command's own fields)."""
    if not isinstance(part, dict):
        raise Malformed(f"{name} must be an object")
    for key in _FROM_COMMAND:
        if key in part:
            raise Malformed(f"{name} must not carry {key}: it comes from the command")
    return dict(part, user=user, symbol=symbol, side=side)


def _distinct_ids(parts: list[NewOrderFields]) -> None:
    seen: list[str | int] = []
    for f in parts:
        if any(type(s) is type(f.id) and s == f.id for s in seen):
            raise Malformed(f"two parts have the id {f.id!r}")
        seen.append(f.id)


def _child(
    raw: object, name: str, user: str, symbol: str, side: str, entry: NewOrderFields
) -> NewOrderFields:
    """A take-profit or stop-loss: no qty of its own, a type of its kind, a resting tif."""
    cmd = _part_command(raw, name, user, symbol, side)
    for key in ("qty", "display_qty"):  # null counts as absent, as for display_qty in new
        if cmd.get(key) is not None:
            raise Malformed(f"{name} takes no {key}: it gets the entry's filled quantity")
    cmd.pop("display_qty", None)
    if name == "take_profit":
        otype = cmd.get("type", "limit")
        if otype != "limit":
            raise Malformed("take_profit is a limit order")
    else:
        otype = cmd.get("type", "stop")
        if otype not in STOP_TYPES:
            raise Malformed("stop_loss must be a stop type")
    f = parse_new_order(dict(cmd, type=otype, qty=entry.qty))
    if f.tif not in RESTING_TIFS:
        raise Malformed(f"{name} tif must be gtc, gtd or day")
    return f


# -- stages shared by both commands ------------------------------------------------------------


def _terms(inst: Instrument, parts: list[NewOrderFields]) -> list[tuple[Order, Stop | None]]:
    """Stage 3 for each part in order: ``bad_qty`` then ``bad_price`` (``Refused``)."""
    return [order_terms(f, inst) for f in parts]


def _admission(state: ReferenceState, inst: Instrument, parts: list[NewOrderFields]) -> None:
    """``duplicate_id`` (any part) -> ``halted`` -> ``expired`` (any part's gtd)."""
    for f in parts:
        if state.find_live(f.user, f.id) is not None:
            raise Refused("duplicate_id", f"id {f.id!r} is already live")
    if inst.halted:
        raise Refused("halted", "symbol is halted")
    for f in parts:
        if f.expire_ts is not None and f.expire_ts <= state.events.ts:
            raise Refused("expired", f"expire_ts of {f.id!r} has passed")


def _would_trigger(state: ReferenceState, order: Order, stop: Stop | None) -> bool:
    if stop is None or stop.trigger is None:
        return False
    return state.stops.would_trigger(order.symbol, order.side, stop.trigger)


def _number(state: ReferenceState, order: Order) -> None:
    order.order_id = state.take_order_id()
    if order.ice is not None:
        order.ice.rng = order.order_id


def _place(state: ReferenceState, order: Order, stop: Stop | None) -> None:
    """An accepted order starts: a stop waits, any other order matches (and maybe rests)."""
    if stop is not None:
        state.stops.add(stop)
    else:
        execute(state, order)


# -- oco ------------------------------------------------------------------------------------


def cmd_oco(state: ReferenceState, cmd: dict[str, Any]) -> None:
    user, symbol, side = _head(cmd)
    raw = cmd.get("orders")
    if not isinstance(raw, list) or len(raw) != 2:
        raise Malformed("orders must be a list of two parts")
    parts: list[NewOrderFields] = []
    for n, part in enumerate(raw, 1):
        f = parse_new_order(_part_command(part, f"part {n}", user, symbol, side))
        if f.order_type == "market" or f.tif not in RESTING_TIFS:
            raise Malformed(f"part {n} must be able to wait: a gtc, gtd or day limit or stop")
        parts.append(f)
    _distinct_ids(parts)
    inst = state.known_instrument(cmd)
    if inst is None:
        return
    try:
        made = _terms(inst, parts)
        _admission(state, inst, parts)
        admit(state, inst, user, [(f"part {n}", o, s) for n, (o, s) in enumerate(made, 1)])
        for n, (order, stop) in enumerate(made, 1):
            if _would_trigger(state, order, stop):
                raise Refused("stop_would_trigger", f"part {n}: stop condition already holds")
        for n, (order, stop) in enumerate(made, 1):
            if stop is None and post_only_would_trade(state.book, order):
                raise Refused("would_trade", f"part {n} would trade on arrival")
    except Refused as exc:
        state.events.reject(cmd, exc.reason, exc.message)
        return
    for order, _stop in made:
        _number(state, order)
    for i, (f, (order, stop)) in enumerate(zip(parts, made, strict=True)):
        ev = accepted_event(f, inst, order, stop, state.events.ts)
        ev["oco"] = parts[1 - i].id
        state.events.append(ev)
    state.links.pairs.append(Pair(made[0][0], made[1][0]))
    for order, stop in made:
        _place(state, order, stop)


# -- bracket --------------------------------------------------------------------------------


def cmd_bracket(state: ReferenceState, cmd: dict[str, Any]) -> None:
    user, symbol, side = _head(cmd)
    opposite = "sell" if side == "buy" else "buy"
    entry_f = parse_new_order(_part_command(cmd.get("entry"), "entry", user, symbol, side))
    tp_raw, sl_raw = cmd.get("take_profit"), cmd.get("stop_loss")
    if tp_raw is None and sl_raw is None:
        raise Malformed("a bracket needs a take_profit and/or a stop_loss")
    tp_f = None if tp_raw is None else _child(tp_raw, "take_profit", user, symbol, opposite, entry_f)
    sl_f = None if sl_raw is None else _child(sl_raw, "stop_loss", user, symbol, opposite, entry_f)
    activation = cmd.get("activation", "full")
    if activation not in _ACTIVATIONS:
        raise Malformed("activation must be full or partial")
    parts = [f for f in (entry_f, tp_f, sl_f) if f is not None]
    _distinct_ids(parts)
    inst = state.known_instrument(cmd)
    if inst is None:
        return
    try:
        made = _terms(inst, parts)
        _admission(state, inst, parts)
        names = ["entry"] + (["take_profit"] if tp_f is not None else [])
        names += ["stop_loss"] if sl_f is not None else []
        admit(state, inst, user, [(n, o, s) for n, (o, s) in zip(names, made, strict=True)])
        entry, entry_stop = made[0]
        if _would_trigger(state, entry, entry_stop):
            raise Refused("stop_would_trigger", "entry: stop condition already holds")
        reason = None if entry_stop is not None else refusal(state, entry)
        if reason is not None:
            raise Refused(reason, f"entry: {reason}")
    except Refused as exc:
        state.events.reject(cmd, exc.reason, exc.message)
        return
    for order, _stop in made:
        _number(state, order)
    children = made[1:]
    tp = children.pop(0)[0] if tp_f is not None else None
    sl, sl_stop = children.pop(0) if sl_f is not None else (None, None)
    ts = state.events.ts
    ev = accepted_event(entry_f, inst, entry, entry_stop, ts)
    if tp_f is not None:
        ev["take_profit"] = tp_f.id
    if sl_f is not None:
        ev["stop_loss"] = sl_f.id
    ev["activation"] = activation
    state.events.append(ev)
    for f, child, stop, sibling in ((tp_f, tp, None, sl_f), (sl_f, sl, sl_stop, tp_f)):
        if f is None or child is None:
            continue
        ev = accepted_event(f, inst, child, stop, ts)
        ev["parent"] = entry_f.id
        if sibling is not None:
            ev["oco"] = sibling.id
        state.events.append(ev)
        state.links.dormant.append(child)
    state.links.brackets.append(
        Bracket(entry, activation == "partial", take_profit=tp, stop_loss=sl, stop=sl_stop)
    )
    if tp is not None and sl is not None:
        state.links.pairs.append(Pair(tp, sl))
    _place(state, entry, entry_stop)
