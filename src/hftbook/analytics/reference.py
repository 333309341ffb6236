"""From-scratch recomputation of every signal from the whole input history (the test oracle).

`recompute(events, config)` replays the history into plain dicts, takes the top of book with
max/min after each book event, and evaluates each signal by its defining formula over the
whole history: sums over window slices, the closed forms of the EWMAs, bars grouped by
interval. It shares no state or code path with `BookSignals` beyond the two shared
conventions that make results comparable bit for bit: squared log returns are truncated to
units of 2**-96 before summing (`signals.RV_SCALE`), and ratios are floats of exact
rationals. It is quadratic over a history if called after every event: for tests only.

Invariant (checked by tests/property/test_analytics_incremental.py): after every event,
`BookSignals` fed the same events with `feed` gives a snapshot equal to `recompute`'s (the
EWMA within 1e-9: the recursion and the closed form round differently) and the same bars.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from fractions import Fraction
from itertools import pairwise
from typing import NamedTuple

from hftbook.analytics.bars import Bar
from hftbook.analytics.config import SignalConfig, Span
from hftbook.analytics.signals import NS_PER_S, RV_SCALE, BookSignals, Signals
from hftbook.core.types import BUY


class Book(NamedTuple):
    """One book event: (side, price, qty) changes applied in order at `ts`."""

    changes: tuple[tuple[int, int, int], ...]
    ts: int


class Print(NamedTuple):
    """One trade."""

    price: int
    qty: int
    side: int
    ts: int


class Clock(NamedTuple):
    """The clock moves with no market event."""

    ts: int


Event = Book | Print | Clock
L1 = tuple[int, int | None, int, int | None, int]  # (ts, bid, bid qty, ask, ask qty)


def feed(tracker: BookSignals, event: Event) -> None:
    """Apply one event to an incremental tracker (a single change goes through `on_level`)."""
    if isinstance(event, Book):
        if len(event.changes) == 1:
            side, price, qty = event.changes[0]
            tracker.on_level(side, price, qty, event.ts)
        else:
            tracker.on_levels(event.changes, event.ts)
    elif isinstance(event, Print):
        tracker.on_trade(event.price, event.qty, event.side, event.ts)
    else:
        tracker.on_time(event.ts)


def _in_window(stamped: Sequence[tuple[int, int]], span: Span, now: int) -> list[int]:
    """The values of (ts, value) pairs inside a window ending at `now`."""
    if span.by_time:
        return [v for ts, v in stamped if ts > now - span.n]
    return [v for _, v in stamped[-span.n :]]


def _side_flow(better: bool, worse: bool, q_new: int, q_old: int) -> int:
    """One side's CKS term: + the new qty unless the quote got worse, - the old unless better."""
    return (q_new if not worse else 0) - (q_old if not better else 0)


def _ofi_term(old: L1, new: L1) -> int:
    _, b0, qb0, a0, qa0 = old
    _, b1, qb1, a1, qa1 = new
    # an empty bid is below every price and an empty ask above every price
    bid_up = b1 is not None and (b0 is None or b1 > b0)
    bid_down = b0 is not None and (b1 is None or b1 < b0)
    ask_down = a1 is not None and (a0 is None or a1 < a0)
    ask_up = a0 is not None and (a1 is None or a1 > a0)
    return _side_flow(bid_up, bid_down, qb1, qb0) - _side_flow(ask_down, ask_up, qa1, qa0)


def _imbalance(vb: int, va: int) -> float | None:
    return float(Fraction(vb - va, vb + va)) if vb + va else None


def _ewma_events(samples: list[float], half_life: int) -> float | None:
    """Closed form: keep**(n-1) * x_1 + sum over k >= 2 of (1 - keep) * keep**(n-k) * x_k."""
    if not samples:
        return None
    keep = math.pow(2.0, -1.0 / half_life)
    n = len(samples)
    total = keep ** (n - 1) * samples[0]
    for k in range(1, n):
        total += (1.0 - keep) * keep ** (n - 1 - k) * samples[k]
    return total


def _ewma_time(steps: list[tuple[int, float | None]], now: int, half_life: int) -> float | None:
    """Closed form of the exponential average of a step input, time with no value removed.

    steps: (ts, x) at each L1 event; x holds until the next step (or `now`). With defined
    segments j of length d_j followed by A_j ns of defined time, the average is
    x_first * 2**(-A_total/H) + sum_j x_j * (2**(-A_j/H) - 2**(-(A_j + d_j)/H)).
    """
    segments = [
        (x, (steps[i + 1][0] if i + 1 < len(steps) else now) - ts)
        for i, (ts, x) in enumerate(steps)
        if x is not None
    ]
    if not segments:
        return None
    total = after = 0.0
    for x, d in reversed(segments):
        total += x * (math.pow(2.0, -after / half_life) - math.pow(2.0, -(after + d) / half_life))
        after += d
    return total + segments[0][0] * math.pow(2.0, -after / half_life)


