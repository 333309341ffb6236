"""Parsing and validating contract commands (JSON-shaped dicts) into the integer engine.

Invariants: a command is either refused with exactly one `rejected` event and no state
change, or handed to the integer methods of `Exchange`, which emit everything else. Field
checks run in the order docs/PROTOCOL.md gives, so the first failure decides the reason.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from hftbook.core.instrument import Instrument
from hftbook.core.numbers import decimal_places, parse_decimal
from hftbook.core.queries import book_event, metrics_event
from hftbook.core.types import (
    EV_RAW,
    GTD,
    LIMIT,
    MARKET,
    MAX_UNITS,
    MIN_INT64,
    SIDE_NAMES,
    STOP,
    STOP_LIMIT,
    STP_NAMES,
    TIF_NAMES,
    TRAILING_STOP_LIMIT,
    TYPE_NAMES,
)

if TYPE_CHECKING:
    from hftbook.core.exchange import Exchange

_SIDES = {name: code for code, name in enumerate(SIDE_NAMES)}
_TYPES = {name: code for code, name in enumerate(TYPE_NAMES)}
_TIFS = {name: code for code, name in enumerate(TIF_NAMES)}
_STPS = {name: code for code, name in enumerate(STP_NAMES)}
_RESTING_TIFS = ("gtc", "gtd", "day")
_POST_ONLY_TYPES = (LIMIT, STOP_LIMIT, TRAILING_STOP_LIMIT)
_QTY_FIELDS = ("qty", "display_qty", "display_variance")  # in lots; every other number is in ticks
_PCT_PLACES = 6  # trail_pct precision: enough for a basis point of a basis point


class Refused(Exception):
    """A command refused with a reason; carries the human-readable message."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


def _bad(message: str) -> Refused:
    return Refused("bad_command", message)


def is_int(v: object) -> bool:
    return type(v) is int


def _user(c: dict[str, Any]) -> str:
    user = c.get("user")
    if type(user) is not str or not user:
        raise _bad("'user' must be a non-empty string")
    return user


def _cid(c: dict[str, Any]) -> Any:
    cid = c.get("id")
    if type(cid) is not str and not (type(cid) is int and MIN_INT64 <= cid <= MAX_UNITS):
        raise _bad("'id' must be a string or a 64-bit integer")
    return cid


def _symbol(c: dict[str, Any], ex: Exchange, required: bool = True) -> str | None:
    symbol = c.get("symbol")
    if symbol is None and not required:
        return None
    if type(symbol) is not str:
        raise _bad("'symbol' must be a string")
    if symbol not in ex.books:
        raise Refused("unknown_symbol", f"unknown symbol {symbol!r}")
    return symbol


def _choice(c: dict[str, Any], key: str, table: dict[str, int], default: str | None) -> int:
    v = c.get(key, default)
    if type(v) is not str or v not in table:
        raise _bad(f"'{key}' must be one of {', '.join(table)}")
    return table[v]


def _wire_units(c: dict[str, Any], key: str, inst: Instrument | None) -> int | None:
    """Lots (quantity fields) or ticks (price fields) of a wire number; `bad_command` if malformed.

    None means well-formed but not a positive multiple in range, or no instrument to measure
    it by yet; the caller reports that after its own earlier checks. With an instrument the
    answer comes from its cache, so a repeated price string costs one dict lookup.
    """
    raw = c.get(key)
    if inst is None:
        if parse_decimal(raw) is None:
            raise _bad(f"'{key}' must be a decimal number")
        return None
    units = inst.qty_from_wire(raw) if key in _QTY_FIELDS else inst.price_from_wire(raw)
    if units is False:
        raise _bad(f"'{key}' must be a decimal number")
    return int(units) if units else None


def _positive_int(c: dict[str, Any], key: str, default: int) -> int:
    v = c.get(key, default)
    if not is_int(v) or v <= 0:
        raise _bad(f"'{key}' must be a positive integer")
    return int(v)


