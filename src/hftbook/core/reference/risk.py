"""Risk controls of the reference exchange: an instrument's risk settings, the per-user limits
and kill switch, the checks they make and the market protection (``docs/PROTOCOL.md``, "Risk
settings of an instrument", "``limits`` and ``kill_switch``", "Where the risk checks run").

Everything is recomputed from scratch at the moment it is needed, nothing is cached: a user's
open orders are counted by a scan of every live order, the token bucket is replayed from its
ledger (the ts it was set full and the ts of every token taken since), the best opposite price
is a scan of the book, and the collar's reference is read from the settings or the symbol's last
trade price each time.

Invariants:

- The checks run in the protocol's order, first failure wins, and refuse with ``Refused``:
  for an order (``admit``) ``user_killed``, ``rate_limited``, then per part in turn
  ``qty_too_small``, ``qty_too_large``, ``price_out_of_collar``, ``notional_too_large``, then
  ``too_many_orders``; for a modify (``check_modify``) the same without the rate limit and
  the count.
- ``admit`` changes nothing but one thing: a command that passes ``rate_limited`` takes its
  token (appends its ts to the ledger) even when a later check refuses it, since it reached
  the risk step. A command refused ``user_killed`` or ``rate_limited`` takes none.
- The bucket is exact integer arithmetic: ``burst * 10**9`` units when full, ``rate`` units
  refilled per ns of ts elapsed (``rate`` tokens per second), ``10**9`` units per token; the
  bucket's clock only goes forward, so a ts lower than the last one refills nothing.
- Every comparison is exact: the collar as ``|price - ref| * 100 > ref * pct`` on ticks and a
  rational pct; the notional as an exact decimal product (a context so wide it never rounds,
  and a huge or tiny ``max_notional`` exponent is never expanded into digits). A check at its
  limit passes; only beyond it refuses.
- A market order's notional price is its protected price, or without protection the best
  opposite price; with the opposite side empty it is not checked (``no_liquidity`` follows).
  Trailing stops have no price at entry: no collar, no notional.
- ``protection_bound`` is the worst price a market order may trade at, fixed by its caller
  when the order starts: best ask + N ticks for a buy, max(1, best bid - N ticks) for a sell;
  None without protection or with the opposite side empty.
- The circuit breaker's fields (``docs/PROTOCOL.md``, "Circuit breaker: volatility halts")
  are read here with the other risk fields: their types after ``market_protection_ticks``
  (``breaker_pct`` any well-formed number, the three ``_ns`` / count fields JSON integers, not
  bool), then ``breaker_pct``, ``breaker_window_ns`` and ``breaker_halt_ns`` all three or none,
  all ``bad_command``; their ranges after the other risk fields' ranges, in the same order
  (``bad_price``; the integers, like every integer field of the protocol, at most
  2**63 - 1). ``breaker_min_trades`` alone is allowed, and range-checked like the others (it
  has no effect without the other three). What the breaker does is ``breaker``'s.
- ``halt_orders`` (``docs/PROTOCOL.md``, "Call auction") is read after the breaker fields'
  types: absent or null is ``reject``, ``reject`` and ``collect`` are kept as given, any other
  value or type is ``bad_command``. It has no range to check. What a call does is ``call``'s.

Only the standard library is used.
"""

from __future__ import annotations

import decimal
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import Any

from .decimals import MAX_UNITS, decimal_places, to_units
from .fields import Malformed, optional_number_field
from .model import Instrument, Order, Refused, RiskSettings, UserRisk
from .state import ReferenceState
from .stops import Price, Stop

__all__ = [
    "TOKEN",
    "RawSettings",
    "admit",
    "best_opposite",
    "bucket_units",
    "check_modify",
    "protection_bound",
    "read_settings",
    "settings_of",
]

TOKEN = 10**9  # units per token: with ts in ns, ``rate`` tokens per second is ``rate`` units per ns

