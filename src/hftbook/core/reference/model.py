"""The reference exchange's plain records: instruments and their risk settings, the users'
risk state, orders, the circuit breaker's band, a call's indicative uncross, events, book
levels and the ``Refused`` exception.

Invariants:

- An ``Instrument`` keeps its tick and lot as exact positive ``Decimal`` values; prices and
  quantities elsewhere are integers (ticks and lots) and are turned into canonical decimal
  strings only by ``price_str`` / ``qty_str``, when an event is written.
- An ``Order`` has ``price`` in ticks (``None`` only for a market order, which never
  rests: in a call it is *held* outside the book until the uncross) and ``open`` in lots. A
  resting order has ``open > 0`` and a ``seq`` (time priority) that no other order shares;
  ``order_id`` is 0 until the order is accepted.
- An iceberg is an ``Order`` whose ``ice`` is an ``Iceberg`` (``None`` for every other
  order). Resting, its ``open`` is the visible slice (the only matchable part) and
  ``ice.hidden`` the rest; on its way in as a taker its whole open quantity is in ``open``
  and ``ice.hidden`` is 0. Either way ``Order.total()`` is its whole open quantity.
  ``0 <= ice.variance < ice.display``; ``ice.rng`` is its SplitMix64 state (see ``iceberg``).
- ``Order.filled`` is the sum of the order's trades (as maker or taker), never lowered: an
  STP decrement, a cancel or a modify leaves it alone. A bracket's entry reads it as F.
- ``Event`` is a plain dict whose key order is the order the keys are written in.
- ``RiskSettings`` holds an instrument's risk fields already checked and converted (lots,
  ticks, exact decimals); ``None`` is "off". An instrument always has one (all off by default)
  and an ``instrument`` command replaces it whole.
- ``UserRisk`` holds a user's limits as last set and whether the kill switch is on; its token
  bucket is not a running count but a ledger (``since``, ``taken``) that ``risk`` replays.
- ``Order.bound`` is set only on a market order with market protection, when it starts: the
  worst price it may trade at. ``crosses`` reads it as the limit a market order lacks.
- ``Order.band`` is set only while the order is the taker of a matching step whose symbol's
  circuit breaker is armed (from the step's start, before its FOK dry run, to the step's end):
  the walk then stops at the first maker outside it (``NaiveBook.makers_for``). Every dry run
  made outside a step (the post-only checks) ignores the band.
- ``RiskSettings.breaker_pct``, ``breaker_window`` and ``breaker_halt`` are all set or all None
  (the circuit breaker is off); ``breaker_min_trades`` is always an integer >= 1.
- ``Instrument.halt_until`` is set only while the symbol is halted by its circuit breaker or by a
  ``halt`` with ``until_ts``: the ts at which that halt ends by itself (fixed when it starts),
  and ``resume_reason`` is then the reason of that resume (``volatility`` / ``scheduled``); both
  are None otherwise (running, or a manual halt without ``until_ts``).
- ``Instrument.indicative`` is the last ``indicative`` published during the current halt, as
  (price in ticks or None, volume, surplus) in lots; it is ``NOTHING`` (nothing would trade)
  while the symbol runs and when a halt starts.
- ``RiskSettings.halt_orders`` is ``reject`` or ``collect`` (a call auction during halts).

Only the standard library is used.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from typing import Any

from .decimals import decimal_parts, format_scaled

__all__ = [
    "NOTHING",
    "Band",
    "Event",
    "Iceberg",
    "Indicative",
    "Instrument",
    "Level",
    "Order",
    "Refused",
    "RiskSettings",
    "UserRisk",
]

Event = dict[str, Any]
# One side's level, in the fast engine's introspection shape:
# (price_ticks, total_lots, order_count, [(order_id, open_lots), ...] in FIFO order).
Level = tuple[int, int, int, list[tuple[int, int]]]
# A call's indicative uncross: (price in ticks, or None when nothing would trade; volume in lots;
# surplus in lots, buy minus sell marketable at the price, signed).
Indicative = tuple[int | None, int, int]
NOTHING: Indicative = (None, 0, 0)


class Refused(Exception):
    """An order (or a part of a list command, or a command) refused with ``reason``."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


