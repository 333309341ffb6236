"""The `algo` command's fields: parsed and checked in docs/ALGO.md's order into an `AlgoSpec`.

Invariants: a refusal is a `Refused` raised before anything changes; numbers become whole
ticks and lots of the symbol here (prices and quantities are integers from here on); the
optional fields are echoed on `algo_started` in canonical form, in the table's order.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from typing import Any

from hftbook.algo.schedule import intervals, u_profile
from hftbook.core.numbers import canonical, decimal_places, parse_decimal, to_units
from hftbook.core.order_terms import Refused, bad, parse_cid, parse_user
from hftbook.core.types import MAX_UNITS

ALGOS = ("twap", "vwap", "pov")
STYLES = ("ioc", "passive")
# Optional fields in the table's order, with the algorithms that take them.
OPTIONAL: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("interval_ns", ALGOS),
    ("limit_price", ALGOS),
    ("style", ALGOS),
    ("min_child_qty", ALGOS),
    ("max_child_qty", ALGOS),
    ("urgency", ("twap",)),
    ("jitter_pct", ("twap",)),
    ("seed", ("twap",)),
    ("profile", ("vwap",)),
    ("pov_pct", ("pov",)),
)


@dataclass
class AlgoSpec:
    """A parent's terms: ticks and lots, ns of `ts`."""

    user: str
    cid: Any
    symbol: str
    side: str
    algo: str
    qty: int
    start: int
    end: int
    interval: int
    limit: int | None = None
    style: str = "ioc"
    min_child: int = 1
    max_child: int | None = None
    urgency: Fraction = Fraction(0)
    jitter_pct: int = 0
    seed: int = 0
    profile: list[Fraction] = field(default_factory=list)
    pov_pct: Fraction = Fraction(0)
    echo: dict[str, Any] = field(default_factory=dict)  # the optional fields as given, canonical


def _number(c: dict[str, Any], key: str) -> Decimal:
    d = parse_decimal(c.get(key))
    if d is None:
        raise bad(f"'{key}' must be a decimal number")
    return d


def _int(c: dict[str, Any], key: str, lo: int, hi: int) -> int:
    v = c.get(key)
    if type(v) is not int or not lo <= v <= hi:
        raise bad(f"'{key}' must be an integer in {lo} .. {hi}")
    return v


def parse_algo(c: dict[str, Any], lots: dict[str, tuple[Decimal, Decimal]]) -> AlgoSpec:
    """The checks up to `bad_price` (`duplicate_id` and `expired` are the engine's);
    `lots` maps each defined symbol to its (tick, lot)."""
    user = parse_user(c)
    cid = parse_cid(c)
    symbol = c.get("symbol")
    if type(symbol) is not str:
        raise bad("'symbol' must be a string")
    side = c.get("side")
    if side not in ("buy", "sell"):
        raise bad("'side' must be buy or sell")
    algo = c.get("algo")
    if algo not in ALGOS:
        raise bad("'algo' must be twap, vwap or pov")
    qty = _number(c, "qty")
    start = _int(c, "start_ts", 0, MAX_UNITS)
    end = _int(c, "end_ts", 0, MAX_UNITS)
    if start >= end:
        raise bad("'start_ts' must be before 'end_ts'")
    given = {k: c[k] for k, _ in OPTIONAL if c.get(k) is not None}
    for k, algos in OPTIONAL:
        if k in given and algo not in algos:
            raise bad(f"'{k}' is not a field of {algo}")
    if algo == "pov" and "pov_pct" not in given:
        raise bad("'pov_pct' is required for pov")
    interval = _int(c, "interval_ns", 1, MAX_UNITS) if "interval_ns" in given else max(1, (end - start) // 10)
    limit_d = _number(c, "limit_price") if "limit_price" in given else None
    style = given.get("style", "ioc")
    if style not in STYLES:
        raise bad("'style' must be ioc or passive")
    min_d = _number(c, "min_child_qty") if "min_child_qty" in given else None
    max_d = _number(c, "max_child_qty") if "max_child_qty" in given else None
    urgency = Fraction(0)
    if "urgency" in given:
        u = _number(c, "urgency")
        if not 0 <= u <= 10 or decimal_places(u) > 6:
            raise bad("'urgency' must be a decimal in [0, 10] with at most 6 places")
        urgency = Fraction(u)
    jitter = _int(c, "jitter_pct", 0, 50) if "jitter_pct" in given else 0
    seed = _int(c, "seed", -(2**63), MAX_UNITS) if "seed" in given else 0
    profile: list[Fraction] = []
    if "profile" in given:
        raw = given["profile"]
        if type(raw) is not list or not raw:
            raise bad("'profile' must be a non-empty list of positive decimals")
        for w in raw:
            d = parse_decimal(w)
            if d is None or d <= 0:
                raise bad("'profile' must be a non-empty list of positive decimals")
            profile.append(Fraction(d))
        if len(profile) != intervals(start, end, interval):
            raise bad(f"'profile' needs one weight per slice interval: {intervals(start, end, interval)}")
    pct = Fraction(0)
    if algo == "pov":
        p = _number(c, "pov_pct")
        if not 0 < p <= 100 or decimal_places(p) > 6:
            raise bad("'pov_pct' must be a decimal in (0, 100] with at most 6 places")
        pct = Fraction(p)
    units = lots.get(symbol)
    if units is None:
        raise Refused("unknown_symbol", f"unknown symbol {symbol!r}")
    tick, lot = units
    q = to_units(qty, lot)
    if q is None:
        raise Refused("bad_qty", f"qty must be a positive multiple of the lot {lot}")
    min_child = 1
    if min_d is not None:
        m = to_units(min_d, lot)
        if m is None:
            raise Refused("bad_qty", f"min_child_qty must be a positive multiple of the lot {lot}")
        min_child = m
    max_child = None
    if max_d is not None:
        max_child = to_units(max_d, lot)
        if max_child is None:
            raise Refused("bad_qty", f"max_child_qty must be a positive multiple of the lot {lot}")
    limit = None
    if limit_d is not None:
        limit = to_units(limit_d, tick)
        if limit is None:
            raise Refused("bad_price", f"limit_price must be a positive multiple of the tick {tick}")
    echo: dict[str, Any] = {}
    for k, _ in OPTIONAL:
        if k in given:
            v = given[k]
            if k == "profile":
                echo[k] = [canonical(Decimal(w.numerator) / Decimal(w.denominator)) for w in profile]
            elif isinstance(v, int) or k == "style":
                echo[k] = v
            else:
                echo[k] = canonical(_number(c, k))
    if algo == "vwap" and not profile:
        profile = u_profile(intervals(start, end, interval))
    return AlgoSpec(user, cid, symbol, side, algo, q, start, end, interval, limit, style, min_child,
                    max_child, urgency, jitter, seed, profile, pct, echo)


__all__ = ["ALGOS", "AlgoSpec", "parse_algo"]
