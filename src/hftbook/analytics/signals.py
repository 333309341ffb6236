"""BookSignals: microstructure signals kept up to date per event from an L2 + trades stream.

Input (all integers; see docs/ANALYTICS.md for the meaning of each signal):
- `on_level(side, price, qty, ts)`: one book event; the visible qty at `price` on `side`
  (core.types BUY = bids, SELL = asks) is now `qty` (0 removes the level);
- `on_levels(changes, ts)`: one book event made of several level changes applied in order
  (what one matching step does to the book): the event-sampled signals see only the result;
- `on_trade(price, qty, aggressor_side, ts)`: a print (it does not touch the book: its effect
  on the book arrives as level updates);
- `on_time(ts)`: the clock alone (closes bars, decays the time EWMA, moves time windows).
Prices are int ticks in 1 .. 2**63 - 1, quantities int lots, `ts` int ns, non-decreasing.
An earlier `ts` raises ValueError and changes nothing; so does a trade qty <= 0 or price out
of range. A negative level qty or a new level's price out of range raises ValueError with the
book unchanged (the clock has moved to `ts`; in `on_levels`, the changes before the bad one
stay applied, as one book event).

Invariants after every call:
- the ladders hold exactly the visible book the updates describe (`ladder.py`);
- `_kb, _vb, _ka, _va` are the top of book after the last book event (an empty side has key
  `EMPTY` and qty 0) and `_x` its imbalance (None when both sides are empty);
- an "L1 event" is a book event that changed (best bid, its qty, best ask, its qty); only L1
  events feed the OFI and the imbalance EWMA, and only changes of a defined mid feed the
  realised volatility; deeper changes update depth and the weighted imbalance only;
- every window sum equals the sum over its window (`rolling.py`); time windows drop what
  they leave behind on each push and, for the answer, at `snapshot()` (as of `ts`);
- nothing reads a clock or draws a random number and no output iterates a dict: the same
  input gives the same snapshots, bit for bit, on a given platform (`math.log` and `**` come
  from the C library, which may round their last bit differently elsewhere).

Cost: a level update is O(1) plus a bisect and list insert/delete when a level appears or
goes, plus O(levels) when that happens within the tracked top levels; only an update that
touches a best level samples the top of book. A trade is O(1); window expiry is O(1)
amortised. `snapshot()` builds the outputs (Fractions, floats) on demand.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from fractions import Fraction
from typing import NamedTuple

from hftbook.analytics.bars import Bar, BarBuilder
from hftbook.analytics.config import SignalConfig
from hftbook.analytics.ladder import Ladder
from hftbook.analytics.rolling import Rolling
from hftbook.core.types import BUY, MAX_UNITS

EMPTY = -(1 << 64)  # the key of an empty side: worse than any real price on either side
NEVER = 1 << 64  # a ts no input reaches
RV_SCALE = 1 << 96  # squared log returns are kept as ints in units of 2**-96 (exact sums)
NS_PER_S = 1_000_000_000


class Signals(NamedTuple):
    """One snapshot. Prices in int ticks or exact Fraction ticks, quantities in int lots,
    ratios float; None where undefined (an empty side, no trade yet, a signal turned off)."""

    ts: int
    best_bid: int | None
    best_ask: int | None
    bid_qty: int | None
    ask_qty: int | None
    mid: Fraction | None
    microprice: Fraction | None
    spread: int | None
    spread_bps: float | None
    imbalance: float | None
    weighted_imbalance: float | None
    bid_depth: int
    ask_depth: int
    bid_depth_top: int | None
    ask_depth_top: int | None
    bid_levels: int
    ask_levels: int
    imbalance_ewma: float | None
    predicted_move: Fraction | None
    ofi: int | None
    ofi_total: int | None
    rv: float | None
    rv_per_sqrt_s: float | None
    last_price: int | None
    trades: int
    volume: int
    buy_volume: int
    sell_volume: int
    vwap: Fraction | None
    vwap_window: Fraction | None
    bar: Bar | None


class BookSignals:
    """The signals of one instrument's visible book and trades (module docstring)."""

    __slots__ = ("_bars", "_ewma", "_ewma_half", "_ewma_keep", "_ewma_on", "_ewma_ts", "_ka", "_kb",
                 "_last", "_mid_sum", "_notional", "_ofi", "_ofi_total", "_returns", "_rv", "_timed",
                 "_trades", "_va", "_vb", "_vol_buy", "_vol_sell", "_vwap_pq", "_vwap_q", "_wake", "_x",
                 "asks", "bids", "config", "ts")

    def __init__(self, config: SignalConfig | None = None) -> None:
        cfg = self.config = config if config is not None else SignalConfig()
        weights = cfg.weights()
        self.bids = Ladder(weights)
        self.asks = Ladder(weights)
        self.ts = 0
        self._wake = NEVER  # the clock must stop at _advance from this ts on (a bar's end)
        self._kb = self._ka = EMPTY
        self._vb = self._va = 0
        self._x: float | None = None
        # imbalance EWMA: by events, each L1 event keeps `keep` of the old value; by time, the
        # value stated at _ewma_ts keeps 2 ** (-dt / half) while the imbalance holds x, and is
        # brought forward only at the next L1 event or snapshot (the input is a step function)
        self._ewma: float | None = None
        self._ewma_ts = 0
        self._ewma_on = cfg.ewma is not None
        self._ewma_half = cfg.ewma.n if cfg.ewma is not None and cfg.ewma.by_time else 0
        self._ewma_keep = 2.0 ** (-1.0 / cfg.ewma.n) if cfg.ewma is not None else 0.0
        self._ofi = Rolling(cfg.ofi) if cfg.ofi is not None else None
        self._ofi_total = 0
        self._rv = Rolling(cfg.rv) if cfg.rv is not None else None
        self._mid_sum: int | None = None  # bid + ask (2 * mid) at the last defined mid
        self._returns = 0  # mid returns recorded so far
        self._trades = self._notional = self._vol_buy = self._vol_sell = 0
        self._last: int | None = None
        self._vwap_pq = Rolling(cfg.vwap) if cfg.vwap is not None else None
        self._vwap_q = Rolling(cfg.vwap) if cfg.vwap is not None else None
        self._bars = BarBuilder(cfg.bar_ns, cfg.keep_bars) if cfg.bar_ns is not None else None
        self._timed = tuple(w for w in (self._ofi, self._rv, self._vwap_pq, self._vwap_q)
                            if w is not None and w.by_time)

    # -- input -----------------------------------------------------------------------------

    def on_level(self, side: int, price: int, qty: int, ts: int) -> None:
        """One book event: the visible qty at `price` on `side` is now `qty`."""
        if ts != self.ts:
            if ts < self.ts or ts >= self._wake:
                self._advance(ts)
            else:
                self.ts = ts
        if self.bids.set(price, qty) if side == BUY else self.asks.set(-price, qty):
            self._close_event(ts)

    def on_levels(self, changes: Iterable[tuple[int, int, int]], ts: int) -> None:
        """One book event of several (side, price, qty) changes, applied in order."""
        if ts != self.ts:
            if ts < self.ts or ts >= self._wake:
                self._advance(ts)
            else:
                self.ts = ts
        bid_set, ask_set = self.bids.set, self.asks.set
        touched = False
        try:
            for side, price, qty in changes:
                if bid_set(price, qty) if side == BUY else ask_set(-price, qty):
                    touched = True
        finally:
            if touched:
                self._close_event(ts)

    def on_trade(self, price: int, qty: int, aggressor_side: int, ts: int) -> None:
        """A print of `qty` lots at `price` ticks; `aggressor_side` is the taker's side."""
        if qty <= 0 or not 0 < price <= MAX_UNITS:
            raise ValueError(f"a trade needs qty > 0 and a price of 1 .. 2**63 - 1 ticks: {qty} @ {price}")
        if ts != self.ts:
            self._advance(ts)
        self._trades += 1
        self._notional += price * qty
        if aggressor_side == BUY:
            self._vol_buy += qty
        else:
            self._vol_sell += qty
        self._last = price
        if self._vwap_pq is not None and self._vwap_q is not None:
            self._vwap_pq.push(ts, price * qty)
            self._vwap_q.push(ts, qty)
        bars = self._bars
        if bars is not None:
            bars.trade(price, qty, ts)
            self._wake = bars.end

    def on_time(self, ts: int) -> None:
        """Move the clock to `ts` with no market event."""
        if ts != self.ts:
            self._advance(ts)

    # -- internals -------------------------------------------------------------------------

    def _advance(self, ts: int) -> None:
        if ts < self.ts:
            raise ValueError(f"ts went backwards: {ts} < {self.ts}")
        if ts >= self._wake and self._bars is not None:
            self._bars.close_bar()
            self._wake = NEVER
        self.ts = ts

    def _close_event(self, ts: int) -> None:
        """Sample the top of book after a book event that touched a best level; feed the L1
        signals if the top of book changed."""
        keys = self.bids.keys
        if keys:
            kb = keys[-1]
            vb = self.bids.levels[kb]
        else:
            kb, vb = EMPTY, 0
        keys = self.asks.keys
        if keys:
            ka = keys[-1]
            va = self.asks.levels[ka]
        else:
            ka, va = EMPTY, 0
        okb, ovb, oka, ova = self._kb, self._vb, self._ka, self._va
        if kb == okb and vb == ovb and ka == oka and va == ova:
            return
        self._kb, self._vb, self._ka, self._va = kb, vb, ka, va
        ofi = self._ofi
        if ofi is not None:
            # Cont-Kukanov-Stoikov in keys (ask key = -price, so "ask price <=" is "key >=")
            e = ((vb if kb >= okb else 0) - (ovb if kb <= okb else 0)
                 - (va if ka >= oka else 0) + (ova if ka <= oka else 0))
            ofi.push(ts, e)
            self._ofi_total += e
        total = vb + va
        old_x = self._x
        x = self._x = (vb - va) / total if total else None
        if self._ewma_on:
            ewma = self._ewma
            if ewma is None:
                if x is not None:
                    self._ewma = x
                    self._ewma_ts = ts
            elif self._ewma_half:
                if old_x is not None:  # old_x held since _ewma_ts; an undefined spell holds
                    self._ewma = old_x + (ewma - old_x) * 2.0 ** ((self._ewma_ts - ts) / self._ewma_half)
                self._ewma_ts = ts
            elif x is not None:
                self._ewma = x + (ewma - x) * self._ewma_keep
        if kb != EMPTY and ka != EMPTY:
            s = kb - ka
            last = self._mid_sum
            if s != last:
                rv = self._rv
                if rv is not None and last is not None:
                    r = math.log(s / last)
                    rv.push(ts, int(r * r * RV_SCALE))
                    self._returns += 1
                self._mid_sum = s

    # -- output ----------------------------------------------------------------------------

    def snapshot(self) -> Signals:
        for window in self._timed:
            window.expire(self.ts)
        cfg = self.config
        bids, asks = self.bids, self.asks
        kb, vb, ka, va = self._kb, self._vb, self._ka, self._va
        b = kb if kb != EMPTY else None
        a = -ka if ka != EMPTY else None
        mid = micro = spread = bps = move = None
        if b is not None and a is not None:
            mid = Fraction(b + a, 2)
            micro = Fraction(b * va + a * vb, vb + va)
            spread = a - b
            bps = spread * 20000 / (a + b)
            move = Fraction(cfg.lam.numerator * (vb - va) * spread, cfg.lam.denominator * (vb + va))
        weighted = top_b = top_a = None
        if cfg.levels:
            top_b, top_a = bids.top_depth, asks.top_depth
            wb, wa = bids.top_weighted, asks.top_weighted
            if wb + wa:
                weighted = (wb - wa) / (wb + wa)
        ewma, x = self._ewma, self._x
        if ewma is not None and self._ewma_half and x is not None and self.ts != self._ewma_ts:
            ewma = x + (ewma - x) * 2.0 ** ((self._ewma_ts - self.ts) / self._ewma_half)
        ofi = self._ofi
        rv = rv_s = None
        if self._rv is not None and self._returns:
            rv = math.sqrt(self._rv.total / RV_SCALE)
            if self._rv.by_time:
                rv_s = math.sqrt(self._rv.total * NS_PER_S / (self._rv.n * RV_SCALE))
        volume = self._vol_buy + self._vol_sell
        vwap_w = None
        if self._vwap_q is not None and self._vwap_pq is not None and self._vwap_q.total:
            vwap_w = Fraction(self._vwap_pq.total, self._vwap_q.total)
        return Signals(
            ts=self.ts,
            best_bid=b,
            best_ask=a,
            bid_qty=vb if b is not None else None,
            ask_qty=va if a is not None else None,
            mid=mid,
            microprice=micro,
            spread=spread,
            spread_bps=bps,
            imbalance=self._x,
            weighted_imbalance=weighted,
            bid_depth=bids.depth,
            ask_depth=asks.depth,
            bid_depth_top=top_b,
            ask_depth_top=top_a,
            bid_levels=len(bids.keys),
            ask_levels=len(asks.keys),
            imbalance_ewma=ewma,
            predicted_move=move,
            ofi=ofi.total if ofi is not None else None,
            ofi_total=self._ofi_total if ofi is not None else None,
            rv=rv,
            rv_per_sqrt_s=rv_s,
            last_price=self._last,
            trades=self._trades,
            volume=volume,
            buy_volume=self._vol_buy,
            sell_volume=self._vol_sell,
            vwap=Fraction(self._notional, volume) if volume else None,
            vwap_window=vwap_w,
            bar=self._bars.current() if self._bars is not None else None,
        )

    def bars(self) -> tuple[Bar, ...]:
        """The closed bars still held (at most `keep_bars`), oldest first."""
        return tuple(self._bars.closed) if self._bars is not None else ()

    def take_bars(self) -> list[Bar]:
        """The closed bars held, oldest first; they are forgotten."""
        if self._bars is None:
            return []
        out = list(self._bars.closed)
        self._bars.closed.clear()
        return out
