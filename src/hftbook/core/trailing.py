"""The trailing stops of one side of one symbol: references kept per group, not per stop.

Peak space: a sell stop's prices as they are, a buy stop's negated (`sign` +1 / -1), so on both
sides the reference is the highest print seen since acceptance (the peak) and a stop's level
lies below it: ref - trail, or floor(ref * (100 - sign * pct) / 100) (for a buy, the negation
of the contract's round-up). It fires on a print p <= level. A level rises with the reference
and falls as the trail or percentage grows.

Groups: stops sharing one reference form a `Group`. A stop accepted later has seen only prints
an earlier one saw too, and the price last printed before it, so references never increase in
acceptance order: new stops go on top of `stack`, which holds the groups by reference, strictly
decreasing from bottom to top (a group without reference, accepted before the first trade, on
top; no reference counts as below every price). A stop arriving out of that order (a restore in
order id order, a bracket child activated late) is filed at its place by binary search. A run
printing above the top references raises them: the groups it passes merge into one (smaller
heap into larger), so each group is merged away at most once and each stop moves O(log n)
times in all.

In a group, `amounts` (trail, order id, order) and `pcts` (pct, order id, num, den, order) are
min-heaps; num/den = (100 - sign * pct) / 100, exactly. Their tops are the group's most eager
stops and `eager` is the higher of their levels (None: no stop or no reference). `heap` holds
(-eager, stamp, group) for each group with an `eager`; an entry is valid iff its stamp is the
group's current one (a change pushes a new entry and the stale one stays until it surfaces or
the heap, grown past twice the groups, is rebuilt).

Per run (the rule argued in `hftbook.core.stops`), with f the first print and lo/hi the run's
extremes in peak space: references become max(ref, f); every stop whose level is >= lo fires,
at that level; references become max(ref, hi). Cost: O(log n) per run plus O(log n) per stop
fired or merged; no stop is looked at unless it fires, moves or is dropped.

Invariants: a stop is in one group until it fires or is dropped; dead stops (qty 0) are
dropped when they reach the top of a heap, move in a merge or are compacted, never searched
for; a group's heap tops are live after each update; iteration is over lists only.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterator
from decimal import Decimal
from heapq import heapify, heappop, heappush

from hftbook.core.order import Order

Amount = tuple[int, int, Order]  # trail, order id, order
Pct = tuple[Decimal, int, int, int, Order]  # pct, order id, num, den, order


class Group:
    """Waiting trailing stops that share one reference (peak space; None: none yet)."""

    __slots__ = ("amounts", "eager", "pcts", "ref", "stamp")

    def __init__(self, ref: int | None) -> None:
        self.ref = ref
        self.amounts: list[Amount] = []
        self.pcts: list[Pct] = []
        self.eager: int | None = None  # the highest level of a stop here (None: none)
        self.stamp = 0  # of its valid entry in the side's heap; 0: none


def _below(a: int | None, b: int | None) -> bool:
    """a < b, where no reference (None) is below every price."""
    return b is not None and (a is None or a < b)


def _key(ref: int | None) -> tuple[bool, int]:
    """The stack's order, increasing from bottom to top: references decreasing, None last."""
    return (True, 0) if ref is None else (False, -ref)


def _group_key(g: Group) -> tuple[bool, int]:
    return _key(g.ref)