def cmd_instrument(ex: Exchange, c: dict[str, Any]) -> None:
    symbol = c.get("symbol")
    if type(symbol) is not str or not symbol:
        raise _bad("'symbol' must be a non-empty string")
    tick = parse_decimal(c.get("tick_size"))
    lot = parse_decimal(c.get("lot_size"))
    if tick is None or lot is None:
        raise _bad("'tick_size' and 'lot_size' must be decimal numbers")
    if tick <= 0:
        raise Refused("bad_price", "tick_size must be positive")
    if lot <= 0:
        raise Refused("bad_qty", "lot_size must be positive")
    ex.add_instrument(symbol, tick, lot)


def cmd_new(ex: Exchange, c: dict[str, Any]) -> None:
    user = _user(c)
    cid = _cid(c)
    symbol = c.get("symbol")
    if type(symbol) is not str:
        raise _bad("'symbol' must be a string")
    side = _choice(c, "side", _SIDES, None)
    otype = _choice(c, "type", _TYPES, None)
    tif_name = c.get("tif", "gtc")
    tif = _choice(c, "tif", _TIFS, "gtc")
    stp = _choice(c, "stp", _STPS, "none")
    post_only = c.get("post_only", False)
    if type(post_only) is not bool:
        raise _bad("'post_only' must be true or false")
    inst = ex.instruments.get(symbol)
    qty = _wire_units(c, "qty", inst)
    price = None
    stop = None
    if otype in (LIMIT, STOP_LIMIT):
        if otype == STOP_LIMIT:
            stop = _stop_terms(c, otype, inst)
        price = _wire_units(c, "price", inst)
    elif c.get("price") is not None:
        raise _bad(f"a {TYPE_NAMES[otype]} order takes no price")
    elif otype != MARKET:
        stop = _stop_terms(c, otype, inst)
    expire_ts = 0
    if tif == GTD:
        expire_ts = c.get("expire_ts")  # type: ignore[assignment]
        if not is_int(expire_ts) or not MIN_INT64 <= expire_ts <= MAX_UNITS:
            raise _bad("'expire_ts' (integer ns) is required with tif gtd")
    if post_only and (otype not in _POST_ONLY_TYPES or tif_name not in _RESTING_TIFS):
        raise _bad("post_only needs a limit, stop_limit or trailing_stop_limit order with tif gtc, "
                   "gtd or day")
    iceberg = _iceberg_terms(c, otype, tif_name, inst)
    if inst is None:
        raise Refused("unknown_symbol", f"unknown symbol {symbol!r}")
    if qty is None:
        raise Refused("bad_qty", f"qty must be a positive multiple of the lot {inst.lot}")
    if iceberg is not None:
        display, variance = iceberg
        if display is None or display > qty:
            raise Refused("bad_qty", f"display_qty must be a positive multiple of the lot {inst.lot}, "
                          "at most qty")
        if variance is None or variance >= display:
            raise Refused("bad_qty", f"display_variance must be a multiple of the lot {inst.lot}, "
                          ">= 0 and < display_qty")
        if price is None:
            raise Refused("bad_price", f"price must be a positive multiple of the tick {inst.tick}")
        ex.submit_iceberg(user, cid, symbol, side, price, qty, display, variance, tif, expire_ts,
                          post_only, stp)
        return
    if stop is not None:
        trigger, trail, pct, offset = stop
        ex.submit_stop(user, cid, symbol, side, otype, qty, tif, expire_ts, post_only, stp,
                       trigger, -1 if price is None else price, trail, pct, offset)
        return
    if otype == LIMIT and price is None:
        raise Refused("bad_price", f"price must be a positive multiple of the tick {inst.tick}")
    ex.submit(user, cid, symbol, side, otype, price or 0, qty, tif, expire_ts, post_only, stp)


def _iceberg_terms(c: dict[str, Any], otype: int, tif_name: str,
                   inst: Instrument | None) -> tuple[int | None, int | None] | None:
    """(display, variance) in lots for an iceberg, None for any other order. A well-formed value
    out of range comes back as None, for a `bad_qty` after the qty check; misuse and malformed
    numbers are bad_command."""
    has_variance = c.get("display_variance") is not None
    if c.get("display_qty") is None:
        if has_variance:
            raise _bad("'display_variance' needs 'display_qty'")
        return None
    if otype != LIMIT or tif_name not in _RESTING_TIFS:
        raise _bad("display_qty (iceberg) needs a limit order with tif gtc, gtd or day")
    display = _wire_units(c, "display_qty", inst)
    variance: int | None = 0
    if has_variance:
        d = parse_decimal(c.get("display_variance"))
        if d is None:
            raise _bad("'display_variance' must be a decimal number")
        if d != 0:
            variance = _wire_units(c, "display_variance", inst)
    return display, variance


