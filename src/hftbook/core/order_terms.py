"""One order's terms from a contract command: parsed, checked, and handed to the engine.

`new` uses this for its single order; `oco` and `bracket` use it for each of their parts, so
every door validates an order the same way. The checks run in the stages docs/PROTOCOL.md
gives, and each stage finishes for every part before the next begins:
1. `parse_order`: field types and combinations (`bad_command`); numbers are converted with
   the symbol's instrument when it exists, and a well-formed number that is out of range is
   kept as None (or an invalid sentinel) for stage 3 to report;
2. the symbol (`unknown_symbol`), by the caller;
3. `check_units`: `bad_qty`, then `bad_price` in the protocol table's field order;
then admission (duplicate id, halt, expiry, triggers, dry runs) happens in the engine.

Invariants: raising `Refused` is the only way out of a failed check, and nothing here changes
engine state; `submit_order` is the only function that does.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

from hftbook.core.instrument import Instrument
from hftbook.core.numbers import decimal_places, parse_decimal
from hftbook.core.types import (
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

SIDES = {name: code for code, name in enumerate(SIDE_NAMES)}
TYPES = {name: code for code, name in enumerate(TYPE_NAMES)}
TIFS = {name: code for code, name in enumerate(TIF_NAMES)}
STPS = {name: code for code, name in enumerate(STP_NAMES)}
RESTING_TIFS = ("gtc", "gtd", "day")
_POST_ONLY_TYPES = (LIMIT, STOP_LIMIT, TRAILING_STOP_LIMIT)
_QTY_FIELDS = ("qty", "display_qty", "display_variance")  # in lots; every other number is in ticks
_PCT_PLACES = 6  # trail_pct precision: enough for a basis point of a basis point


class Refused(Exception):
    """A command refused with a reason; carries the human-readable message."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


def bad(message: str) -> Refused:
    return Refused("bad_command", message)


def is_int(v: object) -> bool:
    return type(v) is int


def parse_user(c: dict[str, Any]) -> str:
    user = c.get("user")
    if type(user) is not str or not user:
        raise bad("'user' must be a non-empty string")
    return user


def parse_cid(c: dict[str, Any]) -> Any:
    cid = c.get("id")
    if type(cid) is not str and not (type(cid) is int and MIN_INT64 <= cid <= MAX_UNITS):
        raise bad("'id' must be a string or a 64-bit integer")
    return cid


def choice(c: dict[str, Any], key: str, table: dict[str, int], default: str | None) -> int:
    v = c.get(key, default)
    if type(v) is not str or v not in table:
        raise bad(f"'{key}' must be one of {', '.join(table)}")
    return table[v]


def wire_units(c: dict[str, Any], key: str, inst: Instrument | None) -> int | None:
    """Lots (quantity fields) or ticks (price fields) of a wire number; `bad_command` if malformed.

    None means well-formed but not a positive multiple in range, or no instrument to measure
    it by yet; the caller reports that after its own earlier checks. With an instrument the
    answer comes from its cache, so a repeated price string costs one dict lookup.
    """
    raw = c.get(key)
    if inst is None:
        if parse_decimal(raw) is None:
            raise bad(f"'{key}' must be a decimal number")
        return None
    units = inst.qty_from_wire(raw) if key in _QTY_FIELDS else inst.price_from_wire(raw)
    if units is False:
        raise bad(f"'{key}' must be a decimal number")
    return int(units) if units else None


StopTerms = tuple[int, int, Decimal | None, int]