def _bars(prints: list[Print], interval: int, keep: int, now: int) -> tuple[list[Bar], Bar | None]:
    groups: dict[int, list[Print]] = {}
    for p in prints:
        groups.setdefault(p.ts - p.ts % interval, []).append(p)
    bars = []
    for start in sorted(groups):
        ps = groups[start]
        prices = [p.price for p in ps]
        bars.append(Bar(start, prices[0], max(prices), min(prices), prices[-1], sum(p.qty for p in ps),
                        sum(p.price * p.qty for p in ps), len(ps)))
    open_bar = bars.pop() if bars and bars[-1].start + interval > now else None
    return (bars[-keep:] if keep else []), open_bar


def recompute(events: Sequence[Event], config: SignalConfig) -> tuple[Signals, list[Bar]]:
    """Every signal after `events`, from scratch: the snapshot and the closed bars held."""
    bids: dict[int, int] = {}
    asks: dict[int, int] = {}
    l1s: list[L1] = [(0, None, 0, None, 0)]
    prints: list[Print] = []
    now = 0
    for ev in events:
        now = ev.ts
        if isinstance(ev, Print):
            prints.append(ev)
        elif isinstance(ev, Book):
            for side, price, qty in ev.changes:
                book = bids if side == BUY else asks
                if qty:
                    book[price] = qty
                else:
                    book.pop(price, None)
            b = max(bids) if bids else None
            a = min(asks) if asks else None
            l1 = (ev.ts, b, bids[b] if b is not None else 0, a, asks[a] if a is not None else 0)
            if l1[1:] != l1s[-1][1:]:
                l1s.append(l1)
    _, b, vb, a, va = l1s[-1]
    mid = micro = spread = bps = move = None
    if b is not None and a is not None:
        mid = Fraction(b + a, 2)
        micro = (b * Fraction(va) + a * Fraction(vb)) / (vb + va)
        spread = a - b
        bps = float(Fraction(spread) / mid * 10000)
        move = config.lam * Fraction(vb - va, vb + va) * spread
    top_b = sorted(bids, reverse=True)[: config.levels]
    top_a = sorted(asks)[: config.levels]
    weighted = None
    if config.levels:
        wb = sum(bids[p] * config.decay**i for i, p in enumerate(top_b))
        wa = sum(asks[p] * config.decay**i for i, p in enumerate(top_a))
        weighted = float((wb - wa) / (wb + wa)) if wb + wa else None
    events_l1 = l1s[1:]
    ofi = ofi_total = None
    if config.ofi is not None:
        terms = [(new[0], _ofi_term(old, new)) for old, new in pairwise(l1s)]
        ofi = sum(_in_window(terms, config.ofi, now))
        ofi_total = sum(v for _, v in terms)
    ewma = None
    if config.ewma is not None:
        xs = [(ts, _imbalance(qb, qa)) for ts, _, qb, _, qa in events_l1]
        if config.ewma.by_time:
            ewma = _ewma_time(xs, now, config.ewma.n)
        else:
            ewma = _ewma_events([x for _, x in xs if x is not None], config.ewma.n)
    rv = rv_s = None
    if config.rv is not None:
        mids = [(ts, bb + aa) for ts, bb, _, aa, _ in events_l1 if bb is not None and aa is not None]
        squares = []
        for (_, s0), (ts, s1) in pairwise(mids):
            if s1 != s0:
                r = math.log(s1 / s0)
                squares.append((ts, int(r * r * RV_SCALE)))
        if squares:
            total = sum(_in_window(squares, config.rv, now))
            rv = math.sqrt(total / RV_SCALE)
            if config.rv.by_time:
                rv_s = math.sqrt(total * NS_PER_S / (config.rv.n * RV_SCALE))
    volume = sum(p.qty for p in prints)
    vwap_w = None
    if config.vwap is not None:
        w_pq = sum(_in_window([(p.ts, p.price * p.qty) for p in prints], config.vwap, now))
        w_q = sum(_in_window([(p.ts, p.qty) for p in prints], config.vwap, now))
        vwap_w = Fraction(w_pq, w_q) if w_q else None
    closed: list[Bar] = []
    open_bar = None
    if config.bar_ns is not None:
        closed, open_bar = _bars(prints, config.bar_ns, config.keep_bars, now)
    signals = Signals(
        ts=now,
        best_bid=b,
        best_ask=a,
        bid_qty=vb if b is not None else None,
        ask_qty=va if a is not None else None,
        mid=mid,
        microprice=micro,
        spread=spread,
        spread_bps=bps,
        imbalance=_imbalance(vb, va),
        weighted_imbalance=weighted,
        bid_depth=sum(bids.values()),
        ask_depth=sum(asks.values()),
        bid_depth_top=sum(bids[p] for p in top_b) if config.levels else None,
        ask_depth_top=sum(asks[p] for p in top_a) if config.levels else None,
        bid_levels=len(bids),
        ask_levels=len(asks),
        imbalance_ewma=ewma,
        predicted_move=move,
        ofi=ofi,
        ofi_total=ofi_total,
        rv=rv,
        rv_per_sqrt_s=rv_s,
        last_price=prints[-1].price if prints else None,
        trades=len(prints),
        volume=volume,
        buy_volume=sum(p.qty for p in prints if p.side == BUY),
        sell_volume=sum(p.qty for p in prints if p.side != BUY),
        vwap=Fraction(sum(p.price * p.qty for p in prints), volume) if volume else None,
        vwap_window=vwap_w,
        bar=open_bar,
    )
    return signals, closed
