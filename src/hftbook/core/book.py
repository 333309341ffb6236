"""One symbol's order book and its matching: price-time priority with self-trade prevention.

Layout: each side is a dict key -> Level plus a sorted list of keys, where key = price on the
bid side and -price on the ask side, so the best level of either side is `keys[-1]` and a taker
with limit key L may trade with every level whose key >= L. A level is created with its first
order and dropped the moment its last order leaves, so `keys` holds exactly the non-empty
levels. Within a level, orders form an intrusive doubly linked FIFO (see order.py).

Invariants after every public call: the book is not crossed; no level is empty; each level's
qty/count equal the sums over its orders; every live order is linked into exactly one level and
registered in `live[user][cid]`. Matching appends raw event tuples (see `types.EV_*`) to the
shared `out` list and never reads a clock.

Icebergs: only an iceberg's visible slice (`qty`) is in its level's totals and is matchable.
When a slice is used up and hidden quantity remains, `refill` shows the next slice at the
back of the same level (a new queue entry); the order object, its id and its `live` entry
stay. The dry runs (`fok_fillable`, `would_trade`) count those refills exactly: after a
level's visible queue, the hidden parts follow.
"""

from __future__ import annotations

from bisect import bisect_left, insort
from heapq import heappush
from typing import Any

from hftbook.core.breaker import BreakerSpec, Window, band_key
from hftbook.core.instrument import Instrument
from hftbook.core.order import Level, Order, open_qty
from hftbook.core.risk import InstrumentRisk
from hftbook.core.stops import StopIndex
from hftbook.core.types import (
    BUY,
    CANCEL_BOTH,
    CANCEL_MAKER,
    DECREMENT,
    EV_CANCELLED,
    EV_MODIFIED,
    EV_RESTED,
    EV_STATE,
    EV_TRADE,
)

Live = dict[str, dict[Any, Order]]