class OrderTerms:
    """A parsed order: codes, and units (None: well-formed but out of range, see stage 3)."""

    __slots__ = ("cid", "expire_ts", "iceberg", "otype", "post_only", "price", "qty", "side", "stop",
                 "stp", "symbol", "tif", "user")

    def __init__(self, user: str, cid: Any, symbol: str, side: int, otype: int, tif: int, stp: int,
                 post_only: bool, qty: int | None, price: int | None, stop: StopTerms | None,
                 expire_ts: int, iceberg: tuple[int | None, int | None] | None) -> None:
        self.user = user
        self.cid = cid
        self.symbol = symbol
        self.side = side
        self.otype = otype
        self.tif = tif
        self.stp = stp
        self.post_only = post_only
        self.qty = qty
        self.price = price
        self.stop = stop  # (trigger, trail, pct, offset) for the stop types
        self.expire_ts = expire_ts
        self.iceberg = iceberg  # (display, variance) for an iceberg


def parse_order(c: dict[str, Any], ex: Exchange, needs_qty: bool = True) -> OrderTerms:
    """Stage 1 for one order (a `new` command, or a part with user/symbol/side filled in).

    `needs_qty=False` is for a bracket's children, whose quantity comes from the entry.
    """
    user = parse_user(c)
    cid = parse_cid(c)
    symbol = c.get("symbol")
    if type(symbol) is not str:
        raise bad("'symbol' must be a string")
    side = choice(c, "side", SIDES, None)
    otype = choice(c, "type", TYPES, None)
    tif_name = c.get("tif", "gtc")
    tif = choice(c, "tif", TIFS, "gtc")
    stp = choice(c, "stp", STPS, "none")
    post_only = c.get("post_only", False)
    if type(post_only) is not bool:
        raise bad("'post_only' must be true or false")
    inst = ex.instruments.get(symbol)
    qty = wire_units(c, "qty", inst) if needs_qty else 1
    price = None
    stop = None
    if otype in (LIMIT, STOP_LIMIT):
        if otype == STOP_LIMIT:
            stop = _stop_terms(c, otype, inst)
        price = wire_units(c, "price", inst)
    elif c.get("price") is not None:
        raise bad(f"a {TYPE_NAMES[otype]} order takes no price")
    elif otype != MARKET:
        stop = _stop_terms(c, otype, inst)
    expire_ts = 0
    if tif == GTD:
        expire_ts = c.get("expire_ts")  # type: ignore[assignment]
        if not is_int(expire_ts) or not MIN_INT64 <= expire_ts <= MAX_UNITS:
            raise bad("'expire_ts' (integer ns) is required with tif gtd")
    if post_only and (otype not in _POST_ONLY_TYPES or tif_name not in RESTING_TIFS):
        raise bad("post_only needs a limit, stop_limit or trailing_stop_limit order with tif gtc, "
                  "gtd or day")
    iceberg = _iceberg_terms(c, otype, tif_name, inst)
    return OrderTerms(user, cid, symbol, side, otype, tif, stp, post_only, qty, price, stop, expire_ts,
                      iceberg)


def check_units(t: OrderTerms, inst: Instrument) -> None:
    """Stage 3: `bad_qty` (qty, display, variance), then `bad_price` in the table's order."""
    qty = t.qty
    if qty is None:
        raise Refused("bad_qty", f"qty must be a positive multiple of the lot {inst.lot}")
    if t.iceberg is not None:
        display, variance = t.iceberg
        if display is None or display > qty:
            raise Refused("bad_qty", f"display_qty must be a positive multiple of the lot {inst.lot}, "
                          "at most qty")
        if variance is None or variance >= display:
            raise Refused("bad_qty", f"display_variance must be a multiple of the lot {inst.lot}, "
                          ">= 0 and < display_qty")
    tick = inst.tick
    if t.stop is not None:
        trigger, trail, pct, offset = t.stop
        if t.otype in (STOP, STOP_LIMIT) and not 0 < trigger <= MAX_UNITS:
            raise Refused("bad_price", f"trigger_price must be a positive multiple of the tick {tick}")
    if t.otype in (LIMIT, STOP_LIMIT) and t.price is None:
        raise Refused("bad_price", f"price must be a positive multiple of the tick {tick}")
    if t.stop is not None and t.otype not in (STOP, STOP_LIMIT):
        if not (0 < trail <= MAX_UNITS if pct is None else 0 < pct < 100):
            raise Refused("bad_price", f"trail_amount must be a positive multiple of the tick {tick}, "
                          "trail_pct between 0 and 100 with at most 6 decimal places")
        if not 0 <= offset <= MAX_UNITS:
            raise Refused("bad_price", f"limit_offset must be a multiple of the tick {tick}, >= 0")


