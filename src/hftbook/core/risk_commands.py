"""The risk commands: an instrument's risk fields, `limits` and `kill_switch`.

Parsing and validation only (docs/PROTOCOL.md, "Risk settings of an instrument" and
"`limits` and `kill_switch`"); the checks themselves live in risk.py.

Invariants: a refused command changes nothing (every field is checked before anything is
set); the settings are kept both in engine units (for the checks) and as given, in
canonical form (for snapshots and the `limits` event), so a restore rebuilds them exactly.
"""

from __future__ import annotations

from decimal import MAX_EMAX, MIN_EMIN, ROUND_FLOOR, Decimal, localcontext
from fractions import Fraction
from typing import TYPE_CHECKING, Any

from hftbook.core.breaker import BreakerSpec
from hftbook.core.numbers import canonical, decimal_places, parse_decimal, to_units
from hftbook.core.order_terms import Refused, bad, parse_user
from hftbook.core.risk import InstrumentRisk, UserRisk
from hftbook.core.types import EV_RAW, MAX_UNITS

if TYPE_CHECKING:
    from hftbook.core.exchange import Exchange

RISK_FIELDS = ("min_qty", "max_qty", "max_notional", "price_collar_pct", "reference_price",
               "market_protection_ticks")
BREAKER_FIELDS = ("breaker_pct", "breaker_window_ns", "breaker_halt_ns", "breaker_min_trades")
_PCT_PLACES = 6


def check_risk_types(c: dict[str, Any]) -> None:
    """The risk fields' types (bad_command), checked before the tick and lot ranges."""
    for k in RISK_FIELDS[:5]:
        if c.get(k) is not None and parse_decimal(c.get(k)) is None:
            raise bad(f"'{k}' must be a decimal number")
    protect = c.get("market_protection_ticks")
    if protect is not None and type(protect) is not int:
        raise bad("'market_protection_ticks' must be an integer")
    if c.get("breaker_pct") is not None and parse_decimal(c.get("breaker_pct")) is None:
        raise bad("'breaker_pct' must be a decimal number")
    for k in BREAKER_FIELDS[1:]:
        if c.get(k) is not None and type(c.get(k)) is not int:
            raise bad(f"'{k}' must be an integer")
    given = [c.get(k) is not None for k in BREAKER_FIELDS[:3]]
    if any(given) and not all(given):
        raise bad("'breaker_pct', 'breaker_window_ns' and 'breaker_halt_ns' go together")
    if c.get("cooloff_collar_pct") is not None and parse_decimal(c.get("cooloff_collar_pct")) is None:
        raise bad("'cooloff_collar_pct' must be a decimal number")
    if c.get("cooloff_ns") is not None and type(c.get("cooloff_ns")) is not int:
        raise bad("'cooloff_ns' must be an integer")
    if (c.get("cooloff_collar_pct") is None) != (c.get("cooloff_ns") is None):
        raise bad("'cooloff_collar_pct' and 'cooloff_ns' go together")
    if c.get("halt_orders") not in (None, "reject", "collect"):
        raise bad("'halt_orders' must be \"reject\" or \"collect\"")


def parse_breaker(c: dict[str, Any]) -> BreakerSpec | None:
    """The circuit breaker fields of an `instrument` command (types already checked by
    `check_risk_types`); None when not set. Out of range: bad_price."""
    if c.get("breaker_pct") is None:
        min_trades = c.get("breaker_min_trades")
        if min_trades is not None and not 1 <= min_trades <= MAX_UNITS:
            raise Refused("bad_price", "breaker_min_trades must be an integer >= 1")
        return None  # breaker_min_trades alone: checked, and nothing to arm
    pct = parse_decimal(c.get("breaker_pct"))
    assert pct is not None
    if not (0 < pct <= 100 and decimal_places(pct) <= _PCT_PLACES):
        raise Refused("bad_price", "breaker_pct must be in (0, 100] with at most 6 decimal places")
    ints = [c.get(k, 1) if c.get(k) is not None else 1 for k in BREAKER_FIELDS[1:]]
    for k, v in zip(BREAKER_FIELDS[1:], ints, strict=True):
        if not 1 <= v <= MAX_UNITS:
            raise Refused("bad_price", f"{k} must be an integer >= 1")
    window, halt, min_trades = ints
    wire = {"breaker_pct": canonical(pct), "breaker_window_ns": window, "breaker_halt_ns": halt,
            "breaker_min_trades": min_trades}
    return BreakerSpec(Fraction(pct), window, halt, min_trades, wire)


