"""Parsing and validating contract commands (JSON-shaped dicts) into the integer engine.

Invariants: a command is either refused with exactly one `rejected` event and no state
change, or handed to the integer methods of `Exchange`, which emit everything else. Field
checks run in the order docs/PROTOCOL.md gives, so the first failure decides the reason.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from hftbook.core.breaker import Window
from hftbook.core.call import publish
from hftbook.core.elsewhere import hold, release
from hftbook.core.numbers import parse_decimal
from hftbook.core.order_lists import cmd_bracket, cmd_oco
from hftbook.core.order_terms import (
    Refused,
    bad,
    check_units,
    is_int,
    parse_cid,
    parse_order,
    parse_user,
    submit_order,
    wire_units,
)
from hftbook.core.queries import book_event, metrics_event
from hftbook.core.risk_commands import (
    check_risk_types,
    cmd_kill_switch,
    cmd_limits,
    parse_breaker,
    parse_instrument_risk,
)
from hftbook.core.types import EV_RAW, MAX_UNITS

if TYPE_CHECKING:
    from hftbook.core.exchange import Exchange


def _symbol(c: dict[str, Any], ex: Exchange, required: bool = True) -> str | None:
    symbol = c.get("symbol")
    if symbol is None and not required:
        return None
    if type(symbol) is not str:
        raise bad("'symbol' must be a string")
    if symbol not in ex.books:
        raise Refused("unknown_symbol", f"unknown symbol {symbol!r}")
    return symbol


def _positive_int(c: dict[str, Any], key: str, default: int) -> int:
    v = c.get(key, default)
    if not is_int(v) or v <= 0:
        raise bad(f"'{key}' must be a positive integer")
    return int(v)


def cmd_instrument(ex: Exchange, c: dict[str, Any]) -> None:
    symbol = c.get("symbol")
    if type(symbol) is not str or not symbol:
        raise bad("'symbol' must be a non-empty string")
    tick = parse_decimal(c.get("tick_size"))
    lot = parse_decimal(c.get("lot_size"))
    if tick is None or lot is None:
        raise bad("'tick_size' and 'lot_size' must be decimal numbers")
    check_risk_types(c)
    if tick <= 0:
        raise Refused("bad_price", "tick_size must be positive")
    if lot <= 0:
        raise Refused("bad_qty", "lot_size must be positive")
    risk = parse_instrument_risk(c, tick, lot)
    breaker = parse_breaker(c)
    if ex.add_instrument(symbol, tick, lot):
        book = ex.books[symbol]
        book.risk = risk
        if breaker is None:
            book.window = Window()  # it counts the trades since the breaker was set
        book.breaker = breaker
        book.collect = c.get("halt_orders") == "collect"
        if book.halted:
            publish(ex, book)  # a new reference_price can move the indicative uncross


def cmd_new(ex: Exchange, c: dict[str, Any]) -> None:
    t = parse_order(c, ex)
    inst = ex.instruments.get(t.symbol)
    if inst is None:
        raise Refused("unknown_symbol", f"unknown symbol {t.symbol!r}")
    check_units(t, inst)
    submit_order(ex, t)


def cmd_cancel(ex: Exchange, c: dict[str, Any]) -> None:
    ex.cancel(parse_user(c), parse_cid(c))


def cmd_modify(ex: Exchange, c: dict[str, Any]) -> None:
    user = parse_user(c)
    cid = parse_cid(c)
    has_price = c.get("price") is not None
    has_qty = c.get("qty") is not None
    if not has_price and not has_qty:
        raise bad("modify needs 'price' and/or 'qty'")
    orders = ex.live.get(user)
    o = orders.get(cid) if orders else None
    # A waiting stop or a dormant bracket child is not resting: a modify of it is answered like
    # an unknown order, before its numbers are looked at.
    inst = ex.instruments[o.symbol] if o is not None and o.level is not None else None
    price = wire_units(c, "price", inst) if has_price else None
    qty = wire_units(c, "qty", inst) if has_qty else None
    if inst is None:
        raise Refused("unknown_order", f"no live order {cid!r}")
    if has_price and price is None:
        raise Refused("bad_price", f"price must be a positive multiple of the tick {inst.tick}")
    if has_qty and qty is None:
        raise Refused("bad_qty", f"qty must be a positive multiple of the lot {inst.lot}")
    ex.modify(user, cid, price, qty)


def cmd_cancel_all(ex: Exchange, c: dict[str, Any]) -> None:
    user = parse_user(c)
    symbol = _symbol(c, ex, required=False)
    ex.cancel_all(user, symbol)


def cmd_halt(ex: Exchange, c: dict[str, Any]) -> None:
    if type(c.get("symbol")) is not str:
        raise bad("'symbol' must be a string")
    until = c.get("until_ts")
    if until is not None and (not is_int(until) or not ex.now < until <= MAX_UNITS):
        raise bad("'until_ts' must be an integer after the command's ts")
    symbol = _symbol(c, ex)
    assert symbol is not None
    ex.set_halted(symbol, True, "manual", until or 0)


def cmd_resume(ex: Exchange, c: dict[str, Any]) -> None:
    symbol = _symbol(c, ex)
    assert symbol is not None
    ex.set_halted(symbol, False)


def cmd_end_of_day(ex: Exchange, c: dict[str, Any]) -> None:
    ex.end_of_day()


def cmd_tick(ex: Exchange, c: dict[str, Any]) -> None:
    """Time only: the GTD expiry already ran in `dispatch`."""


def cmd_book(ex: Exchange, c: dict[str, Any]) -> None:
    depth = _positive_int(c, "depth", 10)
    symbol = _symbol(c, ex)
    assert symbol is not None
    ex.out.append((EV_RAW, book_event(ex.books[symbol], depth)))


def cmd_metrics(ex: Exchange, c: dict[str, Any]) -> None:
    levels = _positive_int(c, "levels", 5)
    symbol = _symbol(c, ex)
    assert symbol is not None
    ex.out.append((EV_RAW, metrics_event(ex.books[symbol], levels)))


def cmd_algo(ex: Exchange, c: dict[str, Any]) -> None:
    raise Refused("unsupported", "an Exchange alone runs no algorithms: use hftbook.algo.Venue")


HANDLERS: dict[str, Callable[[Exchange, dict[str, Any]], None]] = {
    "instrument": cmd_instrument,
    "new": cmd_new,
    "cancel": cmd_cancel,
    "modify": cmd_modify,
    "cancel_all": cmd_cancel_all,
    "halt": cmd_halt,
    "resume": cmd_resume,
    "end_of_day": cmd_end_of_day,
    "tick": cmd_tick,
    "book": cmd_book,
    "metrics": cmd_metrics,
    "algo": cmd_algo,
    "oco": cmd_oco,
    "bracket": cmd_bracket,
    "limits": cmd_limits,
    "kill_switch": cmd_kill_switch,
}


def dispatch(ex: Exchange, c: object) -> int:
    """Run one command against the exchange; returns the ts its events carry."""
    if not isinstance(c, dict):
        ex.reject("", "bad_command", "a command must be a JSON object")
        return ex.now
    ts = c.get("ts", ex.now)
    if type(ts) is not int or not 0 <= ts <= MAX_UNITS:
        ex.reject(_name(c), "bad_command", "'ts' must be a non-negative integer (nanoseconds)")
        return ex.now
    ex.advance(ts)
    name = c.get("cmd")
    handler = HANDLERS.get(name) if type(name) is str else None
    held = hold(ex, c) if "live_elsewhere" in c else None  # elsewhere.py: a sharded venue
    try:
        if handler is None:
            raise bad(f"unknown command {name!r}" if "cmd" in c else "'cmd' is missing")
        handler(ex, c)
    except Refused as r:
        ex.reject(_name(c), r.reason, r.message)
    finally:
        if held is not None:
            release(ex, held)
    return ts


def _name(c: dict[str, Any]) -> str:
    name = c.get("cmd")
    return name if type(name) is str else ""