StopTerms = tuple[int, int, Decimal | None, int]


def _stop_terms(c: dict[str, Any], otype: int, inst: Instrument | None) -> StopTerms:
    """(trigger, trail, pct, offset) for a stop type, in ticks except pct; a well-formed value
    that is out of range comes back as an invalid number (0 or -1) so `submit_stop` refuses
    it with `bad_price` in the protocol's order; malformed or missing fields are bad_command."""
    if otype in (STOP, STOP_LIMIT):
        if c.get("trigger_price") is None:
            raise _bad(f"a {TYPE_NAMES[otype]} order needs 'trigger_price'")
        return _wire_units(c, "trigger_price", inst) or 0, 0, None, 0
    has_amount = c.get("trail_amount") is not None
    if has_amount == (c.get("trail_pct") is not None):
        raise _bad("a trailing stop needs exactly one of 'trail_amount' and 'trail_pct'")
    trail, pct = 0, None
    if has_amount:
        trail = _wire_units(c, "trail_amount", inst) or 0
    else:
        pct = parse_decimal(c.get("trail_pct"))
        if pct is None:
            raise _bad("'trail_pct' must be a decimal number")
        if decimal_places(pct) > _PCT_PLACES:
            pct = Decimal(-1)  # refused as bad_price: out of range
    offset = 0
    if otype == TRAILING_STOP_LIMIT:
        raw = c.get("limit_offset")
        if raw is None:
            raise _bad("a trailing_stop_limit order needs 'limit_offset'")
        d = parse_decimal(raw)
        if d is None:
            raise _bad("'limit_offset' must be a decimal number")
        offset = 0 if d == 0 else (_wire_units(c, "limit_offset", inst) or -1)
    return 0, trail, pct, offset


def cmd_cancel(ex: Exchange, c: dict[str, Any]) -> None:
    ex.cancel(_user(c), _cid(c))


def cmd_modify(ex: Exchange, c: dict[str, Any]) -> None:
    user = _user(c)
    cid = _cid(c)
    has_price = c.get("price") is not None
    has_qty = c.get("qty") is not None
    if not has_price and not has_qty:
        raise _bad("modify needs 'price' and/or 'qty'")
    orders = ex.live.get(user)
    o = orders.get(cid) if orders else None
    # A waiting stop is not a resting order: modifying it is answered like an unknown order.
    inst = ex.instruments[o.symbol] if o is not None and o.stop is None else None
    price = _wire_units(c, "price", inst) if has_price else None
    qty = _wire_units(c, "qty", inst) if has_qty else None
    if inst is None:
        raise Refused("unknown_order", f"no live order {cid!r}")
    if has_price and price is None:
        raise Refused("bad_price", f"price must be a positive multiple of the tick {inst.tick}")
    if has_qty and qty is None:
        raise Refused("bad_qty", f"qty must be a positive multiple of the lot {inst.lot}")
    ex.modify(user, cid, price, qty)


def cmd_cancel_all(ex: Exchange, c: dict[str, Any]) -> None:
    user = _user(c)
    symbol = _symbol(c, ex, required=False)
    ex.cancel_all(user, symbol)


def cmd_halt(ex: Exchange, c: dict[str, Any]) -> None:
    symbol = _symbol(c, ex)
    assert symbol is not None
    ex.set_halted(symbol, True)


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
    raise Refused("unsupported", "execution algorithms are not available yet")


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
    try:
        if handler is None:
            raise _bad(f"unknown command {name!r}" if "cmd" in c else "'cmd' is missing")
        handler(ex, c)
    except Refused as r:
        ex.reject(_name(c), r.reason, r.message)
    return ts


def _name(c: dict[str, Any]) -> str:
    name = c.get("cmd")
    return name if type(name) is str else ""