# Exact decimal products: a precision and exponent range no real product reaches, and any
# rounding would raise (Inexact is trapped) rather than go unnoticed.
_EXACT = decimal.Context(
    prec=decimal.MAX_PREC,
    Emax=decimal.MAX_EMAX,
    Emin=decimal.MIN_EMIN,
    traps=[decimal.Inexact, decimal.Overflow, decimal.Underflow, decimal.InvalidOperation],
)


# -- an instrument's settings ---------------------------------------------------------------


@dataclass(frozen=True)
class RawSettings:
    """The risk fields of an ``instrument`` command, well-typed but not yet range-checked."""

    min_qty: Decimal | None
    max_qty: Decimal | None
    max_notional: Decimal | None
    collar_pct: Decimal | None
    reference_price: Decimal | None
    protection_ticks: int | None
    breaker_pct: Decimal | None
    breaker_window: int | None
    breaker_halt: int | None
    breaker_min_trades: int | None
    halt_orders: str
    cooloff_pct: Decimal | None
    cooloff_ns: int | None


def read_settings(cmd: dict[str, Any]) -> RawSettings:
    """The types of the risk fields but the cooling-off pair, in the table's order, then of
    the breaker's, the breaker's three together, the cooling-off pair's types and the pair
    together, then ``halt_orders`` (``Malformed``); null is absent."""
    min_qty = optional_number_field(cmd, "min_qty")
    max_qty = optional_number_field(cmd, "max_qty")
    max_notional = optional_number_field(cmd, "max_notional")
    collar_pct = optional_number_field(cmd, "price_collar_pct")
    reference_price = optional_number_field(cmd, "reference_price")
    ticks = _optional_int(cmd, "market_protection_ticks")
    breaker_pct = optional_number_field(cmd, "breaker_pct")
    window = _optional_int(cmd, "breaker_window_ns")
    halt = _optional_int(cmd, "breaker_halt_ns")
    min_trades = _optional_int(cmd, "breaker_min_trades")
    if len({breaker_pct is None, window is None, halt is None}) > 1:
        raise Malformed("breaker_pct, breaker_window_ns and breaker_halt_ns go together")
    cooloff_pct = optional_number_field(cmd, "cooloff_collar_pct")
    cooloff_ns = _optional_int(cmd, "cooloff_ns")
    if (cooloff_pct is None) != (cooloff_ns is None):
        raise Malformed("cooloff_collar_pct and cooloff_ns go together")
    halt_orders = cmd.get("halt_orders")
    if halt_orders is None:
        halt_orders = "reject"
    if halt_orders not in ("reject", "collect"):
        raise Malformed("halt_orders must be reject or collect")
    return RawSettings(min_qty, max_qty, max_notional, collar_pct, reference_price, ticks,
                       breaker_pct, window, halt, min_trades, halt_orders, cooloff_pct,
                       cooloff_ns)  # fmt: skip


def _optional_int(cmd: dict[str, Any], key: str) -> int | None:
    """A JSON integer field (a bool is not one), or None when absent or null."""
    value = cmd.get(key)
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool):
        raise Malformed(f"{key} must be an integer")
    return value


