"""Waiting stop orders of one symbol: the trigger index and the release queue.

A waiting stop is a live order (registered in `live`, cancellable, expirable) that is not in
the book. Trade prints move it: plain stops sit in two heaps keyed by trigger level, so a run
of prints costs O(log n) per triggered stop; trailing stops are re-levelled on each run.

Prints arrive as runs: one aggressor's trades walk the book in one direction, so a run is
monotonic from its first print `f` to its last `l`. That makes the per-print rules of the
contract computable per run, exactly: a sell trailing stop with reference r0 sees references
max(r0, p_1..p_i); its best chance to trigger is the lowest print against the reference
R = max(r0, f), so it triggers iff min(f, l) <= level(R), and its reference becomes
max(r0, f, l). A buy trailing stop is the mirror image.

Invariants: a stop is in exactly one of the heaps, the trailing list or `pending` while it
waits (dead entries, qty 0, are skipped lazily); `pending` releases in order_id order; the
index never reads a clock and its iteration order is a function of the input only.
"""

from __future__ import annotations

from fractions import Fraction
from heapq import heappop, heappush

from hftbook.core.order import Order, StopSpec
from hftbook.core.types import BUY, STOP, STOP_LIMIT


def trailing_level(spec: StopSpec, side: int, ref: int) -> int:
    """The trigger level a trailing stop has for reference price `ref` (ticks), exactly."""
    if spec.pct is None:
        return ref + spec.trail if side == BUY else ref - spec.trail
    pct = Fraction(spec.pct)
    if side == BUY:
        return -(-(ref * (100 + pct)) // 100)  # rounded up to a tick
    return (ref * (100 - pct)) // 100  # rounded down to a tick


class StopIndex:
    __slots__ = ("buys", "pending", "sells", "trailing")

    def __init__(self) -> None:
        self.buys: list[tuple[int, int, Order]] = []  # (level, order id, order)
        self.sells: list[tuple[int, int, Order]] = []  # (-level, order id, order)
        self.trailing: list[Order] = []  # in order id order
        self.pending: list[tuple[int, Order]] = []  # triggered, not yet released

    def add(self, o: Order, last: int) -> None:
        """File a waiting stop; `last` is the symbol's last trade price (0: none). A trailing
        stop without a reference takes `last` as its reference (a restored one keeps its own)."""
        spec = o.stop
        assert spec is not None
        if spec.kind == STOP or spec.kind == STOP_LIMIT:
            assert spec.level is not None
            if o.side == BUY:
                heappush(self.buys, (spec.level, o.oid, o))
            else:
                heappush(self.sells, (-spec.level, o.oid, o))
            return
        if spec.ref is None and last:
            spec.ref = last
        if spec.ref is not None:
            spec.level = trailing_level(spec, o.side, spec.ref)
        self.trailing.append(o)

    def __bool__(self) -> bool:
        """True while any entry may still trigger (dead entries included until skipped)."""
        return bool(self.buys or self.sells or self.trailing)

    def on_run(self, first: int, last: int) -> None:
        """Apply a monotonic run of prints from `first` to `last` (ticks)."""
        lo, hi = (first, last) if first <= last else (last, first)
        buys = self.buys
        while buys and buys[0][0] <= hi:
            level, _, o = heappop(buys)
            if o.qty:
                self._fire(o, level)
        sells = self.sells
        while sells and -sells[0][0] >= lo:
            neg, _, o = heappop(sells)
            if o.qty:
                self._fire(o, -neg)
        if self.trailing:
            self._trail(first, lo, hi)

    def _trail(self, first: int, lo: int, hi: int) -> None:
        keep = []
        for o in self.trailing:
            if not o.qty:
                continue
            spec = o.stop
            assert spec is not None
            ref = spec.ref
            if o.side == BUY:
                r = first if ref is None or first < ref else ref
                level = trailing_level(spec, BUY, r)
                spec.ref = lo if ref is None or lo < ref else ref
                fires = hi >= level
            else:
                r = first if ref is None or first > ref else ref
                level = trailing_level(spec, o.side, r)
                spec.ref = hi if ref is None or hi > ref else ref
                fires = lo <= level
            if fires:
                self._fire(o, level)
            else:
                spec.level = trailing_level(spec, o.side, spec.ref)
                keep.append(o)
        self.trailing = keep

    def _fire(self, o: Order, level: int) -> None:
        spec = o.stop
        assert spec is not None
        spec.fired = level
        heappush(self.pending, (o.oid, o))

    def waiting(self) -> list[Order]:
        """The live waiting stops in order id order (snapshots, instrument checks)."""
        found = {o.oid: o for _, _, o in self.buys if o.qty}
        found.update((o.oid, o) for _, _, o in self.sells if o.qty)
        found.update((o.oid, o) for o in self.trailing if o.qty)
        return [found[oid] for oid in sorted(found)]