class OrderBook:
    __slots__ = (
        "ask_keys",
        "ask_levels",
        "bid_keys",
        "bid_levels",
        "breaker",
        "clock",
        "collect",
        "cool_until",
        "halted",
        "halts",
        "held",
        "instrument",
        "last",
        "live",
        "out",
        "resume_at",
        "resume_reason",
        "resumes",
        "risk",
        "seq",
        "shown",
        "stops",
        "symbol",
        "window",
    )

    def __init__(
        self, instrument: Instrument, out: list[tuple[Any, ...]], live: Live, seq: list[int],
        clock: list[int] | None = None, resumes: list[tuple[int, str]] | None = None,
        halts: dict[str, OrderBook] | None = None,
    ) -> None:
        self.symbol = instrument.symbol
        self.instrument = instrument
        self.bid_levels: dict[int, Level] = {}
        self.bid_keys: list[int] = []
        self.ask_levels: dict[int, Level] = {}
        self.ask_keys: list[int] = []
        self.halted = False
        self.last = 0  # last trade price in ticks; 0 before the first trade
        self.stops: StopIndex | None = None  # made with the first stop order
        self.risk: InstrumentRisk | None = None  # pre-trade limits (risk.py); None: off
        self.breaker: BreakerSpec | None = None  # the circuit breaker's settings; None: off
        self.window = Window()  # the symbol's recent trades, kept while a breaker is set
        self.resume_at = 0  # the end of a timed halt in progress (0: none)
        self.resume_reason = "volatility"  # the `resumed` reason at resume_at ("scheduled")
        # The call auction (call.py): collect orders in a halt instead of refusing them; the
        # market orders held for the uncross; the indicative last published in this halt.
        self.collect = False
        self.held: list[Order] = []
        self.shown: tuple[int, int, int] | None = None
        self.cool_until = 0  # a resume's cooling-off collar applies to commands before this ts
        # shared with the exchange: the halted books by symbol
        self.halts = halts if halts is not None else {}
        self.clock = clock if clock is not None else [0]  # shared with the exchange: [now]
        # shared with the exchange: (ts, symbol) of volatility halts to end (a heap)
        self.resumes = resumes if resumes is not None else []
        self.out = out  # shared with the exchange: raw events in order
        self.live = live  # shared: user -> {client id -> live order}
        self.seq = seq  # shared: [next order id, next trade id]

    # -- queries -------------------------------------------------------------------------

    def best_bid(self) -> int | None:
        return self.bid_keys[-1] if self.bid_keys else None

    def best_ask(self) -> int | None:
        return -self.ask_keys[-1] if self.ask_keys else None

    def is_empty(self) -> bool:
        """No resting orders, no held market orders and no waiting stops."""
        return (not self.bid_keys and not self.ask_keys and not any(o.qty for o in self.held)
                and not (self.stops and self.stops.waiting()))

    def side(self, is_bid: bool) -> list[Level]:
        """The levels of one side, best first."""
        keys, levels = (self.bid_keys, self.bid_levels) if is_bid else (self.ask_keys, self.ask_levels)
        return [levels[k] for k in reversed(keys)]

    def depth(self, is_bid: bool, n: int) -> list[tuple[int, int, int]]:
        """Up to n levels of one side, best first: (price, qty, orders)."""
        keys, levels = (self.bid_keys, self.bid_levels) if is_bid else (self.ask_keys, self.ask_levels)
        result = []
        for k in reversed(keys[-n:] if n < len(keys) else keys):
            lv = levels[k]
            result.append((lv.price, lv.qty, lv.count))
        return result

    def levels_view(self, is_bid: bool) -> list[tuple[int, int, int, list[tuple[int, int]]]]:
        """Every level, best first, with its stored totals and its orders in FIFO order."""
        return [
            (lv.price, lv.qty, lv.count, [(o.oid, o.qty) for o in lv]) for lv in self.side(is_bid)
        ]

    def live_orders(self) -> list[Order]:
        """All resting orders: bids best first then asks best first, FIFO within a level."""
        return [o for is_bid in (True, False) for lv in self.side(is_bid) for o in lv]

    # -- resting ---------------------------------------------------------------------------

    def rest(self, o: Order) -> None:
        """Append a live order at the back of its price level; `o.qty` is its whole open
        quantity, of which an iceberg shows a slice and hides the rest."""
        ice = o.ice
        if ice is not None:
            total = o.qty + ice.reserve
            o.qty = ice.display if ice.display < total else total
            ice.reserve = total - o.qty
        self.place(o)
        # Market data and the `rests` field need to know where and when an order joined the
        # book; nothing else marks it (an order rests when its step ends with no event).
        self.out.append((EV_RESTED, o, o.price, o.qty))

    def place(self, o: Order) -> None:
        """Append a live order at the back of its price level as it is (restore)."""
        if o.side == BUY:
            key = o.price
            levels, keys = self.bid_levels, self.bid_keys
        else:
            key = -o.price
            levels, keys = self.ask_levels, self.ask_keys
        level = levels.get(key)
        if level is None:
            level = new_level(o.price, key, levels, keys)
        append(level, o)

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
            else:
                for m in level:
                    if m.user == user:
                        if stp == CANCEL_MAKER:
                            continue
                        return False
                    need -= m.qty
                    if need <= 0:
                        return True
            # The whole visible queue is used up: the icebergs it traded with refill behind it
            # and are reached too (under cancel_maker a self iceberg is gone by now).
            for m in level:
                if m.ice is not None and (not stp or m.user != user):
                    need -= m.ice.reserve
            if need <= 0:
                return True
        return False

    def would_trade(self, o: Order, lim_key: int, qty: int) -> bool:
        """Dry run for post-only: would `o` with open `qty` print any trade (STP applied)?"""
        keys, levels = (self.ask_keys, self.ask_levels) if o.side == BUY else (self.bid_keys, self.bid_levels)
        rem = qty
        user = o.user
        stp = o.stp
        for k in reversed(keys):
            if k < lim_key:
                return False
            level = levels[k]
            for m in level:
                if m.user != user or not stp:
                    return True
                if stp == CANCEL_MAKER:
                    continue
                if stp == DECREMENT:
                    rem -= m.qty
                    if rem <= 0:
                        return False
                    continue
                return False  # cancel_taker / cancel_both end the walk without a trade
            if stp == DECREMENT:
                # Only own orders here: their icebergs' refills shrink the taker further.
                for m in level:
                    if m.ice is not None:
                        rem -= m.ice.reserve
                if rem <= 0:
                    return False
        return False

    def band_limit(self, side: int, lim_key: int) -> int:
        """A taker's limit key narrowed to the circuit breaker's band, if one is armed."""
        br = self.breaker
        if br is None:
            return lim_key
        keys = self.ask_keys if side == BUY else self.bid_keys
        band = band_key(br, self.window, side, self.clock[0], keys[-1] if keys else None)
        return lim_key if band is None or band < lim_key else band

    def match(self, o: Order, lim_key: int) -> None:
        """Trade the incoming order `o` against the opposite side while it crosses.

        On return `o.qty` is what is left (0 if filled or cancelled by STP); the caller
        decides whether that rests or is cancelled. With a circuit breaker the step trades
        inside the band only, and halts the book (`halted` is then True: the caller cancels
        the remainder) if the band stopped it short of liquidity it could otherwise take.
        """
        if self.breaker is not None:
            self._match_banded(o, lim_key)
            return
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
        tid0 = seq[1]
        mark = len(out)
        while rem and keys:
            k = keys[-1]
            if k < lim_key:
                break
            level = levels[k]
            price = level.price
            m = level.first
            while m is not None:
                if stp and m.user == user:
                    rem = self._self_match(o, m, rem, level)
                    if not rem:
                        break
                    m = level.first
                    continue
                mq = m.qty
                tid = seq[1]
                seq[1] = tid + 1
                if mq > rem:
                    m.qty = mq - rem
                    level.qty -= rem
                    out.append((EV_TRADE, m, o, price, rem, tid))
                    rem = 0
                    break
                rem -= mq
                level.qty -= mq
                if m.ice is not None and m.ice.reserve:
                    # An iceberg's slice is used up: its next slice joins the back of the queue.
                    out.append((EV_TRADE, m, o, price, mq, tid, refill(m, level)))
                    if not rem:
                        break
                    m = level.first
                    continue
                # The maker fills completely and leaves the front of the queue.
                level.count -= 1
                m.qty = 0
                del live[m.user][m.cid]
                out.append((EV_TRADE, m, o, price, mq, tid))
                nxt = m.nxt
                level.first = nxt
                if nxt is None:
                    level.last = None
                    break
                m.nxt = None
                nxt.prev = None
                if not rem:
                    break
                m = nxt
            if level.first is None:
                keys.pop()
                del levels[k]
        o.qty = rem
        if seq[1] != tid0:
            if stp or self.stops is not None:
                self._printed(mark)
            else:
                # Without STP every level visited printed, so the last one is the last print.
                self.last = price

    def _match_banded(self, o: Order, lim_key: int) -> None:
        br = self.breaker
        assert br is not None
        now = self.clock[0]
        banded = self.band_limit(o.side, lim_key)
        out = self.out
        mark = len(out)
        self.breaker = None  # the plain loop below, then the breaker again
        try:
            self.match(o, banded)
        finally:
            self.breaker = br
        window = self.window
        for i in range(mark, len(out)):
            e = out[i]
            if e[0] == EV_TRADE:
                window.add(now, e[3])
        if o.qty and banded != lim_key and self.crosses(o, lim_key) and not self.halted:
            self.halted = True
            self.halts[self.symbol] = self
            self.shown = None
            self.resume_at = now + br.halt_ns
            self.resume_reason = "volatility"
            heappush(self.resumes, (self.resume_at, self.symbol))
            out.append((EV_STATE, "halted", self.symbol, "volatility"))

    def _printed(self, mark: int) -> None:
        """Trades were printed into `out` after index `mark`: record the last trade price and
        let waiting stops see the run (first and last print; the run is monotonic)."""
        out = self.out
        i = len(out) - 1
        while out[i][0] != EV_TRADE:
            i -= 1
        last = self.last = out[i][3]
        stops = self.stops
        if stops is not None:
            while out[mark][0] != EV_TRADE:
                mark += 1
            stops.on_run(out[mark][3], last)

    def _self_match(self, o: Order, m: Order, rem: int, level: Level) -> int:
        """Apply the taker's STP mode against its own resting order `m` (at the queue head).

        Returns the taker's remaining quantity; 0 ends matching. The level may be left
        empty: the caller drops it.
        """
        out = self.out
        stp = o.stp
        mq = m.qty
        if stp == DECREMENT:
            d = mq if mq < rem else rem
            ice = m.ice
            if d < mq:
                m.qty = mq - d
                level.qty -= d
                out.append((EV_MODIFIED, m, m.price, open_qty(m), "stp"))
            elif ice is not None and ice.reserve:
                level.qty -= d
                size = refill(m, level)
                out.append((EV_MODIFIED, m, m.price, size + ice.reserve, "stp", size))
            else:
                self._kill_first(m, level)
                out.append((EV_CANCELLED, m, "stp", d))
            rem -= d
            if rem:
                out.append((EV_MODIFIED, o, o.price, rem, "stp"))
            else:
                out.append((EV_CANCELLED, o, "stp", d))
            return rem
        if stp in (CANCEL_MAKER, CANCEL_BOTH):
            whole = open_qty(m)
            self._kill_first(m, level)
            out.append((EV_CANCELLED, m, "stp", whole))
            if stp == CANCEL_MAKER:
                return rem
        out.append((EV_CANCELLED, o, "stp", rem))
        return 0

    def _kill_first(self, m: Order, level: Level) -> None:
        """Cancel the maker at the front of the queue (the caller drops an emptied level)."""
        detach(m, level)
        del self.live[m.user][m.cid]


