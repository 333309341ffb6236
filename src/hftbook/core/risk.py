"""Pre-trade risk: per-instrument limits, per-user limits and the kill switch.

What is checked, where, and with which reasons is fixed in docs/PROTOCOL.md ("Risk settings
of an instrument", "`limits` and `kill_switch`", "Where the risk checks run"). The engine
calls `check_new` from every admission path (`submit`, `submit_stop`, `submit_iceberg`, the
list commands) and `check_modify` from `modify`, and asks `protected_limit` for a market
order's limit key when market protection is on.

Invariants: exact integer arithmetic only (prices in ticks, quantities in lots, notional
limits as whole tick x lot units, percentages as integer fractions, token buckets in units of
10**-9 token), so a check gives the same answer in every process; nothing here reads a clock
(the bucket refills from command `ts`); a refusal changes nothing except the token it took;
with no settings at all, the engine pays one truth test per order (`book.risk`,
`ex.user_risk`).
"""

from __future__ import annotations

from fractions import Fraction
from typing import TYPE_CHECKING, Any

from hftbook.core.types import BUY, MARKET, MAX_UNITS

if TYPE_CHECKING:
    from hftbook.core.book import OrderBook
    from hftbook.core.exchange import Exchange

TOKEN = 10**9  # one order's worth of a bucket; a bucket refills `rate` units per ns


class InstrumentRisk:
    """One symbol's limits, in engine units. "Off" is kept as a bound nothing reaches (qty
    1 .. MAX_UNITS, notional MAX_UNITS**2, collar numerator 0), so a check is one compare."""

    __slots__ = ("collar_den", "collar_num", "cool_den", "cool_ns", "cool_num", "hi", "lo", "max_notional",
                 "most", "protect", "reference", "wire")

    def __init__(self, min_qty: int | None, max_qty: int | None, max_notional: int | None,
                 collar: Fraction | None, reference: int | None, protect: int | None,
                 wire: dict[str, Any], cooloff: Fraction | None = None, cooloff_ns: int = 0) -> None:
        self.lo = 1 if min_qty is None else min_qty
        self.hi = MAX_UNITS if max_qty is None else max_qty
        self.max_notional = max_notional  # whole tick x lot units: floor(limit / (tick * lot))
        self.most = MAX_UNITS * MAX_UNITS if max_notional is None else max_notional
        # The collar percentage, in (0, 100], as plain ints (Fraction's terms are properties).
        self.collar_num = 0 if collar is None else collar.numerator
        self.collar_den = 1 if collar is None else collar.denominator
        self.reference = reference  # ticks
        self.protect = protect  # ticks beyond the best opposite price
        # The cooling-off collar after a resume, like the collar; `cool_ns` long (0: none).
        self.cool_num = 0 if cooloff is None else cooloff.numerator
        self.cool_den = 1 if cooloff is None else cooloff.denominator
        self.cool_ns = cooloff_ns
        self.wire = wire  # the settings as given (canonical strings), for snapshots

    def check_order(self, book: OrderBook, side: int, otype: int, price: int, qty: int,
                    trigger: int) -> tuple[str, str] | None:
        """The per-order checks, in the protocol's order; `price` is the limit price (0 for
        types without one), `trigger` a plain stop's trigger (0 otherwise)."""
        if qty < self.lo:
            return "qty_too_small", "qty is below the symbol's min_qty"
        if qty > self.hi:
            return "qty_too_large", "qty is above the symbol's max_qty"
        if price and self.collar_num:
            ref = self.reference or book.last
            if ref and abs(price - ref) * 100 * self.collar_den > ref * self.collar_num:
                return "price_out_of_collar", "the price is outside the symbol's price collar"
        if price and self.cool_num and book.clock[0] < book.cool_until:
            cool_ref = book.last or self.reference
            if cool_ref and abs(price - cool_ref) * 100 * self.cool_den > cool_ref * self.cool_num:
                return "price_out_of_collar", "the price is outside the cooling-off collar"
        if self.max_notional is not None:
            at = price or trigger
            if not at and otype == MARKET:
                at = self.market_price(book, side) or 0
            if at and at * qty > self.most:
                return "notional_too_large", "price x qty is above the symbol's max_notional"
        return None

    def market_price(self, book: OrderBook, side: int) -> int | None:
        """The price a market order is valued at: its protected price, else the best
        opposite price; None when the opposite side is empty."""
        best = book.best_ask() if side == BUY else book.best_bid()
        if best is None:
            return None
        if self.protect is None:
            return best
        return best + self.protect if side == BUY else max(1, best - self.protect)


