"""One symbol's order book and its matching: price-time priority with self-trade prevention.

Layout: each side is a dict key -> Level plus a sorted list of keys, where key = price on the
bid side and -price on the ask side, so the best level of either side is `keys[-1]` and a taker
with limit key L may trade with every level whose key >= L. Levels are created on first order
and dropped (key removed, FIFO cleared) the moment their live count reaches zero, so
`keys` holds exactly the non-empty levels.

Invariants after every public call: the book is not crossed; no level is empty; each level's
qty/count equal the sums over its live orders; every live order sits in exactly one level
FIFO and in `live[user][cid]`; dead FIFO entries have qty 0. Matching appends raw event
tuples (see `types.EV_*`) to the shared `out` list and never reads a clock.
"""

from __future__ import annotations

from bisect import bisect_left, insort
from operator import attrgetter
from typing import Any

from hftbook.core.instrument import Instrument
from hftbook.core.order import Level, Order
from hftbook.core.types import (
    BUY,
    CANCEL_BOTH,
    CANCEL_MAKER,
    DECREMENT,
    EV_CANCELLED,
    EV_MODIFIED,
    EV_TRADE,
)

# Compact a level's FIFO when dead entries outnumber live ones by this much.
_COMPACT_SLACK = 16
# Matching trims the consumed front of a FIFO once it is this long and over half the list.
_TRIM_HEAD = 16
# Truthy for a live order: lets compaction filter a FIFO at C speed.
_open_qty = attrgetter("qty")

Live = dict[str, dict[Any, Order]]


class OrderBook:
    __slots__ = (
        "ask_keys",
        "ask_levels",
        "bid_keys",
        "bid_levels",
        "halted",
        "instrument",
        "live",
        "out",
        "seq",
        "symbol",
    )

    def __init__(
        self, instrument: Instrument, out: list[tuple[Any, ...]], live: Live, seq: list[int]
    ) -> None:
        self.symbol = instrument.symbol
        self.instrument = instrument
        self.bid_levels: dict[int, Level] = {}
        self.bid_keys: list[int] = []
        self.ask_levels: dict[int, Level] = {}
        self.ask_keys: list[int] = []
        self.halted = False
        self.out = out  # shared with the exchange: raw events in order
        self.live = live  # shared: user -> {client id -> live order}
        self.seq = seq  # shared: [next order id, next trade id]

    # -- queries -------------------------------------------------------------------------

    def best_bid(self) -> int | None:
        return self.bid_keys[-1] if self.bid_keys else None

    def best_ask(self) -> int | None:
        return -self.ask_keys[-1] if self.ask_keys else None

    def is_empty(self) -> bool:
        return not self.bid_keys and not self.ask_keys

    def depth(self, is_bid: bool, n: int) -> list[tuple[int, int, int]]:
        """Up to n levels of one side, best first: (price, qty, orders)."""
        keys, levels = (self.bid_keys, self.bid_levels) if is_bid else (self.ask_keys, self.ask_levels)
        result = []
        for k in reversed(keys[-n:] if n < len(keys) else keys):
            lv = levels[k]
            result.append((lv.price, lv.qty, lv.count))
        return result

    def levels_view(self, is_bid: bool) -> list[tuple[int, int, int, list[tuple[int, int]]]]:
        """Every level, best first, with its stored totals and its live orders in FIFO order."""
        keys, levels = (self.bid_keys, self.bid_levels) if is_bid else (self.ask_keys, self.ask_levels)
        view = []
        for k in reversed(keys):
            lv = levels[k]
            orders = [(o.oid, o.qty) for o in lv.orders if o.qty]
            view.append((lv.price, lv.qty, lv.count, orders))
        return view

    def live_orders(self) -> list[Order]:
        """All resting orders: bids best first then asks best first, FIFO within a level."""
        result: list[Order] = []
        for keys, levels in ((self.bid_keys, self.bid_levels), (self.ask_keys, self.ask_levels)):
            for k in reversed(keys):
                result.extend(o for o in levels[k].orders if o.qty)
        return result

    # -- resting and removal -------------------------------------------------------------

    def rest(self, o: Order) -> None:
        """Append a live order at the back of its price level."""
        if o.side == BUY:
            key = o.price
            levels, keys = self.bid_levels, self.bid_keys
        else:
            key = -o.price
            levels, keys = self.ask_levels, self.ask_keys
        level = levels.get(key)
        if level is None:
            level = new_level(o.price, key, levels, keys)
        level.orders.append(o)
        level.qty += o.qty
        level.count += 1
        o.level = level

    # -- matching ------------------------------------------------------------------------

    def crosses(self, o: Order, lim_key: int) -> bool:
        keys = self.ask_keys if o.side == BUY else self.bid_keys
        return bool(keys) and keys[-1] >= lim_key

    def fok_fillable(self, o: Order, lim_key: int) -> bool:
        """Dry run for FOK: would trades alone fill all of `o` (STP applied)?"""
        keys, levels = (self.ask_keys, self.ask_levels) if o.side == BUY else (self.bid_keys, self.bid_levels)
        need = o.qty
        user = o.user
        stp = o.stp
        for k in reversed(keys):
            if k < lim_key:
                return False
            level = levels[k]
            if not stp:
                need -= level.qty
                if need <= 0:
                    return True
                continue
            for m in level.orders:
                mq = m.qty
                if not mq:
                    continue
                if m.user == user:
                    if stp == CANCEL_MAKER:
                        continue
                    return False
                need -= mq
                if need <= 0:
                    return True
        return False

    def would_trade(self, o: Order, lim_key: int) -> bool:
        """Dry run for post-only: would matching print any trade (STP applied)?"""
        keys, levels = (self.ask_keys, self.ask_levels) if o.side == BUY else (self.bid_keys, self.bid_levels)
        rem = o.qty
        user = o.user
        stp = o.stp
        for k in reversed(keys):
            if k < lim_key:
                return False
            for m in levels[k].orders:
                mq = m.qty
                if not mq:
                    continue
                if m.user != user or not stp:
                    return True
                if stp == CANCEL_MAKER:
                    continue
                if stp == DECREMENT:
                    rem -= mq
                    if rem <= 0:
                        return False
                    continue
                return False  # cancel_taker / cancel_both end the walk without a trade
        return False

    def match(self, o: Order, lim_key: int) -> None:
        """Trade the incoming order `o` against the opposite side while it crosses.

        On return `o.qty` is what is left (0 if filled or cancelled by STP); the caller
        decides whether that rests or is cancelled.
        """
        if o.side == BUY:
            keys, levels = self.ask_keys, self.ask_levels
        else:
            keys, levels = self.bid_keys, self.bid_levels
        out = self.out
        live = self.live
        seq = self.seq
        user = o.user
        stp = o.stp
        rem = o.qty
        while rem and keys:
            k = keys[-1]
            if k < lim_key:
                break
            level = levels[k]
            q = level.orders
            h = level.head
            price = level.price
            while rem:
                m = q[h]
                mq = m.qty
                if not mq:
                    h += 1
                    continue
                if stp and m.user == user:
                    rem = self._self_match(o, m, rem, level)
                    if not level.count:
                        break
                    continue
                tid = seq[1]
                seq[1] = tid + 1
                if mq <= rem:
                    h += 1
                    rem -= mq
                    level.qty -= mq
                    level.count -= 1
                    m.qty = 0
                    del live[m.user][m.cid]
                    out.append((EV_TRADE, m, o, price, mq, tid))
                    if not level.count:
                        break
                else:
                    m.qty = mq - rem
                    level.qty -= rem
                    out.append((EV_TRADE, m, o, price, rem, tid))
                    rem = 0
            if not level.count:
                keys.pop()
                del levels[k]
                q.clear()
            elif h > _TRIM_HEAD and h + h > len(q):
                del q[:h]
                level.head = 0
            else:
                level.head = h
        o.qty = rem

    def _self_match(self, o: Order, m: Order, rem: int, level: Level) -> int:
        """Apply the taker's STP mode against its own resting order `m` (at the queue head).

        Returns the taker's remaining quantity; 0 ends matching. The caller drops the level
        if this empties it.
        """
        out = self.out
        stp = o.stp
        mq = m.qty
        if stp == DECREMENT:
            d = mq if mq < rem else rem
            if d == mq:
                self._kill_head(m, level)
                out.append((EV_CANCELLED, m, "stp", d))
            else:
                m.qty = mq - d
                level.qty -= d
                out.append((EV_MODIFIED, m, m.price, m.qty, "stp"))
            rem -= d
            if rem:
                out.append((EV_MODIFIED, o, o.price, rem, "stp"))
            else:
                out.append((EV_CANCELLED, o, "stp", d))
            return rem
        if stp in (CANCEL_MAKER, CANCEL_BOTH):
            self._kill_head(m, level)
            out.append((EV_CANCELLED, m, "stp", mq))
            if stp == CANCEL_MAKER:
                return rem
        out.append((EV_CANCELLED, o, "stp", rem))
        return 0

    def _kill_head(self, m: Order, level: Level) -> None:
        """Cancel the maker at the front of the queue; its entry dies in place."""
        level.qty -= m.qty
        level.count -= 1
        m.qty = 0
        del self.live[m.user][m.cid]