def new_level(price: int, key: int, levels: dict[int, Level], keys: list[int]) -> Level:
    """Create the level for `key` on a side and file its key in sorted position."""
    level = levels[key] = Level(price, key, levels, keys)
    if not keys or key > keys[-1]:
        keys.append(key)
    else:
        insort(keys, key)
    return level


def append(level: Level, o: Order) -> None:
    """Link a live order at the back of a level's queue."""
    last = level.last
    if last is None:
        level.first = o
    else:
        last.nxt = o
        o.prev = last
    level.last = o
    level.qty += o.qty
    level.count += 1
    o.level = level


def unlink(o: Order) -> None:
    """Take a live order out in O(1): a resting one out of its level (dropping the level if it
    empties), a waiting stop out of its stop index (lazily)."""
    level = o.level
    if level is None:
        o.qty = 0
        return
    detach(o, level)
    if level.first is None:
        drop_level(level)


def refill(m: Order, level: Level) -> int:
    """Show an iceberg's next slice at the back of its level; its used-up slice is already
    out of the level's qty. Returns the new slice's size."""
    ice = m.ice
    assert ice is not None
    size = m.qty = ice.next_slice()
    level.qty += size
    nxt = m.nxt
    if nxt is not None:
        prev = m.prev
        if prev is None:
            level.first = nxt
        else:
            prev.nxt = nxt
        nxt.prev = prev
        last = level.last
        assert last is not None
        last.nxt = m
        m.prev = last
        m.nxt = None
        level.last = m
    return size


def detach(o: Order, level: Level) -> None:
    """Splice an order out of its level's queue and totals; the level stays, even if empty."""
    level.qty -= o.qty
    level.count -= 1
    o.qty = 0
    prev, nxt = o.prev, o.nxt
    if prev is None:
        level.first = nxt
    else:
        prev.nxt = nxt
        o.prev = None
    if nxt is None:
        level.last = prev
    else:
        nxt.prev = prev
        o.nxt = None


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


def taker_limit_key(side: int, price: int) -> int:
    """The smallest opposite-side key a taker at `price` may trade with."""
    return -price if side == BUY else price


__all__ = [
    "OrderBook", "append", "detach", "drop_level", "new_level", "reduce", "refill", "taker_limit_key",
    "unlink",
]