def submit_order(ex: Exchange, t: OrderTerms) -> int:
    """Hand checked terms to the engine's integer door (admission happens there)."""
    assert t.qty is not None
    if t.iceberg is not None:
        display, variance = t.iceberg
        assert display is not None and variance is not None and t.price is not None
        return ex.submit_iceberg(t.user, t.cid, t.symbol, t.side, t.price, t.qty, display, variance,
                                 t.tif, t.expire_ts, t.post_only, t.stp)
    if t.stop is not None:
        trigger, trail, pct, offset = t.stop
        return ex.submit_stop(t.user, t.cid, t.symbol, t.side, t.otype, t.qty, t.tif, t.expire_ts,
                              t.post_only, t.stp, trigger, t.price or 0, trail, pct, offset)
    return ex.submit(t.user, t.cid, t.symbol, t.side, t.otype, t.price or 0, t.qty, t.tif, t.expire_ts,
                     t.post_only, t.stp)


def _stop_terms(c: dict[str, Any], otype: int, inst: Instrument | None) -> StopTerms:
    """(trigger, trail, pct, offset) for a stop type, in ticks except pct; a well-formed value
    that is out of range comes back as an invalid number (0 or -1) for `check_units` to refuse
    with `bad_price`; malformed or missing fields are bad_command."""
    if otype in (STOP, STOP_LIMIT):
        if c.get("trigger_price") is None:
            raise bad(f"a {TYPE_NAMES[otype]} order needs 'trigger_price'")
        return wire_units(c, "trigger_price", inst) or 0, 0, None, 0
    has_amount = c.get("trail_amount") is not None
    if has_amount == (c.get("trail_pct") is not None):
        raise bad("a trailing stop needs exactly one of 'trail_amount' and 'trail_pct'")
    trail, pct = 0, None
    if has_amount:
        trail = wire_units(c, "trail_amount", inst) or 0
    else:
        pct = parse_decimal(c.get("trail_pct"))
        if pct is None:
            raise bad("'trail_pct' must be a decimal number")
        if decimal_places(pct) > _PCT_PLACES:
            pct = Decimal(-1)  # refused as bad_price: out of range
    offset = 0
    if otype == TRAILING_STOP_LIMIT:
        raw = c.get("limit_offset")
        if raw is None:
            raise bad("a trailing_stop_limit order needs 'limit_offset'")
        d = parse_decimal(raw)
        if d is None:
            raise bad("'limit_offset' must be a decimal number")
        offset = 0 if d == 0 else (wire_units(c, "limit_offset", inst) or -1)
    return 0, trail, pct, offset


def _iceberg_terms(c: dict[str, Any], otype: int, tif_name: str,
                   inst: Instrument | None) -> tuple[int | None, int | None] | None:
    """(display, variance) in lots for an iceberg, None for any other order. A well-formed value
    out of range comes back as None, for a `bad_qty` after the qty check; misuse and malformed
    numbers are bad_command."""
    has_variance = c.get("display_variance") is not None
    if c.get("display_qty") is None:
        if has_variance:
            raise bad("'display_variance' needs 'display_qty'")
        return None
    if otype != LIMIT or tif_name not in RESTING_TIFS:
        raise bad("display_qty (iceberg) needs a limit order with tif gtc, gtd or day")
    display = wire_units(c, "display_qty", inst)
    variance: int | None = 0
    if has_variance:
        d = parse_decimal(c.get("display_variance"))
        if d is None:
            raise bad("'display_variance' must be a decimal number")
        if d != 0:
            variance = wire_units(c, "display_variance", inst)
    return display, variance