def new_level(price: int, key: int, levels: dict[int, Level], keys: list[int]) -> Level:
    """Create the level for `key` on a side and file its key in sorted position."""
    level = levels[key] = Level(price, key, levels, keys)
    if not keys or key > keys[-1]:
        keys.append(key)
    else:
        insort(keys, key)
    return level


def unlink(o: Order) -> None:
    """Take a resting order out of its level in O(1): its FIFO entry dies in place."""
    level = o.level
    assert level is not None
    level.qty -= o.qty
    level.count -= 1
    o.qty = 0
    if not level.count:
        drop_level(level)
    elif len(level.orders) > 2 * level.count + _COMPACT_SLACK:
        level.orders = list(filter(_open_qty, level.orders))
        level.head = 0


def reduce(o: Order, new_qty: int) -> None:
    """Lower a resting order's open quantity in place, keeping its queue position."""
    level = o.level
    assert level is not None
    level.qty -= o.qty - new_qty
    o.qty = new_qty


def drop_level(level: Level) -> None:
    """Remove an empty level from its side."""
    keys = level.keys
    key = level.key
    if keys[-1] == key:
        keys.pop()
    else:
        del keys[bisect_left(keys, key)]
    del level.levels[key]
    level.orders.clear()  # dead entries point back at the level: break the cycle now


def taker_limit_key(side: int, price: int) -> int:
    """The smallest opposite-side key a taker at `price` may trade with."""
    return -price if side == BUY else price


__all__ = ["OrderBook", "drop_level", "new_level", "reduce", "taker_limit_key", "unlink"]
