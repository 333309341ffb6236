"""Waiting stop orders of one symbol: the trigger index and the release queue.

A waiting stop is a live order (registered in `live`, cancellable, expirable) that is not in
the book. Plain stops sit in two heaps keyed by trigger level; trailing stops in one
`hftbook.core.trailing.TrailingSide` per side, which keeps references per group of stops, not
per stop. A run of prints costs O(log n) plus O(log n) per stop it triggers (amortised: plus
the merges of trailing groups, O(log n) moves per stop over its life), whatever n is.

Prints arrive as runs: one aggressor's trades walk the book in one direction, so a run is
monotonic from its first print `f` to its last `l`. That makes the per-print rules of the
contract computable per run, exactly: a sell trailing stop with reference r0 sees references
max(r0, p_1..p_i); its best chance to trigger is the lowest print against the reference
R = max(r0, f), so it triggers iff min(f, l) <= level(R), and its reference becomes
max(r0, f, l). A buy trailing stop is the mirror image. (Rising run: a print above r0 is above
its own level; a print at or below r0 is >= f against the fixed level(r0). Falling run: the
reference stays R and the last print is the lowest.)

Invariants: a stop is in exactly one of the heaps, the trailing sides or `pending` while it
waits (dead entries, qty 0, are skipped lazily, and dropped in bulk by `compact` once as many
stops have been filed as were live at the last one, so the index holds at most about twice
the live stops plus the filings since); `pending` releases in order_id order; a trailing
stop's `spec.ref` and `spec.level` are brought up to date by `waiting()` (cold: snapshots),
not on every print; the index never reads a clock and its iteration order is a function of
the input only.
"""

from __future__ import annotations

from fractions import Fraction
from heapq import heapify, heappop, heappush
from typing import Final

from hftbook.core.order import Order, StopSpec
from hftbook.core.trailing import TrailingSide
from hftbook.core.types import BUY, STOP, STOP_LIMIT

_MIN_BUDGET: Final = 1024  # filings between compactions, at least


def stop_holds(side: int, level: int, last: int) -> bool:
    """A plain stop's condition against the last trade price (0: no trade yet, nothing holds)."""
    return bool(last) and (last >= level if side == BUY else last <= level)


def trailing_level(spec: StopSpec, side: int, ref: int) -> int:
    """The trigger level a trailing stop has for reference price `ref` (ticks), exactly."""
    if spec.pct is None:
        return ref + spec.trail if side == BUY else ref - spec.trail
    pct = Fraction(spec.pct)
    if side == BUY:
        return -(-(ref * (100 + pct)) // 100)  # rounded up to a tick
    return (ref * (100 - pct)) // 100  # rounded down to a tick


class StopIndex:
    __slots__ = ("budget", "buys", "filed", "pending", "sells", "trail_buys", "trail_sells")

    def __init__(self) -> None:
        self.buys: list[tuple[int, int, Order]] = []  # (level, order id, order)
        self.sells: list[tuple[int, int, Order]] = []  # (-level, order id, order)
        self.pending: list[tuple[int, Order]] = []  # triggered, not yet released
        self.trail_sells = TrailingSide(1, self.pending)
        self.trail_buys = TrailingSide(-1, self.pending)  # prices negated
        self.filed = 0  # stops filed since the last compaction
        self.budget = _MIN_BUDGET  # ... and how many make the next one

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
        else:
            ref = spec.ref if spec.ref is not None else last or None
            if o.side == BUY:
                self.trail_buys.add(o, None if ref is None else -ref)
            else:
                self.trail_sells.add(o, ref)
        self.filed += 1
        if self.filed > self.budget:
            self.compact()

    def __bool__(self) -> bool:
        """True while any entry may still trigger (dead entries included until skipped)."""
        return bool(self.buys or self.sells or self.trail_sells.stack or self.trail_buys.stack)

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
        # A trailing side has work only if a reference is below the run's high or a level is
        # reached (`TrailingSide.run`); checked here, as most runs have none.
        side = self.trail_sells
        stack = side.stack
        if stack:
            top = stack[-1].ref
            heap = side.heap
            if top is None or top < hi or (heap and -heap[0][0] >= lo):
                side.run(first, lo, hi)
        side = self.trail_buys
        stack = side.stack
        if stack:
            top = stack[-1].ref
            heap = side.heap
            if top is None or top < -lo or (heap and -heap[0][0] >= -hi):
                side.run(-first, -hi, -lo)

    def _fire(self, o: Order, level: int) -> None:
        spec = o.stop
        assert spec is not None
        spec.fired = level
        heappush(self.pending, (o.oid, o))

    def waiting(self) -> list[Order]:
        """The live waiting stops in order id order (snapshots, instrument checks), trailing
        ones with `spec.ref` and `spec.level` brought up to date."""
        found = {o.oid: o for _, _, o in self.buys if o.qty}
        found.update((o.oid, o) for _, _, o in self.sells if o.qty)
        for side in (self.trail_sells, self.trail_buys):
            for o, ref in side:
                spec = o.stop
                assert spec is not None
                spec.ref = None if ref is None else side.sign * ref
                spec.level = None if spec.ref is None else trailing_level(spec, o.side, spec.ref)
                found[o.oid] = o
        return [found[oid] for oid in sorted(found)]

    def compact(self) -> None:
        """Drop dead entries now: O(entries), amortised O(1) per filing (see `add`)."""
        buys = [e for e in self.buys if e[2].qty]
        sells = [e for e in self.sells if e[2].qty]
        heapify(buys)
        heapify(sells)
        self.buys = buys
        self.sells = sells
        live = len(buys) + len(sells) + self.trail_sells.compact() + self.trail_buys.compact()
        self.filed = 0
        self.budget = max(_MIN_BUDGET, live)