class TrailingSide:
    """The trailing stops of one side (`sign` +1: sells, -1: buys); fired ones go to `pending`."""

    __slots__ = ("heap", "pending", "sign", "stack", "stamp")

    def __init__(self, sign: int, pending: list[tuple[int, Order]]) -> None:
        self.sign = sign
        self.pending = pending  # the index's release queue (order id, order)
        self.stack: list[Group] = []
        self.heap: list[tuple[int, int, Group]] = []
        self.stamp = 0

    def add(self, o: Order, ref: int | None) -> None:
        """File a waiting trailing stop with reference `ref` (peak space; None: none)."""
        spec = o.stop
        assert spec is not None
        stack = self.stack
        top = stack[-1] if stack else None
        if top is not None and top.ref == ref:
            g = top
        elif top is None or _below(ref, top.ref):
            g = Group(ref)
            stack.append(g)
        else:  # out of order (a restore, a bracket child activated late): find its place
            i = bisect_left(stack, _key(ref), key=_group_key)
            if stack[i].ref == ref:
                g = stack[i]
            else:
                g = Group(ref)
                stack.insert(i, g)
        if spec.pct is None:
            heappush(g.amounts, (spec.trail, o.oid, o))
            level = None if ref is None else ref - spec.trail
        else:
            a, b = spec.pct.as_integer_ratio()
            num, den = 100 * b - self.sign * a, 100 * b
            heappush(g.pcts, (spec.pct, o.oid, num, den, o))
            level = None if ref is None else ref * num // den
        if level is not None and (g.eager is None or level > g.eager):
            g.eager = level
            self._post(g)

    def run(self, first: int, lo: int, hi: int) -> None:
        """A monotonic run of prints in peak space: first print, lowest and highest."""
        stack = self.stack
        top = stack[-1].ref
        if top is None or top < first:
            self._raise(first)
        heap = self.heap
        if heap and -heap[0][0] >= lo:
            self._fire(lo)
        if stack:
            top = stack[-1].ref
            if top is None or top < hi:
                self._raise(hi)

    def _raise(self, x: int) -> None:
        """References below x become x: the groups on top holding them merge into one."""
        stack = self.stack
        g = stack.pop()
        while stack and not _below(x, stack[-1].ref):
            h = stack.pop()
            h.stamp = 0
            if len(h.amounts) > len(g.amounts):  # the smaller heap goes into the larger
                g.amounts, h.amounts = h.amounts, g.amounts
            amounts = g.amounts
            for a in h.amounts:
                if a[2].qty:
                    heappush(amounts, a)
            if len(h.pcts) > len(g.pcts):
                g.pcts, h.pcts = h.pcts, g.pcts
            pcts = g.pcts
            for p in h.pcts:
                if p[4].qty:
                    heappush(pcts, p)
        g.ref = x
        stack.append(g)
        self._update(g)

    def _fire(self, lo: int) -> None:
        """Fire every stop whose level is >= lo, at its level."""
        heap = self.heap
        pending = self.pending
        sign = self.sign
        while heap and -heap[0][0] >= lo:
            _, stamp, g = heappop(heap)
            if stamp != g.stamp:
                continue
            ref = g.ref
            assert ref is not None
            fired = []
            amounts = g.amounts
            cut = ref - lo  # an amount stop fires iff trail <= cut
            while amounts and amounts[0][0] <= cut:
                trail, _, o = heappop(amounts)
                fired.append((o, ref - trail))
            pcts = g.pcts
            while pcts:
                _, _, num, den, o = pcts[0]
                level = ref * num // den
                if level < lo:
                    break
                heappop(pcts)
                fired.append((o, level))
            for o, level in fired:
                if o.qty:
                    spec = o.stop
                    assert spec is not None
                    spec.fired = sign * level
                    heappush(pending, (o.oid, o))
            self._update(g)
        stack = self.stack
        while stack and not stack[-1].amounts and not stack[-1].pcts:
            stack.pop()

    def _update(self, g: Group) -> None:
        """Drop dead tops, recompute `eager` and post it (the group's old entry goes stale)."""
        amounts = g.amounts
        while amounts and not amounts[0][2].qty:
            heappop(amounts)
        pcts = g.pcts
        while pcts and not pcts[0][4].qty:
            heappop(pcts)
        ref = g.ref
        eager = None
        if ref is not None:
            if amounts:
                eager = ref - amounts[0][0]
            if pcts:
                _, _, num, den, _ = pcts[0]
                level = ref * num // den
                if eager is None or level > eager:
                    eager = level
        g.eager = eager
        if eager is None:
            g.stamp = 0
        else:
            self._post(g)

    def _post(self, g: Group) -> None:
        assert g.eager is not None
        stamp = self.stamp = self.stamp + 1
        g.stamp = stamp
        heap = self.heap
        heappush(heap, (-g.eager, stamp, g))
        if len(heap) > 2 * len(self.stack) + 64:
            self._rebuild_heap()

    def _rebuild_heap(self) -> None:
        heap = [(-g.eager, g.stamp, g) for g in self.stack if g.eager is not None]
        heapify(heap)
        self.heap = heap

    def compact(self) -> int:
        """Drop dead stops and empty groups now; the number of live stops left."""
        live = 0
        stack = []
        for g in self.stack:
            g.amounts = [e for e in g.amounts if e[2].qty]
            g.pcts = [e for e in g.pcts if e[4].qty]
            if g.amounts or g.pcts:
                heapify(g.amounts)
                heapify(g.pcts)
                live += len(g.amounts) + len(g.pcts)
                stack.append(g)
        self.stack = stack
        self.heap = []
        for g in stack:
            self._update(g)
        return live

    def __iter__(self) -> Iterator[tuple[Order, int | None]]:
        """The live stops with their references (peak space), in no particular order."""
        for g in self.stack:
            for a in g.amounts:
                if a[2].qty:
                    yield a[2], g.ref
            for p in g.pcts:
                if p[4].qty:
                    yield p[4], g.ref