def parse_instrument_risk(c: dict[str, Any], tick: Decimal, lot: Decimal) -> InstrumentRisk | None:
    """The risk fields of an `instrument` command in the new tick and lot; None when none is
    set. Malformed: bad_command; out of range: bad_qty (lot fields) or bad_price."""
    check_risk_types(c)
    raw = {k: c.get(k) for k in RISK_FIELDS}
    if all(v is None for v in raw.values()) and c.get("cooloff_ns") is None:
        return None
    dec = {k: (None if raw[k] is None else parse_decimal(raw[k])) for k in RISK_FIELDS[:5]}
    protect = raw["market_protection_ticks"]
    lots: dict[str, int | None] = {}
    for k in ("min_qty", "max_qty"):
        d = dec[k]
        lots[k] = None if d is None else to_units(d, lot)
        if d is not None and lots[k] is None:
            raise Refused("bad_qty", f"{k} must be a positive multiple of the lot {lot}")
    notional = dec["max_notional"]
    max_notional = None
    if notional is not None:
        if notional <= 0:
            raise Refused("bad_price", "max_notional must be positive")
        # price x qty in ticks x lots may not exceed notional / (tick x lot): whole units. Any
        # limit at or above MAX_UNITS**2 (what price x qty can reach) is the same: no limit,
        # which also keeps a limit like 1e999999999 from becoming a billion-digit integer.
        with localcontext() as ctx:
            ctx.prec = 120
            ctx.Emax, ctx.Emin = MAX_EMAX, MIN_EMIN
            units = notional / (tick * lot)
        cap = MAX_UNITS * MAX_UNITS
        max_notional = cap if units >= cap else int(units.to_integral_value(rounding=ROUND_FLOOR))
    pct = dec["price_collar_pct"]
    if pct is not None and not (0 < pct <= 100 and decimal_places(pct) <= _PCT_PLACES):
        raise Refused("bad_price", "price_collar_pct must be in (0, 100] with at most 6 decimal places")
    ref = dec["reference_price"]
    reference = None if ref is None else to_units(ref, tick)
    if ref is not None and reference is None:
        raise Refused("bad_price", f"reference_price must be a positive multiple of the tick {tick}")
    if protect is not None and not 0 <= protect <= MAX_UNITS:
        raise Refused("bad_price", "market_protection_ticks must be an integer >= 0")
    cool_pct = parse_decimal(c.get("cooloff_collar_pct")) if c.get("cooloff_collar_pct") is not None else None
    cool_ns = c.get("cooloff_ns") or 0
    if cool_pct is not None and not (0 < cool_pct <= 100 and decimal_places(cool_pct) <= _PCT_PLACES):
        raise Refused("bad_price", "cooloff_collar_pct must be in (0, 100] with at most 6 decimal places")
    if cool_pct is not None and not 1 <= cool_ns <= MAX_UNITS:
        raise Refused("bad_price", "cooloff_ns must be an integer >= 1")
    wire: dict[str, Any] = {}
    for k in RISK_FIELDS[:5]:
        d = dec[k]
        wire[k] = None if d is None else canonical(d)
    wire["market_protection_ticks"] = protect
    if cool_pct is not None:
        wire["cooloff_collar_pct"] = canonical(cool_pct)
        wire["cooloff_ns"] = cool_ns
    return InstrumentRisk(lots["min_qty"], lots["max_qty"], max_notional,
                          None if pct is None else Fraction(pct), reference, protect, wire,
                          None if cool_pct is None else Fraction(cool_pct), cool_ns)


def _limit(c: dict[str, Any], key: str) -> int | None:
    v = c.get(key)
    if v is None:
        return None
    if type(v) is not int or not 1 <= v <= MAX_UNITS:
        raise bad(f"'{key}' must be an integer >= 1")
    return v


def cmd_limits(ex: Exchange, c: dict[str, Any]) -> None:
    user = parse_user(c)
    max_open, rate, burst = _limit(c, "max_open_orders"), _limit(c, "rate"), _limit(c, "burst")
    if (rate is None) != (burst is None):
        raise bad("'rate' and 'burst' go together")
    ex.set_user_limits(user, max_open, rate, burst)
    ex.out.append((EV_RAW, limits_event(user, max_open, rate, burst)))


def limits_event(user: str, max_open: int | None, rate: int | None, burst: int | None) -> dict[str, Any]:
    return {"type": "limits", "ts": 0, "user": user, "max_open_orders": max_open, "rate": rate,
            "burst": burst}


def cmd_kill_switch(ex: Exchange, c: dict[str, Any]) -> None:
    user = parse_user(c)
    active = c.get("active")
    if type(active) is not bool:
        raise bad("'active' must be true or false")
    if active == (user in ex.killed):
        raise Refused("bad_state", f"{user}'s kill switch is {'on' if active else 'off'} already")
    ex.set_kill_switch(user, active)


def user_risk_snapshot(ex: Exchange) -> dict[str, Any]:
    """Per-user limits (with their buckets) and kill switches, in user order."""
    return {
        "limits": [
            {"user": u, "max_open_orders": r.max_open, "rate": r.rate, "burst": r.burst,
             "level": r.level, "ts": r.ts}
            for u, r in sorted(ex.user_limits.items())
        ],
        "killed": sorted(ex.killed),
    }


def restore_user_risk(ex: Exchange, data: dict[str, Any]) -> None:
    for r in data["limits"]:
        limits = UserRisk(r["max_open_orders"], r["rate"], r["burst"], r["ts"])
        limits.level = r["level"]
        ex.user_limits[r["user"]] = limits
    ex.killed = set(data["killed"])
    ex.user_risk = bool(ex.user_limits or ex.killed)