def settings_of(raw: RawSettings, tick: Decimal, lot: Decimal) -> RiskSettings:
    """The ranges, in the table's order, against the command's own tick and lot: ``bad_qty``
    for the lot fields, ``bad_price`` for the others (``Refused``)."""
    min_qty = _lots(raw.min_qty, lot, "min_qty")
    max_qty = _lots(raw.max_qty, lot, "max_qty")
    if raw.max_notional is not None and raw.max_notional <= 0:
        raise Refused("bad_price", "max_notional must be positive")
    pct = raw.collar_pct
    if pct is not None and not (0 < pct <= 100 and decimal_places(pct) <= 6):
        raise Refused("bad_price", "price_collar_pct must be in (0, 100] with at most 6 places")
    reference: int | None = None
    if raw.reference_price is not None:
        reference = to_units(raw.reference_price, tick)
        if reference is None:
            raise Refused("bad_price", "reference_price must be a positive tick multiple")
    ticks = raw.protection_ticks
    if ticks is not None and not 0 <= ticks <= MAX_UNITS:
        raise Refused("bad_price", "market_protection_ticks must be an integer in 0 .. 2**63 - 1")
    cool = raw.cooloff_pct
    if cool is not None and not (0 < cool <= 100 and decimal_places(cool) <= 6):
        raise Refused("bad_price", "cooloff_collar_pct must be in (0, 100] with at most 6 places")
    if raw.cooloff_ns is not None and not 1 <= raw.cooloff_ns <= MAX_UNITS:
        raise Refused("bad_price", "cooloff_ns must be an integer in 1 .. 2**63 - 1")
    breaker_pct = raw.breaker_pct
    if breaker_pct is not None and not (0 < breaker_pct <= 100 and decimal_places(breaker_pct) <= 6):
        raise Refused("bad_price", "breaker_pct must be in (0, 100] with at most 6 places")
    for name, value in (("breaker_window_ns", raw.breaker_window), ("breaker_halt_ns", raw.breaker_halt),
                        ("breaker_min_trades", raw.breaker_min_trades)):  # fmt: skip
        if value is not None and not 1 <= value <= MAX_UNITS:
            raise Refused("bad_price", f"{name} must be an integer in 1 .. 2**63 - 1")
    min_trades = 1 if raw.breaker_min_trades is None else raw.breaker_min_trades
    return RiskSettings(min_qty, max_qty, raw.max_notional, pct, reference, ticks,
                        breaker_pct, raw.breaker_window, raw.breaker_halt, min_trades,
                        raw.halt_orders, cool, raw.cooloff_ns)  # fmt: skip


def _lots(value: Decimal | None, lot: Decimal, name: str) -> int | None:
    if value is None:
        return None
    lots = to_units(value, lot)
    if lots is None:
        raise Refused("bad_qty", f"{name} must be a positive lot multiple")
    return lots


# -- the book and the market protection -----------------------------------------------------


def best_opposite(state: ReferenceState, order: Order) -> int | None:
    """The best price resting against ``order`` on its symbol (any user's), or None."""
    prices = [
        o.price
        for o in state.book.live
        if o.symbol == order.symbol and o.side != order.side and o.price is not None
    ]
    if not prices:
        return None
    return min(prices) if order.side == "buy" else max(prices)


def protection_bound(state: ReferenceState, order: Order) -> int | None:
    """The worst price a market ``order`` may trade at under its symbol's market protection,
    from the book as it is now; None for a limit order, without protection or with nothing
    against it."""
    if order.price is not None:
        return None
    n = state.instruments[order.symbol].risk.protection_ticks
    best = best_opposite(state, order)
    if n is None or best is None:
        return None
    return best + n if order.side == "buy" else max(1, best - n)


# -- the checks -----------------------------------------------------------------------------


def bucket_units(user: UserRisk, ts: int) -> int:
    """The units in ``user``'s token bucket at ``ts``, replayed from its ledger: full at
    ``since``, then for each token taken a refill up to its ts and the token out."""
    assert user.rate is not None and user.burst is not None
    cap = user.burst * TOKEN
    level, last = cap, user.since
    for taken_ts in user.taken:
        level = min(cap, level + user.rate * max(0, taken_ts - last))
        last = max(last, taken_ts)  # the bucket's clock never goes back
        level -= TOKEN
    return min(cap, level + user.rate * max(0, ts - last))


def admit(
    state: ReferenceState, inst: Instrument, user: str, parts: list[tuple[str, Order, Stop | None]]
) -> None:
    """The risk step of ``new``, ``oco`` and ``bracket``: ``Refused`` for the first check that
    fails. ``parts`` are (name for the message, order, stop record) in the protocol's order;
    a ``new`` has one part named "". Takes a token when the user is rate limited and has one."""
    limits = state.users.get(user)
    if limits is not None and limits.killed:
        raise Refused("user_killed", "the user's kill switch is on")
    if limits is not None and limits.rate is not None:
        ts = state.events.ts
        if bucket_units(limits, ts) < TOKEN:
            raise Refused("rate_limited", "no order token left")
        limits.taken.append(ts)  # reached the risk step: the token is spent whatever follows
    for name, order, stop in parts:
        _check_order(state, inst, name, order, stop)
    if limits is not None and limits.max_open_orders is not None:
        live = len(state.orders_of(user, None))
        if live + len(parts) > limits.max_open_orders:
            raise Refused("too_many_orders", f"{live} live orders + {len(parts)} > max_open_orders")