class UserRisk:
    """One user's limits and token bucket; None = off."""

    __slots__ = ("burst", "cap", "level", "max_open", "rate", "ts")

    def __init__(self, max_open: int | None, rate: int | None, burst: int | None, ts: int) -> None:
        self.max_open = max_open
        self.rate = rate  # tokens per second = units per ns
        self.burst = burst
        self.cap = (burst or 0) * TOKEN
        self.level = self.cap  # starts full
        self.ts = ts  # when `level` was last brought up to date

    def take(self, now: int) -> bool:
        """Take a token at `now` if there is one (a `now` before the last refills nothing)."""
        if self.rate is None or self.burst is None:
            return True
        if now > self.ts:
            self.level = min(self.burst * TOKEN, self.level + (now - self.ts) * self.rate)
            self.ts = now
        if self.level < TOKEN:
            return False
        self.level -= TOKEN
        return True


def check_new(ex: Exchange, book: OrderBook, user: str,
              orders: list[tuple[int, int, int, int, int]]) -> tuple[str, str] | None:
    """The risk step of `new` and the list commands: `orders` are (side, type, limit price
    or 0, qty, plain stop trigger or 0) of every order the command would add."""
    if user in ex.killed:
        return "user_killed", f"{user}'s kill switch is on"
    limits = ex.user_limits.get(user)
    if limits is not None and not limits.take(ex.now):
        return "rate_limited", f"{user} is over the order rate limit"
    risk = book.risk
    if risk is not None:
        for side, otype, price, qty, trigger in orders:
            refusal = risk.check_order(book, side, otype, price, qty, trigger)
            if refusal is not None:
                return refusal
    if limits is not None and limits.max_open is not None:
        live = ex.live.get(user)
        if (len(live) if live else 0) + len(orders) > limits.max_open:
            return "too_many_orders", f"{user} would have more than {limits.max_open} live orders"
    return None


def check_one(ex: Exchange, book: OrderBook, user: str, side: int, otype: int, price: int,
              qty: int) -> tuple[str, str] | None:
    """`check_new` for one plain order (`submit`, the hot path): the same checks in the same
    order, `UserRisk.take` and `InstrumentRisk.check_order` written out so a checked order
    costs one call (a call each would add about a third to the checks' cost)."""
    killed = ex.killed
    if killed and user in killed:
        return "user_killed", f"{user}'s kill switch is on"
    limits = ex.user_limits.get(user)
    if limits is not None:
        rate = limits.rate
        if rate is not None:
            now = ex.now
            level = limits.level
            if now > limits.ts:
                level += (now - limits.ts) * rate
                if level > limits.cap:
                    level = limits.cap
                limits.ts = now
            if level < TOKEN:
                limits.level = level
                return "rate_limited", f"{user} is over the order rate limit"
            limits.level = level - TOKEN
    risk = book.risk
    if risk is not None:
        if qty < risk.lo:
            return "qty_too_small", "qty is below the symbol's min_qty"
        if qty > risk.hi:
            return "qty_too_large", "qty is above the symbol's max_qty"
        if price:
            num = risk.collar_num
            if num:
                ref = risk.reference or book.last
                if ref and abs(price - ref) * 100 * risk.collar_den > ref * num:
                    return "price_out_of_collar", "the price is outside the symbol's price collar"
            num = risk.cool_num
            if num and ex.now < book.cool_until:
                cool_ref = book.last or risk.reference
                if cool_ref and abs(price - cool_ref) * 100 * risk.cool_den > cool_ref * num:
                    return "price_out_of_collar", "the price is outside the cooling-off collar"
            if price * qty > risk.most:
                return "notional_too_large", "price x qty is above the symbol's max_notional"
        elif risk.max_notional is not None and otype == MARKET:
            at = risk.market_price(book, side)
            if at is not None and at * qty > risk.most:
                return "notional_too_large", "price x qty is above the symbol's max_notional"
    if limits is not None and limits.max_open is not None:
        live = ex.live.get(user)
        if (len(live) if live else 0) >= limits.max_open:
            return "too_many_orders", f"{user} would have more than {limits.max_open} live orders"
    return None


def check_modify(ex: Exchange, book: OrderBook, user: str, side: int, price: int,
                 qty: int) -> tuple[str, str] | None:
    """The risk step of `modify` (new price and open quantity)."""
    if user in ex.killed:
        return "user_killed", f"{user}'s kill switch is on"
    risk = book.risk
    if risk is None:
        return None
    return risk.check_order(book, side, 0, price, qty, 0)


def protected_limit(book: OrderBook, side: int, limit_key: int) -> int:
    """A market order's limit key under market protection (unchanged without it)."""
    risk = book.risk
    if risk is None or risk.protect is None:
        return limit_key
    price = risk.market_price(book, side)
    if price is None:
        return limit_key
    return -price if side == BUY else price