@dataclass
class RiskSettings:
    """An instrument's risk settings (``docs/PROTOCOL.md``); each None when off."""

    min_qty: int | None = None  # lots
    max_qty: int | None = None  # lots
    max_notional: Decimal | None = None  # quote currency, exact: price x qty may not exceed it
    collar_pct: Decimal | None = None  # in (0, 100], at most 6 decimal places
    reference_price: int | None = None  # ticks; the collar's reference instead of the last trade
    protection_ticks: int | None = None  # market protection, >= 0
    # The circuit breaker (volatility halts): pct, window and halt all set, or all None (off).
    breaker_pct: Decimal | None = None  # in (0, 100], at most 6 decimal places
    breaker_window: int | None = None  # ns of ts: the window holds the trades with ts > now - window
    breaker_halt: int | None = None  # ns of ts: how long a volatility halt lasts
    breaker_min_trades: int = 1  # armed while the window holds at least this many trades
    halt_orders: str = "reject"  # "collect": orders arriving in a halt are collected (a call)
    cooloff_pct: Decimal | None = None  # the cooling-off collar after a resume, like collar_pct
    cooloff_ns: int | None = None  # how long it lasts (ns of ts); both set or both None


@dataclass
class UserRisk:
    """A user's limits and kill switch. The token bucket is the ledger of its tokens: set full
    at ``since`` (the ts of the ``limits`` command), and one taken at each ts in ``taken``."""

    max_open_orders: int | None = None
    rate: int | None = None  # tokens per second of ts
    burst: int | None = None  # bucket size in tokens; rate and burst are both set or both None
    since: int = 0
    taken: list[int] = field(default_factory=list)
    killed: bool = False


@dataclass
class Instrument:
    """A tradable symbol: its tick and lot sizes, whether trading is halted, its risk settings."""

    symbol: str
    tick: Decimal
    lot: Decimal
    halted: bool = False
    risk: RiskSettings = field(default_factory=RiskSettings)
    halt_until: int | None = None  # when the halt ends by itself (ts); None: running, or until a resume
    resume_reason: str | None = None  # the reason of that automatic resume: volatility or scheduled
    indicative: Indicative = NOTHING  # the last indicative published in this halt
    cool_until: int = 0  # the cooling-off collar applies to commands with ts before this

    def price_str(self, ticks: int) -> str:
        coef, exp = decimal_parts(self.tick)
        return format_scaled(ticks * coef, exp)

    def qty_str(self, lots: int) -> str:
        coef, exp = decimal_parts(self.lot)
        return format_scaled(lots * coef, exp)

    def price_places(self) -> int:
        """Number of decimal places of the tick size (0 for integer ticks)."""
        _, exp = decimal_parts(self.tick.normalize())
        return max(0, -exp)


@dataclass(frozen=True)
class Band:
    """The circuit breaker's band for one matching step: every price p (in ticks) with
    |p - mean| x 100 <= mean x pct. ``mean`` is the mean price of the trades in the window, in
    ticks, exact; the comparisons are exact and inclusive."""

    mean: Fraction
    pct: Fraction

    def holds(self, price: int) -> bool:
        """Whether ``price`` is in the band."""
        return abs(price - self.mean) * 100 <= self.mean * self.pct


@dataclass
class Iceberg:
    """The iceberg terms of an order (contract rule 8) and its hidden quantity, in lots."""

    display: int  # the size of a slice, before variance
    variance: int  # 0 <= variance < display: a refill is display + r, r in [-variance, variance]
    hidden: int = 0  # quantity not in the visible slice (0 while the order is a taker)
    rng: int = 0  # SplitMix64 state: the engine order_id, advanced once per varied refill


@dataclass
class Order:
    """One order, as a taker on its way in or as a maker resting in the book."""

    order_id: int
    user: str
    id: str | int
    symbol: str
    side: str
    order_type: str
    price: int | None  # ticks; None for market orders
    open: int  # lots
    tif: str
    expire_ts: int | None
    post_only: bool
    stp: str
    seq: int = 0  # time priority, set when the order joins the back of a level
    ice: Iceberg | None = None  # icebergs only
    filled: int = 0  # lots traded so far, as maker or taker (a bracket entry's F)
    bound: int | None = None  # a protected market order: the worst price it may trade at
    band: Band | None = None  # the taker of a step with an armed breaker: where it may trade

    def total(self) -> int:
        """The whole open quantity: the visible slice plus an iceberg's hidden part."""
        return self.open if self.ice is None else self.open + self.ice.hidden

    def crosses(self, maker_price: int) -> bool:
        """Whether ``maker_price`` is within this taker's own limit (its limit price, or a market
        order's protected price; a market order without protection has no limit). The band is
        not looked at here (see ``NaiveBook.makers_for``)."""
        limit = self.price if self.price is not None else self.bound
        if limit is None:
            return True
        if self.side == "buy":
            return maker_price <= limit
        return maker_price >= limit