def check_modify(state: ReferenceState, inst: Instrument, order: Order, price: int, qty: int) -> None:
    """The risk step of ``modify`` (``Refused``), on the order it would leave: ``price`` and
    ``qty`` are its new price and whole open quantity, each the modify's or else the order's
    own (a modify of the qty alone still has its price checked, and the other way round)."""
    limits = state.users.get(order.user)
    if limits is not None and limits.killed:
        raise Refused("user_killed", "the user's kill switch is on")
    _check_qty(inst.risk, "", qty)
    _check_collar(state, inst, "", price)
    _check_cooloff(state, inst, "", price)
    _check_notional(inst, "", price, qty)


def _check_order(
    state: ReferenceState, inst: Instrument, name: str, order: Order, stop: Stop | None
) -> None:
    """The per-order checks of one order (a part of a list), not yet numbered."""
    _check_qty(inst.risk, name, order.total())
    limit = order.price if order.order_type == "limit" else None
    if stop is not None and stop.kind == "stop_limit":
        limit = stop.limit
    if limit is not None:
        _check_collar(state, inst, name, limit)
        _check_cooloff(state, inst, name, limit)
    price = limit
    if stop is not None and stop.kind == "stop":
        price = stop.trigger
    elif order.order_type == "market":
        bound = protection_bound(state, order)
        price = bound if bound is not None else best_opposite(state, order)  # None: side empty
    if price is not None:  # trailing stops (no price at entry) and empty-side markets: unchecked
        _check_notional(inst, name, price, order.total())


def _check_qty(risk: RiskSettings, name: str, qty: int) -> None:
    if risk.min_qty is not None and qty < risk.min_qty:
        raise Refused("qty_too_small", _named(name, "qty is below min_qty"))
    if risk.max_qty is not None and qty > risk.max_qty:
        raise Refused("qty_too_large", _named(name, "qty is above max_qty"))


def _check_collar(state: ReferenceState, inst: Instrument, name: str, price: int) -> None:
    pct = inst.risk.collar_pct
    ref: Price | None = inst.risk.reference_price
    if ref is None:
        ref = state.stops.last.get(inst.symbol)  # None before the first trade: no check
    if pct is None or ref is None:
        return
    gap = abs(Fraction(price) - Fraction(ref))  # in ticks, like ref: the ratio is what counts
    if gap * 100 > Fraction(ref) * Fraction(pct):
        raise Refused("price_out_of_collar", _named(name, "price is outside the collar"))


def _check_cooloff(state: ReferenceState, inst: Instrument, name: str, price: int) -> None:
    """The cooling-off collar, while a resume's cooling-off lasts: around the last trade (the
    auction's price after an uncross), else the configured reference price."""
    pct = inst.risk.cooloff_pct
    if pct is None or state.events.ts >= inst.cool_until:
        return
    ref: Price | None = state.stops.last.get(inst.symbol)
    if ref is None:
        ref = inst.risk.reference_price
    if ref is None:
        return
    if abs(Fraction(price) - Fraction(ref)) * 100 > Fraction(ref) * Fraction(pct):
        raise Refused("price_out_of_collar", _named(name, "price is outside the cooling-off collar"))


def _check_notional(inst: Instrument, name: str, price: int, qty: int) -> None:
    cap = inst.risk.max_notional
    if cap is None:
        return
    notional = _EXACT.multiply(
        _EXACT.multiply(Decimal(price), inst.tick), _EXACT.multiply(Decimal(qty), inst.lot)
    )
    if notional > cap:
        raise Refused("notional_too_large", _named(name, "price x qty is above max_notional"))


def _named(name: str, message: str) -> str:
    return f"{name}: {message}" if name else message
